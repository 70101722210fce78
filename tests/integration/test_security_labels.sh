#!/bin/bash
# ESS security labels end to end (PRODUCT §4.1, RFC 2634 §5.4, RFC 7444), offline through
# `ssmctl process` (the milter's own pipeline). Outbound: an SIO-Label :ess field and a rule
# default become the securityLabel signed attribute, byte for byte the DER OpenSSL's genconf
# makes, and the signature still verifies with openssl, gpgsm and NSS cmsutil; malformed or
# unknown labels and labels on unsigned mail are refused with 550 5.7.1. Inbound: labelled
# signatures made independently (DER built by python3 below, signature by `openssl dgst`, labels
# by `openssl asn1parse -genconf`; none of our encoder) are checked against the clearances;
# an uncleared recipient refuses clear mail (550 5.7.1) and has mail decrypted with our key
# held as received (no format oracle).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools openssl perl python3 softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token alice domain-signing
# Two mail lists (their keys on the token): every member of "cleared" may read class 2, one
# member of "mixed" may not.
issue_cert team team@acme.example rsa "digitalSignature, keyEncipherment" || fatal var-setup "issue team"
import_to_token team 20 --usage-sign --usage-decrypt
# boss's and intern's own keys (mail to them is decrypted with theirs, never with alice's) and
# the domain's (RFC 3183: it opens mail for every user of acme.example).
for who in boss intern domain-confidentiality-authority; do
  issue_cert "$who" "$who@acme.example" rsa "keyEncipherment" || fatal var-setup "issue $who"
done
import_to_token boss 21 --usage-decrypt
import_to_token intern 22 --usage-decrypt
import_to_token domain-confidentiality-authority 23 --usage-decrypt
export OPENSSL_CONF=/dev/null
M=$WORK/m
mkdir -p "$M" "$WORK/out" "$WORK/certs"

OURS=1.3.6.1.4.1.99999.1 PARTNER=1.3.6.1.4.1.88888.1 UNKNOWN=1.2.3.9
# --- labels as OpenSSL's genconf writes them (never our encoder) --------------------------------
genlabel() {  # genlabel NAME SECTION-BODY: $M/NAME.der
  printf 'asn1=SET:l\n[l]\n%s\n' "$2" >"$M/$1.cnf"
  openssl asn1parse -genconf "$M/$1.cnf" -out "$M/$1.der" >/dev/null || fatal var-setup "genconf $1"
}
genlabel ours2 "policy=OID:$OURS
class=INT:2
mark=PRINTABLESTRING:ACME RESTRICTED"
genlabel ours4 "policy=OID:$OURS
class=INT:4"
genlabel partner3 "policy=OID:$PARTNER
class=INT:3"
genlabel unknown1 "policy=OID:$UNKNOWN
class=INT:1"
# EquivalentLabels { unknown-policy label, our class-2 label }
printf 'asn1=SEQUENCE:eq\n[eq]\nl1=SET:a\nl2=SET:b\n[a]\npolicy=OID:%s\nclass=INT:1\n[b]\npolicy=OID:%s\nclass=INT:2\nmark=PRINTABLESTRING:ACME RESTRICTED\n' \
  "$UNKNOWN" "$OURS" >"$M/eq.cnf"
openssl asn1parse -genconf "$M/eq.cnf" -out "$M/eq.der" >/dev/null || fatal var-setup "genconf eq"
# our label for the partner domain carries the partner's form: SEQUENCE OF { partner class 3 }
printf 'asn1=SEQUENCE:eq\n[eq]\nl1=SET:a\n[a]\npolicy=OID:%s\nclass=INT:3\n' "$PARTNER" >"$M/eq-out.cnf"
openssl asn1parse -genconf "$M/eq-out.cnf" -out "$M/eq-out.der" >/dev/null || fatal var-setup "genconf eq-out"

RULES="[[rule]]
name = \"partner mail is labelled restricted by the domain\"
direction = \"outbound\"
to = [\"*@partner.example\"]
sign = \"domain\"
security_label = \"acme-restricted\"

[[rule]]
name = \"unsigned\"
direction = \"outbound\"
to = [\"*@plain.example\"]
sign = \"none\"

[[rule]]
name = \"carol gets encrypted mail\"
direction = \"outbound\"
to = [\"carol@acme.example\"]
sign = \"sender\"
encrypt = \"mandatory\"

[[rule]]
name = \"others are signed by the sender\"
direction = \"outbound\"
sign = \"sender\"

[[security_label]]
name = \"acme-restricted\"
policy = \"$OURS\"
classification = 2
privacy_mark = \"ACME RESTRICTED\"

[[security_label]]
name = \"acme-secret\"
policy = \"$OURS\"
classification = 4
marking = \"ACME SECRET\"

[[clearance]]
recipients = [\"intern@acme.example\"]
policy = \"$OURS\"
classifications = [0, 1]

[[clearance]]
recipients = [\"boss@acme.example\"]
policy = \"$OURS\"
classifications = [0, 1, 2, 3, 4]

[[clearance]]
recipients = [\"*@acme.example\"]
policy = \"$OURS\"
classifications = [0, 1, 2]

[[label_equivalence]]
policy = \"$PARTNER\"
classification = 3
label = \"acme-restricted\"
domains = [\"partner.example\"]

[[mail_list]]
address = \"cleared@acme.example\"
identity = \"team@acme.example\"
members = [\"alice@acme.example\", \"boss@acme.example\"]

[[mail_list]]
address = \"mixed@acme.example\"
identity = \"team@acme.example\"
members = [\"alice@acme.example\", \"intern@acme.example\"]"
for cfg in reject accept; do
  write_config "$WORK/$cfg.toml" socket="inet:1@127.0.0.1" rules="$RULES" pki='revocation = "off"' extra="[labels]
unknown_policy = \"$cfg\"

[directory]
cache = \"$WORK/cache-$cfg\"
static_certificates = \"$WORK/certs\"" || fatal var-setup "config $cfg"
done
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/reject.toml" >"$WORK/check.log" 2>&1 \
  || fatal config-check "ssm-milter -n: $(tail -n 3 "$WORK/check.log")"

# run DIR CASE FROM TO... : ssmctl process; sets RC, OUT, LOG.
run() {
  local dir=$1 cn=$2 from=$3 cfg=${CFG:-reject}; shift 3
  local to=(); for r in "$@"; do to+=(--to "$r"); done
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/$cfg.toml" process --direction "$dir" --from "$from" "${to[@]}" \
    <"$WORK/out/$cn.eml" >"$WORK/out/$cn.out" 2>"$WORK/out/$cn.err"
  RC=$? OUT=$WORK/out/$cn.out
  LOG=$(grep -E '^(decision|reply):' "$WORK/out/$cn.err" | tr '\n' ' ')
}
b64line() { base64 -w0 <"$1"; }

# The value of one signed attribute (OID) of a CMS ContentInfo (DER), hex; "" when absent.
cat >"$M/der.py" <<EOF
import sys
sys.path.insert(0, '$SSM_SRCDIR/tests/fixtures')
EOF
cat >>"$M/der.py" <<'EOF'
from der_build import tlv, children, oid
def signer_info(b):
    ci = children(b, *tlv(b, 0)[1:])
    sd = children(b, *tlv(b, ci[1][2])[1:])  # [0] EXPLICIT SignedData
    sis = children(b, sd[-1][2], sd[-1][3])
    return children(b, sis[0][2], sis[0][3])
if sys.argv[1] == 'attr':
    b = open(sys.argv[2], 'rb').read()
    for t, s, cs, ce in signer_info(b):
        if t != 0xa0: continue
        for at, a_s, acs, ace in children(b, cs, ce):
            parts = children(b, acs, ace)
            if b[parts[0][1]:parts[0][3]] == oid(sys.argv[3]):
                vals = children(b, parts[1][2], parts[1][3])
                print(b[vals[0][1]:vals[0][3]].hex())
EOF
attr_hex() { python3 "$M/der.py" attr "$1" "$2"; }

# --- outbound -------------------------------------------------------------------------------
SL=1.2.840.113549.1.9.16.2.2 EL=1.2.840.113549.1.9.16.2.9
out_mail() {  # out_mail CASE FROM TO [SIO-Label value]
  { printf 'From: %s\r\nTo: %s\r\nSubject: labelled %s\r\nMessage-ID: <%s@acme.example>\r\nMIME-Version: 1.0\r\n' "$2" "$3" "$1" "$1"
    [ -n "${4:-}" ] && printf 'SIO-Label: %s\r\n' "$4"
    printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nThe plans, %s.\r\n' "$1"; } >"$WORK/out/$1.eml"
}
# expect_labelled CASE LABEL.der SIGNER [EQ.der]: accepted, signed, the signature verifies with
# the peers and its securityLabel (and equivalentLabels) value is exactly the DER given.
expect_labelled() {
  local cn=$1 want=$2 signer=$3 eq=${4:-} d got peers=
  if [ "$RC" -ne 0 ]; then fail "$cn" "exit $RC: $LOG"; return; fi
  if ! verify_openssl "$OUT" "$signer"; then fail "$cn" "$PEER_DETAIL"; return; fi
  got=$(attr_hex "$SIGNED_CMS" "$SL")
  if [ "$got" != "$(xxd -p "$want" | tr -d '\n')" ]; then fail "$cn" "securityLabel $got, expected $(xxd -p "$want" | tr -d '\n')"; return; fi
  got=$(attr_hex "$SIGNED_CMS" "$EL")
  if [ -n "$eq" ] && [ "$got" != "$(xxd -p "$eq" | tr -d '\n')" ]; then fail "$cn" "equivalentLabels '$got'"; return; fi
  if [ -z "$eq" ] && [ -n "$got" ]; then fail "$cn" "unexpected equivalentLabels $got"; return; fi
  if ! openssl cms -cmsout -print -inform DER -in "$SIGNED_CMS" 2>/dev/null | grep -q "id-smime-aa-securityLabel"; then
    fail "$cn" "openssl cms -print shows no securityLabel"; return; fi
  if command -v gpgsm >/dev/null; then
    verify_gpgsm "$OUT" "$signer" || { fail "$cn" "gpgsm: $PEER_DETAIL"; return; }; peers+=" gpgsm"; fi
  if command -v cmsutil >/dev/null; then
    verify_cmsutil "$OUT" "$signer" || { fail "$cn" "cmsutil: $PEER_DETAIL"; return; }; peers+=" cmsutil"; fi
  if grep -qs '^SIO-Label' "${ORIG:-$WORK/out/$cn.eml}" && ! grep -q '^SIO-Label:' "$OUT"; then
    fail "$cn" "the SIO-Label field was taken out"; return; fi
  if ! grep -q "label_policy=$OURS" <<<"$LOG"; then fail "$cn" "log has no label: $LOG"; return; fi
  pass "$cn (openssl$peers)"
}
# expect_held CASE REGEX: a message decrypted with one of our keys whose labels refuse it: the
# refusal (REGEX, in the log) depends on what was decrypted, so the SMTP client sees the reply
# of any accepted message and the MTA holds it as received ([inbound] on_undecryptable, no
# format oracle: ssm-milter(8), Inbound decryption and oracles).
expect_held() {
  if [ "$RC" -ne 0 ] || ! grep -q 'action=hold ' <<<"$LOG" || ! grep -q 'reply: 250 ' <<<"$LOG"; then
    fail "$1" "exit $RC, expected a hold: $LOG"
  elif ! grep -Eq "hidden_reply=\"550 5\.7\.1.*$2" <<<"$LOG"; then fail "$1" "log: $LOG (expected /$2/)"
  elif ! grep -q '^X-SSM-Undecryptable: ' "$OUT" || ! grep -qi '^Content-Type: application/pkcs7-mime\|^Content-Type: multipart/signed' "$OUT" \
       || grep -q 'The partner figures' "$OUT"; then fail "$1" "not held as received"
  else pass "$1"; fi
}
expect_refused() {  # expect_refused CASE REGEX
  if [ "$RC" -ne 1 ]; then fail "$1" "exit $RC, expected a rejection: $LOG"
  elif ! grep -Eq "550 5\.7\.1.*$2" <<<"$LOG"; then fail "$1" "reply: $LOG (expected /$2/)"
  else pass "$1"; fi
}

out_mail out-header-ess alice@acme.example carol@other.example "marking=\"ACME SECRET\"; type=\":ess\"; label=\"$(b64line "$M/ours4.der")\""
run out out-header-ess alice@acme.example carol@other.example
expect_labelled out-header-ess "$M/ours4.der" alice@acme.example
out_mail out-marking alice@acme.example carol@other.example 'marking="ACME RESTRICTED"'
run out out-marking alice@acme.example carol@other.example
expect_labelled out-marking "$M/ours2.der" alice@acme.example
out_mail out-rule-default alice@acme.example dave@partner.example
run out out-rule-default alice@acme.example dave@partner.example
expect_labelled out-rule-default "$M/ours2.der" domain-signing-authority@acme.example "$M/eq-out.der"
# the header wins over the rule default
out_mail out-header-wins alice@acme.example dave@partner.example "type=\":ess\"; label=\"$(b64line "$M/ours4.der")\""
run out out-header-wins alice@acme.example dave@partner.example
expect_labelled out-header-wins "$M/ours4.der" domain-signing-authority@acme.example
# a sender-signed message without a label carries none
out_mail out-none alice@acme.example carol@other.example
run out out-none alice@acme.example carol@other.example
if [ "$RC" -ne 0 ] || ! verify_openssl "$OUT" alice@acme.example; then fail out-none "exit $RC: $LOG $PEER_DETAIL"
elif [ -n "$(attr_hex "$SIGNED_CMS" "$SL")" ]; then fail out-none "a label appeared"
else pass out-none; fi

# A labelled message that is encrypted is triple-wrapped (RFC 2634 §1.1): an outer signature
# carrying the label around the encryption (readable by mail guards and the partner's gateway;
# until 2026-12-01 the label was only inside the encryption), then sign-then-encrypt with header
# protection: the SIO-Label field travels inside the encryption, in the protected header of the
# signed entity whose signature carries the label too.
cp "$PKI/carol.cert.pem" "$WORK/certs/"
out_mail out-encrypted alice@acme.example carol@acme.example 'marking="ACME RESTRICTED"'
run out out-encrypted alice@acme.example carol@acme.example
if [ "$RC" -ne 0 ] || ! grep -q 'action=sign+encrypt+sign' <<<"$LOG"; then fail out-encrypted "exit $RC: $LOG"
elif ! verify_openssl "$OUT" alice@acme.example; then fail out-encrypted "outer signature: $PEER_DETAIL"
elif [ "$(attr_hex "$SIGNED_CMS" "$SL")" != "$(xxd -p "$M/ours2.der" | tr -d '\n')" ]; then fail out-encrypted "outer securityLabel $(attr_hex "$SIGNED_CMS" "$SL")"
elif ! grep -qi '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' "$VERIFIED_CONTENT"; then
  fail out-encrypted "the outer signature does not hold the encryption: $(grep -i '^Content-Type' "$VERIFIED_CONTENT")"
elif ! openssl cms -decrypt -in "$VERIFIED_CONTENT" -recip "$PKI/carol.cert.pem" -inkey "$PKI/carol.key.pem" -out "$M/hp.eml" 2>"$M/hp.log"; then
  fail out-encrypted "openssl cms -decrypt: $(tail -n 2 "$M/hp.log")"
elif ! grep -q '^SIO-Label: marking="ACME RESTRICTED"' "$M/hp.eml"; then fail out-encrypted "no SIO-Label inside the encryption"
elif ! verify_openssl "$M/hp.eml" alice@acme.example; then fail out-encrypted "inner signature: $PEER_DETAIL"
elif [ "$(attr_hex "$SIGNED_CMS" "$SL")" != "$(xxd -p "$M/ours2.der" | tr -d '\n')" ]; then fail out-encrypted "inner securityLabel $(attr_hex "$SIGNED_CMS" "$SL")"
else pass out-encrypted; fi

out_mail out-malformed alice@acme.example carol@other.example 'type=":ess"; label=AAAA'
run out out-malformed alice@acme.example carol@other.example
expect_refused out-malformed "malformed SIO-Label"
out_mail out-unknown-marking alice@acme.example carol@other.example 'marking="COSMIC TOP SECRET"'
run out out-unknown-marking alice@acme.example carol@other.example
expect_refused out-unknown-marking "unknown SIO-Label marking"
out_mail out-unsigned alice@acme.example bob@plain.example 'marking="ACME RESTRICTED"'
run out out-unsigned alice@acme.example bob@plain.example
expect_refused out-unsigned "the rule does not sign"
out_mail out-two-fields alice@acme.example carol@other.example 'marking="ACME RESTRICTED"'
perl -0pi -e 's/(SIO-Label: [^\r]*\r\n)/$1$1/' "$WORK/out/out-two-fields.eml"
run out out-two-fields alice@acme.example carol@other.example
expect_refused out-two-fields "more than one SIO-Label"
# the sender's own key is absent: bob@acme.example has no key and no domain fallback for other.test
out_mail out-xml alice@acme.example carol@other.example "type=\":xml\"; label=\"$(printf '<label/>' | base64 -w0)\""
run out out-xml alice@acme.example carol@other.example
expect_refused out-xml "only :ess labels"

# --- inbound: signatures made by python3 + openssl dgst -----------------------------------------
openssl x509 -in "$PKI/dave.cert.pem" -outform DER -out "$M/dave.der"
openssl x509 -in "$PKI/sub-ca.cert.pem" -outform DER -out "$M/sub-ca.der"
E=$M/entity
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nThe partner figures.\r\n' >"$E"
# in_mail CASE LABEL|- EQ|- [extra header]: multipart/signed from dave@partner.example.
# ENTITY (default $E): the signed entity.
in_mail() {
  local cn=$1 b="----=_lbl_$1" entity=${ENTITY:-$E}
  python3 "$SSM_SRCDIR/tests/fixtures/ess_sign.py" "$M/dave.der" "$M/sub-ca.der" "$entity" "$2" "$3" "$M/$cn.p7s" "$PKI/dave.key.pem" \
    || fatal var-setup "python signer $cn"
  { printf 'From: dave@partner.example\r\nTo: alice@acme.example\r\nSubject: inbound %s\r\nMessage-ID: <%s@partner.example>\r\nMIME-Version: 1.0\r\n' "$cn" "$cn"
    [ -n "${4:-}" ] && printf '%s\r\n' "$4"
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="%s"\r\n\r\n--%s\r\n' "$b" "$b"
    cat "$entity"; printf '\r\n--%s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$b"
    base64 "$M/$cn.p7s" | sed 's/$/\r/'; printf '\r\n--%s--\r\n' "$b"; } >"$WORK/out/$cn.eml"
}
sio_of() { perl -0ne 's/\r?\n[ \t]+/ /g; print "$1\n" while /^SIO-Label:[ \t]*([^\r\n]*)/mig' "$1"; }
# expect_delivered CASE LABEL.der|- MARKING: accepted, smime=pass, exactly one SIO-Label, made by
# the gateway, holding that label and marking (or none when LABEL is -).
expect_delivered() {
  local cn=$1 want=$2 mark=$3 got n
  if [ "$RC" -ne 0 ]; then fail "$cn" "exit $RC: $LOG"; return; fi
  grep -q 'smime=pass' <<<"$LOG" || { fail "$cn" "not smime=pass: $LOG"; return; }
  n=$(sio_of "$OUT" | wc -l)
  if [ "$want" = - ]; then
    [ "$n" -eq 0 ] && pass "$cn" || fail "$cn" "SIO-Label left: $(sio_of "$OUT")"; return
  fi
  [ "$n" -eq 1 ] || { fail "$cn" "$n SIO-Label fields: $(sio_of "$OUT")"; return; }
  got=$(sio_of "$OUT")
  if ! perl -e '$_=shift; my $l=""; $l.=$1 while /label(?:\*\d+)?="([^"]*)"/g; exit($l eq shift ? 0 : 1)' "$got" "$(b64line "$want")"; then
    fail "$cn" "SIO-Label $got does not carry $(b64line "$want")"; return; fi
  grep -qF "marking=\"$mark\"" <<<"$got" || { fail "$cn" "SIO-Label $got: marking is not $mark"; return; }
  pass "$cn"
}

in_mail in-cleared "$M/ours2.der" - 'SIO-Label: marking="UNCLASSIFIED"'
run in in-cleared dave@partner.example alice@acme.example
expect_delivered in-cleared "$M/ours2.der" "ACME RESTRICTED"
in_mail in-boss "$M/ours4.der" -
run in in-boss dave@partner.example boss@acme.example
expect_delivered in-boss "$M/ours4.der" "ACME SECRET"
run in in-boss dave@partner.example boss@acme.example alice@acme.example
expect_refused in-uncleared "recipient alice@acme.example is not cleared.*classification 4 of policy $OURS"
run in in-boss dave@partner.example ghost@elsewhere.example
expect_refused in-no-clearance "recipient ghost@elsewhere.example is not cleared.*no \\[\\[clearance\\]\\] for policy $OURS"
in_mail in-partner-mapped "$M/partner3.der" -
run in in-partner-mapped dave@partner.example alice@acme.example
expect_delivered in-partner-mapped "$M/ours2.der" "ACME RESTRICTED"
in_mail in-equivalent-attr "$M/unknown1.der" "$M/eq.der"
run in in-equivalent-attr dave@partner.example alice@acme.example
expect_delivered in-equivalent-attr "$M/ours2.der" "ACME RESTRICTED"
in_mail in-unknown "$M/unknown1.der" -
run in in-unknown dave@partner.example alice@acme.example
expect_refused in-unknown-rejected "policy $UNKNOWN is not known"
CFG=accept run in in-unknown dave@partner.example alice@acme.example
if [ "$RC" -ne 0 ]; then fail in-unknown-accepted "exit $RC: $LOG"
elif [ "$(sio_of "$OUT" | wc -l)" -ne 1 ]; then fail in-unknown-accepted "SIO-Label: $(sio_of "$OUT")"
else pass in-unknown-accepted; fi
in_mail in-unlabelled - - 'SIO-Label: marking="ACME SECRET"'
run in in-unlabelled dave@partner.example ghost@elsewhere.example
expect_delivered in-unlabelled-forged-removed - -
# an unsigned message with a forged SIO-Label: the field goes, nothing else changes
printf 'From: mallory@evil.example\r\nTo: alice@acme.example\r\nSubject: trust me\r\nSIO-Label: marking="ACME RESTRICTED"; type=":ess"; label="%s"\r\n\r\nhello\r\n' \
  "$(b64line "$M/ours2.der")" >"$WORK/out/in-forged.eml"
run in in-forged mallory@evil.example alice@acme.example
if [ "$RC" -ne 0 ]; then fail in-forged-unsigned "exit $RC: $LOG"
elif grep -qi '^SIO-Label' "$OUT"; then fail in-forged-unsigned "SIO-Label left in the delivered message"
else pass in-forged-unsigned; fi
# Mail to a mail list: its members are the recipients (found by BouncyCastle-made labels: list
# expansion skipped the clearance check, unknown_policy and the SIO-Label removal until
# 2026-12-01). Every member cleared: expanded, the gateway's SIO-Label only; one member not
# cleared, or a label of an unknown policy: refused, nobody gets it.
in_mail list-cleared "$M/ours2.der" - 'SIO-Label: marking="UNCLASSIFIED (forged)"'
run in list-cleared dave@partner.example cleared@acme.example
if [ "$RC" -eq 0 ] && grep -q 'action=expand' <<<"$LOG" && grep -q 'rcpt: +boss@acme.example' "$WORK/out/list-cleared.err"; then
  expect_delivered list-cleared "$M/ours2.der" "ACME RESTRICTED"
else fail list-cleared "exit $RC: $LOG"; fi
run in list-cleared dave@partner.example mixed@acme.example
expect_refused list-member-uncleared "recipient intern@acme.example is not cleared"
in_mail list-unknown "$M/unknown1.der" -
run in list-unknown dave@partner.example cleared@acme.example
expect_refused list-unknown-policy "policy $UNKNOWN is not known"
# Our own author's label on mail to a list (outbound): the list signs no author's label, so
# the label would be lost and the members (partners too) would get the mail unlabelled; until
# 2026-12-02 the SIO-Label field was just removed. Refused, as unsigned labelled mail is; a
# message whose own signature carries the label is expanded as before.
out_mail list-out-label alice@acme.example cleared@acme.example 'marking="ACME RESTRICTED"'
run out list-out-label alice@acme.example cleared@acme.example
expect_refused list-out-author-label-kept "security label cannot be applied"
in_mail list-out-signed "$M/ours2.der" - 'SIO-Label: marking="ACME RESTRICTED"'
run out list-out-signed dave@partner.example cleared@acme.example
if [ "$RC" -eq 0 ] && grep -q 'action=expand' <<<"$LOG"; then expect_delivered list-out-signed-label "$M/ours2.der" "ACME RESTRICTED"
else fail list-out-signed-label "exit $RC: $LOG"; fi
# a labelled signature that does not verify (content changed after signing) gives no label:
# delivered to a recipient no clearance names, without an SIO-Label
in_mail in-bad-signature "$M/ours4.der" -
perl -pi -e 's/The partner figures\./The partner FIGURES./' "$WORK/out/in-bad-signature.eml"
run in in-bad-signature dave@partner.example ghost@elsewhere.example
if [ "$RC" -ne 0 ]; then fail in-bad-signature "exit $RC: $LOG"
elif ! grep -q 'smime=fail' <<<"$LOG"; then fail in-bad-signature "not smime=fail: $LOG"
elif grep -qi '^SIO-Label' "$OUT" || grep -q 'label=' <<<"$LOG"; then fail in-bad-signature "a label was taken from a failed signature: $LOG"
else pass in-bad-signature; fi
# triple wrap (RFC 2634 §1.1): inner signature labelled restricted, encrypted to alice, outer
# signature labelled secret: both labels must clear every recipient.
entity_of() { perl -e 'local $/; my $m = <STDIN>; $m =~ s/\r?\n/\r\n/g; $m =~ s/^MIME-Version:[^\r]*\r\n//mi; print $m' <"$1" >"$2"; }
ENTITY=$E in_mail triple-inner "$M/ours2.der" -
perl -0pe 's/\A.*?\r\n(?=Content-Type: multipart\/signed)//s' "$WORK/out/triple-inner.eml" >"$M/inner.entity"
# (encrypted to each recipient it is sent to: a key opens mail only for its own recipients)
openssl cms -encrypt -binary -aes-256-cbc -in "$M/inner.entity" -out "$M/middle.smime" "$PKI/alice.cert.pem" \
  "$XPKI/boss.cert.pem" "$XPKI/intern.cert.pem" 2>"$M/enc.log" \
  || fatal var-setup "openssl cms -encrypt: $(tail -n 2 "$M/enc.log")"
entity_of "$M/middle.smime" "$M/middle.entity"
# the same entity encrypted to alice alone
openssl cms -encrypt -binary -aes-256-cbc -in "$M/inner.entity" -out "$M/alice.smime" "$PKI/alice.cert.pem" 2>"$M/enc.log" \
  || fatal var-setup "openssl cms -encrypt: $(tail -n 2 "$M/enc.log")"
entity_of "$M/alice.smime" "$M/alice.entity"
ENTITY=$M/middle.entity in_mail triple "$M/ours4.der" -
run in triple dave@partner.example alice@acme.example
if ! grep -q "decrypt" <<<"$LOG"; then fail triple-outer-label-uncleared "not decrypted: $LOG"
else expect_held triple-outer-label-uncleared "recipient alice@acme.example is not cleared.*classification 4"; fi
run in triple dave@partner.example boss@acme.example
if [ "$RC" -ne 0 ] || [ "$(grep -o 'smime=pass' <<<"$LOG" | wc -l)" -ne 2 ] || [ "$(sio_of "$OUT" | wc -l)" -ne 2 ]; then
  fail triple-both-labels "exit $RC: $LOG; SIO-Label: $(sio_of "$OUT")"
else pass triple-both-labels; fi
ENTITY=$M/middle.entity in_mail triple-plain-outer - -
run in triple-plain-outer dave@partner.example alice@acme.example
if [ "$RC" -ne 0 ] || ! grep -q "label_policy=$OURS label_class=2" <<<"$LOG" || [ "$(sio_of "$OUT" | wc -l)" -ne 1 ]; then
  fail triple-inner-label "exit $RC: $LOG"
else pass triple-inner-label; fi
run in triple-plain-outer dave@partner.example intern@acme.example
expect_held triple-inner-label-uncleared "recipient intern@acme.example is not cleared"
# The encryption of that message replayed by someone else (it is to alice's key on the token),
# to intern: until 2026-12-02 the gateway decrypted it whoever it was addressed to, and only
# the label inside kept intern from the content (and an IV flip that breaks the first line
# kept the label from being seen). A key opens mail only for the recipients it belongs to:
# intern gets the ciphertext, nothing is decrypted.
{ printf 'From: mallory@evil.example\r\nTo: intern@acme.example\r\nSubject: replayed\r\nMessage-ID: <replayed@evil.example>\r\nMIME-Version: 1.0\r\n'
  cat "$M/alice.entity"; } >"$WORK/out/replayed.eml"
# still_encrypted CASE: delivered as received, encrypted, nothing of the content in clear
still_encrypted() {
  if [ "$RC" -ne 0 ] || ! grep -q 'encrypted-for-another-recipient' <<<"$LOG" || grep -q 'decrypted=' <<<"$LOG"; then
    fail "$1" "exit $RC: $LOG"
  elif grep -q 'The partner figures' "$OUT" || ! grep -qi '^Content-Type: application/pkcs7-mime' "$OUT"; then
    fail "$1" "not delivered still encrypted"
  else pass "$1"; fi
}
run in replayed mallory@evil.example intern@acme.example
still_encrypted replayed-ciphertext-not-for-intern
run in replayed mallory@evil.example alice@acme.example intern@acme.example
still_encrypted replayed-ciphertext-alice-and-intern
# the IV of the AES-CBC content encryption flipped (the first decrypted line no longer parses)
python3 - "$M/alice.entity" "$M/flipped.entity" <<'PY'
import sys, base64, re
t = open(sys.argv[1], 'rb').read()
head, body = t.split(b'\r\n\r\n', 1)
der = bytearray(base64.b64decode(re.sub(rb'\s', b'', body)))
aes256cbc = bytes.fromhex('060960864801650304012a0410')  # the OID, then the IV's OCTET STRING header
i = der.find(aes256cbc)
assert i > 0, 'no AES-256-CBC IV'
der[i + len(aes256cbc)] ^= 0x01
b = base64.b64encode(bytes(der))
open(sys.argv[2], 'wb').write(head + b'\r\n\r\n' + b'\r\n'.join(b[j:j + 76] for j in range(0, len(b), 76)) + b'\r\n')
PY
{ printf 'From: mallory@evil.example\r\nTo: intern@acme.example\r\nSubject: flipped\r\nMessage-ID: <flipped@evil.example>\r\nMIME-Version: 1.0\r\n'
  cat "$M/flipped.entity"; } >"$WORK/out/flipped.eml"
run in flipped mallory@evil.example intern@acme.example
still_encrypted replayed-ciphertext-iv-flipped
if grep -q 'partner figures' "$OUT" || grep -qi 'SIO-Label\|multipart/signed' "$OUT"; then fail replayed-ciphertext-iv-flipped-no-plaintext "plaintext out"
else pass replayed-ciphertext-iv-flipped-no-plaintext; fi
# alice, whose key it is, still gets it decrypted (from anyone), without an SIO-Label from a
# signature that did not pass
run in replayed mallory@evil.example alice@acme.example
if [ "$RC" -ne 0 ] || ! grep -q 'smime=fail' <<<"$LOG" || ! grep -q "label_policy=$OURS label_class=2" <<<"$LOG"; then
  fail replayed-ciphertext-cleared "exit $RC: $LOG"
elif [ "$(sio_of "$OUT" | wc -l)" -ne 0 ]; then fail replayed-ciphertext-cleared "SIO-Label from a failed signature: $(sio_of "$OUT")"
else pass replayed-ciphertext-cleared; fi
# The same ciphertext under five signatures of the sender's own (they need not pass), to alice:
# the decryption then used the last layer the gateway follows, and the labelled signature
# inside was never looked at. What the gateway decrypted but could not look into is refused.
cp "$M/alice.entity" "$M/wrap0"
for i in 1 2 3 4 5; do
  openssl cms -sign -nodetach -binary -in "$M/wrap$((i - 1))" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" \
    -outform SMIME -out "$M/wrap$i.smime" 2>"$M/wrap.log" || fatal var-setup "wrap $i: $(tail -n 2 "$M/wrap.log")"
  entity_of "$M/wrap$i.smime" "$M/wrap$i"
done
{ printf 'From: mallory@evil.example\r\nTo: alice@acme.example\r\nSubject: wrapped\r\nMessage-ID: <wrapped@evil.example>\r\nMIME-Version: 1.0\r\n'
  cat "$M/wrap5"; } >"$WORK/out/wrapped.eml"
run in wrapped mallory@evil.example alice@acme.example
# (Held as received, like any message decrypted with our key whose content cannot be
# processed: the reply must not tell what the plaintext holds.)
if [ "$RC" -ne 0 ] || ! grep -q 'action=hold .*hidden_reply="554 5\.7\.1 the decrypted content holds more S/MIME layers' <<<"$LOG" \
   || grep -q 'The partner figures' "$OUT" 2>/dev/null || ! grep -q '^X-SSM-Undecryptable: ' "$OUT"; then
  fail wrapped-ciphertext-too-deep "exit $RC: $LOG"
else pass wrapped-ciphertext-too-deep; fi
# to intern it is not decrypted at all
run in wrapped mallory@evil.example intern@acme.example
if [ "$RC" -ne 0 ] || ! grep -q 'encrypted-for-another-recipient' <<<"$LOG" || grep -q 'The partner figures' "$OUT"; then
  fail wrapped-ciphertext-not-for-intern "exit $RC: $LOG"
else pass wrapped-ciphertext-not-for-intern; fi
# Gateway-to-gateway (RFC 3183): mail encrypted to the domain's key is decrypted for any user
# of the domain, one or several.
printf 'Content-Type: text/plain\r\n\r\nDomain mail for anyone at acme.\r\n' >"$M/domain.plain"
openssl cms -encrypt -binary -aes-256-cbc -in "$M/domain.plain" -out "$M/domain.smime" \
  "$XPKI/domain-confidentiality-authority.cert.pem" 2>"$M/enc.log" || fatal var-setup "openssl cms -encrypt: $(tail -n 2 "$M/enc.log")"
entity_of "$M/domain.smime" "$M/domain.entity"
{ printf 'From: dave@partner.example\r\nTo: intern@acme.example\r\nSubject: domain\r\nMessage-ID: <domain@partner.example>\r\nMIME-Version: 1.0\r\n'
  cat "$M/domain.entity"; } >"$WORK/out/domain.eml"
for to in intern@acme.example "alice@acme.example intern@acme.example"; do
  run in domain dave@partner.example $to
  if [ "$RC" -ne 0 ] || ! grep -q 'decrypted=' <<<"$LOG" || ! grep -q 'Domain mail for anyone' "$OUT"; then
    fail "domain-key-decrypted-for ${to// /,}" "exit $RC: $LOG"
  else pass "domain-key-decrypted-for ${to// /,}"; fi
done
# Mail to alice and intern encrypted to both their own keys: no one key belongs to both, and
# each one's own key opens it to the same content, so it is decrypted for both.
printf 'Content-Type: text/plain\r\n\r\nFor alice and intern alike.\r\n' >"$M/both.plain"
openssl cms -encrypt -binary -aes-256-cbc -in "$M/both.plain" -out "$M/both.smime" "$PKI/alice.cert.pem" \
  "$XPKI/intern.cert.pem" 2>"$M/enc.log" || fatal var-setup "openssl cms -encrypt: $(tail -n 2 "$M/enc.log")"
entity_of "$M/both.smime" "$M/both.entity"
{ printf 'From: dave@partner.example\r\nTo: alice@acme.example, intern@acme.example\r\nSubject: both\r\nMessage-ID: <both@partner.example>\r\nMIME-Version: 1.0\r\n'
  cat "$M/both.entity"; } >"$WORK/out/both.eml"
run in both dave@partner.example alice@acme.example intern@acme.example
if [ "$RC" -ne 0 ] || ! grep -q 'decrypted=' <<<"$LOG" || ! grep -q 'For alice and intern alike' "$OUT"; then
  fail own-keys-each-recipient-decrypted "exit $RC: $LOG"
else pass own-keys-each-recipient-decrypted; fi
# ... but not with boss added, whose key it does not name
run in both dave@partner.example alice@acme.example intern@acme.example boss@acme.example
still_encrypted own-keys-one-recipient-not-named
# alice's ciphertext with intern's RecipientInfo of another message spliced in: intern's key
# unwraps another content key, so nothing is decrypted for the two of them
printf 'Content-Type: text/plain\r\n\r\nSomething else for intern.\r\n' >"$M/other.plain"
openssl cms -encrypt -binary -aes-256-cbc -in "$M/other.plain" -outform DER -out "$M/other.der" \
  "$XPKI/intern.cert.pem" 2>"$M/enc.log" || fatal var-setup "openssl cms -encrypt: $(tail -n 2 "$M/enc.log")"
openssl cms -encrypt -binary -aes-256-cbc -in "$M/both.plain" -outform DER -out "$M/alice-only.der" \
  "$PKI/alice.cert.pem" 2>"$M/enc.log" || fatal var-setup "openssl cms -encrypt: $(tail -n 2 "$M/enc.log")"
python3 - "$M/alice-only.der" "$M/other.der" "$M/spliced.entity" "$SSM_SRCDIR/tests/fixtures" <<'PY'
import sys, base64
sys.path.insert(0, sys.argv[4])
from der_build import tlv, children, der
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
def fields(x):  # the fields of the EnvelopedData in ContentInfo [0]
    ci = children(x, *tlv(x, 0)[1:])
    return ci, children(x, *tlv(x, ci[1][2])[1:])
ci, fa = fields(a)
_, fb = fields(b)
ra = next(f for f in fa if f[0] == 0x31); rb = next(f for f in fb if f[0] == 0x31)
ris = der(0x31, a[ra[2]:ra[3]] + b[rb[2]:rb[3]])
env = der(0x30, b''.join(ris if f is ra else a[f[1]:f[3]] for f in fa))
out = base64.b64encode(der(0x30, a[ci[0][1]:ci[0][3]] + der(0xa0, env)))
open(sys.argv[3], 'wb').write(b'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n'
    b'Content-Transfer-Encoding: base64\r\n\r\n' + b'\r\n'.join(out[j:j + 76] for j in range(0, len(out), 76)) + b'\r\n')
PY
{ printf 'From: mallory@evil.example\r\nTo: alice@acme.example, intern@acme.example\r\nSubject: spliced\r\nMessage-ID: <spliced@evil.example>\r\nMIME-Version: 1.0\r\n'
  cat "$M/spliced.entity"; } >"$WORK/out/spliced.eml"
run in spliced mallory@evil.example alice@acme.example intern@acme.example
if grep -q 'decrypted=' <<<"$LOG" || grep -q 'For alice and intern alike' "$OUT" 2>/dev/null; then
  fail spliced-recipient-info-not-decrypted "exit $RC: $LOG"
else pass spliced-recipient-info-not-decrypted; fi
# our own outbound output, received back: its label clears alice (restricted) but not ghost
cp "$WORK/out/out-marking.out" "$WORK/out/in-ours.eml"
cp "$PKI/alice.cert.pem" "$WORK/certs/" 2>/dev/null
run in in-ours alice@acme.example alice@acme.example
if [ "$RC" -ne 0 ] || ! grep -q "label_policy=$OURS label_class=2" <<<"$LOG"; then fail in-own-output "exit $RC: $LOG"
else pass in-own-output; fi

# --- the same through a real Postfix with the milter ---------------------------------------------
if ! command -v postfix >/dev/null || ! command -v swaks >/dev/null || ! command -v smtp-sink >/dev/null; then
  fail postfix "postfix, swaks or smtp-sink missing (a required tool: run scripts/install-deps.sh)"
else
  start_sink || fatal postfix-setup "smtp-sink did not start"
  SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port)
  start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal postfix-setup "Postfix did not start"
  # milter_with DIRECTION: the reject configuration on the milter port; inbound: the client
  # (127.0.0.1) is no internal network.
  milter_with() {
    stop_milter
    sed -e "s|^socket = .*|socket = \"inet:$MILTER_PORT@127.0.0.1\"|" "$WORK/reject.toml" >"$WORK/pf-$1.toml"
    [ "$1" = in ] && sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/pf-$1.toml"
    start_milter "$WORK/pf-$1.toml" || fatal "postfix-milter-$1" "ssm-milter did not start: $(tail -n 3 "$WORK/milter.log" | tr '\n' ' ')"
  }
  # delivered MESSAGE-ID OUT: the sink's copy of that message, or failure.
  delivered() {
    local f
    wait_for_delivery "$1" 30 || return 1
    f=$(grep -l "^Message-ID: <$2@" $(sink_files) 2>/dev/null | head -n 1)
    [ -n "$f" ] && sink_message "$f" "$3"
  }
  milter_with out
  n=0
  if send_mail "$SMTPD_PORT" alice@acme.example dave@partner.example "$WORK/out/out-rule-default.eml" \
     && delivered $((n += 1)) out-rule-default "$WORK/out/pf-out.eml"; then
    OUT=$WORK/out/pf-out.eml RC=0 LOG="$(grep -o 'label_policy=[^ ]* label_class=[0-9]*' "$WORK/milter.log" | tail -n 1)"
    ORIG=$WORK/out/out-rule-default.eml expect_labelled postfix-out-rule-default "$M/ours2.der" domain-signing-authority@acme.example "$M/eq-out.der"
  else fail postfix-out-rule-default "not delivered: $SMTP_REPLY"; fi
  send_mail "$SMTPD_PORT" alice@acme.example carol@other.example "$WORK/out/out-unknown-marking.eml"
  if [[ $SMTP_REPLY == 550*5.7.1*"unknown SIO-Label marking"* ]]; then pass postfix-out-unknown-marking
  else fail postfix-out-unknown-marking "reply: $SMTP_REPLY"; fi
  milter_with in
  send_mail "$SMTPD_PORT" dave@partner.example alice@acme.example "$WORK/out/in-boss.eml"
  if [[ $SMTP_REPLY == 550*5.7.1*"alice@acme.example is not cleared"* ]]; then pass postfix-in-uncleared
  else fail postfix-in-uncleared "reply: $SMTP_REPLY"; fi
  if send_mail "$SMTPD_PORT" dave@partner.example alice@acme.example "$WORK/out/in-cleared.eml" \
     && delivered $((n += 1)) in-cleared "$WORK/out/pf-in.eml"; then
    OUT=$WORK/out/pf-in.eml RC=0 LOG="smime=pass"
    grep -q '^Authentication-Results: mx.acme.example;' "$OUT" || LOG="no A-R"
    expect_delivered postfix-in-cleared "$M/ours2.der" "ACME RESTRICTED"
  else fail postfix-in-cleared "not delivered: $SMTP_REPLY"; fi
  # The replayed ciphertext for alice: decrypted for alice, delivered still encrypted to
  # intern (alone or beside alice), and its IV-flipped form too.
  # pf_replay CASE FILE TO: sends a copy of FILE with the Message-ID CASE@evil.example; sets OUT.
  pf_replay() {
    sed "s/^Message-ID: <[^@]*@/Message-ID: <$1@/" "$2" >"$WORK/out/$1.eml"
    OUT=$WORK/out/pf-$1.eml
    send_mail "$SMTPD_PORT" mallory@evil.example "$3" "$WORK/out/$1.eml" && delivered $((n += 1)) "$1" "$OUT"
  }
  # pf_still_encrypted CASE TO [FILE]: delivered, encrypted, not a word of the content in clear
  pf_still_encrypted() {
    local before
    before=$(grep -c 'encrypted-for-another-recipient' "$WORK/milter.log")
    if ! pf_replay "$1" "${3:-$WORK/out/replayed.eml}" "$2"; then fail "$1" "not delivered: $SMTP_REPLY"
    elif grep -q 'partner figures' "$OUT" || ! grep -qi '^Content-Type: application/pkcs7-mime' "$OUT"; then
      fail "$1" "not delivered still encrypted"
    elif [ "$(grep -c 'encrypted-for-another-recipient' "$WORK/milter.log")" -le "$before" ]; then
      fail "$1" "no encrypted-for-another-recipient in the log"
    else pass "$1"; fi
  }
  if pf_replay postfix-replayed-alice "$WORK/out/replayed.eml" alice@acme.example \
     && grep -q 'The partner figures' "$OUT" && ! grep -qi '^Content-Type: application/pkcs7-mime' "$OUT"; then
    pass postfix-replayed-alice-decrypted
  else fail postfix-replayed-alice-decrypted "reply: $SMTP_REPLY"; fi
  pf_still_encrypted postfix-replayed-intern intern@acme.example
  pf_still_encrypted postfix-replayed-alice-and-intern alice@acme.example,intern@acme.example
  pf_still_encrypted postfix-replayed-iv-flipped intern@acme.example "$WORK/out/flipped.eml"
  if pf_replay postfix-domain-key "$WORK/out/domain.eml" alice@acme.example,intern@acme.example \
     && grep -q 'Domain mail for anyone' "$OUT"; then pass postfix-domain-key-decrypted
  else fail postfix-domain-key-decrypted "reply: $SMTP_REPLY"; fi
  stop_milter
fi
note "done"
