#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet (apt runs only then),
# with sudo when not root. Another apt or dpkg at work (unattended-upgrades, a second setup) is
# waited for, not a failure. Shared by scripts/setup-debian.sh and bench/setup.sh.
set -euo pipefail

lock_wait=${APT_LOCK_WAIT_SECONDS:-600}

missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# What apt says on stderr, without debconf's notes about apt-utils and its frontends (not news).
say_apt() { grep -v -e '^debconf: ' -e '^dpkg-preconfigure: ' <<<"$1" >&2 || true; }

# apt-get waiting for the locks: DPkg::Lock::Timeout covers dpkg's, but not those of the package
# lists (update) and the download cache (install), so a run that found one of those held is
# tried again until the deadline. Through env: sudo drops the caller's variables, and glewlwyd's
# dbconfig questions must not wait for an answer.
apt_get() {
  local deadline=$((SECONDS + lock_wait)) told="" out status
  while :; do
    status=0
    out=$($sudo env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout="$lock_wait" "$@" 2>&1 >/dev/null) || status=$?
    if ((status != 0)) && grep -q -e 'Could not get lock' -e 'Unable to lock' <<<"$out" && ((SECONDS < deadline)); then
      if [ -z "$told" ]; then
        echo "setup: another apt or dpkg is running ($(grep -o -m1 'held by process [0-9]* ([^)]*)' <<<"$out" || echo 'lock held')): waiting for it to finish" >&2
        told=1
      fi
      sleep 2
      continue
    fi
    say_apt "$out"
    return "$status"
  done
}

echo "setup: installing ${missing[*]}" >&2
apt_get update
apt_get install -y --no-install-recommends "${missing[@]}"
