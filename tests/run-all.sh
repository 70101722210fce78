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
# OpenSSL 3.0's `openssl x509` loads the system's trust anchors at every start (its app calls
# X509_STORE_set_default_paths: ~140 certificates of ca-certificates.crt, ~70 ms of CPU), and
# the fixtures run it some 3000 times; no test uses the system trust store (each names its own
# anchors), so the run points it at nothing: 90 -> 20 ms per `x509 -req`.
export SSL_CERT_FILE=/dev/null
export SSM_TEST_TMP=$(mktemp -d /tmp/ssm-tests.XXXXXX)
# Postfix daemons (user postfix) and smtp-sink must reach the work folders below it.
chmod 755 "$SSM_TEST_TMP"
trap 'rm -rf "$SSM_TEST_TMP"' EXIT
logdir=${SSM_TEST_LOGDIR:-$builddir/test-logs}
mkdir -p "$logdir"

passed=0 failed=0 skipped=0
failures=() failure_logs=()

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
  # Failures before skips: CI shows only the head and the tail of a long output.
  if [ "$f" -gt 0 ]; then
    failures+=("$label")
    failure_logs+=("$log")
    grep -E '^FAIL: |^  failure in |^- ' "$log" | head -20 | sed 's/^/    /'
    echo "    (full log: $log)"
  fi
  grep '^SKIP: ' "$log" | sed 's/^/    /'
}

# unit_programs BUILDDIR: the unit test programs, the longest (in CI runs, 12 s or more;
# all CPU-heavy or waiting on timeouts) first so that none of them starts last, then the rest
# in name order.
unit_programs() {
  local slow=(test_cms_decrypt test_pki test_cms_envelope test_processor_revocation test_mime
    test_revocation) n
  for n in "${slow[@]}"; do [ -x "$1/tests/unit/$n" ] && echo "$1/tests/unit/$n"; done
  find "$1/tests/unit" -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort \
    | grep -v -x -F -f <(printf '%s\n' "${slow[@]/#/$1/tests/unit/}")
}

# run_parallel JOBS ITEM...: runs the items JOBS at a time, in order, and counts each as it
# ends. An ITEM is KIND|PROGRAM: KIND (unit, integration or asan) names its label and log;
# PROGRAM is an executable, or a *.sh run with bash; asan programs get the sanitizer options.
# After each reap, late_items (when defined) may append items to the queue: the sanitizer
# tests join the lanes as soon as their build is ready. Each program has SSM_TEST_LIMIT
# seconds (default 900, ten times the slowest test): one that hangs is ended (its process
# group, so its servers go too) and counted as a failure, instead of stalling the suite.
run_parallel() {
  local jobs=$1
  shift
  queue=("$@")
  declare -A started_at=() label_of=()
  local running=() item kind t name pid rc next=0
  reap_one() {
    wait -n -p pid "${running[@]}"
    rc=$?
    count_one "${label_of[$pid]}" "$logdir/${label_of[$pid]%%/*}-${label_of[$pid]##*/}.log" "$rc" $((SECONDS - started_at[$pid]))
    local keep=() p
    for p in "${running[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
    running=("${keep[@]}")
    if declare -F late_items >/dev/null; then late_items; fi
  }
  while [ "$next" -lt "${#queue[@]}" ] || [ "${#running[@]}" -gt 0 ]; do
    if [ "$next" -ge "${#queue[@]}" ] || [ "${#running[@]}" -ge "$jobs" ]; then reap_one; continue; fi
    item=${queue[$next]}
    next=$((next + 1))
    kind=${item%%|*} t=${item#*|}
    name=$(basename "$t" .sh)
    case $kind:$t in
      *.sh) limited bash "$t" >"$logdir/$kind-$name.log" 2>&1 </dev/null & ;;
      asan:*) limited env "${asan_env[@]}" "$t" >"$logdir/$kind-$name.log" 2>&1 </dev/null & ;;
      *) limited "$t" >"$logdir/$kind-$name.log" 2>&1 </dev/null & ;;
    esac
    started_at[$!]=$SECONDS
    label_of[$!]=$kind/$name
    running+=("$!")
  done
}
# items KIND: the programs named on stdin (one a line) as run_parallel items.
items() {
  local p
  while IFS= read -r p; do printf '%s|%s\n' "$1" "$p"; done
}

# limited COMMAND...: COMMAND with the per-program time limit; on expiry a FAIL line says so.
limited() {
  local limit=${SSM_TEST_LIMIT:-900} rc
  timeout -k 10 "$limit" "$@"
  rc=$?
  [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && echo "FAIL: ended after ${limit}s (SSM_TEST_LIMIT): it hung"
  return "$rc"
}

# phase NAME: a phase header with the time since the start, so slow phases show in CI logs.
phase() { echo "== $* (at +$((SECONDS / 60))m$((SECONDS % 60))s)"; }

phase "unit tests (2 at a time)"
mapfile -t unit_list < <(unit_programs "$builddir" | items unit)
run_parallel 2 "${unit_list[@]}"

phase "integration tests (${SSM_TEST_JOBS:=3} at a time: most of their time is spent waiting on Postfix)"
export SSM_BUILDDIR=$builddir
# Longest first (LPT): every script of 20 s or more in a CI run, longest first, then the rest
# in name order, so that no long script starts last and stretches the phase (3 lanes; with the
# durations of the last CI run: 478 s against a 472 s bound; the old order 487 s).
slow_first=(test_fuzz_smoke test_directory_ldap test_sign_postfix test_interop_pkijs
  test_sign_shapes
  test_inbound_shapes test_encrypt_shapes test_mta_shapes
  test_encrypt_postfix test_interop_bouncycastle test_inbound_postfix test_security_labels
  test_interop_wolfssl test_rcpt_policy test_sendmail_mta test_mixed_recipients
  test_interop_gopkcs7 test_mail_list_group test_pkits test_interop_heimdal test_reload
  test_bounce_postfix test_bad_input test_inbound_verify test_blind_copies
  test_split_all_or_nothing test_smimea test_crash_retry test_cert_shapes test_inbound_wrappers)
scripts=()
for name in "${slow_first[@]}"; do
  [ -e "$srcdir/tests/integration/$name.sh" ] && scripts+=("$srcdir/tests/integration/$name.sh")
done
for t in "$srcdir"/tests/integration/test_*.sh; do
  case " ${slow_first[*]} " in *" $(basename "$t" .sh) "*) continue ;; esac
  [ -e "$t" ] && scripts+=("$t")
done
# With ASAN_BUILDDIR the fuzz targets come from that build (scripts/build.sh links them
# against the sanitizer unit tests' objects, no compile of their own): test_fuzz_smoke only
# runs them, so it joins the lanes with the sanitizer unit tests (late_items), not here.
fuzz_smoke=$srcdir/tests/integration/test_fuzz_smoke.sh
if [ -n "$asandir" ]; then
  export SSM_FUZZ_TARGETS_DIR=$asandir/tests/fuzz
  keep=()
  for t in "${scripts[@]}"; do [ "$t" != "$fuzz_smoke" ] && keep+=("$t"); done
  scripts=("${keep[@]}")
fi
# The unit tests again, built with ASan+UBSan (when ASAN_BUILDDIR is given). scripts/run-tests.sh
# builds them while the tests above run and writes SSM_ASAN_STATUS when done: they join the
# integration lanes at the first free one after that (late_items), so that the CPU the
# integration tests leave while they wait on Postfix is not idle at the end of the run.
asan_env=(ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$srcdir/tests/lsan.supp})
asan_pending=0
[ -n "$asandir" ] && asan_pending=1
# asan_ready: the sanitizer build has ended (or was made before this run).
asan_ready() { [ -z "${SSM_ASAN_STATUS:-}" ] || [ -f "$SSM_ASAN_STATUS" ]; }
# late_items: once the sanitizer build is ready, queue the fuzz smoke test and its unit tests
# (or count its failure; the fuzz smoke test still runs then, and names what is missing: a
# missing clang is its FAIL, never a skip).
late_items() {
  [ "$asan_pending" = 1 ] && asan_ready || return 0
  asan_pending=0
  queue+=("integration|$fuzz_smoke")
  if [ -n "${SSM_ASAN_STATUS:-}" ] && [ "$(cat "$SSM_ASAN_STATUS")" != 0 ]; then
    failed=$((failed + 1)); failures+=("asan-build")
    echo "FAIL: the ASan+UBSan build failed:"
    tail -n 30 "${SSM_ASAN_LOG:-/dev/null}" | sed 's/^/    /'
    return 0
  fi
  phase "fuzz smoke test and unit tests under ASan+UBSan join the lanes"
  mapfile -t -O "${#queue[@]}" queue < <(unit_programs "$asandir" | items asan)
}
mapfile -t integration_list < <(printf '%s\n' "${scripts[@]}" | items integration)
run_parallel "$SSM_TEST_JOBS" "${integration_list[@]}"

if [ "$asan_pending" = 1 ]; then
  phase "waiting for the ASan+UBSan build"
  while ! asan_ready; do sleep 2; done
  # Alone on the machine now: as many lanes as the integration tests had (several unit tests
  # wait on slapd, OCSP responders or the token: test_revocation and
  # test_processor_revocation use about a third of a core, test_pki two thirds).
  queue=()
  late_items
  run_parallel "$SSM_TEST_JOBS" "${queue[@]}"
fi

phase "done"
echo
if [ "${#failures[@]}" -gt 0 ]; then
  # Again at the end, with the failing lines and their context, so that a truncated CI
  # output still says what failed and why.
  echo "failed: ${failures[*]}"
  for log in "${failure_logs[@]}"; do
    echo "  from $log:"
    grep -E -B3 -A8 '^FAIL: ' "$log" | head -60 | cut -c1-400 | sed 's/^/    /'
  done
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
