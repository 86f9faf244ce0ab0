#!/usr/bin/env bash
# Installs what `npm run bench` needs beyond scripts/setup-debian.sh: the peer (oidc-agent 4.x
# from Debian: the command-line package, without the desktop integration), hyperfine, and a C
# compiler for the load generator (bench/lib/connload.c). Idempotent: apt runs only when
# something is missing. gnome-keyring + dbus (from setup-debian.sh) are optional: with them the
# bench's kms-agent keeps its login in a private keyring, else in its file store.
set -euo pipefail

"$(dirname "$0")/../scripts/apt-install-missing.sh" oidc-agent-cli hyperfine gcc libc6-dev
for cmd in oidc-agent oidc-gen oidc-add oidc-token hyperfine cc; do
  command -v "$cmd" >/dev/null || { echo "bench setup: $cmd still missing" >&2; exit 1; }
done
