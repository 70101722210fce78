#!/bin/bash
# PRODUCT §3.4 harvesting, scoped (found by the security review of the outbound path): a valid
# signer's certificate is stored for the From address its signature was matched to, not for
# every address the certificate names. mallory@partner.example signs with a certificate (from
# the CA we trust) that also names ceo@victim.example; before, the harvest stored it for
# ceo@victim.example too and our next message to ceo@victim.example was encrypted to
# mallory's key (mallory could read it, the CEO could not). Runs ssmctl process only (the
# milter's code path offline): no Postfix.
#   harvest-from-address        the certificate is harvested for mallory@partner.example
#   harvest-other-address-not   ... and not for ceo@victim.example
#   harvest-no-wrong-key        mail to ceo@victim.example is not encrypted to mallory
. "$(dirname "$0")/lib.sh"
require_tools openssl softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token
export OPENSSL_CONF=/dev/null
X=$WORK/x; mkdir -p "$X"
(
  set -e; cd "$X"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out m.key
  printf '[ee]\nbasicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = emailProtection\nsubjectAltName = email:mallory@partner.example, email:ceo@victim.example\n' >m.ext
  openssl req -new -key m.key -subj "/CN=mallory" -out m.csr
  openssl x509 -req -in m.csr -CA "$PKI/sub-ca.cert.pem" -CAkey "$PKI/sub-ca.key.pem" -set_serial 0x4d41 \
    -days 365 -extfile m.ext -extensions ee -out m.pem
  printf 'Content-Type: text/plain\r\n\r\nhello from mallory\r\n' >inner.txt
  openssl cms -sign -in inner.txt -signer m.pem -inkey m.key -certfile "$PKI/sub-ca.cert.pem" -nodetach -out signed.eml
  { printf 'From: mallory@partner.example\r\nTo: alice@acme.example\r\nSubject: hi\r\n'; cat signed.eml; } >in.eml
  printf 'From: alice@acme.example\r\nTo: ceo@victim.example\r\nSubject: board\r\n\r\nCONFIDENTIAL LINE\r\n' >out.eml
) >"$WORK/setup.log" 2>&1 || fatal harvest-setup "$(tail -n 3 "$WORK/setup.log")"

write_config "$WORK/ssm.toml" port=1 pki='revocation = "off"' rules='[[rule]]
name = "encrypt where a certificate is known"
direction = "outbound"
sign = "sender"
encrypt = "opportunistic"' extra="[directory]
cache = \"$WORK/cache\""
ssmctl() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" "$@"; }

ssmctl process --direction in --from mallory@partner.example --to alice@acme.example <"$X/in.eml" \
  >"$WORK/in.out" 2>"$WORK/in.err" || fatal harvest-setup "inbound: $(tail -n 1 "$WORK/in.err")"
grep -q 'smime=pass' "$WORK/in.out" || fatal harvest-setup "mallory's signature did not pass: $(tail -n 2 "$WORK/in.err")"

ssmctl cert lookup mallory@partner.example >"$WORK/l1" 2>&1
grep -q '^chosen .*source="harvested"' "$WORK/l1" && pass harvest-from-address \
  || fail harvest-from-address "$(tail -n 2 "$WORK/l1" | tr '\n' ' ')"
ssmctl cert lookup ceo@victim.example >"$WORK/l2" 2>&1
grep -q '^ *candidate .*source="harvested"' "$WORK/l2" && fail harvest-other-address-not "$(grep 'candidate.*harvested' "$WORK/l2" | head -n 1)" \
  || pass harvest-other-address-not
ssmctl process --direction out --from alice@acme.example --to ceo@victim.example <"$X/out.eml" \
  >"$WORK/o.eml" 2>"$WORK/o.err"
if openssl cms -decrypt -in "$WORK/o.eml" -recip "$X/m.pem" -inkey "$X/m.key" 2>/dev/null | grep -q 'CONFIDENTIAL LINE'; then
  fail harvest-no-wrong-key "mallory decrypts mail to ceo@victim.example ($(grep '^decision' "$WORK/o.err"))"
else
  pass harvest-no-wrong-key
fi
