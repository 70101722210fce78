#!/bin/bash
# Inbound results an outside attacker must not be able to talk ssm-milter into (PRODUCT §3.3;
# "Johnny, You Are Fired!", USENIX Security 2019): a genuine signature of dave's put to work
# on a message that says more than dave signed. Each message below carries dave's real
# signature (openssl cms, the partner's key) around content the reader sees only in part, or
# as another kind of object; none may come out with smime=pass:
#   - multipart/signed with a third part beside the signed entity and the signature, or
#     its signature part labelled as something readers render (text/html);
#   - two Content-Type fields at the top, multipart/signed first (readers differ on which
#     one counts; the other shows the unsigned preamble as the text), or its boundary
#     parameter given twice;
#   - a detached or opaque signature whose eContentType is not id-data (the signer signed
#     some other kind of object, not a MIME entity);
#   - a From field naming dave and a second author the certificate does not name, or an
#     entry that is no address;
#   - a signed entity whose own header (RFC 9788 hp=, RFC 8551 §3.1 message/rfc822;
#     forwarded=no), which header-protecting readers show, has a From dave is not;
#   - an unsigned From of dave's sent with another domain's envelope sender, under an inbound
#     rule that requires partner mail to be signed;
#   - dave's signed message as one part of the attacker's multipart/mixed: reported for its
#     part only, never like a signature over the whole message;
#   - a second outer Subject beside the protected one of a signed message;
#   - fields the gateway removes or writes (Authentication-Results, X-SSM-*) and trace fields
#     put inside an encryption to alice or a signed protected header, to be restored.
# Controls: the same signatures in their honest form pass. Offline through
# `ssmctl process --direction in` (the milter's own pipeline).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools openssl perl softhsm2-util pkcs11-tool
require_binaries
T0=$SECONDS
make_pki
make_token alice
export OPENSSL_CONF=/dev/null
mkdir -p "$WORK/m" "$WORK/out" "$WORK/certs"
FROM=dave@partner.example RCPT=alice@acme.example
# Offline (ssmctl process --direction in): port 1 is never listened on; no rules are needed.
inbound_config "$WORK/in.toml" 1 '' "[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" 'revocation = "off"' || fatal spoof-setup "config"

E=$WORK/m/plain.entity
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice,\r\nthe meeting is at ten.\r\n' >"$E"
SIGN=(-signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem")
o() { openssl cms "$@" >>"$WORK/openssl.log" 2>&1 || fatal spoof-setup "openssl cms $*: $(tail -n 2 "$WORK/openssl.log")"; }
cd "$WORK/m" || fatal spoof-setup "cd"
o -sign -binary "${SIGN[@]}" -in "$E" -outform DER -out det.der
o -sign -binary -nodetach "${SIGN[@]}" -in "$E" -outform DER -out opaque.der
# The same entity signed as another content type (here id-ct-TSTInfo, a time-stamp token's).
o -sign -binary -econtent_type 1.2.840.113549.1.9.16.1.4 "${SIGN[@]}" -in "$E" -outform DER -out det-tst.der
o -sign -binary -nodetach -econtent_type 1.2.840.113549.1.9.16.1.4 "${SIGN[@]}" -in "$E" -outform DER -out opaque-tst.der
# Entities whose header a reader shows in place of the outer one (RFC 9788 hp=, RFC 8551
# §3.1 message/rfc822; forwarded=no): dave signs a From of ceo@acme.example, and his own.
for who in ceo@acme.example dave@partner.example; do
  printf 'Content-Type: text/plain; charset=us-ascii; hp="clear"\r\nFrom: %s\r\nTo: alice@acme.example\r\nSubject: Wire transfer\r\n\r\nPay account 6666.\r\n' "$who" >"hp-$who.entity"
  printf 'Content-Type: message/rfc822; forwarded=no\r\n\r\nFrom: %s\r\nTo: alice@acme.example\r\nSubject: Wire transfer\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nPay account 6666.\r\n' "$who" >"wrap-$who.entity"
  o -sign -binary "${SIGN[@]}" -in "hp-$who.entity" -outform DER -out "hp-$who.der"
  o -sign -binary "${SIGN[@]}" -in "wrap-$who.entity" -outform DER -out "wrap-$who.der"
  o -sign -binary -nodetach "${SIGN[@]}" -in "hp-$who.entity" -outform DER -out "hp-$who.p7m"
done
# A wrapped header over the header limits (64 KiB per field): its From cannot be read.
{ printf 'Content-Type: message/rfc822; forwarded=no\r\n\r\nFrom: ceo@acme.example\r\nSubject: '
  head -c 70000 /dev/zero | tr '\0' x
  printf '\r\nContent-Type: text/plain\r\n\r\nPay account 6666.\r\n'; } >wrap-huge.entity
o -sign -binary -nodetach "${SIGN[@]}" -in wrap-huge.entity -outform DER -out wrap-huge.p7m

B='----=_signed'
# detached_mail CASE SIG [FROM] [EXTRA-HEADER] [THIRD-PART]: multipart/signed around $E, the
# unsigned preamble an attacker's text; B_PARAM replaces its boundary parameter, CT_MORE is
# appended to its Content-Type, ENTITY
# replaces $E as the signed entity, SIG_TYPE is the signature part's Content-Type.
detached_mail() {
  local cn=$1 sig=$2 from=${3:-$FROM} extra=${4:-} third=${5:-}
  { printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@partner.example>\r\nMIME-Version: 1.0\r\n' "$from" "$RCPT" "$cn" "$cn"
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; %s%s\r\n' "${B_PARAM:-boundary=\"$B\"}" "${CT_MORE:-}"
    [ -n "$extra" ] && printf '%s\r\n' "$extra"
    printf '\r\nPay the invoice from account 1234 today, dave.\r\n\r\n--%s\r\n' "$B"
    cat "${ENTITY:-$E}"
    printf '\r\n--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$B" "${SIG_TYPE:-application/pkcs7-signature; name=smime.p7s}"
    openssl base64 -e -in "$sig" | perl -pe 's/\r?\n\z/\r\n/'
    [ -n "$third" ] && printf '\r\n--%s\r\nContent-Type: text/plain\r\n\r\n%s\r\n' "$B" "$third"
    printf '\r\n--%s--\r\n' "$B"; } >"$WORK/out/$cn.eml"
}
opaque_mail() {
  local cn=$1 der=$2
  { printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\n' "$FROM" "$RCPT" "$cn"
    printf 'Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    openssl base64 -e -in "$der" | perl -pe 's/\r?\n\z/\r\n/'; } >"$WORK/out/$cn.eml"
}

run() {
  local cn=$1
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/in.toml" process --direction in --from "$FROM" --to "$RCPT" \
    <"$WORK/out/$cn.eml" >"$WORK/out/$cn.out" 2>"$WORK/out/$cn.err"
  RC=$? OUT=$WORK/out/$cn.out
  LOG=$(grep -E '^(decision|reply):' "$WORK/out/$cn.err" | tr '\n' ' ')
}
ar() { header_field "$OUT" Authentication-Results 2>/dev/null | tr '\n' ' '; }
# expect CASE pass|not-pass [A-R-REGEX]: accepted; smime=pass (for dave) or no pass at all.
expect() {
  local cn=$1 want=$2 re=${3:-} got
  run "$cn"
  got=$(ar)
  if [ "$RC" -ne 0 ]; then fail "$cn" "exit $RC: $LOG"; return; fi
  if [ "$want" = pass ]; then
    if grep -q "^mx.acme.example; smime=pass body.smime-identifier=$FROM " <<<"$got"; then pass "$cn"
    else fail "$cn" "expected smime=pass, A-R: $got ($LOG)"; fi
    return
  fi
  if grep -q 'smime=pass' <<<"$got$LOG"; then fail "$cn" "smime=pass for a spoof: $got ($LOG)"
  elif [ -n "$re" ] && ! grep -Eq -- "$re" <<<"$got"; then fail "$cn" "A-R: $got (expected /$re/; $LOG)"
  else pass "$cn"; fi
}

# Controls: the honest forms pass.
detached_mail det-control det.der
expect det-control pass
opaque_mail opaque-control opaque.der
expect opaque-control pass

# 1. A third part after the signature: the signature covers the first part only.
detached_mail det-third-part det.der "$FROM" "" "Correction: pay to account 6666 instead."
expect det-third-part not-pass 'smime=permerror reason="multipart/signed with 3 parts'

# 2. Two Content-Type fields: one reader takes the multipart/signed, another the text/plain
# (the whole body, its unsigned preamble first, as the text of a signed message).
detached_mail det-two-content-types det.der "$FROM" 'Content-Type: text/plain'
expect det-two-content-types not-pass 'smime=permerror reason="more than one Content-Type field'

# 1b. The signature part labelled as text a reader renders (with unsigned attributes anyone
# may add to a genuine SignerInfo, it would show attacker text beside the signed part).
SIG_TYPE='text/html' detached_mail det-sig-as-html det.der
expect det-sig-as-html not-pass 'smime=permerror reason="signature part is text/html, not application/pkcs7-signature'
SIG_TYPE='application/octet-stream; name=smime.p7s' detached_mail det-sig-octet-stream det.der
expect det-sig-octet-stream pass
# The signature part labelled twice, the signature type first: a reader taking the last
# Content-Type renders it as HTML (its header is not signed: anyone may write it).
SIG_TYPE=$'application/pkcs7-signature; name=smime.p7s\r\nContent-Type: text/html' detached_mail det-sig-two-types det.der
expect det-sig-two-types not-pass 'smime=permerror reason="signature part with more than one Content-Type field'

# 2b. The boundary given twice: a reader taking the second one sees other parts.
CT_MORE='; boundary="other"' detached_mail det-two-boundaries det.der
expect det-two-boundaries not-pass 'smime=permerror reason="Content-Type parameter boundary given twice'
CT_MORE="; boundary*=us-ascii''other" detached_mail det-two-boundaries-2231 det.der
expect det-two-boundaries-2231 not-pass 'smime=permerror reason="Content-Type parameter boundary given twice'
# The same RFC 2231 segment given twice (no plain boundary at all): we joined the first, a
# reader taking the last cuts the body elsewhere.
B_PARAM="boundary*0=\"$B\"; boundary*0=\"other\"" detached_mail det-boundary-segment-twice det.der
expect det-boundary-segment-twice not-pass 'smime=permerror reason="Content-Type parameter boundary given twice'
# An honest RFC 2231 continuation of the boundary (boundary*0, boundary*1) is one parameter.
B_PARAM="boundary*0=\"${B:0:5}\"; boundary*1=\"${B:5}\"" detached_mail det-boundary-continued det.der
expect det-boundary-continued pass

# 3. A signature over a content type other than id-data, shown as mail.
detached_mail det-econtent-tst det-tst.der
expect det-econtent-tst not-pass 'smime=permerror reason="signed content type 1.2.840.113549.1.9.16.1.4 is not id-data'
opaque_mail opaque-econtent-tst opaque-tst.der
expect opaque-econtent-tst not-pass 'smime=permerror reason="signed content type 1.2.840.113549.1.9.16.1.4 is not id-data'

# 4. From names dave and an author dave's certificate does not name.
detached_mail det-two-authors det.der "dave@partner.example, ceo@acme.example"
expect det-two-authors not-pass 'smime=fail reason="From names an author the signer certificate does not'

# 4b. An entry of the From that is no address is shown as an author all the same.
detached_mail det-from-non-address det.der "dave@partner.example, Chief Executive Officer"
expect det-from-non-address not-pass 'smime=fail reason="From address does not match'

# 5. The From a header-protecting reader shows (inside the signature) is someone else's.
ENTITY=$WORK/m/hp-ceo@acme.example.entity detached_mail det-hp-other-from hp-ceo@acme.example.der
expect det-hp-other-from not-pass 'smime=fail reason="From names an author the signer certificate does not: ceo@acme.example'
opaque_mail opaque-hp-other-from hp-ceo@acme.example.p7m
expect opaque-hp-other-from not-pass 'smime=fail reason="From names an author the signer certificate does not: ceo@acme.example'
ENTITY=$WORK/m/wrap-ceo@acme.example.entity detached_mail det-wrapped-other-from wrap-ceo@acme.example.der
expect det-wrapped-other-from not-pass 'smime=fail reason="From names an author the signer certificate does not: ceo@acme.example'
# Its header is over the limits: refused like any such header, never judged without it.
opaque_mail opaque-wrapped-unreadable wrap-huge.p7m
run opaque-wrapped-unreadable
if [ "$RC" -ne 0 ] && grep -q '552 5.3.4' <<<"$LOG" && ! grep -q 'smime=pass' <<<"$LOG"; then pass opaque-wrapped-unreadable
else fail opaque-wrapped-unreadable "exit $RC, expected 552: $LOG"; fi
# Controls: dave's own From inside passes.
ENTITY=$WORK/m/hp-dave@partner.example.entity detached_mail det-hp-own-from hp-dave@partner.example.der
expect det-hp-own-from pass
opaque_mail opaque-hp-own-from hp-dave@partner.example.p7m
expect opaque-hp-own-from pass
ENTITY=$WORK/m/wrap-dave@partner.example.entity detached_mail det-wrapped-own-from wrap-dave@partner.example.der
expect det-wrapped-own-from pass

# 6. Forged results claiming our authserv-id, in every spelling, go; another server's stay.
detached_mail ar-forged det.der "$FROM" "$(printf '%s\r\n' \
  'authentication-results: MX.ACME.EXAMPLE; smime=pass body.smime-identifier=ceo@acme.example' \
  'Authentication-Results: (checked) mx.acme.example; smime=pass' \
  'Authentication-Results:' $'\tmx.acme.example;' ' smime=pass' \
  'Authentication-Results: "mx.acme.example"; smime=pass' \
  'Authentication-Results:    mx.acme.example 1; smime=pass' \
  'Authentication-Results: mx.acme.example(x); smime=pass' \
  'Authentication-Results: mx.acme.example.; smime=pass' \
  'Authentication-Results: mx.acme.example' \
  'Authentication-Results: other.example; dkim=pass header.d=partner.example' | sed '$ s/\r$//')"
run ar-forged
got=$(header_field "$OUT" Authentication-Results | tr -d '\r')
ours=$(grep -c '^mx\.acme\.example; smime=pass body\.smime-identifier=dave@partner\.example ' <<<"$got")
others=$(grep -c 'other\.example; dkim=pass' <<<"$got")
if [ "$RC" -ne 0 ]; then fail ar-forged "exit $RC: $LOG"
elif [ "$(wc -l <<<"$got")" -ne 2 ] || [ "$ours" -ne 1 ] || [ "$others" -ne 1 ]; then fail ar-forged "A-R left: $got"
else pass ar-forged; fi

# 5b. Signature wrapping: dave's whole signed message as the first part of the attacker's
# multipart/mixed, the attacker's text as the second. Its result named the multipart/signed's
# part number, "1", and read exactly like dave's signature over the whole message (until
# 2026-12-02): it names the signed content (IMAP 1.1) and says it covers that part only.
B2='wrap-mixed'
{ printf 'From: %s\r\nTo: %s\r\nSubject: Invoice\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="%s"\r\n\r\n--%s\r\n' \
    "$FROM" "$RCPT" "$B2" "$B2"
  perl -e 'local $/; my ($h, $b) = split(/\r\n\r\n/, <STDIN>, 2); $h =~ s/\r\n[ \t]+/ /g;
           my ($ct) = $h =~ /^(Content-Type:[^\r]*)/mi; print "$ct\r\n\r\n$b"' <"$WORK/out/det-control.eml"
  printf '\r\n--%s\r\nContent-Type: text/plain\r\n\r\nCorrection: pay to account 6666 instead.\r\n--%s--\r\n' "$B2" "$B2"; } >"$WORK/out/wrapped-signed-part.eml"
run wrapped-signed-part
got=$(ar)
if [ "$RC" -ne 0 ]; then fail wrapped-signed-part "exit $RC: $LOG"
elif grep -q "^mx.acme.example; smime=pass body.smime-identifier=$FROM " <<<"$got"; then
  fail wrapped-signed-part "reads as a signature over the whole message: $got"
elif ! grep -q "^mx.acme.example; smime=pass reason=\"signature over part 1.1 only, not the whole message\" body.smime-identifier=$FROM body.smime-part=1.1 " <<<"$got"; then
  fail wrapped-signed-part "A-R: $got"
else pass wrapped-signed-part; fi

# 6b. Fields inside an encryption (RFC 9788 protected header, or a legacy inner header) are
# written by whoever encrypted, and anyone can encrypt to alice (her certificate is public):
# restored onto the delivered header, a forged Authentication-Results of ours, X-SSM-* fields
# and trace fields came through after the outer ones had been removed (until 2026-12-02;
# Received-SPF, an SPF verifier's verdict, until rv22).
# The same from the protected header of a signed entity (dave's valid signature). Ordinary
# protected fields (Subject, Keywords) are still restored.
FORGED=$(printf '%s\r\n' \
  'Authentication-Results: mx.acme.example; smime=pass body.smime-identifier=ceo@acme.example' \
  'authentication-results: other.example; dkim=pass header.d=acme.example' \
  'X-SSM-Policy: signed and encrypted' 'x-ssm-undecryptable: mx.acme.example' \
  'Received: from mx.acme.example by mx.acme.example' 'DKIM-Signature: v=1; d=acme.example' \
  'Received-SPF: pass (mx.acme.example: domain of ceo@acme.example designates 192.0.2.1)' \
  'Keywords: quarterly')
printf 'Content-Type: text/plain; charset=us-ascii; hp="cipher"\r\nFrom: %s\r\nSubject: Wire transfer\r\n%s\r\nPay account 6666.\r\n' \
  "$FROM" "$FORGED" >"$WORK/m/forged-fields.entity"
o -encrypt -binary -aes256 -in "$WORK/m/forged-fields.entity" -outform DER -out "$WORK/m/forged-fields.der" "$PKI/alice.cert.pem"
o -sign -binary -nodetach "${SIGN[@]}" -in "$WORK/m/forged-fields.entity" -outform DER -out "$WORK/m/forged-fields.p7m"
{ printf 'From: %s\r\nTo: %s\r\nSubject: [...]\r\nMIME-Version: 1.0\r\n' "$FROM" "$RCPT"
  printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  openssl base64 -e -in "$WORK/m/forged-fields.der" | perl -pe 's/\r?\n\z/\r\n/'; } >"$WORK/out/enc-inner-forged-fields.eml"
opaque_mail opaque-hp-forged-fields "$WORK/m/forged-fields.p7m"
# inner_fields CASE WANT-A-R-REGEX: accepted; no forged field restored; Subject and Keywords are.
inner_fields() {
  local cn=$1 want=$2 got bad=
  run "$cn"
  got=$(header_field "$OUT" Authentication-Results 2>/dev/null | tr '\n' '|')
  for f in X-SSM-Policy X-SSM-Undecryptable Received DKIM-Signature Received-SPF; do
    header_field "$OUT" "$f" >/dev/null 2>&1 && bad="$bad $f"
  done
  if [ "$RC" -ne 0 ]; then fail "$cn" "exit $RC: $LOG"
  elif ! grep -Eq -- "^$want\|?$" <<<"$got"; then fail "$cn" "Authentication-Results: $got"
  elif [ -n "$bad" ]; then fail "$cn" "restored from inside:$bad"
  elif [ "$(header_field "$OUT" Subject)" != "Wire transfer" ] || [ "$(header_field "$OUT" Keywords)" != quarterly ]; then
    fail "$cn" "protected Subject/Keywords not restored: $(header_field "$OUT" Subject) / $(header_field "$OUT" Keywords 2>&1)"
  else pass "$cn"; fi
}
inner_fields enc-inner-forged-fields ''
inner_fields opaque-hp-forged-fields "mx.acme.example; smime=pass body.smime-identifier=$FROM [^|]*"

# 6c. dave's signed message with a protected Subject, sent again with two outer Subject fields
# (RFC 5322 allows one; some readers show the last): the protected Subject replaced the first
# only and the attacker's second stayed beside dave's pass (until 2026-12-02). Now one Subject
# is left, the protected one.
{ printf 'From: %s\r\nTo: %s\r\nSubject: [...]\r\nSubject: Pay account 6666 today\r\nMIME-Version: 1.0\r\n' "$FROM" "$RCPT"
  printf 'Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  openssl base64 -e -in "$WORK/m/hp-dave@partner.example.p7m" | perl -pe 's/\r?\n\z/\r\n/'; } >"$WORK/out/hp-two-outer-subjects.eml"
run hp-two-outer-subjects
subjects=$(header_field "$OUT" Subject 2>/dev/null | tr '\n' '|')
if [ "$RC" -ne 0 ]; then fail hp-two-outer-subjects "exit $RC: $LOG"
elif ! grep -q "^mx.acme.example; smime=pass body.smime-identifier=$FROM " <<<"$(ar)"; then fail hp-two-outer-subjects "A-R: $(ar)"
elif [ "$subjects" != 'Wire transfer|' ]; then fail hp-two-outer-subjects "Subject fields left: $subjects"
else pass hp-two-outer-subjects; fi

# 7. A partner's From under an envelope sender of another domain: the inbound rule written for
# the partner's addresses (require_signature, as in ssm-milter.toml(5)'s example) matched MAIL
# FROM only, so unsigned mail "From: dave" sent as <x@evil.example> passed unchallenged. The
# rule reads From too: refused; dave's real signature under that envelope is still accepted.
cp "$WORK/in.toml" "$WORK/require.toml"
printf '\n[[rule]]\nname = "partner mail must be signed"\ndirection = "inbound"\nfrom = ["*@partner.example"]\nrequire_signature = true\non_missing = "reject"\n' >>"$WORK/require.toml"
printf 'From: Dave <%s>\r\nTo: %s\r\nSubject: new bank details\r\nMessage-ID: <forged@evil.example>\r\n\r\nplease pay to ...\r\n' \
  "$FROM" "$RCPT" >"$WORK/out/forged-from.eml"
envelope_case() {  # CASE MESSAGE EXPECTED-EXIT REGEX [CONFIG [RCPT...]]: MAIL FROM <x@evil.example>
  local name=$1 msg=$2 want=$3 re=$4 conf=${5:-$WORK/require.toml} to=() r
  shift 4; [ $# -gt 0 ] && shift
  for r in "${@:-$RCPT}"; do to+=(--to "$r"); done
  "$SSM_BUILDDIR/ssmctl" -c "$conf" process --direction in --from x@evil.example "${to[@]}" \
    <"$msg" >"$WORK/out/$name.out" 2>"$WORK/out/$name.err"
  local rc=$? log; log=$(grep -E '^(decision|reply):' "$WORK/out/$name.err" | tr '\n' ' ')
  if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" <<<"$log"; then pass "$name"; else fail "$name" "exit $rc: $log"; fi
}
envelope_case require-from-other-envelope "$WORK/out/forged-from.eml" 1 'rule=partner mail must be signed .*550 5\.7\.1 '
envelope_case require-from-other-envelope-signed "$WORK/out/det-control.eml" 0 '250 '
# The same rule for one of two recipients (to = [alice]): the From header gives alice and bob
# different requirements after RCPT, when the sender can no longer split them. One message
# carries the stricter (a signature required): dave's signed mail is accepted for both (it was
# refused whole with "send them separately"), the forged unsigned one refused for both.
sed 's/^from = \["\*@partner\.example"\]$/&\nto = ["alice@acme.example"]/' "$WORK/require.toml" >"$WORK/require-to.toml"
grep -q '^to = \["alice@acme.example"\]$' "$WORK/require-to.toml" || fatal spoof-setup "require-to.toml not written"
envelope_case require-from-some-recipients-signed "$WORK/out/det-control.eml" 0 'smime=pass .*250 ' \
  "$WORK/require-to.toml" alice@acme.example bob@acme.example
envelope_case require-from-some-recipients-forged "$WORK/out/forged-from.eml" 1 '550 5\.7\.1 the sender.s policy requires' \
  "$WORK/require-to.toml" alice@acme.example bob@acme.example
# A rule that only tags (on_missing = "tag") stays a tag: bob's default rule requires nothing,
# so its default on_missing (reject) does not make the combination refuse.
sed 's/^on_missing = "reject"$/on_missing = "tag"/' "$WORK/require-to.toml" >"$WORK/require-tag.toml"
envelope_case require-from-some-recipients-tagged "$WORK/out/forged-from.eml" 0 'rule=partner mail must be signed.*250 ' \
  "$WORK/require-tag.toml" alice@acme.example bob@acme.example

note "took $((SECONDS - T0)) s"
