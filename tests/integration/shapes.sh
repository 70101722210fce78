# What the outbound shape sweeps share (sourced by test_sign_shapes.sh and
# test_encrypt_shapes.sh after lib.sh and tests/interop/peers.sh): the generated messages, the
# check of a signature we made, and make_mime_shapes.py's checks through pass/fail.
# Input trust: the messages are our generator's; what ssm-milter wrote is read as untrusted.
#
#   shapes_generate N        $WORK/shapes/shape-NN.eml|json and $WORK/shapes.index (NAME SENDER)
#   shapes_signature CASE FILE SENDER FORMAT
#                            CASE/openssl (and CASE/entity for detached); sets SHAPES_ENTITY
#   shapes_check LIST        make_mime_shapes.py check LIST, each result line a pass or fail

SHAPES_PY=$SSM_SRCDIR/tests/integration/make_mime_shapes.py

shapes_generate() {
  SHAPES=$WORK/shapes
  python3 "$SHAPES_PY" generate "$SHAPES" "$1" 2>"$WORK/gen.log" \
    || fatal shapes-generate "make_mime_shapes.py: $(tail -n 3 "$WORK/gen.log" | tr '\n' ' ')"
  python3 -c 'import json, sys
for p in sys.argv[1:]:
    m = json.load(open(p)); print("shape-%02d %s" % (m["index"], m["sender"]))' "$SHAPES"/shape-*.json >"$WORK/shapes.index" \
    || fatal shapes-generate "manifests unreadable"
}

# _shapes_expected_alg SIGNER: the signatureAlgorithm each identity's key and the sweeps'
# configurations give (carol signs with rsa_scheme = "pss"; SHAPES_CAROL_SCHEME=pkcs1 for a
# configuration where she does not).
_shapes_expected_alg() {
  case $1 in
    bob@*) echo ecdsa-with-SHA256 ;;
    carol@*) if [ "${SHAPES_CAROL_SCHEME:-pss}" = pss ]; then echo rsassaPss; else echo 'sha256WithRSAEncryption|rsaEncryption'; fi ;;
    *) echo 'sha256WithRSAEncryption|rsaEncryption' ;;
  esac
}

# shapes_signature CASE FILE SENDER FORMAT: FILE (a message or entity holding our signature,
# detached or opaque) verifies with openssl as SENDER with the algorithm SENDER's key gives
# (CASE/openssl); detached: openssl verified the signed entity as delivered, octet for octet
# (CASE/entity). SHAPES_ENTITY is then the signed entity, SHAPES_ALG the algorithm; returns 1
# (after a FAIL) when there is no entity to check further.
shapes_signature() {
  local cn=$1 file=$2 sender=$3 format=$4
  SHAPES_ENTITY= SHAPES_ALG=
  if ! verify_openssl "$file" "$sender"; then fail "$cn/openssl" "$PEER_DETAIL"; return 1; fi
  SHAPES_ALG=$(cms_signature_algorithm "$SIGNED_CMS")
  if printf '%s\n' "$SHAPES_ALG" | grep -qE "^($(_shapes_expected_alg "$sender"))( |\$)"; then pass "$cn/openssl"
  else fail "$cn/openssl" "signatureAlgorithm '$SHAPES_ALG' for $sender"; fi
  SHAPES_ENTITY=$VERIFIED_CONTENT
  if [ "$format" = detached ]; then
    # verify_openssl's folder holds smime_split's content: the signed entity as delivered
    # (RFC 1847 delimiters), and out.bin: what openssl verified and output.
    SHAPES_ENTITY=$(dirname "$VERIFIED_CONTENT")/content
    if cmp -s "$VERIFIED_CONTENT" "$SHAPES_ENTITY"; then pass "$cn/entity"
    else fail "$cn/entity" "openssl verified other octets than the delivered entity"; fi
  fi
}

# shapes_check LIST: make_mime_shapes.py's checks (meaning, transport, labels, base64, ...;
# its `check` says which) for every line of LIST, each result line through pass or fail, so
# that a failure sets the script's exit status; anything else it prints is a failure too.
shapes_check() {
  local line
  while IFS= read -r line; do
    case $line in
      "PASS: "*) pass "${line#PASS: }" ;;
      "FAIL: "*) line=${line#FAIL: }; fail "${line%%: *}" "${line#*: }" ;;
      *) fail shapes-compare "unexpected output: $line" ;;
    esac
  done < <(python3 "$SHAPES_PY" check "$1" 2>"$WORK/compare.err")
  [ -s "$WORK/compare.err" ] && fail shapes-compare "$(tail -n 3 "$WORK/compare.err" | tr '\n' ' ')"
  return 0
}
