#!/bin/bash
# Runs every test of ssm-milter and prints one summary line "N passed, N failed, N skipped".
#   unit tests (CppUnit) from BUILDDIR, the same unit tests built with ASan+UBSan from
#   ASAN_BUILDDIR (when given), and the integration tests (tests/integration/test_*.sh).
# Each test prints "PASS: name", "FAIL: name..." or "SKIP: name: reason"; a program that
# exits non-zero without printing a FAIL line (a crash) counts as one failure.
# Usage: tests/run-all.sh BUILDDIR [ASAN_BUILDDIR]
set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:?usage: run-all.sh BUILDDIR [ASAN_BUILDDIR]}" && pwd)
asandir=${2:-}
[ -n "$asandir" ] && asandir=$(cd "$asandir" && pwd)

export SSM_SRCDIR=$srcdir
export SSM_TEST_TMP=$(mktemp -d /tmp/ssm-tests.XXXXXX)
# Postfix daemons (user postfix) and smtp-sink must reach the work folders below it.
chmod 755 "$SSM_TEST_TMP"
trap 'rm -rf "$SSM_TEST_TMP"' EXIT
logdir=${SSM_TEST_LOGDIR:-$builddir/test-logs}
mkdir -p "$logdir"

passed=0 failed=0 skipped=0
failures=()

# count_one LABEL LOGFILE RC SECONDS: adds a finished test program's lines to the totals.
count_one() {
  local label=$1 log=$2 rc=$3 took=$4
  local p f s
  p=$(grep -c '^PASS: ' "$log")
  f=$(grep -c '^FAIL: ' "$log")
  s=$(grep -c '^SKIP: ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "FAIL: $label exited with status $rc without a FAIL line (crash?)" >>"$log"
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  printf '%-48s %4d passed %3d failed %3d skipped  (%ds)\n' "$label" "$p" "$f" "$s" "$took"
  grep '^SKIP: ' "$log" | sed 's/^/    /'
  if [ "$f" -gt 0 ]; then
    failures+=("$label")
    grep -E '^FAIL: |^  failure in |^- ' "$log" | head -20 | sed 's/^/    /'
    echo "    (full log: $log)"
  fi
}

# run_one LABEL LOGFILE COMMAND...
run_one() {
  local label=$1 log=$2
  shift 2
  local start=$SECONDS
  "$@" >"$log" 2>&1 </dev/null
  count_one "$label" "$log" $? $((SECONDS - start))
}

unit_programs() {
  find "$1/tests/unit" -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort
}

echo "== unit tests"
for t in $(unit_programs "$builddir"); do
  run_one "unit/$(basename "$t")" "$logdir/unit-$(basename "$t").log" "$t"
done

if [ -n "$asandir" ]; then
  echo "== unit tests under ASan+UBSan"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$srcdir/tests/lsan.supp}
  for t in $(unit_programs "$asandir"); do
    run_one "asan/$(basename "$t")" "$logdir/asan-$(basename "$t").log" "$t"
  done
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

echo "== integration tests (${SSM_TEST_JOBS:=2} at a time: most of their time is spent waiting on Postfix)"
export SSM_BUILDDIR=$builddir
scripts=()
for t in "$srcdir"/tests/integration/test_*.sh; do
  [ -e "$t" ] && scripts+=("$t")
done
declare -A started_at=() script_of=()
running=()
reap_one() {
  # Waits for any running script, then counts it.
  local pid
  wait -n -p pid "${running[@]}"
  local rc=$?
  local t=${script_of[$pid]} name
  name=$(basename "$t" .sh)
  count_one "integration/$name" "$logdir/integration-$name.log" "$rc" $((SECONDS - started_at[$pid]))
  local keep=()
  for p in "${running[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  running=("${keep[@]}")
}
for t in "${scripts[@]}"; do
  while [ "${#running[@]}" -ge "$SSM_TEST_JOBS" ]; do reap_one; done
  name=$(basename "$t" .sh)
  bash "$t" >"$logdir/integration-$name.log" 2>&1 </dev/null &
  started_at[$!]=$SECONDS
  script_of[$!]=$t
  running+=("$!")
done
while [ "${#running[@]}" -gt 0 ]; do reap_one; done

echo
if [ "${#failures[@]}" -gt 0 ]; then
  echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
