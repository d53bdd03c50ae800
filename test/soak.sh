#!/usr/bin/env bash
# Runs the test suite N times while another process keeps one core busy, to shake out tests that
# depend on how fast the machine is. Not part of `npm test`.
#
#   npm run test:soak              # npm test, 10 runs
#   npm run test:soak -- 3         # 3 runs (or SOAK_RUNS=3)
#   SOAK_CMD='npm run test:unit' npm run test:soak -- 5
#
# Prints passes/runs and where each failed run's log is; exits 1 if any run failed.
set -u

runs="${1:-${SOAK_RUNS:-10}}"
cmd="${SOAK_CMD:-npm test}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "test:soak: the number of runs must be a positive integer, got '$runs'" >&2
  exit 2
fi
logs="$(mktemp -d "${TMPDIR:-/tmp}/nines-soak-XXXXXX")"

# One core kept busy for the whole soak; killed by its PID on exit, Ctrl-C or failure.
node -e 'for (;;) {}' &
burner=$!
stop() {
  kill "$burner" 2>/dev/null
  wait "$burner" 2>/dev/null
}
trap stop EXIT
trap 'echo; echo "test:soak: interrupted" >&2; exit 130' INT TERM

echo "test:soak: $runs runs of '$cmd' with one core busy (pid $burner); logs in $logs"
passed=0
failed=()
for ((i = 1; i <= runs; i++)); do
  log="$logs/run-$i.log"
  if bash -c "$cmd" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "run $i/$runs: pass"
  else
    failed+=("$log")
    echo "run $i/$runs: FAIL, log: $log"
  fi
done

echo "test:soak: $passed/$runs passed"
for log in "${failed[@]}"; do
  echo "  failed: $log"
  grep -E '^ *(FAIL|×|AssertionError|Error:)' "$log" | head -n 5 | sed 's/^/    /'
done
[[ ${#failed[@]} -eq 0 ]]
