#!/bin/bash
# No decryption oracle through the MTA's own notices (milter/decrypted_mark.h), with a real
# Postfix 3.7: whoever holds a copy of a ciphertext a partner encrypted to one of our users can
# send it again to that user from an envelope sender of their own choosing. The gateway decrypts
# it (the key covers the envelope recipient), and a notice Postfix makes afterwards (here a
# bounce: the next hop refuses the message) quotes the message as delivered, decrypted, to
# that sender. Shows:
# - the bounce of a replayed ciphertext never reaches its envelope sender: the milter refuses
#   it (the bounce daemon posts through a cleanup service that runs the milter, as
#   ssm-milter(8) asks), and the text is nowhere in the sink;
# - decrypted mail that is delivered carries X-SSM-Decrypted at the top of its header, and
#   the text;
# - a forged X-SSM-Decrypted in mail from outside is removed;
# - the bounce of mail the gateway did not decrypt still goes out.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools postfix smtp-sink swaks openssl softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token dave
export OPENSSL_CONF=/dev/null
mkdir -p "$WORK/out"
start_sink || fatal dbounce-setup "smtp-sink did not start"
MILTER_PORT=$(free_port)
inbound_config "$WORK/ssm.toml" "$MILTER_PORT" '' '' || fatal dbounce-setup "config"
start_milter "$WORK/ssm.toml" || fatal dbounce-setup "ssm-milter did not start"
# The MX: smtpd runs the milter (client 127.0.0.1 is outside internal_networks here: inbound).
# Mail from mallory@evil.example is refused by the next hop (the error transport), so it
# bounces; the bounce daemon posts through a cleanup service that runs the milter, named
# ORIGINATING (outbound: what a bounce is with the default internal_networks).
PORT=$(free_port)
start_postfix pf "$PORT" "$SINK_PORT" "$MILTER_PORT" \
  "sender_dependent_default_transport_maps = inline:{mallory@evil.example=error:mailbox-unavailable}" \
  "smtpd_reject_unlisted_recipient = no" || fatal dbounce-setup "postfix"
sed -i -e 's/^\(bounce\|defer\|trace\)\( .*bounce\)$/\1\2 -o cleanup_service_name=bounce-cleanup -o internal_mail_filter_classes=bounce/' "$PF_DIR/etc/master.cf"
printf '%s\n' "bounce-cleanup unix n - n - 0 cleanup -o non_smtpd_milters=$(milter_address "$MILTER_PORT") -o milter_macro_daemon_name=ORIGINATING" \
  >>"$PF_DIR/etc/master.cf"
script -qec "postfix -c $PF_DIR/etc reload" /dev/null >/dev/null 2>&1 || fatal dbounce-setup "postfix reload"
sleep 1

# What the partner sent to dave, as anyone on its way could have kept it.
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nThe launch code is SECRET-4711.\r\n' >"$WORK/entity.txt"
openssl cms -encrypt -binary -outform DER -in "$WORK/entity.txt" -aes256 "$PKI/dave.cert.pem" >"$WORK/ct.der" \
  || fatal dbounce-setup "openssl cms -encrypt"
# encrypted_mail FROM MESSAGE-ID OUT: the ciphertext in a message from FROM to dave.
encrypted_mail() {
  { printf 'From: <%s>\r\nTo: <dave@partner.example>\r\nSubject: hello\r\nMessage-ID: <%s>\r\n' "$1" "$2"
    printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'; base64 -w 76 "$WORK/ct.der" | sed 's/$/\r/'; } >"$3"
}
# sink_with MESSAGE-ID: the sink's file holding MESSAGE-ID (the message, or a bounce quoting it).
sink_with() { grep -l -F "$1" $(sink_files) 2>/dev/null | tail -n 1; }
# wait_log PATTERN: until the milter log holds PATTERN (30 s).
wait_log() {
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do grep -q "$1" "$WORK/milter.log" && return 0; sleep 0.3; done
  return 1
}

# 1. The partner's own delivery: decrypted, marked at the top.
encrypted_mail ann@partner.example original@partner.example "$WORK/out/original.eml"
send_mail "$PORT" ann@partner.example dave@partner.example "$WORK/out/original.eml" \
  || fatal dbounce-deliver "SMTP: $SMTP_REPLY"
wait_for_delivery 1 30 || fatal dbounce-deliver "not delivered"
f=$(sink_with '<original@partner.example>')
if [ -z "$f" ]; then fail decrypted-delivered-marked "not in the sink"
else
  sink_message "$f" "$WORK/out/original.out.eml"
  first=$(awk '/^Received:/ { r = 1; next } r && /^[ \t]/ { next } { print; exit }' "$WORK/out/original.out.eml" | tr -d '\r')
  if [ "$first" = "X-SSM-Decrypted: mx.acme.example" ] && grep -q SECRET-4711 "$WORK/out/original.out.eml"; then
    pass decrypted-delivered-marked
  else fail decrypted-delivered-marked "first field after Received: '$first'"; fi
fi

# 2. The replay from mallory: decrypted, bounced by the next hop, the bounce refused.
encrypted_mail mallory@evil.example replay@evil.example "$WORK/out/replay.eml"
send_mail "$PORT" mallory@evil.example dave@partner.example "$WORK/out/replay.eml" \
  || fatal dbounce-replay "SMTP: $SMTP_REPLY"
wait_log 'notice-refused rcpt=mallory@evil.example'; refused=$?
if grep -l 'SECRET-4711' $(sink_files) | xargs -r grep -l '^X-Rcpt-Args: <mallory@evil.example>' | grep -q .; then
  fail decrypted-not-returned-to-sender "the decrypted text reached mallory@evil.example in a notice"
elif [ "$refused" != 0 ]; then
  fail decrypted-not-returned-to-sender "the milter refused no notice to mallory@evil.example"
else
  pass decrypted-not-returned-to-sender
fi

# 3. A forged mark from outside is removed (a clear message, delivered).
printf 'From: <ann@partner.example>\r\nTo: <dave@partner.example>\r\nX-SSM-Decrypted: forged\r\nSubject: plain\r\nMessage-ID: <forged@partner.example>\r\n\r\nplain text\r\n' \
  >"$WORK/out/forged.eml"
send_mail "$PORT" ann@partner.example dave@partner.example "$WORK/out/forged.eml" || fatal dbounce-forged "SMTP: $SMTP_REPLY"
wait_for_delivery 2 30
f=$(sink_with '<forged@partner.example>')
if [ -n "$f" ] && ! grep -qi '^X-SSM-Decrypted' "$f" && grep -q 'plain text' "$f"; then pass forged-mark-removed
else fail forged-mark-removed "$( [ -n "$f" ] && grep -i '^X-SSM' "$f" || echo 'not delivered')"; fi

# 4. Mail the gateway did not decrypt: its bounce still reaches the sender.
printf 'From: <mallory@evil.example>\r\nTo: <dave@partner.example>\r\nSubject: plain\r\nMessage-ID: <clear@evil.example>\r\n\r\nCLEAR-TEXT-42\r\n' \
  >"$WORK/out/clear.eml"
send_mail "$PORT" mallory@evil.example dave@partner.example "$WORK/out/clear.eml" || fatal dbounce-clear "SMTP: $SMTP_REPLY"
deadline=$((SECONDS + 30)); f=
while [ $SECONDS -lt $deadline ] && [ -z "$f" ]; do f=$(sink_with 'CLEAR-TEXT-42'); sleep 0.3; done
if [ -n "$f" ] && grep -q '^X-Rcpt-Args: <mallory@evil.example>' "$f"; then pass clear-bounce-still-sent
else fail clear-bounce-still-sent "no bounce to mallory@evil.example"; fi
exit $((_ssm_failures > 0))
