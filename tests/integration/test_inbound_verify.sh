#!/bin/bash
# Inbound signature verification through a real Postfix 3.7 with ssm-milter (PRODUCT §3.3,
# §3.4, §7): swaks -> Postfix smtpd (+ssm-milter, client outside internal_networks) -> smtp ->
# smtp-sink. Messages signed by the peers (openssl detached/opaque with RSA PKCS#1 v1.5, PSS and
# ECDSA, gpgsm, NSS cmsutil) must arrive with `Authentication-Results: mx.acme.example;
# smime=pass`; tampered content, an expired signer, signers revoked by a CRL (served over HTTP
# by python3 -m http.server through the certificate's CRL distribution point) and by OCSP (an
# `openssl ocsp` responder named in the certificate's AIA), a signer without emailProtection
# and a From mismatch fail with their reason. A signer under another root reached through a
# bridge CA (cross-certificates in both directions, in the message) passes. Forged A-R fields
# claiming our authserv-id are removed. Harvest then reply: a new correspondent's signed mail,
# then our user's reply through an ORIGINATING listener of the same milter arrives encrypted
# to the harvested certificate.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools postfix smtp-sink swaks openssl gpgsm gpgconf cmsutil certutil pk12util softhsm2-util pkcs11-tool perl script python3
require_binaries
T0=$SECONDS
make_pki
make_token dave
export OPENSSL_CONF=/dev/null
msgdir=$SSM_SRCDIR/tests/integration/messages
mkdir -p "$WORK/m" "$WORK/out" "$WORK/certs" "$WORK/crls" "$WORK/rev/new" "$WORK/rev/www" "$WORK/bridge"
RCPT=alice@acme.example   # inbound: one of our users
CRL_PORT=$(free_port); OCSP_PORT=$(free_port)

# --- certificates made for this test ----------------------------------------------------------
issue_cert nina nina@partner.example rsa "digitalSignature, keyEncipherment" || fatal ver-setup "issue nina"
issue_cert xena xena@partner.example rsa "digitalSignature" expired || fatal ver-setup "issue xena (expired)"
# Signers on the other NIST curves partners use (RFC 5753 ECDSA with SHA-384 and SHA-512).
issue_cert pia pia@partner.example p384 "digitalSignature" || fatal ver-setup "issue pia (P-384)"
issue_cert quinn quinn@partner.example p521 "digitalSignature" || fatal ver-setup "issue quinn (P-521)"
# nora's issuing CA (under the test root) is in no folder of ours: only her signed mail carries it.
( cd "$XPKI" &&
  printf '[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n[ee]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:nora@partner.example\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >nora.ext &&
  openssl req -new -newkey rsa:2048 -nodes -keyout nora-ca.key.pem -subj "/O=Partner/CN=Nora Issuing CA" -out nora-ca.csr &&
  openssl x509 -req -in nora-ca.csr -CA "$PKI/root-ca.cert.pem" -CAkey "$PKI/root-ca.key.pem" -set_serial 0x4e01 \
    -days 365 -extfile nora.ext -extensions ca -out nora-ca.pem &&
  openssl req -new -newkey rsa:2048 -nodes -keyout nora.key.pem -subj "/CN=nora@partner.example" -out nora.csr &&
  openssl x509 -req -in nora.csr -CA nora-ca.pem -CAkey nora-ca.key.pem -set_serial 0x4e02 -days 365 \
    -extfile nora.ext -extensions ee -out nora.cert.pem
) >"$WORK/nora.log" 2>&1 || fatal ver-setup "issue nora: $(tail -n 2 "$WORK/nora.log" | tr '\n' ' ')"
# A CA database for the issuing CA, so that it can revoke and answer OCSP (openssl ca / ocsp).
: >"$WORK/rev/index.txt"; echo 2000 >"$WORK/rev/serial"; echo 1000 >"$WORK/rev/crlnumber"
cat >"$WORK/rev/ca.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $WORK/rev/index.txt
new_certs_dir = $WORK/rev/new
certificate = $PKI/sub-ca.cert.pem
private_key = $PKI/sub-ca.key.pem
serial = $WORK/rev/serial
crlnumber = $WORK/rev/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 2
unique_subject = no
policy = p
[p]
commonName = supplied
organizationName = optional
EOF
# ca_issue NAME EMAIL EKU [EXTENSION LINE...]: NAME.key.pem/NAME.cert.pem in $XPKI via openssl ca.
ca_issue() {
  local name=$1 email=$2 eku=$3; shift 3
  ( cd "$XPKI" || exit 1
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key.pem" \
    && openssl req -new -key "$name.key.pem" -subj "/O=SSM Test/CN=$email" -out "$name.csr" \
    && { printf '[x]\nbasicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = %s\nsubjectAltName = email:%s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' "$eku" "$email"
         printf '%s\n' "$@"; } >"$name.ext" \
    && openssl ca -batch -notext -config "$WORK/rev/ca.cnf" -in "$name.csr" -out "$name.cert.pem" -extfile "$name.ext" -extensions x
  ) >"$WORK/ca-$name.log" 2>&1 || { note "ca_issue $name: $(tail -n 3 "$WORK/ca-$name.log")"; return 1; }
}
ca_issue rita rita@partner.example emailProtection "crlDistributionPoints = URI:http://127.0.0.1:$CRL_PORT/sub-ca.crl" \
  && ca_issue otto otto@partner.example emailProtection "authorityInfoAccess = OCSP;URI:http://127.0.0.1:$OCSP_PORT/" \
  && ca_issue gina gina@partner.example emailProtection "authorityInfoAccess = OCSP;URI:http://127.0.0.1:$OCSP_PORT/" \
       "crlDistributionPoints = URI:http://127.0.0.1:$CRL_PORT/sub-ca.crl" \
  && ca_issue nemo nemo@partner.example "clientAuth" \
  || fatal ver-setup "certificates for revocation and EKU cases"
# rita is on the CRL (only she: the CRL is made before otto is revoked); otto is revoked only
# in the OCSP responder's database.
( cd "$WORK/rev" && openssl ca -batch -config ca.cnf -revoke "$XPKI/rita.cert.pem" -crl_reason keyCompromise \
  && openssl ca -batch -config ca.cnf -gencrl -out crl.pem && openssl crl -in crl.pem -outform DER -out www/sub-ca.crl \
  && openssl ca -batch -config ca.cnf -revoke "$XPKI/otto.cert.pem" -crl_reason keyCompromise ) >"$WORK/rev.log" 2>&1 \
  || fatal ver-setup "revocation: $(tail -n 3 "$WORK/rev.log")"
python3 -m http.server "$CRL_PORT" --bind 127.0.0.1 --directory "$WORK/rev/www" >"$WORK/crl-server.log" 2>&1 &
CRL_PID=$!; on_exit "kill -TERM $CRL_PID"
( cd "$WORK/rev" && exec openssl ocsp -index index.txt -CA "$PKI/sub-ca.cert.pem" -rsigner "$PKI/sub-ca.cert.pem" \
    -rkey "$PKI/sub-ca.key.pem" -port "$OCSP_PORT" -ndays 1 -ignore_err ) >"$WORK/ocsp-server.log" 2>&1 &
OCSP_PID=$!; on_exit "kill -TERM $OCSP_PID"
wait_port "$CRL_PORT" 10 "$CRL_PID" || fatal ver-setup "CRL server did not start"
wait_port "$OCSP_PORT" 10 "$OCSP_PID" || fatal ver-setup "OCSP responder did not start"

# Bridge: Other Root CA <-> Bridge CA <-> SSM Test Root CA, cross-certificates both ways;
# olivia is certified by Other Root CA, which nobody configured as a trust anchor.
(
  set -e; cd "$WORK/bridge"
  printf '[ca]\nbasicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >ca.ext
  for k in other-root bridge; do openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $k.key; done
  openssl req -x509 -key other-root.key -out other-root.pem -days 3650 -subj "/O=Other PKI/CN=Other Root CA" \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectKeyIdentifier=hash"
  openssl req -x509 -key bridge.key -out bridge-self.pem -days 3650 -subj "/O=Bridge/CN=Bridge CA" \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectKeyIdentifier=hash"
  cross() {  # SUBJECT_KEY SUBJECT_DN ISSUER_CERT ISSUER_KEY OUT
    openssl req -new -key "$1" -subj "$2" -out "$5.csr"
    openssl x509 -req -in "$5.csr" -CA "$3" -CAkey "$4" -set_serial "0x$(openssl rand -hex 12)" -days 3650 \
      -extfile ca.ext -extensions ca -out "$5"
  }
  cross bridge.key "/O=Bridge/CN=Bridge CA" "$PKI/root-ca.cert.pem" "$PKI/root-ca.key.pem" root-to-bridge.pem
  cross "$PKI/root-ca.key.pem" "/O=SSM Test/CN=SSM Test Root CA" bridge-self.pem bridge.key bridge-to-root.pem
  cross other-root.key "/O=Other PKI/CN=Other Root CA" bridge-self.pem bridge.key bridge-to-other.pem
  cross bridge.key "/O=Bridge/CN=Bridge CA" other-root.pem other-root.key other-to-bridge.pem
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$XPKI/olivia.key.pem"
  openssl req -new -key "$XPKI/olivia.key.pem" -subj "/O=Other PKI/CN=olivia@partner.example" -out olivia.csr
  printf '[ee]\nbasicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = emailProtection\nsubjectAltName = email:olivia@partner.example\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >ee.ext
  openssl x509 -req -in olivia.csr -CA other-root.pem -CAkey other-root.key -set_serial "0x$(openssl rand -hex 12)" \
    -days 3650 -extfile ee.ext -extensions ee -out "$XPKI/olivia.cert.pem"
  # what olivia's MUA sends along: her root (untrusted here) and all four cross-certificates
  cat other-root.pem other-to-bridge.pem bridge-to-other.pem bridge-to-root.pem root-to-bridge.pem >bundle.pem
) >"$WORK/bridge.log" 2>&1 || fatal ver-setup "bridge PKI: $(tail -n 3 "$WORK/bridge.log")"

# --- Postfix and ssm-milter -------------------------------------------------------------------
# One milter; the inbound listener and an ORIGINATING listener (our users' outbound mail) share
# it, so the reply step uses the same harvest store as the inbound step.
RULES='[[rule]]
name = "mail to partners is encrypted"
direction = "outbound"
to = ["*@partner.example"]
sign = "none"
encrypt = "mandatory"'
start_sink || fatal ver-setup "smtp-sink did not start"
MILTER_PORT=$(free_port); IN_PORT=$(free_port); OUT_PORT=$(free_port)
inbound_config "$WORK/ssm.toml" "$MILTER_PORT" "$RULES" "[inbound]
harvest = true

[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" "crls = \"$WORK/crls\"
revocation = \"soft-fail\"" || fatal ver-setup "config"
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm.toml" -n >"$WORK/check.log" 2>&1 \
  || fatal ver-config "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"
start_milter "$WORK/ssm.toml" || fatal ver-milter "ssm-milter did not start: $(tail -n 3 "$WORK/milter.log" | tr '\n' ' ')"
PF_MASTER_EXTRA="127.0.0.1:$OUT_PORT inet n - n - - smtpd -o milter_macro_daemon_name=ORIGINATING" \
  start_postfix pf "$IN_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal ver-setup "Postfix did not start"
note "set-up took $((SECONDS - T0)) s"

# --- messages ---------------------------------------------------------------------------------
make_entity "$msgdir/attachment.eml" "$WORK/m/attachment.entity"
ENTITY=$WORK/m/attachment.entity
# submit CASE PORT FROM RCPT FILE: one SMTP transaction, reply and milter log line recorded.
submit() {
  local cn=$1 port=$2 from=$3 rcpt=$4 file=$5 off
  off=$(stat -c %s "$WORK/milter.log")
  send_mail "$port" "$from" "$rcpt" "$file"
  printf '%s\n' "$SMTP_REPLY" >"$WORK/out/$cn.reply"
  milter_message_lines "$off" "$WORK/milter.log" >"$WORK/out/$cn.log"
}
# openssl_sign CASE SIGNER FROM detached|opaque [cms options]: signed by openssl as SIGNER
# (the issuing CA included), sent from FROM.
openssl_sign() {
  local cn=$1 signer=$2 from=$3 kind=$4; shift 4
  _key_files "$signer" || { fail "$cn" "$PEER_DETAIL"; return 1; }
  local nd=(); [ "$kind" = opaque ] && nd=(-nodetach)
  if ! openssl cms -sign -binary -outform DER -md sha256 -in "$ENTITY" -signer "$CERT_PEM" -inkey "$KEY_PEM" \
       -certfile "$PKI/sub-ca.cert.pem" "${nd[@]}" "$@" -out "$WORK/m/$cn.der" 2>"$WORK/m/$cn.err"; then
    fail "$cn" "openssl cms -sign: $(tr '\n' ' ' <"$WORK/m/$cn.err")"; return 1
  fi
  if [ "$kind" = opaque ]; then wrap_opaque "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" "$from" "$RCPT"
  else wrap_detached "$ENTITY" "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" "$from" "$RCPT"; fi
}
CASES=()   # CASE~RESULT~REASON-REGEX~IDENTIFIER
# (to $RCPT, or to $TO when set)
queue() { CASES+=("$1~$2~$3~$4"); submit "$1" "$IN_PORT" "$5" "${TO:-$RCPT}" "$WORK/m/$1.eml"; }

# 3. signed by each peer: pass
openssl_sign openssl-detached-rsa dave dave@partner.example detached && queue openssl-detached-rsa pass '' dave@partner.example dave@partner.example
openssl_sign openssl-opaque-rsa dave dave@partner.example opaque && queue openssl-opaque-rsa pass '' dave@partner.example dave@partner.example
openssl_sign openssl-detached-pss-maxsalt dave dave@partner.example detached -keyopt rsa_padding_mode:pss \
  && queue openssl-detached-pss-maxsalt pass '' dave@partner.example dave@partner.example
openssl_sign openssl-opaque-pss-salt32 dave dave@partner.example opaque -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:32 \
  && queue openssl-opaque-pss-salt32 pass '' dave@partner.example dave@partner.example
openssl_sign openssl-detached-ecdsa frank frank@partner.example detached && queue openssl-detached-ecdsa pass '' frank@partner.example frank@partner.example
openssl_sign openssl-opaque-ecdsa frank frank@partner.example opaque && queue openssl-opaque-ecdsa pass '' frank@partner.example frank@partner.example
# The last -md wins: RFC 5753 pairs P-384 with SHA-384 and P-521 with SHA-512. (Ed25519:
# OpenSSL 3.0's cms -sign fails with "invalid digest", and Debian 12's gpgsm and cmsutil do
# not sign with it; tests/unit/test_cms_verify_peers checks the RFC 9216 Ed25519 vectors.)
openssl_sign openssl-detached-ecdsa-p384 pia pia@partner.example detached -md sha384 \
  && queue openssl-detached-ecdsa-p384 pass '' pia@partner.example pia@partner.example
openssl_sign openssl-opaque-ecdsa-p521 quinn quinn@partner.example opaque -md sha512 \
  && queue openssl-opaque-ecdsa-p521 pass '' quinn@partner.example quinn@partner.example
cn=openssl-smime-output   # OpenSSL's own multipart/signed layout (text mode, its boundary)
if openssl cms -sign -md sha256 -in "$ENTITY" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" \
     -certfile "$PKI/sub-ca.cert.pem" -out "$WORK/m/$cn.smime" 2>"$WORK/m/$cn.err"; then
  { _outer "$cn" dave@partner.example "$RCPT" "OpenSSL S/MIME"; grep -v '^MIME-Version:' "$WORK/m/$cn.smime"; } >"$WORK/m/$cn.eml"
  queue "$cn" pass '' dave@partner.example dave@partner.example
else fail "$cn" "openssl: $(tr '\n' ' ' <"$WORK/m/$cn.err")"; fi
cn=gpgsm-detached-rsa
if sign_gpgsm "$ENTITY" dave "$WORK/m/$cn.der"; then
  wrap_detached "$ENTITY" "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" dave@partner.example "$RCPT"
  queue "$cn" pass '' dave@partner.example dave@partner.example
else fail "$cn" "$PEER_DETAIL"; fi
cn=cmsutil-detached-rsa
if sign_cmsutil "$ENTITY" dave "$WORK/m/$cn.der"; then
  wrap_detached "$ENTITY" "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" dave@partner.example "$RCPT"
  queue "$cn" pass '' dave@partner.example dave@partner.example
else fail "$cn" "$PEER_DETAIL"; fi
# sign-then-encrypt (to dave, whose key is on the token, sent to dave: his key opens mail for
# him only): decrypted, then verified
cn=openssl-signed-then-encrypted
if openssl cms -sign -binary -nodetach -outform DER -md sha256 -in "$ENTITY" -signer "$PKI/frank.cert.pem" \
     -inkey "$PKI/frank.key.pem" -certfile "$PKI/sub-ca.cert.pem" -out "$WORK/m/$cn.sig" 2>"$WORK/m/$cn.err"; then
  { printf 'Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    _b64 "$WORK/m/$cn.sig"; } >"$WORK/m/$cn.inner"
  openssl cms -encrypt -binary -outform DER -in "$WORK/m/$cn.inner" -aes-256-cbc -recip "$PKI/dave.cert.pem" -out "$WORK/m/$cn.der"
  wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" frank@partner.example dave@partner.example
  TO=dave@partner.example queue "$cn" pass '' frank@partner.example frank@partner.example
else fail "$cn" "openssl: $(tr '\n' ' ' <"$WORK/m/$cn.err")"; fi
# the bridge: olivia's chain only through the cross-certificates in the message
openssl_sign bridge-cross-certified olivia olivia@partner.example detached -certfile "$WORK/bridge/bundle.pem" \
  && queue bridge-cross-certified pass '' olivia@partner.example olivia@partner.example
# ... and without the cross-certificates (only olivia's own root, which we do not trust) it
# fails: nothing learnt from the message before may complete this chain.
openssl_sign bridge-without-cross-certificates olivia olivia@partner.example detached -certfile "$WORK/bridge/other-root.pem" \
  && queue bridge-without-cross-certificates fail 'untrusted|path|anchor' '' olivia@partner.example
openssl_sign ocsp-good gina gina@partner.example detached && queue ocsp-good pass '' gina@partner.example gina@partner.example

# ... and the failures, each with its reason
openssl_sign tampered-body dave dave@partner.example detached \
  && perl -i -pe 's/Please find the binary file attached\./Please find the binary file attacked./' "$WORK/m/tampered-body.eml" \
  && queue tampered-body fail 'digest|signature' '' dave@partner.example
openssl_sign expired-signer xena xena@partner.example detached && queue expired-signer fail 'expired' '' xena@partner.example
openssl_sign revoked-crl rita rita@partner.example detached && queue revoked-crl fail 'revoked' '' rita@partner.example
openssl_sign revoked-ocsp otto otto@partner.example detached && queue revoked-ocsp fail 'revoked.*OCSP|OCSP.*revoked' '' otto@partner.example
openssl_sign no-email-protection nemo nemo@partner.example detached && queue no-email-protection fail 'emailProtection|purpose' '' nemo@partner.example
openssl_sign from-mismatch dave mallory@partner.example detached && queue from-mismatch fail 'From' '' mallory@partner.example

# Forged results: on an unsigned message (all ours removed, a foreign one kept) and on a signed
# one (only our own result remains). The authserv-id is matched without regard to case.
cn=forged-ar-unsigned
{ _outer "$cn" someone@partner.example "$RCPT" "Forged A-R"
  printf 'Authentication-Results: mx.acme.example; smime=pass body.smime-identifier=ceo@acme.example\r\n'
  printf 'Authentication-Results: other.example; spf=pass smtp.mailfrom=partner.example\r\n'
  printf 'Authentication-Results: MX.ACME.EXAMPLE;\r\n\tsmime=pass\r\n'
  cat "$ENTITY"; } >"$WORK/m/$cn.eml"
submit "$cn" "$IN_PORT" someone@partner.example "$RCPT" "$WORK/m/$cn.eml"
cn=forged-ar-signed
if openssl_sign "$cn" dave dave@partner.example detached; then
  perl -i -pe 'print "Authentication-Results: mx.acme.example; smime=pass reason=\"forged\"\r\n" if $. == 1' "$WORK/m/$cn.eml"
  queue "$cn" pass '' dave@partner.example dave@partner.example
fi

# 4. harvest then reply: nina is unknown (no static certificate); a reply to her is refused
# (encryption mandatory), her signed message is harvested, then the reply goes out encrypted.
sed "s/@SENDER@/alice@acme.example/; s/@RCPT@/nina@partner.example/; s/^Message-ID: .*/Message-ID: <reply-before@acme.example>\nX-Case: reply-before/" \
  "$msgdir/attachment.eml" >"$WORK/m/reply-before.eml"
submit reply-before "$OUT_PORT" alice@acme.example nina@partner.example "$WORK/m/reply-before.eml"
openssl_sign harvest-nina nina nina@partner.example detached && queue harvest-nina pass '' nina@partner.example nina@partner.example
sed "s/@SENDER@/alice@acme.example/; s/@RCPT@/nina@partner.example/; s/^Message-ID: .*/Message-ID: <reply-after@acme.example>\nX-Case: reply-after/" \
  "$msgdir/attachment.eml" >"$WORK/m/reply-after.eml"
submit reply-after "$OUT_PORT" alice@acme.example nina@partner.example "$WORK/m/reply-after.eml"
# 5. the same for nora, whose issuing CA only her message carries (PRODUCT §7): it is kept
# with her certificate, so that the reply still finds a path once her message is gone.
openssl_sign harvest-nora nora nora@partner.example detached -certfile "$XPKI/nora-ca.pem" \
  && queue harvest-nora pass '' nora@partner.example nora@partner.example
sed "s/@SENDER@/alice@acme.example/; s/@RCPT@/nora@partner.example/; s/^Message-ID: .*/Message-ID: <reply-nora@acme.example>\nX-Case: reply-nora/" \
  "$msgdir/attachment.eml" >"$WORK/m/reply-nora.eml"
submit reply-nora "$OUT_PORT" alice@acme.example nora@partner.example "$WORK/m/reply-nora.eml"

# --- checks -----------------------------------------------------------------------------------
expected=$(( ${#CASES[@]} + 3 ))   # + forged-ar-unsigned, reply-after, reply-nora
wait_for_delivery "$expected" 60 || note "only $(sink_count) of $expected messages delivered"
note "sent and delivered after $((SECONDS - T0)) s"

# our_ar FILE: the Authentication-Results fields that claim our authserv-id.
our_ar() { header_field "$1" Authentication-Results | grep -i '^mx\.acme\.example[ ;]'; }
for spec in "${CASES[@]}"; do
  IFS='~' read -r cn want why ident <<<"$spec"
  if ! grep -q '^250 ' "$WORK/out/$cn.reply"; then fail "$cn" "SMTP: $(cat "$WORK/out/$cn.reply") log: $(cat "$WORK/out/$cn.log")"; continue; fi
  dump=$(delivered "$cn") || { fail "$cn" "not delivered"; continue; }
  sink_message "$dump" "$WORK/out/$cn.eml"
  ar=$(our_ar "$WORK/out/$cn.eml")
  if [ "$(printf '%s\n' "$ar" | grep -c .)" != 1 ]; then fail "$cn" "$(printf '%s\n' "$ar" | grep -c .) A-R fields of ours: $(printf '%s' "$ar" | tr '\n' '|')"; continue; fi
  res=$(printf '%s' "$ar" | sed -n 's/.*smime=\([a-z]*\).*/\1/p')
  if [ "$res" != "$want" ]; then fail "$cn" "smime=$res, expected $want: $ar"
  elif [ -n "$why" ] && ! printf '%s' "$ar" | grep -qiE "reason=\"?[^;]*($why)"; then fail "$cn" "reason does not match /$why/: $ar"
  elif [ -n "$ident" ] && ! printf '%s' "$ar" | grep -q "body.smime-identifier=$ident"; then fail "$cn" "identifier is not $ident: $ar"
  elif [ "$want" = pass ] && printf '%s' "$ar" | grep -q 'reason='; then fail "$cn" "a reason on a pass (forged text kept?): $ar"
  else pass "$cn"; note "$cn: $ar"; fi
done
# The signed bytes reached the user intact: the delivered message still verifies for openssl.
for cn in openssl-detached-rsa openssl-opaque-rsa gpgsm-detached-rsa cmsutil-detached-rsa openssl-smime-output; do
  if [ -f "$WORK/out/$cn.eml" ] && verify_openssl "$WORK/out/$cn.eml" dave@partner.example; then pass "$cn/delivered-still-verifies"
  else fail "$cn/delivered-still-verifies" "${PEER_DETAIL:-not delivered}"; fi
done
cn=openssl-signed-then-encrypted
if [ -f "$WORK/out/$cn.eml" ]; then
  if grep -q 'smime-type=signed-data' "$WORK/out/$cn.eml" && ! grep -q 'enveloped-data' "$WORK/out/$cn.eml"; then pass "$cn/decrypted"
  else fail "$cn/decrypted" "the delivered message is not the signed-data inside the envelope"; fi
fi
cn=forged-ar-unsigned
if dump=$(delivered "$cn"); then
  sink_message "$dump" "$WORK/out/$cn.eml"
  all=$(header_field "$WORK/out/$cn.eml" Authentication-Results)
  if our_ar "$WORK/out/$cn.eml" >/dev/null; then fail "$cn" "a field claiming our authserv-id survived: $(printf '%s' "$all" | tr '\n' '|')"
  elif [ "$all" != "other.example; spf=pass smtp.mailfrom=partner.example" ]; then fail "$cn" "the foreign A-R field was not kept as it was: $(printf '%s' "$all" | tr '\n' '|')"
  else pass "$cn"; fi
else fail "$cn" "not delivered: $(cat "$WORK/out/$cn.reply")"; fi

case $(cat "$WORK/out/reply-before.reply") in
  "550 5.7.1 "*) pass harvest-reply-refused-before ;;
  *) fail harvest-reply-refused-before "reply '$(cat "$WORK/out/reply-before.reply")', expected 550 5.7.1 (nina's certificate must be unknown before)" ;;
esac
# reply_encrypted CHECK CASE KEY: the reply CASE was accepted, delivered encrypted, KEY
# decrypts it and the parts are the ones sent.
reply_encrypted() {
  local cn=$1 rc=$2 key=$3 dump
  if ! grep -q '^250 ' "$WORK/out/$rc.reply"; then fail "$cn" "SMTP: $(cat "$WORK/out/$rc.reply") log: $(cat "$WORK/out/$rc.log")"
  elif ! dump=$(delivered "$rc"); then fail "$cn" "not delivered"
  else
    sink_message "$dump" "$WORK/out/$rc.eml"
    if ! smime_envelope "$WORK/out/$rc.eml" "$WORK/out/$rc.der"; then fail "$cn" "$PEER_DETAIL"
    elif ! decrypt_openssl "$WORK/out/$rc.der" "$key" "$WORK/out/$rc.plain"; then fail "$cn" "$PEER_DETAIL"
    elif [ "$(mime_leaves "$WORK/out/$rc.plain")" != "$(mime_leaves "$WORK/m/$rc.eml")" ]; then
      fail "$cn" "decrypted parts differ: $(mime_leaves "$WORK/out/$rc.plain" | tr '\n' ' ')"
    else pass "$cn"; note "$cn: $(cms_envelope_summary "$WORK/out/$rc.der")"; fi
  fi
}
reply_encrypted harvest-reply-encrypted reply-after nina
reply_encrypted harvest-chain-reply-encrypted reply-nora nora
# revocation answers came from the servers started here
grep -q 'GET /sub-ca.crl' "$WORK/crl-server.log" && pass revocation-crl-fetched-over-http \
  || fail revocation-crl-fetched-over-http "the CRL server saw no request: $(tail -n 2 "$WORK/crl-server.log" | tr '\n' ' ')"
if milter_alive; then pass ver-milter-still-running
else fail ver-milter-still-running "ssm-milter died: $(tail -n 5 "$WORK/milter.log" | tr '\n' ' ')"; fi
note "runtime $((SECONDS - T0)) s"
