#!/bin/bash
# The Sendmail example (contrib/sendmail/sendmail.mc.example, ssm-milter(8) SENDMAIL) builds
# into a sendmail.cf with Sendmail's own m4 macros (Debian's sendmail-cf; the MTA itself
# cannot be installed beside Postfix): the filter is declared with temporary failure (F=T) on
# the socket of the examples, and the macro lists keep what ssm-milter reads ({daemon_name}
# at connect, {auth_authen} at MAIL FROM, i at the end of the message).
. "$(dirname "$0")/lib.sh"
require_tools m4
cfm4=/usr/share/sendmail/cf/m4/cf.m4
[ -r "$cfm4" ] || fatal sendmail-cf-macros "$cfm4 missing (Debian package sendmail-cf)"

# A minimal site .mc around the example, as sendmailconfig would build it.
{
  printf 'divert(-1)dnl\ninclude(`%s'"'"')dnl\n' "$cfm4"
  printf 'OSTYPE(`debian'"'"')dnl\nDOMAIN(`debian-mta'"'"')dnl\nFEATURE(`no_default_msa'"'"')dnl\n'
  printf 'DAEMON_OPTIONS(`Family=inet, Name=MTA, Port=smtp, Addr=127.0.0.1'"'"')dnl\n'
  printf 'DAEMON_OPTIONS(`Family=inet, Name=MSA, Port=submission, M=Ea, Addr=127.0.0.1'"'"')dnl\n'
  cat "$SSM_SRCDIR/contrib/sendmail/sendmail.mc.example"
  printf 'MAILER(`local'"'"')dnl\nMAILER(`smtp'"'"')dnl\n'
} >"$WORK/site.mc"
if m4 "$WORK/site.mc" >"$WORK/sendmail.cf" 2>"$WORK/m4.err" && [ ! -s "$WORK/m4.err" ]; then
  pass sendmail-mc-builds
else
  fatal sendmail-mc-builds "m4: $(head -n 3 "$WORK/m4.err" | tr '\n' ' ')"
fi

cf=$WORK/sendmail.cf
# The filter line: the socket of the other examples, F=T (tempfail when unreachable).
x=$(grep '^Xssm-milter, ' "$cf")
if grep -q 'S=unix:/run/ssm-milter/milter.sock' <<<"$x" && grep -q 'F=T' <<<"$x"; then pass sendmail-filter-tempfail
else fail sendmail-filter-tempfail "X line: '$x'"; fi
grep -qx 'O InputMailFilters=ssm-milter' "$cf" && pass sendmail-filter-in-use \
  || fail sendmail-filter-in-use "$(grep InputMailFilters "$cf")"

# macro_has STAGE MACRO: the stage's macro list in sendmail.cf names MACRO.
macro_has() {
  sed -n "s/^O Milter.macros.$1=//p" "$cf" | tr -d ' ' | tr ',' '\n' | grep -qxF "$2"
}
ok=1; missing=
for want in "connect {daemon_name}" "envfrom {auth_authen}" "eom i"; do
  # shellcheck disable=SC2086
  macro_has $want || { ok=0; missing="$missing $want;"; }
done
[ "$ok" = 1 ] && pass sendmail-macros-for-ssm-milter || fail sendmail-macros-for-ssm-milter "missing:$missing"

# The milter reads exactly those macros: if the code asks for another one, this example (and
# the Postfix one) must say so.
read_macros=$(grep -ho 'macro(ctx, "[^"]*")' "$SSM_SRCDIR"/milter/*.cpp | sed 's/.*"\(.*\)".*/\1/' | LC_ALL=C sort -u | tr '\n' ' ')
if [ "$read_macros" = "i {auth_authen} {daemon_name} " ]; then pass sendmail-macros-match-code
else fail sendmail-macros-match-code "the milter reads: $read_macros"; fi
