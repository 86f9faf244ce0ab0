#!/usr/bin/env bash
# Installs what one use of kms-agent needs on a fresh Debian machine, then the npm packages
# (README.md, first screen). Idempotent: apt and npm run only when something is missing.
#   scripts/setup-debian.sh demo   for `npm run demo`: nothing from apt (the demo plays the login itself
#                                  when there is no display, and keeps its login in a file)
#   scripts/setup-debian.sh test   for `npm test`: a real keyring, a second provider, the tools the tests drive
#   scripts/setup-debian.sh --packages demo|test   prints the Debian packages of that use, and exits
# `npm run bench` has its own: bench/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every command the tests run, by package (test/setup.test.mjs checks the list against the tests).
# kubectl is not in Debian 12 (this machine kind's image has Google's): the kubectl test fails, naming it, without one.
TEST_PACKAGES=(
  gnome-keyring dbus-x11 libsecret-tools # a Secret Service in a private D-Bus session (scripts/test.sh), secret-tool
  systemd                                # systemd-analyze verify, systemd-socket-activate
  chromium                               # the real-browser login test
  glewlwyd sqlite3 openssl               # the second real provider, its database and signing key
  gdb                                    # gcore, for the core-dump test
  openssh-server openssh-client          # the ssh -R socket forwarding test
  git curl                               # the git credential helper test; curl -H @file reads a token file
  netcat-openbsd socat                   # the README's protocol examples (nc -N -U, socat)
  zsh fish                               # the completion scripts, checked by their shells
  python3                                # the launchd plist check, and the apt lock test
  procps util-linux bsdutils iproute2    # ps, setpriv, unshare, script, ip (tests run in a network namespace)
  pinentry-tty pinentry-curses           # gpg-agent's prompt programs, driven for real on a tmux terminal
  tmux                                   # a pseudo-terminal whose screen the pinentry tests read and type into
  bubblewrap                             # bwrap: the sandbox that sees only one bound socket
)
DEMO_PACKAGES=()

usage() { echo "usage: scripts/setup-debian.sh demo|test  (or --packages demo|test)" >&2; exit 2; }
list=""
[ "${1:-}" = --packages ] && list=1 && shift
case ${1:-} in
  demo) packages=("${DEMO_PACKAGES[@]}") ;;
  test) packages=("${TEST_PACKAGES[@]}") ;;
  *) usage ;;
esac
if [ -n "$list" ]; then
  ((${#packages[@]} == 0)) || printf '%s\n' "${packages[@]}"
  exit 0
fi

if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "setup: kms-agent needs Node.js 20 or newer ($(node --version 2>/dev/null || echo 'node is not installed')); Debian 12's nodejs is 18: install Node 20 from nodejs.org or NodeSource" >&2
  exit 1
fi
((${#packages[@]} == 0)) || scripts/apt-install-missing.sh "${packages[@]}"

scripts/npm-install-missing.sh
