#!/usr/bin/env bash
# Installs what kms-agent's build, tests and demo need on a fresh Debian machine, then the npm packages.
# Idempotent: apt is only called when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# glewlwyd + sqlite3: the second real provider of the tests (test/support/glewlwyd.mjs); gdb: gcore for the
# core-dump test; openssh-server: the ssh -R forwarding test; curl: the token-file test (curl -H @file).
scripts/apt-install-missing.sh gnome-keyring dbus-x11 libsecret-tools systemd hyperfine chromium glewlwyd sqlite3 gdb openssh-server curl

npm ci --no-fund --no-audit --loglevel=error
