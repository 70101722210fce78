# wolfSSL's PKCS#7/CMS code (libwolfssl-dev, wolfcrypt/pkcs7.c) as an S/MIME peer through
# tests/interop/wolfssl/wolfpkcs7.c, a small command-line tool compiled here at test time. It
# makes and reads DER ContentInfo objects only; the MIME around them is made and split here and
# in peers.sh/inbound.sh. Sourced after tests/integration/lib.sh and tests/interop/peers.sh.
# Messages under test are untrusted: split strictly (smime_split, smime_envelope), and wolfSSL
# must report a real success (exit 0, the signer certificate it used, the content it returns).
#
#   wolf_build                          wolf_verify FILE DIR ANCHOR      wolf_decrypt DER NAME OUT
#   wolf_sign ENTITY NAME OUT [opt...]  wolf_envelope ENTITY OUT CIPHER RECIP... [opt...]
#   wolf_probe CAP
# PEER_DETAIL says why a helper failed (wolfSSL's error code and text).

# wolf_build: $WORK/wolf/wolfpkcs7 from wolfpkcs7.c, warnings as errors, against the system
# wolfSSL (pkg-config). Sets WOLF.
wolf_build() {
  WOLF=$WORK/wolf/wolfpkcs7
  mkdir -p "$WORK/wolf"
  pkg-config --exists wolfssl 2>/dev/null || { PEER_DETAIL="pkg-config knows no wolfssl (libwolfssl-dev; run scripts/install-deps.sh)"; return 1; }
  # shellcheck disable=SC2046
  cc -std=c11 -O1 -Wall -Wextra -Werror -o "$WOLF" "$SSM_SRCDIR/tests/interop/wolfssl/wolfpkcs7.c" \
    $(pkg-config --cflags --libs wolfssl) >"$WORK/wolf/cc.log" 2>&1 \
    || { PEER_DETAIL="cc: $(head -n 5 "$WORK/wolf/cc.log" | tr '\n' ' ')"; return 1; }
}

# _wolf_errors LOG: wolfpkcs7's own error lines, on one line.
_wolf_errors() { grep 'wolfpkcs7' "$1" | tr '\n' ' ' | cut -c1-300; }

# wolf_verify FILE DIR ANCHOR: wolfSSL verifies the CMS object of the signed message FILE (and
# the signed entity, when detached) and then the signer's chain with ANCHOR (PEM) as the only
# CA it starts from (intermediates must come from the message). On success WOLF_SIGNER is the
# subject wolfSSL prints, DIR/signer.pem the signer certificate wolfSSL used and DIR/wolf.out
# the content wolfSSL vouches for (for a detached signature, the content it was handed).
wolf_verify() {
  local file=$1 d=$2 anchor=$3
  smime_split "$file" "$d" || return 1
  local args=(verify --root "$anchor" --signer-out "$d/signer.der")
  [ "$(cat "$d/kind")" = detached ] && args+=(--content "$d/content")
  rm -f "$d/wolf.out" "$d/signer.der"
  if ! "$WOLF" "${args[@]}" "$d/sig.der" "$d/wolf.out" >"$d/wolf.log" 2>&1; then
    PEER_DETAIL="wolfSSL: $(_wolf_errors "$d/wolf.log")"; return 1
  fi
  WOLF_SIGNER=$(sed -n 's/^signer: //p' "$d/wolf.log")
  [ -f "$d/wolf.out" ] && [ -s "$d/signer.der" ] || { PEER_DETAIL="wolfpkcs7 wrote no content or signer"; return 1; }
  openssl x509 -inform DER -in "$d/signer.der" -out "$d/signer.pem" 2>/dev/null \
    || { PEER_DETAIL="the signer certificate wolfSSL used does not parse"; return 1; }
}

# wolf_decrypt DER NAME OUT: wolfSSL decrypts DER (EnvelopedData or AuthEnvelopedData) with
# NAME's certificate and key file.
wolf_decrypt() {
  _key_files "$2" || return 1
  rm -f "$3"
  "$WOLF" unenvelope --cert "$CERT_PEM" --key "$KEY_PEM" "$1" "$3" >"$3.log" 2>&1 && [ -s "$3" ] \
    || { PEER_DETAIL="wolfSSL: $(_wolf_errors "$3.log")"; return 1; }
}

# wolf_sign ENTITY NAME OUT [OPTION...]: a SignedData ContentInfo signed with NAME's key; the
# signature algorithm follows the key (RSA PKCS#1 v1.5 or ECDSA). Options of wolfpkcs7 sign:
# --detached, --sid ski|ias, --digest, --chain CERT, --no-attrs.
wolf_sign() {
  local entity=$1 out=$3 alg=rsa
  _key_files "$2" || return 1
  shift 3
  openssl pkey -in "$KEY_PEM" -noout -text 2>/dev/null | grep -q '^ASN1 OID' && alg=ecdsa
  rm -f "$out"
  "$WOLF" sign --cert "$CERT_PEM" --key "$KEY_PEM" --alg "$alg" "$@" "$entity" "$out" >"$out.log" 2>&1 && [ -s "$out" ] \
    || { PEER_DETAIL="wolfSSL: $(_wolf_errors "$out.log")"; return 1; }
}

# wolf_envelope ENTITY OUT CIPHER RECIP... [-- OPTION...]: an EnvelopedData (CBC ciphers) or
# AuthEnvelopedData (GCM, CCM) ContentInfo; RECIP is ktri|kari:ski|ias:NAME (a test key).
wolf_envelope() {
  local entity=$1 out=$2 cipher=$3 r args=()
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    _key_files "${1##*:}" || return 1
    args+=(--recip "${1%:*}:$CERT_PEM"); shift
  done
  [ $# -gt 0 ] && shift
  rm -f "$out"
  "$WOLF" envelope --cipher "$cipher" "${args[@]}" "$@" "$entity" "$out" >"$out.log" 2>&1 && [ -s "$out" ] \
    || { PEER_DETAIL="wolfSSL: $(_wolf_errors "$out.log")"; return 1; }
}

# wolf_probe CAP: can wolfSSL read what CAP names? Asked with an object OpenSSL makes (never
# ours), so that a "no" is wolfSSL's and not a defect of ssm-milter. Prints "yes", or "no:" and
# wolfSSL's words. CAP: rsa, ecdsa, pss (signatures, SHA-256, opaque, chain in the message);
# cbc, gcm, oaep (SHA-256), kari (ECDH P-256, X9.63 SHA-256 KDF, one recipient named by
# issuerAndSerialNumber, OpenSSL's default and ours), kari-keyid (the same named by rKeyId),
# mixed (an RSA and an EC recipient, read with the RSA key), two (two RSA recipients, read with
# the first one's key).
wolf_probe() {
  local d=$WORK/wolf-probe/$1 e
  mkdir -p "$d"; e=$d/entity
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nprobe %s\r\n' "$1" >"$e"
  local o=(openssl cms -binary -in "$e" -outform DER -out "$d/cms.der")
  local key=dave ok=0
  case $1 in
    rsa) "${o[@]}" -sign -nodetach -md sha256 -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem" ;;
    ecdsa) "${o[@]}" -sign -nodetach -md sha256 -signer "$PKI/frank.cert.pem" -inkey "$PKI/frank.key.pem" -certfile "$PKI/sub-ca.cert.pem" ;;
    pss) "${o[@]}" -sign -nodetach -md sha256 -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem" \
           -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:32 ;;
    cbc) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/dave.cert.pem" ;;
    gcm) "${o[@]}" -encrypt -aes-256-gcm -recip "$PKI/dave.cert.pem" ;;
    oaep) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/dave.cert.pem" -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 ;;
    kari) key=frank; "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/frank.cert.pem" -keyopt ecdh_kdf_md:sha256 ;;
    kari-keyid) key=frank; "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/frank.cert.pem" -keyopt ecdh_kdf_md:sha256 -keyid ;;
    mixed) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/frank.cert.pem" -keyopt ecdh_kdf_md:sha256 -recip "$PKI/dave.cert.pem" ;;
    two) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/dave.cert.pem" -recip "$PKI/alice.cert.pem" ;;
    *) echo "no: unknown probe $1"; return ;;
  esac >"$d/openssl.log" 2>&1 || { echo "no: openssl could not make the probe: $(tr '\n' ' ' <"$d/openssl.log")"; return; }
  case $1 in
    rsa|ecdsa|pss) "$WOLF" verify --root "$PKI/root-ca.cert.pem" "$d/cms.der" "$d/out" >"$d/wolf.log" 2>&1 && ok=1 ;;
    *) _key_files "$key" && "$WOLF" unenvelope --cert "$CERT_PEM" --key "$KEY_PEM" "$d/cms.der" "$d/out" >"$d/wolf.log" 2>&1 && ok=1 ;;
  esac
  if [ "$ok" = 1 ] && cmp -s "$d/out" "$e"; then echo yes
  elif [ "$ok" = 1 ]; then echo "no: wolfSSL returned other content"
  else echo "no: $(_wolf_errors "$d/wolf.log")"; fi
}
