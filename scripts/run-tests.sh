#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine (as root): installs the packages,
# builds (warnings are errors), builds the unit tests again under ASan+UBSan, and runs
# unit, sanitizer and integration tests. Ends with "N passed, N failed, N skipped".
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
SSM_BOOTSTRAP_ONLY=1 "$top/scripts/build.sh"
# The ASan+UBSan build (clang++; the unit tests, and the fuzz targets linked against the same
# objects) runs at a lower priority from the start: it takes the CPU the normal build leaves
# (configure, links) and then runs beside the unit and integration tests, which spend most of
# their time waiting on Postfix, slapd and the token; when its status file appears, run-all.sh
# puts the sanitizer tests and the fuzz smoke test into the integration lanes as they free up
# (or runs them after, if the build ends last). Same work, less wall time.
status=$top/build-asan.status
rm -f "$status" "$status.tmp"
mkdir -p "$top/build-asan"
(
  if SSM_ASAN=1 nice -n 10 "$top/scripts/build.sh" "$top/build-asan" >"$top/build-asan.log" 2>&1
  then echo 0 >"$status.tmp"; else echo 1 >"$status.tmp"; fi
  mv "$status.tmp" "$status"
) &
# Line tables only (-g1, not configure's -g): backtraces keep file:line, the optimisation
# (-O2) is what ships, and the compiles take ~15 % less CPU with objects a quarter the size
# (faster links). The machine's 2 cores are busy for the whole run, so CPU saved is wall time.
"$top/scripts/build.sh" "$top/build" CXXFLAGS="-g1 -O2"
export SSM_ASAN_STATUS="$status" SSM_ASAN_LOG="$top/build-asan.log"
# The private Postfix instances log through postlogd over a unix datagram socket. Linux queues
# 10 datagrams per socket by default, and a Postfix 3.7 postlogd that must log while its queue
# is full blocks for good, and every daemon of its instance with it (tests/integration/lib.sh
# restarts such an instance). A longer queue makes that rare; the old value is put back.
qlen=/proc/sys/net/unix/max_dgram_qlen
old_qlen=
if [ -w "$qlen" ] && [ "$(cat "$qlen")" -lt 256 ]; then
  old_qlen=$(cat "$qlen")
  echo 256 >"$qlen" && echo "tests: net.unix.max_dgram_qlen $old_qlen -> 256 while the tests run"
fi
rc=0
"$top/tests/run-all.sh" "$top/build" "$top/build-asan" || rc=$?
[ -n "$old_qlen" ] && echo "$old_qlen" >"$qlen"
exit "$rc"
