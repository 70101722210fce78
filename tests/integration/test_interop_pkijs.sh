#!/bin/bash
# PKI.js (npm pkijs 3.4 + asn1js, Peculiar Ventures: the CMS code of browser-based and JavaScript
# mail clients, over Node's WebCrypto) as an eighth S/MIME peer, both directions through a real
# Postfix 3.7 with ssm-milter and the keys in SoftHSM. The peer is tests/interop/pkijs/*.mjs
# (modules pinned by package-lock.json, installed by scripts/install-deps.sh; missing: FAIL); it
# makes and reads CMS only, the MIME is ours (as a MUA would make it). What PKI.js reads is
# found by trying first (peer_probe: objects made by OpenSSL), so each SKIP carries PKI.js's own
# words and turns into a required PASS on a PKI.js that can.
# Outbound (ours -> PKI.js): ssm-milter's signatures (detached and opaque; RSA PKCS#1 v1.5,
# RSA-PSS, ECDSA P-256, the domain key) verify in PKI.js with the test root as the only trusted
# certificate, the right signer certificate and the content that was sent. EnvelopedData
# AES-128/256-CBC with RSA-OAEP (SHA-256), ECDH P-256/P-384, an RSA and an EC recipient, signed
# inside, decrypts with PKI.js and the recipient's key file byte for byte as OpenSSL decrypts
# it; PKCS#1 v1.5 key transport and AuthEnvelopedData (GCM): probed, SKIPs with PKI.js's words.
# Negative controls: altered content, another anchor, another key.
# Inbound (PKI.js -> ours): PKI.js-signed mail (detached and opaque; RSA PKCS#1 v1.5, RSA-PSS,
# ECDSA P-256/P-384; SHA-256/384/512; signer by issuerAndSerialNumber and subjectKeyIdentifier;
# with the chain, the leaf only, or no certificate (the signer from the static folder); with and
# without signed attributes; 1.5 MB) gets `smime=pass`; altered content `smime=fail`.
# PKI.js-enveloped mail (AES-128/192/256-CBC; KTRI RSA-OAEP with SHA-1/256/384/512; KARI ECDH
# P-256/P-384 with X9.63 SHA-256/384/512 KDFs and AES-128/256 key wrap; two recipients; an RSA
# and an EC recipient; signed inside, detached or opaque) to the token users arrives decrypted
# byte for byte. PKI.js's deviations (tests/interop/README.md) are checked as documented: its
# AES-GCM goes into an EnvelopedData (RFC 5084 §3 asks AuthEnvelopedData) with a bare 16-octet
# IV instead of GCMParameters (§3.2): held, nothing delivered; it cannot encrypt with PKCS#1
# v1.5 (WebCrypto has no RSAES-PKCS1-v1_5); it reads a KeyAgreeRecipientInfo only with a ukm
# (ours and OpenSSL's have none: SKIPs).
# node-forge 1.3 (forge.pkcs7, same scripts folder, forge.mjs): decrypts ssm-milter's AES-CBC +
# RSA PKCS#1 v1.5 envelopes (signed inside: PKI.js verifies what forge decrypted); it verifies no
# SignedData (SKIP). Its RSA v1.5 signatures (SHA-256/384/512, detached/opaque, with and without
# attributes, 1.5 MB) get `smime=pass`, altered `smime=fail`; its AES-128/192/256-CBC and 3DES
# envelopes (one or two recipients, signed inside) are decrypted byte for byte.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peer_milters.sh"
. "$SSM_SRCDIR/tests/interop/pkijs.sh"
peer_begin node
pkijs_check || fatal pkijs-modules "$PEER_DETAIL"
pass pkijs-modules; note "$PKIJS_VERSION"
pkijs_server || fatal pkijs-setup "cannot start tests/interop/pkijs/server.mjs"

make_pki
# Token keys: outbound signers (alice, carol: RSA; bob: P-256; the domain signing key) and the
# inbound keys PKI.js encrypts to: dave (RSA), bob (P-256), erin (P-384), the partner domain.
make_token alice bob carol erin domain-signing dave partner-domain
# grace: a partner with a P-384 key (ECDH P-384 outbound, ECDSA P-384 inbound).
issue_cert grace grace@partner.example p384 "digitalSignature, keyAgreement" || fatal pkijs-setup "issue grace"
cp "$PKI/dave.cert.pem" "$PKI/frank.cert.pem" "$PKI/partner-domain.cert.pem" "$XPKI/grace.cert.pem" "$WORK/certs/"

# --- 0. what this PKI.js reads (objects made by OpenSSL) -------------------------------------
declare -A CAN
peer_probes CAN pkijs PKI.js rsa ecdsa pss cbc gcm oaep kari kari-keyid mixed mixed-oaep two
# The controls: without them every SKIP below could hide a broken set-up.
if [ "${CAN[rsa]}" = yes ] && [ "${CAN[oaep]}" = yes ]; then pass pkijs-probe-controls
else fatal pkijs-probe-controls "PKI.js does not read OpenSSL's RSA signature (${CAN[rsa]}) or AES-CBC + RSA-OAEP envelope (${CAN[oaep]})"; fi
# forge: envelopes only (it verifies no SignedData); CAN is read by check_outbound_cases, so
# forge's answers are swapped in for its cases (FORGE_CAN).
declare -A FORGE_CAN
peer_probes FORGE_CAN forge forge cbc gcm oaep kari
if [ "${FORGE_CAN[cbc]}" = yes ]; then pass forge-probe-controls
else fatal forge-probe-controls "forge does not read OpenSSL's AES-CBC + RSA PKCS#1 v1.5 envelope (${FORGE_CAN[cbc]})"; fi

# --- Postfix and ssm-milter -------------------------------------------------------------------
# Three milters: detached and opaque PKCS#1 v1.5 with v1.5 key transport, and detached PSS
# with RSA-OAEP key transport (the one PKI.js decrypts).
PEER=pkijs
CONFIGS="detached-pkcs1:detached:pkcs1 opaque-pkcs1:opaque:pkcs1 detached-pss:detached:pss:oaep opaque-pss:opaque:pss:oaep"
peer_configs "$PEER_GW_RULE

$(peer_rules aes128-cbc aes256-cbc aes256-gcm)" $CONFIGS
peer_start $CONFIGS

# --- 1. inbound messages made by PKI.js -----------------------------------------------------
# PJ_IN: CASE~KIND~MSG~FROM~RCPT~HOW. KIND: sign | tamper (smime=fail expected) | encrypt |
# signenc | refuse (held by Postfix, nothing delivered). HOW for sign kinds: FORM (detached or
# opaque), the signing key, then sign.mjs options; for encrypt and refuse: the cipher, then
# recipients [-- options]; for signenc: FORM, signer, cipher, recipient.
CHAIN="--chain $PKI/sub-ca.cert.pem"
D=dave@partner.example F=frank@partner.example G=grace@partner.example A=alice@acme.example S=sender@partner.example
PJ_IN=(
  "in-sign-detached-rsa-ias~sign~attachment~$D~$A~detached dave --sid ias $CHAIN"
  "in-sign-opaque-rsa-ski~sign~nested~$D~$A~opaque dave --sid ski $CHAIN"
  "in-sign-detached-rsa-8bit~sign~utf8-8bit~$D~$A~detached dave $CHAIN"
  "in-sign-opaque-rsa-leaf~sign~attachment~$D~$A~opaque dave"
  "in-sign-detached-rsa-no-certs~sign~nested~$D~$A~detached dave --no-certs"
  "in-sign-opaque-rsa-no-certs~sign~plain-7bit~$D~$A~opaque dave --sid ski --no-certs"
  "in-sign-detached-pss~sign~attachment~$D~$A~detached dave --alg pss $CHAIN"
  "in-sign-opaque-pss-sha384~sign~nested~$D~$A~opaque dave --alg pss --hash SHA-384 $CHAIN"
  "in-sign-detached-ecdsa-p256~sign~nested~$F~$A~detached frank --sid ski $CHAIN"
  "in-sign-opaque-ecdsa-p256~sign~utf8-8bit~$F~$A~opaque frank $CHAIN"
  "in-sign-detached-ecdsa-p384-sha384~sign~plain-7bit~$G~$A~detached grace --hash SHA-384 $CHAIN"
  "in-sign-opaque-rsa-sha512~sign~attachment~$D~$A~opaque dave --hash SHA-512 $CHAIN"
  "in-sign-detached-rsa-no-attrs~sign~nested~$D~$A~detached dave --no-attrs $CHAIN"
  "in-sign-opaque-ecdsa-no-attrs~sign~plain-7bit~$F~$A~opaque frank --no-attrs $CHAIN"
  "in-sign-detached-big~sign~big~$D~$A~detached dave $CHAIN"
  "in-sign-opaque-big~sign~big~$F~$A~opaque frank $CHAIN"
  "in-sign-detached-altered~tamper~attachment~$D~$A~detached dave $CHAIN"
  "in-sign-opaque-altered~tamper~attachment~$F~$A~opaque frank $CHAIN"
  "in-enc-aes128cbc-oaep256-dave~encrypt~attachment~$S~$D~aes-128-cbc dave"
  "in-enc-aes192cbc-oaep256-dave~encrypt~nested~$S~$D~aes-192-cbc dave"
  "in-enc-aes256cbc-oaep256-dave~encrypt~utf8-8bit~$S~$D~aes-256-cbc dave"
  "in-enc-aes256cbc-oaep1-dave~encrypt~lf-only~$S~$D~aes-256-cbc dave -- --oaep-hash SHA-1"
  "in-enc-aes256cbc-oaep384-dave~encrypt~plain-7bit~$S~$D~aes-256-cbc dave -- --oaep-hash SHA-384"
  "in-enc-aes256cbc-oaep512-dave~encrypt~nested~$S~$D~aes-256-cbc dave -- --oaep-hash SHA-512"
  "in-enc-aes256cbc-oaep-big~encrypt~big~$S~$D~aes-256-cbc dave"
  "in-enc-aes256cbc-oaep-domain~encrypt~nested~$S~hank@partner.example~aes-256-cbc partner-domain"
  "in-enc-aes256cbc-kari-p256~encrypt~attachment~$S~bob@acme.example~aes-256-cbc bob"
  "in-enc-aes128cbc-kari-p256-kek128~encrypt~nested~$S~bob@acme.example~aes-128-cbc bob -- --kek-length 128"
  "in-enc-aes256cbc-kari-p256-sha512kdf~encrypt~plain-7bit~$S~bob@acme.example~aes-256-cbc bob -- --kdf SHA-512"
  "in-enc-aes256cbc-kari-p384-sha384kdf~encrypt~utf8-8bit~$S~erin@acme.example~aes-256-cbc erin -- --kdf SHA-384"
  "in-enc-aes256cbc-two-recipients~encrypt~attachment~$S~$D~aes-256-cbc partner-domain dave"
  "in-enc-aes256cbc-rsa-and-ec~encrypt~nested~$S~bob@acme.example~aes-256-cbc dave bob"
  "in-signed-then-encrypted~signenc~attachment~$D~$D~detached dave aes-256-cbc dave"
  "in-signed-opaque-then-encrypted-ecdh~signenc~nested~$F~bob@acme.example~opaque frank aes-128-cbc bob"
  "in-enc-aes256gcm-in-envelopeddata-refused~refuse~attachment~$S~$D~aes-256-gcm dave"
  # node-forge: RSA PKCS#1 v1.5 signatures, KTRI PKCS#1 v1.5 envelopes
  "forge-in-sign-detached-sha256~sign~attachment~$D~$A~detached dave $CHAIN"
  "forge-in-sign-opaque-sha256~sign~nested~$D~$A~opaque dave $CHAIN"
  "forge-in-sign-detached-sha512-8bit~sign~utf8-8bit~$D~$A~detached dave --hash sha512 $CHAIN"
  "forge-in-sign-opaque-sha384-leaf~sign~plain-7bit~$D~$A~opaque dave --hash sha384"
  "forge-in-sign-detached-no-attrs~sign~nested~$D~$A~detached dave --no-attrs $CHAIN"
  "forge-in-sign-opaque-big~sign~big~$D~$A~opaque dave $CHAIN"
  "forge-in-sign-detached-altered~tamper~attachment~$D~$A~detached dave $CHAIN"
  "forge-in-sign-opaque-altered~tamper~attachment~$D~$A~opaque dave $CHAIN"
  "forge-in-enc-aes128cbc-dave~encrypt~attachment~$S~$D~aes-128-cbc dave"
  "forge-in-enc-aes192cbc-dave~encrypt~nested~$S~$D~aes-192-cbc dave"
  "forge-in-enc-aes256cbc-dave~encrypt~utf8-8bit~$S~$D~aes-256-cbc dave"
  "forge-in-enc-3des-dave~encrypt~lf-only~$S~$D~des-ede3-cbc dave"
  "forge-in-enc-aes256cbc-big~encrypt~big~$S~$D~aes-256-cbc dave"
  "forge-in-enc-aes256cbc-domain~encrypt~nested~$S~hank@partner.example~aes-256-cbc partner-domain"
  "forge-in-enc-aes256cbc-two-recipients~encrypt~attachment~$S~$D~aes-256-cbc partner-domain dave"
  "forge-in-signed-then-encrypted~signenc~attachment~$D~$D~detached dave aes-256-cbc dave"
  "forge-in-signed-opaque-then-encrypted~signenc~nested~$D~$D~opaque dave aes-128-cbc dave"
)
declare -A SENT
for spec in "${PJ_IN[@]}"; do
  IFS='~' read -r cn kind msg from rcpt how <<<"$spec"
  fixture "$cn" "$msg" "$from" "$rcpt" "$WORK/m/$cn.src"
  make_entity "$WORK/m/$cn.src" "$WORK/m/$cn.entity"
  read -r -a h <<<"$how"
  made=1 lib=pkijs sid=(--sid ski)
  case $cn in forge-*) lib=forge sid=() ;; esac
  case $kind in
    sign|tamper)
      if [ "${h[0]}" = detached ]; then
        "${lib}_sign" "$WORK/m/$cn.entity" "${h[1]}" "$WORK/m/$cn.p7s" --detached "${h[@]:2}" \
          && wrap_detached "$WORK/m/$cn.entity" "$WORK/m/$cn.p7s" "$WORK/m/$cn.eml" "$cn" "$from" "$rcpt" || made=0
      else
        "${lib}_sign" "$WORK/m/$cn.entity" "${h[1]}" "$WORK/m/$cn.p7m" "${h[@]:2}" \
          && wrap_opaque "$WORK/m/$cn.p7m" "$WORK/m/$cn.eml" "$cn" "$from" "$rcpt" || made=0
      fi ;;
    encrypt|refuse)
      "${lib}_envelope" "$WORK/m/$cn.entity" "$WORK/m/$cn.p7m" "${h[@]}" \
        && wrap_enveloped "$WORK/m/$cn.p7m" "$WORK/m/$cn.eml" "$cn" "$from" "$rcpt" || made=0 ;;
    signenc)   # a detached or opaque signed message, then its entity (MIME part) enveloped
      if [ "${h[0]}" = detached ]; then
        "${lib}_sign" "$WORK/m/$cn.entity" "${h[1]}" "$WORK/m/$cn.p7s" --detached $CHAIN \
          && wrap_detached "$WORK/m/$cn.entity" "$WORK/m/$cn.p7s" "$WORK/m/$cn.signed" "$cn" "$from" "$rcpt" || made=0
      else
        "${lib}_sign" "$WORK/m/$cn.entity" "${h[1]}" "$WORK/m/$cn.p7s" "${sid[@]}" $CHAIN \
          && wrap_opaque "$WORK/m/$cn.p7s" "$WORK/m/$cn.signed" "$cn" "$from" "$rcpt" || made=0
      fi
      [ "$made" = 1 ] && make_entity "$WORK/m/$cn.signed" "$WORK/m/$cn.signed-entity" \
        && "${lib}_envelope" "$WORK/m/$cn.signed-entity" "$WORK/m/$cn.p7m" "${h[2]}" "${h[3]}" \
        && wrap_enveloped "$WORK/m/$cn.p7m" "$WORK/m/$cn.eml" "$cn" "$from" "$rcpt" || made=0 ;;
  esac
  [ "$made" = 1 ] || { fail "$cn" "$lib could not make it: $PEER_DETAIL"; continue; }
  if [ "$kind" = tamper ]; then tamper_signed "$cn" "${h[0]}" "$from" "$rcpt" || continue; fi
  submit "$cn" "${IN_PORT[detached-pkcs1]}" "$from" "$rcpt" "$WORK/m/$cn.eml"
  SENT[$cn]=1
done
submit_flush
note "PKI.js and forge made and sent ${#SENT[@]} messages after $((SECONDS - T0)) s"
# What PKI.js cannot make: RSA PKCS#1 v1.5 key transport (WebCrypto has no RSAES-PKCS1-v1_5).
if pkijs_envelope "$WORK/m/in-enc-aes256cbc-oaep256-dave.entity" "$WORK/m/v15.p7m" aes-256-cbc dave -- --v15; then
  fail pkijs-cannot-v15-as-documented "PKI.js made a PKCS#1 v1.5 envelope: add inbound cases, update README and this test"
else pass pkijs-cannot-v15-as-documented; skip in-enc-ktri-pkcs1-v15 "PKI.js cannot encrypt with RSA PKCS#1 v1.5: $PEER_DETAIL"; fi

# --- 2. outbound messages made by ssm-milter ------------------------------------------------
# OUT: CASE~CONFIG~MSG~FROM~RCPTS~CHECK. CHECK: sign:SIGNER[:CAP] | decrypt:KEY[:CAP] |
# signenc:KEY:SIGNER. With CAP, PKI.js reads it only when the probe says so (else SKIP).
PJ_OUT=(
  "out-sign-detached-rsa-attachment~detached-pkcs1~attachment~alice@acme.example~someone@elsewhere.example~sign:alice"
  "out-sign-detached-rsa-8bit~detached-pkcs1~utf8-8bit~alice@acme.example~someone@elsewhere.example~sign:alice"
  "out-sign-detached-domain~detached-pkcs1~plain-7bit~zed@acme.example~someone@elsewhere.example~sign:domain-signing-authority"
  "out-sign-opaque-rsa-nested~opaque-pkcs1~nested~alice@acme.example~someone@elsewhere.example~sign:alice"
  "out-sign-opaque-rsa-big~opaque-pkcs1~big~alice@acme.example~someone@elsewhere.example~sign:alice"
  "out-sign-detached-ecdsa-nested~detached-pkcs1~nested~bob@acme.example~someone@elsewhere.example~sign:bob:ecdsa"
  "out-sign-opaque-ecdsa-8bit~opaque-pkcs1~utf8-8bit~bob@acme.example~someone@elsewhere.example~sign:bob:ecdsa"
  "out-sign-detached-pss~detached-pss~nested~carol@acme.example~someone@elsewhere.example~sign:carol:pss"
  "out-sign-opaque-pss~opaque-pss~attachment~carol@acme.example~someone@elsewhere.example~sign:carol:pss"
  "out-enc-aes256cbc-v15-dave~detached-pkcs1~attachment~aes256cbc@acme.example~dave@partner.example~decrypt:dave:cbc"
  "out-enc-aes256cbc-oaep-dave~detached-pss~attachment~aes256cbc@acme.example~dave@partner.example~decrypt:dave:oaep"
  "out-enc-aes128cbc-oaep-dave~detached-pss~nested~aes128cbc@acme.example~dave@partner.example~decrypt:dave:oaep"
  "out-enc-aes256cbc-oaep-big-dave~opaque-pss~big~aes256cbc@acme.example~dave@partner.example~decrypt:dave:oaep"
  "out-enc-aes256cbc-oaep-domain~detached-pss~plain-7bit~gw@acme.example~anyone@partner.example~decrypt:partner-domain:oaep"
  "out-enc-aes256gcm-oaep-dave~detached-pss~attachment~aes256gcm@acme.example~dave@partner.example~decrypt:dave:gcm"
  "out-enc-aes256cbc-ecdh-p256-frank~detached-pkcs1~attachment~aes256cbc@acme.example~frank@partner.example~decrypt:frank:kari"
  "out-enc-aes128cbc-ecdh-p384-grace~detached-pkcs1~utf8-8bit~aes128cbc@acme.example~grace@partner.example~decrypt:grace:kari"
  "out-enc-aes256cbc-oaep-and-ec-recipients~detached-pss~nested~aes256cbc@acme.example~dave@partner.example,frank@partner.example~decrypt:dave:mixed-oaep"
  "out-signed-then-encrypted-pss-oaep~detached-pss~nested~alice@acme.example~dave@partner.example~signenc:dave:alice"
  "out-signed-opaque-then-encrypted-pss-oaep~opaque-pss~attachment~alice@acme.example~dave@partner.example~signenc:dave:alice"
)
# forge decrypts (KTRI PKCS#1 v1.5 only); signed inside: forge decrypts, PKI.js verifies.
FORGE_OUT=(
  "forge-out-enc-aes256cbc-v15-dave~detached-pkcs1~attachment~aes256cbc@acme.example~dave@partner.example~decrypt:dave:cbc"
  "forge-out-enc-aes128cbc-v15-dave~opaque-pkcs1~nested~aes128cbc@acme.example~dave@partner.example~decrypt:dave:cbc"
  "forge-out-enc-aes256cbc-v15-8bit-dave~detached-pkcs1~utf8-8bit~aes256cbc@acme.example~dave@partner.example~decrypt:dave:cbc"
  "forge-out-enc-aes256cbc-v15-big-dave~detached-pkcs1~big~aes256cbc@acme.example~dave@partner.example~decrypt:dave:cbc"
  "forge-out-enc-aes256cbc-v15-domain~detached-pkcs1~plain-7bit~gw@acme.example~anyone@partner.example~decrypt:partner-domain:cbc"
  "forge-out-enc-aes256cbc-oaep-dave~detached-pss~attachment~aes256cbc@acme.example~dave@partner.example~decrypt:dave:oaep"
  "forge-out-enc-aes256gcm-dave~detached-pkcs1~nested~aes256gcm@acme.example~dave@partner.example~decrypt:dave:gcm"
  "forge-out-enc-aes256cbc-ecdh-p256-frank~detached-pkcs1~attachment~aes256cbc@acme.example~frank@partner.example~decrypt:frank:kari"
  "forge-out-signed-then-encrypted~detached-pkcs1~nested~alice@acme.example~dave@partner.example~signenc:dave:alice"
  "forge-out-signed-opaque-then-encrypted~opaque-pkcs1~attachment~alice@acme.example~dave@partner.example~signenc:dave:alice"
)
OUT=("${PJ_OUT[@]}" "${FORGE_OUT[@]}")
send_outbound_cases

# --- 3. PKI.js checks what ssm-milter sent --------------------------------------------------
# pkijs_verified NAME FILE SIGNER SRC: PKI.js verifies FILE (test root only) with SIGNER's
# certificate of the test PKI, and the content it vouches for carries the parts of SRC.
pkijs_verified() {
  local d=$WORK/v/$1
  if ! pkijs_verify "$2" "$d" "$PKI/root-ca.cert.pem"; then fail "$1" "$PEER_DETAIL"; return; fi
  _check_signer_pem "$d/signer.pem" "$3@acme.example" || { fail "$1" "$PEER_DETAIL"; return; }
  if [ "$(cat "$d/kind")" = detached ] && ! cmp -s "$d/pkijs.out" "$d/content"; then fail "$1" "PKI.js returned other content"; return; fi
  same_leaves "$1" "$d/pkijs.out" "$4" || return
  pass "$1"; note "$1: $(cms_signature_algorithm "$d/sig.der") by $PKIJS_SIGNER"
}
OUT=("${PJ_OUT[@]}")
check_outbound_cases pkijs "PKI.js"
peer_negative_controls pkijs "PKI.js" out-enc-aes256cbc-oaep-dave
# forge_verified NAME FILE SIGNER SRC (signenc cases): forge has no SignedData verification;
# what forge decrypted is verified by PKI.js.
forge_verified() { pkijs_verified "$@"; }
declare -A PJ_CAN
for cap in "${!CAN[@]}"; do PJ_CAN[$cap]=${CAN[$cap]}; done
for cap in "${!FORGE_CAN[@]}"; do CAN[$cap]=${FORGE_CAN[$cap]}; done
OUT=("${FORGE_OUT[@]}")
check_outbound_cases forge "forge"
for cap in "${!PJ_CAN[@]}"; do CAN[$cap]=${PJ_CAN[$cap]}; done
skip forge-out-sign "forge verifies no SignedData (forge.pkcs7: signature verification not implemented)"
# Wrong key, forced: dave's (only) RecipientInfo decrypted with the partner domain's key, by
# PKI.js (OAEP) and by forge (PKCS#1 v1.5); both must refuse, whatever the RecipientInfo names.
for c in pkijs:out-enc-aes256cbc-oaep-dave forge:forge-out-enc-aes256cbc-v15-dave; do
  p=${c%%:*} e=$WORK/out/${c#*:}.p7m
  if [ ! -f "$e" ]; then fail "$p-out-neg-wrong-key-forced" "no envelope for dave"
  elif "${p}_decrypt" "$e" partner-domain "$WORK/out/wrong-key-forced.$p" --first; then
    fail "$p-out-neg-wrong-key-forced" "$p decrypted dave's envelope with the domain key"
  else pass "$p-out-neg-wrong-key-forced"; note "$p-out-neg-wrong-key-forced: $PEER_DETAIL"; fi
done

# --- 4. what ssm-milter made of PKI.js's messages -------------------------------------------
peer_inbound_verdicts PJ_IN

# The documented deviation is still PKI.js's: AES-GCM inside an EnvelopedData, its parameters a
# bare OCTET STRING (the IV, 16 octets) instead of GCMParameters.
if gcm=$(openssl asn1parse -inform DER -in "$WORK/m/in-enc-aes256gcm-in-envelopeddata-refused.p7m" 2>/dev/null | grep -A1 ':aes-256-gcm') \
   && openssl asn1parse -inform DER -in "$WORK/m/in-enc-aes256gcm-in-envelopeddata-refused.p7m" 2>/dev/null | grep -q ':pkcs7-envelopedData' \
   && printf '%s' "$gcm" | sed -n 2p | grep -qE 'l= *16 prim: OCTET STRING'; then
  pass pkijs-gcm-in-envelopeddata-as-documented
else fail pkijs-gcm-in-envelopeddata-as-documented "PKI.js's AES-GCM envelope changed: update README and this test"; fi

if grep -q 'cause=\\x22unsupported content encryption 2\.16\.840\.1\.101\.3\.4\.1\.46: malformed parameters\\x22' "$WORK/milter-detached-pkcs1.log"; then
  pass pkijs-gcm-refusal-cause
else fail pkijs-gcm-refusal-cause "the milter log does not name the AES-256-GCM OID and its malformed parameters as the cause: $(grep -m1 -o 'cause=[^ ]*' "$WORK/milter-detached-pkcs1.log")"; fi
# PKI.js reads a KeyAgreeRecipientInfo only when it carries a ukm: without one (OpenSSL's and
# ours; RFC 5652 §6.2.2, RFC 5753 §3.1.1: ukm OPTIONAL) it puts an empty entityUInfo into the
# ECC-CMS-SharedInfo of its KDF (RFC 5753 §7.2: present only when the ukm is) and derives
# another key. Its own KARIs always carry a 64-octet ukm.
f=$WORK/m/in-enc-aes256cbc-kari-p256.p7m
if [ "${CAN[kari]}" != yes ] && [ "${CAN[kari-keyid]}" != yes ] && [ -f "$f" ] \
   && openssl cms -cmsout -print -inform DER -in "$f" 2>/dev/null | grep -A6 '^ *ukm:' | grep -q '^ *003c - '; then
  pass pkijs-kari-needs-ukm-as-documented
else fail pkijs-kari-needs-ukm-as-documented "PKI.js reads OpenSSL's KARI (${CAN[kari]}) or writes no ukm: update README and this test"; fi

peer_finish
