# Heimdal hx509 (`hxtool` from Debian's heimdal-clients) as an S/MIME peer: an independent CMS
# implementation with its own ASN.1 compiler and crypto (hcrypto). hxtool reads and writes CMS
# only (a DER ContentInfo with --content-info); the MIME around it is made and split here and
# in peers.sh/inbound.sh. Sourced after tests/integration/lib.sh and tests/interop/peers.sh.
# Messages under test are untrusted: split strictly (smime_split, smime_envelope), and hxtool
# must report a real success (exit 0 and the signer it names).
#
#   hx_verify FILE DIR ANCHOR      hx_decrypt DER NAME OUT      hx_sign ENTITY NAME OUT [opt...]
#   hx_envelope ENTITY OUT ENCTYPE CERT...                      hx_probe CAP
# PEER_DETAIL says why a helper failed.

# hx_store NAME: the hx509 store of a test key: "FILE:cert.pem,key.pem" (PKI, then $XPKI).
hx_store() { _key_files "$1" || return 1; printf 'FILE:%s,%s' "$CERT_PEM" "$KEY_PEM"; }

# _hx_errors LOG: hxtool's own error lines (it prints them as "hxtool: ..."), on one line.
_hx_errors() { grep 'hxtool' "$1" | tr '\n' ' ' | cut -c1-300; }

# hx_verify FILE DIR ANCHOR: hxtool cms-verify-sd on the CMS object of the signed message FILE
# (and the signed entity, when detached) with ANCHOR (PEM) as the only trust anchor: the
# intermediates must come from the message. Succeeds only when hxtool exits 0, the content
# type is id-data and exactly one signer is reported; then HX_SIGNER is "subject / issuer" as
# hxtool prints them and DIR/hx.out the content hxtool vouches for (for a detached signature,
# hxtool gives back the content it was handed).
hx_verify() {
  local file=$1 d=$2 anchor=$3
  smime_split "$file" "$d" || return 1
  local args=(--content-info "--anchors=FILE:$anchor" --missing-revoke)
  [ "$(cat "$d/kind")" = detached ] && args+=("--signed-content=$d/content")
  rm -f "$d/hx.out"
  if ! hxtool cms-verify-sd "${args[@]}" "$d/sig.der" "$d/hx.out" >"$d/hx.log" 2>&1; then
    PEER_DETAIL="hxtool cms-verify-sd: $(_hx_errors "$d/hx.log")"; return 1
  fi
  # Output: "type: OID", "signers:", then "subject: DN" and "issuer: DN" per signer.
  grep -qx 'type: 1.2.840.113549.1.7.1' "$d/hx.log" || { PEER_DETAIL="hxtool: content type: $(head -n 1 "$d/hx.log")"; return 1; }
  local n; n=$(grep -c '^subject: ' "$d/hx.log")
  [ "$n" -eq 1 ] || { PEER_DETAIL="hxtool: $n signers: $(tr '\n' ' ' <"$d/hx.log")"; return 1; }
  HX_SIGNER="$(sed -n 's/^subject: //p' "$d/hx.log") / $(sed -n 's/^issuer: //p' "$d/hx.log")"
  [ -f "$d/hx.out" ] || { PEER_DETAIL="hxtool wrote no content"; return 1; }
}

# hx_decrypt DER NAME OUT: hxtool cms-unenvelope with NAME's certificate and key file.
hx_decrypt() {
  local store; store=$(hx_store "$2") || return 1
  rm -f "$3"
  hxtool cms-unenvelope --content-info "--certificate=$store" "$1" "$3" >"$3.log" 2>&1 && [ -s "$3" ] \
    || { PEER_DETAIL="hxtool cms-unenvelope: $(_hx_errors "$3.log")"; return 1; }
}

# hx_sign ENTITY NAME OUT [OPTION...]: hxtool cms-create-sd with NAME's key (a SignedData
# ContentInfo, DER), e.g. --detached-signature, --id-by-name, --embed-leaf-only,
# --no-embedded-certs, --pool=FILE:chain.pem, --peer-alg=OID.
hx_sign() {
  local entity=$1 store out=$3; store=$(hx_store "$2") || return 1
  shift 3
  rm -f "$out"
  hxtool cms-create-sd --content-info "--certificate=$store" "$@" "$entity" "$out" >"$out.log" 2>&1 && [ -s "$out" ] \
    || { PEER_DETAIL="hxtool cms-create-sd: $(_hx_errors "$out.log")"; return 1; }
}

# hx_envelope ENTITY OUT ENCTYPE CERT...: hxtool cms-envelope (EnvelopedData ContentInfo, DER)
# to each certificate (PEM path), content cipher ENCTYPE (aes-128-cbc, des-ede3-cbc, ...).
hx_envelope() {
  local entity=$1 out=$2 enctype=$3 c certs=()
  shift 3
  for c in "$@"; do certs+=("--certificate=FILE:$c"); done
  rm -f "$out"
  hxtool cms-envelope --content-info "${certs[@]}" "--encryption-type=$enctype" "$entity" "$out" >"$out.log" 2>&1 && [ -s "$out" ] \
    || { PEER_DETAIL="hxtool cms-envelope: $(_hx_errors "$out.log")"; return 1; }
}

# hx_probe CAP: can hxtool read what CAP names? Asked with an object OpenSSL makes (never
# ours), so that a "no" is Heimdal's and not a defect of ssm-milter. Prints "yes", or "no:"
# and hxtool's words. CAP: rsa, ecdsa, pss (signatures, SHA-256, opaque); cbc, gcm, oaep, kari
# (one ECDH recipient), mixed (an RSA and an EC recipient, read with the RSA key).
hx_probe() {
  local d=$WORK/hx-probe/$1 e
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
    mixed) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/frank.cert.pem" -keyopt ecdh_kdf_md:sha256 -recip "$PKI/dave.cert.pem" ;;
    *) echo "no: unknown probe $1"; return ;;
  esac >"$d/openssl.log" 2>&1 || { echo "no: openssl could not make the probe: $(tr '\n' ' ' <"$d/openssl.log")"; return; }
  case $1 in
    rsa|ecdsa|pss)
      hxtool cms-verify-sd --content-info "--anchors=FILE:$PKI/root-ca.cert.pem" --missing-revoke "$d/cms.der" "$d/out" >"$d/hx.log" 2>&1 && ok=1 ;;
    *) hxtool cms-unenvelope --content-info "--certificate=$(hx_store "$key")" "$d/cms.der" "$d/out" >"$d/hx.log" 2>&1 && ok=1 ;;
  esac
  if [ "$ok" = 1 ] && cmp -s "$d/out" "$e"; then echo yes
  elif [ "$ok" = 1 ]; then echo "no: hxtool returned other content"
  else echo "no: $(_hx_errors "$d/hx.log")"; fi
}
