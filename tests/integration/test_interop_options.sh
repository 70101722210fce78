#!/bin/bash
# Inbound S/MIME made by the independent peers with options no other test uses (PRODUCT §3.1,
# §3.3; the peers' defaults and usual options are in test_inbound_variants.sh,
# test_inbound_postfix.sh and test_inbound_verify.sh):
#   - NSS cmsutil (Thunderbird's engine): envelopes to two recipients, ours first or second;
#     signatures over SHA-1 (weak: fail), SHA-384, SHA-512, without signing time and
#     capabilities, with an encryption key preference (-Y: the signer certificate twice in the
#     set) or none, ECDSA detached, and opaque over SHA-384 on P-256; Thunderbird's
#     sign-then-encrypt with both layers made by NSS;
#   - gpgsm (KMail, Kleopatra): opaque signatures, the signer certificate alone, envelopes to
#     two recipients and in 3DES, and sign-then-encrypt in two steps (gpgsm 2.2.40 has no
#     --sign --encrypt, and no ECDH);
#   - openssl cms: RSA-OAEP pairs (SHA-256 with MGF1-SHA-384, SHA-384 with MGF1-SHA-1,
#     SHA-512), RSA-PSS (SHA-512 salt = hash length, salt 0, SHA-384 with MGF1-SHA-256), ECDSA
#     P-521 over SHA-256 and P-384 over SHA-512, SHA3-256 (not ours: neutral), ECDH with a key
#     wrap of another size than the content cipher (AES-128/192/256 wrap, and the RFC 3217
#     Triple-DES wrap around an AES-256 key: held until 2026-12-04), the cofactor scheme on
#     P-384, AES-192-GCM, -resign (a second signature added later), DigestedData, EncryptedData
#     and a bare id-data ContentInfo as pkcs7-mime bodies (none ours to open: delivered as
#     received), 2 MB streamed (-stream) opaque signed and enveloped;
#   - Python cryptography: PKCS7EnvelopeBuilder (AES-128/256-CBC, DER and its own S/MIME
#     message), ECDSA P-384, RSA-PSS and two-signer signatures;
#   - GnuTLS certtool: ECDSA keys, a chain given as the certificate file;
#   - certificates in unusual shape: seven intermediates sent in the message, a signer
#     certificate without subject/authority key identifiers, a non-ASCII UTF8String subject.
# Every CMS object is made by a peer, never by our code. Offline through `ssmctl process
# --direction in` (the milter's own pipeline), keys on a SoftHSM token: decrypted bodies must be
# what `openssl cms -decrypt` makes of the same object, verified ones carry smime=pass.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools openssl perl python3 softhsm2-util pkcs11-tool gpgsm gpgconf cmsutil certutil pk12util certtool
require_binaries
T0=$SECONDS
inbound_offline_setup "$WORK/keep.toml" opt alice bob erin petra

# --- helpers --------------------------------------------------------------------------------
E=$WORK/m/plain.entity
printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello Alice,\r\nthe figures for Q3 are attached in spirit.\r\n' >"$E"
A=$PKI/alice.cert.pem
SIGN=(-signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem")
o() { openssl cms "$@" >>"$WORK/openssl.log" 2>&1 || fatal opt-setup "openssl cms $*: $(tail -n 2 "$WORK/openssl.log")"; }
outer() { printf 'From: %s\r\nTo: %s\r\nSubject: option %s\r\nMessage-ID: <%s@mua.partner.example>\r\nMIME-Version: 1.0\r\n' \
  "${SENDER:-$FROM}" "$RCPT" "$1" "$1"; }
b64() { perl -MMIME::Base64 -e 'local $/; my $e = encode_base64(<STDIN>, ""); $e =~ s/(.{1,64})/$1\r\n/g; print $e' <"$1"; }
ENV='Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m'
AENV='Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=smime.p7m'
OPQ='Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m'
MS='Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="----=_Part_9.opt"'
# cms_mail CASE DER CONTENT-TYPE: the DER (in $WORK/m) as the whole base64 body.
cms_mail() {
  { outer "$1"; printf '%s\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7m"\r\n\r\n' "$3"
    b64 "$WORK/m/$2"; } >"$WORK/out/$1.eml"
}
# signed_mail CASE SIG ENTITY: multipart/signed around ENTITY with the detached signature SIG.
signed_mail() {
  { outer "$1"; printf '%s\r\n\r\nThis is a cryptographically signed message in MIME format.\r\n\r\n------=_Part_9.opt\r\n' "$MS"
    cat "$3"
    printf '\r\n------=_Part_9.opt\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n'
    printf 'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
    b64 "$WORK/m/$2"; printf '\r\n------=_Part_9.opt--\r\n'; } >"$WORK/out/$1.eml"
}
# whole_mail CASE FILE: a tool's whole S/MIME message under our outer fields.
whole_mail() { { outer "$1"; perl -pe 's/\r?\n/\r\n/; $_ = "" if /^MIME-Version:/i' "$2"; } >"$WORK/out/$1.eml"; }
# run CASE [FROM]: ssmctl process; sets RC, OUT, LOG (decision and reply lines) and AR.
run() {
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/keep.toml" process --direction in --from "${2:-${SENDER:-$FROM}}" --to "$RCPT" \
    <"$WORK/out/$1.eml" >"$WORK/out/$1.out" 2>"$WORK/out/$1.err"
  RC=$? OUT=$WORK/out/$1.out
  LOG=$(grep -E '^(decision|reply):' "$WORK/out/$1.err" | tr '\n' ' ')
  AR=$(header_field "$OUT" Authentication-Results 2>/dev/null | tr '\n' ' ')
}
# expect_decrypted CASE DER KEY-NAME [LOG-REGEX]: accepted, and the body is what openssl cms
# -decrypt makes of DER with KEY-NAME's key (Content-* fields and body, CRLF).
expect_decrypted() {
  local cn=$1 der=$WORK/m/$2 why
  if ! decrypt_openssl "$der" "$3" "$WORK/m/$cn.openssl"; then fail "$cn" "openssl does not decrypt it: $PEER_DETAIL"; return; fi
  perl -pe 's/\r?\n/\r\n/' "$WORK/m/$cn.openssl" >"$WORK/m/$cn.plain"
  run "$cn"
  if [ "$RC" -ne 0 ]; then fail "$cn" "exit $RC: $LOG"; return; fi
  why=$(compare_plaintext "$OUT" "$WORK/m/$cn.plain")
  if [ -n "$why" ]; then fail "$cn" "$why ($LOG)"
  elif ! grep -Eq -- "${4:-action=decrypt }" <<<"$LOG"; then fail "$cn" "log: $LOG (expected /${4:-action=decrypt }/)"
  else pass "$cn"; fi
}
# expect_signed_inside CASE ENTITY LOG-REGEX: decrypted, and delivered is the signed ENTITY that
# was encrypted (its Content-Type and body; compare_plaintext takes any pkcs7 type for a leftover
# encryption), its signature verified.
expect_signed_inside() {
  local cn=$1 entity=$2
  run "$cn"
  if [ "$RC" = 0 ] && grep -Eq -- "$3" <<<"$LOG" && grep -q "^mx.acme.example; smime=pass body.smime-identifier=$FROM " <<<"$AR" \
     && [ "$(header_field "$OUT" Content-Type)" = "$(header_field "$entity" Content-Type)" ] \
     && cmp -s <(entity_body "$entity" /dev/stdout) <(entity_body "$OUT" /dev/stdout); then pass "$cn"
  else fail "$cn" "exit $RC: $AR $LOG"; fi
}
# expect_verified CASE [SIGNER] [LOG-REGEX]: accepted, smime=pass for SIGNER, body unchanged.
expect_verified() {
  local cn=$1 who=${2:-${SENDER:-$FROM}}
  run "$cn" "$who"
  if [ "$RC" -ne 0 ]; then fail "$cn" "exit $RC: $LOG"
  elif ! grep -q "^mx.acme.example; smime=pass body.smime-identifier=$who " <<<"$AR"; then fail "$cn" "A-R: $AR ($LOG)"
  elif ! grep -Eq -- "${3:-smime=pass signer=$who }" <<<"$LOG"; then fail "$cn" "log: $LOG (expected /${3:-smime=pass signer=$who }/)"
  elif ! cmp -s <(entity_body "$WORK/out/$cn.eml" /dev/stdout) <(entity_body "$OUT" /dev/stdout); then fail "$cn" "the signed body was changed"
  else pass "$cn"; fi
}
# expect_result CASE RESULT REASON-REGEX: accepted with smime=RESULT and that reason.
expect_result() {
  run "$1"
  if [ "$RC" -ne 0 ]; then fail "$1" "exit $RC: $LOG"
  elif ! grep -Eq "^mx.acme.example; smime=$2 reason=\"?$3" <<<"$AR"; then fail "$1" "A-R: $AR ($LOG)"
  else pass "$1"; fi
}
# expect_untouched CASE: not ours to open or check: delivered as received, nothing claimed.
expect_untouched() {
  run "$1"
  if [ "$RC" = 0 ] && grep -q 'action=none' <<<"$LOG" && ! grep -q 'smime=' <<<"$AR" \
     && cmp -s <(entity_body "$WORK/out/$1.eml" /dev/stdout) <(entity_body "$OUT" /dev/stdout); then pass "$1"
  else fail "$1" "exit $RC: $AR $LOG"; fi
}

cd "$WORK/m" || fatal opt-setup "cd"
# Partner signers on the curves the test PKI gives only to acme users.
issue_cert pia pia@partner.example p384 "digitalSignature" || fatal opt-setup "issue pia"
issue_cert quinn quinn@partner.example p521 "digitalSignature" || fatal opt-setup "issue quinn"

# --- certificates in unusual shape (used in 3 and 6) ------------------------------------------
# A chain of seven intermediates (the sub-CA and six below it), all in the message; a signer
# certificate with neither subjectKeyIdentifier nor authorityKeyIdentifier; a subject in
# non-ASCII UTF8String (the address in subjectAltName).
printf 'basicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >ca.ext
printf 'basicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = emailProtection\nsubjectAltName = email:dave@partner.example\n' >ee.ext
printf '%ssubjectKeyIdentifier = none\nauthorityKeyIdentifier = none\n' "$(cat ee.ext)
" >ee-noid.ext
( set -e
  ca=$PKI/sub-ca; : >long-chain.pem
  for i in 1 2 3 4 5 6; do
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "ica$i.key.pem" -subj "/O=Partner/CN=Level $i CA" -out "ica$i.csr"
    openssl x509 -req -in "ica$i.csr" -CA "$ca.cert.pem" -CAkey "$ca.key.pem" -set_serial "$((0x1c0 + i))" -days 30 -extfile ca.ext -out "ica$i.cert.pem"
    cat "ica$i.cert.pem" >>long-chain.pem; ca=ica$i
  done
  cat "$PKI/sub-ca.cert.pem" >>long-chain.pem
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout deep.key.pem -subj "/O=Partner/CN=dave deep" -out deep.csr
  openssl x509 -req -in deep.csr -CA ica6.cert.pem -CAkey ica6.key.pem -set_serial 0x1d0 -days 30 -extfile ee.ext -out deep.cert.pem
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout noid.key.pem -subj "/O=Partner/CN=dave no key identifiers" -out noid.csr
  openssl x509 -req -in noid.csr -CA "$PKI/sub-ca.cert.pem" -CAkey "$PKI/sub-ca.key.pem" -set_serial 0x1d1 -days 30 -extfile ee-noid.ext -out noid.cert.pem
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout utf8.key.pem -utf8 -subj "/O=Partner Straße GmbH/CN=Dävé Jørgensen 山田" -out utf8.csr
  openssl x509 -req -in utf8.csr -CA "$PKI/sub-ca.cert.pem" -CAkey "$PKI/sub-ca.key.pem" -set_serial 0x1d2 -days 30 -extfile ee.ext -out utf8.cert.pem
  openssl req -new -newkey rsa:1024 -nodes -keyout rsa1024.key.pem -subj "/O=Partner/CN=dave old key" -out rsa1024.csr
  openssl x509 -req -in rsa1024.csr -CA "$PKI/sub-ca.cert.pem" -CAkey "$PKI/sub-ca.key.pem" -set_serial 0x1d3 -days 30 -extfile ee.ext -out rsa1024.cert.pem
  if openssl x509 -in noid.cert.pem -noout -text | grep -q 'Key Identifier'; then echo "noid has a key identifier"; exit 1; fi
  openssl asn1parse -in utf8.cert.pem | grep -q 'UTF8STRING *:Dävé'
) >>"$WORK/openssl.log" 2>&1
[ $? = 0 ] || fatal opt-setup "certificates: $(tail -n 2 "$WORK/openssl.log")"
# --- 1. NSS cmsutil ---------------------------------------------------------------------------
# (sign_cmsutil imports the key into the peer's NSS db; the other options are given here.)
nss() { cmsutil "$@" -d "sql:$NPEER" >>"$WORK/nss.log" 2>&1; }
if sign_cmsutil "$E" dave nss-det.der && sign_cmsutil "$E" frank nss-det-frank.der; then
  certutil -A -n alice -t ",," -i "$A" -d "sql:$NPEER" >/dev/null 2>&1
  certutil -A -n dave-r -t ",," -i "$PKI/dave.cert.pem" -d "sql:$NPEER" >/dev/null 2>&1
  for c in 'nss-enc-ours-second:-E -r dave@partner.example,alice@acme.example' \
           'nss-enc-ours-first:-E -r alice@acme.example,dave@partner.example' \
           'nss-det-sha1:-S -T -G -P -N dave -H SHA1 -u 4' \
           'nss-det-sha384:-S -T -G -P -N dave -H SHA384 -u 4' \
           'nss-det-sha512:-S -T -N dave -H SHA512 -u 4' \
           'nss-det-no-time-no-caps:-S -T -N dave -u 4' \
           'nss-det-enckeypref:-S -T -G -P -Y dave -N dave -u 4' \
           'nss-det-no-enckeypref:-S -T -G -P -Y NONE -N dave -u 4' \
           'nss-opq-ecdsa-sha384:-S -G -P -N frank -H SHA384 -u 4'; do
    IFS=: read -r cn args <<<"$c"
    # shellcheck disable=SC2086  # the options are words
    nss $args -i "$E" -o "$cn.der" || fatal opt-setup "cmsutil $args: $(tail -n 2 "$WORK/nss.log")"
  done
  cms_mail nss-enc-ours-second nss-enc-ours-second.der "$ENV"; expect_decrypted nss-enc-ours-second nss-enc-ours-second.der alice
  cms_mail nss-enc-ours-first nss-enc-ours-first.der "$ENV"; expect_decrypted nss-enc-ours-first nss-enc-ours-first.der alice
  for cn in nss-det-sha384 nss-det-sha512 nss-det-no-time-no-caps nss-det-enckeypref nss-det-no-enckeypref; do
    signed_mail "$cn" "$cn.der" "$E"; expect_verified "$cn"
  done
  SENDER=frank@partner.example signed_mail nss-det-ecdsa nss-det-frank.der "$E"
  SENDER=frank@partner.example expect_verified nss-det-ecdsa frank@partner.example 'alg=ecdsa/sha-256 '
  SENDER=frank@partner.example cms_mail nss-opq-ecdsa-sha384 nss-opq-ecdsa-sha384.der "$OPQ"
  SENDER=frank@partner.example expect_verified nss-opq-ecdsa-sha384 frank@partner.example 'alg=ecdsa/sha-384 '
  signed_mail nss-det-sha1 nss-det-sha1.der "$E"; expect_result nss-det-sha1 fail 'weak digest'
  # Thunderbird's sign-then-encrypt, both layers by NSS: its multipart/signed (boundary,
  # Content-Description, 76-character base64) as the plaintext of cmsutil -E.
  { printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r\n boundary="------------ms010203040506"\r\n\r\n'
    printf 'This is a cryptographically signed message in MIME format.\r\n\r\n--------------ms010203040506\r\n'; cat "$E"
    printf '\r\n--------------ms010203040506\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\n'
    printf 'Content-Disposition: attachment; filename="smime.p7s"\r\nContent-Description: S/MIME Cryptographic Signature\r\n\r\n'
    perl -MMIME::Base64 -e 'local $/; my $e = encode_base64(<STDIN>, ""); $e =~ s/(.{1,76})/$1\r\n/g; print $e' <nss-det.der
    printf '\r\n--------------ms010203040506--\r\n\r\n'; } >tb-signed.entity
  nss -E -r alice@acme.example -i tb-signed.entity -o tb-signed-encrypted.der || fatal opt-setup "cmsutil -E: $(tail -n 2 "$WORK/nss.log")"
  cms_mail nss-signed-then-encrypted tb-signed-encrypted.der "$ENV"
  expect_signed_inside nss-signed-then-encrypted tb-signed.entity 'action=decrypt\+verify .*smime=pass signer=dave@partner.example '
else skip nss-cases "cmsutil could not sign: $PEER_DETAIL"; fi

# --- 2. gpgsm ---------------------------------------------------------------------------------
gsm() { echo test | GNUPGHOME=$GPEER gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 "$@" >>"$WORK/gpgsm.log" 2>&1; }
fpr() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }
if sign_gpgsm "$E" dave gpgsm-det.der && encrypt_gpgsm "$E" alice gpgsm-alice.der; then
  GNUPGHOME=$GPEER gpgsm --batch --import "$PKI/dave.cert.pem" >/dev/null 2>&1
  D=0x$(fpr "$PKI/dave.cert.pem") AL=0x$(fpr "$A")
  gsm --local-user "$D" --output gpgsm-opq.der --sign "$E" \
    && gsm --local-user "$D" --include-certs 1 --output gpgsm-det-signer-only.der --detach-sign "$E" \
    && gsm --recipient "$D" --recipient "$AL" --output gpgsm-enc-two.der --encrypt "$E" \
    && gsm --cipher-algo 3DES --recipient "$AL" --output gpgsm-enc-3des.der --encrypt "$E" \
    || fatal opt-setup "gpgsm: $(tail -n 2 "$WORK/gpgsm.log")"
  # KMail's sign-then-encrypt: an opaque signature, then its MIME entity encrypted.
  { printf '%s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$OPQ"; b64 gpgsm-opq.der; } >gpgsm-opq.entity
  gsm --recipient "$AL" --output gpgsm-signed-encrypted.der --encrypt gpgsm-opq.entity || fatal opt-setup "gpgsm: $(tail -n 2 "$WORK/gpgsm.log")"
  cms_mail gpgsm-opq gpgsm-opq.der "$OPQ"; expect_verified gpgsm-opq
  signed_mail gpgsm-det-signer-only gpgsm-det-signer-only.der "$E"; expect_verified gpgsm-det-signer-only
  cms_mail gpgsm-enc-two gpgsm-enc-two.der "$ENV"; expect_decrypted gpgsm-enc-two gpgsm-enc-two.der alice
  cms_mail gpgsm-enc-3des gpgsm-enc-3des.der "$ENV"; expect_decrypted gpgsm-enc-3des gpgsm-enc-3des.der alice 'cipher=des-ede3-cbc '
  # (the opaque signature inside is delivered as it is, verified: strip_signature is off)
  cms_mail gpgsm-signed-encrypted gpgsm-signed-encrypted.der "$ENV"
  expect_signed_inside gpgsm-signed-encrypted gpgsm-opq.entity 'action=decrypt\+verify .*smime=pass signer=dave@partner.example '
else skip gpgsm-cases "gpgsm: $PEER_DETAIL"; fi

# --- 3. openssl cms: options no other test uses -----------------------------------------------
oaep() { o -encrypt -binary -aes-256-cbc -in "$E" -outform DER -out "$1" -recip "$A" -keyopt rsa_padding_mode:oaep \
           -keyopt "rsa_oaep_md:$2" -keyopt "rsa_mgf1_md:$3"; }
oaep oaep-sha256-mgf384.der sha256 sha384
oaep oaep-sha384-mgf1.der sha384 sha1
oaep oaep-sha512.der sha512 sha512
for cn in oaep-sha256-mgf384 oaep-sha384-mgf1 oaep-sha512; do
  cms_mail "enc-$cn" "$cn.der" "$ENV"; expect_decrypted "enc-$cn" "$cn.der" alice 'decrypted=ktri-rsa-oaep '
done
o -encrypt -binary -aes-256-cbc -aes128-wrap -in "$E" -outform DER -out kari-wrap128.der -recip "$PKI/bob.cert.pem"
o -encrypt -binary -aes-128-cbc -aes256-wrap -in "$E" -outform DER -out kari-wrap256.der -recip "$PKI/erin.cert.pem" -keyopt ecdh_kdf_md:sha384
o -encrypt -binary -aes-256-gcm -aes192-wrap -in "$E" -outform DER -out kari-gcm-wrap192.der -recip "$PKI/petra.cert.pem" -keyopt ecdh_kdf_md:sha512
o -encrypt -binary -aes-256-cbc -in "$E" -outform DER -out kari-cofactor.der -recip "$PKI/erin.cert.pem" -keyopt ecdh_cofactor_mode:1 -keyopt ecdh_kdf_md:sha384
o -encrypt -binary -aes-192-gcm -in "$E" -outform DER -out gcm192.der "$A"
# The RFC 3217 Triple-DES key wrap around an AES-256 key (-des3-wrap): OpenSSL wraps a key of
# any multiple of 8 octets this way (into the key's length + 16) and decrypts it; it was held
# as undecryptable until 2026-12-04 ("3DES key wrap for another cipher").
o -encrypt -binary -aes-256-cbc -des3-wrap -in "$E" -outform DER -out kari-des3wrap-aes256.der -recip "$PKI/bob.cert.pem"
for c in kari-des3wrap-aes256:bob:ENV kari-wrap128:bob:ENV kari-wrap256:erin:ENV kari-gcm-wrap192:petra:AENV kari-cofactor:erin:ENV gcm192:alice:AENV; do
  IFS=: read -r cn who ct <<<"$c"
  RCPT=$who@acme.example cms_mail "enc-$cn" "$cn.der" "${!ct}"
  RCPT=$who@acme.example expect_decrypted "enc-$cn" "$cn.der" "$who"
done
o -sign -binary -md sha512 "${SIGN[@]}" -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:digest -keyopt rsa_mgf1_md:sha512 -in "$E" -outform DER -out pss-sha512-digest.der
o -sign -binary -md sha256 "${SIGN[@]}" -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:0 -in "$E" -outform DER -out pss-salt0.der
o -sign -binary -md sha384 "${SIGN[@]}" -keyopt rsa_padding_mode:pss -keyopt rsa_mgf1_md:sha256 -in "$E" -outform DER -out pss-sha384-mgf256.der
for cn in pss-sha512-digest pss-salt0 pss-sha384-mgf256; do
  signed_mail "det-$cn" "$cn.der" "$E"; expect_verified "det-$cn" "$FROM" 'alg=rsa-pss/sha-(256|384|512) '
done
o -sign -binary -md sha256 -signer "$XPKI/quinn.cert.pem" -inkey "$XPKI/quinn.key.pem" -certfile "$PKI/sub-ca.cert.pem" -in "$E" -outform DER -out p521-sha256.der
o -sign -binary -nodetach -md sha512 -signer "$XPKI/pia.cert.pem" -inkey "$XPKI/pia.key.pem" -certfile "$PKI/sub-ca.cert.pem" -in "$E" -outform DER -out p384-sha512.der
SENDER=quinn@partner.example signed_mail det-ecdsa-p521-sha256 p521-sha256.der "$E"
SENDER=quinn@partner.example expect_verified det-ecdsa-p521-sha256 quinn@partner.example 'alg=ecdsa/sha-256 '
SENDER=pia@partner.example cms_mail opq-ecdsa-p384-sha512 p384-sha512.der "$OPQ"
SENDER=pia@partner.example expect_verified opq-ecdsa-p384-sha512 pia@partner.example 'alg=ecdsa/sha-512 '
# SHA3-256 (RSA PKCS#1 v1.5, id-rsassa-pkcs1-v1_5-with-sha3-256): not implemented here, so
# neutral with the reason, never a pass or a fail.
o -sign -binary -md sha3-256 "${SIGN[@]}" -in "$E" -outform DER -out sha3.der
signed_mail det-sha3-256 sha3.der "$E"; expect_result det-sha3-256 neutral 'unsupported algorithm'
# -resign: a second signature of dave's (his EC certificate without key identifiers) added to
# the first afterwards: one SignedData, two SignerInfos, both for the author.
o -sign -binary "${SIGN[@]}" -in "$E" -outform DER -out det.der
o -resign -binary -inform DER -in det.der -content "$E" -md sha256 -signer noid.cert.pem -inkey noid.key.pem -outform DER -out resigned.der
signed_mail det-resigned resigned.der "$E"
# (SignerInfos are a SET OF: the DER order, not the order of signing, decides which comes first)
R='smime=pass signer=dave@partner.example alg=rsa-pkcs1/sha-256 ' EC='smime=pass signer=dave@partner.example alg=ecdsa/sha-256 '
expect_verified det-resigned "$FROM" "$R$EC|$EC$R"
# Content types that are S/MIME bodies of no kind we open (RFC 5652 §7, §8, §4): delivered as received.
o -digest_create -binary -md sha256 -in "$E" -outform DER -out digested.der
o -EncryptedData_encrypt -binary -aes-128-cbc -secretkey 000102030405060708090a0b0c0d0e0f -in "$E" -outform DER -out encrypted-data.der
o -data_create -binary -in "$E" -outform DER -out data.der
cms_mail digested-data digested.der 'Content-Type: application/pkcs7-mime; name=smime.p7m'
cms_mail encrypted-data encrypted-data.der 'Content-Type: application/pkcs7-mime; name=smime.p7m'
cms_mail data-content-info data.der 'Content-Type: application/pkcs7-mime; name=smime.p7m'
for cn in digested-data encrypted-data data-content-info; do expect_untouched "$cn"; done
# 2 MB streamed (-stream: indefinite lengths, the content in segments): opaque signed, enveloped.
{ printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n'; for i in $(seq 1 30000); do printf 'line %06d of a long report, padded to some seventy octets ......\r\n' "$i"; done; } >big.entity
o -sign -binary -nodetach -stream "${SIGN[@]}" -in big.entity -outform DER -out big-opq.der
o -encrypt -binary -stream -aes-256-cbc -in big.entity -outform DER -out big-enc.der "$A"
cms_mail big-opq-stream big-opq.der "$OPQ"; expect_verified big-opq-stream
cms_mail big-enc-stream big-enc.der "$ENV"; expect_decrypted big-enc-stream big-enc.der alice

# --- 4. Python cryptography -------------------------------------------------------------------
if python3 -c 'from cryptography.hazmat.primitives.serialization.pkcs7 import PKCS7EnvelopeBuilder' 2>/dev/null; then
  python3 - "$PKI" "$XPKI" "$E" >"$WORK/py.log" 2>&1 <<'PY' || fatal opt-setup "python cryptography: $(tail -n 2 "$WORK/py.log")"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7
pki, xpki, src = sys.argv[1:4]
cert = lambda d, n: x509.load_pem_x509_certificate(open(f'{d}/{n}.cert.pem', 'rb').read())
key = lambda d, n: serialization.load_pem_private_key(open(f'{d}/{n}.key.pem', 'rb').read(), None)
data = open(src, 'rb').read()
O, DER = pkcs7.PKCS7Options, serialization.Encoding.DER
env = lambda alg: pkcs7.PKCS7EnvelopeBuilder().set_data(data).add_recipient(cert(pki, 'dave')) \
    .add_recipient(cert(pki, 'alice')).set_content_encryption_algorithm(alg)
open('py-enc-aes128.der', 'wb').write(env(algorithms.AES128).encrypt(DER, [O.Binary]))
open('py-enc-aes256.der', 'wb').write(env(algorithms.AES256).encrypt(DER, [O.Binary]))
open('py-enc.eml', 'wb').write(env(algorithms.AES256).encrypt(serialization.Encoding.SMIME, []))
sb = lambda: pkcs7.PKCS7SignatureBuilder().set_data(data).add_certificate(cert(pki, 'sub-ca'))
DET = [O.DetachedSignature, O.Binary]
open('py-ecdsa-p384.der', 'wb').write(sb().add_signer(cert(xpki, 'pia'), key(xpki, 'pia'), hashes.SHA384()).sign(DER, DET))
pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
open('py-pss.der', 'wb').write(sb().add_signer(cert(pki, 'dave'), key(pki, 'dave'), hashes.SHA256(), rsa_padding=pss).sign(DER, DET))
open('py-two.der', 'wb').write(sb().add_signer(cert(pki, 'dave'), key(pki, 'dave'), hashes.SHA256())
    .add_signer(cert('.', 'noid'), key('.', 'noid'), hashes.SHA512()).sign(DER, DET))
PY
  cms_mail py-enc-aes128 py-enc-aes128.der "$ENV"; expect_decrypted py-enc-aes128 py-enc-aes128.der alice 'cipher=aes128-cbc '
  cms_mail py-enc-aes256 py-enc-aes256.der "$ENV"; expect_decrypted py-enc-aes256 py-enc-aes256.der alice 'cipher=aes256-cbc '
  whole_mail py-enc-smime py-enc.eml
  smime_envelope "$WORK/out/py-enc-smime.eml" py-enc-smime.der || fatal opt-setup "python S/MIME: $PEER_DETAIL"
  expect_decrypted py-enc-smime py-enc-smime.der alice
  SENDER=pia@partner.example signed_mail py-det-ecdsa-p384 py-ecdsa-p384.der "$E"
  SENDER=pia@partner.example expect_verified py-det-ecdsa-p384 pia@partner.example 'alg=ecdsa/sha-384 '
  signed_mail py-det-pss py-pss.der "$E"; expect_verified py-det-pss "$FROM" 'alg=rsa-pss/sha-256 '
  signed_mail py-det-two-signers py-two.der "$E"
  EC='smime=pass signer=dave@partner.example alg=ecdsa/sha-512 '
  expect_verified py-det-two-signers "$FROM" "$R$EC|$EC$R"
else skip python-cryptography-cases "python3-cryptography has no PKCS7EnvelopeBuilder"; fi

# --- 5. GnuTLS certtool -----------------------------------------------------------------------
ct() { certtool "$@" >>"$WORK/certtool.log" 2>&1 || fatal opt-setup "certtool $*: $(tail -n 2 "$WORK/certtool.log")"; }
ct --p7-detached-sign --load-privkey "$PKI/frank.key.pem" --load-certificate "$PKI/frank.cert.pem" --infile "$E" --outder --outfile ct-ecdsa.der
ct --p7-sign --p7-time --hash SHA384 --load-privkey "$XPKI/pia.key.pem" --load-certificate "$XPKI/pia.cert.pem" --infile "$E" --outder --outfile ct-opq-p384.der
cat "$PKI/dave.cert.pem" "$PKI/sub-ca.cert.pem" "$PKI/root-ca.cert.pem" >dave-chain.pem
ct --p7-detached-sign --load-privkey "$PKI/dave.key.pem" --load-certificate dave-chain.pem --infile "$E" --outder --outfile ct-chain.der
SENDER=frank@partner.example signed_mail ct-det-ecdsa ct-ecdsa.der "$E"
SENDER=frank@partner.example expect_verified ct-det-ecdsa frank@partner.example 'alg=ecdsa/sha-256 '
SENDER=pia@partner.example cms_mail ct-opq-ecdsa-p384 ct-opq-p384.der "$OPQ"
SENDER=pia@partner.example expect_verified ct-opq-ecdsa-p384 pia@partner.example 'alg=ecdsa/sha-384 '
signed_mail ct-det-chain ct-chain.der "$E"; expect_verified ct-det-chain

# --- 6. certificates in unusual shape ---------------------------------------------------------
o -sign -binary -signer deep.cert.pem -inkey deep.key.pem -certfile long-chain.pem -in "$E" -outform DER -out deep.der
o -sign -binary -signer noid.cert.pem -inkey noid.key.pem -certfile "$PKI/sub-ca.cert.pem" -in "$E" -outform DER -out noid.der
o -sign -binary -signer utf8.cert.pem -inkey utf8.key.pem -certfile "$PKI/sub-ca.cert.pem" -in "$E" -outform DER -out utf8.der
for cn in deep noid utf8; do signed_mail "det-signer-$cn" "$cn.der" "$E"; expect_verified "det-signer-$cn"; done
# An RSA key below 2048 bits (RFC 8551 §4: SHOULD NOT be used; old mail has them): verified,
# and the log says so.
o -sign -binary -signer rsa1024.cert.pem -inkey rsa1024.key.pem -certfile "$PKI/sub-ca.cert.pem" -in "$E" -outform DER -out rsa1024.der
signed_mail det-signer-rsa1024 rsa1024.der "$E"
expect_verified det-signer-rsa1024 "$FROM" "signer-key-weak=rsa1024 .*smime=pass signer=$FROM "

note "took $((SECONDS - T0)) s"
