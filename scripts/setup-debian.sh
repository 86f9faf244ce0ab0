#!/usr/bin/env bash
# Installs what kms-agent's build, tests and demo need on a fresh Debian machine, then the npm packages.
# Idempotent: apt is only called when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(gnome-keyring dbus-x11 libsecret-tools systemd hyperfine chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-fund --no-audit --loglevel=error
