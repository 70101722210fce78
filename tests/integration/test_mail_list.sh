#!/bin/bash
# The mail-list agent (PRODUCT §4.3, RFC 2634 §4), offline through `ssmctl process` (the milter's
# own pipeline) and once behind a real Postfix. A message that dave@partner.example signed and
# encrypted to the list key with OpenSSL is expanded: the list key on the SoftHSM token decrypts
# it, each member with a certificate gets it encrypted again (OpenSSL, gpgsm and cmsutil decrypt
# it with the members' keys and dave's signature still verifies inside), the outer signature by
# the list key verifies with OpenSSL, gpgsm and cmsutil and carries the mlExpansionHistory that
# OpenSSL prints. A list that is a member of another list makes a history of two; a message
# that already went through a list is refused (loop); a damaged history, a list mixed with other
# recipients and bad [[mail_list]] settings get defined answers. X-SSM-* fields sent from outside
# never reach the members; CBC content nothing protected reaches them with the X-SSM-Integrity
# mark inside the list's new envelope, signed or AuthEnveloped content without it. A partner's
# require_encryption / require_integrity (on_missing reject or tag) holds for list mail through
# Postfix as for mail to a person: refused 550, held (integrity, after the list key opened it) or
# expanded with X-SSM-Policy; a member's own inbound rule holds for that member (its refusal
# skips the member, its tag is the message's). A member's rule names the cipher, the certificate
# (encrypt_to) and the RecipientInfo form of its envelope as it does for outbound mail to the
# member; members whose ciphers differ get envelopes of their own through a real [reinjection]
# listener, all or nothing; on an outbound listener too, where a made copy's RCPT waits for its
# marker, and each made copy carries the received label, the history with the list's entry last,
# the archive's RecipientInfo and only its own members'.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools openssl perl python3 softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token alice carol
export OPENSSL_CONF=/dev/null
mkdir -p "$WORK/certs" "$WORK/out"

# The lists' certificates and keys: issued here, imported into the token as make-token.sh does.
issue_cert team team@acme.example rsa "digitalSignature, keyEncipherment" || fatal list-setup "issue team"
issue_cert ops ops@acme.example rsa "digitalSignature, keyEncipherment" || fatal list-setup "issue ops"
import_to_token team 20 --usage-sign --usage-decrypt
import_to_token ops 21 --usage-sign --usage-decrypt
issue_cert partners partners@acme.example rsa "digitalSignature, keyEncipherment" || fatal list-setup "issue partners"
import_to_token partners 22 --usage-sign --usage-decrypt
# Correspondents' certificates: the members (nobody@ has none) and team, which is a member of ops.
for n in alice carol dave; do cp "$PKI/$n.cert.pem" "$WORK/certs/"; done
cp "$XPKI/team.cert.pem" "$WORK/certs/"
# partner.example's gateway (domain-confidentiality-authority@): encrypt_to = "domain" names it.
cp "$PKI/partner-domain.cert.pem" "$WORK/certs/"

LISTS='[[mail_list]]
address = "team@acme.example"
members = ["alice@acme.example", "carol@acme.example", "dave@partner.example", "nobody@acme.example"]
receipt_policy = "insteadOf"
receipts_to = ["owner@acme.example"]

[[mail_list]]
address = "ops@acme.example"
members = ["team@acme.example"]

[[mail_list]]
address = "partners@acme.example"
members = ["dave@partner.example", "erin@partner.example", "alice@acme.example", "carol@acme.example"]'
# config NAME [format] [rules] [sections]: SECTIONS (TOML) come before [directory] and the lists.
config() {
  write_config "$WORK/$1.toml" port="${MILTER_PORT:-1}" format="${2:-detached}" pki='revocation = "off"' \
    ${3:+rules="$3"} extra="${4:+$4

}[directory]
cache = \"$WORK/cache-$1\"
static_certificates = \"$WORK/certs\"

$LISTS" || fatal list-setup "config $1"
}
config main
config opaque opaque
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/main.toml" >"$WORK/check.log" 2>&1 \
  && pass list-config-checks || fail list-config-checks "$(tr '\n' ' ' <"$WORK/check.log")"

# run CASE CONFIG INPUT TO...: ssmctl process inbound; sets RC, OUT, ERR.
run() {
  local cn=$1 cfg=$2 in=$3; shift 3
  local to=(); for r in "$@"; do to+=(--to "$r"); done
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/$cfg.toml" process --direction in --from dave@partner.example "${to[@]}" \
    <"$in" >"$WORK/out/$cn.eml" 2>"$WORK/out/$cn.err"
  RC=$? OUT=$WORK/out/$cn.eml ERR=$WORK/out/$cn.err
}
printf 'Content-Type: text/plain\r\n\r\nMinutes of the list meeting, 1 December.\r\n' >"$WORK/content.txt"
# dave signs (opaque) and encrypts to the team list's certificate: what a partner's client sends.
make_input() {  # make_input FILE LIST-CERT [encrypt]
  openssl cms -sign -nodetach -in "$WORK/content.txt" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" \
    -certfile "$PKI/sub-ca.cert.pem" -outform SMIME -out "$WORK/signed.part" || return 1
  { printf 'From: dave@partner.example\r\nTo: %s\r\nSubject: list test\r\nMessage-ID: <ml-%s@partner.example>\r\n' \
      "$(basename "$2" .cert.pem)@acme.example" "$RANDOM"
    if [ "${3:-}" = encrypt ]; then
      openssl cms -encrypt -aes256 -in "$WORK/signed.part" -outform SMIME "$2" | sed 's/\r\?$/\r/'
    else
      sed 's/\r\?$/\r/' "$WORK/signed.part"
    fi; } >"$1"
}
make_input "$WORK/enc.eml" "$XPKI/team.cert.pem" encrypt || fatal list-setup "openssl input"

# --- 1. expansion of an encrypted message --------------------------------------------------------
run expand main "$WORK/enc.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'action=expand' "$ERR" && grep -q 'rcpt: -team@acme.example' "$ERR" &&
   grep -q 'rcpt: +alice@acme.example' "$ERR" && grep -q 'rcpt: +carol@acme.example' "$ERR" &&
   grep -q 'rcpt: +dave@partner.example' "$ERR" && ! grep -q 'rcpt: +nobody' "$ERR" &&
   grep -q 'members=3 skipped=1 history=1 encrypted=yes' "$ERR"; then
  pass list-expand-envelope
else
  fail list-expand-envelope "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
fi
# The outer signature is the list's, made by the token key; three peers verify it.
if verify_openssl "$OUT"; then
  pass list-outer-verify-openssl
  cp "$VERIFIED_CONTENT" "$WORK/inner.eml"
  cp "$SIGNED_CMS" "$WORK/outer.der"
else
  fail list-outer-verify-openssl "$PEER_DETAIL"
fi
verify_gpgsm "$OUT" && pass list-outer-verify-gpgsm || fail list-outer-verify-gpgsm "$PEER_DETAIL"
verify_cmsutil "$OUT" && pass list-outer-verify-cmsutil || fail list-outer-verify-cmsutil "$PEER_DETAIL"
openssl cms -cmsout -print -inform DER -in "$WORK/outer.der" >"$WORK/outer.print" 2>&1
team_serial=$(openssl x509 -in "$XPKI/team.cert.pem" -noout -serial | sed 's/.*=//' | tr 'A-F' 'a-f')
# OpenSSL names the attribute and dumps MLData: the list certificate's serial, the expansion time
# and the insteadOf [1] receipt policy (whose address is in the DER).
hist=$(sed -n '/id-smime-aa-mlExpandHistory/,/object:/p' "$WORK/outer.print")
if [ -n "$hist" ] && tr -d ' :\n' <<<"$hist" | tr 'A-F' 'a-f' | grep -q "$team_serial" &&
   grep -A1 GENERALIZEDTIME <<<"$hist" | grep -q 'cont \[ 1 \]' &&
   grep -q 'owner@acme.example' "$WORK/outer.der"; then
  pass list-history-printed-by-openssl
else
  fail list-history-printed-by-openssl "$(grep -A12 -i mlExpand "$WORK/outer.print" | head -n 14 | tr '\n' ' ')"
fi
# Each member's key opens the new envelope; inside is dave's signed message, unchanged.
smime_envelope "$WORK/inner.eml" "$WORK/inner.der" || fail list-envelope "$PEER_DETAIL"
# inner_ok FILE: FILE is dave's signed message with the original text (openssl verifies it).
inner_ok() {
  openssl cms -verify -in "$1" -inform SMIME -CAfile "$PKI/root-ca.cert.pem" 2>/dev/null |
    grep -q 'Minutes of the list meeting'
}
for who in alice carol dave; do
  PEER_DETAIL="the signed content of dave is missing"
  if decrypt_openssl "$WORK/inner.der" $who "$WORK/dec-$who.eml" && inner_ok "$WORK/dec-$who.eml"; then
    pass "list-member-$who-decrypts-openssl"
  else
    fail "list-member-$who-decrypts-openssl" "$PEER_DETAIL"
  fi
done
PEER_DETAIL="the signed content of dave is missing"
decrypt_gpgsm "$WORK/inner.der" alice "$WORK/dec-gpgsm.eml" && inner_ok "$WORK/dec-gpgsm.eml" \
  && pass list-member-decrypts-gpgsm || fail list-member-decrypts-gpgsm "$PEER_DETAIL"
PEER_DETAIL="the signed content of dave is missing"
decrypt_cmsutil "$WORK/inner.der" carol "$WORK/dec-nss.eml" && inner_ok "$WORK/dec-nss.eml" \
  && pass list-member-decrypts-cmsutil || fail list-member-decrypts-cmsutil "$PEER_DETAIL"
# The list key is not among the new recipients: the list cannot read its own output back.
if openssl cms -decrypt -inform DER -in "$WORK/inner.der" -inkey "$XPKI/team.key.pem" \
     -recip "$XPKI/team.cert.pem" >/dev/null 2>&1; then
  fail list-key-not-a-recipient "the list key decrypts the expanded message"
else
  pass list-key-not-a-recipient
fi

# --- 1b. the gateway's own marks (decrypted_mark.h) ---------------------------------------------
# member_plaintext CASE: the expanded message of CASE opened with alice's key into
# $WORK/mark-CASE.dec (the outer signature must verify first).
member_plaintext() {
  verify_openssl "$WORK/out/$1.eml" && smime_envelope "$VERIFIED_CONTENT" "$WORK/mark-$1.der" &&
    decrypt_openssl "$WORK/mark-$1.der" alice "$WORK/mark-$1.dec"
}
# the outer header of FILE (up to the first empty line)
outer_header() { sed -n '1,/^\r\?$/p' "$1"; }
PEER_DETAIL=
# Fields only the gateway writes, sent from outside: none reaches the members.
{ printf 'X-SSM-Decrypted: forged.example\r\nX-SSM-Integrity: forged ok\r\nX-SSM-Undecryptable: forged\r\n'
  printf 'X-SSM-Policy: forged\r\n'; cat "$WORK/enc.eml"; } >"$WORK/forged.eml"
run forged main "$WORK/forged.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'action=expand' "$ERR" && ! outer_header "$OUT" | grep -qi '^X-SSM-' &&
   ! outer_header "$OUT" | grep -qi 'forged'; then
  pass list-forged-marks-removed
else
  fail list-forged-marks-removed "rc=$RC $(outer_header "$OUT" | grep -i '^X-SSM-' | tr '\n' ' ') $(tr '\n' ' ' <"$ERR" | cut -c1-200)"
fi
# Encrypted with CBC and signed by nobody inside: the list's signature must not pass for the
# content's integrity (EFAIL). The mark is inside the new envelope, where the members read it.
{ printf 'From: dave@partner.example\r\nTo: team@acme.example\r\nSubject: cbc only\r\n'
  openssl cms -encrypt -aes256 -in "$WORK/content.txt" -outform SMIME "$XPKI/team.cert.pem" | sed 's/\r\?$/\r/'
} >"$WORK/cbc.eml" || fatal list-setup "cbc input"
run cbc main "$WORK/cbc.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'action=expand' "$ERR" && grep -q 'integrity=none' "$ERR" && member_plaintext cbc &&
   sed -n '1,/^\r\?$/p' "$WORK/mark-cbc.dec" | grep -q '^X-SSM-Integrity: none (aes256-cbc' &&
   grep -q 'Minutes of the list meeting' "$WORK/mark-cbc.dec" &&
   outer_header "$OUT" | grep -q '^X-SSM-Integrity: none (aes256-cbc'; then
  pass list-cbc-unprotected-marked
else
  fail list-cbc-unprotected-marked "rc=$RC ${PEER_DETAIL:-} $(head -c 300 "$WORK/mark-cbc.dec" 2>/dev/null | tr '\r\n' '  ') $(tr '\n' ' ' <"$ERR" | cut -c1-200)"
fi
# Signed inside the encryption by a signer that passes (case 1), or AuthEnvelopedData: no mark.
if ! grep -qi 'X-SSM-Integrity' "$WORK/dec-alice.eml" && ! grep -q 'integrity=none' "$WORK/out/expand.err" &&
   ! outer_header "$WORK/out/expand.eml" | grep -qi '^X-SSM-Integrity'; then
  pass list-signed-inside-unmarked
else
  fail list-signed-inside-unmarked "$(grep -i 'integrity' "$WORK/dec-alice.eml" "$WORK/out/expand.err" | tr '\n' ' ' | cut -c1-300)"
fi
{ printf 'From: dave@partner.example\r\nTo: team@acme.example\r\nSubject: gcm\r\n'
  openssl cms -encrypt -aes-256-gcm -in "$WORK/content.txt" -outform SMIME "$XPKI/team.cert.pem" | sed 's/\r\?$/\r/'
} >"$WORK/gcm.eml" || fatal list-setup "gcm input"
run gcm main "$WORK/gcm.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'action=expand' "$ERR" && ! grep -q 'integrity=none' "$ERR" && member_plaintext gcm &&
   grep -q 'Minutes of the list meeting' "$WORK/mark-gcm.dec" && ! grep -qi 'X-SSM-Integrity' "$WORK/mark-gcm.dec" &&
   ! outer_header "$OUT" | grep -qi '^X-SSM-Integrity'; then
  pass list-authenveloped-unmarked
else
  fail list-authenveloped-unmarked "rc=$RC ${PEER_DETAIL:-} $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi

# The list's address with an extension: our MTA (recipient_delimiter "+") delivers it to the
# list's alias, so the gateway expands it as the list (it was planned as a person and left
# encrypted to the list's key, which no member holds). Case 2 goes on from the message before.
before_extension=$OUT
run expand-extension main "$WORK/enc.eml" team+minutes@acme.example
if [ $RC -eq 0 ] && grep -q 'action=expand' "$ERR" && grep -q 'rcpt: -team+minutes@acme.example' "$ERR" &&
   grep -q 'rcpt: +alice@acme.example' "$ERR" && grep -q 'rcpt: +carol@acme.example' "$ERR" &&
   grep -q 'members=3 skipped=1 history=1 encrypted=yes' "$ERR"; then
  pass list-extension-expands
else
  fail list-extension-expands "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
fi
OUT=$before_extension

# --- 2. loops and nesting -----------------------------------------------------------------------
run loop main "$OUT" team@acme.example
if [ $RC -ne 0 ] && grep -q '^reply: 550 5.7.1 .*loop' "$ERR"; then pass list-loop-refused
else fail list-loop-refused "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-300)"; fi
# ops expands to team (a list that is a member of another list), then team expands: history 2,
# and the result sent to ops again is a loop for ops.
make_input "$WORK/ops.eml" "$XPKI/ops.cert.pem" encrypt || fatal list-setup "openssl ops input"
run ops main "$WORK/ops.eml" ops@acme.example
OPS_OUT=$OUT
if [ $RC -eq 0 ] && grep -q 'members=1 skipped=0 history=1' "$ERR" && grep -q 'rcpt: +team@acme.example' "$ERR"; then
  run nested main "$OPS_OUT" team@acme.example
  if [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=2 encrypted=yes' "$ERR"; then
    pass list-nested-history-grows
    NESTED=$OUT
    run nested-loop main "$NESTED" ops@acme.example
    if [ $RC -ne 0 ] && grep -q '^reply: 550 5.7.1 .*loop' "$ERR"; then pass list-nested-loop-refused
    else fail list-nested-loop-refused "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-300)"; fi
    if verify_openssl "$NESTED" && smime_envelope "$VERIFIED_CONTENT" "$WORK/nested.der" &&
       decrypt_openssl "$WORK/nested.der" dave "$WORK/nested-dave.eml" && inner_ok "$WORK/nested-dave.eml"; then
      pass list-nested-readable
    else
      fail list-nested-readable "$PEER_DETAIL"
    fi
  else
    fail list-nested-history-grows "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
  fi
else
  fail list-nested-history-grows "ops: rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi

# --- 3. a damaged history: a digit of the expansionTime in our own opaque output turned into a
# letter (the lengths stay, the signature then fails; the history is read first) --------------
run opaque opaque "$WORK/enc.eml" team@acme.example
python3 - "$OUT" "$WORK/damaged.eml" <<'EOF' || fail list-setup "damaging the history"
import base64, re, sys
msg = open(sys.argv[1], 'rb').read().replace(b'\r\n', b'\n')
head, body = msg.split(b'\n\n', 1)
der = bytearray(base64.b64decode(body))
oid = bytes.fromhex('060b2a864886f70d010910020331')  # id-aa-mlExpandHistory, then the SET
at = der.find(oid)
assert at > 0, 'no mlExpandHistory attribute'
t = der.find(b'\x18\x0f', at)  # its GeneralizedTime
der[t + 2 + 4] = ord('x')
out = head + b'\n\n' + b'\n'.join(base64.encodebytes(bytes(der)).splitlines()) + b'\n'
open(sys.argv[2], 'wb').write(out.replace(b'\n', b'\r\n'))
EOF
run damaged main "$WORK/damaged.eml" team@acme.example
if [ $RC -ne 0 ] && grep -q '^reply: 550 5.7.1 .*malformed mlExpansionHistory' "$ERR"; then pass list-malformed-history
else fail list-malformed-history "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-300)"; fi

# --- 4. signed only: wrapped, not encrypted; every member gets it --------------------------------
make_input "$WORK/signed.eml" "$XPKI/team.cert.pem" || fatal list-setup "openssl signed input"
run signed main "$WORK/signed.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=4 skipped=0 history=1 encrypted=no' "$ERR" &&
   grep -q 'rcpt: +nobody@acme.example' "$ERR" && verify_openssl "$OUT" &&
   inner_ok "$VERIFIED_CONTENT"; then
  pass list-signed-only-wrapped
else
  fail list-signed-only-wrapped "rc=$RC ${PEER_DETAIL:-} $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi

# Signed only through two lists: team replaces ops's outer signature (its history moves into
# team's, 2 entries) and dave's signature is still the one inside.
make_input "$WORK/ops-signed.eml" "$XPKI/ops.cert.pem" || fatal list-setup "openssl ops signed input"
run ops-signed main "$WORK/ops-signed.eml" ops@acme.example
run ops-signed-team main "$OUT" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=4 skipped=0 history=2 encrypted=no' "$ERR" && verify_openssl "$OUT" &&
   openssl x509 -in "$(dirname "$SIGNED_CMS")/signer2.pem" -noout -ext subjectAltName | grep -q 'email:team@acme.example' &&
   inner_ok "$VERIFIED_CONTENT"; then
  pass list-signed-only-nested
else
  fail list-signed-only-nested "rc=$RC ${PEER_DETAIL:-} $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi

# A member whose own rule makes encryption mandatory (dave@partner.example here) never gets
# mail the list does not encrypt: the expanded message is not planned again per member, so
# until 2026-12-02 signed-only list mail went to dave in clear whatever his rule said. He is
# skipped like a member without a certificate; encrypted list mail still reaches him.
config mandatory detached '[[rule]]
name = "partner mail is encrypted"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"

[[rule]]
name = "others are signed"
direction = "outbound"
sign = "sender"'
run mandatory-signed mandatory "$WORK/signed.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=1 encrypted=no' "$ERR" &&
   ! grep -q 'rcpt: +dave@partner.example' "$ERR" && grep -q 'rcpt: +alice@acme.example' "$ERR" &&
   grep -q 'list-member-skipped.*dave@partner.example.*encryption' "$ERR"; then
  pass list-mandatory-encryption-member-skipped
else
  fail list-mandatory-encryption-member-skipped "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
fi
run mandatory-enc mandatory "$WORK/enc.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=1 encrypted=yes' "$ERR" && grep -q 'rcpt: +dave@partner.example' "$ERR"; then
  pass list-mandatory-encryption-encrypted
else
  fail list-mandatory-encryption-encrypted "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
fi

# A member whose rule sets minimum_cipher gets the list's re-encryption at that strength: one
# envelope for all members carries the strongest floor among them (as one message to several
# recipients does). Nobody's capabilities are known here, so "auto" alone gives AES-256-CBC;
# until 2026-12-03 the members' floors were not applied and dave got that.
config floor detached '[[rule]]
name = "partner mail is encrypted with AES-256-GCM at least"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"
minimum_cipher = "aes256-gcm"

[[rule]]
name = "others are signed"
direction = "outbound"
sign = "sender"'
run floor-enc floor "$WORK/enc.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=1 encrypted=yes' "$ERR" && verify_openssl "$OUT" &&
   grep -qi 'smime-type=authEnveloped-data' "$VERIFIED_CONTENT" &&
   smime_envelope "$VERIFIED_CONTENT" "$WORK/floor.der" && decrypt_openssl "$WORK/floor.der" dave "$WORK/floor-dave.eml" &&
   inner_ok "$WORK/floor-dave.eml"; then
  pass list-member-minimum-cipher
else
  fail list-member-minimum-cipher "rc=$RC $PEER_DETAIL $(grep -i '^content-type' "${VERIFIED_CONTENT:-/dev/null}" | head -n 2 | tr '\n' ' ') $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi

# [encryption] cipher chooses the members' content encryption as it does outbound (the man
# page's promise); until 2026-12-03 list mail was always encrypted with "auto".
config named detached '' "[encryption]
cipher = \"aes128-gcm\""
run named-enc named "$WORK/enc.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=1 encrypted=yes' "$ERR" && verify_openssl "$OUT" &&
   smime_envelope "$VERIFIED_CONTENT" "$WORK/named.der" &&
   openssl cms -cmsout -print -inform DER -in "$WORK/named.der" 2>/dev/null | grep -qi 'aes-128-gcm' &&
   decrypt_openssl "$WORK/named.der" carol "$WORK/named-carol.eml" && inner_ok "$WORK/named-carol.eml"; then
  pass list-member-configured-cipher
else
  fail list-member-configured-cipher "rc=$RC $PEER_DETAIL $(openssl cms -cmsout -print -inform DER -in "$WORK/named.der" 2>&1 | grep -i -m1 'algorithm: aes\|algorithm: id-aes') $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi

# A member's rule that names a cipher and the RecipientInfo form gets the list's envelope in
# that cipher, its certificate named that way, as outbound mail to it would be (until
# 2026-12-03 only minimum_cipher was read: "auto" gave AES-256-CBC, every member issuer-serial).
config member-cipher detached '[[rule]]
name = "partner mail in AES-128-GCM, by key id"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "opportunistic"
cipher = "aes128-gcm"
recipient_identifier = "key-id"'
run member-cipher member-cipher "$WORK/enc.eml" team@acme.example
ris=
if [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=1 encrypted=yes' "$ERR" && verify_openssl "$OUT" &&
   smime_envelope "$VERIFIED_CONTENT" "$WORK/member-cipher.der" &&
   openssl cms -cmsout -print -inform DER -in "$WORK/member-cipher.der" >"$WORK/member-cipher.print" 2>&1 &&
   grep -qi 'aes-128-gcm' "$WORK/member-cipher.print" &&
   ris=$(grep -o 'd\.subjectKeyIdentifier\|d\.issuerAndSerialNumber' "$WORK/member-cipher.print" | sort | uniq -c | tr -s ' \n' ' ') &&
   [ "$ris" = " 2 d.issuerAndSerialNumber 1 d.subjectKeyIdentifier " ] &&
   decrypt_openssl "$WORK/member-cipher.der" dave "$WORK/member-cipher-dave.eml" && inner_ok "$WORK/member-cipher-dave.eml"; then
  pass list-member-rule-cipher
else
  fail list-member-rule-cipher "rc=$RC $PEER_DETAIL rids:$ris $(grep -i -m1 'algorithm: aes\|algorithm: id-aes' "$WORK/member-cipher.print" 2>/dev/null) $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi
# Without [reinjection] (section 8 has one: an envelope each), members whose rules name
# different ciphers share one envelope: the strongest of them
# (AES-256-GCM for dave beats AES-128-CBC for alice); the weaker would give dave less than his
# outbound mail gets.
config member-ciphers detached '[[rule]]
name = "partner mail in AES-256-GCM"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "opportunistic"
cipher = "aes256-gcm"

[[rule]]
name = "alice reads AES-128-CBC"
direction = "outbound"
to = ["alice@acme.example"]
sign = "sender"
encrypt = "opportunistic"
cipher = "aes128-cbc"'
run member-ciphers member-ciphers "$WORK/enc.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=1 encrypted=yes' "$ERR" && verify_openssl "$OUT" &&
   smime_envelope "$VERIFIED_CONTENT" "$WORK/member-ciphers.der" &&
   openssl cms -cmsout -print -inform DER -in "$WORK/member-ciphers.der" 2>/dev/null | grep -qi 'aes-256-gcm' &&
   decrypt_openssl "$WORK/member-ciphers.der" alice "$WORK/member-ciphers-alice.eml" &&
   inner_ok "$WORK/member-ciphers-alice.eml"; then
  pass list-member-rule-ciphers-strongest
else
  fail list-member-rule-ciphers-strongest "rc=$RC $PEER_DETAIL $(openssl cms -cmsout -print -inform DER -in "$WORK/member-ciphers.der" 2>&1 | grep -i -m1 'algorithm: aes\|algorithm: id-aes') $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi
# Still without [reinjection]: a named cipher must not make the list's mail unreadable for a
# member whose SMIMECapabilities (harvested with its certificate) leave it out: outbound, that
# member's "auto" would never choose it. carol signed mail with OpenSSL, whose list names AES-CBC only; dave's rule names
# AES-256-GCM. The members' envelope is AES-256-CBC, which all of them read (until
# 2026-12-03: AES-256-GCM, "the strongest named").
config member-caps detached '[[rule]]
name = "partner mail in AES-256-GCM"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "opportunistic"
cipher = "aes256-gcm"'
# carol's certificate only from the harvest (the folder's copy would carry no list).
mkdir -p "$WORK/certs-caps" && cp "$WORK/certs/"*.pem "$WORK/certs-caps/" && rm -f "$WORK/certs-caps/carol.cert.pem"
sed -i "s|^static_certificates = .*|static_certificates = \"$WORK/certs-caps\"|" "$WORK/member-caps.toml"
{ printf 'From: carol@acme.example\r\nTo: alice@acme.example\r\nSubject: caps\r\nMessage-ID: <caps-%s@acme.example>\r\n' "$RANDOM"
  openssl cms -sign -nodetach -in "$WORK/content.txt" -signer "$PKI/carol.cert.pem" -inkey "$PKI/carol.key.pem" \
    -certfile "$PKI/sub-ca.cert.pem" -outform SMIME | sed 's/\r\?$/\r/'; } >"$WORK/carol-signed.eml"
"$SSM_BUILDDIR/ssmctl" -c "$WORK/member-caps.toml" process --direction in --from carol@acme.example \
  --to alice@acme.example <"$WORK/carol-signed.eml" >"$WORK/out/carol-caps.eml" 2>"$WORK/out/carol-caps.err"
"$SSM_BUILDDIR/ssmctl" -c "$WORK/member-caps.toml" cert lookup carol@acme.example >"$WORK/out/carol-lookup.txt" 2>&1
run member-caps member-caps "$WORK/enc.eml" team@acme.example
cipher=
if ! grep -q '^chosen .*source="harvested"' "$WORK/out/carol-lookup.txt"; then
  fail list-member-caps-not-overridden "set-up: carol's certificate was not harvested: $(tail -n 2 "$WORK/out/carol-caps.err" | tr '\n' ' ') $(tr '\n' ' ' <"$WORK/out/carol-lookup.txt" | cut -c1-300)"
elif [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=1 encrypted=yes' "$ERR" && verify_openssl "$OUT" &&
   smime_envelope "$VERIFIED_CONTENT" "$WORK/member-caps.der" &&
   cipher=$(openssl cms -cmsout -print -inform DER -in "$WORK/member-caps.der" 2>/dev/null | grep -io -m1 'aes-[0-9]*-[a-z]*') &&
   [ "$cipher" = aes-256-cbc ] &&
   decrypt_openssl "$WORK/member-caps.der" carol "$WORK/member-caps-carol.eml" && inner_ok "$WORK/member-caps-carol.eml" &&
   decrypt_openssl "$WORK/member-caps.der" dave "$WORK/member-caps-dave.eml" && inner_ok "$WORK/member-caps-dave.eml"; then
  pass list-member-caps-not-overridden
else
  fail list-member-caps-not-overridden "rc=$RC cipher=$cipher (want aes-256-cbc) $PEER_DETAIL $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi

# A member rule's encrypt_to holds for list mail as for outbound mail to the member: the
# partner's members get the list's mail encrypted to partner.example's gateway certificate, one
# RecipientInfo for both (erin has no certificate of her own, dave's is not used). Until
# 2026-12-03 encrypt_to was not read: dave got his own certificate's, erin was skipped.
make_input "$WORK/partners.eml" "$XPKI/partners.cert.pem" encrypt || fatal list-setup "partners input"
ENCRYPT_TO_RULE='[[rule]]
name = "partner mail to the partner gateway"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "opportunistic"
encrypt_to = "domain"'
config encrypt-to detached "$ENCRYPT_TO_RULE"
run encrypt-to encrypt-to "$WORK/partners.eml" partners@acme.example
ris=
if [ $RC -eq 0 ] && grep -q 'members=4 skipped=0 history=1 encrypted=yes' "$ERR" &&
   grep -q 'rcpt: +erin@partner.example' "$ERR" && grep -q 'rcpt: +dave@partner.example' "$ERR" &&
   grep 'list-member-encrypted' "$ERR" | grep 'member=erin@partner.example' |
     grep -q 'certificate_for=domain-confidentiality-authority@partner.example' &&
   verify_openssl "$OUT" && smime_envelope "$VERIFIED_CONTENT" "$WORK/encrypt-to.der" &&
   ris=$(openssl cms -cmsout -print -inform DER -in "$WORK/encrypt-to.der" 2>/dev/null | grep -c 'd\.issuerAndSerialNumber\|d\.subjectKeyIdentifier') &&
   [ "$ris" -eq 3 ] &&
   decrypt_openssl "$WORK/encrypt-to.der" partner-domain "$WORK/encrypt-to-gw.eml" && inner_ok "$WORK/encrypt-to-gw.eml" &&
   decrypt_openssl "$WORK/encrypt-to.der" carol "$WORK/encrypt-to-carol.eml" && inner_ok "$WORK/encrypt-to-carol.eml" &&
   ! decrypt_openssl "$WORK/encrypt-to.der" dave "$WORK/encrypt-to-dave.eml"; then
  pass list-member-encrypt-to-domain
else
  fail list-member-encrypt-to-domain "rc=$RC recipient infos: $ris (want 3: alice, carol, the gateway) ${PEER_DETAIL:-} $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
fi

# A member's inbound rule that asks for a signer certificate policy dave's certificate lacks:
# the signers are validated once for the list and its members (every required policy), so
# dave's signature does not pass for that member and its require_signature skips alice; the
# others, whose rules ask nothing, get the message (until 2026-12-03 alice got it too).
config member-policy detached '[[rule]]
name = "alice takes signatures under policy 1.3.6.1.4.1.99999.7 only"
direction = "inbound"
to = ["alice@acme.example"]
require_signature = true
required_policies = ["1.3.6.1.4.1.99999.7"]
on_missing = "reject"'
run member-policy member-policy "$WORK/signed.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=1 encrypted=no' "$ERR" &&
   ! grep -q 'rcpt: +alice@acme.example' "$ERR" && grep -q 'rcpt: +carol@acme.example' "$ERR" &&
   grep 'list-member-skipped' "$ERR" | grep 'alice@acme.example' | grep -q 'requires a valid S/MIME signature'; then
  pass list-member-inbound-rule-policy
else
  fail list-member-inbound-rule-policy "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
fi
# Every member's rule refuses it (not the list's: the rule names the members only): nobody is
# left, 550 (nothing was decrypted, so the reply tells nothing about a decryption).
config member-none detached '[[rule]]
name = "our people read encrypted mail only"
direction = "inbound"
to = ["alice@acme.example", "carol@acme.example", "dave@partner.example", "nobody@acme.example"]
require_encryption = true
on_missing = "reject"'
run member-none member-none "$WORK/signed.eml" team@acme.example
if [ $RC -ne 0 ] && grep -q '^reply: 550 5.7.1 .*no member left' "$ERR" && ! grep -q '^rcpt:' "$ERR"; then
  pass list-member-inbound-rules-refuse-all
else
  fail list-member-inbound-rules-refuse-all "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
fi

# A member with an address extension and no certificate of its own gets the list's mail
# encrypted to its mailbox's certificate, as outbound mail to that address is (until
# 2026-12-03 the member was skipped: "no certificate").
write_config "$WORK/extension.toml" port=1 pki='revocation = "off"' extra="[directory]
cache = \"$WORK/cache-extension\"
static_certificates = \"$WORK/certs\"

[[mail_list]]
address = \"team@acme.example\"
members = [\"dave+lists@partner.example\", \"alice@acme.example\"]" || fatal list-setup "extension config"
run extension-enc extension "$WORK/enc.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=2 skipped=0 history=1 encrypted=yes' "$ERR" &&
   grep -q 'rcpt: +dave+lists@partner.example' "$ERR" && verify_openssl "$OUT" &&
   smime_envelope "$VERIFIED_CONTENT" "$WORK/extension.der" &&
   decrypt_openssl "$WORK/extension.der" dave "$WORK/extension-dave.eml" && inner_ok "$WORK/extension-dave.eml"; then
  pass list-member-extension-mailbox-certificate
else
  fail list-member-extension-mailbox-certificate "rc=$RC $PEER_DETAIL $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
fi

# Likewise a member whose rule gives mail to him a security label: the list signs none of its
# own, so unlabelled list mail would reach him without it (until 2026-12-02 it did).
config labelrule detached '[[rule]]
name = "partner mail is labelled"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
security_label = "acme-restricted"' "[[security_label]]
name = \"acme-restricted\"
policy = \"1.3.6.1.4.1.99999.1\"
classification = 2"
run labelrule-signed labelrule "$WORK/signed.eml" team@acme.example
if [ $RC -eq 0 ] && grep -q 'members=3 skipped=1 history=1 encrypted=no' "$ERR" &&
   ! grep -q 'rcpt: +dave@partner.example' "$ERR" && grep -q 'list-member-skipped.*dave@partner.example.*label' "$ERR"; then
  pass list-label-rule-member-skipped
else
  fail list-label-rule-member-skipped "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
fi

# The label acme-restricted, and every member of our lists cleared for it.
LABEL_TOML='[[security_label]]
name = "acme-restricted"
policy = "1.3.6.1.4.1.99999.1"
classification = 2

[[clearance]]
recipients = ["*@acme.example", "*@partner.example"]
policy = "1.3.6.1.4.1.99999.1"
classifications = [0, 1, 2]'

# A labelled message (alice's signature, made by our outbound path with a rule's default
# ESSSecurityLabel) keeps its label in the list's outer signature (RFC 2634 §5.2); every member
# is cleared for it (an uncleared member refuses the message: test_security_labels.sh).
config label opaque '[[rule]]
name = "labelled"
direction = "outbound"
sign = "sender"
security_label = "acme-restricted"' "$LABEL_TOML"
printf 'From: alice@acme.example\r\nTo: team@acme.example\r\nSubject: labelled\r\n\r\nRestricted minutes.\r\n' >"$WORK/label-in.eml"
"$SSM_BUILDDIR/ssmctl" -c "$WORK/label.toml" process --direction out --from alice@acme.example --to bob@partner.example \
  <"$WORK/label-in.eml" >"$WORK/labelled.eml" 2>"$WORK/labelled.err" || fatal list-setup "labelled input: $(tail -n 2 "$WORK/labelled.err")"
"$SSM_BUILDDIR/ssmctl" -c "$WORK/label.toml" process --direction in --from alice@acme.example --to team@acme.example \
  <"$WORK/labelled.eml" >"$WORK/out/label.eml" 2>"$WORK/out/label.err"
RC=$?
if [ $RC -eq 0 ] && grep -q 'label=copied' "$WORK/out/label.err" && smime_split "$WORK/out/label.eml" "$WORK/label-split" &&
   openssl cms -cmsout -print -inform DER -in "$WORK/label-split/sig.der" 2>/dev/null |
     grep -q 'id-smime-aa-securityLabel'; then
  pass list-label-copied
else
  fail list-label-copied "rc=$RC $(tr '\n' ' ' <"$WORK/out/label.err" | cut -c1-300)"
fi

# --- 5. refusals ---------------------------------------------------------------------------------
run mixed main "$WORK/enc.eml" team@acme.example alice@acme.example
# As the MTA: the list is expanded, the other recipient deferred to its own transaction.
if [ $RC -eq 0 ] && grep -q '^rcpt: alice@acme.example refused: 452 4.5.3' "$ERR"; then pass list-mixed-recipients-deferred
else fail list-mixed-recipients-deferred "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-300)"; fi
# Encrypted to carol, whose key is on the token too, and sent to the list: only the list's key
# may open mail for the list, or a list address would pass a user's mail on to the members.
make_input "$WORK/carol.eml" "$PKI/carol.cert.pem" encrypt || fatal list-setup "openssl carol input"
run other-key main "$WORK/carol.eml" team@acme.example
if [ $RC -ne 0 ] && grep -q '^reply: 550 5.7.1 .*not to the list' "$ERR" && ! grep -q '^rcpt:' "$ERR"; then
  pass list-other-token-key-not-used
else
  fail list-other-token-key-not-used "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-300)"
fi
# Encrypted to a key the token does not hold (erin's): nothing to expand.
make_input "$WORK/foreign.eml" "$PKI/erin.cert.pem" encrypt || fatal list-setup "openssl foreign input"
run foreign main "$WORK/foreign.eml" team@acme.example
if [ $RC -ne 0 ] && grep -q '^reply: 550 5.7.1 .*not to the list' "$ERR"; then pass list-foreign-envelope-refused
else fail list-foreign-envelope-refused "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-300)"; fi
NOCERT='[[mail_list]]
address = "nocert@acme.example"
identity = "team@acme.example"
members = ["nobody@acme.example", "nobody2@acme.example"]'
LISTS=$NOCERT config nocert
run nocert nocert "$WORK/enc.eml" nocert@acme.example
# (Decrypted with the list's key first, so the refusal would tell that the content decrypted:
# held as received instead, the reason in the log; ssm-milter(8), Inbound decryption and oracles.)
if [ $RC -eq 0 ] && grep -q '^decision: .*action=hold .*hidden_reply="550 5.7.1 .*no member has a usable certificate' "$ERR" \
   && grep -q '^reply: 250 ' "$ERR" && grep -q '^hold: ' "$ERR" && ! grep -q '^rcpt:' "$ERR"; then pass list-no-member-left
else fail list-no-member-left "rc=$RC $(tr '\n' ' ' <"$ERR" | cut -c1-300)"; fi

# --- 6. configuration errors name file:line:column ----------------------------------------------
bad_config() {  # bad_config CASE EXPECTED-TEXT TOML
  LISTS=$3 config "bad-$1"
  if "$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/bad-$1.toml" >"$WORK/bad-$1.log" 2>&1; then
    fail "list-config-$1" "accepted"
  elif grep -q "bad-$1.toml:[0-9]*:[0-9]*: .*$2" "$WORK/bad-$1.log"; then
    pass "list-config-$1"
  else
    fail "list-config-$1" "$(tr '\n' ' ' <"$WORK/bad-$1.log")"
  fi
}
bad_config foreign-domain "not in one of our" '[[mail_list]]
address = "list@partner.example"
members = ["alice@acme.example"]'
bad_config receipts-without-policy "receipts_to goes with" '[[mail_list]]
address = "x@acme.example"
members = ["alice@acme.example"]
receipts_to = ["a@acme.example"]'
bad_config bad-policy "receipt_policy must be" '[[mail_list]]
address = "x@acme.example"
members = ["alice@acme.example"]
receipt_policy = "sometimes"'
bad_config self-member "cannot be its own member" '[[mail_list]]
address = "x@acme.example"
members = ["x@acme.example"]'

# --- 7. behind a real Postfix: the envelope really changes ---------------------------------------
# The partner's requirements (PRODUCT §3.5) hold for a list address as for a person: dave's
# rule asks for encryption with integrity (refused otherwise), tagged@'s for encryption (tagged
# otherwise). Until 2026-12-03 the list path checked none of them and expanded anything.
REQ_RULES='[[rule]]
name = "outbound mail is signed by the sender"
direction = "outbound"
sign = "sender"
encrypt = "never"

[[rule]]
name = "dave encrypts with integrity"
direction = "inbound"
from = ["dave@partner.example"]
require_encryption = true
require_integrity = true
on_missing = "reject"

[[rule]]
name = "tagged partner"
direction = "inbound"
from = ["tagged@partner.example"]
require_encryption = true
on_missing = "tag"

[[rule]]
name = "carol reads encrypted mail only"
direction = "inbound"
to = ["carol@acme.example"]
require_encryption = true
on_missing = "reject"

[[rule]]
name = "alice is told of unsigned mail"
direction = "inbound"
to = ["alice@acme.example"]
require_signature = true
on_missing = "tag"'
if ! command -v postfix >/dev/null 2>&1; then
  # Postfix is a required tool (scripts/install-deps.sh): its absence is a failure, not a skip.
  fail list-postfix "postfix not installed (a required tool: run scripts/install-deps.sh)"
else
  start_sink || fatal list-postfix "smtp-sink did not start"
  MILTER_PORT=$(free_port); PF_PORT=$(free_port)
  config daemon detached "$REQ_RULES"
  # Mail from 127.0.0.1 is a partner's (inbound), as tests/interop/inbound.sh sets it up.
  sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/daemon.toml"
  start_milter "$WORK/daemon.toml" || fatal list-postfix "milter did not start: $(tail -n 3 "$WORK/milter.log")"
  start_postfix pf "$PF_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal list-postfix "Postfix did not start"
  send_mail "$PF_PORT" dave@partner.example team@acme.example "$WORK/enc.eml" || fail list-postfix "not accepted: $SMTP_REPLY"
  if wait_for_delivery 1 30; then
    sink_message "$(sink_files | head -n 1)" "$WORK/pf.delivered"
    rcpts=$(sink_rcpts "$(sink_files | head -n 1)" | tr '\n' ' ')
    f=$WORK/pf.delivered
    if verify_openssl "$f" && echo "$rcpts" | grep -q alice@acme.example && echo "$rcpts" | grep -q carol@acme.example &&
       echo "$rcpts" | grep -q dave@partner.example && ! echo "$rcpts" | grep -q team@acme.example &&
       grep -q 'action=expand' "$WORK/milter.log"; then
      pass list-postfix
    else
      fail list-postfix "rcpts=$rcpts ${PEER_DETAIL:-} $(grep action= "$WORK/milter.log" | tail -n 1)"
    fi
  else
    fail list-postfix "nothing delivered: $(grep -E 'reject|defer|milter' "$WORK/pf/maillog" 2>/dev/null | tail -n 2 | tr '\n' ' ')"
  fi

  # dave's signed but clear list mail: refused as his mail to a person is; nobody gets it.
  before=$(sink_count)
  send_mail "$PF_PORT" dave@partner.example team@acme.example "$WORK/signed.eml"; rc=$?
  # Mail accepted before the reply is in pf's queue already: wait until it has drained (a
  # delivery that must not happen has reached the sink then), not a fixed time.
  pf_wait_queue_empty "$WORK/pf" 30
  if [ $rc -eq 5 ] && [[ $SMTP_REPLY == "550 5.7.1 "*"the sender's policy requires encryption"* ]] &&
     [ "$(sink_count)" -eq "$before" ]; then
    pass list-postfix-require-encryption-refused
  else
    fail list-postfix-require-encryption-refused "rc=$rc reply '$SMTP_REPLY', sink $before -> $(sink_count)"
  fi

  # CBC to the list key, nothing signed inside: integrity missing. Refused after the list key
  # opened it, so it goes the on_undecryptable way (hold, the default) and no reply tells the
  # padding was right; nothing reaches the members.
  held_before=$(find "$WORK/pf/queue/hold" -type f 2>/dev/null | wc -l)
  send_mail "$PF_PORT" dave@partner.example team@acme.example "$WORK/cbc.eml"; rc=$?
  # The hold happens in cleanup, before the reply; whatever else was accepted is in the active
  # queues and drains (the hold queue is not among them).
  deadline=$((SECONDS + 30))
  while [ "$(find "$WORK/pf/queue/hold" -type f 2>/dev/null | wc -l)" -le "$held_before" ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.2
  done
  pf_wait_queue_empty "$WORK/pf" 30
  held_after=$(find "$WORK/pf/queue/hold" -type f 2>/dev/null | wc -l)
  line=$(grep 'action=hold' "$WORK/milter.log" | tail -n 1)
  if [ $rc -eq 0 ] && [ "${SMTP_REPLY:0:4}" = "250 " ] && [ "$held_after" -eq $((held_before + 1)) ] &&
     grep -q 'undecryptable=hold' <<<"$line" && grep -q 'list=team@acme.example' <<<"$line" &&
     [ "$(sink_count)" -eq "$before" ]; then
    pass list-postfix-require-integrity-held
  else
    fail list-postfix-require-integrity-held "rc=$rc reply '$SMTP_REPLY', held $held_before -> $held_after, sink $before -> $(sink_count), log: $(grep action= "$WORK/milter.log" | tail -n 1)"
  fi

  # tagged@'s clear list mail: expanded with the partner tag (a forged one removed).
  { printf 'X-SSM-Policy: none missing (forged)\r\nFrom: tagged@partner.example\r\nTo: team@acme.example\r\n'
    printf 'Subject: clear to the list\r\nMessage-ID: <ml-tag-%s@partner.example>\r\n' "$RANDOM"
    cat "$WORK/content.txt"; } >"$WORK/tagged.eml"
  send_mail "$PF_PORT" tagged@partner.example team@acme.example "$WORK/tagged.eml"; rc=$?
  if [ $rc -eq 0 ] && wait_for_delivery $((before + 1)) 30; then
    f=$(grep -l 'tagged@partner.example' $(sink_files) | head -n 1)
    sink_message "$f" "$WORK/pf.tagged"
    rcpts=$(sink_rcpts "$f" | tr '\n' ' ')
    tags=$(outer_header "$WORK/pf.tagged" | grep -i '^X-SSM-Policy:' | tr -d '\r' | tr '\n' '|')
    if [ "$tags" = "X-SSM-Policy: missing encryption|" ] && verify_openssl "$WORK/pf.tagged" &&
       echo "$rcpts" | grep -q alice@acme.example && ! echo "$rcpts" | grep -q team@acme.example &&
       grep 'action=expand+tag' "$WORK/milter.log" | grep -q 'list=team@acme.example'; then
      pass list-postfix-require-encryption-tagged
    else
      fail list-postfix-require-encryption-tagged "tags '$tags' rcpts=$rcpts ${PEER_DETAIL:-} $(grep action= "$WORK/milter.log" | tail -n 1)"
    fi
  else
    fail list-postfix-require-encryption-tagged "rc=$rc reply '$SMTP_REPLY', not delivered: $(grep action= "$WORK/milter.log" | tail -n 1)"
  fi
  # The sink holds the two expansions (case list-postfix and the tagged one), nothing else:
  # anything more was queued before its reply, so it has arrived once the queue is empty.
  pf_wait_queue_empty "$WORK/pf" 30
  if [ "$(sink_count)" -eq $((before + 1)) ] && [ "$before" -eq 1 ]; then
    pass list-postfix-requirements-delivered-only
  else
    fail list-postfix-requirements-delivered-only "sink holds $(sink_count), expected 2"
  fi

  # The members' own inbound rules (PRODUCT §3.5) hold for them beside the list's: mail from
  # plain@ (whose rule for the list asks nothing) in clear, unsigned, does not reach carol,
  # whose rule refuses unencrypted mail, and reaches alice tagged as her rule asks; dave and
  # nobody@ (no rule of theirs) get it as it is, tag included (one message for all). Until
  # 2026-12-03 only the rule for the sender and the list address was read: carol got it.
  { printf 'From: plain@partner.example\r\nTo: team@acme.example\r\nSubject: clear, unsigned\r\n'
    printf 'Message-ID: <ml-plain-%s@partner.example>\r\n' "$RANDOM"
    cat "$WORK/content.txt"; } >"$WORK/plain.eml"
  before=$(sink_count)
  send_mail "$PF_PORT" plain@partner.example team@acme.example "$WORK/plain.eml"; rc=$?
  if [ $rc -eq 0 ] && wait_for_delivery $((before + 1)) 30; then
    pf_wait_queue_empty "$WORK/pf" 30
    f=$(grep -l 'plain@partner.example' $(sink_files) | head -n 1)
    sink_message "$f" "$WORK/pf.plain"
    rcpts=$(sink_rcpts "$f" | tr '\n' ' ')
    tags=$(outer_header "$WORK/pf.plain" | grep -i '^X-SSM-Policy:' | tr -d '\r' | tr '\n' '|')
    line=$(grep 'list=team@acme.example' "$WORK/milter.log" | grep 'action=expand' | tail -n 1)
    if [ "$(sink_count)" -eq $((before + 1)) ] && ! echo "$rcpts" | grep -q carol@acme.example &&
       echo "$rcpts" | grep -q alice@acme.example && echo "$rcpts" | grep -q dave@partner.example &&
       echo "$rcpts" | grep -q nobody@acme.example && ! echo "$rcpts" | grep -q team@acme.example &&
       [ "$tags" = "X-SSM-Policy: missing a valid S/MIME signature|" ] && verify_openssl "$WORK/pf.plain" &&
       grep -q 'action=expand+tag' <<<"$line" && grep -q 'members=3 skipped=1' <<<"$line" &&
       grep 'list-member-skipped' "$WORK/milter.log" | grep 'carol@acme.example' | grep -q 'requires encryption'; then
      pass list-postfix-member-rules
    else
      fail list-postfix-member-rules "rcpts=$rcpts tags '$tags' sink $before -> $(sink_count) ${PEER_DETAIL:-} log: $line"
    fi
  else
    fail list-postfix-member-rules "rc=$rc reply '$SMTP_REPLY', not delivered: $(grep action= "$WORK/milter.log" | tail -n 1)"
  fi
fi

# --- 8. an envelope per cipher, through [reinjection], all or nothing ----------------------------
# Members whose rules and certificates give different ciphers each get what outbound mail to
# them alone gets: the partner's members (their gateway's certificate, encrypt_to = "domain")
# AES-256-GCM, alice (her rule) AES-128-CBC, carol ("auto", nothing harvested) AES-256-CBC.
# Three messages, each signed by the list and holding only its own members' RecipientInfos:
# the first is the received message rewritten, the others are made by the gateway and handed to
# the [reinjection] listener with the split-off copies' all-or-nothing hand-over. When the
# listener refuses one (451 for carol), nobody gets anything and the client gets the 4xx; its
# retry delivers each member exactly once. Until 2026-12-03 all shared one envelope in the
# strongest cipher all could read (AES-256-GCM here: alice got GCM, not her rule's CBC).
GROUP_RULES="$ENCRYPT_TO_RULE
cipher = \"aes256-gcm\"

[[rule]]
name = \"alice reads AES-128-CBC\"
direction = \"outbound\"
to = [\"alice@acme.example\"]
sign = \"sender\"
encrypt = \"opportunistic\"
cipher = \"aes128-cbc\""
GROUP_CASES="list-envelopes-refused-copy-defers list-envelopes-none-delivered list-envelopes-one-each
  list-envelopes-partner-gateway list-envelopes-alice list-envelopes-carol"
if ! command -v postfix >/dev/null 2>&1 || ! command -v swaks >/dev/null 2>&1; then
  for cn in $GROUP_CASES; do fail "$cn" "postfix or swaks not installed (required tools: run scripts/install-deps.sh)"; done
else
  stop_milter
  start_sink envelopes || fatal list-envelopes "smtp-sink did not start"
  MILTER_PORT=$(free_port); PF3_PORT=$(free_port); REINJECT_PORT=$(free_port)
  make_reinjection_secret
  config envelopes detached "$GROUP_RULES" "$(reinjection_toml "$REINJECT_PORT")"
  # Mail from 127.0.0.1 is a partner's (inbound), as in 7.
  sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/envelopes.toml"
  start_milter "$WORK/envelopes.toml" || fatal list-envelopes "milter did not start: $(tail -n 3 "$WORK/milter.log")"
  printf 'carol@acme.example 451 4.3.2 listener busy for carol\n' >"$WORK/refuse"; chmod a+r "$WORK/refuse"
  PF_MASTER_EXTRA=$(reinjection_listener "$REINJECT_PORT" \
      "smtpd_recipient_restrictions=check_recipient_access,texthash:$WORK/refuse,permit_mynetworks,reject") \
    start_postfix pf3 "$PF3_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal list-envelopes "pf3 did not start"
  PF3=$PF_DIR
  # delivered_to RCPT: how many delivered messages name RCPT in their envelope.
  delivered_to() {
    local f n=0
    for f in $(sink_files); do sink_rcpts "$f" | grep -qi "<$1>" && n=$((n + 1)); done
    echo "$n"
  }
  send_mail "$PF3_PORT" dave@partner.example partners@acme.example "$WORK/partners.eml"; rc=$?
  case "$rc:$SMTP_REPLY" in
    4:4*) pass list-envelopes-refused-copy-defers ;;
    *) fail list-envelopes-refused-copy-defers "rc $rc reply '$SMTP_REPLY' (want 4xx) $(grep action= "$WORK/milter.log" | tail -n 1)" ;;
  esac
  pf_wait_queue_empty "$PF3" 15
  if [ "$(sink_count)" -eq 0 ] && [ "$(pf_queue_count "$PF3")" -eq 0 ] && grep -q 'listener busy for carol' "$PF3/maillog"; then
    pass list-envelopes-none-delivered
  else
    fail list-envelopes-none-delivered "$(sink_count) delivered, $(pf_queue_count "$PF3") queued; refusal in pf3's log: $(grep -c 'listener busy' "$PF3/maillog")"
  fi
  # The listener takes carol again: the client's retry.
  printf 'carol@acme.example DUNNO\n' >"$WORK/refuse"
  script -qec "postfix -c $PF3/etc reload" /dev/null >/dev/null 2>&1
  sleep 1
  send_mail "$PF3_PORT" dave@partner.example partners@acme.example "$WORK/partners.eml"; rc=$?
  wait_for_delivery 3 30
  pf_wait_queue_empty "$PF3" 15
  counts="dave $(delivered_to dave@partner.example) erin $(delivered_to erin@partner.example) alice $(delivered_to alice@acme.example) carol $(delivered_to carol@acme.example)"
  if [ $rc -eq 0 ] && [ "$(sink_count)" -eq 3 ] && [ "$counts" = "dave 1 erin 1 alice 1 carol 1" ] &&
     [ "$(delivered_to partners@acme.example)" -eq 0 ] &&
     grep 'list=partners@acme.example' "$WORK/milter.log" | grep 'action=expand' | tail -n 1 |
       grep -q 'members=4 skipped=0 history=1 encrypted=yes envelopes=aes256-gcm:2,aes128-cbc:1,aes256-cbc:1' &&
     [ "$(grep -c 'reinjected=as-made' "$WORK/milter.log")" -eq 2 ]; then
    pass list-envelopes-one-each
  else
    fail list-envelopes-one-each "rc=$rc reply '$SMTP_REPLY' sink $(sink_count) ($counts) $(grep 'list=partners' "$WORK/milter.log" | grep action= | tail -n 1)"
  fi
  # envelope_of RCPT CASE: the delivered message for RCPT, its outer signature verified, its
  # envelope printed into $WORK/CASE.print; ENVELOPE_RIS: its RecipientInfos, ENVELOPE_CIPHER.
  envelope_of() {
    local f
    f=$(for g in $(sink_files); do sink_rcpts "$g" | grep -qi "<$1>" && echo "$g"; done | head -n 1)
    ENVELOPE_RIS= ENVELOPE_CIPHER=
    [ -n "$f" ] || { PEER_DETAIL="nothing delivered to $1"; return 1; }
    sink_message "$f" "$WORK/$2.eml" && verify_openssl "$WORK/$2.eml" &&
      smime_envelope "$VERIFIED_CONTENT" "$WORK/$2.der" || return 1
    openssl cms -cmsout -print -inform DER -in "$WORK/$2.der" >"$WORK/$2.print" 2>&1
    ENVELOPE_RIS=$(grep -c 'd\.issuerAndSerialNumber\|d\.subjectKeyIdentifier' "$WORK/$2.print")
    ENVELOPE_CIPHER=$(grep -io -m1 'aes-[0-9]*-[a-z]*' "$WORK/$2.print")
  }
  PEER_DETAIL=
  if envelope_of erin@partner.example env-partner && [ "$ENVELOPE_RIS" -eq 1 ] && [ "$ENVELOPE_CIPHER" = aes-256-gcm ] &&
     sink_rcpts "$(for g in $(sink_files); do sink_rcpts "$g" | grep -qi '<erin@partner.example>' && echo "$g"; done)" | grep -qi '<dave@partner.example>' &&
     decrypt_openssl "$WORK/env-partner.der" partner-domain "$WORK/env-partner.dec" && inner_ok "$WORK/env-partner.dec"; then
    pass list-envelopes-partner-gateway
  else
    fail list-envelopes-partner-gateway "recipient infos $ENVELOPE_RIS cipher '$ENVELOPE_CIPHER' (want 1, aes-256-gcm) $PEER_DETAIL"
  fi
  # member_envelope_is USER CIPHER: USER@acme.example's message has one RecipientInfo, CIPHER,
  # and USER's key opens it.
  member_envelope_is() {
    PEER_DETAIL=
    if envelope_of "$1@acme.example" "env-$1" && [ "$ENVELOPE_RIS" -eq 1 ] && [ "$ENVELOPE_CIPHER" = "$2" ] &&
       decrypt_openssl "$WORK/env-$1.der" "$1" "$WORK/env-$1.dec" && inner_ok "$WORK/env-$1.dec"; then
      pass "list-envelopes-$1"
    else
      fail "list-envelopes-$1" "recipient infos $ENVELOPE_RIS cipher '$ENVELOPE_CIPHER' (want 1, $2) $PEER_DETAIL"
    fi
  }
  member_envelope_is alice aes-128-cbc
  member_envelope_is carol aes-256-cbc
fi

# --- 9. made copies on an outbound listener, and what a made copy carries ------------------------
# Here the reinjection listener is outbound (ORIGINATING: what 127.0.0.0/8 in internal_networks
# gives in the recommended topology), so a list's copy made in full comes back to a RCPT TO
# planned as outbound mail from the list mail's sender to the copy's members: an envelope nobody
# judged at RCPT before (the expansion planned the members as the list's mail). carol's rule for
# mail from partners encrypts to our domain's gateway key, which has no certificate: until
# 2026-12-03 RCPT refused carol's copy, and with it the whole list message on every attempt.
# Now a made copy's RCPT answer waits for its marker (made_copies.h).
# dave sends alice's labelled message, encrypted to ops, to ops, whose member team is one of
# our lists: ops's copy for team comes back through the listener, team expands it (history: ops,
# then team) into three envelopes as in 8. The second group's envelope (carol's, made in full)
# carries the label of the received message unchanged, the history with ops's entry before
# team's, the archive certificate's RecipientInfo, and carol's and the archive's only.
MADE_CASES="list-made-copy-rcpt-waits-for-marker list-made-copy-each-member-once list-made-copy-label
  list-made-copy-history list-made-copy-archive list-made-copy-own-recipients-only
  list-made-copy-outsider-refused-at-rcpt"
if ! command -v postfix >/dev/null 2>&1 || ! command -v swaks >/dev/null 2>&1; then
  for cn in $MADE_CASES; do fail "$cn" "postfix or swaks not installed (required tools: run scripts/install-deps.sh)"; done
elif [ ! -s "$WORK/labelled.eml" ]; then
  for cn in $MADE_CASES; do fail "$cn" "no labelled input (case list-label-copied)"; done
else
  stop_milter
  issue_cert archive archive@acme.example rsa "keyEncipherment" || fatal list-made "issue archive"
  start_sink made || fatal list-made "smtp-sink did not start"
  MILTER_PORT=$(free_port); PF4_PORT=$(free_port); REINJECT_PORT=$(free_port)
  config made detached "[[rule]]
name = \"partner mail to carol goes to our gateway key\"
direction = \"outbound\"
from = [\"*@partner.example\"]
to = [\"carol@acme.example\"]
sign = \"sender\"
encrypt = \"mandatory\"
encrypt_to = \"domain\"

$GROUP_RULES" "$(reinjection_toml "$REINJECT_PORT")
[encryption]
archive_certificate = \"$XPKI/archive.cert.pem\"

$LABEL_TOML"
  # Mail from 127.0.0.1 is a partner's (inbound) on pf4's port; the listener is ORIGINATING.
  sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/made.toml"
  start_milter "$WORK/made.toml" || fatal list-made "milter did not start: $(tail -n 3 "$WORK/milter.log")"
  PF_MASTER_EXTRA=$(reinjection_listener "$REINJECT_PORT" milter_macro_daemon_name=ORIGINATING \
      "smtpd_recipient_restrictions=permit_mynetworks,reject") \
    start_postfix pf4 "$PF4_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal list-made "pf4 did not start"
  PF4=$PF_DIR
  # alice's signed, labelled message (case list-label-copied) encrypted by dave to ops.
  { printf 'From: alice@acme.example\r\nTo: ops@acme.example\r\nSubject: labelled minutes\r\n'
    printf 'Message-ID: <ml-made-%s@partner.example>\r\n' "$RANDOM"
    OPENSSL_CONF=/dev/null openssl cms -encrypt -aes256 -in "$WORK/labelled.eml" -outform SMIME \
      "$XPKI/ops.cert.pem" | sed 's/\r\?$/\r/'; } >"$WORK/made.eml" || fatal list-made "made input"
  send_mail "$PF4_PORT" dave@partner.example ops@acme.example "$WORK/made.eml"; rc=$?
  made_reply=$SMTP_REPLY
  wait_for_delivery 3 30
  pf_wait_queue_empty "$PF4" 30
  if [ $rc -eq 0 ] && ! grep 'rcpt-refused' "$WORK/milter.log" | grep -q 'carol@acme.example' &&
     grep 'rcpt-awaits-marker' "$WORK/milter.log" | grep -q 'carol@acme.example'; then
    pass list-made-copy-rcpt-waits-for-marker
  else
    fail list-made-copy-rcpt-waits-for-marker "rc=$rc reply '$made_reply' $(grep -E 'rcpt-refused|rcpt-awaits' "$WORK/milter.log" | tail -n 2 | tr '\n' ' ')"
  fi
  counts="dave $(delivered_to dave@partner.example) alice $(delivered_to alice@acme.example) carol $(delivered_to carol@acme.example)"
  if [ $rc -eq 0 ] && [ "$(sink_count)" -eq 3 ] && [ "$counts" = "dave 1 alice 1 carol 1" ] &&
     [ "$(delivered_to ops@acme.example)" -eq 0 ] && [ "$(delivered_to team@acme.example)" -eq 0 ] &&
     grep 'list=team@acme.example' "$WORK/milter.log" | grep 'action=expand' | tail -n 1 |
       grep -q 'members=3 skipped=1 history=2 encrypted=yes envelopes=aes128-cbc:1,aes256-cbc:1,aes256-gcm:1 label=copied'; then
    pass list-made-copy-each-member-once
  else
    fail list-made-copy-each-member-once "rc=$rc reply '$made_reply' sink $(sink_count) ($counts) $(grep 'list=team' "$WORK/milter.log" | grep action= | tail -n 1)"
  fi
  # carol's message: the second group's envelope, made in full by the gateway.
  PEER_DETAIL=
  if envelope_of carol@acme.example made-carol; then
    # The signed attribute OID's value (the SET after it) in a signature's DER, in hex.
    attribute_hex() {  # attribute_hex DER OID-HEX
      python3 - "$1" "$2" <<'PY'
import sys
der = open(sys.argv[1], 'rb').read()
oid = bytes.fromhex(sys.argv[2])
at = der.find(oid)
if at < 0:
    sys.exit(1)
at += len(oid)
assert der[at] == 0x31, 'no SET after the attribute type'
n = der[at + 1]
head = 2
if n & 0x80:
    k = n & 0x7f
    n = int.from_bytes(der[at + 2:at + 2 + k], 'big')
    head = 2 + k
print(der[at:at + head + n].hex())
PY
    }
    label_oid=060b2a864886f70d0109100202      # id-aa-securityLabel
    history_oid=060b2a864886f70d0109100203    # id-aa-mlExpandHistory
    smime_split "$WORK/labelled.eml" "$WORK/made-original" &&
      original_label=$(attribute_hex "$WORK/made-original/sig.der" $label_oid) || original_label=
    cp "$SIGNED_CMS" "$WORK/made-carol.sig.der"
    copy_label=$(attribute_hex "$WORK/made-carol.sig.der" $label_oid) || copy_label=
    if [ -n "$original_label" ] && [ "$copy_label" = "$original_label" ]; then
      pass list-made-copy-label
    else
      fail list-made-copy-label "copy's label '${copy_label:0:80}' original's '${original_label:0:80}'"
    fi
    # The history: two MLData entries, ops's (its certificate's serial) before team's.
    history=$(attribute_hex "$WORK/made-carol.sig.der" $history_oid) || history=
    ops_serial=$(openssl x509 -in "$XPKI/ops.cert.pem" -noout -serial | sed 's/.*=//' | tr 'A-F' 'a-f')
    team_serial=$(openssl x509 -in "$XPKI/team.cert.pem" -noout -serial | sed 's/.*=//' | tr 'A-F' 'a-f')
    ops_at=$(grep -bo "$ops_serial" <<<"$history" | head -n 1 | cut -d: -f1)
    team_at=$(grep -bo "$team_serial" <<<"$history" | head -n 1 | cut -d: -f1)
    entries=$(openssl asn1parse -inform DER -in <(xxd -r -p <<<"$history") 2>/dev/null | grep -c 'GENERALIZEDTIME')
    if [ -n "$ops_at" ] && [ -n "$team_at" ] && [ "$ops_at" -lt "$team_at" ] && [ "$entries" -eq 2 ]; then
      pass list-made-copy-history
    else
      fail list-made-copy-history "entries $entries, ops at '${ops_at}', team at '${team_at}': ${history:0:120}"
    fi
    # The RecipientInfos: carol's and the archive's, nobody else's (dave's group, alice's).
    # (OpenSSL prints a serial that fits in 64 bits in decimal, a longer one in hexadecimal.)
    serials=$(grep -o 'serialNumber: .*' "$WORK/made-carol.print" | sed 's/serialNumber: //' |
              python3 -c 'import sys; [print(format(int(l.strip(), 0), "x")) for l in sys.stdin if l.strip()]')
    serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/.*=//' | tr 'A-F' 'a-f' | sed 's/^0*//'; }
    want=$(for c in "$PKI/carol.cert.pem" "$XPKI/archive.cert.pem"; do serial_of "$c"; done | sort | tr '\n' ' ')
    serials=$(for s in $serials; do echo "$s" | sed 's/^0*//'; done | sort | tr '\n' ' ')
    # made_inner_ok FILE: FILE is alice's signed, labelled message (openssl verifies it).
    made_inner_ok() {
      OPENSSL_CONF=/dev/null openssl cms -verify -in "$1" -inform SMIME -CAfile "$PKI/root-ca.cert.pem" 2>/dev/null |
        grep -q 'Restricted minutes' || { PEER_DETAIL="$1: not alice's labelled message"; return 1; }
    }
    if decrypt_openssl "$WORK/made-carol.der" archive "$WORK/made-carol-archive.eml" &&
       made_inner_ok "$WORK/made-carol-archive.eml" && grep -q "$(serial_of "$XPKI/archive.cert.pem")" <<<"$serials"; then
      pass list-made-copy-archive
    else
      fail list-made-copy-archive "RecipientInfo serials '$serials' (archive $(serial_of "$XPKI/archive.cert.pem")) $PEER_DETAIL"
    fi
    if [ "$ENVELOPE_RIS" -eq 2 ] && [ "$serials" = "$want" ] &&
       decrypt_openssl "$WORK/made-carol.der" carol "$WORK/made-carol.dec" && made_inner_ok "$WORK/made-carol.dec" &&
       ! decrypt_openssl "$WORK/made-carol.der" alice "$WORK/made-carol-alice.eml" &&
       ! decrypt_openssl "$WORK/made-carol.der" partner-domain "$WORK/made-carol-gw.eml"; then
      pass list-made-copy-own-recipients-only
    else
      fail list-made-copy-own-recipients-only "recipient infos $ENVELOPE_RIS serials '$serials' want '$want' $PEER_DETAIL"
    fi
  else
    for cn in list-made-copy-label list-made-copy-history list-made-copy-archive list-made-copy-own-recipients-only; do
      fail "$cn" "no verified message for carol: $PEER_DETAIL"
    done
  fi
  # Nothing of the above for anyone else on the host: a message to the listener with that
  # envelope while no made copy of ours is in flight is judged at RCPT as ever.
  send_mail "$REINJECT_PORT" dave@partner.example carol@acme.example "$WORK/made.eml"; rc=$?
  if [ $rc -eq 5 ] && [[ $SMTP_REPLY == "550 5.7.1 "*"no usable certificate for domain-confidentiality-authority@acme.example"* ]]; then
    pass list-made-copy-outsider-refused-at-rcpt
  else
    fail list-made-copy-outsider-refused-at-rcpt "rc=$rc reply '$SMTP_REPLY'"
  fi
fi
