#!/bin/sh
# Bootstraps autotools when needed, configures and builds ssm-milter.
# Usage: scripts/build.sh [BUILDDIR [extra configure arguments...]]
#   BUILDDIR defaults to ./build. With SSM_ASAN=1 the build uses clang++ with ASan+UBSan at
#   -O0 and builds only the unit test programs and the libFuzzer targets of tests/fuzz/
#   (-O0 compiles ~35 % faster than -O1; the sanitizer run of the unit tests is short, the
#   build is on the suite's critical path). Its objects also carry libFuzzer's coverage
#   instrumentation (-fsanitize=fuzzer-no-link), so that the fuzz targets link against them:
#   the fuzz smoke test (tests/integration/test_fuzz_smoke.sh) needs no compile of its own.
#   Its debug info is line tables only (-g1): sanitizer reports still name file:line, and the
#   compiles take ~24 % less CPU than with -g (objects a fifth smaller, faster links). Its
#   libraries are unity builds, as in every build but one configured --disable-unity-build
#   (configure.ac): the check below makes sure of it in a tree configured before.
#   With SSM_BOOTSTRAP_ONLY=1 it only runs autoreconf when needed (so that two builds can
#   then be configured at once without racing on it).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-$top/build}
[ $# -gt 0 ] && shift
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
  autoreconf -fi
fi
[ "${SSM_BOOTSTRAP_ONLY:-0}" = 1 ] && exit 0
mkdir -p "$builddir"
cd "$builddir"
# One job more than the 2 cores of the CI machine keeps them busy while another job links.
jobs=${SSM_JOBS:-3}
# LLVM's linker when it is there (package lld, scripts/install-deps.sh): measured on one ASan+UBSan
# unit test program, 1.0 CPU-s against GNU ld's 5.0; the ~70 programs of the two test builds
# spent ~120 CPU-s linking, on a suite whose length is its CPU divided by the 2 cores.
fast_link=
command -v ld.lld >/dev/null 2>&1 && fast_link=-fuse-ld=lld
if [ "${SSM_ASAN:-0}" = 1 ]; then
  # libFuzzer comes with clang only (package clang and its runtime, libclang-rt-14-dev).
  command -v clang++ >/dev/null || { echo "build.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
  # A tree configured before the switch from g++ (or without the fuzzer instrumentation, or
  # file by file) is configured again and rebuilt: make does not track flags, and g++ objects
  # lack the coverage hooks the fuzz targets need.
  if [ -f Makefile ] && { ! grep -q -e '^CXXFLAGS = .*-fsanitize=fuzzer-no-link' Makefile ||
                          ! grep -q -e '^nodist_hsm_libssm_hsm_a_OBJECTS = hsm/unity' Makefile; }; then
    make clean >/dev/null 2>&1 || true
    rm -f Makefile
  fi
  if [ ! -f Makefile ]; then
    "$top/configure" --enable-werror --enable-unity-build -q CXX=clang++ \
      CXXFLAGS="-g1 -O0 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link" \
      LDFLAGS="-fsanitize=address,undefined $fast_link" "$@"
  fi
  # One make: the fuzz targets' links overlap the unit tests' compiles. The precompiled
  # headers first, on their own (every object waits for them anyway: Makefile.am).
  make -j"$jobs" precompiled-headers >/dev/null
  make -j"$jobs" unit-tests fuzz-targets >/dev/null
else
  if [ ! -f Makefile ]; then
    "$top/configure" --enable-werror -q LDFLAGS="$fast_link" "$@"
  fi
  # One make for the programs and the unit tests: the links of one overlap the compiles of
  # the other (check builds all first).
  make -j"$jobs" check TESTS= >/dev/null
fi
echo "build: $builddir ready"
