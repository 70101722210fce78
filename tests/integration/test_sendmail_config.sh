#!/bin/bash
# The Sendmail example (contrib/sendmail/sendmail.mc.example, ssm-milter(8) SENDMAIL) builds
# into a sendmail.cf with Sendmail's own m4 macros (Debian's sendmail-cf): the filter is
# declared with temporary failure (F=T) on the socket of the examples, with timeouts that leave
# room for the HSM and the directory (C, S, R and E all set: Sendmail's R of 10 s also bounds
# the wait for the end-of-message answer), and the macro lists keep what ssm-milter reads
# ({daemon_name} at connect, {auth_authen} at MAIL FROM, i at the end of the message).
# test_sendmail_mta.sh runs the real Sendmail with it (sendmail-bin is unpacked beside Postfix
# by scripts/fetch-sendmail.sh, not installed).
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
# Timeouts: every one set (Sendmail's defaults are C:5m;S:10s;R:10s;E:5m), connecting short,
# reading (each answer, the first one at end of message included) and the whole end of
# message long enough for a slow token or directory: R at least 1 minute, E at least R.
secs() { case $1 in *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac; }
t=$(sed -n 's/.*T=\([^,]*\).*/\1/p' <<<"$x")
declare -A tv=()
for kv in ${t//;/ }; do tv[${kv%%:*}]=$(secs "${kv#*:}"); done
if [ -n "${tv[C]:-}" ] && [ -n "${tv[S]:-}" ] && [ -n "${tv[R]:-}" ] && [ -n "${tv[E]:-}" ] \
   && [ "${tv[C]}" -le 30 ] && [ "${tv[R]}" -ge 60 ] && [ "${tv[E]}" -ge "${tv[R]}" ]; then pass sendmail-filter-timeouts
else fail sendmail-filter-timeouts "T=$t"; fi
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
