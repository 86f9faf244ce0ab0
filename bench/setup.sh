#!/usr/bin/env bash
# Installs what `npm run bench` needs beyond scripts/setup-debian.sh: the peer (oidc-agent 4.x
# from Debian: the command-line package, without the desktop integration), hyperfine, and a C
# compiler for the load generator (bench/lib/connload.c). Idempotent: apt runs only when
# something is missing. gnome-keyring + dbus (from setup-debian.sh) are optional: with them the
# bench's kms-agent keeps its login in a private keyring, else in its file store.
set -euo pipefail

packages=(oidc-agent-cli hyperfine gcc libc6-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "bench setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for cmd in oidc-agent oidc-gen oidc-add oidc-token hyperfine cc; do
  command -v "$cmd" >/dev/null || { echo "bench setup: $cmd still missing" >&2; exit 1; }
done
