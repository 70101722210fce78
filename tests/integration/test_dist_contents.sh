#!/bin/bash
# The release tarball (`make dist`) must hold every file git tracks but the CI hook and
# .gitignore: a header or test helper missing from the automake lists builds in the source tree
# and breaks only in the tarball (base/joined.h and tests/interop/ were missing until 2026-12-02,
# and an EXTRA_DIST entry naming a folder that does not exist made `make dist` fail).
# Uses `make distdir` into the work dir, so the build folder is left as it was.
. "$(dirname "$0")/lib.sh"
require_tools make git sort comm
if ! git -C "$SSM_SRCDIR" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  skip dist-contents "the source tree is not a git checkout (a release tarball): nothing to compare with"
  exit 0
fi
D=$WORK/dist/ssm-milter
mkdir -p "$WORK/dist"
if make -s -C "$SSM_BUILDDIR" distdir distdir="$D" >"$WORK/distdir.log" 2>&1; then
  pass dist-make-distdir
else
  fail dist-make-distdir "make distdir: $(grep -m3 -iE 'error|no rule' "$WORK/distdir.log" | tr '\n' ' ')"
  exit 1
fi
git -C "$SSM_SRCDIR" ls-files | grep -vxE '\.ci/run|\.gitignore' | sort >"$WORK/tracked"
(cd "$D" && find . -type f | sed 's|^\./||' | sort) >"$WORK/shipped"
missing=$(comm -23 "$WORK/tracked" "$WORK/shipped")
if [ -z "$missing" ]; then
  pass dist-holds-every-tracked-file
else
  fail dist-holds-every-tracked-file "not in the tarball: $(printf '%s' "$missing" | head -n 10 | tr '\n' ' ')"
fi
# Long paths (PKITS-named fuzz seeds exceed the v7 tar limit of 99 octets) need a pax tarball.
long=$(awk 'length($0) + length("ssm-milter-0.1.0/") > 99' "$WORK/tracked" | head -n 1)
if [ -n "$long" ] && ! grep -q 'tar-pax\|tar-ustar' "$SSM_SRCDIR/configure.ac"; then
  fail dist-long-names "configure.ac asks for no tar format that stores $long"
else
  pass dist-long-names
fi
exit 0
