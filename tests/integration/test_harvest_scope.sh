#!/bin/bash
# PRODUCT §3.4 harvesting, scoped (found by the security review of the outbound path): a valid
# signer's certificate is stored for the From address its signature was matched to, not for
# every address the certificate names. mallory@partner.example signs with a certificate (from
# the CA we trust) that also names ceo@victim.example; before, the harvest stored it for
# ceo@victim.example too and our next message to ceo@victim.example was encrypted to
# mallory's key (mallory could read it, the CEO could not). Runs ssmctl process only (the
# milter's code path offline): no Postfix.
#   harvest-cache-private       the cache folder the first run makes is 0700 (umask 022)
#   harvest-from-address        the certificate is harvested for mallory@partner.example
#   harvest-other-address-not   ... and not for ceo@victim.example
#   harvest-no-wrong-key        mail to ceo@victim.example is not encrypted to mallory
#   harvest-microsoft-key-preference
#                               paula signs with a signing-only certificate and names her
#                               encryption certificate in Microsoft's attribute (as Outlook does,
#                               often without RFC 8551's); our reply is encrypted to that one
#   harvest-preference-other-address
#                               the certificate Microsoft's attribute names is stored for the
#                               From address only if it names it: one naming another address
#                               is stored for nobody, mail to either is not encrypted to it
#   harvest-microsoft-after-absent-preference
#                               quinn's RFC 8551 attribute names a certificate the message does
#                               not carry, Microsoft's a carried one: that one is harvested
#   harvest-rfc8551-preference-first
#                               rita's two attributes name two carried certificates: RFC 8551's
#                               is harvested (our reply is encrypted to it), Microsoft's is not
. "$(dirname "$0")/lib.sh"
require_tools openssl softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token
export OPENSSL_CONF=/dev/null
X=$WORK/x; mkdir -p "$X"
# Certificates under the trusted sub-CA, made by lib.sh's issue_cert in $XPKI (NAME.key.pem,
# NAME.cert.pem); issued NAME EMAIL KEYUSAGE [SUBJECTALTNAME] also writes NAME.der.
issued() {
  ISSUE_SAN=${4:-} issue_cert "$1" "$2" rsa "$3" && openssl x509 -in "$XPKI/$1.cert.pem" -outform DER -out "$XPKI/$1.der"
}
issued mallory mallory@partner.example "digitalSignature, keyEncipherment" \
  "email:mallory@partner.example, email:ceo@victim.example" || fatal harvest-setup "issue_cert mallory"
(
  set -e; cd "$X"
  printf 'Content-Type: text/plain\r\n\r\nhello from mallory\r\n' >inner.txt
  openssl cms -sign -in inner.txt -signer "$XPKI/mallory.cert.pem" -inkey "$XPKI/mallory.key.pem" \
    -certfile "$PKI/sub-ca.cert.pem" -nodetach -out signed.eml
  { printf 'From: mallory@partner.example\r\nTo: alice@acme.example\r\nSubject: hi\r\n'; cat signed.eml; } >in.eml
  printf 'From: alice@acme.example\r\nTo: ceo@victim.example\r\nSubject: board\r\n\r\nCONFIDENTIAL LINE\r\n' >out.eml
) >"$WORK/setup.log" 2>&1 || fatal harvest-setup "$(tail -n 3 "$WORK/setup.log")"

write_config "$WORK/ssm.toml" port=1 pki='revocation = "off"' rules='[[rule]]
name = "encrypt where a certificate is known"
direction = "outbound"
sign = "sender"
encrypt = "opportunistic"' extra="[directory]
cache = \"$WORK/cache\""
ssmctl() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" "$@"; }

# The first run makes the cache folder, under the usual umask 022.
( umask 022; ssmctl process --direction in --from mallory@partner.example --to alice@acme.example <"$X/in.eml" ) \
  >"$WORK/in.out" 2>"$WORK/in.err" || fatal harvest-setup "inbound: $(tail -n 1 "$WORK/in.err")"
grep -q 'smime=pass' "$WORK/in.out" || fatal harvest-setup "mallory's signature did not pass: $(tail -n 2 "$WORK/in.err")"
# It holds the certificates correspondents sent and who sent them: private from the start.
mode=$(stat -c %a "$WORK/cache")
[ "$mode" = 700 ] && pass harvest-cache-private || fail harvest-cache-private "$WORK/cache made with mode $mode"

ssmctl cert lookup mallory@partner.example >"$WORK/l1" 2>&1
grep -q '^chosen .*source="harvested"' "$WORK/l1" && pass harvest-from-address \
  || fail harvest-from-address "$(tail -n 2 "$WORK/l1" | tr '\n' ' ')"
ssmctl cert lookup ceo@victim.example >"$WORK/l2" 2>&1
grep -q '^ *candidate .*source="harvested"' "$WORK/l2" && fail harvest-other-address-not "$(grep 'candidate.*harvested' "$WORK/l2" | head -n 1)" \
  || pass harvest-other-address-not
ssmctl process --direction out --from alice@acme.example --to ceo@victim.example <"$X/out.eml" \
  >"$WORK/o.eml" 2>"$WORK/o.err"
if openssl cms -decrypt -in "$WORK/o.eml" -recip "$XPKI/mallory.cert.pem" -inkey "$XPKI/mallory.key.pem" 2>/dev/null | grep -q 'CONFIDENTIAL LINE'; then
  fail harvest-no-wrong-key "mallory decrypts mail to ceo@victim.example ($(grep '^decision' "$WORK/o.err"))"
else
  pass harvest-no-wrong-key
fi

# --- Microsoft's encryption key preference (1.3.6.1.4.1.311.16.4) ---------------------------------
# paula_signed SUBJECT P7S: paula@partner.example's mail to alice, multipart/signed (Outlook's
# x-pkcs7 labels) over paula-entity with that detached signature; run in $X.
paula_signed() {
  local b="----=_paula_$1"
  printf 'From: paula@partner.example\r\nTo: alice@acme.example\r\nSubject: %s\r\nMIME-Version: 1.0\r\n' "$1"
  printf 'Content-Type: multipart/signed; protocol="application/x-pkcs7-signature"; micalg=sha-256; boundary="%s"\r\n\r\n--%s\r\n' "$b" "$b"
  cat paula-entity; printf '\r\n--%s\r\nContent-Type: application/x-pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$b"
  base64 "$2" | sed 's/$/\r/'; printf '\r\n--%s--\r\n' "$b"
}
issued paula-sig paula@partner.example digitalSignature && issued paula-enc paula@partner.example keyEncipherment \
  || fatal harvest-microsoft-key-preference "set-up: issue_cert paula-sig, paula-enc"
(
  set -e; cd "$X"
  cp "$XPKI"/paula-*.der .
  openssl x509 -in "$PKI/sub-ca.cert.pem" -outform DER -out sub-ca.der
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nfrom paula\r\n' >paula-entity
  python3 "$SSM_SRCDIR/tests/fixtures/ess_sign.py" paula-sig.der sub-ca.der paula-entity - - paula.p7s \
    "$XPKI/paula-sig.key.pem" paula-enc.der
  paula_signed hi paula.p7s >paula-in.eml
  printf 'From: alice@acme.example\r\nTo: paula@partner.example\r\nSubject: reply\r\n\r\nFOR PAULA ONLY\r\n' >paula-out.eml
) >"$WORK/paula-setup.log" 2>&1 || fatal harvest-microsoft-key-preference "set-up: $(tail -n 3 "$WORK/paula-setup.log")"
ssmctl process --direction in --from paula@partner.example --to alice@acme.example <"$X/paula-in.eml" \
  >"$WORK/paula-in.out" 2>"$WORK/paula-in.err"
ssmctl process --direction out --from alice@acme.example --to paula@partner.example <"$X/paula-out.eml" \
  >"$WORK/paula-o.eml" 2>"$WORK/paula-o.err"
if grep -q 'smime=pass' "$WORK/paula-in.out" \
   && openssl cms -decrypt -in "$WORK/paula-o.eml" -recip "$XPKI/paula-enc.cert.pem" -inkey "$XPKI/paula-enc.key.pem" 2>/dev/null | grep -q 'FOR PAULA ONLY'; then
  pass harvest-microsoft-key-preference
else
  fail harvest-microsoft-key-preference "inbound: $(grep -o 'smime=[a-z]*' "$WORK/paula-in.out" | head -n 1) $(tail -n 1 "$WORK/paula-in.err"); outbound: $(grep '^decision' "$WORK/paula-o.err" | head -n 1) $(tail -n 1 "$WORK/paula-o.err")"
fi

# --- a key preference naming a certificate of another address ------------------------------------
# Microsoft's attribute, like RFC 8551's, names a certificate the signer carried in the message;
# the signer chooses both. Paula names one that names only ceo@victim.example (issued by our
# trusted CA, its key hers): it is stored for no one. Not for paula (it does not name her
# address), not for ceo@victim.example (only the From address is harvested): mail to either
# is not encrypted to that key.
issued planted ceo@victim.example keyEncipherment || fatal harvest-preference-other-address "set-up: issue_cert planted"
(
  set -e; cd "$X"
  cp "$XPKI/planted.der" .
  python3 "$SSM_SRCDIR/tests/fixtures/ess_sign.py" paula-sig.der sub-ca.der paula-entity - - planted.p7s \
    "$XPKI/paula-sig.key.pem" planted.der
  paula_signed again planted.p7s >planted-in.eml
  printf 'From: alice@acme.example\r\nTo: ceo@victim.example\r\nSubject: board\r\n\r\nFOR THE CEO ONLY\r\n' >planted-ceo.eml
) >"$WORK/planted-setup.log" 2>&1 || fatal harvest-preference-other-address "set-up: $(tail -n 3 "$WORK/planted-setup.log")"
ssmctl process --direction in --from paula@partner.example --to alice@acme.example <"$X/planted-in.eml" \
  >"$WORK/planted-in.out" 2>"$WORK/planted-in.err"
ssmctl cert lookup ceo@victim.example >"$WORK/planted-l-ceo" 2>&1
ssmctl cert lookup paula@partner.example >"$WORK/planted-l-paula" 2>&1
ssmctl process --direction out --from alice@acme.example --to ceo@victim.example <"$X/planted-ceo.eml" \
  >"$WORK/planted-o-ceo.eml" 2>"$WORK/planted-o-ceo.err"
ssmctl process --direction out --from alice@acme.example --to paula@partner.example <"$X/paula-out.eml" \
  >"$WORK/planted-o-paula.eml" 2>"$WORK/planted-o-paula.err"
planted_serial=$(openssl x509 -in "$XPKI/planted.cert.pem" -noout -serial | sed 's/.*=//')
if ! grep -q 'smime=pass' "$WORK/planted-in.out"; then
  fail harvest-preference-other-address "paula's signature did not pass: $(tail -n 1 "$WORK/planted-in.err")"
elif grep -q '^ *candidate .*source="harvested"' "$WORK/planted-l-ceo"; then
  fail harvest-preference-other-address "stored for ceo@victim.example: $(grep 'harvested' "$WORK/planted-l-ceo" | head -n 1)"
elif grep -qi "$planted_serial\|ceo@victim" "$WORK/planted-l-paula"; then
  fail harvest-preference-other-address "a candidate for paula: $(grep -i "$planted_serial\|ceo@victim" "$WORK/planted-l-paula" | head -n 1)"
elif openssl cms -decrypt -in "$WORK/planted-o-ceo.eml" -recip "$XPKI/planted.cert.pem" -inkey "$XPKI/planted.key.pem" 2>/dev/null | grep -q 'FOR THE CEO'; then
  fail harvest-preference-other-address "the planted key decrypts mail to ceo@victim.example"
elif openssl cms -decrypt -in "$WORK/planted-o-paula.eml" -recip "$XPKI/planted.cert.pem" -inkey "$XPKI/planted.key.pem" 2>/dev/null | grep -q 'FOR PAULA'; then
  fail harvest-preference-other-address "the planted key decrypts mail to paula"
else
  pass harvest-preference-other-address
fi

# --- both attributes --------------------------------------------------------------------------
# prefers NAME PREFERRED carry|omit: NAME@partner.example (NAME-sig signs, NAME-enc is carried
# and named by Microsoft's attribute) names PREFERRED in RFC 8551's attribute, carried or not;
# the message is taken in and our reply to NAME written to $WORK/NAME-o.eml.
prefers() {
  local name=$1 preferred=$2 carry=$3
  (
    set -e; cd "$X"
    printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nfrom %s\r\n' "$name" >"$name-entity"
    python3 "$SSM_SRCDIR/tests/fixtures/ess_sign.py" "$XPKI/$name-sig.der" sub-ca.der "$name-entity" - - "$name.p7s" \
      "$XPKI/$name-sig.key.pem" "$XPKI/$name-enc.der" "$XPKI/$preferred.der" "$carry"
    { printf 'From: %s@partner.example\r\nTo: alice@acme.example\r\nSubject: hi\r\nMIME-Version: 1.0\r\n' "$name"
      printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b-%s"\r\n\r\n--b-%s\r\n' "$name" "$name"
      cat "$name-entity"; printf '\r\n--b-%s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$name"
      base64 "$name.p7s" | sed 's/$/\r/'; printf '\r\n--b-%s--\r\n' "$name"; } >"$name-in.eml"
    printf 'From: alice@acme.example\r\nTo: %s@partner.example\r\nSubject: reply\r\n\r\nFOR %s ONLY\r\n' "$name" "$name" >"$name-out.eml"
  ) >"$WORK/$name-setup.log" 2>&1 || return 1
  ssmctl process --direction in --from "$name@partner.example" --to alice@acme.example <"$X/$name-in.eml" \
    >"$WORK/$name-in.out" 2>"$WORK/$name-in.err"
  ssmctl process --direction out --from alice@acme.example --to "$name@partner.example" <"$X/$name-out.eml" \
    >"$WORK/$name-o.eml" 2>"$WORK/$name-o.err"
}
# decrypts_with NAME CERT: our reply to NAME opens with CERT's key.
decrypts_with() {
  openssl cms -decrypt -in "$WORK/$1-o.eml" -recip "$XPKI/$2.cert.pem" -inkey "$XPKI/$2.key.pem" 2>/dev/null \
    | grep -q "FOR $1 ONLY"
}
# Outlook has been seen naming, in RFC 8551's attribute, a certificate it does not send (an older
# one): that attribute then names nothing we can use, and Microsoft's, which names a carried
# certificate, is the signer's stated choice that is left. Before, it was not tried: quinn's
# encryption certificate was never harvested and replies went out unencrypted.
issued quinn-sig quinn@partner.example digitalSignature && issued quinn-enc quinn@partner.example keyEncipherment \
  && issued quinn-old quinn@partner.example keyEncipherment && prefers quinn quinn-old omit \
  || fatal harvest-microsoft-after-absent-preference "set-up: $(tail -n 3 "$WORK/quinn-setup.log" 2>/dev/null)"
if ! grep -q 'smime=pass' "$WORK/quinn-in.out"; then
  fail harvest-microsoft-after-absent-preference "quinn's signature did not pass: $(tail -n 1 "$WORK/quinn-in.err")"
elif decrypts_with quinn quinn-enc; then
  pass harvest-microsoft-after-absent-preference
else
  fail harvest-microsoft-after-absent-preference "the reply does not open with quinn-enc: $(grep '^decision' "$WORK/quinn-o.err" | head -n 1) $(tail -n 1 "$WORK/quinn-o.err")"
fi
# When RFC 8551's attribute names a carried certificate it wins (the standard's word first).
issued rita-sig rita@partner.example digitalSignature && issued rita-enc rita@partner.example keyEncipherment \
  && issued rita-rfc rita@partner.example keyEncipherment && prefers rita rita-rfc carry \
  || fatal harvest-rfc8551-preference-first "set-up: $(tail -n 3 "$WORK/rita-setup.log" 2>/dev/null)"
if ! grep -q 'smime=pass' "$WORK/rita-in.out"; then
  fail harvest-rfc8551-preference-first "rita's signature did not pass: $(tail -n 1 "$WORK/rita-in.err")"
elif ! decrypts_with rita rita-rfc; then
  fail harvest-rfc8551-preference-first "the reply does not open with rita-rfc: $(grep '^decision' "$WORK/rita-o.err" | head -n 1) $(tail -n 1 "$WORK/rita-o.err")"
elif decrypts_with rita rita-enc; then
  fail harvest-rfc8551-preference-first "the reply also opens with rita-enc (Microsoft's choice was harvested too)"
else
  pass harvest-rfc8551-preference-first
fi
