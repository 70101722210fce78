#!/bin/bash
# Split-off copies leave all or nothing (milter/reinjection.h): a message To dave and Bcc
# frank, gina and kate (each with a certificate of their own) leaves as four messages, the
# original for dave and one reinjected copy per blind recipient. When the [reinjection]
# listener (a real Postfix smtpd, check_recipient_access) refuses the last copy's RCPT with a
# 4xx, none of the copies may be delivered and the original gets the 4xx; once the listener
# takes kate again, the retried message arrives exactly once for each recipient. On the old
# code (one complete SMTP transaction per copy) frank's and gina's copies were delivered before
# kate's was refused, and again on the retry.
# client -> pf2 smtpd (+ssm-milter, [reinjection]) -> smtp-sink, plus pf2's reinjection listener.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl python3 softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
mkdir -p "$WORK/out" "$WORK/certs"
issue_cert gina gina@partner.example rsa "digitalSignature, keyEncipherment" \
  && issue_cert kate kate@partner.example rsa "digitalSignature, keyEncipherment" \
  || fatal split-setup "cannot issue gina's and kate's certificates"
cp "$PKI/dave.cert.pem" "$PKI/frank.cert.pem" "$XPKI/gina.cert.pem" "$XPKI/kate.cert.pem" "$WORK/certs/"
make_reinjection_secret
RULES='[[rule]]
name = "partner desktops: their own certificates"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"'
start_sink || fatal split-setup "smtp-sink did not start"
PF2_PORT=$(free_port); MILTER_PORT=$(free_port); REINJECT_PORT=$(free_port)
# config NAME [RULE_LINES]: the milter configuration $WORK/NAME.toml, RULE_LINES added to the rule.
config() {
  write_config "$WORK/$1.toml" port="$MILTER_PORT" rules="$RULES${2:-}" extra="$(static_directory_toml "$1")

$(reinjection_toml "$REINJECT_PORT")"
}
config main
start_milter "$WORK/main.toml" || fatal split-setup "ssm-milter did not start"
# The listener's own refusals: kate's copy is refused at RCPT (4xx) while the map says so
# (texthash: read when the smtpd starts, so the fix below takes a reload).
printf 'kate@partner.example 451 4.3.2 listener busy for kate\n' >"$WORK/refuse"
chmod a+r "$WORK/refuse"
# The null sender's refusal (the return notice, below) is switched on later the same way.
: >"$WORK/refuse-sender"; chmod a+r "$WORK/refuse-sender"
PF_MASTER_EXTRA=$(reinjection_listener "$REINJECT_PORT" \
    "smtpd_recipient_restrictions=check_recipient_access,texthash:$WORK/refuse,permit_mynetworks,reject" \
    "smtpd_sender_restrictions=check_sender_access,texthash:$WORK/refuse-sender") \
  start_postfix pf2 "$PF2_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal split-setup "pf2 did not start"
PF2=$PF_DIR

# delivered_to RCPT: how many delivered messages name RCPT in their envelope.
delivered_to() {
  local f n=0
  for f in $(sink_files); do sink_rcpts "$f" | grep -qi "<$1>" && n=$((n + 1)); done
  echo "$n"
}
printf 'From: Alice <alice@acme.example>\r\nTo: Dave <dave@partner.example>\r\nSubject: the plan\r\nMessage-ID: <split-1@acme.example>\r\n\r\nthe same text for everyone\r\n' >"$WORK/m.eml"
RCPTS=dave@partner.example,frank@partner.example,gina@partner.example,kate@partner.example

# --- the listener refuses the third copy: nothing leaves, the original is deferred ---------------
send_mail "$PF2_PORT" alice@acme.example "$RCPTS" "$WORK/m.eml"
rc=$?
case "$rc:$SMTP_REPLY" in
  4:4*) pass split-refused-copy-defers-original ;;
  *) fail split-refused-copy-defers-original "rc $rc reply '$SMTP_REPLY' (want 4xx)" ;;
esac
# The milter hands the copies over before it answers, so a copy the listener accepted is in
# pf2's queue by now: wait until the queue has drained (delivered), not a fixed time.
pf_wait_queue_empty "$PF2" 10
if [ "$(sink_count)" -eq 0 ] && [ "$(pf_queue_count "$PF2")" -eq 0 ]; then pass split-refused-copy-none-delivered
else
  fail split-refused-copy-none-delivered "$(sink_count) delivered (frank $(delivered_to frank@partner.example), gina $(delivered_to gina@partner.example)), $(pf_queue_count "$PF2") queued"
fi
if grep -q 'kate@partner.example' "$PF2/maillog" && grep -q 'listener busy for kate' "$PF2/maillog"; then
  pass split-refusal-was-the-listeners
else fail split-refusal-was-the-listeners "no refusal of kate in pf2's log"; fi

# --- the listener is fixed: the client's retry delivers each recipient exactly once ---------------
printf 'kate@partner.example DUNNO\n' >"$WORK/refuse"
script -qec "postfix -c $PF2/etc reload" /dev/null >/dev/null 2>&1
sleep 2
# The sink is not emptied: a copy delivered by the first attempt counts too.
send_mail "$PF2_PORT" alice@acme.example "$RCPTS" "$WORK/m.eml"
rc=$?
wait_for_delivery 4 60
pf_wait_queue_empty "$PF2" 10   # a duplicate was queued before the reply: it arrives now
counts="dave $(delivered_to dave@partner.example) frank $(delivered_to frank@partner.example) gina $(delivered_to gina@partner.example) kate $(delivered_to kate@partner.example)"
if [ "$rc" -eq 0 ] && [ "$(sink_count)" -eq 4 ] && [ "$counts" = "dave 1 frank 1 gina 1 kate 1" ]; then
  pass split-retry-each-once
else fail split-retry-each-once "rc $rc reply '$SMTP_REPLY', $(sink_count) deliveries: $counts"; fi
# Each delivery holds one recipient, and kate's copy opens for her (signed by alice).
f=$(for f in $(sink_files); do sink_rcpts "$f" | grep -qi '<kate@partner.example>' && echo "$f"; done | head -n 1)
if [ -n "$f" ] && [ "$(sink_rcpts "$f" | wc -l)" -eq 1 ] && sink_message "$f" "$WORK/out/kate.eml" \
   && smime_envelope "$WORK/out/kate.eml" "$WORK/out/kate.p7m" \
   && OPENSSL_CONF=/dev/null openssl cms -decrypt -inform DER -in "$WORK/out/kate.p7m" \
        -recip "$XPKI/kate.cert.pem" -inkey "$XPKI/kate.key.pem" -out "$WORK/out/kate.plain" 2>"$WORK/out/kate.err" \
   && verify_openssl "$WORK/out/kate.plain" alice@acme.example; then pass split-retry-copy-opens
else fail split-retry-copy-opens "${PEER_DETAIL:-} $(head -c 200 "$WORK/out/kate.err" 2>/dev/null)"; fi
grep -q 'split copies=3' "$WORK/milter.log" && pass split-logged || fail split-logged "no 'split copies=3' log line"

# --- a blind copy and a return notice leave in one hand-over ----------------------------------
# Rule no_certificate = "return": nobody@partner.example (no certificate) is returned to alice
# in a notice from the null sender, frank (Bcc) gets a copy of his own. The listener refuses
# the null sender (4xx): frank's copy must not be delivered either, or every retry would
# deliver it again (the notice was handed over after the copies before).
stop_milter
rm -f "$SINK_DIR"/*
config ret '
no_certificate = "return"'
start_milter "$WORK/ret.toml" || fatal split-setup "ssm-milter (return) did not start"
printf '<> 451 4.3.2 no notices now\n' >"$WORK/refuse-sender"
script -qec "postfix -c $PF2/etc reload" /dev/null >/dev/null 2>&1
sleep 2
printf 'From: Alice <alice@acme.example>\r\nTo: dave@partner.example, nobody@partner.example\r\nSubject: the figures\r\nMessage-ID: <split-ret@acme.example>\r\n\r\nthe figures\r\n' >"$WORK/ret.eml"
RET_RCPTS=dave@partner.example,nobody@partner.example,frank@partner.example
send_mail "$PF2_PORT" alice@acme.example "$RET_RCPTS" "$WORK/ret.eml"
rc=$?
pf_wait_queue_empty "$PF2" 10   # as above: an accepted copy is in the queue already
if [ "$rc" -eq 4 ] && [ "$(sink_count)" -eq 0 ] && [ "$(pf_queue_count "$PF2")" -eq 0 ]; then
  pass split-refused-notice-delivers-no-copy
else
  fail split-refused-notice-delivers-no-copy "rc $rc reply '$SMTP_REPLY', $(sink_count) delivered (frank $(delivered_to frank@partner.example)), $(pf_queue_count "$PF2") queued"
fi
: >"$WORK/refuse-sender"
script -qec "postfix -c $PF2/etc reload" /dev/null >/dev/null 2>&1
sleep 2
send_mail "$PF2_PORT" alice@acme.example "$RET_RCPTS" "$WORK/ret.eml"
rc=$?
wait_for_delivery 3 60
pf_wait_queue_empty "$PF2" 10
counts="dave $(delivered_to dave@partner.example) frank $(delivered_to frank@partner.example) alice $(delivered_to alice@acme.example) nobody $(delivered_to nobody@partner.example)"
if [ "$rc" -eq 0 ] && [ "$(sink_count)" -eq 3 ] && [ "$counts" = "dave 1 frank 1 alice 1 nobody 0" ]; then
  pass split-retry-copy-and-notice-once
else fail split-retry-copy-and-notice-once "rc $rc reply '$SMTP_REPLY', $(sink_count) deliveries: $counts"; fi
exit $((_ssm_failures > 0))
