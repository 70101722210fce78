#!/bin/bash
# BouncyCastle (bcmail/bcpkix 1.72 on JavaMail 1.6, tests/interop/bouncycastle/BcSmime.java) as
# an independent S/MIME peer, both directions through a real Postfix 3.7 with ssm-milter and the
# keys in SoftHSM. Outbound (ours -> BC): messages signed by ssm-milter (detached and opaque; RSA
# PKCS#1 v1.5, RSA-PSS, ECDSA P-256, Ed25519) verify in BC with the right signer, algorithms
# and content; messages encrypted by ssm-milter (EnvelopedData AES-CBC and AuthEnvelopedData
# AES-GCM and ChaCha20-Poly1305; RSA PKCS#1 v1.5, RSA-OAEP, ECDH P-256/P-384; signed inside)
# decrypt in BC to the parts that were sent (X25519: BC 1.72 cannot, a SKIP). Inbound (BC ->
# ours): BC-signed mail gets `smime=pass` (altered content `smime=fail`; two signers one result
# each); BC-encrypted mail (BER, indefinite lengths, 1000-octet segments; CBC, 3DES, GCM and
# ChaCha20-Poly1305 (RFC 8103: bcprov's cipher in bcpkix's generator, see BcSmime.java) with
# and without authAttrs; v1.5, OAEP, ECDH; signed inside, triple wrapped) to our users' token
# keys arrives decrypted, byte for byte. Two JVM runs: one makes every inbound message, one checks every delivery.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peer_milters.sh"
peer_begin xxd java javac
JARS="bcprov bcpkix bcutil bcmail javax.mail javax.activation"
BC_CP=$WORK/bc
for j in $JARS; do
  [ -f "/usr/share/java/$j.jar" ] || fatal bc-tools "/usr/share/java/$j.jar missing (run scripts/install-deps.sh)"
  BC_CP=$BC_CP:/usr/share/java/$j.jar
done
mkdir -p "$WORK/bc"
# The jars' manifests name class-path jars Debian does not ship: -Xlint:-path.
javac -Werror -Xlint:all,-path -cp "$BC_CP" -d "$WORK/bc" "$SSM_SRCDIR/tests/interop/bouncycastle/BcSmime.java" \
  >"$WORK/javac.log" 2>&1 || fatal bc-compile "javac: $(head -n 5 "$WORK/javac.log" | tr '\n' ' ')"
pass bc-compile
# bc_batch FILE OUT: one JVM runs every operation of FILE; OUT gets one OK/FAIL line each.
bc_batch() { java -cp "$BC_CP" BcSmime batch "$1" >"$2" 2>"$2.err"; grep -q . "$2" || note "BcSmime: $(head -n 3 "$2.err")"; }

make_pki
# Token keys: outbound signers (alice, carol: RSA; bob: P-256; the domain key) and the inbound
# users BC encrypts to (dave: RSA, frank: P-256, imported with CKA_DERIVE for ECDH).
make_token alice bob carol domain-signing dave frank
# grace: a P-384 user, issued here and imported for ECDH as make-token.sh does (CKA_DERIVE).
issue_cert grace grace@partner.example p384 "digitalSignature, keyAgreement" || fatal bc-setup "issue grace"
issue_cert xavier xavier@partner.example x25519 "keyAgreement" || fatal bc-setup "issue xavier (X25519)"
import_to_token grace 07 --usage-sign --usage-derive
cp "$PKI/dave.cert.pem" "$PKI/frank.cert.pem" "$XPKI/grace.cert.pem" "$XPKI/xavier.cert.pem" "$WORK/certs/"
# Ed25519 (RFC 8419), which OpenSSL 3.0's cms cannot verify or make: edna is our user (her key
# goes into the token with ssmctl hsm import, below), edgar a partner.
ed_cert() {  # NAME EMAIL
  ( set -e; cd "$XPKI"
    openssl genpkey -algorithm ED25519 -out "$1.key.pem"
    openssl req -new -key "$1.key.pem" -subj "/O=SSM Test/CN=$2" -out "$1.csr"
    printf 'basicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = emailProtection\nsubjectAltName = email:%s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' "$2" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$PKI/sub-ca.cert.pem" -CAkey "$PKI/sub-ca.key.pem" \
      -set_serial "0x$(openssl rand -hex 12)" -days 3650 -extfile "$1.ext" -out "$1.cert.pem"
    openssl pkcs12 -export -inkey "$1.key.pem" -in "$1.cert.pem" -passout pass:p12-secret -out "$1.p12"
    rm -f "$1.csr" "$1.ext" ) >"$WORK/ed-$1.log" 2>&1 || fatal bc-setup "Ed25519 certificate $1: $(tail -n 2 "$WORK/ed-$1.log")"
}
ed_cert edna edna@acme.example
ed_cert edgar edgar@partner.example

# --- Postfix and ssm-milter -------------------------------------------------------------------
# Four milters, one per signing configuration (format x RSA scheme); key transport PKCS#1 v1.5
# on the pkcs1 ones and RSA-OAEP on the pss ones. The cipher follows the sender's rule. Each
# milter has an inbound listener (127.0.0.1 is not internal) and an ORIGINATING one.
PEER=bc
CONFIGS="detached-pkcs1:detached:pkcs1:pkcs1 opaque-pkcs1:opaque:pkcs1:pkcs1 detached-pss:detached:pss:oaep opaque-pss:opaque:pss:oaep"
peer_configs "$(peer_rules aes128-cbc aes256-cbc aes128-gcm aes256-gcm chacha20-poly1305)" $CONFIGS
printf 'p12-secret\n' >"$WORK/p12.pw"
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm-detached-pkcs1.toml" hsm import "$XPKI/edna.p12" --password-file "$WORK/p12.pw" \
  >"$WORK/import-edna.log" 2>&1 || fatal bc-setup "ssmctl hsm import edna (Ed25519): $(tail -n 2 "$WORK/import-edna.log")"
# big (peer_big_message, made by peer_start): BouncyCastle's BER streams cut its content into
# many 1000-octet OCTET STRING chunks, not aligned on cipher blocks.
peer_start $CONFIGS

# --- 1. inbound messages made by BouncyCastle ------------------------------------------------
# BC_IN: CASE~KIND~MSG~FROM~RCPT~OPERATION ARGUMENTS (KIND sign|sign2|tamper|encrypt|signenc|signenc-opaque|triple
# |compress|compsign; compressed-data, RFC 3274, is inflated: alone, signed inside, inside an
# encryption, and under an opaque signature, which is then taken off)
K() { printf 'cert=%s key=%s chain=%s' "$PKI/$1.cert.pem" "$PKI/$1.key.pem" "$PKI/sub-ca.cert.pem"; }
BC_IN=(
  "in-sign-detached-rsa~sign~attachment~dave@partner.example~alice@acme.example~sign $(K dave) alg=rsa form=detached"
  "in-sign-opaque-rsa~sign~nested~dave@partner.example~alice@acme.example~sign $(K dave) alg=rsa form=opaque"
  "in-sign-detached-pss~sign~utf8-8bit~dave@partner.example~alice@acme.example~sign $(K dave) alg=pss form=detached"
  "in-sign-opaque-pss~sign~attachment~dave@partner.example~alice@acme.example~sign $(K dave) alg=pss form=opaque"
  "in-sign-detached-ecdsa~sign~nested~frank@partner.example~alice@acme.example~sign $(K frank) alg=ecdsa form=detached"
  "in-sign-opaque-ecdsa~sign~utf8-8bit~frank@partner.example~alice@acme.example~sign $(K frank) alg=ecdsa form=opaque"
  "in-sign-detached-rsa-ski~sign~nested~dave@partner.example~alice@acme.example~sign $(K dave) alg=rsa form=detached sid=ski"
  "in-sign-opaque-ecdsa-ski~sign~attachment~frank@partner.example~alice@acme.example~sign $(K frank) alg=ecdsa form=opaque sid=ski"
  "in-sign-opaque-pss-big~sign~big~dave@partner.example~alice@acme.example~sign $(K dave) alg=pss form=opaque"
  "in-sign-detached-rsa-rfc3851-micalg~sign~attachment~dave@partner.example~alice@acme.example~sign $(K dave) alg=rsa form=detached micalg=rfc3851"
  "in-sign-detached-ecdsa-sha384~sign~attachment~frank@partner.example~alice@acme.example~sign $(K frank) alg=ecdsa form=detached digest=sha384"
  "in-sign-opaque-pss-sha512~sign~nested~dave@partner.example~alice@acme.example~sign $(K dave) alg=pss form=opaque digest=sha512"
  "in-sign-detached-two-signers~sign2~attachment~dave@partner.example~alice@acme.example~sign $(K dave) alg=rsa form=detached cert2=$PKI/frank.cert.pem key2=$PKI/frank.key.pem alg2=ecdsa"
  "in-sign-detached-ed25519~sign~nested~edgar@partner.example~alice@acme.example~sign cert=$XPKI/edgar.cert.pem key=$XPKI/edgar.key.pem chain=$PKI/sub-ca.cert.pem alg=ed25519 form=detached"
  "in-sign-opaque-ed25519~sign~attachment~edgar@partner.example~alice@acme.example~sign cert=$XPKI/edgar.cert.pem key=$XPKI/edgar.key.pem chain=$PKI/sub-ca.cert.pem alg=ed25519 form=opaque"
  "in-sign-detached-ecdsa-big~sign~big~frank@partner.example~alice@acme.example~sign $(K frank) alg=ecdsa form=detached"
  "in-sign-detached-rsa-altered~tamper~attachment~dave@partner.example~alice@acme.example~sign $(K dave) alg=rsa form=detached"
  "in-enc-aes256cbc-v15-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-cbc kt=v15"
  "in-enc-aes128cbc-v15-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes128-cbc kt=v15"
  "in-enc-3des-v15-dave~encrypt~utf8-8bit~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=3des kt=v15"
  "in-enc-aes256cbc-oaep256-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-cbc kt=oaep"
  "in-enc-aes128cbc-oaep1-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes128-cbc kt=oaep-sha1"
  "in-enc-aes128gcm-v15-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes128-gcm kt=v15"
  "in-enc-aes256gcm-oaep256-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-gcm kt=oaep"
  "in-enc-aes128cbc-ecdh256-frank~encrypt~attachment~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=aes128-cbc kdf=sha256"
  "in-enc-aes256cbc-ecdh1-frank~encrypt~utf8-8bit~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=aes256-cbc kdf=sha1"
  "in-enc-aes256gcm-ecdh256-frank~encrypt~nested~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=aes256-gcm kdf=sha256"
  "in-enc-3des-ecdh256-frank~encrypt~attachment~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=3des kdf=sha256"
  "in-enc-aes256cbc-v15-ski-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-cbc kt=v15 rid=ski"
  "in-enc-aes256gcm-oaep256-ski-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-gcm kt=oaep rid=ski"
  "in-enc-aes128cbc-ecdh256-ski-frank~encrypt~nested~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=aes128-cbc kdf=sha256 rid=ski"
  "in-enc-aes256cbc-v15-big-dave~encrypt~big~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-cbc kt=v15"
  "in-enc-aes256gcm-ecdh256-big-frank~encrypt~big~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=aes256-gcm kdf=sha256"
  "in-enc-aes256cbc-v15-berri-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-cbc kt=v15 berri=1"
  "in-enc-aes128cbc-ecdh-cofactor-frank~encrypt~attachment~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=aes128-cbc kdf=cofactor-sha256"
  "in-enc-aes192cbc-v15-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes192-cbc kt=v15"
  "in-enc-aes256cbc-oaep384-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-cbc kt=oaep-sha384"
  "in-enc-aes256gcm-oaep512-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-gcm kt=oaep-sha512"
  "in-enc-aes256cbc-ecdh384-grace~encrypt~attachment~sender@partner.example~grace@partner.example~encrypt rcpt=$XPKI/grace.cert.pem cipher=aes256-cbc kdf=sha384"
  "in-enc-aes256gcm-ecdh256-grace~encrypt~nested~sender@partner.example~grace@partner.example~encrypt rcpt=$XPKI/grace.cert.pem cipher=aes256-gcm kdf=sha256"
  "in-enc-aes256gcm-authattrs-v15-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-gcm kt=v15 authattrs=1"
  "in-enc-aes128gcm-authattrs-ecdh256-frank~encrypt~nested~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=aes128-gcm kdf=sha256 authattrs=1"
  "in-enc-aes256cbc-v15-cmsapi-originator-unprot-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-cbc kt=v15 api=cms originator=$PKI/frank.cert.pem unprot=1"
  "in-signed-opaque-then-encrypted~signenc-opaque~nested~frank@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes128-cbc kt=oaep signcert=$PKI/frank.cert.pem signkey=$PKI/frank.key.pem signchain=$PKI/sub-ca.cert.pem signalg=ecdsa signform=opaque"
  "in-triple-wrapped~triple~attachment~frank@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-cbc kt=v15 signcert=$PKI/frank.cert.pem signkey=$PKI/frank.key.pem signchain=$PKI/sub-ca.cert.pem signalg=ecdsa outercert=$PKI/frank.cert.pem outerkey=$PKI/frank.key.pem outerchain=$PKI/sub-ca.cert.pem outeralg=ecdsa"
  "in-enc-aes256cbc-ecdh256-ukm-frank~encrypt~attachment~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=aes256-cbc kdf=sha256 ukm=partner-ukm-0123456789"
  "in-compressed~compress~attachment~sender@partner.example~alice@acme.example~compress"
  "in-compressed-big~compress~big~sender@partner.example~alice@acme.example~compress"
  "in-signed-then-compressed~signenc~nested~frank@partner.example~alice@acme.example~compress signcert=$PKI/frank.cert.pem signkey=$PKI/frank.key.pem signchain=$PKI/sub-ca.cert.pem signalg=ecdsa signform=detached"
  "in-signed-compressed-encrypted~signenc~attachment~frank@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-gcm kt=v15 signcert=$PKI/frank.cert.pem signkey=$PKI/frank.key.pem signchain=$PKI/sub-ca.cert.pem signalg=ecdsa signform=detached compress=1"
  "in-compressed-encrypted~compress~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-cbc kt=v15 compress=1"
  "in-compressed-then-signed~compsign~nested~dave@partner.example~alice@acme.example~sign $(K dave) alg=rsa form=opaque compress=1"
  "in-enc-aes256gcm-icv12-v15-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-gcm kt=v15 icv=12"
  "in-enc-two-recipients-dave-frank~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/alice.cert.pem,$PKI/frank.cert.pem,$PKI/dave.cert.pem cipher=aes256-cbc kt=oaep"
  "in-signed-then-encrypted~signenc~attachment~frank@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=aes256-gcm kt=v15 signcert=$PKI/frank.cert.pem signkey=$PKI/frank.key.pem signchain=$PKI/sub-ca.cert.pem signalg=ecdsa signform=detached"
  "in-enc-chacha-v15-dave~encrypt~attachment~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=chacha20-poly1305 kt=v15"
  "in-enc-chacha-authattrs-oaep256-dave~encrypt~nested~sender@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=chacha20-poly1305 kt=oaep authattrs=1"
  "in-enc-chacha-ecdh256-frank~encrypt~utf8-8bit~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=chacha20-poly1305 kdf=sha256"
  "in-enc-chacha-authattrs-ecdh384-grace~encrypt~nested~sender@partner.example~grace@partner.example~encrypt rcpt=$XPKI/grace.cert.pem cipher=chacha20-poly1305 kdf=sha384 authattrs=1"
  "in-enc-chacha-ecdh256-big-frank~encrypt~big~sender@partner.example~frank@partner.example~encrypt rcpt=$PKI/frank.cert.pem cipher=chacha20-poly1305 kdf=sha256"
  "in-signed-then-encrypted-chacha~signenc~nested~frank@partner.example~dave@partner.example~encrypt rcpt=$PKI/dave.cert.pem cipher=chacha20-poly1305 kt=v15 signcert=$PKI/frank.cert.pem signkey=$PKI/frank.key.pem signchain=$PKI/sub-ca.cert.pem signalg=ecdsa signform=detached"
)
: >"$WORK/make.batch"
for spec in "${BC_IN[@]}"; do
  IFS='~' read -r cn kind msg from rcpt op <<<"$spec"
  fixture "$cn" "$msg" "$from" "$rcpt" "$WORK/m/$cn.src"
  make_entity "$WORK/m/$cn.src" "$WORK/m/$cn.entity"
  printf '%s %s in=%s out=%s %s\n' "${op%% *}" "$cn" "$WORK/m/$cn.src" "$WORK/m/$cn.eml" "${op#"${op%% *}"}" >>"$WORK/make.batch"
done
t=$SECONDS
bc_batch "$WORK/make.batch" "$WORK/make.result"
note "BouncyCastle made ${#BC_IN[@]} messages in $((SECONDS - t)) s"
declare -A SENT
submit_made BC_IN BouncyCastle

# --- 2. outbound messages made by ssm-milter -------------------------------------------------
# OUT: CASE~CONFIG~MSG~FROM~RCPTS~CHECK (sign:SIGNER:SIG-REGEX | decrypt:KEY[,KEY]:SUMMARY-REGEX
# | signenc:KEY:SIGNER:SIG-REGEX)
RSA15='SHA256WITHRSA|RSA' PSS='RSAPSS/salt=[0-9]+' ECDSA='SHA256WITHECDSA'
OUT=(
  "out-sign-detached-rsa-8bit~detached-pkcs1~utf8-8bit~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-detached-rsa-attachment~detached-pkcs1~attachment~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-detached-rsa-nested~detached-pkcs1~nested~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-detached-ecdsa-nested~detached-pkcs1~nested~bob@acme.example~someone@elsewhere.example~sign:bob:$ECDSA"
  "out-sign-detached-domain~detached-pkcs1~plain-7bit~zed@acme.example~someone@elsewhere.example~sign:domain-signing-authority:$RSA15"
  "out-sign-detached-rsa-long-line~detached-pkcs1~long-line~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-opaque-ecdsa-lf-only~opaque-pkcs1~lf-only~bob@acme.example~someone@elsewhere.example~sign:bob:$ECDSA"
  "out-sign-opaque-rsa-attachment~opaque-pkcs1~attachment~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-opaque-ecdsa-8bit~opaque-pkcs1~utf8-8bit~bob@acme.example~someone@elsewhere.example~sign:bob:$ECDSA"
  "out-sign-detached-pss-8bit~detached-pss~utf8-8bit~carol@acme.example~someone@elsewhere.example~sign:carol:$PSS"
  "out-sign-opaque-rsa-big~opaque-pkcs1~big~alice@acme.example~someone@elsewhere.example~sign:alice:$RSA15"
  "out-sign-detached-ed25519-nested~detached-pkcs1~nested~edna@acme.example~someone@elsewhere.example~sign:edna:Ed25519:SHA512"
  "out-sign-opaque-ed25519-attachment~opaque-pss~attachment~edna@acme.example~someone@elsewhere.example~sign:edna:Ed25519:SHA512"
  "out-sign-opaque-pss-nested~opaque-pss~nested~carol@acme.example~someone@elsewhere.example~sign:carol:$PSS"
  "out-enc-aes256cbc-v15-dave~detached-pkcs1~attachment~aes256cbc@acme.example~dave@partner.example~decrypt:dave:envelopedData cipher=AES-256/CBC ktri:RSA "
  "out-enc-aes128cbc-ecdh-frank~detached-pkcs1~nested~aes128cbc@acme.example~frank@partner.example~decrypt:frank:envelopedData cipher=AES-128/CBC kari:"
  "out-enc-aes256gcm-v15-dave~detached-pkcs1~nested~aes256gcm@acme.example~dave@partner.example~decrypt:dave:authEnvelopedData cipher=AES-256/GCM ktri:RSA "
  "out-enc-aes128gcm-ecdh-frank~detached-pkcs1~utf8-8bit~aes128gcm@acme.example~frank@partner.example~decrypt:frank:authEnvelopedData cipher=AES-128/GCM kari:"
  "out-enc-aes256cbc-oaep-dave~detached-pss~utf8-8bit~aes256cbc@acme.example~dave@partner.example~decrypt:dave:envelopedData cipher=AES-256/CBC ktri:RSAOAEP "
  "out-enc-aes128gcm-oaep-dave~opaque-pss~attachment~aes128gcm@acme.example~dave@partner.example~decrypt:dave:authEnvelopedData cipher=AES-128/GCM ktri:RSAOAEP "
  "out-enc-aes256cbc-v15-big-dave~detached-pkcs1~big~aes256cbc@acme.example~dave@partner.example~decrypt:dave:envelopedData cipher=AES-256/CBC ktri:RSA "
  "out-enc-aes256gcm-oaep-big-dave~detached-pss~big~aes256gcm@acme.example~dave@partner.example~decrypt:dave:authEnvelopedData cipher=AES-256/GCM ktri:RSAOAEP "
  "out-enc-aes256cbc-ecdh-grace~detached-pkcs1~attachment~aes256cbc@acme.example~grace@partner.example~decrypt:grace:envelopedData cipher=AES-256/CBC kari:1.3.132.1.11.2 "
  "out-enc-aes128gcm-ecdh-grace~opaque-pss~nested~aes128gcm@acme.example~grace@partner.example~decrypt:grace:authEnvelopedData cipher=AES-128/GCM kari:1.3.132.1.11.2 "
  "out-enc-aes256cbc-x25519-xavier~detached-pkcs1~plain-7bit~aes256cbc@acme.example~xavier@partner.example~decrypt-or-skip:xavier:envelopedData cipher=AES-256/CBC kari:"
  "out-enc-two-recipients~detached-pkcs1~attachment~aes256cbc@acme.example~dave@partner.example,frank@partner.example~decrypt:dave,frank:envelopedData cipher=AES-256/CBC .*recipients=2 "
  "out-signed-then-encrypted~detached-pkcs1~nested~alice@acme.example~dave@partner.example~signenc:dave:alice:$RSA15"
  "out-signed-then-encrypted-pss-oaep~opaque-pss~attachment~alice@acme.example~dave@partner.example~signenc:dave:alice:$PSS"
  "out-enc-chacha-v15-dave~detached-pkcs1~attachment~chacha20poly1305@acme.example~dave@partner.example~decrypt:dave:authEnvelopedData cipher=ChaCha20-Poly1305 ktri:RSA "
  "out-enc-chacha-oaep-big-dave~detached-pss~big~chacha20poly1305@acme.example~dave@partner.example~decrypt:dave:authEnvelopedData cipher=ChaCha20-Poly1305 ktri:RSAOAEP "
  "out-enc-chacha-ecdh-frank~opaque-pkcs1~nested~chacha20poly1305@acme.example~frank@partner.example~decrypt:frank:authEnvelopedData cipher=ChaCha20-Poly1305 kari:"
  "out-enc-chacha-ecdh-grace~opaque-pss~utf8-8bit~chacha20poly1305@acme.example~grace@partner.example~decrypt:grace:authEnvelopedData cipher=ChaCha20-Poly1305 kari:1.3.132.1.11.2 "
)
send_outbound_cases

# --- 3. BouncyCastle checks what was delivered -----------------------------------------------
: >"$WORK/check.batch"
for spec in "${OUT[@]}"; do
  IFS='~' read -r cn cfg msg from rcpts check <<<"$spec"
  grep -q '^250 ' "$WORK/out/$cn.reply" || continue
  dump=$(delivered_by_id "$cn") || continue
  sink_message "$dump" "$WORK/out/$cn.eml"
  IFS=: read -r what keys rest <<<"$check"
  case $what in
    sign) echo "verify $cn in=$WORK/out/$cn.eml ca=$PKI/root-ca.cert.pem content=$WORK/out/$cn.content" ;;
    decrypt|decrypt-or-skip) for k in ${keys//,/ }; do
               _key_files "$k" || continue
               echo "decrypt $cn/$k in=$WORK/out/$cn.eml out=$WORK/out/$cn.$k.plain cert=$CERT_PEM key=$KEY_PEM"
             done ;;
    signenc) echo "decrypt $cn/decrypt in=$WORK/out/$cn.eml out=$WORK/out/$cn.inner cert=$PKI/$keys.cert.pem key=$PKI/$keys.key.pem"
             echo "verify $cn/verify in=$WORK/out/$cn.inner ca=$PKI/root-ca.cert.pem content=$WORK/out/$cn.content" ;;
  esac >>"$WORK/check.batch"
done
for cn in in-sign-detached-rsa in-sign-detached-pss in-sign-detached-ecdsa; do   # still verifies after delivery
  dump=$(delivered "$cn") || continue
  sink_message "$dump" "$WORK/out/$cn.eml"
  echo "verify $cn/delivered in=$WORK/out/$cn.eml ca=$PKI/root-ca.cert.pem" >>"$WORK/check.batch"
done
t=$SECONDS
bc_batch "$WORK/check.batch" "$WORK/check.result"
note "BouncyCastle checked $(grep -c . "$WORK/check.batch") deliveries in $((SECONDS - t)) s"

# bc_verified NAME ID SIGNER SIG-REGEX[:DIGEST-REGEX] CONTENT SRC: BC's verify line says OK with
# that signer, the digest (default SHA256) and the signature algorithm; the signed content
# carries the original parts.
bc_verified() {
  local name=$1 r sig=${4%%:*} digest=SHA256; r=$(batch_result "$WORK/check.result" "$2")
  [ "$sig" = "$4" ] || digest=${4#*:}
  case $r in
    "OK "*" signers=1 signer=$3@acme.example "*) ;;
    *) fail "$name" "BouncyCastle: $r"; return ;;
  esac
  printf '%s\n' "$r" | grep -qE " digest=($digest) sig=($sig) path=" || { fail "$name" "algorithms: $r"; return; }
  same_leaves "$name" "$5" "$6" || return
  pass "$name"; note "$name: ${r#OK }"
}
for spec in "${OUT[@]}"; do
  IFS='~' read -r cn cfg msg from rcpts check <<<"$spec"
  if ! grep -q '^250 ' "$WORK/out/$cn.reply"; then fail "$cn" "SMTP: $(cat "$WORK/out/$cn.reply")"; continue; fi
  [ -f "$WORK/out/$cn.eml" ] || { fail "$cn" "not delivered"; continue; }
  IFS=: read -r what keys rest <<<"$check"
  case $what in
    sign)
      want=opaque; [ "${cfg%%-*}" = detached ] && want=detached
      [ "$(signed_form "$WORK/out/$cn.eml")" = "$want" ] || { fail "$cn" "not $want signed: $(signed_form "$WORK/out/$cn.eml")"; continue; }
      bc_verified "$cn" "$cn" "$keys" "$rest" "$WORK/out/$cn.content" "$WORK/m/$cn.src" ;;
    decrypt|decrypt-or-skip)
      for k in ${keys//,/ }; do
        r=$(batch_result "$WORK/check.result" "$cn/$k")
        if [ "$what" = decrypt-or-skip ] && [ "${r#FAIL}" != "$r" ]; then
          skip "$cn/$k" "BouncyCastle 1.72 has no RFC 8418 (X25519, HKDF) key agreement: $r"
        elif ! printf '%s\n' "$r" | grep -qE "^OK $cn/$k type=$rest"; then fail "$cn/$k" "BouncyCastle: $r"
        elif same_leaves "$cn/$k" "$WORK/out/$cn.$k.plain" "$WORK/m/$cn.src"; then pass "$cn/$k"; note "$cn/$k: ${r#OK }"; fi
      done ;;
    signenc)
      IFS=: read -r signer sig <<<"$rest"
      r=$(batch_result "$WORK/check.result" "$cn/decrypt")
      case $r in OK*) pass "$cn/decrypt"; note "$cn/decrypt: ${r#OK }" ;; *) fail "$cn/decrypt" "BouncyCastle: $r"; continue ;; esac
      bc_verified "$cn/verify" "$cn/verify" "$signer" "$sig" "$WORK/out/$cn.content" "$WORK/m/$cn.src" ;;
  esac
done

# --- 4. what ssm-milter made of BouncyCastle's messages --------------------------------------
for spec in "${BC_IN[@]}"; do
  IFS='~' read -r cn kind msg from rcpt op <<<"$spec"
  [ -n "${SENT[$cn]:-}" ] || continue
  inbound_outcome "$cn" "$kind" || continue
  form=detached; [ "$kind" = signenc-opaque ] && form=opaque
  case $kind in
    compress|compsign)   # inflated to the plaintext; compsign: its opaque signature taken off and reported
      why=$(compare_plaintext "$WORK/out/$cn.eml" "$WORK/m/$cn.entity")
      if [ -n "$why" ]; then fail "$cn" "$why"
      elif ! grep -q "^Message-ID: <$cn@bc.test.invalid>" "$WORK/out/$cn.eml"; then fail "$cn" "outer header fields lost"
      elif [ "$kind" = compsign ] && ! printf '%s' "$AR" | grep -q "smime=pass body.smime-identifier=$from"; then
        fail "$cn" "the signature over the compressed content is not reported as a pass: $AR"
      else pass "$cn"; note "$cn: ${AR:-no Authentication-Results}"; fi ;;
    *) inbound_verdict "$cn" "$kind" "$from" "$form" bc.test.invalid || fail "$cn" "no check for kind $kind" ;;
  esac
done
for cn in in-sign-detached-rsa in-sign-detached-pss in-sign-detached-ecdsa; do
  r=$(batch_result "$WORK/check.result" "$cn/delivered")
  case $r in OK*) pass "$cn/delivered-still-verifies" ;; *) fail "$cn/delivered-still-verifies" "BouncyCastle: $r" ;; esac
done
# BouncyCastle's envelopes really are BER with indefinite lengths (what this peer adds).
if smime_envelope "$WORK/m/in-enc-aes256cbc-v15-dave.eml" "$WORK/m/ber.der" && [ "$(xxd -l 2 -p "$WORK/m/ber.der")" = 3080 ]; then
  pass bc-envelope-is-indefinite-ber
else fail bc-envelope-is-indefinite-ber "BouncyCastle's EnvelopedData starts $(xxd -l 4 -p "$WORK/m/ber.der" 2>/dev/null)"; fi

# The ChaCha20-Poly1305 messages BouncyCastle made really carry id-alg-AEADChaCha20Poly1305
# (RFC 8103, 1.2.840.113549.1.9.16.3.18), and ssm-milter says it decrypted that cipher.
for spec in "${BC_IN[@]}"; do
  IFS='~' read -r cn kind msg from rcpt op <<<"$spec"
  case $cn in *chacha*) ;; *) continue ;; esac
  if ! smime_envelope "$WORK/m/$cn.eml" "$WORK/m/$cn.der" ||
     ! openssl asn1parse -inform DER -in "$WORK/m/$cn.der" 2>/dev/null | grep -q ':1.2.840.113549.1.9.16.3.18$'; then
    fail "$cn/rfc8103-oid" "no id-alg-AEADChaCha20Poly1305 in BouncyCastle's envelope"
  else pass "$cn/rfc8103-oid"; fi
done
n=$(grep -c 'decrypted=[a-z0-9-]* cipher=chacha20-poly1305 ' "$WORK/milter-detached-pkcs1.log" 2>/dev/null || true)
[ "${n:-0}" -ge 6 ] && pass bc-chacha-decryptions-logged \
  || fail bc-chacha-decryptions-logged "${n:-0} decryptions with cipher=chacha20-poly1305 in milter-detached-pkcs1.log, expected 6"

peer_finish
