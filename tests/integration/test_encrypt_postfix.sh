#!/bin/bash
# Outbound encryption through a real Postfix 3.7 with ssm-milter (PRODUCT §2.2, §2.3):
# swaks -> Postfix smtpd (+ssm-milter) -> smtp -> smtp-sink; every delivered message must be an
# application/pkcs7-mime envelope that `openssl cms -decrypt`, `gpgsm --decrypt` and NSS
# `cmsutil -D` decrypt with the recipient's key (imported into each peer from PKCS#12) wherever
# the peer supports the cipher and key management (also with recipients named by key id: rule
# recipient_identifier = "key-id"); the decrypted entity must carry the original
# parts and, with header protection, the original Subject/From/To and hp="cipher"; signed-then-
# encrypted mail must verify after decryption with the right signer. One Postfix serves every
# configuration: one smtpd listener per ssm-milter configuration (master.cf -o smtpd_milters).
# Result of each peer attempt is also written to $WORK/matrix (see tests/interop/README.md).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl gpgsm gpgconf cmsutil certutil pk12util softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
msgdir=$SSM_SRCDIR/tests/integration/messages
mkdir -p "$WORK/out" "$WORK/crls" "$WORK/certs"

# Recipients: dave (RSA), frank (P-256), partner-domain (RSA) from the test PKI; grace (P-384),
# piet (P-521), xavier (X25519) and the archive (RSA) issued here under the test sub-CA.
issue_cert grace grace@partner.example p384 "digitalSignature, keyAgreement" || fatal enc-setup "grace"
issue_cert piet piet@partner.example p521 "digitalSignature, keyAgreement" || fatal enc-setup "piet"
issue_cert xavier xavier@partner.example x25519 "keyAgreement" || fatal enc-setup "xavier"
issue_cert archive archive@acme.example rsa "keyEncipherment" || fatal enc-setup "archive"
cp "$PKI/dave.cert.pem" "$PKI/frank.cert.pem" "$PKI/partner-domain.cert.pem" \
   "$XPKI/grace.cert.pem" "$XPKI/piet.cert.pem" "$XPKI/xavier.cert.pem" "$WORK/certs/"

start_sink || fatal enc-setup "smtp-sink did not start"

# Configurations: NAME CIPHER KEY_TRANSPORT [archive]. The rules (first match wins):
# keyid@ encrypts naming recipients by key id; alice signs and encrypts; gw@ encrypts
# gateway-to-gateway; anyone else encrypts only.
CONFIGS="cbc128-v15:aes128-cbc:pkcs1 cbc256-v15:aes256-cbc:pkcs1 gcm128-v15:aes128-gcm:pkcs1 gcm256-v15:aes256-gcm:pkcs1
cbc128-oaep:aes128-cbc:oaep cbc256-oaep:aes256-cbc:oaep gcm128-oaep:aes128-gcm:oaep gcm256-oaep:aes256-gcm:oaep
archive:aes256-cbc:pkcs1:archive"
RULES='[[rule]]
name = "keyid@ names recipients by key id"
direction = "outbound"
from = ["keyid@acme.example"]
to = ["*@partner.example"]
sign = "none"
encrypt = "mandatory"
recipient_identifier = "key-id"

[[rule]]
name = "alice signs and encrypts"
direction = "outbound"
from = ["alice@acme.example"]
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"

[[rule]]
name = "gateway to gateway"
direction = "outbound"
from = ["gw@acme.example"]
to = ["*@partner.example"]
sign = "none"
encrypt = "mandatory"
encrypt_to = "domain"

[[rule]]
name = "partner mail is encrypted"
direction = "outbound"
to = ["*@partner.example"]
sign = "none"
encrypt = "mandatory"'
declare -A PORT_OF MPORT_OF
master_extra= pids=()
for spec in $CONFIGS; do
  IFS=: read -r name cipher kt arch <<<"$spec"
  PORT_OF[$name]=$(free_port); MPORT_OF[$name]=$(free_port)
  archive_line=
  [ "${arch:-}" = archive ] && archive_line="archive_certificate = \"$XPKI/archive.cert.pem\""
  MILTER_PORT=${MPORT_OF[$name]}
  write_config "$WORK/ssm-$name.toml" port="$MILTER_PORT" rules="$RULES" \
    pki="crls = \"$WORK/crls\"
revocation = \"off\"" \
    extra="[encryption]
cipher = \"$cipher\"
key_transport = \"$kt\"
header_protection = true
obscure_subject = true
$archive_line

[directory]
cache = \"$WORK/cache-$name\"
static_certificates = \"$WORK/certs\""
  "$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-$name.toml" -n >"$WORK/check-$name.log" 2>&1 \
    || fatal "enc-config-$name" "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check-$name.log")"
  "$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-$name.toml" >>"$WORK/milter-$name.log" 2>&1 &
  pids+=($!); on_exit "kill -KILL $!"
  master_extra="$master_extra
127.0.0.1:${PORT_OF[$name]} inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$MILTER_PORT"
done
for spec in $CONFIGS; do
  name=${spec%%:*}
  wait_port "${MPORT_OF[$name]}" 20 || fatal "enc-milter-$name" "ssm-milter did not start: $(tail -n 3 "$WORK/milter-$name.log" | tr '\n' ' ')"
done
SMTPD_PORT=$(free_port)
PF_MASTER_EXTRA=$master_extra start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "${MPORT_OF[cbc256-v15]}" \
  || fatal enc-setup "Postfix did not start"

# send NAME CONFIG SENDER RCPTS MSG: one message through the CONFIG listener; the delivered
# message goes to $WORK/out/NAME.eml (DELIVERED), the input to $WORK/out/NAME.in.eml (SRC).
send() {
  local name=$1 conf=$2 sender=$3 rcpts=$4 msg=$5
  SRC=$WORK/out/$name.in.eml DELIVERED=
  sed "s/@SENDER@/$sender/; s/@RCPT@/${rcpts//,/, }/" "$msgdir/$msg.eml" >"$SRC"
  local before; before=$(sink_count)
  if ! send_mail "${PORT_OF[$conf]}" "$sender" "$rcpts" "$SRC"; then
    fail "$name" "SMTP: ${SMTP_REPLY:-no reply}"; return 1
  fi
  wait_for_delivery $((before + 1)) 30 || { fail "$name" "not delivered within 30 s"; return 1; }
  sink_message "$(ls -t "$SINK_DIR"/* | head -n 1)" "$WORK/out/$name.eml"
  DELIVERED=$WORK/out/$name.eml
}

# header_of FILE FIELD: the first FIELD of the header (unfolded).
header_of() {
  perl -e 'local $/; open(my $f, "<:raw", $ARGV[0]) or exit 1; my $m = <$f>; $m =~ s/\r\n/\n/g;
           my ($h) = split(/\n\n/, $m, 2); $h =~ s/\n[ \t]+/ /g;
           for (split /\n/, $h) { if (/^\Q$ARGV[1]\E:[ \t]*(.*)$/i) { print "$1\n"; exit 0 } } exit 1' "$1" "$2"
}

# check_protected NAME INNER SRC: RFC 9788 header protection + content of a decrypted entity.
check_protected() {
  local name=$1 inner=$2 src=$3 f bad=
  for f in Subject From To Date Message-ID; do
    [ "$(header_of "$inner" "$f")" = "$(header_of "$src" "$f")" ] || bad="$bad $f"
  done
  case $(header_of "$inner" Content-Type) in *'hp="cipher"'*) ;; *) bad="$bad Content-Type-hp" ;; esac
  [ -z "$bad" ] && pass "$name/header-protection" \
    || fail "$name/header-protection" "inner entity lacks or changes:$bad"
  if [ "$(mime_leaves "$inner")" = "$(mime_leaves "$src")" ]; then pass "$name/content"
  else fail "$name/content" "decrypted parts differ: $(mime_leaves "$inner" | tr '\n' ' ')"; fi
}

# record PEER COMBINATION RESULT: one line of the support matrix.
record() { printf '%s|%s|%s\n' "$1" "$2" "$3" >>"$WORK/matrix"; }

# try_peers NAME DER KEY COMBO EXPECT_GPGSM EXPECT_NSS [EXPECT_OPENSSL]: decrypt with the three
# peers (openssl must succeed unless told otherwise; gpgsm/NSS must succeed where EXPECT is yes; where it is no, the peer's
# refusal is recorded as a SKIP and an unexpected success as a PASS with a note). Sets PLAIN_*.
try_peers() {
  local name=$1 der=$2 key=$3 combo=$4 eg=$5 en=$6 peer expect out
  PLAIN_openssl= PLAIN_gpgsm= PLAIN_cmsutil=
  for peer in openssl gpgsm cmsutil; do
    case $peer in openssl) expect=${7:-yes} ;; gpgsm) expect=$eg ;; cmsutil) expect=$en ;; esac
    out=$WORK/out/$name.$key.$peer.plain
    if "decrypt_$peer" "$der" "$key" "$out"; then
      record "$peer" "$combo" yes
      if [ "$expect" = yes ]; then pass "$name/$key/$peer"
      else note "$peer decrypted $combo although expected not to"; pass "$name/$key/$peer (unexpected support)"; fi
      printf -v "PLAIN_$peer" '%s' "$out"
    else
      record "$peer" "$combo" "no: $PEER_DETAIL"
      if [ "$expect" = yes ]; then fail "$name/$key/$peer" "$PEER_DETAIL"
      else skip "$name/$key/$peer" "unsupported by the peer: $PEER_DETAIL"; fi
    fi
  done
  # every peer that decrypted must have produced the same bytes as openssl.
  for peer in gpgsm cmsutil; do
    local p; p=PLAIN_$peer
    [ -n "${!p}" ] && [ -n "$PLAIN_openssl" ] || continue
    cmp -s "${!p}" "$PLAIN_openssl" && pass "$name/$key/$peer-same-plaintext" \
      || fail "$name/$key/$peer-same-plaintext" "differs from openssl's plaintext"
  done
}

# check_envelope NAME WANT_REGEX: the delivered message is an envelope whose summary matches.
check_envelope() {
  local name=$1 want=$2 sum
  ENV_DER=$WORK/out/$name.p7m
  smime_envelope "$DELIVERED" "$ENV_DER" || { fail "$name/envelope" "$PEER_DETAIL"; return 1; }
  sum=$(cms_envelope_summary "$ENV_DER")
  if printf '%s\n' "$sum" | grep -qE "$want"; then pass "$name/envelope"
  else fail "$name/envelope" "got '$sum', expected /$want/"; return 1; fi
  [ "$(header_of "$DELIVERED" Subject)" = "[...]" ] && pass "$name/outer-subject" \
    || fail "$name/outer-subject" "outer Subject is '$(header_of "$DELIVERED" Subject)'"
}

cipher_re() { case $1 in aes128-cbc) echo 'pkcs7-envelopedData aes-128-cbc' ;; aes256-cbc) echo 'pkcs7-envelopedData aes-256-cbc' ;;
  aes128-gcm) echo 'id-smime-ct-authEnvelopedData aes-128-gcm' ;; aes256-gcm) echo 'id-smime-ct-authEnvelopedData aes-256-gcm' ;; esac; }
# gpgsm/NSS are expected (TOOLCHAIN.md) to read CBC with RSA PKCS#1 v1.5 only; NSS 3.87 cannot
# parse an envelope holding any KeyAgreeRecipientInfo (SEC_ERROR_BAD_DER, also on openssl's).
expect_legacy() { case "$1:$2" in *-cbc:ktri-v15) echo yes ;; *) echo no ;; esac; }

t0=$SECONDS
for spec in $CONFIGS; do
  IFS=: read -r conf cipher kt arch <<<"$spec"
  [ "${arch:-}" = archive ] && continue
  cre=$(cipher_re "$cipher")
  if [ "$kt" = oaep ]; then
    # RSA-OAEP: only the key transport changes (EC recipients ignore it).
    n=enc-$conf-dave
    if send "$n" "$conf" zed@acme.example dave@partner.example plain-7bit && check_envelope "$n" "^$cre ktri:rsaesOaep\$"; then
      try_peers "$n" "$ENV_DER" dave "$cipher + RSA-OAEP" no no
      [ -n "$PLAIN_openssl" ] && check_protected "$n" "$PLAIN_openssl" "$SRC"
    fi
    continue
  fi
  for r in dave:ktri:rsaEncryption frank:kari:dhSinglePass-stdDH-sha256kdf-scheme grace:kari:dhSinglePass-stdDH-sha384kdf-scheme \
           piet:kari:dhSinglePass-stdDH-sha512kdf-scheme; do
    IFS=: read -r who kind alg <<<"$r"
    n=enc-$conf-$who
    combo="$cipher + $(case $who in dave) echo RSA PKCS#1 v1.5 ;; frank) echo ECDH P-256 ;; grace) echo ECDH P-384 ;; piet) echo ECDH P-521 ;; esac)"
    send "$n" "$conf" zed@acme.example "$who@partner.example" nested || continue
    check_envelope "$n" "^$cre $kind:$alg" || continue
    legacy=$(expect_legacy "$cipher" "$([ "$kind" = ktri ] && echo ktri-v15 || echo kari)")
    try_peers "$n" "$ENV_DER" "$who" "$combo" "$legacy" "$legacy"
    [ -n "$PLAIN_openssl" ] && check_protected "$n" "$PLAIN_openssl" "$SRC"
    note "$n: $(cms_envelope_summary "$ENV_DER")"
  done
  # X25519 (RFC 8418): OpenSSL 3.0, gpgsm 2.2 and NSS 3.87 have no CMS KARI-X25519, so only
  # the structure is checked here (X25519 originator key, dhSinglePass-stdDH-hkdf-sha256-scheme
  # 1.2.840.113549.1.9.16.3.19, AES key wrap); the peers' refusals are recorded.
  n=enc-$conf-xavier
  if send "$n" "$conf" zed@acme.example xavier@partner.example plain-7bit && check_envelope "$n" "^$cre kari:"; then
    oids=$(openssl asn1parse -inform DER -in "$ENV_DER" | awk '/OBJECT/ { sub(/.*:/, ""); printf "%s ", $0 }')
    case $oids in
      *"X25519 1.2.840.113549.1.9.16.3.19 id-aes"*"-wrap"*) pass "$n/rfc8418-structure" ;;
      *) fail "$n/rfc8418-structure" "OIDs: $oids" ;;
    esac
    try_peers "$n" "$ENV_DER" xavier "$cipher + X25519" no no no
  fi
  # several recipients: one CMS object, one RecipientInfo each; every key decrypts it.
  n=enc-$conf-multi
  if send "$n" "$conf" zed@acme.example dave@partner.example,frank@partner.example,grace@partner.example attachment \
     && check_envelope "$n" "^$cre ktri:rsaEncryption kari:[^ ]+ kari:[^ ]+\$"; then
    for who in dave frank grace; do
      legacy=$(expect_legacy "$cipher" "$([ $who = dave ] && echo ktri-v15 || echo kari)")
      try_peers "$n" "$ENV_DER" "$who" "$cipher + 3 recipients (RSA, P-256, P-384)" "$legacy" no
      [ -n "$PLAIN_openssl" ] && check_protected "$n/$who" "$PLAIN_openssl" "$SRC"
    done
  fi
  # gateway to gateway: the domain's certificate, whatever the recipient's local part.
  n=enc-$conf-gateway
  if send "$n" "$conf" gw@acme.example anyone@partner.example plain-7bit && check_envelope "$n" "^$cre ktri:rsaEncryption\$"; then
    legacy=$(expect_legacy "$cipher" ktri-v15)
    try_peers "$n" "$ENV_DER" partner-domain "$cipher + RSA PKCS#1 v1.5 (domain certificate)" "$legacy" "$legacy"
    [ -n "$PLAIN_openssl" ] && check_protected "$n" "$PLAIN_openssl" "$SRC"
  fi
  # sign-then-encrypt: alice signs, dave (RSA) decrypts, then each peer verifies.
  n=enc-$conf-signed
  if send "$n" "$conf" alice@acme.example dave@partner.example nested \
     && check_envelope "$n" "^$cre ktri:rsaEncryption\$"; then
    legacy=$(expect_legacy "$cipher" ktri-v15)
    try_peers "$n" "$ENV_DER" dave "$cipher + RSA PKCS#1 v1.5, signed inside" "$legacy" "$legacy"
    for peer in openssl gpgsm cmsutil; do
      p=PLAIN_$peer
      [ -n "${!p}" ] || continue
      if "verify_$peer" "${!p}" alice@acme.example; then pass "$n/$peer-verify-after-decrypt"
      else fail "$n/$peer-verify-after-decrypt" "$PEER_DETAIL"; fi
    done
    if [ -n "$PLAIN_openssl" ] && verify_openssl "$PLAIN_openssl" alice@acme.example; then
      check_protected "$n" "$VERIFIED_CONTENT" "$SRC"
    fi
  fi
done

# The archive certificate is an extra recipient of every encrypted message.
n=enc-archive-dave
if send "$n" archive zed@acme.example dave@partner.example plain-7bit \
   && check_envelope "$n" "^pkcs7-envelopedData aes-256-cbc ktri:rsaEncryption ktri:rsaEncryption\$"; then
  try_peers "$n" "$ENV_DER" dave "aes256-cbc + RSA PKCS#1 v1.5 (recipient beside the archive)" yes yes
  try_peers "$n" "$ENV_DER" archive "aes256-cbc + RSA PKCS#1 v1.5 (archive)" yes yes
  [ -n "$PLAIN_openssl" ] && check_protected "$n" "$PLAIN_openssl" "$SRC"
fi

# recipient_identifier = "key-id" (the keyid@ rule): dave's KTRI names his certificate by
# subjectKeyIdentifier (version 2), frank's KARI by rKeyId; each peer matches them against the
# certificate's SKI: OpenSSL both, NSS the KTRI (it reads no KARI, as above); gpgsm 2.2.40
# (libksba) reads no KTRI by subjectKeyIdentifier ("error getting info: No value"): SKIP.
for r in dave:ktri:rsaEncryption:d.subjectKeyIdentifier:2 frank:kari:dhSinglePass-stdDH-sha256kdf-scheme:d.rKeyId:3; do
  IFS=: read -r who kind alg form version <<<"$r"
  n=enc-keyid-$who
  if send "$n" cbc256-v15 keyid@acme.example "$who@partner.example" nested \
     && check_envelope "$n" "^pkcs7-envelopedData aes-256-cbc $kind:$alg\$"; then
    printed=$(openssl cms -cmsout -print -inform DER -in "$ENV_DER" 2>/dev/null)
    if printf '%s\n' "$printed" | grep -q "$form:" && ! printf '%s\n' "$printed" | grep -q 'd.issuerAndSerialNumber:' \
       && [ "$(printf '%s\n' "$printed" | grep -A1 "d.$kind:" | sed -n 's/^ *version: //p')" = "$version" ] \
       && [ "$(printf '%s\n' "$printed" | sed -n '4s/^ *version: //p')" = 2 ]; then pass "$n/rid-key-id"
    else fail "$n/rid-key-id" "not named by key id (EnvelopedData 2, ${kind^^} $version, $form)"; fi
    legacy=$(expect_legacy aes256-cbc "$([ "$kind" = ktri ] && echo ktri-v15 || echo kari)")
    try_peers "$n" "$ENV_DER" "$who" "aes256-cbc + $kind by key id" no "$legacy"
    [ -n "$PLAIN_openssl" ] && check_protected "$n" "$PLAIN_openssl" "$SRC"
  fi
done

for spec in $CONFIGS; do
  name=${spec%%:*}
  if grep -q 'action=encrypt\|action=sign+encrypt' "$WORK/milter-$name.log"; then pass "enc-$name/milter-logged"
  else fail "enc-$name/milter-logged" "no encrypt line in its log"; fi
done
alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
[ "$alive" -eq "${#pids[@]}" ] && pass enc-milters-still-running || fail enc-milters-still-running "$alive of ${#pids[@]} alive"
note "messages and decryptions took $((SECONDS - t0)) s"
note "support matrix (peer|combination|result):"; sort -u "$WORK/matrix" | sed 's/^/    /' >&2
stop_milters "${pids[@]}"
