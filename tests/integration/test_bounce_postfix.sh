#!/bin/bash
# Bounces made by Postfix itself (its bounce daemon, null envelope sender) through
# non_smtpd_milters, with a real Postfix 3.7: man ssm-milter(8), POSTFIX. The original message
# here reaches the queue in clear (as inbound mail the gateway decrypted does) and is returned
# to a partner whose rule makes encryption mandatory; the bounce carries it.
#   Postfix's default (internal_mail_filter_classes empty): the bounce never reaches any milter
#     and leaves in clear, original text included: why the manual asks for "bounce";
#   internal_mail_filter_classes = bounce: Postfix presents the bounce as local mail
#     (127.0.0.1, inside the default internal_networks): outbound, so encrypted to a partner
#     with a certificate;
#   no certificate (550 5.7.1), or a directory that cannot be asked (451 4.7.1, a dead LDAP
#     server): the milter's refusal makes Postfix keep the bounce ("bounce failed", the
#     original stays deferred): never in clear, not lost; it leaves, encrypted, once a
#     certificate is known (here after a reload with one in the static folder).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
mkdir -p "$WORK/certs" "$WORK/out"
cp "$PKI/dave.cert.pem" "$WORK/certs/"
start_sink || fatal bounce-setup "smtp-sink did not start"

MILTER_PORT=$(free_port)
write_config "$WORK/ssm.toml" port="$MILTER_PORT" rules='[[rule]]
name = "partner mail is encrypted"
direction = "outbound"
to = ["*@partner.example", "*@down.example"]
sign = "none"
encrypt = "mandatory"' extra="[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"

[[directory.ldap]]
domains = [\"down.example\"]
servers = [\"ldap://127.0.0.1:$(free_port)\"]
base = \"dc=down,dc=example\"
timeout = \"2s\""
start_milter "$WORK/ssm.toml" || fatal bounce-setup "ssm-milter did not start"

# No smtpd_milters: the original is queued as it came. Mail to nowhere.example bounces at once
# (the error transport) after it was queued.
common=("non_smtpd_milters = $(milter_address "$MILTER_PORT")" "milter_default_action = tempfail"
        "milter_protocol = 6" "transport_maps = inline:{nowhere.example=error:no-such-recipient}"
        "smtpd_reject_unlisted_recipient = no")
PORT_DEFAULT=$(free_port) PORT_BOUNCE=$(free_port)
start_postfix pf-default "$PORT_DEFAULT" "$SINK_PORT" "" "${common[@]}" || fatal bounce-setup "postfix"
PF_DEFAULT=$PF_DIR
start_postfix pf-bounce "$PORT_BOUNCE" "$SINK_PORT" "" "${common[@]}" "internal_mail_filter_classes = bounce" \
  || fatal bounce-setup "postfix"
PF_BOUNCE=$PF_DIR
# The post-queue topology (contrib/postfix, B): no *_milters in main.cf; the bounce daemon
# (which reads internal_mail_filter_classes) posts through a cleanup service of its own that
# runs the milter.
PORT_FILTERED=$(free_port)
start_postfix pf-filtered "$PORT_FILTERED" "$SINK_PORT" "" "${common[@]:1}" || fatal bounce-setup "postfix"
PF_FILTERED=$PF_DIR
sed -i -e 's/^\(bounce\|defer\|trace\)\( .*bounce\)$/\1\2 -o cleanup_service_name=bounce-cleanup -o internal_mail_filter_classes=bounce/' "$PF_FILTERED/etc/master.cf"
printf '%s\n' "bounce-cleanup unix n - n - 0 cleanup -o non_smtpd_milters=$(milter_address "$MILTER_PORT")" \
  >>"$PF_FILTERED/etc/master.cf"
script -qec "postfix -c $PF_FILTERED/etc reload" /dev/null >/dev/null 2>&1 || fatal bounce-setup "postfix reload"
sleep 1

# bounce_of PORT SENDER MARK: a message from SENDER to lost@nowhere.example whose text is MARK.
bounce_of() {
  printf 'From: <%s>\r\nTo: <lost@nowhere.example>\r\nSubject: %s\r\nMessage-ID: <%s@test.invalid>\r\n\r\n%s\r\n' \
    "$2" "$3" "$3" "$3" >"$WORK/out/$3.eml"
  send_mail "$1" "$2" lost@nowhere.example "$WORK/out/$3.eml"
}
# the sink's file for the bounce to RCPT (the newest), or nothing
sink_for() { grep -l "^X-Rcpt-Args: <$1>" $(sink_files) 2>/dev/null | tail -n 1; }
# expect_bounce_encrypted NAME RCPT MARK KEYNAME: the bounce to RCPT is an envelope that
# decrypts with KEYNAME's key to a report quoting MARK, and MARK is nowhere in the sink in clear.
expect_bounce_encrypted() {
  local f; f=$(sink_for "$2")
  [ -n "$f" ] || { fail "$1" "no bounce to $2 in the sink"; return; }
  sink_message "$f" "$WORK/out/$1.eml"
  if grep -q "$3" $(sink_files); then fail "$1" "the returned text is in the sink in clear"
  elif ! smime_envelope "$WORK/out/$1.eml" "$WORK/out/$1.p7m"; then fail "$1" "not an envelope: $PEER_DETAIL"
  elif ! decrypt_openssl "$WORK/out/$1.p7m" "$4" "$WORK/out/$1.plain"; then fail "$1" "$PEER_DETAIL"
  elif ! grep -q "$3" "$WORK/out/$1.plain" || ! grep -qi "report-type=delivery-status" "$WORK/out/$1.plain"; then
    fail "$1" "the decrypted bounce is not the report with the returned message"
  else pass "$1"; fi
}

# 1. Postfix's default: the milter never sees the bounce.
before=$(sink_count)
bounce_of "$PORT_DEFAULT" dave@partner.example MARK-DEFAULT-CLASSES || fatal bounce-default "SMTP: $SMTP_REPLY"
if ! wait_for_delivery $((before + 1)) 30; then fail bounce-default-bypasses-milter "no bounce delivered"
else
  f=$(sink_for dave@partner.example)
  if [ -n "$f" ] && grep -q MARK-DEFAULT-CLASSES "$f" && [ "$(signed_form "$f")" = unsigned ]; then
    pass bounce-default-bypasses-milter
  else fail bounce-default-bypasses-milter "expected the bounce in clear (Postfix changed?): $f"; fi
fi
rm -f $(sink_files)

# 2. internal_mail_filter_classes = bounce, a partner with a certificate: encrypted.
bounce_of "$PORT_BOUNCE" dave@partner.example MARK-TO-DAVE || fatal bounce-encrypted "SMTP: $SMTP_REPLY"
if wait_for_delivery 1 30; then expect_bounce_encrypted bounce-encrypted dave@partner.example MARK-TO-DAVE dave
else fail bounce-encrypted "no bounce delivered"; fi
grep -q 'direction=outbound action=encrypt result=accept' "$WORK/milter.log" \
  && pass bounce-is-outbound || fail bounce-is-outbound "no outbound encrypt line in the milter log"

# 2b. The same through the post-queue topology's bounce cleanup service.
rm -f $(sink_files)
bounce_of "$PORT_FILTERED" dave@partner.example MARK-FILTERED || fatal bounce-filtered "SMTP: $SMTP_REPLY"
if wait_for_delivery 1 30; then expect_bounce_encrypted bounce-encrypted-post-queue-topology dave@partner.example MARK-FILTERED dave
else fail bounce-encrypted-post-queue-topology "no bounce delivered"; fi

# 3. No certificate (550 at RCPT) or no directory (451): kept by Postfix, never sent in clear.
before=$(sink_count)
bounce_of "$PORT_BOUNCE" nocert@partner.example MARK-TO-NOCERT || fatal bounce-kept "SMTP: $SMTP_REPLY"
bounce_of "$PORT_BOUNCE" someone@down.example MARK-TO-DOWN || fatal bounce-kept "SMTP: $SMTP_REPLY"
deadline=$((SECONDS + 40))
until [ "$(grep -c 'status=deferred (bounce failed)' "$PF_BOUNCE/maillog")" -ge 4 ] || [ $SECONDS -ge $deadline ]; do
  sleep 0.5
done
if [ "$(sink_count)" -ne "$before" ] || grep -q 'MARK-TO-NOCERT\|MARK-TO-DOWN' $(sink_files) 2>/dev/null; then
  fail bounce-kept-without-certificate "a kept bounce left: $(sink_files | tr '\n' ' ')"
elif [ "$(grep -c 'status=deferred (bounce failed)' "$PF_BOUNCE/maillog")" -lt 4 ]; then
  fail bounce-kept-without-certificate "Postfix did not defer both bounces twice: $(tail -n 5 "$PF_BOUNCE/maillog")"
elif [ "$(pf_queue_count "$PF_BOUNCE")" -ne 2 ]; then
  fail bounce-kept-without-certificate "queue holds $(pf_queue_count "$PF_BOUNCE") messages, expected both originals"
elif ! grep -q 'rcpt-refused rcpt=nocert@partner.example direction=outbound .*reply="550 5.7.1' "$WORK/milter.log"; then
  fail bounce-kept-without-certificate "no 550 rcpt-refused line for nocert in the milter log"
elif ! grep -q 'rcpt-refused rcpt=someone@down.example direction=outbound .*reply="451 4.7.1' "$WORK/milter.log"; then
  fail bounce-kept-without-certificate "no 451 rcpt-refused line for someone@down.example in the milter log"
else pass bounce-kept-without-certificate; fi

# 4. The partner's certificate becomes known: the kept bounce leaves, encrypted.
issue_cert nocert nocert@partner.example rsa "keyEncipherment" || fatal bounce-later "issue_cert"
cp "$XPKI/nocert.cert.pem" "$WORK/certs/"
kill -HUP "$MILTER_PID"
deadline=$((SECONDS + 20))
until grep -q 'notice: reloaded' "$WORK/milter.log" || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
sleep 1
pf_flush "$PF_BOUNCE"
if wait_for_delivery $((before + 1)) 40; then
  expect_bounce_encrypted bounce-delivered-with-certificate nocert@partner.example MARK-TO-NOCERT nocert
  deadline=$((SECONDS + 10))
  until [ "$(pf_queue_count "$PF_BOUNCE")" -eq 1 ] || [ $SECONDS -ge $deadline ]; do sleep 0.3; done
  # The bounce to down.example still waits for its directory.
  [ "$(pf_queue_count "$PF_BOUNCE")" -eq 1 ] && ! grep -q MARK-TO-DOWN $(sink_files) && pass bounce-other-still-kept \
    || fail bounce-other-still-kept "$(pf_queue_count "$PF_BOUNCE") messages queued, expected the one to down.example"
else
  fail bounce-delivered-with-certificate "the kept bounce did not leave: $(tail -n 5 "$PF_BOUNCE/maillog")"
fi
