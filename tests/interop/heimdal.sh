# Heimdal hx509 (`hxtool` from Debian's heimdal-clients) as an S/MIME peer: an independent CMS
# implementation with its own ASN.1 compiler and crypto (hcrypto). hxtool reads and writes CMS
# only (a DER ContentInfo with --content-info); the MIME around it is made and split here and
# in peers.sh/inbound.sh. Sourced after tests/integration/lib.sh and tests/interop/peers.sh.
# Messages under test are untrusted: split strictly (smime_split, smime_envelope), and hxtool
# must report a real success (exit 0 and the signer it names).
#
#   hx_verify FILE DIR ANCHOR      hx_decrypt DER NAME OUT      hx_sign ENTITY NAME OUT [opt...]
#   hx_envelope ENTITY OUT ENCTYPE CERT...                      hx_verify_der DER ANCHOR OUT [CONTENT]
# (what hxtool reads: peer_probe hx hxtool CAP, tests/interop/peers.sh)
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
  local file=$1 d=$2 anchor=$3 content=
  smime_split "$file" "$d" || return 1
  [ "$(cat "$d/kind")" = detached ] && content=$d/content
  hx_verify_der "$d/sig.der" "$anchor" "$d/hx.out" "$content" || return 1
  # Output: "type: OID", "signers:", then "subject: DN" and "issuer: DN" per signer.
  local log=$d/hx.out.log n
  grep -qx 'type: 1.2.840.113549.1.7.1' "$log" || { PEER_DETAIL="hxtool: content type: $(head -n 1 "$log")"; return 1; }
  n=$(grep -c '^subject: ' "$log")
  [ "$n" -eq 1 ] || { PEER_DETAIL="hxtool: $n signers: $(tr '\n' ' ' <"$log")"; return 1; }
  HX_SIGNER="$(sed -n 's/^subject: //p' "$log") / $(sed -n 's/^issuer: //p' "$log")"
  [ -f "$d/hx.out" ] || { PEER_DETAIL="hxtool wrote no content"; return 1; }
}

# hx_verify_der DER ANCHOR OUT [CONTENT]: hxtool cms-verify-sd on the SignedData ContentInfo
# DER (detached: over the file CONTENT) with ANCHOR (PEM) as the only trust anchor; OUT gets
# the content hxtool vouches for, OUT.log what hxtool printed. Success: hxtool exits 0.
hx_verify_der() {
  local args=(--content-info "--anchors=FILE:$2" --missing-revoke)
  [ -n "${4:-}" ] && args+=("--signed-content=$4")
  rm -f "$3"
  hxtool cms-verify-sd "${args[@]}" "$1" "$3" >"$3.log" 2>&1 \
    || { PEER_DETAIL="hxtool cms-verify-sd: $(_hx_errors "$3.log")"; return 1; }
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
