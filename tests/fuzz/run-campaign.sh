#!/bin/bash
# Runs libFuzzer targets one after another (never two at once: the build machine is shared),
# each for SECONDS with its seed corpus, at the lowest priority, and prints one summary line
# per target for tests/fuzz/README.md. New inputs go to WORKDIR/work/TARGET (the committed
# seeds in tests/fuzz/corpus/TARGET are only read); crashes to WORKDIR/artifacts/TARGET/.
# Usage: tests/fuzz/run-campaign.sh FUZZDIR WORKDIR SECONDS TARGET...
set -u
[ $# -ge 4 ] || { echo "usage: $0 FUZZDIR WORKDIR SECONDS TARGET..." >&2; exit 2; }
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$(cd "$1" && pwd); mkdir -p "$2"; work=$(cd "$2" && pwd); secs=$3; shift 3
for t in "$@"; do
    mkdir -p "$work/work/$t" "$work/artifacts/$t" "$work/logs"
    start=$(date -u +%FT%TZ)
    (cd "$work/work" && nice -n 19 "$fuzzdir/$t" -max_total_time="$secs" -rss_limit_mb=2048 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/" \
        "$work/work/$t" "$srcdir/tests/fuzz/corpus/$t") >"$work/logs/$t.log" 2>&1
    rc=$?
    log="$work/logs/$t.log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    found=$(ls "$work/artifacts/$t" | wc -l)
    echo "$t start=$start secs=$secs rc=$rc execs=${runs:-?} $cov $corp peak_rss_mb=${rss:-?} artifacts=$found"
done
