#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine (as root): installs the packages,
# builds (warnings are errors), builds the unit tests again under ASan+UBSan, and runs
# unit, sanitizer and integration tests. Ends with "N passed, N failed, N skipped".
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$top/build"
SSM_ASAN=1 "$top/scripts/build.sh" "$top/build-asan"
exec "$top/tests/run-all.sh" "$top/build" "$top/build-asan"
