#!/bin/bash
# Inbound CMS structures as independent implementations build them (PRODUCT §3.1, §3.3): legal
# RFC 5652 / 5083 / 5084 / 5753 / 8103 encodings that our encoder and the usual openssl options
# never produce (test_inbound_variants.sh covers MIME shapes and the peers' defaults).
# EnvelopedData: unprotectedAttrs; originatorInfo with certificates and CRLs, an attribute
# certificate, other certificate and revocation formats; KEK, password and other RecipientInfos
# before ours, and one of every kind before ours; rsaEncryption without NULL parameters; every version RFC 5652 §6.1 gives and wrong ones; indefinite lengths everywhere.
# KeyAgreeRecipientInfo: a ukm, rKeyId (with a date), ours second or third among several
# RecipientEncryptedKeys. AuthEnvelopedData: authAttrs (out of DER order, from a BER encoder; a
# changed one fails), a mac in BER segments, GCM ICV lengths 8 and 12-16 (12 also as the
# DEFAULT), nonces of 8 and 16 octets, AES-CCM, ChaCha20-Poly1305. SignedData: digestAlgorithms
# with more, none or only other algorithms (detached and opaque); an attribute certificate and
# an other-format certificate; an OCSP response as revocation info (RFC 5940); a
# countersignature and an RFC 3161 timestamp token as unsigned attributes; signed attributes
# sent out of DER order (signed over the DER, or over the octets sent) or from a BER encoder; a
# GeneralizedTime signing-time; eContent in constructed segments (one octet, nested); two
# signers, one with an algorithm we do not know; indefinite lengths everywhere; digestAlgorithms
# entries that are no AlgorithmIdentifier (passed over) and no SEQUENCE (refused).
# The objects are made by tests/fixtures/cms_structures.py (byte surgery on openssl output,
# or built whole with Python's cryptography package) and the RFC 3161 token and OCSP response
# by openssl; the built EnvelopedData are checked with `openssl cms -decrypt` first. Offline
# through `ssmctl process --direction in` (the milter's own pipeline) with our keys on a
# SoftHSM token.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools openssl perl python3 softhsm2-util pkcs11-tool certtool
require_binaries
python3 -c 'import cryptography.hazmat.primitives.ciphers.aead, cryptography.hazmat.primitives.keywrap' 2>/dev/null \
  || fatal structures-setup "python3 cryptography (python3-cryptography) is required to build the CMS objects"
python3 -c 'import pyasn1.codec.ber.encoder' 2>/dev/null \
  || fatal structures-setup "python3 pyasn1 (python3-pyasn1) is required to build the CMS objects"
inbound_offline_setup "$WORK/in.toml" structures alice bob

# --- the objects ---------------------------------------------------------------------------------
E=$WORK/m/plain.entity
printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello Alice,\r\nthe structures are unusual, the content is not.\r\n' >"$E"
SIGN=(-signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem")
o() { openssl "$@" >>"$WORK/openssl.log" 2>&1 || fatal structures-setup "openssl $*: $(tail -n 2 "$WORK/openssl.log")"; }
cd "$WORK/m" || fatal structures-setup "cd"
o cms -encrypt -binary -aes-256-cbc -in "$E" -outform DER -out aes256.der "$PKI/alice.cert.pem"
o cms -encrypt -binary -aes-256-cbc -in "$E" -outform DER -out kekri.der -secretkey 000102030405060708090a0b0c0d0e0f \
  -secretkeyid 0102 -recip "$PKI/alice.cert.pem"
o cms -encrypt -binary -aes-256-cbc -in "$E" -outform DER -out pwri.der -pwri_password not-for-us -recip "$PKI/alice.cert.pem"
o cms -encrypt -binary -aes-256-cbc -in "$E" -outform DER -out mixed.der -recip "$PKI/carol.cert.pem" -recip "$PKI/frank.cert.pem" \
  -secretkey 000102030405060708090a0b0c0d0e0f -secretkeyid 0102 -pwri_password not-for-us -recip "$PKI/alice.cert.pem"
o cms -sign -binary "${SIGN[@]}" -in "$E" -outform DER -out det.der
o cms -sign -binary -nodetach "${SIGN[@]}" -in "$E" -outform DER -out opaque.der
o cms -sign -binary -signer "$PKI/frank.cert.pem" -inkey "$PKI/frank.key.pem" "${SIGN[@]}" -in "$E" -outform DER -out det-two.der
printf 'crl_next_update = 30\ncrl_number = 1\n' >crl.tmpl
certtool --generate-crl --load-ca-privkey "$PKI/sub-ca.key.pem" --load-ca-certificate "$PKI/sub-ca.cert.pem" \
  --template crl.tmpl --outder --outfile sub-ca.crl >>"$WORK/certtool.log" 2>&1 || fatal structures-setup "certtool --generate-crl"
# An OCSP response for dave's certificate from the sub-CA (status unknown: an empty index).
: >index.txt
o ocsp -issuer "$PKI/sub-ca.cert.pem" -cert "$PKI/dave.cert.pem" -no_nonce -reqout ocsp-req.der
o ocsp -index index.txt -rsigner "$PKI/sub-ca.cert.pem" -rkey "$PKI/sub-ca.key.pem" -CA "$PKI/sub-ca.cert.pem" \
  -reqin ocsp-req.der -respout ocsp.der
# An RFC 3161 timestamp token over dave's signature value, from a TSA certificate of the sub-CA.
printf 'basicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = critical, timeStamping\n' >tsa.ext
cat >tsa.cnf <<EOF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = $WORK/m/tsa.serial
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.6.1
digests = sha256
accuracy = secs:1
ess_cert_id_alg = sha256
EOF
echo 01 >tsa.serial
o genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out tsa.key
o req -new -key tsa.key -subj "/O=Partner/CN=partner timestamps" -out tsa.csr
o x509 -req -in tsa.csr -CA "$PKI/sub-ca.cert.pem" -CAkey "$PKI/sub-ca.key.pem" -set_serial 0x75a -days 30 -extfile tsa.ext -out tsa.cert.pem
python3 -c 'import sys; sys.path.insert(0, sys.argv[1])
from der_build import tlv, children
b = open("det.der", "rb").read()
sd = children(b, *tlv(b, children(b, *tlv(b, 0)[1:])[1][2])[1:])
si = children(b, sd[-1][2], sd[-1][3])[0]
sig = children(b, si[2], si[3])[5]
open("sig.bin", "wb").write(b[sig[2]:sig[3]])' "$SSM_SRCDIR/tests/fixtures" || fatal structures-setup "signature value"
o ts -query -data sig.bin -sha256 -cert -out tsq.der
o ts -reply -config tsa.cnf -queryfile tsq.der -signer tsa.cert.pem -inkey tsa.key -chain "$PKI/sub-ca.cert.pem" -token_out -out tst.der
python3 "$SSM_SRCDIR/tests/fixtures/cms_structures.py" "$PKI" "$WORK/m" >>"$WORK/python.log" 2>&1 \
  || fatal structures-setup "cms_structures.py: $(tail -n 3 "$WORK/python.log")"
# The built EnvelopedData are what openssl reads (a wrong builder is no test of ours).
for f in s-ed-*.der s-kari-*.der; do
  case $f in s-ed-wrong-version-*|s-ed-v3-ori-first.der|s-ed-v4-*|s-ed-v3-originator-attribute-cert.der) continue ;; esac
  k=alice; case $f in s-kari-*) k=bob ;; esac
  openssl cms -decrypt -binary -inform DER -in "$f" -recip "$PKI/$k.cert.pem" -inkey "$PKI/$k.key.pem" -out "$f.plain" \
    >>"$WORK/openssl.log" 2>&1 && cmp -s "$f.plain" "$E" || fatal structures-setup "openssl cannot decrypt $f: $(tail -n 2 "$WORK/openssl.log")"
done
cd "$SSM_SRCDIR" || fatal structures-setup "cd"

# --- messages and expectations -------------------------------------------------------------------
outer() { printf 'From: %s\r\nTo: %s\r\nSubject: structure %s\r\nMessage-ID: <%s@mua.partner.example>\r\nMIME-Version: 1.0\r\n' \
  "$FROM" "$RCPT" "$1" "$1"; }
b64() { perl -MMIME::Base64 -e 'local $/; print encode_base64(<STDIN>) =~ s/\n/\r\n/gr' <"$1"; }
ENV='Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m'
AUTH='Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=smime.p7m'
OPQ='Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m'
# cms_mail CASE CONTENT-TYPE: the object s-CASE.der as the whole body.
cms_mail() {
  { outer "$1"; printf '%s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$2"; b64 "$WORK/m/s-$1.der"; } >"$WORK/out/$1.eml"
}
# signed_mail CASE: multipart/signed over the plaintext entity with s-CASE.der as signature.
signed_mail() {
  { outer "$1"; printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b-%s"\r\n\r\n--b-%s\r\n' "$1" "$1"
    cat "$E"
    printf '\r\n--b-%s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$1"
    b64 "$WORK/m/s-$1.der"; printf '\r\n--b-%s--\r\n' "$1"; } >"$WORK/out/$1.eml"
}
# run CASE: ssmctl process; sets RC, OUT (message), LOG (decision and reply lines).
run() {
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/in.toml" process --direction in --from "$FROM" --to "$RCPT" \
    <"$WORK/out/$1.eml" >"$WORK/out/$1.out" 2>"$WORK/out/$1.err"
  RC=$? OUT=$WORK/out/$1.out
  LOG=$(grep -E '^(decision|reply):' "$WORK/out/$1.err" | tr '\n' ' ')
}
ar() { header_field "$OUT" Authentication-Results 2>/dev/null | tr '\n' ' '; }
# decrypted CASE LOG-REGEX: accepted, the body is the plaintext, the log matches.
decrypted() {
  local why
  run "$1"
  why=$(compare_plaintext "$OUT" "$E")
  if [ "$RC" -ne 0 ]; then fail "$1" "exit $RC: $LOG"
  elif [ -n "$why" ]; then fail "$1" "$why ($LOG)"
  elif ! grep -Eq -- "action=decrypt .*$2" <<<"$LOG"; then fail "$1" "log: $LOG (expected /$2/)"
  else pass "$1"; fi
}
# held CASE CAUSE: the uniform outcome of mail we cannot or must not decrypt (accepted with 250
# and held by the MTA, [inbound] on_undecryptable), never the plaintext; the log names CAUSE.
held_undecrypted() {
  run "$1"
  if [ "$RC" = 0 ] && grep -q 'action=hold .*reply: 250 ' <<<"$LOG" && grep -Fq "cause=\"$2" <<<"$LOG" \
     && ! grep -q 'the structures are unusual' "$OUT"; then pass "$1"
  else fail "$1" "exit $RC: $LOG (expected a hold, cause \"$2...\")"; fi
}
# verified CASE [LOG-REGEX]: accepted, smime=pass for dave first in Authentication-Results.
verified() {
  run "$1"
  if [ "$RC" -ne 0 ]; then fail "$1" "exit $RC: $LOG"
  elif ! grep -q "^mx.acme.example; smime=pass body.smime-identifier=$FROM " <<<"$(ar)"; then fail "$1" "A-R: $(ar) ($LOG)"
  elif ! grep -Eq -- "${2:-action=verify smime=pass signer=$FROM }" <<<"$LOG"; then fail "$1" "log: $LOG"
  else pass "$1"; fi
}

# --- EnvelopedData (RFC 5652 §6) -------------------------------------------------------------------
# Versions as §6.1 gives them: 2 (unprotectedAttrs; originatorInfo with X.509 certificates and
# CRLs; a KEKRecipientInfo), 3 (an attribute certificate in originatorInfo; a password or other
# RecipientInfo), 4 (other certificate and revocation formats). RecipientInfos we do not
# handle come before ours and are passed over.
for cn in ed-v2-unprotected-attrs ed-v2-originator-certs-crls ed-v3-originator-attribute-cert ed-v4-originator-other-formats \
          ed-v2-kekri-first ed-v3-pwri-first ed-v3-ori-first ed-all-indefinite ed-v3-mixed-kinds-ours-last \
          ed-ktri-rsa-no-null-parameters; do
  cms_mail "$cn" "$ENV"; decrypted "$cn" 'decrypted=ktri-rsa-pkcs1 cipher=aes256-cbc '
done
# A wrong version (0 where §6.1 says 4; 1, which no rule gives; 99): accepted. The version
# protects nothing (no MAC or key covers it) and tells nothing the CHOICE tags do not, so a
# sender's miscount is no reason to hold mail; a future version with another syntax fails
# where its syntax differs, not on the number.
for cn in ed-wrong-version-0 ed-wrong-version-1 ed-wrong-version-99; do
  cms_mail "$cn" "$ENV"; decrypted "$cn" 'decrypted=ktri-rsa-pkcs1 '
done

# --- KeyAgreeRecipientInfo (RFC 5753), to bob's P-256 key ----------------------------------------
RCPT=bob@acme.example
for cn in kari-python kari-ukm kari-rkeyid kari-rkeyid-date kari-ours-second kari-ours-third-rkeyid; do
  cms_mail "$cn" "$ENV"; decrypted "$cn" 'decrypted=kari-ecdh-p256 cipher=aes256-cbc '
done
RCPT=alice@acme.example

# --- AuthEnvelopedData (RFC 5083, 5084, 8103) ------------------------------------------------------
for cn in aed-gcm-auth-attrs aed-gcm-icv-default-12 aed-gcm-icv-12 aed-gcm-icv-13 aed-gcm-icv-14 aed-gcm-icv-15 \
          aed-gcm-icv-16 aed-all-indefinite; do
  cms_mail "$cn" "$AUTH"; decrypted "$cn" 'cipher=aes256-gcm '
done
for cn in aed-chacha20-poly1305 aed-chacha20-poly1305-auth-attrs; do
  cms_mail "$cn" "$AUTH"; decrypted "$cn" 'cipher=chacha20-poly1305 '
done
# authAttrs in indefinite length (a BER streaming encoder): the tag is over their DER (RFC
# 5083 §2.1), which their definite form is (held as a tag mismatch until 2026-12-04).
cms_mail aed-auth-attrs-indefinite "$AUTH"; decrypted aed-auth-attrs-indefinite 'cipher=aes256-gcm '
# The mac as a constructed OCTET STRING in 5-octet segments (pyasn1's BER encoder): its value
# is their concatenation, which must have the ICV's length (held as malformed until
# 2026-12-04). Segments adding up to 15 octets where the parameters say 16 fail as a tag
# mismatch does.
for t in aed-mac-chunked:aes256-gcm aed-mac-chunked-icv-12:aes256-gcm aed-mac-chunked-chacha20-poly1305:chacha20-poly1305; do
  cn=${t%%:*}; cms_mail "$cn" "$AUTH"; decrypted "$cn" "cipher=${t#*:} "
done
cms_mail aed-mac-chunked-short "$AUTH"; run aed-mac-chunked-short
if [ "$RC" = 0 ] && grep -q 'action=hold failure=cryptographic-failure error="the message could not be decrypted" .*reply: 250 ' <<<"$LOG" \
   && ! grep -q 'the structures are unusual' "$OUT"; then pass aed-mac-chunked-short
else fail aed-mac-chunked-short "exit $RC: $LOG"; fi
# authAttrs sent out of DER order, MACed over their DER (RFC 5083 §2.1: a sorted SET OF):
# the tag is tried again over the DER, as signed attributes are (held as a tag mismatch until
# 2026-12-04).
cms_mail aed-gcm-auth-attrs-unsorted "$AUTH"; decrypted aed-gcm-auth-attrs-unsorted 'cipher=aes256-gcm '
cms_mail aed-chacha20-poly1305-auth-attrs-unsorted "$AUTH"
decrypted aed-chacha20-poly1305-auth-attrs-unsorted 'cipher=chacha20-poly1305 '
# authAttrs as a BER encoder sends them (indefinite lengths, a UTF8String value in 8-octet
# segments by pyasn1), MACed over their DER: tried again in DER form (held until 2026-12-04).
cms_mail aed-gcm-auth-attrs-ber "$AUTH"; decrypted aed-gcm-auth-attrs-ber 'cipher=aes256-gcm '
# An authAttr changed after encryption: the tag fails, the mail is held, never delivered open,
# with the uniform result of every decryption failure (RFC 3218: no cause, no oracle).
cms_mail aed-gcm-auth-attrs-changed "$AUTH"; run aed-gcm-auth-attrs-changed
if [ "$RC" = 0 ] && grep -q 'action=hold failure=cryptographic-failure error="the message could not be decrypted" .*reply: 250 ' <<<"$LOG" \
   && ! grep -q 'the structures are unusual' "$OUT"; then pass aed-gcm-auth-attrs-changed
else fail aed-gcm-auth-attrs-changed "exit $RC: $LOG"; fi
# Outside what we implement, a clear cause: an ICV below RFC 5084's 12 octets, GCM nonces
# other than 12 octets (RFC 5084 recommends 12; no peer we know sends others), AES-CCM (no
# S/MIME client sends it).
# (The parameter at fault is named since 2026-12-04.)
GCM=2.16.840.1.101.3.4.1.46
for t in "aed-gcm-icv-8:$GCM: GCM ICV of 8 octets (RFC 5084: 12 to 16)\"" "aed-gcm-nonce-8:$GCM: GCM nonce of 8 octets (we take 12)\"" \
         "aed-gcm-nonce-16:$GCM: GCM nonce of 16 octets (we take 12)\"" 'aed-ccm:2.16.840.1.101.3.4.1.47"'; do
  cn=${t%%:*}; cms_mail "$cn" "$AUTH"; held_undecrypted "$cn" "unsupported content encryption ${t#*:}"
done

# --- SignedData (RFC 5652 §5) ----------------------------------------------------------------------
for cn in sd-digest-algorithms-extra sd-digest-algorithms-empty sd-digest-algorithms-other-only \
          sd-certs-attribute-cert sd-certs-other-format sd-crls-ocsp-response \
          sd-unsigned-countersignature sd-unsigned-timestamp \
          sd-signed-attrs-unsorted sd-signed-attrs-unsorted-signed-as-sent sd-signing-time-generalized \
          sd-detached-all-indefinite sd-signed-attrs-ber; do
  signed_mail "$cn"; verified "$cn"
done
for cn in sd-unsigned-both-opaque sd-econtent-chunked sd-econtent-chunked-one-octet sd-econtent-chunked-nested \
          sd-opaque-all-indefinite sd-opaque-signed-attrs-ber; do
  cms_mail "$cn" "$OPQ"; verified "$cn"
done
# (sd-*signed-attrs-ber: the signed attributes as a BER encoder sends them, indefinite lengths
# and the messageDigest in two segments by pyasn1, signed over their DER as RFC 5652 §5.4 says;
# verified over their DER form since 2026-12-04, failed as a bad signature before.)
# Two signers, the first with an algorithm we do not know: reported for that signer (neutral:
# we cannot tell, RFC 7281), never fatal; dave's signature verifies.
for t in sd-two-signers-unknown-signature-alg:1.1 sd-two-signers-unknown-digest-alg:2.1; do
  cn=${t%%:*}; signed_mail "$cn"; run "$cn"
  if [ "$RC" = 0 ] && grep -q "smime=neutral reason=\"unsupported algorithm 1.3.6.1.4.1.99999.${t#*:}\" smime=pass signer=dave@partner.example " <<<"$LOG" \
     && grep -q "smime=pass body.smime-identifier=$FROM " <<<"$(ar)"; then pass "$cn"
  else fail "$cn" "exit $RC: $LOG A-R: $(ar)"; fi
done
# An opaque signature whose digestAlgorithms lack the signer's digest (SHA-256): empty, only
# SHA-512, only SHA-1. The SET is a hint for one-pass processing (RFC 5652 §5.1): the content
# is hashed again with the signer's digest, and verifies as the detached form does above
# (failed with "digest algorithm not listed in digestAlgorithms" until 2026-12-04).
for cn in sd-opaque-digest-algorithms-empty sd-opaque-digest-algorithms-other-only sd-opaque-digest-algorithms-sha1-only; do
  cms_mail "$cn" "$OPQ"; verified "$cn"
done
# digestAlgorithms entries that are SEQUENCEs but no AlgorithmIdentifier (empty, an INTEGER
# for the OID, an element too many): passed over as the hint they are, the SignerInfo's own
# digestAlgorithm decides (the message failed as malformed until 2026-12-04). Alone in the
# SET of an opaque signature, the second pass hashes with the signer's digest.
signed_mail sd-digest-algorithms-malformed-entry; verified sd-digest-algorithms-malformed-entry
for cn in sd-opaque-digest-algorithms-malformed-entry sd-opaque-digest-algorithms-malformed-only; do
  cms_mail "$cn" "$OPQ"; verified "$cn"
done
# Entries that are not SEQUENCEs, or a SEQUENCE whose OID runs past its end: no SET OF
# AlgorithmIdentifier at all, so the signature is malformed (permerror, as garbage is).
for cn in sd-digest-algorithms-not-sequence sd-opaque-digest-algorithms-not-sequence sd-digest-algorithms-bad-length \
          sd-opaque-digest-algorithms-bad-length; do
  case $cn in sd-opaque-*) cms_mail "$cn" "$OPQ" ;; *) signed_mail "$cn" ;; esac
  run "$cn"
  if [ "$RC" = 0 ] && grep -q '^mx.acme.example; smime=permerror reason="malformed signature' <<<"$(ar)" \
     && ! grep -q 'smime=pass' <<<"$LOG"; then pass "$cn"
  else fail "$cn" "exit $RC: $LOG A-R: $(ar)"; fi
done
# What openssl says of the signed attributes out of DER order (it verifies over their DER
# re-encoding), for the record beside ours.
for cn in sd-signed-attrs-unsorted sd-signed-attrs-unsorted-signed-as-sent; do
  if openssl cms -verify -binary -inform DER -in "$WORK/m/s-$cn.der" -content "$E" -CAfile "$PKI/root-ca.cert.pem" \
       -out /dev/null >/dev/null 2>&1; then note "$cn: openssl cms -verify: ok"; else note "$cn: openssl cms -verify: fails"; fi
done
