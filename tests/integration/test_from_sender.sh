#!/bin/bash
# [outbound] from_must_match_sender through a real Postfix 3.7 with ssm-milter and keys in
# SoftHSM (tests/integration/smtp_rcpt.py as the SMTP client, smtp-sink as the next hop):
#   From = envelope sender (other case, display name)  -> delivered, signed with the sender's key
#   From names someone else (bob, who has a key)        -> 550 5.7.1 naming both addresses at the
#                                                          end of DATA, logged, nothing delivered
#   several From mailboxes without Sender               -> 550 5.7.1
#   null envelope sender (a bounce) with From: bob      -> delivered unsigned: neither bob's key nor
#                                                          the domain's (MAIL FROM:<> proves no one)
#   the same mismatch with the option off               -> delivered signed with bob's key (the
#                                                          hole the option closes)
# and `ssmctl process` refuses the mismatch as the milter does.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink python3 openssl softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
mkdir -p "$WORK/out"
CLIENT=$SSM_SRCDIR/tests/integration/smtp_rcpt.py
RCPT=someone@elsewhere.example

start_sink || fatal from-setup "smtp-sink did not start"
SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port)
start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal from-setup "Postfix did not start"

# with_option true|false: (re)start ssm-milter with from_must_match_sender so.
with_option() {
  stop_milter
  write_config "$WORK/ssm-$1.toml" port="$MILTER_PORT" extra="[outbound]
from_must_match_sender = $1"
  "$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-$1.toml" -n >"$WORK/check.log" 2>&1 \
    || fatal "from-config-$1" "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"
  start_milter "$WORK/ssm-$1.toml" || fatal "from-milter-$1" "ssm-milter did not start: $(tail -n 3 "$WORK/milter.log" | tr '\n' ' ')"
}

# transaction NAME ENVELOPE_SENDER FROM [SENDER]: one message with those header fields, to
# $RCPT; replies in $WORK/out/NAME.replies, the message in $WORK/out/NAME.in.eml.
transaction() {
  local name=$1 envelope=$2 from=$3 sender=${4:-}
  { printf 'From: %s\r\n' "$from"; [ -n "$sender" ] && printf 'Sender: %s\r\n' "$sender"
    printf 'To: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@test.invalid>\r\n\r\ntext of %s\r\n' "$RCPT" "$name" "$name" "$name"
  } >"$WORK/out/$name.in.eml"
  python3 "$CLIENT" "$SMTPD_PORT" "$envelope" "$WORK/out/$name.in.eml" "$RCPT" >"$WORK/out/$name.replies" 2>&1
}
# expect_data NAME CASE REGEX: the reply to the end of DATA of transaction NAME matches REGEX.
expect_data() {
  local line; line=$(grep -m1 '^DATA ' "$WORK/out/$1.replies")
  if printf '%s\n' "$line" | grep -qE "^DATA $3"; then pass "$2"
  else fail "$2" "got '${line:-no reply: $(tr '\n' ' ' <"$WORK/out/$1.replies")}', expected /$3/"; fi
}
# delivered NAME: the sink's copy of transaction NAME's message in $WORK/out/NAME.eml, or 1.
delivered() {
  local f; f=$(grep -l "^Message-ID: <$1@test.invalid>" $(sink_files) 2>/dev/null | head -n 1)
  [ -n "$f" ] || return 1
  sink_message "$f" "$WORK/out/$1.eml"
}

with_option true
transaction mismatch alice@acme.example 'Bob <bob@acme.example>'
expect_data mismatch from-mismatch-refused \
  '550 5\.7\.1 From header <bob@acme\.example> does not match envelope sender <alice@acme\.example>$'
transaction authors alice@acme.example 'alice@acme.example, bob@acme.example'
expect_data authors from-several-authors-without-sender-refused \
  '550 5\.7\.1 From header holds several mailboxes and there is no Sender header$'
transaction match alice@acme.example 'Alice Smith <Alice@ACME.example>'
expect_data match from-match-accepted '250 '
transaction bounce '' 'Bob <bob@acme.example>'
expect_data bounce from-null-sender-accepted '250 '

if wait_for_delivery 2 30; then
  if delivered match && verify_openssl "$WORK/out/match.eml" alice@acme.example; then pass from-match-signed-by-sender
  else fail from-match-signed-by-sender "${PEER_DETAIL:-not found at the sink}"; fi
  if delivered bounce && ! grep -qi 'pkcs7\|smime' "$WORK/out/bounce.eml" && grep -q 'text of bounce' "$WORK/out/bounce.eml"; then
    pass from-null-sender-not-signed
  else fail from-null-sender-not-signed "$(grep -i 'content-type' "$WORK/out/bounce.eml" 2>/dev/null | head -n 2 | tr '\n' ' ')"; fi
else
  fail from-match-signed-by-sender "the sink holds $(sink_count) messages after 30 s, expected 2"
fi
# The refused messages never left: the two accepted ones are all there is, and Postfix
# logged the milter's refusal with its text.
sleep 1
if [ "$(sink_count)" -eq 2 ] && ! delivered mismatch && ! delivered authors; then pass from-mismatch-not-delivered
else fail from-mismatch-not-delivered "the sink holds $(sink_count) messages: $(grep -h '^Message-ID' $(sink_files) | tr '\r\n' '  ')"; fi
if grep -q 'milter-reject: END-OF-MESSAGE .*5\.7\.1 From header <bob@acme\.example> does not match' "$PF_DIR/maillog"; then
  pass from-mismatch-in-postfix-log
else fail from-mismatch-in-postfix-log "$(grep milter-reject "$PF_DIR/maillog" | head -n 2 | tr '\n' ' ')"; fi
if grep -q 'action=reject result="550 5.7.1 From header <bob@acme.example> does not match envelope sender <alice@acme.example>" detail="reason=from-mismatch' "$WORK/milter.log"; then
  pass from-mismatch-in-milter-log
else fail from-mismatch-in-milter-log "$(grep 'action=reject' "$WORK/milter.log" | head -n 2 | tr '\n' ' ')"; fi

# ssmctl process runs the same check offline: exit 1 and the reply on stderr.
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm-true.toml" process --direction out --from alice@acme.example --to "$RCPT" \
  <"$WORK/out/mismatch.in.eml" >"$WORK/out/ssmctl-mismatch.eml" 2>"$WORK/out/ssmctl-mismatch.err"
rc=$?
if [ "$rc" = 1 ] && grep -q '^reply: 550 5.7.1 From header <bob@acme.example> does not match envelope sender <alice@acme.example>' \
     "$WORK/out/ssmctl-mismatch.err" && [ ! -s "$WORK/out/ssmctl-mismatch.eml" ]; then
  pass from-mismatch-ssmctl-process
else fail from-mismatch-ssmctl-process "exit $rc: $(tr '\n' ' ' <"$WORK/out/ssmctl-mismatch.err" | cut -c1-300)"; fi

# Without the option the same mismatch is signed with the key of the address in From.
with_option false
before=$(sink_count)
transaction off alice@acme.example 'Bob <bob@acme.example>'
expect_data off from-option-off-accepted '250 '
if wait_for_delivery $((before + 1)) 30 && delivered off && verify_openssl "$WORK/out/off.eml" bob@acme.example; then
  pass from-option-off-signs-as-from
else fail from-option-off-signs-as-from "${PEER_DETAIL:-not found at the sink}"; fi

if milter_alive; then pass from-milter-still-running
else fail from-milter-still-running "ssm-milter died: $(tail -n 5 "$WORK/milter.log" | tr '\n' ' ')"; fi
stop_milter
