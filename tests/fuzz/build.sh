#!/bin/bash
# Builds the libFuzzer targets of tests/fuzz/ (clang++, -fsanitize=fuzzer,address,undefined)
# into OUTDIR. BUILDDIR is a configured build dir, or any folder: the generated
# smime/cms/cms_asn1_tab.c is taken from it, or made there with asn1Parser when missing.
# Usage: tests/fuzz/build.sh BUILDDIR OUTDIR [TARGET...]  (env: JOBS, default 2; CXX, default
# clang++; FUZZ_OPT, default -O1: the smoke test builds with -O0, which compiles ~35 % faster)
# Rebuilds incrementally (make with -MMD dependencies).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BUILDDIR OUTDIR [TARGET...]" >&2; exit 2; }
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1" "$2"
gendir=$(cd "$1" && pwd)
outdir=$(cd "$2" && pwd)
command -v "${CXX:-clang++}" >/dev/null || { echo "build.sh: ${CXX:-clang++} not found (apt-get install clang)" >&2; exit 1; }
tab="$gendir/smime/cms/cms_asn1_tab.c"
if [ ! -f "$tab" ] || [ "$srcdir/smime/cms/cms.asn" -nt "$tab" ]; then
    command -v asn1Parser >/dev/null || { echo "build.sh: asn1Parser not found (libtasn1-bin)" >&2; exit 1; }
    mkdir -p "$gendir/smime/cms"
    asn1Parser -o "$tab.tmp" -n cms_asn1_tab "$srcdir/smime/cms/cms.asn" >/dev/null 2>&1 \
        || { echo "build.sh: asn1Parser failed on cms.asn" >&2; exit 1; }
    mv -f "$tab.tmp" "$tab"
fi
# Objects of another optimisation level are not reused (make does not track flags).
opt=${FUZZ_OPT:--O1}
if [ "$(cat "$outdir/.flags" 2>/dev/null)" != "$opt" ]; then
    rm -rf "$outdir/obj" "$outdir/lib"
    echo "$opt" >"$outdir/.flags"
fi
exec make --no-print-directory -s -C "$outdir" -f "$srcdir/tests/fuzz/fuzz.mk" \
    -j"${JOBS:-2}" CXX="${CXX:-clang++}" SRCDIR="$srcdir" GENDIR="$gendir" OPT="$opt" "${@:3}"
