#!/bin/bash
# The gateway answers receipt requests for its own recipients (PRODUCT §4.2, RFC 2634 §2),
# through a real Postfix: client -> pf smtpd (+ssm-milter, inbound) -> smtp-sink, and pf's
# reinjection listener (+ssm-milter) that carries the receipts out. dave@partner.example
# (OpenSSL as the partner's client) signs with a receipt request to alice@acme.example, whose
# rule has answer_receipts; the receipt that reaches the sink (sent to dave) is checked by
# OpenSSL's own `cms -verify_receipt` against the message dave sent, detached and opaque, and
# it is not signed a second time on its way out (where a rule says so it is encrypted). No receipt for: a receiptList that does not
# name us, a signature that fails, a recipient whose rule does not answer, a signed receipt.
# Without [reinjection] the original is delivered, the receipt logged as not sent, and
# `ssm-milter -n` warns.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl softhsm2-util pkcs11-tool perl script curl
require_binaries
make_pki
make_token
export OPENSSL_CONF=/dev/null
mkdir -p "$WORK/out" "$WORK/certs"
cp "$PKI/frank.cert.pem" "$WORK/certs/"
make_reinjection_secret
RULES='[[rule]]
name = "alice and carol: the gateway answers receipt requests"
direction = "inbound"
to = ["alice@acme.example", "carol@acme.example"]
answer_receipts = true

[[rule]]
name = "other inbound mail"
direction = "inbound"

[[rule]]
name = "to frank: signed by the domain and encrypted"
direction = "outbound"
to = ["frank@partner.example"]
sign = "domain"
encrypt = "mandatory"

[[rule]]
name = "outbound mail is signed by the domain"
direction = "outbound"
sign = "domain"
encrypt = "never"'
start_sink || fatal answer-setup "smtp-sink did not start"
PF_PORT=$(free_port); MILTER_PORT=$(free_port); REINJECT_PORT=$(free_port); METRICS_PORT=$(free_port)
# config NAME [REINJECT_PORT]: 127.0.0.1 is not internal here, so the client's mail is inbound;
# the reinjected receipts are outbound through their marker.
config() {
  local reinjection=
  [ -z "${2:-}" ] || reinjection="$(reinjection_toml "$2")
[metrics]
listen = \"127.0.0.1:$METRICS_PORT\""
  write_config "$WORK/$1.toml" port="$MILTER_PORT" rules="$RULES" extra="$(static_directory_toml "$1")

$reinjection"
  sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/$1.toml"
}
config main "$REINJECT_PORT"
config plain
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/main.toml" >"$WORK/check.log" 2>&1 && ! grep -q answer_receipts "$WORK/check.log" \
  && pass answer-config-checks || fail answer-config-checks "$(tr '\n' ' ' <"$WORK/check.log")"
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/plain.toml" >"$WORK/check-plain.log" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q "warning: rule 'alice and carol: the gateway answers receipt requests' has answer_receipts but \[reinjection\] is not configured" "$WORK/check-plain.log"; then
  pass answer-config-warns-without-reinjection
else fail answer-config-warns-without-reinjection "rc $rc: $(tr '\n' ' ' <"$WORK/check-plain.log")"; fi
start_milter "$WORK/main.toml" || fatal answer-setup "ssm-milter did not start"
PF_MASTER_EXTRA=$(reinjection_listener "$REINJECT_PORT") \
  start_postfix pf "$PF_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal answer-setup "postfix did not start"

# signed NAME TO ID [openssl options...]: dave signs a message to TO (Message-ID <ID@partner.example>)
# with openssl cms; the mail is $WORK/NAME.eml.
signed() {
  local name=$1 to=$2 id=$3; shift 3
  printf 'Content-Type: text/plain\r\n\r\nHello, please confirm %s.\r\n' "$id" >"$WORK/$name.txt"
  { printf 'Message-ID: <%s@partner.example>\r\n' "$id"
    openssl cms -sign -in "$WORK/$name.txt" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" \
      -certfile "$PKI/sub-ca.cert.pem" -from dave@partner.example -to "$to" -subject "request $id" "$@"
  } >"$WORK/$name.eml" 2>>"$WORK/openssl.log"
}
signed all alice@acme.example all -receipt_request_all -receipt_request_to dave@partner.example
signed first alice@acme.example first -nodetach -receipt_request_first -receipt_request_to dave@partner.example
signed listed carol@acme.example listed -receipt_request_from carol@acme.example -receipt_request_to dave@partner.example
signed other alice@acme.example other -receipt_request_from bob@acme.example -receipt_request_to dave@partner.example
signed notours bob@acme.example notours -receipt_request_all -receipt_request_to dave@partner.example
signed enc alice@acme.example enc -receipt_request_all -receipt_request_to frank@partner.example
signed broken alice@acme.example broken -receipt_request_all -receipt_request_to dave@partner.example
sed -i 's/please confirm broken/please confirm BROKEN/' "$WORK/broken.eml"
# A signed receipt dave made (openssl -sign_receipt) for a message alice signed with a request.
openssl cms -sign -in "$WORK/all.txt" -signer "$PKI/alice.cert.pem" -inkey "$PKI/alice.key.pem" \
  -receipt_request_all -receipt_request_to alice@acme.example -out "$WORK/alice-signed.eml" 2>>"$WORK/openssl.log"
{ printf 'From: dave@partner.example\r\nTo: alice@acme.example\r\nSubject: your receipt\r\nMessage-ID: <rcpt@partner.example>\r\n'
  openssl cms -sign_receipt -in "$WORK/alice-signed.eml" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" 2>>"$WORK/openssl.log"
} >"$WORK/receipt-in.eml"
grep -q 'smime-type=signed-receipt' "$WORK/receipt-in.eml" || fatal answer-setup "openssl made no receipt: $(tail -n 3 "$WORK/openssl.log")"

for m in all:alice enc:alice first:alice listed:carol other:alice notours:bob broken:alice receipt-in:alice; do
  send_mail "$PF_PORT" dave@partner.example "${m#*:}@acme.example" "$WORK/${m%%:*}.eml" \
    || fail "answer-send-${m%%:*}" "refused: $SMTP_REPLY"
done
# 8 originals and 4 receipts (all, enc, first, listed); then anything unexpected: the milter
# hands receipts to the listener before it answers, so all mail is queued by now and has
# reached the sink once pf's queue is empty.
wait_for_delivery 12 60 || note "only $(sink_count) of 12 deliveries within 60 s"
pf_wait_queue_empty "$WORK/pf" 30
[ "$(sink_count)" -eq 12 ] && pass answer-deliveries || fail answer-deliveries "$(sink_count) deliveries, expected 12"

# receipt_for ID: the delivered receipt answering <ID@partner.example>, to $WORK/out/ID.receipt.eml.
receipt_for() {
  local f
  f=$(grep -l "^In-Reply-To: <$1@partner.example>" $(sink_files) 2>/dev/null | head -n 1)
  [ -n "$f" ] || return 1
  sink_message "$f" "$WORK/out/$1.receipt.eml"
  RECEIPT_RCPTS=$(sink_rcpts "$f" | tr -d '<>' | sed 's/ .*//' | tr '\n' ' ')
}
original_delivered() { grep -l "^Message-ID: <$1@partner.example>" $(sink_files) >/dev/null 2>&1; }

# --- allReceipts, detached: the receipt reaches dave and OpenSSL accepts it ------------------
if receipt_for all; then
  r=$WORK/out/all.receipt.eml
  if [ "$RECEIPT_RCPTS" != "dave@partner.example " ]; then fail answer-all-receipt "sent to '$RECEIPT_RCPTS'"
  elif ! grep -q '^Content-Type: application/pkcs7-mime; smime-type=signed-receipt' "$r"; then
    fail answer-all-receipt "not a signed-receipt entity (signed again?): $(grep -i '^Content-Type' "$r" | head -n 1)"
  elif ! grep -q '^From: domain-signing-authority@acme.example' "$r"; then fail answer-all-receipt "From: $(grep '^From:' "$r")"
  elif ! grep -q '^Auto-Submitted: auto-replied' "$r"; then fail answer-all-receipt "no Auto-Submitted"
  elif ! openssl cms -verify_receipt "$r" -in "$WORK/all.eml" -CAfile "$PKI/root-ca.cert.pem" >"$WORK/v-all.log" 2>&1; then
    fail answer-all-receipt "openssl -verify_receipt: $(tail -n 3 "$WORK/v-all.log" | tr '\n' ' ')"
  else pass answer-all-receipt; fi
else fail answer-all-receipt "no receipt delivered"; fi
original_delivered all && pass answer-all-original-delivered || fail answer-all-original-delivered "original not delivered"
grep -q 'receipt-sent .*identity=domain-signing-authority@acme.example.*to=dave@partner.example' "$WORK/milter.log" \
  && pass answer-logged || fail answer-logged "no receipt-sent log line"
# ... and counted (ssm_receipts_total, ssm-milter(8) METRICS): at least the receipt above.
sent=$(curl -sS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics" 2>&1 | sed -n 's/^ssm_receipts_total{event="answered",result="sent"} //p')
[ "${sent:-0}" -ge 1 ] 2>/dev/null && pass answer-counted || fail answer-counted "answered/sent: '${sent}'"
grep -q 'signed-receipt=not-signed-again' "$WORK/milter.log" \
  && pass answer-receipt-not-signed-again || fail answer-receipt-not-signed-again "no signed-receipt=not-signed-again log word"

# --- a rule encrypts what goes to frank: the receipt is encrypted, not signed again ------------
if receipt_for enc; then
  if [ "$RECEIPT_RCPTS" != "frank@partner.example " ]; then fail answer-receipt-encrypted "sent to '$RECEIPT_RCPTS'"
  elif ! smime_envelope "$WORK/out/enc.receipt.eml" "$WORK/enc.p7m" || ! decrypt_openssl "$WORK/enc.p7m" frank "$WORK/enc.inner"; then
    fail answer-receipt-encrypted "not encrypted to frank: $PEER_DETAIL"
  elif ! grep -qi '^Content-Type: application/pkcs7-mime; smime-type=signed-receipt' "$WORK/enc.inner"; then
    fail answer-receipt-encrypted "inside: $(grep -i '^Content-Type' "$WORK/enc.inner" | head -n 1)"
  elif ! openssl cms -verify_receipt "$WORK/enc.inner" -in "$WORK/enc.eml" -CAfile "$PKI/root-ca.cert.pem" >"$WORK/v-enc.log" 2>&1; then
    fail answer-receipt-encrypted "openssl -verify_receipt: $(tail -n 3 "$WORK/v-enc.log" | tr '\n' ' ')"
  else pass answer-receipt-encrypted; fi
else fail answer-receipt-encrypted "no receipt delivered"; fi

# --- firstTier, opaque: checked in DER forms ---------------------------------------------------
if receipt_for first; then
  openssl cms -cmsout -in "$WORK/first.eml" -outform DER -out "$WORK/first.der" 2>>"$WORK/openssl.log"
  openssl cms -cmsout -in "$WORK/out/first.receipt.eml" -outform DER -out "$WORK/first.receipt.der" 2>>"$WORK/openssl.log"
  if openssl cms -verify_receipt "$WORK/first.receipt.der" -rctform DER -in "$WORK/first.der" -inform DER \
       -CAfile "$PKI/root-ca.cert.pem" >"$WORK/v-first.log" 2>&1; then pass answer-first-tier-opaque-receipt
  else fail answer-first-tier-opaque-receipt "openssl -verify_receipt: $(tail -n 3 "$WORK/v-first.log" | tr '\n' ' ')"; fi
else fail answer-first-tier-opaque-receipt "no receipt delivered"; fi

# --- a receiptList naming carol ------------------------------------------------------------------
if receipt_for listed && openssl cms -verify_receipt "$WORK/out/listed.receipt.eml" -in "$WORK/listed.eml" \
     -CAfile "$PKI/root-ca.cert.pem" >"$WORK/v-listed.log" 2>&1; then pass answer-receipt-list-names-us
else fail answer-receipt-list-names-us "no receipt, or refused: $(tail -n 2 "$WORK/v-listed.log" 2>/dev/null | tr '\n' ' ')"; fi

# --- no receipt: list without us, failed signature, recipient not answered, a receipt ---------
for c in other notours broken receipt-in; do
  id=$c; [ "$c" = receipt-in ] && id=rcpt
  if receipt_for "$id"; then fail "answer-none-$c" "a receipt was sent"
  elif ! grep -l "^Message-ID: <$id@partner.example>" $(sink_files) >/dev/null 2>&1; then fail "answer-none-$c" "original not delivered"
  else pass "answer-none-$c"; fi
done
grep -q 'receipt-not-sent=[0-9a-f]* reason=\(\\x22\)\?the receiptList does not name the recipient' "$WORK/milter.log" \
  && pass answer-none-list-logged || fail answer-none-list-logged "no receipt-not-sent reason for the receiptList"
grep -q 'smime=fail.*rule=alice and carol' "$WORK/milter.log" && pass answer-broken-is-a-failed-signature \
  || fail answer-broken-is-a-failed-signature "the tampered message did not fail verification"

# --- without [reinjection]: delivered, receipt logged as not sent ---------------------------
rm -f "$SINK_DIR"/*
stop_milter
start_milter "$WORK/plain.toml" || fatal answer-setup "ssm-milter (plain) did not start"
signed again alice@acme.example again -receipt_request_all -receipt_request_to dave@partner.example
send_mail "$PF_PORT" dave@partner.example alice@acme.example "$WORK/again.eml" || fail answer-no-reinjection "refused: $SMTP_REPLY"
wait_for_delivery 1 30; pf_wait_queue_empty "$WORK/pf" 30
if [ "$(sink_count)" -ne 1 ] || ! original_delivered again; then fail answer-no-reinjection "$(sink_count) deliveries"
elif ! grep -q 'receipt-not-sent=[0-9a-f]* reason=\(\\x22\)\?\[reinjection\] not configured' "$WORK/milter.log"; then
  fail answer-no-reinjection "no receipt-not-sent log word"
else pass answer-no-reinjection; fi

# --- ssmctl process shows the receipt it would send ---------------------------------------------
"$SSM_BUILDDIR/ssmctl" -c "$WORK/main.toml" process --direction in --from dave@partner.example \
  --to alice@acme.example <"$WORK/all.eml" >"$WORK/out/ssmctl.eml" 2>"$WORK/ssmctl.err"
if grep -q '^receipt: [0-9a-f]* signed by domain-signing-authority@acme.example would go to dave@partner.example' "$WORK/ssmctl.err"; then
  pass answer-ssmctl-process
else fail answer-ssmctl-process "$(tr '\n' ' ' <"$WORK/ssmctl.err" | cut -c1-300)"; fi
exit $((_ssm_failures > 0))
