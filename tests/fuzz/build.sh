#!/bin/bash
# Builds the libFuzzer targets of tests/fuzz/ (clang++, -fsanitize=fuzzer,address,undefined)
# into OUTDIR. BUILDDIR is a configured build dir, or any folder: the generated
# smime/cms/cms_asn1_tab.c is taken from it, or made there with asn1Parser when missing.
# Usage: tests/fuzz/build.sh BUILDDIR OUTDIR [TARGET...]  (env: JOBS, default 2; CXX, default clang++)
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
    asn1Parser -o "$tab.tmp" -n cms_asn1_tab "$srcdir/smime/cms/cms.asn" >/dev/null
    mv -f "$tab.tmp" "$tab"
fi
exec make --no-print-directory -s -C "$outdir" -f "$srcdir/tests/fuzz/fuzz.mk" \
    -j"${JOBS:-2}" CXX="${CXX:-clang++}" SRCDIR="$srcdir" GENDIR="$gendir" "${@:3}"
