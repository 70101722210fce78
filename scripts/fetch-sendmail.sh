#!/bin/sh
# Unpacks Debian's sendmail-bin (the Sendmail MTA binary) into a project-owned folder,
# /var/cache/ssm-milter/sendmail (or $1), without installing it: the package conflicts with
# postfix (both provide mail-transport-agent), but tests/integration/test_sendmail_mta.sh runs
# the binary as a private daemon beside Postfix. Its shared libraries are ordinary packages
# (scripts/install-deps.sh). Idempotent: nothing is downloaded when the binary is there and
# its version matches sendmail-cf's (the m4 macros must be of the same release).
# Input trust: a package from the Debian archive through apt, checked by apt's signatures.
set -eu
dest=${1:-/var/cache/ssm-milter/sendmail}
want=$(dpkg-query -W -f='${Version}' sendmail-cf 2>/dev/null || true)
bin=$dest/usr/libexec/sendmail/sendmail
if [ -x "$bin" ] && [ -n "$want" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$want" ]; then
  echo "fetch-sendmail: sendmail-bin $want present in $dest"
  exit 0
fi
[ -n "$want" ] || { echo "fetch-sendmail: sendmail-cf is not installed (scripts/install-deps.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt downloads as user _apt: the folder must be open to it.
chmod 755 "$tmp"
(cd "$tmp" && apt-get download -q "sendmail-bin=$want" >/dev/null 2>"$tmp/apt.err") || {
  apt-get update -q >/dev/null 2>&1 || true
  (cd "$tmp" && apt-get download -q "sendmail-bin=$want" >/dev/null 2>"$tmp/apt.err")
} || { echo "fetch-sendmail: apt-get download sendmail-bin=$want: $(tail -n 2 "$tmp/apt.err")" >&2; exit 1; }
rm -rf "$dest.new"
mkdir -p "$dest.new"
dpkg-deb -x "$tmp"/sendmail-bin_*.deb "$dest.new"
echo "$want" >"$dest.new/VERSION"
# Sendmail refuses files in group- or world-writable folders: keep the tree root-owned, 0755.
chown -R root:root "$dest.new"; chmod 755 "$dest.new"
rm -rf "$dest"; mv "$dest.new" "$dest"
echo "fetch-sendmail: sendmail-bin $want unpacked in $dest"
