# Shared start of the bench/run*.sh scripts; sourced, not run:
#   . "$(dirname "$0")/lib.sh" WORK_DIR
# Sets top (the source tree), exports SSM_SRCDIR, SSM_BUILDDIR (default $top/build) and
# SSM_WORK_DIR=WORK_DIR (emptied first, and kept afterwards for inspection) for
# tests/integration/lib.sh, sources that harness, and defines the helpers the benchmarks share.
# Input trust: our own scripts, fixtures and the logs of the daemons they start.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SSM_SRCDIR=$top SSM_BUILDDIR=${SSM_BUILDDIR:-$top/build}
export SSM_WORK_DIR=${1:?usage: . bench/lib.sh WORK_DIR}
rm -rf "$SSM_WORK_DIR"
unset SSM_TEST_TMP
. "$top/tests/integration/lib.sh"

say() { printf '%s\n' "$*" >&2; }
loadavg() { uptime | sed 's/.*load average: *//'; }   # 1, 5, 15 min
now() { date +%s.%N; }
# ratio A B: A as a whole percentage of B ("n/a" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b; else print "n/a" }'; }

# start_smtp_sink: an smtp-sink that stores nothing (storage is not what we measure) on a free
# port SINK_PORT, stopped at exit.
start_smtp_sink() {
  SINK_PORT=$(free_port)
  smtp-sink -u postfix "127.0.0.1:$SINK_PORT" 1024 >"$WORK/sink.log" 2>&1 &
  sink_pid=$!
  on_exit "kill -TERM $sink_pid"
  wait_port "$SINK_PORT" 10 "$sink_pid" || fatal bench-setup "smtp-sink did not start"
}

# sent_count PFDIR: the deliveries (status=sent) in that Postfix instance's log so far.
sent_count() { grep -c 'status=sent' "$1/maillog" 2>/dev/null; }
# wait_sent PFDIR BEFORE COUNT SECONDS: waits (at most SECONDS) until the log holds COUNT
# deliveries more than BEFORE; prints how many more it holds, fails when fewer than COUNT.
wait_sent() {
  local n deadline=$((SECONDS + $4))
  while n=$(( $(sent_count "$1") - $2 )); [ "$n" -lt "$3" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  echo "$n"
  [ "$n" -ge "$3" ]
}

# median_ms FROM_LINE ACTION: the median of ssm-milter's per-message ms= (MAIL FROM to end of
# message, inside the milter) over the $WORK/milter.log lines after FROM_LINE that log
# action=ACTION (an extended regular expression, e.g. decrypt or '(sign|none)').
median_ms() {
  tail -n +"$(($1 + 1))" "$WORK/milter.log" | grep -E "action=$2" | sed -n 's/.* ms=\([0-9]*\).*/\1/p' | median
}
# median: the median of the numbers on standard input, one per line (the lower middle one for
# an even count; "n/a" for none).
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }

# replace_section TITLE SECTION_FILE RESULTS: puts SECTION_FILE (a "## TITLE" heading and its
# text) into the results file in place of its "## TITLE" section, keeping every other "## "
# section, or appends it when the file has none; then removes SECTION_FILE.
replace_section() {
  local title=$1 section=$2 out=$3
  if [ -f "$out" ] && grep -qxF "## $title" "$out"; then
    awk -v sect="$section" -v head="## $title" '
      $0 == head { while ((getline l < sect) > 0) print l; skip = 1; next }
      /^## / { skip = 0 }
      !skip' "$out" >"$out.merged"
    mv -f "$out.merged" "$out"
  else
    # A blank line before the section unless the file is empty or already ends with one.
    [ -s "$out" ] && [ -n "$(tail -n 1 "$out")" ] && echo >>"$out"
    cat "$section" >>"$out"
  fi
  rm -f "$section"
}
