#!/usr/bin/env bash
# One worker of scripts/test.sh: takes test files from the run's queue one at a time (claimed with
# mkdir, so two workers never take the same file) and runs each with `node --test`, inside a
# private D-Bus session with an unlocked gnome-keyring of its own, so the keychain tests talk to a
# real Secret Service without touching the user's keyring or another worker's.
#   scripts/testWorker.sh RUN_DIR     (RUN_DIR holds `queue`, one test file per line)
set -euo pipefail
cd "$(dirname "$0")/.."
run=$1

if [ -z "${KMS_AGENT_TEST_IN_SESSION:-}" ] && command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  # The keyring lives under a throwaway data dir so a test run never writes the developer's keyrings.
  keyring_data=$(mktemp -d)
  trap 'rm -rf "$keyring_data"' EXIT
  # A session bus that starts nothing on demand: the standard one would answer a keyring that is
  # gone by starting a locked one, and every keychain test after that would fail.
  cat >"$keyring_data/session.conf" <<'CONF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
  # gnome-keyring-daemon can abort when a client disconnects in the middle of a call, and the tests
  # kill agents in the middle of calls: while the tests run (this shell's pid, after the exec), a
  # keyring that exits is started again, unlocked with the same password.
  KMS_AGENT_TEST_IN_SESSION=1 XDG_DATA_HOME="$keyring_data" \
    dbus-run-session --config-file="$keyring_data/session.conf" -- sh -c '
      tests=$$
      (while kill -0 "$tests" 2>/dev/null; do
        printf test | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1
        sleep 0.2
      done) 2>/dev/null &
      for i in $(seq 200); do
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true && break
        sleep 0.05
      done
      exec "$0" "$@"' "$0" "$@" \
    2> >(grep -v 'Failed to set fd limit' >&2)
  exit $?
fi

index=0
while IFS= read -r file; do
  index=$((index + 1))
  mkdir "$run/claims/$index" 2>/dev/null || continue
  log="$run/logs/$index.tap"
  status=0
  node --test --test-reporter=tap "$file" >"$log" 2>&1 || status=$?
  echo "$status $file" >"$run/logs/$index.status"
  # A file's output in one piece, whichever worker ran it.
  flock "$run/output.lock" cat "$log"
done <"$run/queue"
