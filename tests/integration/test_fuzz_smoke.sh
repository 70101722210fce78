#!/bin/bash
# Fuzz smoke test: runs each libFuzzer target of tests/fuzz/ (clang++ with
# -fsanitize=fuzzer,address,undefined) over its seed corpus (tests/fuzz/corpus/TARGET, which
# also holds every past finding) plus a second of fuzzing. A crash, leak, sanitizer report or
# timeout is a FAIL; so is a missing clang/libFuzzer (a required tool) or a missing target.
# The long runs are in tests/fuzz/README.md.
# Where the targets come from: with SSM_FUZZ_TARGETS_DIR (tests/run-all.sh sets it to
# ASAN_BUILDDIR/tests/fuzz), the ASan+UBSan build of scripts/build.sh (SSM_ASAN=1) made them
# from the objects of the sanitizer unit tests, and this test only runs them (run-all.sh starts
# it once that build has ended). Without it, tests/fuzz/build.sh builds them at -O0 in
# SSM_FUZZ_DIR (default $SSM_BUILDDIR/fuzz-smoke; cold ~1.5 CPU-minutes plus a configure,
# later runs rebuild only what changed).
# Environment: SSM_FUZZ_SECONDS (default 1) per target. Cost: ~2.5 s per target. One second:
# the smoke test is there for the corpus replay (every past finding) and to show each target
# starts and fuzzes; finding new bugs is the long runs' job (tests/fuzz/run-campaign.sh), and
# in CI every fuzzing second is CPU the other tests and builds wait for.
. "$(dirname "$0")/lib.sh"
require_tools clang++ asn1Parser make pkg-config
targets=(fuzz_mime fuzz_mime_header fuzz_cms fuzz_cms_envelope fuzz_verify fuzz_decrypt fuzz_auth_results fuzz_security_label fuzz_receipt fuzz_clearance fuzz_ml_expansion fuzz_decompress fuzz_crl fuzz_name_constraints fuzz_address fuzz_recipient_delimiter)
secs=${SSM_FUZZ_SECONDS:-1}
T0=$SECONDS
if [ -n "${SSM_FUZZ_TARGETS_DIR:-}" ]; then
  fuzzdir=$SSM_FUZZ_TARGETS_DIR
  note "targets of the ASan+UBSan build: $fuzzdir"
else
  fuzzdir=${SSM_FUZZ_DIR:-$SSM_BUILDDIR/fuzz-smoke}
  if ! FUZZ_OPT=-O0 nice -n 10 bash "$SSM_SRCDIR/tests/fuzz/build.sh" "$fuzzdir" >"$WORK/build.log" 2>&1; then
    # clang without libFuzzer's runtime (package libclang-rt-14-dev) fails here
    for t in "${targets[@]}"; do fail "$t" "tests/fuzz/build.sh failed: $(grep -m1 -iE 'error|not found' "$WORK/build.log")"; done
    exit 1
  fi
  note "build: $((SECONDS - T0)) s"
fi
for t in "${targets[@]}"; do
  if [ ! -x "$fuzzdir/$t" ]; then
    fail "$t" "$fuzzdir/$t not built (scripts/build.sh with SSM_ASAN=1 makes it, or tests/fuzz/build.sh)"
    continue
  fi
  mkdir -p "$WORK/new/$t" "$WORK/crash/$t"
  t1=$SECONDS
  # new inputs go to the work dir; the committed corpus is only read
  timeout $((secs + 60)) nice -n 10 "$fuzzdir/$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$WORK/crash/$t/" -print_final_stats=1 \
    "$WORK/new/$t" "$SSM_SRCDIR/tests/fuzz/corpus/$t" >"$WORK/$t.log" 2>&1
  rc=$?
  seeds=$(find "$SSM_SRCDIR/tests/fuzz/corpus/$t" -type f | wc -l)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t.log")
  if [ "$rc" -eq 0 ] && [ -z "$(ls -A "$WORK/crash/$t")" ] && [ "$seeds" -gt 0 ] && [ -n "$runs" ]; then
    pass "$t"
    note "$t: $seeds seeds, $runs executions in $((SECONDS - t1)) s"
  else
    fail "$t" "rc=$rc seeds=$seeds artifacts=$(ls "$WORK/crash/$t" | tr '\n' ' ')$(grep -m1 -E 'ERROR:|runtime error|==ERROR' "$WORK/$t.log")"
    cp "$WORK/$t.log" "$SSM_BUILDDIR/fuzz-smoke-$t.log" 2>/dev/null
    cp -r "$WORK/crash/$t" "$SSM_BUILDDIR/fuzz-smoke-crash-$t" 2>/dev/null
  fi
done
note "total: $((SECONDS - T0)) s"
