#!/bin/bash
# RFC 5913 Authority Clearance Constraints on the clearances in our recipients' own certificates
# ([labels] clearance_from_certificate): OpenSSL makes CA certificates carrying the extension
# id-pe-clearanceConstraints (1.3.6.1.5.5.7.1.21) and users under them whose certificates claim
# Clearance { ours, {unmarked, unclassified, restricted} } in subjectDirectoryAttributes; the
# users are imported into the token with their CA chain (ssmctl hsm import). A partner's
# signature labelled restricted or unclassified (tests/fixtures/ess_sign.py + openssl dgst):
#   ivy   under the ordinary issuing CA (no constraint)            restricted: delivered
#   gina  under a sub-CA permitting {unmarked, unclassified}, the sub-CA only on the token:
#                                                                  restricted: 550 5.7.1, unclassified: delivered
#   jade  issued directly by a trust anchor carrying the constraint  the same (the anchor counts)
#   hank  under a sub-CA whose constraint is an empty SEQUENCE     nothing granted, logged
#   kim   under a CA that leads to no trust anchor                 nothing granted, logged
# first offline through `ssmctl process`, then gina through Postfix + ssm-milter (550 vs 250).
. "$(dirname "$0")/lib.sh"
require_tools openssl python3 softhsm2-util pkcs11-tool perl
require_binaries
make_pki
make_token domain-signing
export OPENSSL_CONF=/dev/null
M=$WORK/m
mkdir -p "$M" "$WORK/out" "$WORK/trust"
OURS=1.3.6.1.4.1.99999.1

# --- certificates (OpenSSL only) ------------------------------------------------------------------
# ca NAME CN ISSUER|self CONSTRAINT-LINE...: NAME.key.pem, NAME.cert.pem; the lines go into the
# [ca] section (e.g. the constraint extension) with any sections they refer to.
ca() {
  local name=$1 cn=$2 issuer=$3; shift 3
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key.pem"
  openssl req -new -key "$name.key.pem" -out "$name.csr" -subj "/O=SSM Test/CN=$cn"
  printf '%s\n' '[ca]' 'basicConstraints = critical, CA:true' 'keyUsage = critical, keyCertSign, cRLSign' \
    'subjectKeyIdentifier = hash' "$@" >"$name.ext"
  if [ "$issuer" = self ]; then
    openssl x509 -req -in "$name.csr" -signkey "$name.key.pem" -days 3650 -extfile "$name.ext" -extensions ca \
      -out "$name.cert.pem"
  else
    openssl x509 -req -in "$name.csr" -CA "$issuer.cert.pem" -CAkey "$issuer.key.pem" -set_serial "0x$(openssl rand -hex 8)" \
      -days 3650 -extfile "$name.ext" -extensions ca -out "$name.cert.pem"
  fi
}
# user NAME ISSUER [CHAIN.pem]: NAME@acme.example claiming {0,1,2} of OURS; NAME.p12 with CHAIN.
user() {
  local name=$1 issuer=$2 chain=${3:-}
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key.pem"
  openssl req -new -key "$name.key.pem" -out "$name.csr" -subj "/O=SSM Test/CN=$name@acme.example"
  printf '%s\n' '[ee]' 'basicConstraints = critical, CA:false' 'keyUsage = critical, digitalSignature, keyEncipherment' \
    'extendedKeyUsage = emailProtection' "subjectAltName = email:$name@acme.example" '2.5.29.9 = ASN1:SEQUENCE:sda' \
    '[sda]' 'a1 = SEQUENCE:attr' '[attr]' 'type = OID:2.5.4.55' 'values = SET:vals' '[vals]' 'v1 = SEQUENCE:cl' \
    '[cl]' "policy = OID:$OURS" 'classes = FORMAT:BITLIST,BITSTRING:0,1,2' >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$issuer.cert.pem" -CAkey "$issuer.key.pem" -set_serial "0x$(openssl rand -hex 8)" \
    -days 3650 -extfile "$name.ext" -extensions ee -out "$name.cert.pem"
  openssl pkcs12 -export -inkey "$name.key.pem" -in "$name.cert.pem" ${chain:+-certfile "$chain"} -passout file:pw \
    -out "$name.p12"
}
CONSTRAINT=('1.3.6.1.5.5.7.1.21 = ASN1:SEQUENCE:acc' '[acc]' 'c1 = SEQUENCE:permit' '[permit]' "policy = OID:$OURS"
            'classes = FORMAT:BITLIST,BITSTRING:0,1')
(
  set -e; cd "$M"
  cp "$PKI/root-ca.cert.pem" "$PKI/root-ca.key.pem" "$PKI/sub-ca.cert.pem" "$PKI/sub-ca.key.pem" .
  echo pw-of-the-test >pw
  ca ucl-ca "SSM Test Unclassified CA" root-ca "${CONSTRAINT[@]}"
  ca bad-ca "SSM Test Broken Constraints CA" root-ca '1.3.6.1.5.5.7.1.21 = DER:3000'
  ca croot "SSM Test Constrained Root" self "${CONSTRAINT[@]}"
  ca lone-ca "SSM Test Untrusted CA" self
  user ivy sub-ca
  user gina ucl-ca ucl-ca.cert.pem
  user jade croot
  user hank bad-ca bad-ca.cert.pem
  user kim lone-ca lone-ca.cert.pem
) >"$WORK/pki.log" 2>&1 || fatal clearance-constraints-setup "certificates: $(tail -n 3 "$WORK/pki.log")"
openssl x509 -in "$M/ucl-ca.cert.pem" -noout -text | grep -q '1\.3\.6\.1\.5\.5\.7\.1\.21' \
  || fatal clearance-constraints-setup "openssl shows no clearance constraints in the sub-CA"
cp "$PKI/root-ca.cert.pem" "$M/croot.cert.pem" "$WORK/trust/"

LABELS="[labels]
clearance_from_certificate = true

[[security_label]]
name = \"acme-restricted\"
policy = \"$OURS\"
classification = 2
privacy_mark = \"ACME RESTRICTED\"

[[security_label]]
name = \"acme-unclassified\"
policy = \"$OURS\"
classification = 1
privacy_mark = \"ACME UNCLASSIFIED\""
write_config "$WORK/ssm.toml" socket="inet:1@127.0.0.1" pki='revocation = "off"' rules='[[rule]]
name = "others are signed by the sender"
direction = "outbound"
sign = "sender"' extra="$LABELS" || fatal clearance-constraints-setup "config"
# our trust anchors: the test root and the constrained root
sed -i "s|^trust_anchors = .*|trust_anchors = \"$WORK/trust\"|" "$WORK/ssm.toml"
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ssm.toml" >"$WORK/check.log" 2>&1 \
  || fatal clearance-constraints-setup "config check: $(tr '\n' ' ' <"$WORK/check.log")"
for u in ivy gina jade hank kim; do
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" hsm import "$M/$u.p12" --password-file "$M/pw" >>"$WORK/import.log" 2>&1 \
    || fatal clearance-constraints-setup "ssmctl hsm import $u: $(tail -n 3 "$WORK/import.log")"
done

# --- labelled messages from the partner -----------------------------------------------------------
openssl x509 -in "$PKI/dave.cert.pem" -outform DER -out "$M/dave.der"
openssl x509 -in "$PKI/sub-ca.cert.pem" -outform DER -out "$M/sub-ca.der"
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nThe partner figures.\r\n' >"$M/entity"
for class in 1 2; do
  printf 'asn1=SET:l\n[l]\npolicy=OID:%s\nclass=INT:%s\n' "$OURS" "$class" >"$M/label$class.cnf"
  openssl asn1parse -genconf "$M/label$class.cnf" -out "$M/label$class.der" >/dev/null \
    && python3 "$SSM_SRCDIR/tests/fixtures/ess_sign.py" "$M/dave.der" "$M/sub-ca.der" "$M/entity" "$M/label$class.der" - \
         "$M/sig$class.p7s" "$PKI/dave.key.pem" || fatal clearance-constraints-setup "label $class"
  B=----=_constraints
  { printf 'From: dave@partner.example\r\nTo: someone@acme.example\r\nSubject: labelled %s\r\nMessage-ID: <constraints%s@partner.example>\r\nMIME-Version: 1.0\r\n' "$class" "$class"
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="%s"\r\n\r\n--%s\r\n' "$B" "$B"
    cat "$M/entity"; printf '\r\n--%s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$B"
    base64 "$M/sig$class.p7s" | sed 's/$/\r/'; printf '\r\n--%s--\r\n' "$B"; } >"$WORK/label$class.eml"
done

# run CASE CLASS TO: ssmctl process inbound; sets RC, ERR (all stderr), LOG (decision and reply).
run() {
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" process --direction in --from dave@partner.example --to "$3" \
    <"$WORK/label$2.eml" >"$WORK/out/$1.out" 2>"$WORK/out/$1.err"
  RC=$? ERR=$WORK/out/$1.err
  LOG=$(grep -E '^(decision|reply):' "$ERR" | tr '\n' ' ')
}
expect() {  # expect CASE RC REGEX [LOG-REGEX]: exit code, reply/decision, and a log line
  if [ "$RC" -ne "$2" ]; then fail "$1" "exit $RC (expected $2): $LOG"
  elif ! grep -Eq "$3" <<<"$LOG"; then fail "$1" "reply: $LOG (expected /$3/)"
  elif [ -n "${4:-}" ] && ! grep -Eq "$4" "$ERR"; then fail "$1" "no log line /$4/: $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
  else pass "$1"; fi
}
NOT='550 5\.7\.1 recipient'
run ivy 2 ivy@acme.example
expect clearance-constraints-unconstrained-ca-restricted 0 "smime=pass"
run gina-2 2 gina@acme.example
expect clearance-constraints-sub-ca-narrows-restricted-550 1 "$NOT gina@acme\.example is not cleared" \
  "clearance-constrained.*gina@acme\.example.*claimed=1.*kept=1"
run gina-1 1 gina@acme.example
expect clearance-constraints-sub-ca-permits-unclassified 0 "smime=pass"
run jade-2 2 jade@acme.example
expect clearance-constraints-anchor-narrows-restricted-550 1 "$NOT jade@acme\.example is not cleared"
run jade-1 1 jade@acme.example
expect clearance-constraints-anchor-permits-unclassified 0 "smime=pass"
run hank 1 hank@acme.example
expect clearance-constraints-undecodable-extension-grants-nothing 1 "$NOT hank@acme\.example is not cleared.*cannot be read" \
  "clearance-unreadable.*hank@acme\.example.*SSM Test Broken Constraints CA.*empty"
run kim 1 kim@acme.example
expect clearance-constraints-no-path-grants-nothing 1 "$NOT kim@acme\.example is not cleared.*cannot be read" \
  "clearance-unreadable.*kim@acme\.example.*no valid certification path"

# --- through Postfix + ssm-milter -----------------------------------------------------------------
if ! command -v postfix >/dev/null || ! command -v swaks >/dev/null || ! command -v smtp-sink >/dev/null; then
  fail clearance-constraints-postfix "postfix, swaks or smtp-sink missing (a required tool: run scripts/install-deps.sh)"
else
  start_sink || fatal clearance-constraints-setup "smtp-sink did not start"
  SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port)
  # inbound: the client (127.0.0.1) is no internal network
  sed -e "s|^socket = .*|socket = \"inet:$MILTER_PORT@127.0.0.1\"|" \
      -e 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/ssm.toml" >"$WORK/pf.toml"
  start_milter "$WORK/pf.toml" || fatal clearance-constraints-setup "ssm-milter did not start"
  start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal clearance-constraints-setup "Postfix did not start"
  send_mail "$SMTPD_PORT" dave@partner.example gina@acme.example "$WORK/label2.eml"
  case $SMTP_REPLY in
    550*5.7.1*gina@acme.example*) pass clearance-constraints-postfix-restricted-550 ;;
    *) fail clearance-constraints-postfix-restricted-550 "reply '$SMTP_REPLY'" ;;
  esac
  if send_mail "$SMTPD_PORT" dave@partner.example gina@acme.example "$WORK/label1.eml" && wait_for_delivery 1 30 \
     && grep -q '^SIO-Label:.*ACME UNCLASSIFIED' $(sink_files); then
    pass clearance-constraints-postfix-unclassified-250
  else fail clearance-constraints-postfix-unclassified-250 "reply '$SMTP_REPLY', $(sink_count) delivered"; fi
  stop_milter
fi
exit $((_ssm_failures > 0))
