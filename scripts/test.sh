#!/usr/bin/env bash
# Builds, then runs the tests inside a private D-Bus session with an unlocked gnome-keyring, so the
# keychain tests talk to a real Secret Service without touching the user's own keyring.
set -euo pipefail
cd "$(dirname "$0")/.."

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

npm run build --silent
# Node 20's --test takes no globs: name the test files, so test/support/ is not run as tests.
if [ $# -eq 0 ]; then
  mapfile -t files < <(find test -name '*.test.mjs' | sort)
  set -- "${files[@]}"
fi
mkdir -p test-output
export KMS_AGENT_TEST_STATS="$PWD/test-output/provider-calls.jsonl"
: > "$KMS_AGENT_TEST_STATS"
status=0
# One file at a time: the sandboxes share the login port 17899 and the test session's keyring.
node --test --test-concurrency=1 "$@" || status=$?
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
  const sum = (f) => lines.reduce((n, s) => n + f(s), 0);
  const grants = (t) => sum((s) => s.grants[t] ?? 0);
  console.log(`provider calls made by the tests: ${sum((s) => s.requests)} requests to ${lines.length} providers ` +
    `(logins ${grants("authorization_code")}, refreshes ${grants("refresh_token")}, device ${grants("urn:ietf:params:oauth:grant-type:device_code")}, revocations ${sum((s) => s.revocations)})`);
' "$KMS_AGENT_TEST_STATS"
exit $status
