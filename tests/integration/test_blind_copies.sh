#!/bin/bash
# Blind copies through real Postfix ([encryption] blind_copies, RFC 9787): a message To dave
# and Bcc frank (both with their own certificates) leaves as two messages, dave's naming only
# his certificate in its RecipientInfos and frank's only frank's (the copy goes through the
# [reinjection] listener and the milter again); both signed by alice; no Bcc field in either,
# inside or outside the encryption. hank (To) and ivan (Bcc) share the partner's domain
# certificate: one message, no copy. "together" keeps the one message with both
# RecipientInfos; without [reinjection] the message is refused (550 5.7.1) and nothing goes out
# (and ssm-milter -n warns of that configuration beforehand).
# pf2 smtpd (+ssm-milter, [reinjection]) -> smtp-sink, plus pf2's reinjection listener.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl python3 softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
mkdir -p "$WORK/out" "$WORK/certs"
cp "$PKI/dave.cert.pem" "$PKI/frank.cert.pem" "$PKI/partner-domain.cert.pem" "$WORK/certs/"
make_reinjection_secret
RULES='[[rule]]
name = "partner desktops: their own certificates"
direction = "outbound"
to = ["dave@partner.example", "frank@partner.example"]
sign = "sender"
encrypt = "mandatory"

[[rule]]
name = "partner: the domain certificate"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"
encrypt_to = "domain"'
start_sink || fatal blind-setup "smtp-sink did not start"
PF2_PORT=$(free_port); MILTER_PORT=$(free_port); REINJECT_PORT=$(free_port)
# config NAME [ENCRYPTION_KEYS [REINJECTION]]: the milter configuration; REINJECTION "no"
# leaves [reinjection] out.
config() {
  local reinjection=
  [ "${3:-yes}" = no ] || reinjection=$(reinjection_toml "$REINJECT_PORT")
  write_config "$WORK/$1.toml" port="$MILTER_PORT" rules="$RULES" extra="$(static_directory_toml "$1")

[encryption]
${2:-}

$reinjection"
}
config main
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/main.toml" >"$WORK/check.log" 2>&1 \
  && pass blind-config-checks || fail blind-config-checks "$(tr '\n' ' ' <"$WORK/check.log")"
start_milter "$WORK/main.toml" || fatal blind-setup "ssm-milter did not start"
PF_MASTER_EXTRA=$(reinjection_listener "$REINJECT_PORT") \
  start_postfix pf2 "$PF2_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal blind-setup "pf2 did not start"
PF2=$PF_DIR
# settled: after a reply, wait until pf2's queue has drained, not a fixed time: whatever was
# accepted (the message, a reinjected copy) was queued before the reply, so a second delivery
# that must not happen has arrived by then.
settled() { pf_wait_queue_empty "$PF2" 10; }

# serials_of DER: the serial numbers the RecipientInfos name, hexadecimal, sorted, one a line.
serials_of() {
  OPENSSL_CONF=/dev/null openssl cms -cmsout -print -inform DER -in "$1" 2>/dev/null \
    | sed -n 's/^ *serialNumber: *\(0x\)\{0,1\}//p' | tr 'a-f' 'A-F' | sort
}
serial() { openssl x509 -in "$PKI/$1.cert.pem" -noout -serial | sed 's/^serial=//'; }
# file_for RCPT: the sink file delivered to RCPT (empty when none).
file_for() {
  local f
  for f in $(sink_files); do sink_rcpts "$f" | grep -qi "<$1>" && { echo "$f"; return; }; done
}
# opened NAME FILE KEY: the delivered FILE decrypted with KEY and verified (signed by alice):
# $WORK/out/NAME.p7m (the CMS object) and $WORK/out/NAME.plain (the signed entity).
opened() {
  sink_message "$2" "$WORK/out/$1.eml" && smime_envelope "$WORK/out/$1.eml" "$WORK/out/$1.p7m" \
    && decrypt_openssl "$WORK/out/$1.p7m" "$3" "$WORK/out/$1.plain" \
    && verify_openssl "$WORK/out/$1.plain" alice@acme.example
}
# The Bcc field is left in by the client, as some do.
printf 'From: Alice <alice@acme.example>\r\nTo: Dave <dave@partner.example>\r\nBcc: frank@partner.example\r\nSubject: the plan\r\nMessage-ID: <blind-1@acme.example>\r\n\r\nthe same text for everyone\r\n' >"$WORK/m.eml"

# --- To dave, Bcc frank: two messages, each for its own reader ---------------------------------
send_mail "$PF2_PORT" alice@acme.example dave@partner.example,frank@partner.example "$WORK/m.eml" \
  || fatal blind-send "pf2 refused: $SMTP_REPLY"
if wait_for_delivery 2 60; then pass blind-two-deliveries
else fail blind-two-deliveries "$(sink_count) of 2 deliveries within 60 s"; fi
dave=$(file_for dave@partner.example) frank=$(file_for frank@partner.example)
if [ -n "$dave" ] && [ "$dave" != "$frank" ] && [ "$(sink_rcpts "$dave" | wc -l)" -eq 1 ]; then pass blind-own-transaction
else fail blind-own-transaction "dave in ${dave:-nothing}, frank in ${frank:-nothing}"; fi
if [ -n "$dave" ] && opened dave "$dave" dave; then pass blind-named-copy-opens
else fail blind-named-copy-opens "${PEER_DETAIL:-not delivered}"; fi
got=$( [ -s "$WORK/out/dave.p7m" ] && serials_of "$WORK/out/dave.p7m" | tr '\n' ' ')
[ "$got" = "$(serial dave) " ] && pass blind-named-copy-names-dave-only \
  || fail blind-named-copy-names-dave-only "RecipientInfos name '$got' (dave $(serial dave), frank $(serial frank))"
if [ -s "$WORK/out/dave.p7m" ] && decrypt_openssl "$WORK/out/dave.p7m" frank "$WORK/out/dave-by-frank" 2>/dev/null; then
  fail blind-named-copy-closed-to-frank "frank's key opens dave's message"
else pass blind-named-copy-closed-to-frank; fi
if [ -n "$frank" ] && opened frank "$frank" frank; then pass blind-copy-opens
else fail blind-copy-opens "${PEER_DETAIL:-not delivered}"; fi
got=$( [ -s "$WORK/out/frank.p7m" ] && serials_of "$WORK/out/frank.p7m" | tr '\n' ' ')
[ "$got" = "$(serial frank) " ] && pass blind-copy-names-frank-only \
  || fail blind-copy-names-frank-only "RecipientInfos name '$got'"
# body_of PLAIN: the body of a decrypted, verified multipart/signed entity's first part.
body_of() {
  python3 - "$1" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.compat32)
if m.get_content_type() == 'multipart/signed':
    m = m.get_payload()[0]
print(m.get_payload(decode=True).decode().strip())
PY
}
b1=$(body_of "$WORK/out/dave.plain" 2>/dev/null) b2=$(body_of "$WORK/out/frank.plain" 2>/dev/null)
[ "$b1" = "the same text for everyone" ] && [ "$b2" = "$b1" ] && pass blind-same-body \
  || fail blind-same-body "dave '$b1', frank '$b2'"
# Postfix 3.7 removes the Bcc field before its milters see it (so this holds on the old code
# too); tests/unit/test_blind_copies.cpp checks the milter's own removal.
bcc=$(grep -il '^bcc:' "$WORK"/out/dave.eml "$WORK"/out/dave.plain "$WORK"/out/frank.eml "$WORK"/out/frank.plain 2>/dev/null)
if [ -z "$bcc" ] && [ -s "$WORK/out/dave.plain" ] && ! grep -qi 'frank@' "$WORK/out/dave.eml" "$WORK/out/dave.plain"; then
  pass blind-no-bcc-field
else fail blind-no-bcc-field "a Bcc field or frank's address in ${bcc:-the message to dave}"; fi
grep -q 'blind-copy rcpt=frank@partner.example' "$WORK/milter.log" && pass blind-copy-logged \
  || fail blind-copy-logged "no 'blind-copy rcpt=frank@partner.example' log line"
grep -i '^X-SSM-Reinjected' "$WORK"/out/*.eml >/dev/null 2>&1 && fail blind-marker-removed "a delivered message carries X-SSM-Reinjected" \
  || pass blind-marker-removed

# --- one domain certificate for the named and the blind: nothing to hide, one message -----------
rm -f "$SINK_DIR"/*
printf 'From: Alice <alice@acme.example>\r\nTo: hank@partner.example\r\nSubject: the plan\r\n\r\nthe same text for everyone\r\n' >"$WORK/d.eml"
send_mail "$PF2_PORT" alice@acme.example hank@partner.example,ivan@partner.example "$WORK/d.eml"
rc=$?
wait_for_delivery 1 30; settled
f=$(sink_files | head -n 1)
if [ "$rc" -eq 0 ] && [ "$(sink_count)" -eq 1 ] && [ "$(sink_rcpts "$f" | wc -l)" -eq 2 ] && opened domain "$f" partner-domain \
   && [ "$(serials_of "$WORK/out/domain.p7m" | tr '\n' ' ')" = "$(serial partner-domain) " ] \
   && ! grep -q 'blind-copy rcpt=ivan' "$WORK/milter.log"; then pass blind-domain-certificate-no-copy
else fail blind-domain-certificate-no-copy "rc $rc, $(sink_count) deliveries, ${PEER_DETAIL:-}"; fi

# --- blind_copies = "together": the old single message --------------------------------------------
stop_milter
rm -f "$SINK_DIR"/*
config together 'blind_copies = "together"'
start_milter "$WORK/together.toml" || fatal blind-setup "ssm-milter (together) did not start"
send_mail "$PF2_PORT" alice@acme.example dave@partner.example,frank@partner.example "$WORK/m.eml"
rc=$?
wait_for_delivery 1 30; settled
f=$(sink_files | head -n 1)
want=$(printf '%s\n%s\n' "$(serial dave)" "$(serial frank)" | sort | tr '\n' ' ')
if [ "$rc" -eq 0 ] && [ "$(sink_count)" -eq 1 ] && [ "$(sink_rcpts "$f" | wc -l)" -eq 2 ] && opened together "$f" frank \
   && [ "$(serials_of "$WORK/out/together.p7m" | tr '\n' ' ')" = "$want" ]; then pass blind-together-one-message
else fail blind-together-one-message "rc $rc, $(sink_count) deliveries, RecipientInfos '$(serials_of "$WORK/out/together.p7m" 2>/dev/null | tr '\n' ' ')' ${PEER_DETAIL:-}"; fi

# --- separate without [reinjection]: refused, nothing delivered, never frank in dave's message ---
stop_milter
rm -f "$SINK_DIR"/*
config noreinject "" no
# The combination is said before the first message: by -n (and at start-up), not with [reinjection].
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/noreinject.toml" >"$WORK/check-noreinject.log" 2>&1
if grep -q 'warning: \[encryption\] blind_copies is "separate" but \[reinjection\] is not configured' "$WORK/check-noreinject.log" \
   && ! grep -q 'blind_copies is' "$WORK/check.log"; then pass blind-without-reinjection-warned
else fail blind-without-reinjection-warned "-n without [reinjection]: $(tr '\n' ' ' <"$WORK/check-noreinject.log")"; fi
start_milter "$WORK/noreinject.toml" || fatal blind-setup "ssm-milter (no reinjection) did not start"
send_mail "$PF2_PORT" alice@acme.example dave@partner.example,frank@partner.example "$WORK/m.eml"
rc=$?
settled
case "$rc:$SMTP_REPLY" in
  5:*"550 5.7.1"*"blind copy"*)
    if [ "$(sink_count)" -eq 0 ] && grep -q 'blind-copy-refused rcpt=frank@partner.example' "$WORK/milter.log"; then
      pass blind-without-reinjection-refused
    else fail blind-without-reinjection-refused "$(sink_count) delivered, log: $(grep -c blind-copy-refused "$WORK/milter.log")"; fi ;;
  *) fail blind-without-reinjection-refused "rc $rc reply '$SMTP_REPLY', $(sink_count) delivered" ;;
esac
# Named in Cc, frank is no blind copy: one message as before.
printf 'From: Alice <alice@acme.example>\r\nTo: dave@partner.example\r\nCc: Frank <frank@partner.example>\r\nSubject: the plan\r\n\r\nthe same text for everyone\r\n' >"$WORK/c.eml"
send_mail "$PF2_PORT" alice@acme.example dave@partner.example,frank@partner.example "$WORK/c.eml"
rc=$?
wait_for_delivery 1 30; settled
if [ "$rc" -eq 0 ] && [ "$(sink_count)" -eq 1 ]; then pass blind-named-in-cc-one-message
else fail blind-named-in-cc-one-message "rc $rc reply '$SMTP_REPLY', $(sink_count) delivered"; fi
exit $((_ssm_failures > 0))
