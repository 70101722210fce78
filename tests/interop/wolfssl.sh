# wolfSSL's PKCS#7/CMS code (libwolfssl-dev, wolfcrypt/pkcs7.c) as an S/MIME peer through
# tests/interop/wolfssl/wolfpkcs7.c, a small command-line tool compiled here at test time. It
# makes and reads DER ContentInfo objects only; the MIME around them is made and split here and
# in peers.sh/inbound.sh. Sourced after tests/integration/lib.sh and tests/interop/peers.sh.
# Messages under test are untrusted: split strictly (smime_split, smime_envelope), and wolfSSL
# must report a real success (exit 0, the signer certificate it used, the content it returns).
#
#   wolf_build                          wolf_verify FILE DIR ANCHOR      wolf_decrypt DER NAME OUT
#   wolf_sign ENTITY NAME OUT [opt...]  wolf_envelope ENTITY OUT CIPHER RECIP... [opt...]
#   wolf_verify_der DER ANCHOR OUT [CONTENT [opt...]]
# (what wolfSSL reads: peer_probe wolf wolfSSL CAP, tests/interop/peers.sh)
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
  local file=$1 d=$2 anchor=$3 content=
  smime_split "$file" "$d" || return 1
  [ "$(cat "$d/kind")" = detached ] && content=$d/content
  rm -f "$d/signer.der"
  wolf_verify_der "$d/sig.der" "$anchor" "$d/wolf.out" "$content" --signer-out "$d/signer.der" || return 1
  WOLF_SIGNER=$(sed -n 's/^signer: //p' "$d/wolf.out.log")
  [ -f "$d/wolf.out" ] && [ -s "$d/signer.der" ] || { PEER_DETAIL="wolfpkcs7 wrote no content or signer"; return 1; }
  openssl x509 -inform DER -in "$d/signer.der" -out "$d/signer.pem" 2>/dev/null \
    || { PEER_DETAIL="the signer certificate wolfSSL used does not parse"; return 1; }
}

# wolf_verify_der DER ANCHOR OUT [CONTENT [OPTION...]]: wolfpkcs7 verify on the SignedData
# ContentInfo DER (detached: over the file CONTENT, "" for none) with ANCHOR (PEM) as the only
# CA it starts from; OUT gets the content wolfSSL vouches for, OUT.log what it printed. OPTION:
# --signer-out FILE. Success: wolfpkcs7 exits 0.
wolf_verify_der() {
  local der=$1 anchor=$2 out=$3 args=(verify --root "$2")
  [ -n "${4:-}" ] && args+=(--content "$4")
  shift $(($# < 4 ? $# : 4))
  rm -f "$out"
  "$WOLF" "${args[@]}" "$@" "$der" "$out" >"$out.log" 2>&1 || { PEER_DETAIL="wolfSSL: $(_wolf_errors "$out.log")"; return 1; }
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
