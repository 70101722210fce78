#!/bin/bash
# Builds the libFuzzer targets of tests/fuzz/ (clang++, -fsanitize=fuzzer,address,undefined,
# UBSan not recoverable) in OUTDIR: configures a build tree there with clang++ and
# -fsanitize=fuzzer-no-link (tests/fuzz/local.mk; only the archives the targets read from
# are compiled) and runs `make fuzz-targets`; each target is then OUTDIR/TARGET (a link to
# OUTDIR/tests/fuzz/TARGET), as tests/fuzz/run-campaign.sh expects. The test suite does not
# use this script: its ASan+UBSan build (scripts/build.sh with SSM_ASAN=1) links the same
# targets against the sanitizer unit tests' objects.
# Usage: tests/fuzz/build.sh OUTDIR [TARGET...]  (env: JOBS, default 2; FUZZ_OPT, default
# -O1; -O0 compiles ~35 % faster and runs slower)
# Rebuilds incrementally; a different FUZZ_OPT configures OUTDIR again and rebuilds it all.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [TARGET...]" >&2; exit 2; }
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
outdir=$(cd "$1" && pwd)
shift
goals=()
for t in "$@"; do
  [ -f "$srcdir/tests/fuzz/$t.cpp" ] || { echo "build.sh: no fuzz target $t (usage: $0 OUTDIR [TARGET...])" >&2; exit 2; }
  goals+=("tests/fuzz/$t")
done
[ ${#goals[@]} -gt 0 ] || goals=(fuzz-targets)
command -v clang++ >/dev/null || { echo "build.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
opt=${FUZZ_OPT:--O1}
cxxflags="-g1 $opt -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link"
SSM_BOOTSTRAP_ONLY=1 "$srcdir/scripts/build.sh"
cd "$outdir"
# Objects of other flags are not reused (make does not track flags).
if [ -f Makefile ] && [ "$(cat .fuzz-flags 2>/dev/null)" != "$cxxflags" ]; then
  make clean >/dev/null 2>&1 || true
  rm -f Makefile
fi
if [ ! -f Makefile ]; then
  "$srcdir/configure" -q CXX=clang++ CXXFLAGS="$cxxflags" LDFLAGS="-fsanitize=address,undefined"
  echo "$cxxflags" >.fuzz-flags
fi
# The precompiled headers first, on their own (every object waits for them anyway: Makefile.am).
make -s -j"${JOBS:-2}" precompiled-headers
make -s -j"${JOBS:-2}" "${goals[@]}"
for t in "$srcdir"/tests/fuzz/fuzz_*.cpp; do
  t=$(basename "$t" .cpp)
  [ -x "tests/fuzz/$t" ] && ln -sfn "tests/fuzz/$t" "$t"
done
exit 0
