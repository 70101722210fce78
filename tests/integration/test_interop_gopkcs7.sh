#!/bin/bash
# Go's pkcs7 library (github.com/fullsailor/pkcs7 from Debian's golang-github-fullsailor-pkcs7-dev
# on Go's standard crypto, tests/interop/gopkcs7/main.go) as a fifth, independent S/MIME peer,
# both directions through a real Postfix 3.7 with ssm-milter and the keys in SoftHSM. The
# library only makes and reads CMS (DER; RSA and ECDSA signatures; EnvelopedData with RSA
# PKCS#1 v1.5 key transport); main.go adds the RFC 8551 MIME wrappers.
# Outbound (ours -> Go): messages signed by ssm-milter (detached and opaque; RSA PKCS#1 v1.5 and
# ECDSA P-256) verify in Go with the right signer, chain and content; EnvelopedData AES-CBC (v1.5)
# decrypts in Go to the parts that were sent, also signed inside. Not readable by the library,
# SKIPs: RSA-PSS signatures, AuthEnvelopedData (AES-GCM), and any envelope that also holds a
# KeyAgreeRecipientInfo (an EC recipient: the library parses only KeyTransRecipientInfo).
# Inbound (Go -> ours): Go-signed mail (RSA, ECDSA P-256/P-384; SHA-256/384/512; without
# signedAttrs; extra signed/unsigned attributes; no chain or a chain up to the root; 1.5 MB)
# gets `smime=pass`; altered content `smime=fail`, and so does SHA-1, the library's default
# digest ("weak digest algorithm"). Go-encrypted AES-128/256-CBC mail (also signed inside, two
# recipients) to our token user arrives decrypted, byte for byte. The library's other ciphers
# are refused, nothing delivered: single DES (56-bit, not read by ssm-milter) and its AES-GCM,
# which it puts into an EnvelopedData (RFC 5084 §3 allows GCM only in AuthEnvelopedData) with
# malformed GCMParameters (a primitive SEQUENCE around them, the nonce tagged [4]; refused even
# when repaired: tests/unit/test_cms_decrypt_gopkcs7.cpp). 3DES: the library cannot encrypt
# with it (SKIP).
# One Go build (cache in the work dir), two runs: one makes every inbound message, one checks
# every delivery.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peer_milters.sh"
peer_begin go gofmt
GO_LIB=/usr/share/gocode/src/github.com/fullsailor/pkcs7
[ -f "$GO_LIB/encrypt.go" ] || fatal go-tools "$GO_LIB missing (golang-github-fullsailor-pkcs7-dev; run scripts/install-deps.sh)"
mkdir -p "$WORK/go"
# GOPATH mode on Debian's source layout, offline, the build cache in the work dir.
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$WORK/gocache GOFLAGS='' GOPROXY=off GOENV=off
GO_SRC=$SSM_SRCDIR/tests/interop/gopkcs7/main.go
t=$SECONDS
[ -z "$(gofmt -l "$GO_SRC")" ] || fatal go-compile "main.go is not gofmt-formatted"
{ go vet "$GO_SRC" && go build -o "$WORK/go/gopkcs7" "$GO_SRC"; } >"$WORK/go.log" 2>&1 \
  || fatal go-compile "go: $(head -n 5 "$WORK/go.log" | tr '\n' ' ')"
pass go-compile
note "go vet + build took $((SECONDS - t)) s"
# go_batch FILE OUT: one process runs every operation of FILE; OUT gets one OK/FAIL line each.
go_batch() { "$WORK/go/gopkcs7" batch "$1" >"$2" 2>"$2.err"; grep -q . "$2" || note "gopkcs7: $(head -n 3 "$2.err")"; }

make_pki
# Token keys: outbound signers (alice, carol: RSA; bob: P-256; the domain key) and dave (RSA),
# the inbound user Go encrypts to (the library has RSA key transport only).
make_token alice bob carol domain-signing dave
cp "$PKI/dave.cert.pem" "$PKI/frank.cert.pem" "$WORK/certs/"
# grace: a partner with a P-384 key (Go signs with ecdsa-with-SHA384).
issue_cert grace grace@partner.example p384 "digitalSignature, keyAgreement" || fatal go-setup "issue grace"

# --- Postfix and ssm-milter -------------------------------------------------------------------
# Three milters, one per signing configuration; key transport PKCS#1 v1.5 (all Go can read).
PEER=go
CONFIGS="detached-pkcs1:detached:pkcs1 opaque-pkcs1:opaque:pkcs1 detached-pss:detached:pss"
peer_configs "$(peer_rules aes128-cbc aes256-cbc aes256-gcm)" $CONFIGS
peer_start $CONFIGS

# --- 1. inbound messages made by Go ---------------------------------------------------------
# GO_IN: CASE~KIND~MSG~FROM~RCPT~OPERATION ARGUMENTS (KIND sign|sign2|weak|tamper|encrypt|signenc|refuse;
# signenc: "SIGN ARGUMENTS|ENCRYPT ARGUMENTS", the signed message is then encrypted)
K() { printf 'cert=%s key=%s chain=%s' "$PKI/$1.cert.pem" "$PKI/$1.key.pem" "$PKI/sub-ca.cert.pem"; }
DAVE=$PKI/dave.cert.pem
GO_IN=(
  "in-sign-detached-rsa~sign~attachment~dave@partner.example~alice@acme.example~sign $(K dave) form=detached"
  "in-sign-opaque-rsa~sign~nested~dave@partner.example~alice@acme.example~sign $(K dave) form=opaque"
  "in-sign-detached-ecdsa~sign~nested~frank@partner.example~alice@acme.example~sign $(K frank) form=detached"
  "in-sign-opaque-ecdsa~sign~utf8-8bit~frank@partner.example~alice@acme.example~sign $(K frank) form=opaque"
  "in-sign-detached-rsa-sha384~sign~plain-7bit~dave@partner.example~alice@acme.example~sign $(K dave) form=detached digest=sha384"
  "in-sign-opaque-ecdsa-sha512~sign~attachment~frank@partner.example~alice@acme.example~sign $(K frank) form=opaque digest=sha512"
  "in-sign-detached-rsa-big~sign~big~dave@partner.example~alice@acme.example~sign $(K dave) form=detached"
  "in-sign-opaque-ecdsa-big~sign~big~frank@partner.example~alice@acme.example~sign $(K frank) form=opaque"
  "in-sign-detached-ecdsa-p384~sign~nested~grace@partner.example~alice@acme.example~sign cert=$XPKI/grace.cert.pem key=$XPKI/grace.key.pem chain=$PKI/sub-ca.cert.pem form=detached digest=sha384"
  "in-sign-detached-rsa-no-signedattrs~sign~attachment~dave@partner.example~alice@acme.example~sign $(K dave) form=detached attrs=none"
  "in-sign-opaque-ecdsa-no-signedattrs~sign~nested~frank@partner.example~alice@acme.example~sign $(K frank) form=opaque attrs=none"
  "in-sign-opaque-ecdsa-caps-unsigned-attr~sign~attachment~frank@partner.example~alice@acme.example~sign $(K frank) form=opaque caps=1 unsigned=1"
  "in-sign-detached-rsa-chain-with-root~sign~attachment~dave@partner.example~alice@acme.example~sign cert=$PKI/dave.cert.pem key=$PKI/dave.key.pem chain=$PKI/chain.pem form=detached"
  "in-sign-opaque-rsa-no-chain~sign~nested~dave@partner.example~alice@acme.example~sign cert=$PKI/dave.cert.pem key=$PKI/dave.key.pem form=opaque"
  "in-sign-detached-rsa-sha1-default~weak~plain-7bit~dave@partner.example~alice@acme.example~sign $(K dave) form=detached digest=sha1"
  "in-sign-detached-two-signers~sign2~attachment~dave@partner.example~alice@acme.example~sign $(K dave) form=detached cert2=$PKI/frank.cert.pem key2=$PKI/frank.key.pem"
  "in-sign-opaque-two-signers~sign2~utf8-8bit~dave@partner.example~alice@acme.example~sign $(K dave) form=opaque cert2=$PKI/frank.cert.pem key2=$PKI/frank.key.pem"
  "in-sign-detached-rsa-8bit~sign~utf8-8bit~dave@partner.example~alice@acme.example~sign $(K dave) form=detached"
  "in-sign-detached-rsa-altered~tamper~attachment~dave@partner.example~alice@acme.example~sign $(K dave) form=detached"
  "in-enc-aes128cbc-v15-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$DAVE cipher=aes128-cbc"
  "in-enc-aes256cbc-v15-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$DAVE cipher=aes256-cbc"
  "in-enc-aes256cbc-v15-8bit-dave~encrypt~utf8-8bit~sender@partner.example~dave@partner.example~encrypt rcpt=$DAVE cipher=aes256-cbc"
  "in-enc-aes256cbc-v15-big-dave~encrypt~big~sender@partner.example~dave@partner.example~encrypt rcpt=$DAVE cipher=aes256-cbc"
  "in-enc-two-recipients-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/partner-domain.cert.pem,$DAVE cipher=aes128-cbc"
  "in-signed-then-encrypted~signenc~attachment~dave@partner.example~dave@partner.example~sign $(K dave) form=detached|encrypt rcpt=$DAVE cipher=aes256-cbc"
  "in-signed-opaque-then-encrypted~signenc~nested~frank@partner.example~dave@partner.example~sign $(K frank) form=opaque|encrypt rcpt=$DAVE cipher=aes128-cbc"
  "in-enc-des-cbc-dave-refused~refuse~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$DAVE cipher=des-cbc"
  "in-enc-aes128gcm-in-envelopeddata-dave-refused~refuse~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$DAVE cipher=aes128-gcm"
  "in-enc-aes256gcm-in-envelopeddata-dave-refused~refuse~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$DAVE cipher=aes256-gcm"
)
: >"$WORK/make.batch"
for spec in "${GO_IN[@]}"; do
  IFS='~' read -r cn kind msg from rcpt op <<<"$spec"
  fixture "$cn" "$msg" "$from" "$rcpt" "$WORK/m/$cn.src"
  make_entity "$WORK/m/$cn.src" "$WORK/m/$cn.entity"
  if [ "$kind" = signenc ]; then
    s=${op%%|*} e=${op#*|}
    printf 'sign %s/sign in=%s out=%s %s\n' "$cn" "$WORK/m/$cn.src" "$WORK/m/$cn.signed" "${s#* }"
    printf 'encrypt %s in=%s out=%s %s\n' "$cn" "$WORK/m/$cn.signed" "$WORK/m/$cn.eml" "${e#* }"
  else
    printf '%s %s in=%s out=%s %s\n' "${op%% *}" "$cn" "$WORK/m/$cn.src" "$WORK/m/$cn.eml" "${op#* }"
  fi >>"$WORK/make.batch"
done
t=$SECONDS
go_batch "$WORK/make.batch" "$WORK/make.result"
note "Go made ${#GO_IN[@]} messages in $((SECONDS - t)) s"
declare -A SENT
submit_made GO_IN Go
skip in-enc-3des-v15-dave "the library encrypts with DES-CBC, AES-128/256-CBC and AES-128/256-GCM only (no DES-EDE3-CBC; it decrypts 3DES)"

# --- 2. outbound messages made by ssm-milter ------------------------------------------------
# OUT: CASE~CONFIG~MSG~FROM~RCPTS~CHECK (sign:SIGNER:SIG-REGEX | verify-or-skip:SIGNER:REASON
# | decrypt:KEY | decrypt-or-skip:KEY:REASON | signenc:KEY:SIGNER:SIG-REGEX)
RSA15='SHA256WITHRSA|RSA' ECDSA='SHA256WITHECDSA'
OUT=(
  "out-sign-detached-rsa-attachment~detached-pkcs1~attachment~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-detached-rsa-8bit~detached-pkcs1~utf8-8bit~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-detached-rsa-nested~detached-pkcs1~nested~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-detached-rsa-long-line~detached-pkcs1~long-line~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-detached-domain~detached-pkcs1~plain-7bit~zed@acme.example~someone@elsewhere.example~sign:domain-signing-authority:$RSA15"
  "out-sign-detached-ecdsa-nested~detached-pkcs1~nested~bob@acme.example~someone@elsewhere.example~sign:bob:$ECDSA"
  "out-sign-opaque-rsa-attachment~opaque-pkcs1~attachment~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-opaque-ecdsa-8bit~opaque-pkcs1~utf8-8bit~bob@acme.example~someone@elsewhere.example~sign:bob:$ECDSA"
  "out-sign-opaque-ecdsa-lf-only~opaque-pkcs1~lf-only~bob@acme.example~someone@elsewhere.example~sign:bob:$ECDSA"
  "out-sign-opaque-rsa-big~opaque-pkcs1~big~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-detached-pss~detached-pss~nested~carol@acme.example~someone@elsewhere.example~verify-or-skip:carol:the library verifies no RSASSA-PSS"
  "out-enc-aes256cbc-v15-dave~detached-pkcs1~attachment~aes256cbc@acme.example~dave@partner.example~decrypt:dave"
  "out-enc-aes128cbc-v15-dave~detached-pkcs1~nested~aes128cbc@acme.example~dave@partner.example~decrypt:dave"
  "out-enc-aes256cbc-v15-8bit-dave~opaque-pkcs1~utf8-8bit~aes256cbc@acme.example~dave@partner.example~decrypt:dave"
  "out-enc-aes256cbc-v15-big-dave~detached-pkcs1~big~aes256cbc@acme.example~dave@partner.example~decrypt:dave"
  "out-enc-aes256gcm-v15-dave~detached-pkcs1~attachment~aes256gcm@acme.example~dave@partner.example~decrypt-or-skip:dave:the library reads no AuthEnvelopedData (RFC 5083)"
  "out-enc-aes256cbc-rsa-and-ec-recipients~detached-pkcs1~nested~aes256cbc@acme.example~dave@partner.example,frank@partner.example~decrypt-or-skip:dave:the library parses only KeyTransRecipientInfo (an envelope with a KeyAgreeRecipientInfo is unreadable, as for NSS)"
  "out-signed-then-encrypted~detached-pkcs1~nested~alice@acme.example~dave@partner.example~signenc:dave:alice:$RSA15"
  "out-signed-opaque-then-encrypted~opaque-pkcs1~attachment~alice@acme.example~dave@partner.example~signenc:dave:alice:$RSA15"
)
# GO_CANNOT: how the library answers what it cannot read (decrypt-or-skip).
declare -A GO_CANNOT=(
  [out-enc-aes256gcm-v15-dave]='FAIL out-enc-aes256gcm-v15-dave parse \(smime-type=authEnveloped-data\): pkcs7: cannot parse data: unimplemented content type'
  [out-enc-aes256cbc-rsa-and-ec-recipients]='FAIL out-enc-aes256cbc-rsa-and-ec-recipients parse \(smime-type=enveloped-data\): asn1: structure error: .*'
)
send_outbound_cases

# --- 3. Go checks what was delivered --------------------------------------------------------
: >"$WORK/check.batch"
for spec in "${OUT[@]}"; do
  IFS='~' read -r cn cfg msg from rcpts check <<<"$spec"
  grep -q '^250 ' "$WORK/out/$cn.reply" || continue
  dump=$(delivered_by_id "$cn") || continue
  sink_message "$dump" "$WORK/out/$cn.eml"
  IFS=: read -r what key rest <<<"$check"
  case $what in
    sign|verify-or-skip) echo "verify $cn in=$WORK/out/$cn.eml ca=$PKI/root-ca.cert.pem content=$WORK/out/$cn.content" ;;
    decrypt|decrypt-or-skip) echo "decrypt $cn in=$WORK/out/$cn.eml out=$WORK/out/$cn.plain cert=$PKI/$key.cert.pem key=$PKI/$key.key.pem" ;;
    signenc) echo "decrypt $cn/decrypt in=$WORK/out/$cn.eml out=$WORK/out/$cn.inner cert=$PKI/$key.cert.pem key=$PKI/$key.key.pem"
             echo "verify $cn/verify in=$WORK/out/$cn.inner ca=$PKI/root-ca.cert.pem content=$WORK/out/$cn.content" ;;
  esac >>"$WORK/check.batch"
done
for cn in in-sign-detached-rsa in-sign-opaque-ecdsa; do   # still verifies after delivery
  dump=$(delivered "$cn") || continue
  sink_message "$dump" "$WORK/out/$cn.delivered"
  echo "verify $cn/delivered in=$WORK/out/$cn.delivered ca=$PKI/root-ca.cert.pem" >>"$WORK/check.batch"
done
t=$SECONDS
go_batch "$WORK/check.batch" "$WORK/check.result"
note "Go checked $(grep -c . "$WORK/check.batch") deliveries in $((SECONDS - t)) s"

# go_verified NAME ID SIGNER SIG-REGEX CONTENT SRC: Go's verify line says OK with that signer,
# SHA-256 and the signature algorithm; the signed content carries the original parts.
go_verified() {
  local r; r=$(batch_result "$WORK/check.result" "$2")
  case $r in
    "OK "*" signers=1 signer=$3@acme.example "*) ;;
    *) fail "$1" "Go: $r"; return ;;
  esac
  printf '%s\n' "$r" | grep -qE " digest=SHA256 sig=($4) " || { fail "$1" "algorithms: $r"; return; }
  same_leaves "$1" "$5" "$6" || return
  pass "$1"; note "$1: ${r#OK }"
}
for spec in "${OUT[@]}"; do
  IFS='~' read -r cn cfg msg from rcpts check <<<"$spec"
  if ! grep -q '^250 ' "$WORK/out/$cn.reply"; then fail "$cn" "SMTP: $(cat "$WORK/out/$cn.reply")"; continue; fi
  [ -f "$WORK/out/$cn.eml" ] || { fail "$cn" "not delivered"; continue; }
  IFS=: read -r what key rest <<<"$check"
  r=$(batch_result "$WORK/check.result" "$cn")
  case $what in
    sign)
      want=opaque; [ "${cfg%%-*}" = detached ] && want=detached
      [ "$(signed_form "$WORK/out/$cn.eml")" = "$want" ] || { fail "$cn" "not $want signed: $(signed_form "$WORK/out/$cn.eml")"; continue; }
      go_verified "$cn" "$cn" "$key" "$rest" "$WORK/out/$cn.content" "$WORK/m/$cn.src" ;;
    verify-or-skip)   # the library cannot; it must say so, not pass something else
      case $r in
        "FAIL $cn pkcs7: unsupported algorithm "*) skip "$cn" "$rest: $r" ;;
        OK*) fail "$cn" "Go verified what it should not be able to: $r" ;;
        *) fail "$cn" "Go: $r" ;;
      esac ;;
    decrypt)
      if ! printf '%s\n' "$r" | grep -qE "^OK $cn smime-type=enveloped-data "; then fail "$cn" "Go: $r"
      elif same_leaves "$cn" "$WORK/out/$cn.plain" "$WORK/m/$cn.src"; then pass "$cn"; note "$cn: ${r#OK }"; fi ;;
    decrypt-or-skip)   # the library cannot; it must say so, not decrypt something else
      if printf '%s\n' "$r" | grep -qxE "${GO_CANNOT[$cn]}"; then skip "$cn" "$rest: $r"
      else fail "$cn" "Go: $r"; fi ;;
    signenc)
      IFS=: read -r signer sig <<<"$rest"
      r=$(batch_result "$WORK/check.result" "$cn/decrypt")
      case $r in OK*) pass "$cn/decrypt"; note "$cn/decrypt: ${r#OK }" ;; *) fail "$cn/decrypt" "Go: $r"; continue ;; esac
      go_verified "$cn/verify" "$cn/verify" "$signer" "$sig" "$WORK/out/$cn.content" "$WORK/m/$cn.src" ;;
  esac
done

# --- 4. what ssm-milter made of Go's messages -----------------------------------------------
for spec in "${GO_IN[@]}"; do
  IFS='~' read -r cn kind msg from rcpt op <<<"$spec"
  [ -n "${SENT[$cn]:-}" ] || continue
  inbound_outcome "$cn" "$kind" || continue
  form=detached
  case $op in *form=opaque*) form=opaque ;; esac
  if [ "$kind" = weak ]; then   # the library's default digest: SHA-1, which ssm-milter does not accept (smime=fail)
    if printf '%s' "$AR" | grep -q 'smime=fail reason="weak digest algorithm (SHA-1)" '; then pass "$cn"; note "$cn: $AR"
    else fail "$cn" "expected smime=fail for SHA-1: $AR"; fi
  else inbound_verdict "$cn" "$kind" "$from" "$form" go.test.invalid || fail "$cn" "no check for kind $kind"; fi
done
for cn in in-sign-detached-rsa in-sign-opaque-ecdsa; do
  r=$(batch_result "$WORK/check.result" "$cn/delivered")
  case $r in OK*) pass "$cn/delivered-still-verifies" ;; *) fail "$cn/delivered-still-verifies" "Go: $r" ;; esac
done
# What the library makes: DER EnvelopedData whose encryptedContent is a constructed [0] with
# one definite-length OCTET STRING (BER); its GCM parameters are a primitive SEQUENCE (around
# a SEQUENCE whose nonce is tagged [4] instead of OCTET STRING).
if smime_envelope "$WORK/m/in-enc-aes128cbc-v15-dave.eml" "$WORK/m/cbc.der" \
   && openssl asn1parse -inform DER -in "$WORK/m/cbc.der" 2>/dev/null | grep -qE 'cons: +cont \[ 0 \]' \
   && smime_envelope "$WORK/m/in-enc-aes256gcm-in-envelopeddata-dave-refused.eml" "$WORK/m/gcm.der" \
   && openssl asn1parse -inform DER -in "$WORK/m/gcm.der" 2>/dev/null | grep -A1 ':aes-256-gcm' | grep -q 'prim: SEQUENCE'; then
  pass go-envelope-encoding-as-documented
else fail go-envelope-encoding-as-documented "the library's EnvelopedData is not encoded as documented here"; fi

peer_finish
