#!/bin/bash
# wolfSSL's PKCS#7/CMS code (Debian's libwolfssl-dev 5.5.4: its own ASN.1 and CMS, used in
# embedded and industrial devices) as a seventh, independent S/MIME peer, both directions
# through a real Postfix 3.7 with ssm-milter and the keys in SoftHSM. The peer is
# tests/interop/wolfssl/wolfpkcs7.c, compiled here (-Werror) against the system wolfSSL; it
# makes and reads CMS only, the MIME is ours (as a MUA would make it). What wolfSSL reads is
# found by trying first (peer_probe: objects made by OpenSSL), so each SKIP carries wolfSSL's own
# words and turns into a required PASS on a wolfSSL that can.
# Outbound (ours -> wolfSSL): ssm-milter's signatures (detached and opaque; RSA PKCS#1 v1.5,
# ECDSA P-256, the domain key; RSA-PSS probed) verify in wolfSSL with the test root as the only
# anchor, the right signer certificate and the content that was sent. EnvelopedData AES-128/256-
# CBC with PKCS#1 v1.5 to one recipient, also signed inside, decrypts with wolfSSL and the
# recipient's key file byte for byte as OpenSSL decrypts it. AuthEnvelopedData (GCM), RSA-OAEP
# (SHA-256), ECDH P-256/P-384 (named by issuerAndSerialNumber, the default; wolfSSL reads
# rKeyId only) and envelopes with more than one recipient: probed, SKIPs with wolfSSL's words.
# Rules with recipient_identifier = "key-id" (senders keyid*@acme.example): ECDH P-256 and
# P-384 (rKeyId) and RSA (KTRI version 2, subjectKeyIdentifier) decrypt with wolfSSL byte for
# byte as OpenSSL (which matches the rid by the certificate's SKI) decrypts them; the rid form
# and versions are read back with openssl cms -cmsout -print; the milter logs no rid_fallback.
# Negative controls: altered content, another anchor, another key.
# Inbound (wolfSSL -> ours): wolfSSL-signed mail (detached and opaque; signer by
# issuerAndSerialNumber and by subjectKeyIdentifier; RSA and ECDSA P-256/P-384; SHA-256/384/512;
# with and without signed attributes; the chain or the leaf only; 1.5 MB) gets `smime=pass`;
# altered content `smime=fail`. wolfSSL-enveloped mail (AES-128/192/256-CBC and 3DES; KTRI
# PKCS#1 v1.5 by issuerAndSerialNumber; KARI ECDH P-256/P-384 with SHA-1/256/384 KDFs and
# AES-128/256 key wrap, by issuerAndSerialNumber and by subjectKeyIdentifier; two recipients;
# signed inside, detached or opaque) to the token users arrives decrypted byte for byte.
# What wolfSSL cannot make or read, and where it deviates (tests/interop/README.md), is checked as
# documented: its AuthEnvelopedData (GCM and CCM) puts the nonce and the ICV length straight into
# the AlgorithmIdentifier instead of a GCMParameters/CCMParameters SEQUENCE (RFC 5084 §3.1,
# §3.2): ssm-milter answers 554 5.6.0 (malformed message), nothing delivered; its
# KeyTransRecipientInfo by subjectKeyIdentifier carries twenty zero octets instead of the
# certificate's key id (RFC 5652 §6.2.1): not for any key of ours, delivered as it came; its
# signingTime is no UTCTime (the year's tens digit is a space; RFC 5652 §11.3, X.680): left
# unread, the signature passes; asked for RSA-PSS it signs PKCS#1 v1.5; asked for a KARI by
# issuerAndSerialNumber it writes rKeyId, and it reads a KARI only by rKeyId.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peer_milters.sh"
. "$SSM_SRCDIR/tests/interop/wolfssl.sh"
peer_begin cc pkg-config
wolf_build || fatal wolf-compile "$PEER_DETAIL"
pass wolf-compile

make_pki
# Token keys: outbound signers (alice, carol: RSA; bob: P-256; the domain signing key) and the
# inbound keys wolfSSL encrypts to: dave (RSA), bob (P-256), erin (P-384), the partner domain.
make_token alice bob carol erin domain-signing dave partner-domain
# grace: a partner with a P-384 key (ECDH P-384 outbound, ECDSA P-384 inbound).
issue_cert grace grace@partner.example p384 "digitalSignature, keyAgreement" || fatal wolf-setup "issue grace"
# ivan: a second RSA partner, for an envelope with two KeyTransRecipientInfos.
issue_cert ivan ivan@partner.example rsa "digitalSignature, keyEncipherment" || fatal wolf-setup "issue ivan"
cp "$PKI/dave.cert.pem" "$PKI/frank.cert.pem" "$PKI/partner-domain.cert.pem" "$XPKI/grace.cert.pem" "$XPKI/ivan.cert.pem" "$WORK/certs/"

# --- 0. what this wolfSSL reads (objects made by OpenSSL) ------------------------------------
declare -A CAN
peer_probes CAN wolf wolfSSL rsa ecdsa pss cbc gcm oaep kari kari-keyid mixed two
if [ "${CAN[rsa]}" = yes ] && [ "${CAN[cbc]}" = yes ]; then pass wolf-probe-controls
else fatal wolf-probe-controls "wolfSSL does not read OpenSSL's RSA signature (${CAN[rsa]}) or AES-CBC envelope (${CAN[cbc]})"; fi

# --- Postfix and ssm-milter -------------------------------------------------------------------
PEER=wolf
CONFIGS="detached-pkcs1:detached:pkcs1 opaque-pkcs1:opaque:pkcs1 detached-pss:detached:pss:oaep"
# key-id rules first (first match wins): sender keyidCIPHER@acme.example, no signature.
KEYID_RULES=
for c in aes128-cbc aes256-cbc; do
  KEYID_RULES="$KEYID_RULES[[rule]]
name = \"key-id $c\"
direction = \"outbound\"
from = [\"keyid${c//-/}@acme.example\"]
to = [\"*@partner.example\"]
sign = \"none\"
encrypt = \"mandatory\"
cipher = \"$c\"
recipient_identifier = \"key-id\"

"
done
peer_configs "$KEYID_RULES$(peer_rules aes128-cbc aes256-cbc aes256-gcm)" $CONFIGS
peer_start $CONFIGS

# --- 1. inbound messages made by wolfSSL ----------------------------------------------------
# WOLF_IN: CASE~KIND~MSG~FROM~RCPT~HOW. KIND: sign | tamper (smime=fail expected) | encrypt |
# signenc | reject (554 5.6.0, nothing delivered or held) | notforus (names no key of ours:
# delivered as it came). HOW for sign kinds: FORM (detached or opaque), the signing key, then
# wolfpkcs7 sign options; for encrypt, reject and notforus: the cipher, then recipients
# (KIND:FORM:NAME) [-- options]; for signenc: FORM, signer, cipher, recipient.
CHAIN="--chain $PKI/sub-ca.cert.pem"
D=dave@partner.example F=frank@partner.example G=grace@partner.example A=alice@acme.example S=sender@partner.example
WOLF_IN=(
  "in-sign-detached-rsa-ias~sign~attachment~$D~$A~detached dave --sid ias $CHAIN"
  "in-sign-opaque-rsa-ski~sign~nested~$D~$A~opaque dave --sid ski $CHAIN"
  "in-sign-detached-rsa-ski-8bit~sign~utf8-8bit~$D~$A~detached dave --sid ski $CHAIN"
  "in-sign-opaque-rsa-ias-leaf~sign~attachment~$D~$A~opaque dave --sid ias"
  "in-sign-detached-ecdsa-p256-ski~sign~nested~$F~$A~detached frank --sid ski $CHAIN"
  "in-sign-opaque-ecdsa-p256-ias~sign~utf8-8bit~$F~$A~opaque frank --sid ias $CHAIN"
  "in-sign-detached-ecdsa-p384-sha384~sign~plain-7bit~$G~$A~detached grace --sid ski --digest sha384 $CHAIN"
  "in-sign-opaque-rsa-sha512~sign~attachment~$D~$A~opaque dave --digest sha512 $CHAIN"
  "in-sign-detached-rsa-no-attrs~sign~nested~$D~$A~detached dave --no-attrs $CHAIN"
  "in-sign-opaque-ecdsa-no-attrs~sign~plain-7bit~$F~$A~opaque frank --sid ski --no-attrs $CHAIN"
  "in-sign-detached-big~sign~big~$D~$A~detached dave $CHAIN"
  "in-sign-opaque-big~sign~big~$F~$A~opaque frank --sid ski $CHAIN"
  "in-sign-detached-altered~tamper~attachment~$D~$A~detached dave $CHAIN"
  "in-sign-opaque-altered~tamper~attachment~$F~$A~opaque frank $CHAIN"
  "in-enc-aes128cbc-ktri-dave~encrypt~attachment~$S~$D~aes128-cbc ktri:ias:dave"
  "in-enc-aes192cbc-ktri-dave~encrypt~nested~$S~$D~aes192-cbc ktri:ias:dave"
  "in-enc-aes256cbc-ktri-dave~encrypt~utf8-8bit~$S~$D~aes256-cbc ktri:ias:dave"
  "in-enc-3des-ktri-dave~encrypt~lf-only~$S~$D~des3-cbc ktri:ias:dave"
  "in-enc-aes256cbc-ktri-big~encrypt~big~$S~$D~aes256-cbc ktri:ias:dave"
  "in-enc-aes256cbc-ktri-domain~encrypt~nested~$S~hank@partner.example~aes256-cbc ktri:ias:partner-domain"
  "in-enc-aes256cbc-kari-p256-ias~encrypt~attachment~$S~bob@acme.example~aes256-cbc kari:ias:bob"
  "in-enc-aes128cbc-kari-p256-ski~encrypt~nested~$S~bob@acme.example~aes128-cbc kari:ski:bob -- --wrap aes128"
  "in-enc-aes256cbc-kari-p256-sha1kdf~encrypt~plain-7bit~$S~bob@acme.example~aes256-cbc kari:ski:bob -- --kdf sha1"
  "in-enc-aes256cbc-kari-p384-sha384kdf~encrypt~utf8-8bit~$S~erin@acme.example~aes256-cbc kari:ski:erin -- --kdf sha384"
  "in-enc-aes256cbc-two-recipients~encrypt~attachment~$S~$D~aes256-cbc ktri:ias:partner-domain ktri:ias:dave"
  "in-enc-aes256cbc-rsa-and-ec~encrypt~nested~$S~bob@acme.example~aes256-cbc ktri:ias:dave kari:ski:bob"
  "in-signed-then-encrypted~signenc~attachment~$D~$D~detached dave aes256-cbc ktri:ias:dave"
  "in-signed-opaque-then-encrypted-ecdh~signenc~nested~$F~bob@acme.example~opaque frank aes128-cbc kari:ski:bob"
  "in-authenv-aes256gcm-rejected~reject~attachment~$S~$D~aes256-gcm ktri:ias:dave"
  "in-authenv-aes128gcm-kari-rejected~reject~nested~$S~bob@acme.example~aes128-gcm kari:ski:bob"
  "in-authenv-aes256ccm-rejected~reject~plain-7bit~$S~$D~aes256-ccm ktri:ias:dave"
  "in-enc-ktri-ski-zero-keyid-not-ours~notforus~attachment~$S~$D~aes256-cbc ktri:ski:dave"
)
declare -A SENT
for spec in "${WOLF_IN[@]}"; do
  IFS='~' read -r cn kind msg from rcpt how <<<"$spec"
  fixture "$cn" "$msg" "$from" "$rcpt" "$WORK/m/$cn.src"
  make_entity "$WORK/m/$cn.src" "$WORK/m/$cn.entity"
  read -r -a h <<<"$how"
  made=1
  case $kind in
    sign|tamper)
      if [ "${h[0]}" = detached ]; then
        wolf_sign "$WORK/m/$cn.entity" "${h[1]}" "$WORK/m/$cn.p7s" --detached "${h[@]:2}" \
          && wrap_detached "$WORK/m/$cn.entity" "$WORK/m/$cn.p7s" "$WORK/m/$cn.eml" "$cn" "$from" "$rcpt" || made=0
      else
        wolf_sign "$WORK/m/$cn.entity" "${h[1]}" "$WORK/m/$cn.p7m" "${h[@]:2}" \
          && wrap_opaque "$WORK/m/$cn.p7m" "$WORK/m/$cn.eml" "$cn" "$from" "$rcpt" || made=0
      fi ;;
    encrypt|reject|notforus)
      wolf_envelope "$WORK/m/$cn.entity" "$WORK/m/$cn.p7m" "${h[@]}" \
        && wrap_enveloped "$WORK/m/$cn.p7m" "$WORK/m/$cn.eml" "$cn" "$from" "$rcpt" || made=0 ;;
    signenc)   # a detached or opaque signed message, then its entity (MIME part) enveloped
      if [ "${h[0]}" = detached ]; then
        wolf_sign "$WORK/m/$cn.entity" "${h[1]}" "$WORK/m/$cn.p7s" --detached $CHAIN \
          && wrap_detached "$WORK/m/$cn.entity" "$WORK/m/$cn.p7s" "$WORK/m/$cn.signed" "$cn" "$from" "$rcpt" || made=0
      else
        wolf_sign "$WORK/m/$cn.entity" "${h[1]}" "$WORK/m/$cn.p7s" --sid ski $CHAIN \
          && wrap_opaque "$WORK/m/$cn.p7s" "$WORK/m/$cn.signed" "$cn" "$from" "$rcpt" || made=0
      fi
      [ "$made" = 1 ] && make_entity "$WORK/m/$cn.signed" "$WORK/m/$cn.signed-entity" \
        && wolf_envelope "$WORK/m/$cn.signed-entity" "$WORK/m/$cn.p7m" "${h[2]}" "${h[3]}" \
        && wrap_enveloped "$WORK/m/$cn.p7m" "$WORK/m/$cn.eml" "$cn" "$from" "$rcpt" || made=0 ;;
  esac
  [ "$made" = 1 ] || { fail "$cn" "wolfSSL could not make it: $PEER_DETAIL"; continue; }
  if [ "$kind" = tamper ]; then tamper_signed "$cn" "${h[0]}" "$from" "$rcpt" || continue; fi
  submit "$cn" "${IN_PORT[detached-pkcs1]}" "$from" "$rcpt" "$WORK/m/$cn.eml"
  SENT[$cn]=1
done
submit_flush
note "wolfSSL made and sent ${#SENT[@]} messages after $((SECONDS - T0)) s"
skip in-sign-without-certificates "wolfSSL 5.5.4 cannot leave the certificates out (wc_PKCS7_EncodeSignedData always writes the signer's)"

# --- 2. outbound messages made by ssm-milter ------------------------------------------------
# OUT: CASE~CONFIG~MSG~FROM~RCPTS~CHECK. CHECK: sign:SIGNER[:CAP] | decrypt:KEY[:CAP] |
# signenc:KEY:SIGNER. With CAP, wolfSSL reads it only when the probe says so (else SKIP).
OUT=(
  "out-sign-detached-rsa-attachment~detached-pkcs1~attachment~alice@acme.example~someone@elsewhere.example~sign:alice"
  "out-sign-detached-rsa-8bit~detached-pkcs1~utf8-8bit~alice@acme.example~someone@elsewhere.example~sign:alice"
  "out-sign-detached-domain~detached-pkcs1~plain-7bit~zed@acme.example~someone@elsewhere.example~sign:domain-signing-authority"
  "out-sign-opaque-rsa-nested~opaque-pkcs1~nested~alice@acme.example~someone@elsewhere.example~sign:alice"
  "out-sign-opaque-rsa-big~opaque-pkcs1~big~alice@acme.example~someone@elsewhere.example~sign:alice"
  "out-sign-detached-ecdsa-nested~detached-pkcs1~nested~bob@acme.example~someone@elsewhere.example~sign:bob:ecdsa"
  "out-sign-opaque-ecdsa-8bit~opaque-pkcs1~utf8-8bit~bob@acme.example~someone@elsewhere.example~sign:bob:ecdsa"
  "out-sign-detached-pss~detached-pss~nested~carol@acme.example~someone@elsewhere.example~sign:carol:pss"
  "out-enc-aes256cbc-v15-dave~detached-pkcs1~attachment~aes256cbc@acme.example~dave@partner.example~decrypt:dave"
  "out-enc-aes128cbc-v15-dave~detached-pkcs1~nested~aes128cbc@acme.example~dave@partner.example~decrypt:dave"
  "out-enc-aes256cbc-v15-big-dave~opaque-pkcs1~big~aes256cbc@acme.example~dave@partner.example~decrypt:dave"
  "out-enc-aes256gcm-v15-dave~detached-pkcs1~attachment~aes256gcm@acme.example~dave@partner.example~decrypt:dave:gcm"
  "out-enc-aes256cbc-oaep-dave~detached-pss~nested~aes256cbc@acme.example~dave@partner.example~decrypt:dave:oaep"
  "out-enc-aes256cbc-ecdh-p256-frank~detached-pkcs1~attachment~aes256cbc@acme.example~frank@partner.example~decrypt:frank:kari"
  "out-enc-aes128cbc-ecdh-p384-grace~detached-pkcs1~utf8-8bit~aes128cbc@acme.example~grace@partner.example~decrypt:grace:kari"
  "out-enc-aes256cbc-two-rsa-recipients~detached-pkcs1~attachment~aes256cbc@acme.example~dave@partner.example,ivan@partner.example~decrypt:dave:two"
  "out-enc-aes256cbc-rsa-and-ec-recipients~detached-pkcs1~nested~aes256cbc@acme.example~dave@partner.example,frank@partner.example~decrypt:dave:mixed"
  "out-enc-keyid-aes256cbc-ecdh-p256-frank~detached-pkcs1~attachment~keyidaes256cbc@acme.example~frank@partner.example~keyid:frank:kari"
  "out-enc-keyid-aes128cbc-ecdh-p384-grace~detached-pkcs1~utf8-8bit~keyidaes128cbc@acme.example~grace@partner.example~keyid:grace:kari"
  "out-enc-keyid-aes256cbc-v15-dave~detached-pkcs1~nested~keyidaes256cbc@acme.example~dave@partner.example~keyid:dave:ktri"
  "out-signed-then-encrypted~detached-pkcs1~nested~alice@acme.example~dave@partner.example~signenc:dave:alice"
  "out-signed-opaque-then-encrypted~opaque-pkcs1~attachment~alice@acme.example~dave@partner.example~signenc:dave:alice"
)
send_outbound_cases

# --- 3. wolfSSL checks what ssm-milter sent -------------------------------------------------
# wolf_verified NAME FILE SIGNER SRC: wolfSSL verifies FILE (test root only) with SIGNER's
# certificate of the test PKI, and the content it vouches for carries the parts of SRC.
wolf_verified() {
  local d=$WORK/v/$1
  if ! wolf_verify "$2" "$d" "$PKI/root-ca.cert.pem"; then fail "$1" "$PEER_DETAIL"; return; fi
  _check_signer_pem "$d/signer.pem" "$3@acme.example" || { fail "$1" "$PEER_DETAIL"; return; }
  if [ "$(cat "$d/kind")" = detached ] && ! cmp -s "$d/wolf.out" "$d/content"; then fail "$1" "wolfSSL returned other content"; return; fi
  same_leaves "$1" "$d/wolf.out" "$4" || return
  pass "$1"; note "$1: $(cms_signature_algorithm "$d/sig.der") by $WOLF_SIGNER"
}
# wolf_check_case NAME keyid KEY ktri|kari (check_outbound_cases): the recipient named by its
# key id, read by OpenSSL's printer, then decrypted
wolf_check_case() {
  local cn=$1 key=$3 cap=$4 printed form
  [ "$2" = keyid ] || { fail "$cn" "no check '$2'"; return; }
  smime_envelope "$WORK/out/$cn.eml" "$WORK/out/$cn.p7m" || { fail "$cn" "$PEER_DETAIL"; return; }
  printed=$(openssl cms -cmsout -print -inform DER -in "$WORK/out/$cn.p7m" 2>/dev/null)
  # RFC 5652: EnvelopedData version 2; KTRI version 2 with [0] subjectKeyIdentifier, or
  # KARI version 3 with rKeyId in its RecipientEncryptedKey.
  if [ "$cap" = ktri ]; then form=$(printf '%s\n' "$printed" | grep -A1 'd.ktri:' | sed -n 's/^ *version: //p')
    printf '%s\n' "$printed" | grep -q 'd.subjectKeyIdentifier:' || form="$form no-ski"
    [ "$form" = 2 ] || { fail "$cn" "KTRI not by subjectKeyIdentifier, version 2: $form"; return; }
  else form=$(printf '%s\n' "$printed" | grep -A1 'd.kari:' | sed -n 's/^ *version: //p')
    printf '%s\n' "$printed" | grep -q 'd.rKeyId:' || form="$form no-rKeyId"
    [ "$form" = 3 ] || { fail "$cn" "KARI not by rKeyId, version 3: $form"; return; }
  fi
  if printf '%s\n' "$printed" | grep -q 'd.issuerAndSerialNumber:'; then fail "$cn" "a RecipientInfo by issuerAndSerialNumber"; return; fi
  [ "$(printf '%s\n' "$printed" | sed -n '4s/^ *version: //p')" = 2 ] || { fail "$cn" "EnvelopedData version is not 2"; return; }
  if grep -q "rid_fallback" "$WORK"/milter-*.log; then fail "$cn" "the milter fell back: $(grep -h rid_fallback "$WORK"/milter-*.log | head -n 1)"; return; fi
  peer_decrypted wolf "wolfSSL 5.5.4" "$cn" "$WORK/out/$cn.p7m" "$key" "$WORK/m/$cn.src" && { pass "$cn"; note "$cn: $(cms_envelope_summary "$WORK/out/$cn.p7m")"; }
}
check_outbound_cases wolf "wolfSSL 5.5.4"
peer_negative_controls wolf "wolfSSL 5.5.4"

# --- 4. what ssm-milter made of wolfSSL's messages ------------------------------------------
# wolf_inbound_case NAME KIND FROM HOW: reject: refused at SMTP with our reply for a malformed
# message, neither delivered nor held; notforus: still the envelope wolfSSL made, byte for
# byte, and nobody's verdict on it.
wolf_inbound_case() {
  local cn=$1 reply
  case $2 in
    reject)
      reply=$(cat "$WORK/out/$cn.reply")
      case $reply in
        "554 5.6.0 "*) if delivered "$cn" >/dev/null || held pf "$cn" >/dev/null; then fail "$cn" "rejected, yet queued"
                       else pass "$cn"; note "$cn: $reply"; fi ;;
        *) fail "$cn" "SMTP reply '$reply', expected 554 5.6.0" ;;
      esac ;;
    notforus)
      inbound_outcome "$cn" "$2" || return
      if ! same_body "$WORK/out/$cn.eml" "$WORK/m/$cn.eml"; then fail "$cn" "the envelope was changed"
      elif ! header_field "$WORK/out/$cn.eml" Content-Type | grep -q 'smime-type=enveloped-data'; then fail "$cn" "no longer an envelope"
      else pass "$cn"; fi ;;
    *) fail "$cn" "no check for kind $2" ;;
  esac
}
peer_inbound_verdicts WOLF_IN

# The documented deviations are still wolfSSL's; each check fails when a newer wolfSSL
# changes, so that README and this test are updated.
t=$(openssl asn1parse -inform DER -in "$WORK/m/in-sign-detached-rsa-ias.p7s" 2>/dev/null | grep -a -A2 ':signingTime' | sed -n 's/.*UTCTIME *://p')
if [ -n "$t" ] && ! printf '%s' "$t" | grep -qE '^[0-9]{12}Z$'; then pass wolf-signing-time-as-documented; note "wolfSSL's signingTime: '$t'"
else fail wolf-signing-time-as-documented "wolfSSL's signingTime is '$t': update README and this test"; fi
# the KTRI's rid: [0] subjectKeyIdentifier, 20 octets (its offset from asn1parse)
f=$WORK/m/in-enc-ktri-ski-zero-keyid-not-ours.p7m
at=$(openssl asn1parse -inform DER -in "$f" 2>/dev/null | sed -n 's/^ *\([0-9]*\):d=5 *hl=2 l= *20 prim: cont \[ 0 \].*/\1/p' | head -n 1)
ski=$([ -n "$at" ] && dd if="$f" bs=1 skip=$((at + 2)) count=20 2>/dev/null | od -An -tx1 | tr -d ' \n')
if [ "$ski" = "$(printf '00%.0s' $(seq 20))" ]; then pass wolf-ktri-zero-keyid-as-documented
else fail wolf-ktri-zero-keyid-as-documented "KTRI subjectKeyIdentifier is '$ski': update README and this test"; fi
if openssl cms -cmsout -print -inform DER -in "$WORK/m/in-enc-aes256cbc-kari-p256-ias.p7m" 2>/dev/null | grep -q 'd.rKeyId:'; then
  pass wolf-kari-always-rkeyid-as-documented
else fail wolf-kari-always-rkeyid-as-documented "wolfSSL wrote the KARI asked by issuerAndSerialNumber otherwise: update README and this test"; fi
if [ "${CAN[kari]}" != yes ] && [ "${CAN[kari-keyid]}" = yes ]; then pass wolf-reads-kari-by-rkeyid-only-as-documented
else fail wolf-reads-kari-by-rkeyid-only-as-documented "kari: ${CAN[kari]}; kari-keyid: ${CAN[kari-keyid]}: update README and this test"; fi
if gcm=$(openssl asn1parse -inform DER -in "$WORK/m/in-authenv-aes256gcm-rejected.p7m" 2>/dev/null | grep -A3 ':aes-256-gcm') \
   && printf '%s' "$gcm" | sed -n 2p | grep -q 'prim: OCTET STRING' && printf '%s' "$gcm" | sed -n 3p | grep -q 'prim: INTEGER'; then
  pass wolf-gcm-parameters-as-documented
else fail wolf-gcm-parameters-as-documented "wolfSSL's GCM AlgorithmIdentifier changed: update README and this test"; fi
# (no signed attributes: OpenSSL's printer stops at wolfSSL's signingTime)
if wolf_sign "$WORK/m/in-sign-detached-rsa-ias.entity" dave "$WORK/m/pss-asked.p7s" --alg rsa-pss --detached --no-attrs \
   && [ "$(cms_signature_algorithm "$WORK/m/pss-asked.p7s")" = sha256WithRSAEncryption ]; then
  pass wolf-pss-asked-pkcs1-made-as-documented
else fail wolf-pss-asked-pkcs1-made-as-documented "wolfSSL asked for RSA-PSS made $(cms_signature_algorithm "$WORK/m/pss-asked.p7s"): update README and this test"; fi

peer_finish
