#!/bin/bash
# Trust anchors bound to mail domains ([[pki.anchor]], ssm-milter.toml(5) [pki]) through the
# real daemon, driven by tests/integration/milter_client.py as the MTA (no Postfix needed). A
# partner's root is trusted for partner.example only; the partner CA (mis)issues certificates
# for ceo@acme.example (our own domain) and carol@other.example (another partner's). Shows:
#   scope-config-error          a binding that names no loaded anchor: file:line:column, exit 78
#   scope-inbound-own-domain    mail From ceo@acme.example signed with the partner's certificate
#                               for it is not trusted for that sender ("anchor not trusted for domain")
#   scope-inbound-partner       the same root's certificate for bob@partner.example passes
#   scope-process               ssmctl process judges the ceo message alike
#   scope-two-authors           From bob@partner.example, ceo@acme.example signed with a partner
#                               certificate naming both: not a pass (the root vouches for bob only)
#   scope-two-from-fields       bob's signed message with a second From field, ceo@acme.example:
#                               not a pass (a mail client may show the second)
#   scope-harvest-not           ... and the ceo certificate was not harvested
#   scope-harvest-partner       ... while bob's was
#   scope-outbound-refused      mandatory encryption to carol@other.example, whose only certificate
#                               (static folder) is the partner's: refused, no usable certificate
#   scope-outbound-partner      mandatory encryption to bob@partner.example: encrypted (harvested)
#   scope-lookup-reason         ssmctl cert lookup carol@other.example names the reason
. "$(dirname "$0")/lib.sh"
require_tools python3 openssl softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token
export OPENSSL_CONF=/dev/null
CLIENT=$SSM_SRCDIR/tests/integration/milter_client.py
P=$WORK/partner; mkdir -p "$P" "$WORK/trust" "$WORK/certs" "$WORK/out"
(
  set -e; cd "$P"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 3650 -subj "/O=Partner/CN=Partner Root CA" \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectKeyIdentifier=hash"
  for who in ceo@acme.example bob@partner.example carol@other.example both@partner.example; do
    n=${who%@*}
    san="email:$who"
    # "both": the partner's address first, then one of ours (a misissue riding on a real name).
    [ "$n" = both ] && san="email:bob@partner.example,email:ceo@acme.example"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$n.key"
    printf '[ee]\nbasicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = emailProtection\nsubjectAltName = %s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' "$san" >"$n.ext"
    openssl req -new -key "$n.key" -subj "/O=Partner/CN=$who" -out "$n.csr"
    openssl x509 -req -in "$n.csr" -CA root.pem -CAkey root.key -set_serial "0x$(openssl rand -hex 8)" -days 365 \
      -extfile "$n.ext" -extensions ee -out "$n.pem"
  done
  printf 'Content-Type: text/plain\r\n\r\nhello\r\n' >inner.txt
  for who in ceo@acme.example bob@partner.example both@partner.example; do
    n=${who%@*}
    from=$who
    [ "$n" = both ] && from="bob@partner.example, ceo@acme.example"
    openssl cms -sign -in inner.txt -signer "$n.pem" -inkey "$n.key" -nodetach -out "$n.signed"
    { printf 'From: %s\r\nTo: alice@acme.example\r\nSubject: from %s\r\n' "$from" "$n"; cat "$n.signed"; } >"in-$n.eml"
  done
  for to in carol@other.example bob@partner.example; do
    printf 'From: alice@acme.example\r\nTo: %s\r\nSubject: secret\r\n\r\nCONFIDENTIAL LINE\r\n' "$to" >"out-${to%@*}.eml"
  done
) >"$WORK/setup.log" 2>&1 || fatal scope-setup "$(tail -n 3 "$WORK/setup.log")"
cp "$PKI"/trust/* "$WORK/trust/" && cp "$P/root.pem" "$WORK/trust/partner-root.pem" && cp "$P/carol.pem" "$WORK/certs/" \
  || fatal scope-setup "copying certificates"

MILTER_PORT=$(free_port)
# conf FILE CERTIFICATE: the daemon's configuration, the partner root bound by CERTIFICATE.
conf() {
  write_config "$1" port="$MILTER_PORT" pki='revocation = "off"
ocsp = false
crl_distribution_points = false

[[pki.anchor]]
certificate = "'"$2"'"
domains = ["partner.example", ".partner.example"]' rules='[[rule]]
name = "partner mail must be encrypted"
direction = "outbound"
to = ["*@partner.example", "*@other.example"]
sign = "none"
encrypt = "mandatory"' extra="[inbound]
harvest = true

[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" || return 1
  # The test's own trust folder; 127.0.0.1 (milter_client.py) is outside internal_networks, so a
  # listener other than ORIGINATING is inbound.
  sed -i -e "s#^trust_anchors = .*#trust_anchors = \"$WORK/trust\"#" \
    -e 's#^internal_networks = .*#internal_networks = ["10.0.0.0/8"]#' "$1"
}
conf "$WORK/bad.toml" partner-root.pm || fatal scope-setup "config"
line=$(grep -n '^\[\[pki.anchor\]\]' "$WORK/bad.toml" | cut -d: -f1)
out=$("$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/bad.toml" 2>&1); rc=$?
case $out in
  *"$WORK/bad.toml:$line:1: [[pki.anchor]]: certificate 'partner-root.pm' is no loaded trust anchor"*)
    [ "$rc" -eq 78 ] && pass scope-config-error || fail scope-config-error "exit $rc: $out" ;;
  *) fail scope-config-error "exit $rc: $out" ;;
esac

conf "$WORK/ssm.toml" partner-root.pem || fatal scope-setup "config"
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ssm.toml" >"$WORK/check.log" 2>&1 || fatal scope-setup "$(cat "$WORK/check.log")"
start_milter "$WORK/ssm.toml" || fatal scope-setup "ssm-milter did not start"
SOCKET=$(sed -n 's/^socket *= *"\(.*\)"[[:space:]]*$/\1/p' "$WORK/ssm.toml" | head -n 1)
ssmctl() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" "$@"; }

# --- inbound: our domain's address, then the partner's, each signed under the partner root -----
MILTER_DAEMON_NAME=MTA-IN python3 "$CLIENT" "$SOCKET" all "$WORK/out/in" "$P/in-ceo.eml" "$P/in-bob.eml" \
  >"$WORK/in.client" 2>&1 || fatal scope-inbound "milter_client: $(tail -n 2 "$WORK/in.client")"
ar() { perl -0ne 'while (/^Authentication-Results:(.*?)\r?\n(?![ \t])/msg) { my $v = $1; $v =~ s/\r?\n[ \t]+/ /g; print "$v\n" }' "$1"; }
ar "$WORK/out/in.1.eml" >"$WORK/ar1"; ar "$WORK/out/in.2.eml" >"$WORK/ar2"
grep -q 'smime=fail .*anchor not trusted for domain acme.example' "$WORK/ar1" && ! grep -q 'smime=pass' "$WORK/ar1" \
  && pass scope-inbound-own-domain || fail scope-inbound-own-domain "$(cat "$WORK/ar1")"
grep -q 'smime=pass' "$WORK/ar2" && pass scope-inbound-partner || fail scope-inbound-partner "$(cat "$WORK/ar2")"
# ssmctl process (the daemon's code path offline) judges it alike.
ssmctl process --direction in --from ceo@acme.example --to alice@acme.example <"$P/in-ceo.eml" \
  >"$WORK/p-ceo.eml" 2>"$WORK/p-ceo.err"
ar "$WORK/p-ceo.eml" | grep -q 'smime=fail .*anchor not trusted for domain acme.example' && pass scope-process \
  || fail scope-process "$(ar "$WORK/p-ceo.eml") $(tail -n 2 "$WORK/p-ceo.err")"
# Two authors, one certificate naming both: the root vouches for bob's domain, not ceo's.
ssmctl process --direction in --from bob@partner.example --to alice@acme.example <"$P/in-both.eml" \
  >"$WORK/p-both.eml" 2>"$WORK/p-both.err"
ar "$WORK/p-both.eml" >"$WORK/ar-both"
grep -q 'smime=fail .*anchor not trusted for domain acme.example' "$WORK/ar-both" && ! grep -q 'smime=pass' "$WORK/ar-both" \
  && pass scope-two-authors || fail scope-two-authors "$(cat "$WORK/ar-both") $(tail -n 2 "$WORK/p-both.err")"
{ printf 'From: bob@partner.example\r\nFrom: ceo@acme.example\r\n'; tail -n +2 "$P/in-bob.eml"; } >"$WORK/in-two-from.eml"
ssmctl process --direction in --from bob@partner.example --to alice@acme.example <"$WORK/in-two-from.eml" \
  >"$WORK/p-two-from.eml" 2>"$WORK/p-two-from.err"
ar "$WORK/p-two-from.eml" >"$WORK/ar-two-from"
grep -q 'smime=fail' "$WORK/ar-two-from" && ! grep -q 'smime=pass' "$WORK/ar-two-from" \
  && pass scope-two-from-fields || fail scope-two-from-fields "$(cat "$WORK/ar-two-from") $(tail -n 2 "$WORK/p-two-from.err")"
ssmctl cert lookup ceo@acme.example >"$WORK/l-ceo" 2>&1
grep -q '^ *candidate .*source="harvested"' "$WORK/l-ceo" && fail scope-harvest-not "$(grep harvested "$WORK/l-ceo" | head -n 1)" \
  || pass scope-harvest-not
ssmctl cert lookup bob@partner.example >"$WORK/l-bob" 2>&1
grep -q '^chosen .*source="harvested"' "$WORK/l-bob" && pass scope-harvest-partner \
  || fail scope-harvest-partner "$(tail -n 3 "$WORK/l-bob" | tr '\n' ' ')"

# --- outbound: the same root's certificates, for an address outside its domains and inside ----
python3 "$CLIENT" "$SOCKET" all "$WORK/out/out" "$P/out-carol.eml" "$P/out-bob.eml" \
  >"$WORK/out.client" 2>&1 || fatal scope-outbound "milter_client: $(tail -n 2 "$WORK/out.client")"
# The first message's answers come before the second's "mail" step.
first=$(awk '/^mail /{n++} n==1' "$WORK/out.client"); second=$(awk '/^mail /{n++} n==2' "$WORK/out.client")
printf '%s\n' "$first" \
  | grep -q '^rcpt reply:550 5.7.1 .*no usable certificate for carol@other.example .*anchor not trusted for domain other.example' \
  && pass scope-outbound-refused || fail scope-outbound-refused "$(printf '%s' "$first" | tr '\n' ' ')"
if printf '%s\n' "$second" | grep -q '^eom continue' && grep -qi 'application/pkcs7-mime' "$WORK/out/out.2.eml" \
   && ! grep -q 'CONFIDENTIAL' "$WORK/out/out.2.eml"; then
  pass scope-outbound-partner
else
  fail scope-outbound-partner "$(printf '%s' "$second" | tr '\n' ' ')"
fi
ssmctl cert lookup carol@other.example >"$WORK/l-carol" 2>&1
grep -q 'anchor not trusted for domain other.example' "$WORK/l-carol" && pass scope-lookup-reason \
  || fail scope-lookup-reason "$(tr '\n' ' ' <"$WORK/l-carol")"
