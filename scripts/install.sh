#!/usr/bin/env bash
# Installs kms-agent on the PATH, independent of this clone (README.md, "Install"): `npm pack` (its
# prepack script builds dist/) makes a tarball, and `npm install -g` installs a copy of it, so the
# clone can move or go. --prefix DIR installs into DIR (DIR/bin/kms-agent) instead of npm's global
# prefix (`npm prefix -g`), e.g. --prefix ~/.local for a user without root.
set -euo pipefail
cd "$(dirname "$0")/.."
# Whatever the caller's umask (000 would make every installed file world-writable, the code the
# agent runs included), the build and the install write nothing others can change.
umask 022

usage() { echo "usage: scripts/install.sh [--prefix DIR]" >&2; }
prefix=()
while (($#)); do
  case $1 in
    --prefix) [ $# -ge 2 ] || { usage; exit 2; }; prefix=(--prefix "$(realpath -m "$2")"); shift 2 ;;
    --prefix=*) prefix=(--prefix "$(realpath -m "${1#*=}")"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done

# A fresh clone has no TypeScript compiler yet: the build needs the dev dependencies.
scripts/npm-install-missing.sh >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack --silent --pack-destination "$work" >/dev/null
tarball=("$work"/kms-agent-*.tgz)
npm install -g --no-fund --no-audit --loglevel=error "${prefix[@]}" "${tarball[0]}"

bin="$(npm prefix -g "${prefix[@]}")/bin"
echo "installed $bin/kms-agent ($("$bin/kms-agent" --version))"
case ":$PATH:" in
  *":$bin:"*) ;;
  *) echo "$bin is not on your PATH: add it, e.g. export PATH=\"$bin:\$PATH\" in ~/.bashrc" ;;
esac
