#!/bin/bash
# Outbound encryption over the generated MIME shapes of tests/integration/make_mime_shapes.py
# (the signing sweep's messages: nesting, every transfer encoding, CRLF/LF/mixed line ends,
# long lines, lone CRs and NULs, RFC 2047/2231 fields, malformed ones). Each message goes
# through `ssmctl process --direction out` (the milter's own pipeline) under a rule that
# encrypts to the recipient's certificate: encrypt-only, and sign-then-encrypt for every other
# message (the sender's key on a SoftHSM token, detached, opaque for every 4th; carol's RSA key
# with RSASSA-PSS). Varied from message to message:
#   recipient    dave (RSA) by PKCS#1 v1.5 and by RSA-OAEP ([encryption] key_transport), frank
#                (ECDH P-256). Not X25519: OpenSSL 3.0, gpgsm 2.2 and NSS 3.87 have no CMS
#                KARI-X25519 (test_encrypt_postfix.sh checks its structure), so nothing here
#                could read its plaintext.
#   cipher       AES-256/128-CBC (EnvelopedData) and AES-256/128-GCM (AuthEnvelopedData)
#   protection   RFC 9788 header protection with the Subject obscured (the default), without
#                obscuring, and off
# Every 5th message is RSA PKCS#1 v1.5 with CBC, what gpgsm and NSS read (TOOLCHAIN.md).
# Checks per message:
#   encrypted  ssmctl accepted it, its decision names the action, cipher and key management
#              asked for, and openssl reads that content type, cipher and RecipientInfo kind
#   decrypt    openssl cms -decrypt with the recipient's key; gpgsm, cmsutil (every 5th) give
#              the same plaintext octet for octet
#   canonical  the plaintext has CRLF line ends only (RFC 8551 §3.1.1)
#   openssl, entity   sign-then-encrypt: the inner signature verifies (shapes.sh
#              shapes_signature: expected signer and algorithm, the delivered entity verified)
#   meaning, labels, base64, missing-close-kept   as in test_sign_shapes.sh, on what was
#              encrypted (the signed entity inside, for sign-then-encrypt); the outer header
#              fields are the input's (an obscured Subject reads "[...]")
#   transport  the delivered message: no bare CR or LF, no line over 998 octets, 7-bit
#   envelope   application/pkcs7-mime with the cipher's smime-type, base64 only, MIME-Version
#   protected  the protected fields and HP-Outer ones inside (RFC 9788), or none when off
# Recipients are not named in the messages' To (someone@elsewhere.example): blind_copies =
# "together" keeps them in the message instead of splitting them off (no [reinjection] here).
# SSM_SHAPES=N sets the number of messages (default 44: each of make_mime_shapes.py's 44
# forced features once).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/integration/shapes.sh"
require_tools openssl gpgsm gpgconf cmsutil certutil pk12util softhsm2-util pkcs11-tool perl python3
require_binaries
T0=$SECONDS
make_pki
make_token
export OPENSSL_CONF=/dev/null
N=${SSM_SHAPES:-44}
mkdir -p "$WORK/out" "$WORK/certs" "$WORK/conf"
cp "$PKI/dave.cert.pem" "$PKI/frank.cert.pem" "$WORK/certs/"
shapes_generate "$N"

# config SIGN FORMAT SCHEME KEY_TRANSPORT CIPHER HP: sets CONF, a configuration (written once)
# whose one outbound rule signs as SIGN (sender or none) and encrypts with CIPHER.
config() {
  CONF=$WORK/conf/$1-$2-$3-$4-$5-$6.toml
  [ -f "$CONF" ] && return 0
  local hp=true obscure=true
  case $6 in on) obscure=false ;; off) hp=false obscure=false ;; esac
  write_config "$CONF" socket="inet:1@127.0.0.1" format="$2" rsa_scheme="$3" pki='revocation = "off"' \
    rules="[[rule]]
name = \"shapes: encrypted to the recipient\"
direction = \"outbound\"
sign = \"$1\"
encrypt = \"mandatory\"
cipher = \"$5\"" extra="[encryption]
key_transport = \"$4\"
header_protection = $hp
obscure_subject = $obscure
blind_copies = \"together\"

[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" || fatal shapes-setup "config $CONF"
}
config sender detached pkcs1 pkcs1 aes256-cbc obscured
"$SSM_BUILDDIR/ssm-milter" -c "$CONF" -n >"$WORK/check.log" 2>&1 \
  || fatal shapes-config "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"

# What each recipient kind is: address, key transport setting, key_management in the
# decision, and RecipientInfo as cms_envelope_summary prints it.
declare -A RCPT=([rsa]=dave [oaep]=dave [p256]=frank)
declare -A KT=([rsa]=pkcs1 [oaep]=oaep [p256]=auto)
declare -A KM=([rsa]=ktri-rsa-pkcs1 [oaep]=ktri-rsa-oaep [p256]=kari-ecdh-p256)
declare -A RI=([rsa]=ktri:rsaEncryption [oaep]=ktri:rsaesOaep [p256]=kari:dhSinglePass-stdDH-sha256kdf-scheme)
KINDS=(rsa p256 oaep)
CIPHERS=(aes256-gcm aes128-cbc aes128-gcm aes256-cbc)

: >"$WORK/compare.list"
i=0
while read -r base sender <&3; do
  in=$SHAPES/$base.eml
  # Every 5th: what gpgsm and NSS read; the others walk through kinds x ciphers.
  if [ $((i % 5)) = 0 ]; then
    kind=rsa cipher=aes256-cbc; [ $((i / 5 % 2)) = 1 ] && cipher=aes128-cbc
  else
    k=$((i - i / 5 - 1)); kind=${KINDS[$((k % 3))]} cipher=${CIPHERS[$((k / 3 % 4))]}
  fi
  hp=obscured; [ $((i % 3)) = 1 ] && hp=on; [ $((i % 3)) = 2 ] && hp=off
  sign=none format=detached mode=enc
  if [ $((i % 2)) = 1 ]; then
    sign=sender mode=sigenc; [ $((i % 4)) = 3 ] && format=opaque
  fi
  scheme=pkcs1; [ "${sender%@*}" = carol ] && scheme=pss
  who=${RCPT[$kind]}
  cn=$base-$mode-$kind-$cipher-hp$hp
  [ "$sign" = sender ] && cn=$base-$mode-$format-${sender%@*}-$kind-$cipher-hp$hp
  peers=$((i % 5 == 0))
  i=$((i + 1))
  config "$sign" "$format" "$scheme" "${KT[$kind]}" "$cipher" "$hp"
  out=$WORK/out/$cn.eml der=$WORK/out/$cn.p7m plain=$WORK/out/$cn.plain
  if ! "$SSM_BUILDDIR/ssmctl" -c "$CONF" process --direction out --from "$sender" --to "$who@partner.example" \
       <"$in" >"$out" 2>"$WORK/out/$cn.err"; then
    fail "$cn/encrypted" "ssmctl: $(grep -E '^(decision|reply):' "$WORK/out/$cn.err" | tr '\n' ' ')"; continue
  fi
  log=$(grep -E '^decision:' "$WORK/out/$cn.err" | tr '\n' ' ')
  action=encrypt; [ "$sign" = sender ] && action=sign+encrypt
  case $cipher in *gcm) ct=id-smime-ct-authEnvelopedData smime=authEnveloped-data ;; *) ct=pkcs7-envelopedData smime=enveloped-data ;; esac
  why=
  for want in "action=$action" "cipher=$cipher" "key_management=${KM[$kind]}"; do
    case " $log " in *" $want "*) ;; *) why="decision has no $want: $log" ;; esac
  done
  if [ -z "$why" ] && ! smime_envelope "$out" "$der"; then why=$PEER_DETAIL; fi
  if [ -z "$why" ]; then
    summary=$(cms_envelope_summary "$der")
    [ "$summary" = "$ct aes-${cipher#aes} ${RI[$kind]}" ] || why="openssl reads '$summary'"
  fi
  if [ -n "$why" ]; then fail "$cn/encrypted" "$why"; continue; fi
  pass "$cn/encrypted"
  if ! decrypt_openssl "$der" "$who" "$plain"; then fail "$cn/decrypt" "$PEER_DETAIL"; continue; fi
  why=
  if [ "$peers" = 1 ]; then
    for peer in gpgsm cmsutil; do
      if ! "decrypt_$peer" "$der" "$who" "$plain.$peer"; then why="$why $PEER_DETAIL"
      elif ! cmp -s "$plain" "$plain.$peer"; then why="$why $peer's plaintext differs from openssl's"; fi
    done
  fi
  if [ -z "$why" ]; then pass "$cn/decrypt"; else fail "$cn/decrypt" "${why# }"; fi
  if perl -0777 -ne 'exit(/\r(?!\n)|(?<!\r)\n/ ? 1 : 0)' "$plain"; then pass "$cn/canonical"
  else fail "$cn/canonical" "the plaintext holds a bare CR or LF"; fi
  entity=$plain
  if [ "$sign" = sender ]; then
    shapes_signature "$cn" "$plain" "$sender" "$format" || continue
    entity=$SHAPES_ENTITY
  fi
  cp "$entity" "$WORK/out/$cn.entity"
  printf '%s %s %s %s %s %s %s\n' "$cn" "$in" "$WORK/out/$cn.entity" "$out" "$SHAPES/$base.json" "$smime" "$hp" \
    >>"$WORK/compare.list"
done 3<"$WORK/shapes.index"
# meaning, transport, labels, base64, envelope, protected (and missing-close-kept) for every
# encrypted message, in one Python run.
shapes_check "$WORK/compare.list"
note "$N shapes in $((SECONDS - T0)) s"
