#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine (as root): installs the packages,
# builds (warnings are errors), builds the unit tests again under ASan+UBSan, and runs
# unit, sanitizer and integration tests. Ends with "N passed, N failed, N skipped".
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
SSM_BOOTSTRAP_ONLY=1 "$top/scripts/build.sh"
# The ASan+UBSan build (unit tests only) runs at a lower priority from the start: it takes the
# CPU the normal build leaves (configure, links) and then runs beside the unit and integration
# tests, which spend most of their time waiting on Postfix, slapd and the token; run-all.sh
# waits for its status file before the sanitizer tests. Same work, less wall time.
status=$top/build-asan.status
rm -f "$status" "$status.tmp"
mkdir -p "$top/build-asan"
(
  if SSM_ASAN=1 nice -n 10 "$top/scripts/build.sh" "$top/build-asan" >"$top/build-asan.log" 2>&1
  then echo 0 >"$status.tmp"; else echo 1 >"$status.tmp"; fi
  mv "$status.tmp" "$status"
) &
"$top/scripts/build.sh" "$top/build"
export SSM_ASAN_STATUS="$status" SSM_ASAN_LOG="$top/build-asan.log"
exec "$top/tests/run-all.sh" "$top/build" "$top/build-asan"
