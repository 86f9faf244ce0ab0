#!/usr/bin/env bash
# Builds, then runs the tests inside a private D-Bus session with an unlocked gnome-keyring, so the
# keychain tests talk to a real Secret Service without touching the user's own keyring.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${KMS_AGENT_TEST_IN_SESSION:-}" ] && command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  # The keyring lives under a throwaway data dir so a test run never writes the developer's keyrings.
  keyring_data=$(mktemp -d)
  trap 'rm -rf "$keyring_data"' EXIT
  KMS_AGENT_TEST_IN_SESSION=1 XDG_DATA_HOME="$keyring_data" \
    dbus-run-session -- sh -c 'echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$0" "$@"' "$0" "$@" \
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
