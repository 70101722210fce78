#!/bin/bash
# Mail from a partner to many of our users whose keys are their own, held only in the token
# (gateway-to-desktop): no one key may open it for all of them (milter/decryption_scope.h), so
# each recipient's own RecipientInfo is unwrapped with that recipient's key and the content
# keys must be the same; the content is then decrypted once (milter/own_keys.h). Messages are
# made by `openssl cms -encrypt` (not our code) to 10 users on a SoftHSM token (alice, carol
# and 4 more RSA, some of them with OAEP; bob P-256, erin P-384, 2 more P-256), processed
# offline by `ssmctl process --direction in` (the milter's own pipeline):
#   - EnvelopedData (AES-CBC) and AuthEnvelopedData (AES-GCM) to all 10: decrypted for all 10
#     (until 2026-12-02 above 8 recipients it was delivered still encrypted);
#   - one recipient's RecipientInfo copied from another message to that recipient (same
#     recipient, another content key; RSA and ECDH): held, decrypted for no one;
#   - above 64 recipients: not decrypted, and the log says too-many-own-key-recipients.
. "$(dirname "$0")/lib.sh"
require_tools openssl python3 softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token alice bob carol erin
export OPENSSL_CONF=/dev/null
USERS="alice bob carol erin"
id=20
for spec in u1:rsa u2:rsa u3:rsa u4:rsa u5:p256 u6:p256; do
  name=${spec%%:*} kind=${spec#*:}
  if [ "$kind" = rsa ]; then ku=keyEncipherment usage="--usage-sign --usage-decrypt"
  else ku=keyAgreement usage="--usage-sign --usage-derive"; fi
  issue_cert "$name" "$name@acme.example" "$kind" "digitalSignature, $ku" || fatal own-keys-setup "issue_cert $name"
  # shellcheck disable=SC2086
  import_to_token "$name" "$id" $usage
  id=$((id + 1)) USERS="$USERS $name"
done
cert_of() { if [ -f "$XPKI/$1.cert.pem" ]; then echo "$XPKI/$1.cert.pem"; else echo "$PKI/$1.cert.pem"; fi; }
write_config "$WORK/in.toml" socket="inet:1@127.0.0.1" pki='revocation = "off"' extra="[directory]
cache = \"$WORK/cache\"" || fatal own-keys-setup "config"
mkdir -p "$WORK/m" "$WORK/out"
cd "$WORK/m" || fatal own-keys-setup "cd"

E=$WORK/m/plain.entity
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nFor all ten of you: the figures for Q3.\r\n' >"$E"
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nSomething else, for one of you.\r\n' >other.entity
# encrypt OUT CIPHER: $E to the 10 users; carol, u2 and u4 with RSAES-OAEP (SHA-256).
encrypt() {
  local args=() u
  for u in $USERS; do
    args+=(-recip "$(cert_of "$u")")
    case $u in carol | u2 | u4) args+=(-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256) ;; esac
  done
  openssl cms -encrypt -binary "$2" -in "$3" -outform DER -out "$1" "${args[@]}" >>"$WORK/openssl.log" 2>&1 \
    || fatal own-keys-setup "openssl cms -encrypt $1: $(tail -n 2 "$WORK/openssl.log")"
}
# mail CASE DER: the S/MIME message around DER, to all 10.
mail() {
  local st=enveloped-data
  openssl cms -cmsout -print -inform DER -in "$2" 2>/dev/null | grep -q 'id-smime-ct-authEnvelopedData' && st=authEnveloped-data
  { printf 'From: dave@partner.example\r\nTo: %s\r\nSubject: Quarterly figures\r\nMessage-ID: <%s@mua.partner.example>\r\n' \
      "$(for u in $USERS; do printf '%s@acme.example, ' "$u"; done | sed 's/, $//')" "$1"
    printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=%s; name=smime.p7m\r\n' "$st"
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'; openssl base64 -e -in "$2" | perl -pe 's/\r?\n\z/\r\n/'; } >"$WORK/m/$1.eml"
}
# splice OUT TARGET USER CIPHER: TARGET with USER's RecipientInfo taken from another message
# encrypted to USER alone (tests/fixtures/splice_recipient_info.py).
splice() {
  openssl cms -encrypt -binary "$4" -in other.entity -outform DER -out "donor-$3.der" "$(cert_of "$3")" >>"$WORK/openssl.log" 2>&1 \
    && python3 "$SSM_SRCDIR/tests/fixtures/splice_recipient_info.py" "$2" "donor-$3.der" \
         "$(openssl x509 -in "$(cert_of "$3")" -noout -serial)" "$1" >>"$WORK/openssl.log" 2>&1 \
    || fatal own-keys-setup "splice $1: $(tail -n 2 "$WORK/openssl.log")"
}
encrypt cbc.der -aes-256-cbc "$E"
encrypt gcm.der -aes-256-gcm "$E"
splice spliced-ecdh.der cbc.der bob -aes-256-cbc
splice spliced-rsa.der gcm.der u3 -aes-256-gcm
for cn in cbc gcm spliced-ecdh spliced-rsa; do mail "$cn" "$cn.der"; done

# run CASE [EXTRA-RECIPIENT...]: ssmctl process to the 10 users (and more); sets RC, OUT,
# ACTION, DETAIL, HOLD.
run() {
  local cn=$1 u to=(); shift
  for u in $USERS; do to+=(--to "$u@acme.example"); done
  for u in "$@"; do to+=(--to "$u"); done
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/in.toml" process --direction in --from dave@partner.example "${to[@]}" \
    <"$WORK/m/$cn.eml" >"$WORK/out/$cn.out" 2>"$WORK/out/$cn.err"
  RC=$? OUT=$WORK/out/$cn.out
  ACTION=$(sed -n 's/^decision: .* action=\([^ ]*\).*/\1/p' "$WORK/out/$cn.err")
  DETAIL=$(sed -n 's/^decision: .* action=[^ ]* //p' "$WORK/out/$cn.err")
  HOLD=$(grep -c '^hold: ' "$WORK/out/$cn.err")
}
body_of() { perl -e 'local $/; open(my $h, "<:raw", $ARGV[0]) or exit 1; my $m = <$h>; $m =~ s/\A.*?\r?\n\r?\n//s; print $m' "$1"; }

for cn in cbc gcm; do
  run "$cn"
  if [ "$RC" = 0 ] && [ "$ACTION" = decrypt ] && [ "$HOLD" = 0 ] && cmp -s <(body_of "$OUT") <(body_of "$E") \
     && grep -q 'decrypted=' <<<"$DETAIL"; then pass "own-keys-ten-recipients-$cn-decrypted"
  else fail "own-keys-ten-recipients-$cn-decrypted" "exit $RC action=$ACTION hold=$HOLD ($DETAIL)"; fi
done
for cn in spliced-ecdh spliced-rsa; do
  run "$cn"
  if [ "$RC" != 0 ] || [ "$ACTION" != hold ] || [ "$HOLD" != 1 ]; then fail "own-keys-$cn-held" "exit $RC action=$ACTION hold=$HOLD ($DETAIL)"
  elif grep -q 'decrypted=' <<<"$DETAIL" || grep -q 'figures for Q3\|Something else' "$OUT"; then fail "own-keys-$cn-held" "decrypted ($DETAIL)"
  elif ! cmp -s <(body_of "$OUT") <(body_of "$WORK/m/$cn.eml"); then fail "own-keys-$cn-held" "the held body is not the one received"
  elif ! grep -q 'failure=cryptographic-failure .*undecryptable=hold' <<<"$DETAIL"; then fail "own-keys-$cn-held" "log: $DETAIL"
  else pass "own-keys-$cn-held"; fi
done
# 65 recipients: the 10 and 55 more (the count alone decides: no key is tried; the unit test
# OwnKeysTest::too_many_recipients_uses_no_key counts the key operations).
more=()
for i in $(seq 1 55); do more+=("staff$i@acme.example"); done
run cbc "${more[@]}"
if [ "$RC" = 0 ] && [ "$HOLD" = 0 ] && ! grep -q 'decrypted=' <<<"$DETAIL" \
   && grep -q 'encrypted-for-another-recipient too-many-own-key-recipients' <<<"$DETAIL" \
   && cmp -s <(body_of "$OUT") <(body_of "$WORK/m/cbc.eml"); then pass own-keys-too-many-recipients-not-decrypted
else fail own-keys-too-many-recipients-not-decrypted "exit $RC action=$ACTION hold=$HOLD ($DETAIL)"; fi
