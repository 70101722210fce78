#!/bin/bash
# Inbound (decrypt + verify, PRODUCT §3) over the generated MIME shapes of
# tests/integration/make_mime_shapes.py (the outbound sweep's messages): each message's MIME
# entity (its Content-* fields and body) protected by a partner's peer as its client would,
# then run through `ssmctl process --direction in` (the milter's own pipeline):
#   det    openssl cms -sign, detached, text mode (openssl canonicalises as S/MIME does); every
#          5th message signed by gpgsm or NSS cmsutil instead (over openssl's canonical form)
#   opq    openssl cms -sign -nodetach, through a configuration with strip_signature = true, so
#          that what is delivered is the content our readers took out of the CMS object
#   enc    signed (det) then openssl cms -encrypt to alice's token key, AES-256-CBC, and
#          AES-256-GCM for every 3rd message; for every 4th the signed entity with bare LF line
#          ends, as Thunderbird and KMail encrypt it (enc-lf)
# Checks: smime=pass for dave; det: the delivered body is the body received; opq, enc: the
# delivered entity is the one the peer protected (Content-* fields and body, CRLF form) and
# `<case>/leaves`: every leaf's decoded content, type and parameters are those of the entity
# openssl signed (make_mime_shapes.py inbound-check). When openssl's canonical form has other
# leaves than the input (text mode reads lines with fgets: NULs cut them), the peer changed the
# message before protecting it: those shapes are signed again with -binary (det-bin, opq-bin,
# enc-bin) and their leaves checked against the input entity instead.
# SSM_SHAPES=N sets the number of messages (default 44: each of make_mime_shapes.py's 44
# forced features once; 47-63 s on this 2-core machine while other work ran).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools openssl perl python3 softhsm2-util pkcs11-tool gpgsm gpgconf cmsutil certutil pk12util
require_binaries
T0=$SECONDS
inbound_offline_setup "$WORK/keep.toml" shapes alice
write_config "$WORK/strip.toml" socket="inet:1@127.0.0.1" pki='revocation = "off"' extra="[inbound]
strip_signature = true

[directory]
cache = \"$WORK/cache-strip\"
static_certificates = \"$WORK/certs\"" || fatal shapes-setup "config strip"
sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/strip.toml"
N=${SSM_SHAPES:-44}
MS=$SSM_SRCDIR/tests/integration/make_mime_shapes.py
shapes=$WORK/shapes
python3 "$MS" generate "$shapes" "$N" 2>"$WORK/gen.log" \
  || fatal shapes-generate "make_mime_shapes.py: $(tail -n 3 "$WORK/gen.log" | tr '\n' ' ')"
SIGN=(-signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem")
A=$PKI/alice.cert.pem
# crlf_entity IN OUT: an S/MIME entity openssl wrote (LF header lines, CRLF content) in wire
# form, without its MIME-Version field (the outer header has one).
crlf_entity() { perl -e 'local $/; my $m = <STDIN>; $m =~ s/\r?\n/\r\n/g; $m =~ s/^MIME-Version:[^\r]*\r\n//mi; print $m' <"$1" >"$2"; }
# mail CASE ENTITY: the entity under the partner's outer fields.
mail() {
  { printf 'From: Dave <%s>\r\nTo: %s\r\nSubject: inbound shape %s\r\nDate: Sat, 5 Dec 2026 08:00:00 +0000\r\nMessage-ID: <%s@mua.partner.example>\r\nMIME-Version: 1.0\r\n' \
      "$FROM" "$RCPT" "$1" "$1"; cat "$2"; } >"$WORK/out/$1.eml"
}
# run CASE CFG: ssmctl process; RC, OUT (delivered message), LOG (decision line), AR (ours).
run() {
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/$2.toml" process --direction in --from "$FROM" --to "$RCPT" \
    <"$WORK/out/$1.eml" >"$WORK/out/$1.out" 2>"$WORK/out/$1.err"
  RC=$? OUT=$WORK/out/$1.out
  LOG=$(grep -E '^(decision|reply):' "$WORK/out/$1.err" | tr '\n' ' ')
  AR=$(header_field "$OUT" Authentication-Results 2>/dev/null | tr '\n' ' ')
}
# accepted CASE: exit 0 and smime=pass for dave in our Authentication-Results (else FAIL).
accepted() {
  if [ "$RC" -ne 0 ]; then fail "$1" "exit $RC: $LOG"; return 1; fi
  if ! grep -q "^mx.acme.example; smime=pass body.smime-identifier=$FROM " <<<"$AR"; then
    fail "$1" "A-R: $AR ($LOG)"; return 1
  fi
}
o() { openssl cms "$@" >>"$WORK/openssl.log" 2>&1; }
# delivered CN ENTITY [LOG-ERE]: CN passes when the delivered message ($OUT) carries ENTITY
# (same_entity) and, when given, the decision line matches LOG-ERE.
delivered() {
  local why
  why=$(same_entity "$OUT" "$2")
  if [ -n "$why" ]; then fail "$1" "$why ($LOG)"
  elif [ -n "${3:-}" ] && ! grep -Eq -- "$3" <<<"$LOG"; then fail "$1" "log: $LOG (expected /$3/)"
  else pass "$1"; fi
}

: >"$WORK/leaves.list"
: >"$WORK/peer.list"
i=0
for in in "$shapes"/shape-*.eml; do
  base=$(basename "$in" .eml) d=$WORK/m/$(basename "$in" .eml)
  mkdir -p "$d"
  python3 "$MS" entity "$in" "$d/entity" || { fail "$base/entity" "make_mime_shapes.py entity"; i=$((i + 1)); continue; }
  # (a) detached, text mode: openssl's S/MIME output is the partner's message; its first part
  # is openssl's canonical form of the entity (CRLF), the reference for every later check.
  if ! o -sign "${SIGN[@]}" -in "$d/entity" -out "$d/det.smime"; then
    skip "$base" "openssl cms -sign refuses it: $(tail -n 1 "$WORK/openssl.log")"; i=$((i + 1)); continue
  fi
  crlf_entity "$d/det.smime" "$d/det.entity"
  smime_split "$d/det.smime" "$d/split" >/dev/null 2>&1 && cp "$d/split/content" "$d/canon" \
    || { fail "$base/canonical" "openssl's multipart/signed does not split"; i=$((i + 1)); continue; }
  # What the peer changed before protecting: the input's leaves against the canonical form's.
  printf '%s %s %s\n' "$base" "$d/entity" "$d/canon" >>"$WORK/peer.list"
  cn=$base-det
  if [ $((i % 5)) = 4 ]; then
    # gpgsm (KMail) or NSS (Thunderbird) signs the canonical form, binary, detached.
    if [ $((i % 10)) = 4 ]; then peer=gpgsm; sign_gpgsm "$d/canon" dave "$d/peer.der"
    else peer=cmsutil; sign_cmsutil "$d/canon" dave "$d/peer.der"; fi
    if [ $? = 0 ]; then
      cn=$base-det-$peer
      wrap_detached "$d/canon" "$d/peer.der" "$WORK/out/$cn.eml" "$cn" "$FROM" "$RCPT"
    else skip "$base-det-$peer" "$PEER_DETAIL"; mail "$cn" "$d/det.entity"; fi
  else
    mail "$cn" "$d/det.entity"
  fi
  run "$cn" keep
  if accepted "$cn"; then
    if ! cmp -s <(entity_body "$WORK/out/$cn.eml" /dev/stdout) <(entity_body "$OUT" /dev/stdout); then
      fail "$cn" "the signed body was changed ($LOG)"
    else pass "$cn"; fi
  fi
  entity_body "$OUT" "$WORK/out/$cn.body"
  { printf 'Content-Type: multipart/signed; boundary="%s"\r\n\r\n' \
      "$(header_field "$OUT" Content-Type | sed -n 's/.*boundary="\{0,1\}\([^";]*\).*/\1/p')"
    cat "$WORK/out/$cn.body"; } >"$WORK/out/$cn.delivered"
  printf '%s %s %s\n' "$cn/leaves" "$d/canon" "$WORK/out/$cn.delivered" >>"$WORK/leaves.list"
  # (b) opaque, delivered without the signature (strip_signature): our readers' content.
  cn=$base-opq
  if o -sign -nodetach "${SIGN[@]}" -in "$d/entity" -out "$d/opq.smime"; then
    crlf_entity "$d/opq.smime" "$d/opq.entity"; mail "$cn" "$d/opq.entity"
    run "$cn" strip
    accepted "$cn" && delivered "$cn" "$d/canon"
    printf '%s %s %s\n' "$cn/leaves" "$d/canon" "$OUT" >>"$WORK/leaves.list"
  else skip "$cn" "openssl cms -sign -nodetach: $(tail -n 1 "$WORK/openssl.log")"; fi
  # (c) signed (a's openssl message), then encrypted to alice.
  cn=$base-enc cipher=-aes-256-cbc inner=$d/det.entity
  [ $((i % 3)) = 2 ] && cipher=-aes-256-gcm
  if [ $((i % 4)) = 1 ]; then
    # As NSS (Thunderbird) and gpgsm (KMail) encrypt it: the signed entity with bare LF line
    # ends (the signature covers its CRLF form).
    cn=$base-enc-lf inner=$d/det-lf.entity
    perl -pe 's/\r\n/\n/g' "$d/det.entity" >"$inner"
  fi
  if o -encrypt -binary "$cipher" -in "$inner" -out "$d/enc.smime" "$A"; then
    crlf_entity "$d/enc.smime" "$d/enc.entity"; mail "$cn" "$d/enc.entity"
    run "$cn" keep
    accepted "$cn" && delivered "$cn" "$d/det.entity" 'action=decrypt\+verify '
    entity_body "$OUT" "$WORK/out/$cn.body"
    { header_field "$OUT" Content-Type | sed 's/^/Content-Type: /; s/$/\r/'; printf '\r\n'
      cat "$WORK/out/$cn.body"; } >"$WORK/out/$cn.delivered"
    printf '%s %s %s\n' "$cn/leaves" "$d/canon" "$WORK/out/$cn.delivered" >>"$WORK/leaves.list"
  else skip "$cn" "openssl cms -encrypt $cipher: $(tail -n 1 "$WORK/openssl.log")"; fi
  i=$((i + 1))
done

# Leaves: first what the peer changed (no FAIL: not ours). For those shapes openssl's text mode
# changed the entity before it signed (it reads lines with fgets: a NUL cuts one), so the
# text-mode cases' leaves say nothing of ours; instead the entity as it is (its CRLF wire
# form) is signed with `openssl cms -sign -binary` (det-bin, opq-bin, and enc-bin: det-bin's
# signed entity encrypted to alice) and those leaves are checked against the entity itself.
declare -A mangled=()
while IFS= read -r line; do
  case $line in
    "FAIL: "*) line=${line#FAIL: }; mangled[${line%%: *}]=${line#*: } ;;
  esac
done < <(python3 "$MS" inbound-check "$WORK/peer.list" 2>"$WORK/peer.err")
[ -s "$WORK/peer.err" ] && fail shapes-peer "$(tail -n 3 "$WORK/peer.err" | tr '\n' ' ')"
: >"$WORK/leaves-bin.list"
for base in $(printf '%s\n' "${!mangled[@]}" | sort); do
  d=$WORK/m/$base
  note "$base: text mode changed it (${mangled[$base]}); signed -binary instead"
  cn=$base-det-bin
  if ! o -sign -binary "${SIGN[@]}" -in "$d/entity" -outform DER -out "$d/bin.der"; then
    skip "$cn" "openssl cms -sign -binary refuses it: $(tail -n 1 "$WORK/openssl.log")"; continue
  fi
  wrap_detached "$d/entity" "$d/bin.der" "$WORK/out/$cn.eml" "$cn" "$FROM" "$RCPT"
  run "$cn" keep
  if accepted "$cn"; then
    if ! cmp -s <(entity_body "$WORK/out/$cn.eml" /dev/stdout) <(entity_body "$OUT" /dev/stdout); then
      fail "$cn" "the signed body was changed ($LOG)"
    else pass "$cn"; fi
  fi
  printf '%s %s %s\n' "$cn/leaves" "$d/entity" "$OUT" >>"$WORK/leaves-bin.list"
  # For enc-bin: a multipart/signed entity of the entity and bin.der, byte for byte (the
  # entity's bare LFs in binary content kept: entity_body would make them CRLF).
  b="----=_signed_$base-bin"
  { printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r\n\tboundary="%s"\r\n\r\n--%s\r\n' "$b" "$b"
    cat "$d/entity"
    printf '\r\n--%s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$b"
    openssl base64 -e -in "$d/bin.der" | perl -pe 's/\n/\r\n/'
    printf '\r\n--%s--\r\n' "$b"; } >"$d/bin-signed.entity"
  cn=$base-opq-bin
  if o -sign -binary -nodetach "${SIGN[@]}" -in "$d/entity" -outform DER -out "$d/bin-opq.der"; then
    wrap_opaque "$d/bin-opq.der" "$WORK/out/$cn.eml" "$cn" "$FROM" "$RCPT"
    run "$cn" strip
    accepted "$cn" && delivered "$cn" "$d/entity"
    printf '%s %s %s\n' "$cn/leaves" "$d/entity" "$OUT" >>"$WORK/leaves-bin.list"
  else skip "$cn" "openssl cms -sign -binary -nodetach: $(tail -n 1 "$WORK/openssl.log")"; fi
  cn=$base-enc-bin
  if o -encrypt -binary -aes-256-cbc -in "$d/bin-signed.entity" -outform DER -out "$d/bin-enc.der" "$A"; then
    wrap_enveloped "$d/bin-enc.der" "$WORK/out/$cn.eml" "$cn" "$FROM" "$RCPT"
    run "$cn" keep
    accepted "$cn" && delivered "$cn" "$d/bin-signed.entity" 'action=decrypt\+verify '
    printf '%s %s %s\n' "$cn/leaves" "$d/entity" "$OUT" >>"$WORK/leaves-bin.list"
  else skip "$cn" "openssl cms -encrypt: $(tail -n 1 "$WORK/openssl.log")"; fi
done
# The text-mode leaves of the changed shapes are left out: the -bin cases check those shapes.
while read -r name ref res; do
  base=$(cut -d- -f1,2 <<<"$name")  # shape-NN
  [ -n "${mangled[$base]:-}" ] || printf '%s %s %s\n' "$name" "$ref" "$res"
done <"$WORK/leaves.list" >>"$WORK/leaves-bin.list"
while IFS= read -r line; do
  case $line in
    "PASS: "*) pass "${line#PASS: }" ;;
    "FAIL: "*) line=${line#FAIL: }; fail "${line%%: *}" "${line#*: }" ;;
    *) fail shapes-leaves "unexpected output: $line" ;;
  esac
done < <(python3 "$MS" inbound-check "$WORK/leaves-bin.list" 2>"$WORK/leaves.err")
[ -s "$WORK/leaves.err" ] && fail shapes-leaves "$(tail -n 3 "$WORK/leaves.err" | tr '\n' ' ')"
note "$N shapes in $((SECONDS - T0)) s"
