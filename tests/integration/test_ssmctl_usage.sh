#!/bin/bash
# The command-line contract of `ssmctl process` / `ssmctl policy test` and of configuration
# errors (PRODUCT §1 and §8, ssmctl(8) EXIT STATUS), against a real SoftHSM token: exit 0
# accepted, 1 rejected (550 5.7.1: mandatory encryption, no certificate), 2 temporary failure
# (451 4.3.0: the token is not there), 64 usage error, 78 configuration error. Shows:
#   ssmctl-process-needs-from   no --from is a usage error (64), not silently the null sender
#   ssmctl-policy-needs-from    the same for policy test
#   ssmctl-null-sender          --from '' and --from '<>' are the null sender: accepted (0)
#   ssmctl-exit-rejected        550 5.7.1 at RCPT for the only recipient: exit 1
#   ssmctl-exit-tempfail        451 4.3.0 (token missing): exit 2
#   ssmctl-unknown-command      64
#   ssmctl-config-unreadable    78 and the reason ("No such file or directory")
#   ssmctl-config-array-table   78, the key missing from [[rule]] named as the file writes it
#   ssm-milter-n-duplicate-rule -n warns of two rules of one name (0: a warning, not an error)
#   ssm-milter-n-no-hsm         -n on a file without [hsm]: 78, said at the file (no made-up
#                               line:column) with what to add
#   ssm-milter-n-bad-anchor     -n with a trust anchor file that holds no certificate: 78,
#                               said at the configuration file (no made-up line:column)
#   ssmctl-usage-help-is-man    `ssmctl -h` lists exactly the synopses of ssmctl(8) COMMANDS
#   ssmctl-usage-of-each        each command's own usage line after a mistake is its synopsis
# No Postfix: ssmctl runs the milter's pipeline offline.
. "$(dirname "$0")/lib.sh"
require_tools openssl softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token
export OPENSSL_CONF=/dev/null
CTL=$SSM_BUILDDIR/ssmctl

RULES='[[rule]]
name = "partner mail must be encrypted"
direction = "outbound"
to = ["*@partner.example"]
sign = "none"
encrypt = "mandatory"

[[rule]]
name = "other outbound mail is signed by the sender"
direction = "outbound"
sign = "sender"
encrypt = "never"'
mkdir -p "$WORK/certs"
write_config "$WORK/ssm.toml" socket="inet:1@127.0.0.1" pki='revocation = "off"' rules="$RULES" \
  extra="[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" || fatal usage-setup "config"
printf 'From: alice@acme.example\r\nTo: someone@elsewhere.example\r\nSubject: usage\r\n\r\nhello\r\n' >"$WORK/m.eml"

# expect NAME RC PATTERN CONFIG ARGS...: ssmctl -c CONFIG ARGS < m.eml exits RC and its
# standard error has a line matching PATTERN (grep -E).
expect() {
  local name=$1 want=$2 pattern=$3 conf=$4 rc; shift 4
  "$CTL" -c "$conf" "$@" <"$WORK/m.eml" >"$WORK/$name.out" 2>"$WORK/$name.err"; rc=$?
  if [ "$rc" -ne "$want" ]; then
    fail "$name" "exit $rc (expected $want): $(grep -v '^info:' "$WORK/$name.err" | tail -n 3 | tr '\n' ' ')"
  elif ! grep -qE -- "$pattern" "$WORK/$name.err"; then
    fail "$name" "no '$pattern' on standard error: $(grep -v '^info:' "$WORK/$name.err" | tail -n 3 | tr '\n' ' ')"
  else
    pass "$name"
  fi
}
C=$WORK/ssm.toml
expect ssmctl-process-needs-from 64 "^ssmctl process: --from is needed" "$C" \
  process --direction out --to someone@elsewhere.example
expect ssmctl-policy-needs-from 64 "^ssmctl policy: --from is needed" "$C" \
  policy test --direction out --to someone@elsewhere.example
# The null sender is what bounces and receipts carry; the milter gets it as MAIL FROM:<>.
"$CTL" -c "$C" process --direction out --from '' --to someone@elsewhere.example <"$WORK/m.eml" \
  >"$WORK/np1.out" 2>"$WORK/np1.err"; rc1=$?
"$CTL" -c "$C" policy test --direction out --from '<>' --to someone@elsewhere.example >"$WORK/np2.out" 2>"$WORK/np2.err"; rc2=$?
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && grep -q '^reply: 250' "$WORK/np1.err" && grep -q 'reply: 250' "$WORK/np2.out"; then
  pass ssmctl-null-sender
else
  fail ssmctl-null-sender "exit $rc1/$rc2: $(grep -hv '^info:' "$WORK/np1.err" "$WORK/np2.out" "$WORK/np2.err" | tail -n 4 | tr '\n' ' ')"
fi
expect ssmctl-exit-rejected 1 "^reply: 550 5\.7\.1" "$C" \
  process --direction out --from alice@acme.example --to nobody@partner.example
sed 's/^token_label = .*/token_label = "not-this-token"/' "$C" >"$WORK/gone.toml"
expect ssmctl-exit-tempfail 2 "^reply: 451 4\.3\.0" "$WORK/gone.toml" \
  process --direction out --from alice@acme.example --to someone@elsewhere.example
expect ssmctl-unknown-command 64 "^usage: ssmctl" "$C" frobnicate
expect ssmctl-config-unreadable 78 "^$WORK/none.toml: cannot read the configuration file: No such file or directory" \
  "$WORK/none.toml" cert lookup someone@elsewhere.example
# A [[rule]] without its name: the error names the table as the file writes it, at its line.
{ cat "$C"; printf '\n[[rule]]\ndirection = "inbound"\n'; } >"$WORK/noname.toml"
line=$(grep -n '^\[\[rule\]\]' "$WORK/noname.toml" | tail -n 1 | cut -d: -f1)
expect ssmctl-config-array-table 78 "^$WORK/noname.toml:$line:1: \[\[rule\]\] needs the key 'name'" \
  "$WORK/noname.toml" cert lookup someone@elsewhere.example

cn=ssm-milter-n-duplicate-rule
{ cat "$C"; printf '\n[[rule]]\nname = "partner mail must be encrypted"\ndirection = "inbound"\n'; } >"$WORK/dup.toml"
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/dup.toml" -n >"$WORK/$cn.out" 2>"$WORK/$cn.err"; rc=$?
if [ $rc -ne 0 ]; then fail "$cn" "exit $rc: $(tail -n 2 "$WORK/$cn.err" | tr '\n' ' ')"
elif ! grep -q "^$WORK/dup.toml: warning: \[\[rule\]\] name \"partner mail must be encrypted\" names 2 rules" "$WORK/$cn.err"; then
  fail "$cn" "no warning: $(grep -v '^info:' "$WORK/$cn.err" | tr '\n' ' ' | cut -c1-300)"
else pass "$cn"; fi

# Without [hsm] nothing says which token holds the keys: an error at the file itself (there
# is no line to point at), saying what to add.
cn=ssm-milter-n-no-hsm
sed '/^\[hsm\]$/,/^$/d' "$C" >"$WORK/nohsm.toml"
if grep -q '^token_label' "$WORK/nohsm.toml"; then fatal "$cn" "[hsm] not removed from the configuration"; fi
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/nohsm.toml" -n >"$WORK/$cn.out" 2>"$WORK/$cn.err"; rc=$?
if [ $rc -ne 78 ]; then fail "$cn" "exit $rc (expected 78): $(tail -n 2 "$WORK/$cn.err" | tr '\n' ' ')"
elif ! grep -qF "$WORK/nohsm.toml: no [hsm] section: add [hsm] with token_label (or token_serial)" "$WORK/$cn.err"; then
  fail "$cn" "not said at the file: $(grep -v '^info:' "$WORK/$cn.err" | tr '\n' ' ' | cut -c1-300)"
else pass "$cn"; fi

cn=ssm-milter-n-bad-anchor
mkdir -p "$WORK/badtrust"
printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' >"$WORK/badtrust/bad.pem"
sed "s|^trust_anchors = .*|trust_anchors = \"$WORK/badtrust\"|" "$C" >"$WORK/badtrust.toml"
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/badtrust.toml" -n >"$WORK/$cn.out" 2>"$WORK/$cn.err"; rc=$?
if [ $rc -ne 78 ]; then fail "$cn" "exit $rc (expected 78): $(tail -n 2 "$WORK/$cn.err" | tr '\n' ' ')"
elif ! grep -qF "$WORK/badtrust.toml: certificate file $WORK/badtrust/bad.pem holds no certificate" "$WORK/$cn.err"; then
  fail "$cn" "not said at the file: $(grep -F 'bad.pem' "$WORK/$cn.err" | tr '\n' ' ' | cut -c1-300)"
else pass "$cn"; fi

# The synopses of ssmctl(8) COMMANDS (.TP then .B, troff escapes removed), the command lines of
# `ssmctl -h` (continuation lines joined), and each command's usage after a mistake: one text.
MAN=$SSM_SRCDIR/man/ssmctl.8
awk '/^\.SH/ { sec = $0 } sec == ".SH COMMANDS" && prev == ".TP" && /^\.B / { print } { prev = $0 }' "$MAN" |
  sed -e 's/^\.B //' -e 's/\\f[BRI]//g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" | sort >"$WORK/man.synopses"
"$CTL" -h >"$WORK/help.out" 2>&1
awk '/^  [a-z]/ { if (c != "") print c; c = substr($0, 3); next }
     /^          [^ ]/ { sub(/^ +/, " "); c = c $0; next }
     { if (c != "") print c; c = "" } END { if (c != "") print c }' "$WORK/help.out" | sort >"$WORK/help.synopses"
cn=ssmctl-usage-help-is-man
if [ "$(wc -l <"$WORK/man.synopses")" -lt 12 ]; then
  fail "$cn" "only $(wc -l <"$WORK/man.synopses") synopses read from $MAN"
elif ! diff "$WORK/man.synopses" "$WORK/help.synopses" >"$WORK/$cn.diff"; then
  fail "$cn" "ssmctl -h (>) and ssmctl(8) (<) differ: $(grep '^[<>]' "$WORK/$cn.diff" | tr '\n' ' ' | cut -c1-400)"
else pass "$cn"; fi
cn=ssmctl-usage-of-each
bad=
while IFS= read -r synopsis; do
  # The command's words ("hsm import"), then a mistake every command refuses.
  read -r -a words <<<"$(printf '%s\n' "$synopsis" | grep -oE '^([a-z]+ ?)+' )"
  "$CTL" -c "$C" "${words[@]}" --no-such-option x y </dev/null >"$WORK/$cn.out" 2>"$WORK/$cn.err"; rc=$?
  if [ $rc -ne 64 ]; then bad="$bad [${words[*]}: exit $rc]"
  elif ! grep -qFx -e "usage: ssmctl $synopsis" -e "       ssmctl $synopsis" "$WORK/$cn.err"; then
    bad="$bad [${words[*]}: $(grep -v '^info:' "$WORK/$cn.err" | tr '\n' ' ' | cut -c1-200)]"
  fi
done <"$WORK/man.synopses"
if [ -n "$bad" ]; then fail "$cn" "usage is not the synopsis of ssmctl(8):$bad"; else pass "$cn"; fi
