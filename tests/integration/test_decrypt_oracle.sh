#!/bin/bash
# The gateway is no padding oracle and no format oracle over SMTP (milter/undecryptable.h).
# CBC content is malleable: whoever holds a ciphertext a partner sent to one of our users can
# send it again with blocks changed. If the reply told "padding invalid" from "padding valid"
# (the content then decrypts to partly-garbage text), some 128 messages per byte would recover
# the plaintext; if it depended on what the plaintext holds (malformed, too large, unsigned),
# it would leak that. Every message here is encrypted to alice by `openssl cms -encrypt` (not
# our code) and changed by this script; openssl with alice's key says which changes keep a
# valid padding. Offline through `ssmctl process --direction in` (the milter's own pipeline):
#   - default ([inbound] on_undecryptable = "hold"): the untampered message, (a) an invalid
#     padding, (b) a valid padding over garbage, (c) a wrong key (RFC 3218), (d) a GCM tag
#     failure, (e) content over the header limits, (f) unsigned content from a partner whose
#     rule requires a signature: one SMTP reply for all (250, as any accepted message); the
#     failures are held, as received, marked X-SSM-Undecryptable, with the same log detail;
#   - "deliver": delivered as received with the mark (a forged mark never passes);
#   - "reject": 554 5.7.5 for each failure (the documented oracle);
#   - (g) receipts: a receipt request in a signature outside the encryption (anyone can sign
#     a changed ciphertext) is never answered, decrypted or not; one inside is;
#   - (h) to alice and bob, whose own keys must both open it: never decrypted, whatever the
#     padding (not decrypted for alice and left "for another recipient" on success alone).
. "$(dirname "$0")/lib.sh"
require_tools openssl perl xxd softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token alice domain-signing
export OPENSSL_CONF=/dev/null
mkdir -p "$WORK/m" "$WORK/out"
FROM=dave@partner.example RCPT=alice@acme.example
RULES='[[rule]]
name = "strict partner"
direction = "inbound"
from = ["strict@partner.example"]
require_signature = true
on_missing = "reject"'
for cfg in default deliver reject; do
  extra=$(static_directory_toml "$cfg")
  [ "$cfg" = default ] || extra="[inbound]
on_undecryptable = \"$cfg\"

$extra"
  write_config "$WORK/$cfg.toml" socket="inet:1@127.0.0.1" rules="$RULES" pki='revocation = "off"' extra="$extra" \
    || fatal oracle-setup "config $cfg"
done
# receipts: alice's rule answers receipt requests (signed by the domain, through [reinjection]).
make_reinjection_secret
write_config "$WORK/receipts.toml" socket="inet:1@127.0.0.1" pki='revocation = "off"' rules='[[rule]]
name = "alice answers receipts"
direction = "inbound"
to = ["alice@acme.example"]
answer_receipts = true' extra="$(reinjection_toml 1)
$(static_directory_toml receipts)" || fatal oracle-setup "config receipts"
mkdir -p "$WORK/certs"

A=$PKI/alice.cert.pem
cd "$WORK/m" || fatal oracle-setup "cd"
o() { openssl cms "$@" >>"$WORK/openssl.log" 2>&1 || fatal oracle-setup "openssl cms $*: $(tail -n 2 "$WORK/openssl.log")"; }
# opens DER: openssl decrypts it with alice's key (valid key, valid padding or tag).
opens() { openssl cms -decrypt -binary -inform DER -in "$1" -inkey "$PKI/alice.key.pem" -recip "$A" -out "$1.plain" >/dev/null 2>&1; }
# content_range DER: offset and length of the encryptedContent ([0] IMPLICIT, primitive).
content_range() {
  openssl asn1parse -inform DER -in "$1" 2>/dev/null | awk '
    index($0, "prim: cont [ 0 ]") && match($0, / l= *[0-9]+/) {
      l = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", l)
      line = $0; sub(/^ +/, "", line); split(line, a, ":")
      match($0, /hl= *[0-9]+/); h = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", h)
      print a[1] + h, l; exit }'
}
# xor_byte IN OUT OFFSET MASK: a copy of IN with one byte XORed.
xor_byte() {
  perl -e 'my ($in, $out, $off, $mask) = @ARGV; open(my $h, "<:raw", $in) or die; local $/; my $d = <$h>;
           substr($d, $off, 1) = chr(ord(substr($d, $off, 1)) ^ $mask); open(my $w, ">:raw", $out) or die; print $w $d' "$@"
}
# mail CASE DER [FROM] [EXTRA-FIELD]: the S/MIME message around DER.
mail() {
  local st=enveloped-data
  openssl cms -cmsout -print -inform DER -in "$2" 2>/dev/null | grep -q 'id-smime-ct-authEnvelopedData' && st=authEnveloped-data
  { printf 'From: %s\r\nTo: %s\r\nSubject: Quarterly figures\r\nMessage-ID: <%s@mua.partner.example>\r\n' "${3:-$FROM}" "$RCPT" "$1"
    [ -n "${4:-}" ] && printf '%s\r\n' "$4"
    printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=%s; name=smime.p7m\r\n' "$st"
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'; openssl base64 -e -in "$2" | perl -pe 's/\r?\n\z/\r\n/'; } >"$WORK/m/$1.eml"
}

# The plaintext: a header block and a body several cipher blocks long (garbage made by a
# changed block lands in the body, so the content still parses).
E=$WORK/m/plain.entity
{ printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
  for i in 1 2 3 4 5 6; do printf 'Line %d of the figures for Q3: confidential, not for the attacker.\r\n' "$i"; done; } >"$E"
o -encrypt -binary -aes-256-cbc -in "$E" -outform DER -out cbc.der "$A"
opens cbc.der && cmp -s cbc.der.plain "$E" || fatal oracle-setup "openssl does not open its own message"
read -r off len < <(content_range cbc.der)
[ -n "${off:-}" ] && [ "$len" -ge 48 ] && [ $((len % 16)) = 0 ] || fatal oracle-setup "no CBC content found (${off:-?} ${len:-?})"
last_of_penultimate=$((off + len - 17))
# (a) the last padding byte XOR 0x80: no padding value can result.
xor_byte cbc.der bad-padding.der "$last_of_penultimate" 128
if opens bad-padding.der; then fatal oracle-setup "(a) still has a valid padding"; fi
# (b) the first change of that byte for which the padding is valid (openssl says which): the
# penultimate block decrypts to garbage, the last one to the original bytes but its end.
found=
for mask in $(seq 1 255); do
  [ "$mask" = 128 ] && continue
  xor_byte cbc.der valid-padding.der "$last_of_penultimate" "$mask"
  if opens valid-padding.der; then found=$mask; break; fi
done
[ -n "$found" ] || fatal oracle-setup "(b) no change of the padding byte left a valid padding"
cmp -s valid-padding.der.plain "$E" && fatal oracle-setup "(b) decrypts to the original plaintext"
note "(b) the padding stays valid with mask $found; the content decrypts to $(stat -c %s valid-padding.der.plain) bytes of partly garbage"
# (c) RFC 3218: a RecipientInfo naming alice (issuer and serial) with another key.
{ openssl req -x509 -newkey rsa:2048 -nodes -keyout fake-ca.key -out fake-ca.pem -days 30 \
    -subj "$(openssl x509 -in "$PKI/sub-ca.cert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')" \
  && openssl req -new -newkey rsa:2048 -nodes -keyout fake-alice.key -out fake-alice.csr -subj "/CN=alice@acme.example" \
  && openssl x509 -req -in fake-alice.csr -CA fake-ca.pem -CAkey fake-ca.key -days 30 \
       -set_serial "0x$(openssl x509 -in "$A" -noout -serial | sed 's/.*=//')" -out fake-alice.pem; } >>"$WORK/openssl.log" 2>&1 \
  || fatal oracle-setup "fake certificate"
[ "$(openssl x509 -in fake-alice.pem -noout -issuer -serial)" = "$(openssl x509 -in "$A" -noout -issuer -serial)" ] \
  || fatal oracle-setup "the fake certificate has not alice's issuer and serial"
o -encrypt -binary -aes-256-cbc -in "$E" -outform DER -out wrong-key.der fake-alice.pem
# (d) AEAD: the last byte of the GCM tag changed.
o -encrypt -binary -aes-256-gcm -in "$E" -outform DER -out gcm.der "$A"
xor_byte gcm.der gcm-tag.der $(($(stat -c %s gcm.der) - 1)) 1
if opens gcm-tag.der; then fatal oracle-setup "(d) the tag still verifies"; fi
# (e) content the gateway refuses once decrypted: a header field over max_header_field_size.
{ printf 'Content-Type: text/plain\r\nX-Long: '; head -c 70000 /dev/zero | tr '\0' 'a'; printf '\r\n\r\nbody\r\n'; } >long.entity
o -encrypt -binary -aes-256-cbc -in long.entity -outform DER -out inner-too-large.der "$A"
o -encrypt -binary -aes-256-cbc -in "$E" -outform DER -out unsigned.der "$A"

mail untampered cbc.der
mail bad-padding bad-padding.der
mail valid-padding valid-padding.der
mail wrong-key wrong-key.der
mail gcm-tag gcm-tag.der
mail inner-too-large inner-too-large.der
# (f) a partner rule requires a signature, and the plaintext holds none.
mail inner-unsigned unsigned.der strict@partner.example
mail forged-mark bad-padding.der "$FROM" 'X-SSM-Undecryptable: forged'
mail forged-mark-decrypted cbc.der "$FROM" 'X-SSM-Undecryptable: forged'
mail forged-label bad-padding.der "$FROM" 'SIO-Label: type=":ess"; label="MIIBforged"; marking="TOP SECRET"'

# (g) Receipts by mail. Anyone can sign a changed ciphertext with a certificate of their own
# (dave's here) and ask for a receipt in that outer signature (triple wrapping without the
# inner signature): were it answered only when the content decrypted, the receipt would be the
# oracle the reply no longer is. triple-CASE: dave's detached signature with a receipt request
# to him around the S/MIME entity of CASE.der; inner-request: dave signs the plaintext with the
# request, then encrypts it to alice (the request inside, over the intact text: answered).
triple() {
  local cn=$1 der=$2
  { printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n'
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'; openssl base64 -e -in "$der" | perl -pe 's/\r?\n\z/\r\n/'; } >"$cn.entity"
  { printf 'Message-ID: <%s@mua.partner.example>\r\n' "$cn"
    openssl cms -sign -crlfeol -in "$cn.entity" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" \
      -certfile "$PKI/sub-ca.cert.pem" -from "$FROM" -to "$RCPT" -subject "Quarterly figures" \
      -receipt_request_all -receipt_request_to "$FROM"; } >"$WORK/m/$cn.eml" 2>>"$WORK/openssl.log" \
    || fatal oracle-setup "openssl cms -sign $cn: $(tail -n 2 "$WORK/openssl.log")"
}
triple triple-untampered cbc.der
triple triple-bad-padding bad-padding.der
triple triple-valid-padding valid-padding.der
o -sign -crlfeol -in "$E" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem" \
  -receipt_request_all -receipt_request_to "$FROM" -out inner-signed.entity
o -encrypt -binary -aes-256-cbc -in inner-signed.entity -outform DER -out inner-request.der "$A"
mail inner-request inner-request.der

# run CASE CFG: ssmctl process; sets RC, OUT (the message written), REPLY, ACTION, DETAIL, HOLD.
run() {
  local cn=$1 cfg=$2 from
  from=$(sed -n 's/^From: \(.*\)\r$/\1/p' "$WORK/m/$cn.eml" | head -n 1)
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/$cfg.toml" process --direction in --from "$from" --to "$RCPT" ${ALSO_TO:+--to "$ALSO_TO"} \
    <"$WORK/m/$cn.eml" >"$WORK/out/$cn.$cfg.out" 2>"$WORK/out/$cn.$cfg.err"
  RC=$? OUT=$WORK/out/$cn.$cfg.out
  REPLY=$(sed -n 's/^reply: //p' "$WORK/out/$cn.$cfg.err")
  ACTION=$(sed -n 's/^decision: .* action=\([^ ]*\).*/\1/p' "$WORK/out/$cn.$cfg.err")
  DETAIL=$(sed -n 's/^decision: .* action=[^ ]* //p' "$WORK/out/$cn.$cfg.err")
  HOLD=$(grep -c '^hold: ' "$WORK/out/$cn.$cfg.err")
}
# body_of FILE: the body of a message (after the first empty line), CRLF kept.
body_of() { perl -e 'local $/; open(my $h, "<:raw", $ARGV[0]) or exit 1; my $m = <$h>; $m =~ s/\A.*?\r?\n\r?\n//s; print $m' "$1"; }
marks() { grep -c '^X-SSM-Undecryptable:' "$1"; }

# --- default: hold ------------------------------------------------------------------------------
run untampered default
want_rc=$RC want_reply=$REPLY
if [ "$RC" = 0 ] && [ "$ACTION" = decrypt ] && cmp -s <(body_of "$OUT") <(body_of "$E"); then pass oracle-untampered-decrypts
else fail oracle-untampered-decrypts "exit $RC action=$ACTION reply=$REPLY"; fi
declare -A DETAIL_OF
for cn in bad-padding valid-padding wrong-key gcm-tag inner-too-large inner-unsigned; do
  run "$cn" default
  DETAIL_OF[$cn]=$DETAIL
  # What the SMTP client sees: exactly the untampered message's reply.
  if [ "$RC" != "$want_rc" ] || [ "$REPLY" != "$want_reply" ]; then
    fail "oracle-smtp-uniform-$cn" "exit $RC reply '$REPLY', the untampered message got exit $want_rc '$want_reply' ($DETAIL)"
    continue
  fi
  pass "oracle-smtp-uniform-$cn"
  # (b) decrypts with a valid padding: the gateway cannot tell garbage from text (no integrity
  # in CBC); it goes on like any decrypted message. Every other case is held as received.
  if [ "$cn" = valid-padding ]; then
    if [ "$ACTION" = decrypt ] && [ "$HOLD" = 0 ]; then pass oracle-valid-padding-is-content
    else fail oracle-valid-padding-is-content "action=$ACTION hold=$HOLD"; fi
    continue
  fi
  if [ "$ACTION" != hold ] || [ "$HOLD" != 1 ]; then fail "oracle-held-$cn" "action=$ACTION hold lines=$HOLD ($DETAIL)"
  elif ! cmp -s <(body_of "$OUT") <(body_of "$WORK/m/$cn.eml"); then fail "oracle-held-$cn" "the held body is not the one received"
  elif [ "$(marks "$OUT")" != 1 ]; then fail "oracle-held-$cn" "$(marks "$OUT") X-SSM-Undecryptable fields"
  elif ! grep -q '^X-SSM-Undecryptable: mx.acme.example' "$OUT"; then fail "oracle-held-$cn" "mark: $(grep '^X-SSM-Undecryptable' "$OUT")"
  elif grep -q '^X-SSM-Decrypted' "$OUT"; then fail "oracle-held-$cn" "marked decrypted"
  else pass "oracle-held-$cn"; fi
done
# The log keeps the detail; the causes that depend on the key stay one (RFC 3218).
if [ -n "${DETAIL_OF[bad-padding]}" ] && [ "${DETAIL_OF[bad-padding]}" = "${DETAIL_OF[wrong-key]}" ] \
   && [ "${DETAIL_OF[bad-padding]}" = "${DETAIL_OF[gcm-tag]}" ] && grep -q 'failure=cryptographic-failure .*undecryptable=hold' <<<"${DETAIL_OF[bad-padding]}"
then pass oracle-log-rfc3218-uniform
else fail oracle-log-rfc3218-uniform "padding '${DETAIL_OF[bad-padding]}' key '${DETAIL_OF[wrong-key]}' tag '${DETAIL_OF[gcm-tag]}'"; fi
if grep -q 'failure=message-too-large' <<<"${DETAIL_OF[inner-too-large]}" && grep -q 'undecryptable=hold' <<<"${DETAIL_OF[inner-too-large]}"
then pass oracle-log-inner-cause; else fail oracle-log-inner-cause "${DETAIL_OF[inner-too-large]}"; fi
# A forged mark never reaches the user: on a held message only ours, on a decrypted one none.
run forged-mark default
if [ "$ACTION" = hold ] && [ "$(marks "$OUT")" = 1 ] && ! grep -q '^X-SSM-Undecryptable: forged' "$OUT"; then pass oracle-forged-mark-held
else fail oracle-forged-mark-held "action=$ACTION marks: $(grep '^X-SSM-Undecryptable' "$OUT" | tr '\r\n' '  ')"; fi
run forged-mark-decrypted default
if [ "$ACTION" = decrypt ] && [ "$(marks "$OUT")" = 0 ]; then pass oracle-forged-mark-removed
else fail oracle-forged-mark-removed "action=$ACTION marks: $(grep '^X-SSM-Undecryptable' "$OUT" | tr '\r\n' '  ')"; fi

# A sender's SIO-Label field never passes for ours (only verified labels are written, and
# this message was not read): until 2026-12-02 held and delivered-encrypted mail kept it.
for cfg in default deliver; do
  run forged-label "$cfg"
  if [ "$RC" = 0 ] && [ "$HOLD$ACTION" = "$([ $cfg = default ] && echo 1hold || echo 0deliver-encrypted)" ] \
     && ! grep -qi '^SIO-Label:' "$OUT" && [ "$(marks "$OUT")" = 1 ]; then pass "oracle-forged-label-$cfg"
  else fail "oracle-forged-label-$cfg" "exit $RC action=$ACTION hold=$HOLD: $(grep -i '^SIO-Label' "$OUT" | tr '\r\n' '  ')"; fi
done

# --- deliver: as received, marked ----------------------------------------------------------------
for cn in bad-padding gcm-tag inner-unsigned forged-mark; do
  run "$cn" deliver
  if [ "$RC" != 0 ] || [ "$REPLY" != "$want_reply" ]; then fail "oracle-deliver-$cn" "exit $RC reply '$REPLY'"
  elif [ "$ACTION" != deliver-encrypted ] || [ "$HOLD" != 0 ]; then fail "oracle-deliver-$cn" "action=$ACTION hold lines=$HOLD"
  elif ! cmp -s <(body_of "$OUT") <(body_of "$WORK/m/$cn.eml"); then fail "oracle-deliver-$cn" "the body is not the one received"
  elif [ "$(marks "$OUT")" != 1 ] || ! grep -q '^X-SSM-Undecryptable: mx.acme.example' "$OUT"; then
    fail "oracle-deliver-$cn" "marks: $(grep '^X-SSM-Undecryptable' "$OUT" | tr '\r\n' '  ')"
  else pass "oracle-deliver-$cn"; fi
done

# --- several recipients: alice's ciphertext to alice and bob (who has no key on the token) ----
# Each recipient's own key must open it (decryption_scope.h). Until 2026-12-02 alice's key was
# tried first: a bad padding was held, a valid one ended "for another recipient" and was
# delivered still encrypted (a success DSN or a bounce then told which). Now nothing is tried
# unless every recipient's key is named: both delivered as received, nothing decrypted.
ALSO_TO=bob@acme.example
for cn in bad-padding valid-padding; do
  run "$cn" default
  if [ "$RC" != "$want_rc" ] || [ "$REPLY" != "$want_reply" ]; then fail "oracle-two-recipients-$cn" "exit $RC reply '$REPLY'"
  elif [ "$HOLD" != 0 ] || ! grep -q 'encrypted-for-another-recipient' <<<"$DETAIL" || grep -q 'decrypted=\|undecryptable=' <<<"$DETAIL"; then
    fail "oracle-two-recipients-$cn" "action=$ACTION hold=$HOLD ($DETAIL)"
  elif ! cmp -s <(body_of "$OUT") <(body_of "$WORK/m/$cn.eml"); then fail "oracle-two-recipients-$cn" "the body is not the one received"
  else pass "oracle-two-recipients-$cn"; fi
done
ALSO_TO=

# --- receipts: none for a request outside the encryption, whatever the content -----------------
receipts() { grep -c '^receipt: ' "$WORK/out/$1.receipts.err"; }
run triple-bad-padding receipts
bad_reply=$REPLY bad_receipts=$(receipts triple-bad-padding)
for cn in triple-untampered triple-valid-padding; do
  run "$cn" receipts
  if [ "$RC" != 0 ] || [ "$REPLY" != "$bad_reply" ]; then fail "oracle-receipt-$cn" "exit $RC reply '$REPLY', bad padding '$bad_reply'"
  elif [ "$ACTION" != verify+decrypt ]; then fail "oracle-receipt-$cn" "action=$ACTION ($DETAIL)"
  elif [ "$(receipts "$cn")" != "$bad_receipts" ] || [ "$bad_receipts" != 0 ]; then
    fail "oracle-receipt-$cn" "$(receipts "$cn") receipts, $bad_receipts for a bad padding: a receipt tells decrypted from not"
  elif ! grep -q 'receipt-request=outside-encryption-not-answered' <<<"$DETAIL"; then fail "oracle-receipt-$cn" "no log word: $DETAIL"
  else pass "oracle-receipt-$cn"; fi
done
run inner-request receipts
if [ "$RC" = 0 ] && [ "$ACTION" = decrypt+verify ] && [ "$(receipts inner-request)" = 1 ] \
   && grep -q '^receipt: [0-9a-f]* signed by domain-signing-authority@acme.example would go to dave@partner.example' "$WORK/out/inner-request.receipts.err"
then pass oracle-receipt-inside-answered
else fail oracle-receipt-inside-answered "exit $RC action=$ACTION: $(tr '\n' ' ' <"$WORK/out/inner-request.receipts.err" | cut -c1-300)"; fi

# --- reject: the documented 554 5.7.5 for every failure ------------------------------------------
for cn in bad-padding wrong-key gcm-tag inner-too-large inner-unsigned; do
  run "$cn" reject
  if [ "$RC" = 1 ] && [ "$REPLY" = "554 5.7.5 the message could not be decrypted" ] && [ "$ACTION" = reject ]; then pass "oracle-reject-$cn"
  else fail "oracle-reject-$cn" "exit $RC action=$ACTION reply '$REPLY'"; fi
done
run untampered reject
if [ "$RC" = 0 ] && [ "$ACTION" = decrypt ]; then pass oracle-reject-untampered-decrypts
else fail oracle-reject-untampered-decrypts "exit $RC action=$ACTION reply '$REPLY'"; fi
