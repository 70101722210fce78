#!/bin/bash
# Outbound signing over generated MIME shapes (tests/integration/make_mime_shapes.py: nesting,
# every transfer encoding, CRLF/LF/mixed line ends, long lines, preambles, prefix boundaries,
# empty parts, RFC 2047/2231 fields; malformed: a missing close delimiter, a header line over
# 998 octets without blanks, base64 holding raw 8-bit octets and NULs). Each message is signed
# offline by `ssmctl process` (the milter's own pipeline) with a key on a SoftHSM token:
# detached, and opaque for every 4th; alice's RSA key (PKCS#1 v1.5), bob's ECDSA P-256 key, carol's RSA key
# with RSASSA-PSS. Checks per message:
#   signed     ssmctl accepted and signed it (a missing close delimiter too: signed as written,
#              no delimiter added, the `missing-close-kept` check)
#   openssl    openssl cms -verify (MUA and byte-exact modes) with the test root, the expected
#              signer and signature algorithm; detached: the content openssl verified is the
#              signed entity as delivered, octet for octet (`entity`)
#   gpgsm, cmsutil   for every 5th message (slower)
#   meaning    every leaf's decoded content, type and parameters are those of the input; the
#              header fields outside the signed entity are kept
#   transport  no bare CR or LF, no line over 998 octets, 7-bit clean unless the input held
#              8-bit octets outside any leaf body (a preamble, a raw UTF-8 parameter: no
#              transfer encoding may re-encode them). Malformed: a header line over 998 octets
#              with no blank to fold at is signed as it came, and must be kept verbatim.
#   labels     no part of the signed entity says 7bit (or nothing) over 8-bit octets, NULs or
#              long lines (multiparts and message/rfc822 relabelled after their leaves), and no
#              leaf body holds them under any label (every leaf can be re-encoded)
#   base64     every base64 leaf of the signed entity is the alphabet and padding alone, in lines
#              of at most 76, and decodes strictly to what Python's lenient decoder reads in the
#              input's leaf (octets outside the alphabet, RFC 2045 §6.8, dropped before signing)
# SSM_SHAPES=N sets the number of messages (default 60: 44 s on this 2-core machine while other work ran, about
# 3 minutes beside a build).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/integration/shapes.sh"
require_tools openssl gpgsm gpgconf cmsutil certutil softhsm2-util pkcs11-tool perl python3
require_binaries
T0=$SECONDS
make_pki
make_token
export OPENSSL_CONF=/dev/null
N=${SSM_SHAPES:-60}
mkdir -p "$WORK/out"
shapes_generate "$N"
for format in detached opaque; do
  for scheme in pkcs1 pss; do
    write_config "$WORK/ssm-$format-$scheme.toml" socket="inet:1@127.0.0.1" format=$format rsa_scheme=$scheme \
      || fatal shapes-setup "config $format $scheme"
  done
done
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-detached-pkcs1.toml" -n >"$WORK/check.log" 2>&1 \
  || fatal shapes-config "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"

: >"$WORK/compare.list"
i=0
while read -r name sender; do
  base=$name in=$SHAPES/$name.eml out=$WORK/out/$name.eml
  format=detached; [ $((i % 4)) = 3 ] && format=opaque
  scheme=pkcs1; [ "${sender%@*}" = carol ] && scheme=pss
  name=$name-$format-${sender%@*}
  i=$((i + 1))
  if ! "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm-$format-$scheme.toml" process --direction out \
       --from "$sender" --to someone@elsewhere.example <"$in" >"$out" 2>"$WORK/out/$name.err"; then
    fail "$name/signed" "ssmctl: $(grep -E '^(decision|reply):' "$WORK/out/$name.err" | tr '\n' ' ')"; continue
  fi
  [ "$(signed_form "$out")" = "$format" ] || { fail "$name/signed" "delivered as $(signed_form "$out")"; continue; }
  pass "$name/signed"
  shapes_signature "$name" "$out" "$sender" "$format" || continue
  alg=$SHAPES_ALG entity=$SHAPES_ENTITY
  if [ $((i % 5)) = 1 ]; then
    # gpgsm 2.2.40 verifies RSA-PSS only when the salt length equals the hash length.
    if [ "${alg%% *}" = rsassaPss ] && [ "$alg" != "rsassaPss salt=32" ]; then
      skip "$name/gpgsm" "gpgsm 2.2.40 verifies RSA-PSS only with salt length 32; got '$alg'"
    elif verify_gpgsm "$out" "$sender"; then pass "$name/gpgsm"
    else fail "$name/gpgsm" "$PEER_DETAIL"; fi
    if verify_cmsutil "$out" "$sender"; then pass "$name/cmsutil"; else fail "$name/cmsutil" "$PEER_DETAIL"; fi
  fi
  cp "$entity" "$WORK/out/$name.entity"
  printf '%s %s %s %s %s\n' "$name" "$in" "$WORK/out/$name.entity" "$out" "$SHAPES/$base.json" >>"$WORK/compare.list"
done <"$WORK/shapes.index"
# meaning, transport, labels, base64 (and missing-close-kept) for every signed message, in
# one Python run.
shapes_check "$WORK/compare.list"
note "$N shapes in $((SECONDS - T0)) s"
