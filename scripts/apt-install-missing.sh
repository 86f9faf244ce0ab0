#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet (apt runs only then),
# with sudo when not root. Shared by scripts/setup-debian.sh and bench/setup.sh.
set -euo pipefail

missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  # Through env: sudo drops the caller's variables, and glewlwyd's dbconfig questions must not wait for an answer.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
