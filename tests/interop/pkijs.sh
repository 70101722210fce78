# PKI.js (npm pkijs + asn1js, Peculiar Ventures; over Node's WebCrypto) as an S/MIME peer through
# the scripts in tests/interop/pkijs/ (sign.mjs, verify.mjs, envelope.mjs, unenvelope.mjs). They
# make and read DER ContentInfo objects only; the MIME around them is made and split here and in
# peers.sh/inbound.sh. Sourced after tests/integration/lib.sh and tests/interop/peers.sh.
# Messages under test are untrusted: split strictly (smime_split, smime_envelope), and PKI.js
# must report a real success (exit 0, the signer it names, the content it returns).
#
#   pkijs_check                         pkijs_server (one node for every operation that follows)
#   pkijs_verify FILE DIR ANCHOR        pkijs_decrypt DER NAME OUT
#   pkijs_sign ENTITY NAME OUT [opt...] pkijs_envelope ENTITY OUT CIPHER CERT... [-- opt...]
#   pkijs_verify_der DER ANCHOR OUT [CONTENT [opt...]]
# node-forge (tests/interop/pkijs/forge.mjs; it verifies no SignedData):
#   forge_decrypt DER NAME OUT          forge_sign ENTITY NAME OUT [opt...]
#   forge_envelope ENTITY OUT CIPHER NAME...
# (what they read: peer_probe pkijs PKI.js CAP, peer_probe forge forge CAP, tests/interop/peers.sh)
# PEER_DETAIL says why a helper failed (the library's own error message).

PKIJS_DIR=$SSM_SRCDIR/tests/interop/pkijs
export SSM_NPM_DIR=${SSM_NPM_DIR:-/var/cache/ssm-milter/npm}

# pkijs_check: node is there and loads the pinned modules (scripts/install-deps.sh installs
# them in $SSM_NPM_DIR); sets PKIJS_VERSION (PKI.js, asn1js, node-forge and node versions).
pkijs_check() {
  command -v node >/dev/null 2>&1 || { PEER_DETAIL="node is missing (Debian nodejs; run scripts/install-deps.sh)"; return 1; }
  [ -f "$SSM_NPM_DIR/node_modules/pkijs/package.json" ] \
    || { PEER_DETAIL="no PKI.js in $SSM_NPM_DIR/node_modules (run scripts/install-deps.sh)"; return 1; }
  PKIJS_VERSION=$(cd "$PKIJS_DIR" && node --input-type=module -e '
    import { lib } from "./common.mjs";
    const v = (n) => lib(n + "/package.json").version;
    console.log(`pkijs ${v("pkijs")}, asn1js ${v("asn1js")}, node-forge ${v("node-forge")}, node ${process.versions.node}`);' 2>"$WORK/pkijs-check.log") \
    || { PEER_DETAIL="$(tr '\n' ' ' <"$WORK/pkijs-check.log" | cut -c1-300)"; return 1; }
}

# pkijs_server: one node process (server.mjs) runs every later operation of this test, in
# turn, as its script would from the command line (_pkijs_node); before it, or when it could
# not start, each operation is a node process of its own.
pkijs_server() {
  local d=$WORK/pkijs-server
  mkdir -p "$d" && mkfifo "$d/requests" "$d/replies" || return 1
  node "$PKIJS_DIR/server.mjs" "$d/requests" "$d/replies" >"$d/server.log" 2>&1 &
  PKIJS_SERVER=$!
  on_exit "kill -KILL $PKIJS_SERVER"
  # read-write opens never block, whether or not node has opened its ends yet
  exec {PKIJS_REQ}<>"$d/requests" {PKIJS_REP}<>"$d/replies"
}

# _pkijs_node LOG SCRIPT ARG...: `node SCRIPT.mjs ARG... >LOG 2>&1`, through pkijs_server when
# it runs. Success: exit 0.
_pkijs_node() {
  local log=$1 script=$2 status
  shift 2
  if [ -z "${PKIJS_SERVER:-}" ]; then node "$PKIJS_DIR/$script.mjs" "$@" >"$log" 2>&1; return; fi
  if ! kill -0 "$PKIJS_SERVER" 2>/dev/null; then
    printf 'Error: the PKI.js server is gone: %s\n' "$(tail -n 3 "$WORK/pkijs-server/server.log" | tr '\n' ' ')" >"$log"
    return 1
  fi
  { printf '%s\037' "$script" "$log" "$@"; printf '\n'; } >&"$PKIJS_REQ"
  if ! read -r -t 300 status <&"$PKIJS_REP"; then
    printf 'Error: no answer from the PKI.js server in 300 s\n' >"$log"; return 1
  fi
  [ "$status" = 0 ]
}

# _pkijs_errors LOG: the scripts' own error lines ("pkijs-verify: ..."), on one line.
_pkijs_errors() { grep -E '^(pkijs-|forge: )|Error' "$1" | tr '\n' ' ' | cut -c1-300; }

# pkijs_verify FILE DIR ANCHOR: PKI.js verifies the CMS object of the signed message FILE (and
# the signed entity, when detached) with ANCHOR (PEM) as its only trusted certificate: the
# intermediates must come from the message. On success PKIJS_SIGNER is "subject / issuer",
# DIR/signer.pem the signer certificate PKI.js used and DIR/pkijs.out the content it vouches for.
pkijs_verify() {
  local file=$1 d=$2 anchor=$3 content=
  smime_split "$file" "$d" || return 1
  [ "$(cat "$d/kind")" = detached ] && content=$d/content
  rm -f "$d/signer.pem"
  pkijs_verify_der "$d/sig.der" "$anchor" "$d/pkijs.out" "$content" --signer-out "$d/signer.pem" || return 1
  PKIJS_SIGNER=$(sed -n 's/^signer: //p' "$d/pkijs.out.log")
  [ -f "$d/pkijs.out" ] && [ -s "$d/signer.pem" ] || { PEER_DETAIL="PKI.js wrote no content or signer"; return 1; }
}

# pkijs_verify_der DER ANCHOR OUT [CONTENT [OPTION...]]: verify.mjs on the SignedData
# ContentInfo DER (detached: over the file CONTENT, "" for none); OUT gets the content, OUT.log
# what it printed. Success: exit 0.
pkijs_verify_der() {
  local der=$1 args=(--root "$2") out=$3
  [ -n "${4:-}" ] && args+=(--content "$4")
  shift $(($# < 4 ? $# : 4))
  rm -f "$out"
  _pkijs_node "$out.log" verify "${args[@]}" "$@" "$der" "$out" \
    || { PEER_DETAIL="PKI.js: $(_pkijs_errors "$out.log")"; return 1; }
}

# pkijs_decrypt DER NAME OUT [--first]: PKI.js opens DER with NAME's certificate and key file
# (--first: the first RecipientInfo, whoever it names).
pkijs_decrypt() {
  _key_files "$2" || return 1
  rm -f "$3"
  _pkijs_node "$3.log" unenvelope --cert "$CERT_PEM" --key "$KEY_PEM" ${4:-} "$1" "$3" && [ -s "$3" ] \
    || { PEER_DETAIL="PKI.js: $(_pkijs_errors "$3.log")"; return 1; }
}

# pkijs_sign ENTITY NAME OUT [OPTION...]: a SignedData ContentInfo signed with NAME's key; the
# algorithm follows the key (RSA PKCS#1 v1.5, or ECDSA) unless --alg pss. Options of sign.mjs:
# --detached, --sid ias|ski, --hash, --chain PEM, --no-certs, --no-attrs.
pkijs_sign() {
  local entity=$1 out=$3 alg=rsa
  _key_files "$2" || return 1
  shift 3
  openssl pkey -in "$KEY_PEM" -noout -text 2>/dev/null | grep -q '^ASN1 OID' && alg=ecdsa
  rm -f "$out"
  _pkijs_node "$out.log" sign --cert "$CERT_PEM" --key "$KEY_PEM" --alg "$alg" "$@" "$entity" "$out" && [ -s "$out" ] \
    || { PEER_DETAIL="PKI.js: $(_pkijs_errors "$out.log")"; return 1; }
}

# pkijs_envelope ENTITY OUT CIPHER NAME... [-- OPTION...]: an EnvelopedData ContentInfo to each
# test key NAME (RSA: KTRI with RSA-OAEP; EC: KARI with ECDH). Options of envelope.mjs:
# --oaep-hash, --v15, --kdf, --kek-length.
pkijs_envelope() {
  local entity=$1 out=$2 cipher=$3 args=()
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    _key_files "$1" || return 1
    args+=(--recip "$CERT_PEM"); shift
  done
  [ $# -gt 0 ] && shift
  rm -f "$out"
  _pkijs_node "$out.log" envelope --cipher "$cipher" "${args[@]}" "$@" "$entity" "$out" && [ -s "$out" ] \
    || { PEER_DETAIL="PKI.js: $(_pkijs_errors "$out.log")"; return 1; }
}

# --- node-forge ---------------------------------------------------------------------------------
_forge_errors() { _pkijs_errors "$@"; }

# forge_decrypt DER NAME OUT [--first]: forge opens the EnvelopedData DER with NAME's
# certificate and key (--first: the first RecipientInfo, whoever it names).
forge_decrypt() {
  _key_files "$2" || return 1
  rm -f "$3"
  _pkijs_node "$3.log" forge unenvelope --cert "$CERT_PEM" --key "$KEY_PEM" ${4:-} "$1" "$3" && [ -s "$3" ] \
    || { PEER_DETAIL="$(_pkijs_errors "$3.log")"; return 1; }
}

# forge_sign ENTITY NAME OUT [OPTION...]: a SignedData ContentInfo signed by forge with NAME's
# RSA key (PKCS#1 v1.5). Options of forge.mjs sign: --detached, --hash, --chain PEM, --no-attrs.
forge_sign() {
  local entity=$1 out=$3
  _key_files "$2" || return 1
  shift 3
  rm -f "$out"
  _pkijs_node "$out.log" forge sign --cert "$CERT_PEM" --key "$KEY_PEM" "$@" "$entity" "$out" && [ -s "$out" ] \
    || { PEER_DETAIL="$(_pkijs_errors "$out.log")"; return 1; }
}

# forge_envelope ENTITY OUT CIPHER NAME...: an EnvelopedData ContentInfo made by forge (KTRI, RSA
# PKCS#1 v1.5) to each test key NAME.
forge_envelope() {
  local entity=$1 out=$2 cipher=$3 args=()
  shift 3
  for n in "$@"; do _key_files "$n" || return 1; args+=(--recip "$CERT_PEM"); done
  rm -f "$out"
  _pkijs_node "$out.log" forge envelope --cipher "$cipher" "${args[@]}" "$entity" "$out" && [ -s "$out" ] \
    || { PEER_DETAIL="$(_pkijs_errors "$out.log")"; return 1; }
}
