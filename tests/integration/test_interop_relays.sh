#!/bin/bash
# Inbound S/MIME after relays touched it (PRODUCT §3.1-§3.3), the shapes test_inbound_variants.sh
# does not try: footers whose letters are all base64 ("Regards", "--"/"Thanks", "Hi=") after
# base64 that ends without padding, where only the object's own length says where the data
# stops; CR-only line ends with a footer; binary and quoted-printable CMS bodies with a footer;
# a list server's "[list]" Subject prefix; base64 re-wrapped to other line lengths; a relay that
# converts the 8bit text of a multipart/signed to quoted-printable (the signed bytes change: a
# defined failure, delivered with it); a list's footer as a MIME part beside the signed one.
# Every CMS object is made by openssl cms (its size chosen so that its base64 needs no '=': the
# content is padded), every encoding by perl's MIME::Base64 / MIME::QuotedPrint. Offline through
# `ssmctl process --direction in`, as test_inbound_variants.sh.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools openssl perl softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token alice
export OPENSSL_CONF=/dev/null
mkdir -p "$WORK/m" "$WORK/out" "$WORK/certs"
FROM=dave@partner.example RCPT=alice@acme.example
# Offline (ssmctl process --direction in): port 1 is never listened on; no rules are needed.
inbound_config "$WORK/keep.toml" 1 '' "[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" 'revocation = "off"' || fatal relay-setup "config"

# --- objects: openssl cms, sized to a multiple of 3 octets (base64 without '=') ----------------
A=$PKI/alice.cert.pem
SIGN=(-signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem")
o() { openssl cms "$@" >>"$WORK/openssl.log" 2>&1 || fatal relay-setup "openssl cms $*: $(tail -n 2 "$WORK/openssl.log")"; }
cd "$WORK/m" || fatal relay-setup "cd"
# unpadded NAME OPENSSL-ARGS...: NAME.der of the plaintext NAME.entity (its last line padded with
# '.' until the DER is a multiple of 3 octets long); RECIPIENT, when set, last on the command line.
unpadded() {
  local name=$1 pad=; shift
  # (CBC ciphertext grows in 16-octet steps: up to 48 octets of padding)
  for _ in $(seq 0 48); do
    printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice,\r\nthe figures for Q3%s\r\n' "$pad" >"$name.entity"
    o "$@" -in "$name.entity" -outform DER -out "$name.der" ${RECIPIENT:+"$RECIPIENT"}
    [ $(($(stat -c %s "$name.der") % 3)) = 0 ] && return 0
    pad=$pad.
  done
  fatal relay-setup "no multiple-of-3 DER for $name"
}
RECIPIENT=$A unpadded enc -encrypt -binary -aes-256-cbc
unpadded opq -sign -binary -nodetach "${SIGN[@]}"
unpadded opq-indef -sign -binary -nodetach -stream "${SIGN[@]}"
unpadded det -sign -binary "${SIGN[@]}"
head -c 2 opq-indef.der | od -An -tx1 | grep -q '30 80' || fatal relay-setup "opq-indef.der is not indefinite-length BER"
cd "$SSM_SRCDIR" || fatal relay-setup "cd"

# --- message builders --------------------------------------------------------------------------
outer() { printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@mua.partner.example>\r\nMIME-Version: 1.0\r\n' \
  "$FROM" "$RCPT" "${SUBJECT:-relay $1}" "$1"; }
b64() { perl -MMIME::Base64 -e 'local $/; my $d = <STDIN>; my $w = shift; my $e = encode_base64($d, "");
  if ($w > 0) { $e =~ s/(.{1,$w})/$1\r\n/g } else { $e .= "\r\n" } print $e' "${2:-64}" <"$1"; }
# Binary quoted-printable (every CR and LF octet as =0D, =0A), as a gateway re-encoding a body.
qp() { perl -MMIME::QuotedPrint -e 'local $/; my $d = <STDIN>; my $e = encode_qp($d, "\r\n", 1); print $e' <"$1"; }
ENV='Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m'
OPQ='Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m'
MS='Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b.relay"'
# cms_mail CASE DER CONTENT-TYPE ENCODING [FOOTER]: ENCODING b64 (64-character lines), b76,
# b40, b0 (one line), cr (64-character lines ending in CR alone, the footer's too), qp, binary.
cms_mail() {
  local cn=$1 der=$WORK/m/$2 ct=$3 enc=$4 footer=${5:-}
  { outer "$cn"; printf '%s\r\n' "$ct"
    case $enc in
      binary) printf 'Content-Transfer-Encoding: binary\r\n\r\n'; cat "$der"; printf '%s' "$footer" ;;
      b*) printf 'Content-Transfer-Encoding: base64\r\n\r\n'; b64 "$der" "${enc#b}"; printf '%s' "$footer" ;;
      cr) printf 'Content-Transfer-Encoding: base64\r\n\r\n'; { b64 "$der"; printf '%s' "$footer"; } | perl -pe 's/\r\n/\r/g' ;;
      qp) printf 'Content-Transfer-Encoding: quoted-printable\r\n\r\n'; qp "$der"; printf '%s' "$footer" ;;
    esac; } >"$WORK/out/$cn.eml"
}
# signed_mail CASE ENTITY [SIG-FOOTER]: multipart/signed of ENTITY with det.der.
signed_mail() {
  { outer "$1"; printf '%s\r\n\r\n--b.relay\r\n' "$MS"; cat "$2"
    printf '\r\n--b.relay\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b64 "$WORK/m/det.der"; printf '%s\r\n--b.relay--\r\n' "${3:-}"; } >"$WORK/out/$1.eml"
}
run() {
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/keep.toml" process --direction in --from "$FROM" --to "$RCPT" \
    <"$WORK/out/$1.eml" >"$WORK/out/$1.out" 2>"$WORK/out/$1.err"
  RC=$? OUT=$WORK/out/$1.out
  LOG=$(grep -E '^(decision|reply):' "$WORK/out/$1.err" | tr '\n' ' ')
}
ar() { header_field "$OUT" Authentication-Results 2>/dev/null | tr '\n' ' '; }
# expect_decrypted CASE ENTITY LOG-REGEX: accepted, the decrypted body is ENTITY's.
expect_decrypted() {
  run "$1"
  if [ "$RC" -ne 0 ]; then fail "$1" "exit $RC: $LOG"
  elif [ -n "$(compare_plaintext "$OUT" "$2")" ]; then fail "$1" "$(compare_plaintext "$OUT" "$2") ($LOG)"
  elif ! grep -Eq -- "$3" <<<"$LOG"; then fail "$1" "log: $LOG (expected /$3/)"
  else pass "$1"; fi
}
# expect_verified CASE LOG-REGEX: accepted, smime=pass for dave, the body as received.
expect_verified() {
  run "$1"
  if [ "$RC" -ne 0 ]; then fail "$1" "exit $RC: $LOG"
  elif ! grep -q "^mx.acme.example; smime=pass body.smime-identifier=$FROM " <<<"$(ar)"; then fail "$1" "A-R: $(ar) ($LOG)"
  elif ! grep -Eq -- "$2" <<<"$LOG"; then fail "$1" "log: $LOG (expected /$2/)"
  elif ! same_body "$WORK/out/$1.eml" "$OUT"; then fail "$1" "the body was changed"
  else pass "$1"; fi
}

# --- 1-3. footers of base64 letters after unpadded base64, "Hi=", CR-only line ends ----------
# Only the object's length tells "Regards" from data (each was refused as malformed base64 or
# a damaged object until 2026-12-04).
cms_mail enc-unpadded-regards enc.der "$ENV" b64 $'\r\nRegards\r\n'
cms_mail enc-unpadded-hi enc.der "$ENV" b64 $'Hi=\r\n'
cms_mail enc-unpadded-one-word enc.der "$ENV" b64 'Regards'
cms_mail enc-cr-only-footer enc.der "$ENV" cr $'\r\n-- \r\nRegards\r\n'
cms_mail enc-cr-only enc.der "$ENV" cr
for cn in enc-unpadded-regards enc-unpadded-hi enc-unpadded-one-word enc-cr-only-footer; do
  expect_decrypted "$cn" "$WORK/m/enc.entity" 'action=decrypt cms-trailing-text-ignored '
done
expect_decrypted enc-cr-only "$WORK/m/enc.entity" 'action=decrypt decrypted='
cms_mail opq-unpadded-thanks opq.der "$OPQ" b64 $'--\r\nThanks\r\n'
cms_mail opq-indef-unpadded-thanks opq-indef.der "$OPQ" b64 $'--\r\nThanks\r\n'
for cn in opq-unpadded-thanks opq-indef-unpadded-thanks; do
  expect_verified "$cn" 'action=verify cms-trailing-text-ignored smime=pass signer=dave'
done
signed_mail det-sig-unpadded-regards "$WORK/m/det.entity" $'\r\nRegards\r\n'
expect_verified det-sig-unpadded-regards 'signature-trailing-text-ignored .*smime=pass signer=dave'

# A multipart/signed whose body a relay turned to CR-only line ends, a footer after the
# signature's base64: the signature covers the canonical (CRLF) form, which line ends alone do
# not change, so it passes as the MUAs that canonicalise find it; the footer is skipped.
signed_mail det-cr-only "$WORK/m/det.entity" $'\r\nRegards\r\n'
perl -e 'local $/; my $m = <STDIN>; my ($h, $b) = split(/\r\n\r\n/, $m, 2); $b =~ s/\r\n/\r/g; print "$h\r\n\r\n$b"' \
  <"$WORK/out/det-cr-only.eml" >"$WORK/out/det-cr-only.tmp" && mv "$WORK/out/det-cr-only.tmp" "$WORK/out/det-cr-only.eml"
perl -e 'local $/; my $m = <STDIN>; my (undef, $b) = split(/\r\n\r\n/, $m, 2); exit($b =~ /\n/ ? 1 : 0)' \
  <"$WORK/out/det-cr-only.eml" || fatal relay-setup "det-cr-only has LF line ends in its body"
expect_verified det-cr-only 'signature-trailing-text-ignored .*smime=pass signer=dave'

# --- 4. binary and quoted-printable CMS bodies with a footer -----------------------------------
FOOTER=$'\r\n-- \r\nCAUTION: This email originated from outside of the organization.\r\n'
cms_mail enc-binary-footer enc.der "$ENV" binary "$FOOTER"
cms_mail enc-qp enc.der "$ENV" qp
cms_mail enc-qp-footer enc.der "$ENV" qp "$FOOTER"
expect_decrypted enc-binary-footer "$WORK/m/enc.entity" 'action=decrypt cms-trailing-text-ignored '
expect_decrypted enc-qp "$WORK/m/enc.entity" 'action=decrypt decrypted='
expect_decrypted enc-qp-footer "$WORK/m/enc.entity" 'action=decrypt cms-trailing-text-ignored '
cms_mail opq-binary-footer opq-indef.der "$OPQ" binary "$FOOTER"
cms_mail opq-qp-footer opq.der "$OPQ" qp "$FOOTER"
for cn in opq-binary-footer opq-qp-footer; do
  expect_verified "$cn" 'action=verify cms-trailing-text-ignored smime=pass signer=dave'
done

# --- 6. list servers and relays ----------------------------------------------------------------
# A "[list]" Subject prefix: the outer header is outside the signature.
SUBJECT='[partners] relay det-subject-prefix' signed_mail det-subject-prefix "$WORK/m/det.entity"
expect_verified det-subject-prefix 'action=verify smime=pass signer=dave'
# The base64 of an opaque signature re-wrapped to other line lengths (the DER is unchanged).
cms_mail opq-rewrapped-76 opq.der "$OPQ" b76
cms_mail opq-rewrapped-40 opq.der "$OPQ" b40
cms_mail opq-rewrapped-one-line opq-indef.der "$OPQ" b0
for cn in opq-rewrapped-76 opq-rewrapped-40 opq-rewrapped-one-line; do
  expect_verified "$cn" 'action=verify smime=pass signer=dave'
done
# 8bit text inside a multipart/signed converted to quoted-printable by a relay: the signed bytes
# changed, so the signature fails with its reason and the mail is delivered with the verdict.
printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe aus M\xc3\xbcnchen\r\n' >"$WORK/m/8bit.entity"
(cd "$WORK/m" && o -sign -binary "${SIGN[@]}" -in 8bit.entity -outform DER -out det-8bit.der)
perl -e 'local $/; my $e = <STDIN>; $e =~ s/8bit/quoted-printable/; $e =~ s/([\x80-\xff])/sprintf("=%02X", ord $1)/ge; print $e' \
  <"$WORK/m/8bit.entity" >"$WORK/m/8bit-as-qp.entity"
for t in det-8bit:8bit det-8bit-to-qp:8bit-as-qp; do
  { outer "${t%%:*}"; printf '%s\r\n\r\n--b.relay\r\n' "$MS"; cat "$WORK/m/${t#*:}.entity"
    printf '\r\n--b.relay\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b64 "$WORK/m/det-8bit.der"; printf '\r\n--b.relay--\r\n'; } >"$WORK/out/${t%%:*}.eml"
done
expect_verified det-8bit 'action=verify smime=pass signer=dave'
run det-8bit-to-qp
if [ "$RC" = 0 ] && grep -q '^mx.acme.example; smime=fail reason="message digest mismatch" body.smime-identifier=dave@partner.example' <<<"$(ar)" \
   && same_body "$WORK/out/det-8bit-to-qp.eml" "$OUT"; then pass det-8bit-to-qp
else fail det-8bit-to-qp "exit $RC: $(ar) $LOG"; fi
# A list's footer as a MIME part beside the signed message (Mailman, Sympa): the signature is
# reported for part 1.1 only, never for the footer (1.2), and the mail is delivered as received.
{ outer list-footer-part; printf 'Content-Type: multipart/mixed; boundary="sympa"\r\n\r\n--sympa\r\n%s\r\n\r\n--b.relay\r\n' "$MS"
  cat "$WORK/m/det.entity"
  printf '\r\n--b.relay\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  b64 "$WORK/m/det.der"; printf '\r\n--b.relay--\r\n\r\n--sympa\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline\r\n\r\n'
  printf -- '-- \r\npartners mailing list -- unsubscribe: partners-leave@lists.partner.example\r\n\r\n--sympa--\r\n'; } >"$WORK/out/list-footer-part.eml"
run list-footer-part
if [ "$RC" = 0 ] && grep -q '^mx.acme.example; smime=pass reason="signature over part 1.1 only, not the whole message" body.smime-identifier=dave@partner.example body.smime-part=1.1 ' <<<"$(ar)" \
   && ! grep -q "smime-part=1.2" <<<"$(ar)" && same_body "$WORK/out/list-footer-part.eml" "$OUT"; then pass list-footer-part
else fail list-footer-part "exit $RC: $(ar) $LOG"; fi
