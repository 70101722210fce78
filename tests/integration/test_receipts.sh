#!/bin/bash
# Signed receipts (PRODUCT §4.2, RFC 2634 §2) with OpenSSL as the partner's client:
#  - outbound, a rule with receipt_request signs a ReceiptRequest in (openssl cms -print shows
#    it; openssl, gpgsm and NSS cmsutil still verify the signature), the request is in the
#    receipt store (`ssmctl receipts`), and OpenSSL makes a receipt for the message and accepts
#    it against it (-sign_receipt / -verify_receipt);
#  - inbound, that receipt (application/pkcs7-mime; smime-type=signed-receipt) is verified and
#    matched (receipt=valid, ssmctl receipts shows it, --pending no longer lists the message),
#    delivered unchanged with its Authentication-Results; a receipt for a message we never
#    signed is receipt=unknown, one by an untrusted signer is not matched at all;
#  - the daemon behind a real Postfix records the requests of what it signs;
#  - configuration errors name file:line:column.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools openssl postfix smtp-sink swaks softhsm2-util pkcs11-tool perl curl gpgsm cmsutil certutil pk12util
require_binaries
make_pki
make_token
export OPENSSL_CONF=/dev/null
RULES='[[rule]]
name = "receipts from partners"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "never"
receipt_request = "all"

[[rule]]
name = "first tier, receipts to the postmaster"
direction = "outbound"
to = ["*@first.example"]
sign = "sender"
encrypt = "never"
receipt_request = "first-tier"
receipts_to = ["postmaster@acme.example", "alice@acme.example"]'
write_config "$WORK/out.toml" socket="inet:1@127.0.0.1" rules="$RULES" extra="[directory]
cache = \"$WORK/cache\""
sed 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/out.toml" >"$WORK/in.toml"
ssmctl() { "$SSM_BUILDDIR/ssmctl" "$@"; }
# process DIR NAME FROM TO: ssmctl process DIR on $WORK/NAME.eml -> NAME.out; LOG: decision line.
process() {
  ssmctl -c "$WORK/$1.toml" process --direction "${1%.toml}" --from "$3" --to "$4" <"$WORK/$2.eml" \
    >"$WORK/$2.out" 2>"$WORK/$2.err"
  RC=$?
  LOG=$(grep -E '^decision:' "$WORK/$2.err")
}
expect() { if [ "$2" = 1 ]; then pass "$1"; else fail "$1" "$3"; fi; }
printf 'From: alice@acme.example\r\nTo: dave@partner.example\r\nSubject: please confirm\r\nMessage-ID: <r1@acme.example>\r\n\r\nHello Dave\r\n' >"$WORK/r1.eml"

# --- outbound ---------------------------------------------------------------------------------
process out r1 alice@acme.example dave@partner.example
id=$(sed -n 's/.* receipt_request=\([0-9a-f]*\) .*/\1/p' <<<"$LOG")
expect receipts-out-signed "$([ "$RC" -eq 0 ] && [ -n "$id" ] && echo 1 || echo 0)" "rc=$RC $LOG"
smime_split "$WORK/r1.out" "$WORK/r1-split" >/dev/null 2>&1
printed=$(openssl cms -cmsout -print -inform DER -in "$WORK/r1-split/sig.der" 2>&1)
expect receipts-out-attribute "$(grep -q 'id-smime-aa-receiptRequest' <<<"$printed" && grep -qi "${id:0:16}" <<<"$(tr -d ' :\n-' <<<"$printed" | tr 'A-F' 'a-f')" && echo 1 || echo 0)" \
  "no receiptRequest with identifier $id in the signature"
for peer in openssl gpgsm cmsutil; do
  if "verify_$peer" "$WORK/r1.out" alice@acme.example; then pass "receipts-out-verify-$peer"
  else fail "receipts-out-verify-$peer" "$PEER_DETAIL"; fi
done
list=$(ssmctl -c "$WORK/out.toml" receipts list)
expect receipts-out-stored "$(grep -q "request id=$id .*message-id=<r1@acme.example> from=alice@acme.example to=dave@partner.example receipts=0" <<<"$list" && echo 1 || echo 0)" "$list"
openssl cms -sign_receipt -in "$WORK/r1.out" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" \
  -certfile "$PKI/sub-ca.cert.pem" -out "$WORK/receipt.smime" >"$WORK/openssl.log" 2>&1
expect receipts-openssl-makes-receipt "$([ -s "$WORK/receipt.smime" ] && echo 1 || echo 0)" "$(tail -n 2 "$WORK/openssl.log")"
openssl cms -verify_receipt "$WORK/receipt.smime" -in "$WORK/r1.out" -CAfile "$PKI/root-ca.cert.pem" >>"$WORK/openssl.log" 2>&1
expect receipts-openssl-accepts-our-request "$([ $? -eq 0 ] && echo 1 || echo 0)" "$(tail -n 2 "$WORK/openssl.log")"

printf 'From: alice@acme.example\r\nTo: erin@first.example\r\nSubject: first tier\r\nMessage-ID: <r2@acme.example>\r\n\r\nHello\r\n' >"$WORK/r2.eml"
process out r2 alice@acme.example erin@first.example
id2=$(sed -n 's/.* receipt_request=\([0-9a-f]*\) .*/\1/p' <<<"$LOG")
smime_split "$WORK/r2.out" "$WORK/r2-split" >/dev/null 2>&1
# The request's DER: signedContentIdentifier (OCTET STRING of 24) then allOrFirstTier [0] 1,
# and the receiptsTo addresses as rfc822Names ([1] IA5String) in that order.
hex=$(od -An -tx1 -v "$WORK/r2-split/sig.der" | tr -d ' \n')
names=$(printf '%s' "postmaster@acme.example" | od -An -tx1 | tr -d ' \n')
names2=$(printf '%s' "alice@acme.example" | od -An -tx1 | tr -d ' \n')
expect receipts-out-first-tier-to "$([ -n "$id2" ] && grep -q "0418${id2}800101" <<<"$hex" && grep -q "8117${names}.*8112${names2}" <<<"$hex" && echo 1 || echo 0)" \
  "no first-tier request to postmaster@ and alice@ with identifier '$id2' in the signature"

# --- inbound: the receipt comes back ----------------------------------------------------------
{ printf 'From: dave@partner.example\r\nTo: alice@acme.example\r\nSubject: Receipt\r\nMessage-ID: <rc1@partner.example>\r\n'
  perl -pe 's/\r?\n/\r\n/' "$WORK/receipt.smime"; } >"$WORK/rc1.eml"
process in rc1 dave@partner.example alice@acme.example
expect receipts-in-valid "$([ "$RC" -eq 0 ] && grep -q "receipt=valid receipt_id=$id for=<r1@acme.example>" <<<"$LOG" && grep -q 'smime=pass signer=dave@partner.example' <<<"$LOG" && echo 1 || echo 0)" "rc=$RC $LOG"
body_in=$(perl -0pe 's/\A.*?\r\n\r\n//s' "$WORK/rc1.eml"); body_out=$(perl -0pe 's/\A.*?\r?\n\r?\n//s' "$WORK/rc1.out")
expect receipts-in-delivered-unchanged "$([ "$body_in" = "$body_out" ] && grep -q '^Authentication-Results:' "$WORK/rc1.out" && echo 1 || echo 0)" "the receipt's body changed or has no A-R"
list=$(ssmctl -c "$WORK/in.toml" receipts show "$id")
expect receipts-in-recorded "$(grep -q 'receipts=1 valid=1' <<<"$list" && grep -q 'receipt from=dave@partner.example .*result=valid' <<<"$list" && echo 1 || echo 0)" "$list"
pending=$(ssmctl -c "$WORK/in.toml" receipts --pending)
expect receipts-pending-answered "$(! grep -q "$id" <<<"$pending" && grep -q '<r2@acme.example>' <<<"$pending" && echo 1 || echo 0)" "$pending"

# A receipt for a message we never signed (OpenSSL signed it, with its own request).
printf 'Content-Type: text/plain\r\n\r\nnot ours\r\n' >"$WORK/foreign.txt"
openssl cms -sign -in "$WORK/foreign.txt" -signer "$PKI/frank.cert.pem" -inkey "$PKI/frank.key.pem" \
  -receipt_request_all -receipt_request_to frank@partner.example -out "$WORK/foreign.smime" >>"$WORK/openssl.log" 2>&1
openssl cms -sign_receipt -in "$WORK/foreign.smime" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" \
  -certfile "$PKI/sub-ca.cert.pem" -out "$WORK/foreign-receipt.smime" >>"$WORK/openssl.log" 2>&1
{ printf 'From: dave@partner.example\r\nTo: alice@acme.example\r\nSubject: Receipt\r\n'
  perl -pe 's/\r?\n/\r\n/' "$WORK/foreign-receipt.smime"; } >"$WORK/rc2.eml"
process in rc2 dave@partner.example alice@acme.example
expect receipts-in-unknown "$([ "$RC" -eq 0 ] && grep -q 'receipt=unknown receipt_id=' <<<"$LOG" && echo 1 || echo 0)" "rc=$RC $LOG"

# A receipt for our message by a signer no trust anchor vouches for: not matched.
issue_cert mallory mallory@partner.example rsa "digitalSignature" rogue || fatal receipts-setup "rogue certificate"
openssl cms -sign_receipt -in "$WORK/r1.out" -signer "$XPKI/mallory.cert.pem" -inkey "$XPKI/mallory.key.pem" \
  -out "$WORK/rogue-receipt.smime" >>"$WORK/openssl.log" 2>&1
{ printf 'From: mallory@partner.example\r\nTo: alice@acme.example\r\nSubject: Receipt\r\n'
  perl -pe 's/\r?\n/\r\n/' "$WORK/rogue-receipt.smime"; } >"$WORK/rc3.eml"
process in rc3 mallory@partner.example alice@acme.example
expect receipts-in-untrusted-unverified "$([ "$RC" -eq 0 ] && grep -q 'receipt=unverified' <<<"$LOG" && echo 1 || echo 0)" "rc=$RC $LOG"
list=$(ssmctl -c "$WORK/in.toml" receipts show "$id")
expect receipts-untrusted-not-recorded "$(grep -q 'receipts=1 valid=1' <<<"$list" && ! grep -q mallory <<<"$list" && echo 1 || echo 0)" "$list"

# --- configuration ----------------------------------------------------------------------------
bad() {  # bad NAME RULE-LINES EXPECTED-TEXT
  write_config "$WORK/bad.toml" socket="inet:1@127.0.0.1" rules="$2" extra="[directory]
cache = \"$WORK/cache\""
  local out; out=$("$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/bad.toml" 2>&1)
  if [ $? -ne 0 ] && grep -q "bad.toml:[0-9]*:[0-9]*:.*$3" <<<"$out"; then pass "$1"; else fail "$1" "$out"; fi
}
bad receipts-config-bad-value '[[rule]]
name = "x"
receipt_request = "sometimes"' 'receipt_request must be'
bad receipts-config-needs-signature '[[rule]]
name = "x"
sign = "none"
receipt_request = "all"' 'receipt_request needs sign'
bad receipts-config-bad-address '[[rule]]
name = "x"
sign = "sender"
receipt_request = "all"
receipts_to = ["not an address"]' "is not an address"

# --- the daemon behind a real Postfix ---------------------------------------------------------
start_sink || fatal receipts-setup "smtp-sink did not start"
MILTER_PORT=$(free_port); PF_PORT=$(free_port); METRICS_PORT=$(free_port)
write_config "$WORK/daemon.toml" port="$MILTER_PORT" rules="$RULES" extra="[directory]
cache = \"$WORK/cache\"
[metrics]
listen = \"127.0.0.1:$METRICS_PORT\""
start_milter "$WORK/daemon.toml" || fatal receipts-setup "ssm-milter did not start"
start_postfix pf "$PF_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal receipts-setup "Postfix did not start"
printf 'From: alice@acme.example\r\nTo: dave@partner.example\r\nSubject: via postfix\r\nMessage-ID: <r3@acme.example>\r\n\r\nHello again\r\n' >"$WORK/r3.eml"
send_mail "$PF_PORT" alice@acme.example dave@partner.example "$WORK/r3.eml" || fatal receipts-postfix "not accepted: $SMTP_REPLY"
wait_for_delivery 1 30 || fatal receipts-postfix "not delivered"
sink_message "$(sink_files | head -n 1)" "$WORK/r3.delivered"
list=$(ssmctl -c "$WORK/out.toml" receipts list)
pid=$(grep '<r3@acme.example>' <<<"$list" | sed -n 's/^request id=\([0-9a-f]*\) .*/\1/p')
smime_split "$WORK/r3.delivered" "$WORK/r3-split" >/dev/null 2>&1
printed=$(openssl cms -cmsout -print -inform DER -in "$WORK/r3-split/sig.der" 2>&1 | tr -d ' :\n-' | tr 'A-F' 'a-f')
expect receipts-postfix-recorded "$([ -n "$pid" ] && grep -q "${pid:0:16}" <<<"$printed" && echo 1 || echo 0)" "store: $list"
verify_openssl "$WORK/r3.delivered" alice@acme.example && pass receipts-postfix-verifies || fail receipts-postfix-verifies "$PEER_DETAIL"
# The daemon counts the request it recorded (ssm_receipts_total, ssm-milter(8) METRICS).
scraped=$(curl -sS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics" 2>&1)
expect receipts-postfix-metrics "$(grep -qx 'ssm_receipts_total{event="requested",result="ok"} 1' <<<"$scraped" &&
  grep -qx 'ssm_receipts_total{event="received",result="valid"} 0' <<<"$scraped" && echo 1 || echo 0)" \
  "$(grep ssm_receipts <<<"$scraped")"
