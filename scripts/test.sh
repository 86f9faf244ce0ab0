#!/usr/bin/env bash
# Builds, then runs the test files (all of test/, or the ones named) on KMS_AGENT_TEST_JOBS workers
# (scripts/testWorker.sh), each in a private D-Bus session with a keyring of its own. The tests use
# the fixed login port 17899, so workers run side by side only where each can have a network
# namespace of its own (root with unshare, as in CI): 2 workers there by default, else 1.
set -euo pipefail
cd "$(dirname "$0")/.."

npm run build --silent
# Node 20's --test takes no globs: name the test files, so test/support/ is not run as tests.
if [ $# -eq 0 ]; then
  mapfile -t files < <(find test -name '*.test.mjs' | sort)
else
  files=("$@")
fi

# The longest files first, so that no worker is left with one of them at the end.
LONGEST_FIRST=(
  test/oneAgent.test.mjs test/reliability/crashes.test.mjs test/reliability/providerFaults.test.mjs
  test/glewlwyd.test.mjs test/loginHelp.test.mjs test/sharedStore.test.mjs
  test/reliability/hostileAnswers.test.mjs test/reliability/autostartRace.test.mjs
  test/reliability/hostileProvider.test.mjs test/reliability/badInput.test.mjs
)
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
mkdir "$run/claims" "$run/logs"
for file in "${LONGEST_FIRST[@]}"; do
  for named in "${files[@]}"; do [ "$named" = "$file" ] && echo "$file"; done
done >"$run/queue"
for file in "${files[@]}"; do grep -qxF "$file" "$run/queue" || echo "$file" >>"$run/queue"; done

default_jobs=1
if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then default_jobs=2; fi
jobs=${KMS_AGENT_TEST_JOBS:-$default_jobs}
((jobs <= ${#files[@]})) || jobs=${#files[@]}

mkdir -p test-output
export KMS_AGENT_TEST_STATS="$PWD/test-output/provider-calls.jsonl"
: >"$KMS_AGENT_TEST_STATS"
started=$SECONDS
for _ in $(seq "$jobs"); do
  if ((jobs > 1)); then
    unshare -n sh -c 'ip link set lo up && exec "$@"' sh scripts/testWorker.sh "$run" &
  else
    scripts/testWorker.sh "$run" &
  fi
done
wait

count() {
  local value
  value=$(sed -n "s/^# $1 //p" "$2" | tail -1)
  echo "${value:-0}"
}
total=0 pass=0 fail=0 failed_files=()
for status in "$run"/logs/*.status; do
  read -r code file <"$status"
  log=${status%.status}.tap
  total=$((total + $(count tests "$log")))
  pass=$((pass + $(count pass "$log")))
  fail=$((fail + $(count fail "$log")))
  [ "$code" -eq 0 ] || failed_files+=("$file")
done
ran=$(find "$run/logs" -name '*.status' | wc -l)
echo "# all files: ${ran} of ${#files[@]} run on ${jobs} worker(s) in $((SECONDS - started)) s: tests ${total}, pass ${pass}, fail ${fail}"
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse);
  const sum = (f) => lines.reduce((n, s) => n + f(s), 0);
  const grants = (t) => sum((s) => s.grants[t] ?? 0);
  console.log(`provider calls made by the tests: ${sum((s) => s.requests)} requests to ${lines.length} providers ` +
    `(logins ${grants("authorization_code")}, refreshes ${grants("refresh_token")}, device ${grants("urn:ietf:params:oauth:grant-type:device_code")}, revocations ${sum((s) => s.revocations)})`);
' "$KMS_AGENT_TEST_STATS"
((ran == ${#files[@]})) || echo "# not run: $((${#files[@]} - ran)) file(s)"
((${#failed_files[@]} == 0)) || printf '# failed: %s\n' "${failed_files[@]}"
((${#failed_files[@]} == 0 && ran == ${#files[@]}))
