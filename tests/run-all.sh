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
trap 'rm -rf "$SSM_TEST_TMP"' EXIT
logdir=${SSM_TEST_LOGDIR:-$builddir/test-logs}
mkdir -p "$logdir"

passed=0 failed=0 skipped=0
failures=()

# run_one LABEL LOGFILE COMMAND...
run_one() {
  local label=$1 log=$2
  shift 2
  local start=$SECONDS
  "$@" >"$log" 2>&1 </dev/null
  local rc=$?
  local p f s
  p=$(grep -c '^PASS: ' "$log")
  f=$(grep -c '^FAIL: ' "$log")
  s=$(grep -c '^SKIP: ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "FAIL: $label exited with status $rc without a FAIL line (crash?)" >>"$log"
  fi
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  printf '%-48s %4d passed %3d failed %3d skipped  (%ds)\n' "$label" "$p" "$f" "$s" $((SECONDS - start))
  grep '^SKIP: ' "$log" | sed 's/^/    /'
  if [ "$f" -gt 0 ]; then
    failures+=("$label")
    grep -E '^FAIL: |^  failure in |^- ' "$log" | head -20 | sed 's/^/    /'
    echo "    (full log: $log)"
  fi
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

echo "== integration tests"
export SSM_BUILDDIR=$builddir
for t in "$srcdir"/tests/integration/test_*.sh; do
  [ -e "$t" ] || continue
  run_one "integration/$(basename "$t" .sh)" "$logdir/integration-$(basename "$t" .sh).log" bash "$t"
done

echo
if [ "${#failures[@]}" -gt 0 ]; then
  echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
