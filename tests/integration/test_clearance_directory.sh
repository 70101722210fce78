#!/bin/bash
# Recipient clearances from our own directory (PRODUCT §4.1, RFC 5755 §4.4.6): a real slapd
# holds people with Clearance values (DER made by `openssl asn1parse -genconf`, never by our
# encoder) in the attribute clearance (2.5.4.55; Octet String syntax here, as slapd 2.5 refuses
# the ;binary option for every syntax but certificates'); a partner's signature labelled restricted (made by
# tests/fixtures/ess_sign.py + openssl dgst) reaches cleared and uncleared recipients, first
# offline through `ssmctl process`, then through Postfix + ssm-milter: 250 vs 550 5.7.1; a
# matching [[clearance]] wins over the directory; the RFC 3281 syntax is read; a malformed value
# grants nothing and is logged; slapd stopped: 451 4.7.1 (the message waits, nobody gets it).
# With [labels] clearance_from_certificate the Clearance in the subjectDirectoryAttributes of
# the recipient's certificate on the token (made by openssl, imported with ssmctl hsm import)
# clears her; ssmctl clearance encode writes genconf's octets and lookup shows the values.
# Quoted local parts: "a..b"@acme.example is cleared by the entry whose mail is a..b@acme.example
# (the directory's spelling, EmailAddress::directory_form), and "a\\b"@acme.example (a
# backslash only the quotes can hold) by its entry written by `slapd.sh entry` byte for byte.
. "$(dirname "$0")/lib.sh"
require_tools openssl python3 slapd slapadd ldapsearch softhsm2-util pkcs11-tool perl
require_binaries
make_pki
make_token alice domain-signing
export OPENSSL_CONF=/dev/null
M=$WORK/m
mkdir -p "$M" "$WORK/out"
OURS=1.3.6.1.4.1.99999.1

# --- clearances as OpenSSL's genconf writes them ------------------------------------------------
genclearance() {  # genclearance NAME SECTION-BODY: $M/NAME.der
  printf 'asn1=SEQUENCE:c\n[c]\n%s\n' "$2" >"$M/$1.cnf"
  openssl asn1parse -genconf "$M/$1.cnf" -out "$M/$1.der" >/dev/null || fatal clearance-setup "genconf $1"
}
# unmarked, unclassified, restricted
genclearance restricted "policy=OID:$OURS
classes=FORMAT:BITLIST,BITSTRING:0,1,2"
# classList left out: its DEFAULT, unclassified only
genclearance default "policy=OID:$OURS"
# the RFC 3281 syntax (context tags), up to secret
genclearance rfc3281 "policy=IMPLICIT:0,OID:$OURS
classes=IMPLICIT:1,FORMAT:BITLIST,BITSTRING:0,1,2,3,4"
# not DER: the DEFAULT written out
genclearance explicit-default "policy=OID:$OURS
classes=FORMAT:BITLIST,BITSTRING:1"
# a restricted label
printf 'asn1=SET:l\n[l]\npolicy=OID:%s\nclass=INT:2\n' "$OURS" >"$M/label.cnf"
openssl asn1parse -genconf "$M/label.cnf" -out "$M/label.der" >/dev/null || fatal clearance-setup "genconf label"
[ "$(xxd -p "$M/default.der")" = "300b06092b0601040186" ] && fatal clearance-setup "genconf wrote something else"

# --- the directory ------------------------------------------------------------------------------
export SLAPD_SUFFIX=dc=acme,dc=example
export SLAPD_EXTRA_GLOBAL="attributetype ( 2.5.4.55 NAME 'clearance' DESC 'RFC 5755 Clearance' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )"
BACKSLASH='"a\\b"@acme.example'  # RFC 5321 spelling: the backslash as a quoted-pair
person() {  # person ADDRESS [CLEARANCE.der...]
  local a=$1 f; shift
  sh "$SLAPD" entry "$a" | sed '/^$/d'
  if [ $# -gt 0 ]; then
    echo "objectClass: extensibleObject"
    for f in "$@"; do echo "clearance:: $(base64 -w0 "$f")"; done
  fi
  echo
}
{
  person alice@acme.example "$M/restricted.der"
  person carol@acme.example "$M/default.der"
  person boss@acme.example "$M/rfc3281.der"
  person intern@acme.example "$M/restricted.der"
  person mallory@acme.example "$M/explicit-default.der"
  person nobody@acme.example
  person a..b@acme.example "$M/restricted.der"
  person "$BACKSLASH" "$M/restricted.der"
} >"$WORK/people.ldif"
start_slapd clearance-setup "$WORK/people.ldif"

write_config "$WORK/ssm.toml" socket="inet:1@127.0.0.1" pki='revocation = "off"' rules='[[rule]]
name = "others are signed by the sender"
direction = "outbound"
sign = "sender"' extra="[labels]
clearance_attribute = \"clearance\"

[[security_label]]
name = \"acme-restricted\"
policy = \"$OURS\"
classification = 2
privacy_mark = \"ACME RESTRICTED\"

# the configuration wins over the directory for the intern
[[clearance]]
recipients = [\"intern@acme.example\"]
policy = \"$OURS\"
classifications = [0, 1]

[directory]
cache = \"$WORK/cache\"

[directory.groups]
servers = [\"ldap://127.0.0.1:$LDAP_PORT\"]
user_base = \"ou=people,$SLAPD_SUFFIX\"
timeout = \"2s\"
cache_ttl = \"0s\"" || fatal clearance-setup "config"
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ssm.toml" >"$WORK/check.log" 2>&1 \
  && ! grep -qi 'not yet in force' "$WORK/check.log" && pass clearance-config \
  || fatal clearance-config "$(tr '\n' ' ' <"$WORK/check.log")"

# --- a labelled message from the partner --------------------------------------------------------
openssl x509 -in "$PKI/dave.cert.pem" -outform DER -out "$M/dave.der"
openssl x509 -in "$PKI/sub-ca.cert.pem" -outform DER -out "$M/sub-ca.der"
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nThe partner figures.\r\n' >"$M/entity"
python3 "$SSM_SRCDIR/tests/fixtures/ess_sign.py" "$M/dave.der" "$M/sub-ca.der" "$M/entity" "$M/label.der" - \
  "$M/sig.p7s" "$PKI/dave.key.pem" || fatal clearance-setup "ess_sign.py"
B=----=_clearance
{ printf 'From: dave@partner.example\r\nTo: alice@acme.example\r\nSubject: labelled\r\nMessage-ID: <clearance@partner.example>\r\nMIME-Version: 1.0\r\n'
  printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="%s"\r\n\r\n--%s\r\n' "$B" "$B"
  cat "$M/entity"; printf '\r\n--%s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n' "$B"
  base64 "$M/sig.p7s" | sed 's/$/\r/'; printf '\r\n--%s--\r\n' "$B"; } >"$WORK/labelled.eml"

# run CASE TO...: ssmctl process inbound ($CFG, default ssm); sets RC, OUT, LOG (decision and
# reply), ERR (all stderr).
run() {
  local cn=$1; shift
  local to=(); for r in "$@"; do to+=(--to "$r"); done
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/${CFG:-ssm}.toml" process --direction in --from dave@partner.example "${to[@]}" \
    <"$WORK/labelled.eml" >"$WORK/out/$cn.out" 2>"$WORK/out/$cn.err"
  RC=$? OUT=$WORK/out/$cn.out ERR=$WORK/out/$cn.err
  LOG=$(grep -E '^(decision|reply):' "$ERR" | tr '\n' ' ')
}
expect() {  # expect CASE RC REGEX: exit code and a reply/decision matching REGEX
  if [ "$RC" -ne "$2" ]; then fail "$1" "exit $RC (expected $2): $LOG"
  elif ! grep -Eq "$3" <<<"$LOG"; then fail "$1" "reply: $LOG (expected /$3/)"
  else pass "$1"; fi
}

run cleared alice@acme.example
if [ "$RC" -ne 0 ] || ! grep -q 'smime=pass' <<<"$LOG"; then fail clearance-directory-cleared "exit $RC: $LOG"
elif ! grep -q '^SIO-Label:.*ACME RESTRICTED' "$OUT"; then fail clearance-directory-cleared "no SIO-Label in the delivered message"
else pass clearance-directory-cleared; fi
run default-class-list carol@acme.example
expect clearance-directory-default-classlist-uncleared 1 "550 5\.7\.1 recipient carol@acme.example is not cleared.*directory: classification 2"
run one-uncleared alice@acme.example carol@acme.example
expect clearance-directory-one-uncleared-refuses-all 1 "550 5\.7\.1 recipient carol@acme.example is not cleared"
run rfc3281 boss@acme.example
expect clearance-directory-rfc3281-syntax 0 "smime=pass"
run config-wins intern@acme.example
expect clearance-config-wins-over-directory 1 "550 5\.7\.1 recipient intern@acme.example is not cleared.*classification 2 of policy $OURS is not in its clearance"
run no-value nobody@acme.example
expect clearance-directory-no-value 1 "550 5\.7\.1 recipient nobody@acme.example is not cleared.*neither a \[\[clearance\]\] nor its directory entry"
run no-entry ghost@acme.example
expect clearance-directory-no-entry 1 "550 5\.7\.1 recipient ghost@acme.example is not cleared"
run quoted-dots '"a..b"@acme.example'
expect clearance-directory-quoted-local-part 0 "smime=pass"
run quoted-backslash "$BACKSLASH"
expect clearance-directory-quoted-backslash 0 "smime=pass"
run malformed mallory@acme.example
if [ "$RC" -ne 1 ] || ! grep -q "550 5.7.1 recipient mallory@acme.example is not cleared.*cannot be read" <<<"$LOG"; then
  fail clearance-directory-malformed "exit $RC: $LOG"
elif ! grep -q 'clearance-unreadable.*cn=mallory@acme.example.*DEFAULT' "$ERR"; then
  fail clearance-directory-malformed "no clearance-unreadable log line: $(tr '\n' ' ' <"$ERR" | cut -c1-400)"
else pass clearance-directory-malformed; fi

# --- the clearance in the recipient's own certificate (subjectDirectoryAttributes) ---------------
# frida@acme.example: no directory entry; her certificate on the token carries
# Clearance { OURS, {unmarked, unclassified, restricted} } in extension 2.5.29.9.
(
  set -e; cd "$M"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out frida.key.pem
  openssl req -new -key frida.key.pem -out frida.csr -subj "/O=SSM Test/CN=frida@acme.example"
  printf '%s\n' '[ee]' 'basicConstraints = critical, CA:false' 'keyUsage = critical, digitalSignature, keyEncipherment' \
    'extendedKeyUsage = emailProtection' 'subjectAltName = email:frida@acme.example' '2.5.29.9 = ASN1:SEQUENCE:sda' \
    '[sda]' 'a1 = SEQUENCE:attr' '[attr]' 'type = OID:2.5.4.55' 'values = SET:vals' '[vals]' 'v1 = SEQUENCE:cl' \
    '[cl]' "policy = OID:$OURS" 'classes = FORMAT:BITLIST,BITSTRING:0,1,2' >frida.ext
  openssl x509 -req -in frida.csr -CA "$PKI/sub-ca.cert.pem" -CAkey "$PKI/sub-ca.key.pem" -set_serial 0x5ca1ab1e \
    -days 3650 -extfile frida.ext -extensions ee -out frida.cert.pem
  echo frida-pw >pw
  openssl pkcs12 -export -inkey frida.key.pem -in frida.cert.pem -passout file:pw -out frida.p12
) >"$WORK/frida.log" 2>&1 || fatal clearance-setup "frida's certificate: $(tail -n 3 "$WORK/frida.log")"
openssl x509 -in "$M/frida.cert.pem" -noout -text | grep -q 'X509v3 Subject Directory Attributes' \
  || fatal clearance-setup "openssl shows no subjectDirectoryAttributes in frida's certificate"
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" hsm import "$M/frida.p12" --password-file "$M/pw" >"$WORK/frida-import.log" 2>&1 \
  || fatal clearance-setup "ssmctl hsm import: $(tail -n 3 "$WORK/frida-import.log")"
sed 's|^clearance_attribute = .*|&\nclearance_from_certificate = true|' "$WORK/ssm.toml" >"$WORK/cert.toml"
run cert-off frida@acme.example
expect clearance-certificate-not-read-by-default 1 "550 5\.7\.1 recipient frida@acme.example is not cleared"
CFG=cert run cert-on frida@acme.example
expect clearance-certificate-subject-directory-attributes 0 "smime=pass"
CFG=cert run cert-and-directory frida@acme.example alice@acme.example
expect clearance-certificate-and-directory 0 "smime=pass"
CFG=cert run cert-none carol@acme.example
expect clearance-certificate-absent-still-uncleared 1 "550 5\.7\.1 recipient carol@acme.example is not cleared"

# --- ssmctl clearance: encode gives OpenSSL's octets; lookup shows what the gateway sees ------
ctl() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" clearance "$@"; }
ok=1
ctl encode --policy "$OURS" --class 0 --class 1 --class 2 | cmp -s - "$M/restricted.der" || ok=0
ctl encode --policy "$OURS" | cmp -s - "$M/default.der" || ok=0
ctl encode --policy "$OURS" --class 1 | cmp -s - "$M/default.der" || ok=0  # the DEFAULT is left out
[ $ok = 1 ] && pass clearance-ssmctl-encode-matches-openssl || fail clearance-ssmctl-encode-matches-openssl "DER differs"
out=$(ctl lookup alice@acme.example 2>&1); rc=$?
[ $rc -eq 0 ] && grep -q "clearance address=alice@acme.example policy=$OURS classes=0,1,2 categories=- syntax=rfc5755" <<<"$out" \
  && pass clearance-ssmctl-lookup || fail clearance-ssmctl-lookup "rc=$rc: $out"
out=$(ctl lookup mallory@acme.example 2>/dev/null); rc=$?
[ $rc -eq 1 ] && grep -q "unreadable address=mallory@acme.example values=1" <<<"$out" \
  && pass clearance-ssmctl-lookup-unreadable || fail clearance-ssmctl-lookup-unreadable "rc=$rc: $out"

# --- through Postfix + ssm-milter -------------------------------------------------------------
if ! command -v postfix >/dev/null || ! command -v swaks >/dev/null || ! command -v smtp-sink >/dev/null; then
  fail clearance-postfix "postfix, swaks or smtp-sink missing (a required tool: run scripts/install-deps.sh)"
else
  start_sink || fatal clearance-setup "smtp-sink did not start"
  SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port)
  # inbound: the client (127.0.0.1) is no internal network
  sed -e "s|^socket = .*|socket = \"inet:$MILTER_PORT@127.0.0.1\"|" \
      -e 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/ssm.toml" >"$WORK/pf.toml"
  start_milter "$WORK/pf.toml" || fatal clearance-setup "ssm-milter did not start"
  start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal clearance-setup "Postfix did not start"
  if send_mail "$SMTPD_PORT" dave@partner.example alice@acme.example "$WORK/labelled.eml" && wait_for_delivery 1 30 \
     && grep -q '^SIO-Label:.*ACME RESTRICTED' $(sink_files); then
    pass clearance-postfix-cleared-250
  else fail clearance-postfix-cleared-250 "reply '$SMTP_REPLY', $(sink_count) delivered"; fi
  send_mail "$SMTPD_PORT" dave@partner.example carol@acme.example "$WORK/labelled.eml"
  case $SMTP_REPLY in
    550*5.7.1*carol@acme.example*) pass clearance-postfix-uncleared-550 ;;
    *) fail clearance-postfix-uncleared-550 "reply '$SMTP_REPLY'" ;;
  esac
  # the directory down: the message waits (451 4.7.1), never delivered uncleared
  sh "$SLAPD" stop "$WORK/slapd"
  send_mail "$SMTPD_PORT" dave@partner.example alice@acme.example "$WORK/labelled.eml"
  case $SMTP_REPLY in
    451*4.7.1*) [ "$(sink_count)" -eq 1 ] && pass clearance-postfix-directory-down-451 \
                  || fail clearance-postfix-directory-down-451 "$(sink_count) messages delivered" ;;
    *) fail clearance-postfix-directory-down-451 "reply '$SMTP_REPLY'" ;;
  esac
  stop_milter
fi
# offline as well (exit 2: temporary failure)
sh "$SLAPD" stop "$WORK/slapd"
run down alice@acme.example
expect clearance-directory-down-451 2 "451 4\.7\.1 clearance of recipient alice@acme.example cannot be looked up"
ctl lookup alice@acme.example >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && pass clearance-ssmctl-lookup-down || fail clearance-ssmctl-lookup-down "rc=$rc"
exit $((_ssm_failures > 0))
