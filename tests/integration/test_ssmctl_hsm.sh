#!/bin/bash
# `ssmctl hsm import` and `ssmctl hsm keygen` (PRODUCT §5) against a fresh SoftHSM token:
# OpenSSL-made PKCS#12 files (AES/PBKDF2 and legacy 3DES/RC2) become non-extractable keys that
# `ssmctl hsm list` shows and `ssmctl process` signs with (openssl cms -verify); key pairs
# generated in the token give CSRs that `openssl req -verify` accepts, the test sub-CA issues
# them, the certificate is attached, and mail is signed with and decrypted by the new keys.
# Each refused operation exits 2 with a clear message and leaves the token's object count as it
# was (counted independently with pkcs11-tool); an argument that is wrong (an import file that
# cannot be read, an unknown key type, a bad --email or --subject, a --csr path that cannot be
# created) exits 64, before the token is touched.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools openssl perl softhsm2-util pkcs11-tool certtool
[ -x "$SSM_BUILDDIR/ssmctl" ] || fatal test_ssmctl_hsm-binaries "$SSM_BUILDDIR/ssmctl not built (set SSM_BUILDDIR)"
make_pki
export OPENSSL_CONF=/dev/null
SSMCTL=$SSM_BUILDDIR/ssmctl

# --- a fresh token of our own ----------------------------------------------------------------
TOKEN=$WORK/token
mkdir -p "$TOKEN/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$TOKEN" >"$TOKEN/softhsm2.conf"
export SOFTHSM2_CONF=$TOKEN/softhsm2.conf TOKEN
softhsm2-util --init-token --free --label ssm-import --so-pin 654321 --pin 123456 >/dev/null 2>&1 \
  || fatal hsm-setup "softhsm2-util --init-token failed"
printf '123456\n' >"$TOKEN/pin"; printf '999999\n' >"$TOKEN/badpin"
chmod 600 "$TOKEN/pin" "$TOKEN/badpin"
write_config "$WORK/c.toml" socket="inet:1@127.0.0.1" token_label=ssm-import pki='revocation = "off"' \
  extra="[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" || fatal hsm-setup "config"
mkdir -p "$WORK/certs"
# Inbound from a partner: the client must not count as internal.
sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/c.toml"
sed "s|$TOKEN/pin|$TOKEN/badpin|" "$WORK/c.toml" >"$WORK/badpin.toml"

P11=(pkcs11-tool --module "$SSM_MODULE" --token-label ssm-import --login --pin 123456)
count_objects() { "${P11[@]}" --list-objects 2>/dev/null | grep -c 'Object;'; }

# --- PKCS#12 files made by OpenSSL -----------------------------------------------------------
D=$WORK/p12
mkdir -p "$D"
printf 'p12-secret\n' >"$D/pw"; printf 'not-the-password\n' >"$D/wrong"
p12() {  # NAME OUT [openssl options]: key + certificate + chain, password p12-secret
  local n=$1 out=$2; shift 2
  openssl pkcs12 -export "$@" -inkey "$PKI/$n.key.pem" -in "$PKI/$n.cert.pem" -certfile "$PKI/chain.pem" \
    -passout pass:p12-secret -out "$D/$out" 2>>"$WORK/openssl.log" || fatal hsm-setup "openssl pkcs12 $n"
}
p12 alice alice-aes.p12                          # OpenSSL 3 default: PBES2/PBKDF2/AES-256, MAC SHA-256
p12 bob bob-legacy.p12 -legacy                   # 3DES key bag, RC2-40 certificates, MAC SHA-1
p12 erin erin-3des.p12 -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1
p12 carol carol-legacy.p12 -legacy
head -c 1200 "$D/alice-aes.p12" >"$D/truncated.p12"

# expect_refused NAME PATTERN COMMAND...: exit 2, PATTERN on stderr, object count unchanged.
expect_refused() {
  local name=$1 pattern=$2 before after rc; shift 2
  before=$(count_objects)
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; rc=$?
  after=$(count_objects)
  local msg; msg=$(grep -v '^info:' "$WORK/$name.err" | tr '\n' ' ')
  if [ "$rc" -ne 2 ]; then fail "$name" "exit $rc (expected 2): $msg"
  elif ! grep -Eq -- "$pattern" <<<"$msg"; then fail "$name" "message: $msg (expected /$pattern/)"
  elif [ "$before" != "$after" ]; then fail "$name" "token objects $before -> $after"
  else pass "$name"; fi
}

# --- import ----------------------------------------------------------------------------------
for f in alice-aes bob-legacy erin-3des carol-legacy; do
  if "$SSMCTL" -c "$WORK/c.toml" hsm import "$D/$f.p12" --password-file "$D/pw" >"$WORK/imp-$f.out" 2>"$WORK/imp-$f.err"; then
    pass "hsm-import-$f"
  else fail "hsm-import-$f" "$(grep -v '^info:' "$WORK/imp-$f.err" | tr '\n' ' ')"; fi
done
"$SSMCTL" -c "$WORK/c.toml" hsm list >"$WORK/list1.out" 2>"$WORK/list1.err" || fail hsm-list "exit $?"
listed() {  # NAME EMAIL KEY: hsm list has a usable certificate line for it
  local line; line=$(grep "^certificate label=$2 " "$WORK/list1.out")
  if [ -z "$line" ]; then fail "$1" "no line for $2: $(tr '\n' ' ' <"$WORK/list1.out")"
  elif ! grep -q " key=$3 " <<<"$line" || ! grep -q " private_key=yes " <<<"$line" \
       || ! grep -q " extractable=no " <<<"$line" || grep -q ' sign=none' <<<"$line"; then fail "$1" "$line"
  else pass "$1"; fi
}
listed hsm-list-alice-rsa alice@acme.example rsa-2048
listed hsm-list-bob-p256 bob@acme.example ec-p256
listed hsm-list-erin-p384 erin@acme.example ec-p384
listed hsm-list-carol-rsa carol@acme.example rsa-2048
if grep -q '^certificate label="SSM Test Issuing CA" .* ca=yes private_key=no' "$WORK/list1.out" \
   && grep -q '^certificate label="SSM Test Root CA" .* ca=yes' "$WORK/list1.out" \
   && [ "$(grep -c 'SSM Test Issuing CA' "$WORK/list1.out")" = 1 ]; then pass hsm-import-ca-certificates-once
else fail hsm-import-ca-certificates-once "$(grep ca=yes "$WORK/list1.out" | tr '\n' ' ')"; fi

# Independently of our code: pkcs11-tool says the private keys are sensitive and not extractable.
"${P11[@]}" --list-objects --type privkey >"$WORK/p11-privkeys.out" 2>&1
n_keys=$(grep -c '^Private Key Object' "$WORK/p11-privkeys.out")
n_safe=$(grep '^  Access:' "$WORK/p11-privkeys.out" | grep 'sensitive' | grep -Evc '(^|[:,] *)extractable')
if [ "$n_keys" = 4 ] && [ "$n_safe" = 4 ]; then pass hsm-import-keys-sensitive-not-extractable
else fail hsm-import-keys-sensitive-not-extractable "$n_keys keys, $n_safe sensitive and non-extractable"; fi
if "${P11[@]}" --read-object --type privkey --label alice@acme.example -o "$WORK/leak.der" >/dev/null 2>&1 \
   && [ -s "$WORK/leak.der" ]; then fail hsm-import-key-not-readable "pkcs11-tool read the private key"
else pass hsm-import-key-not-readable; fi

# --- signing through ssmctl process with the imported keys -----------------------------------
sign_with() {  # NAME FROM [CERT]: ssmctl process --direction out; openssl verifies
  local name=$1 from=$2 cert=${3:-}
  printf 'From: <%s>\r\nTo: <dave@partner.example>\r\nSubject: %s\r\nMessage-ID: <%s@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nSigned by a key imported into the token.\r\n' \
    "$from" "$name" "$name" >"$WORK/$name.eml"
  if ! "$SSMCTL" -c "$WORK/${CONF:-c}.toml" process --direction out --from "$from" --to dave@partner.example \
       <"$WORK/$name.eml" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
    fail "$name" "ssmctl process: $(grep -v '^info:' "$WORK/$name.err" | tail -n 3 | tr '\n' ' ')"; return
  fi
  if [ -z "$cert" ]; then
    if verify_openssl "$WORK/$name.out" "$from"; then pass "$name"; else fail "$name" "$PEER_DETAIL"; fi
    return
  fi
  local d=$WORK/$name.split
  if ! verify_openssl "$WORK/$name.out"; then fail "$name" "$PEER_DETAIL"; return; fi
  smime_split "$WORK/$name.out" "$d"
  local content=(); [ "$(cat "$d/kind")" = detached ] && content=(-content "$d/content")
  openssl cms -verify -binary -noverify -inform DER -in "$d/sig.der" "${content[@]}" -signer "$d/signer.pem" \
    -out /dev/null >/dev/null 2>&1
  if [ -s "$d/signer.pem" ] && [ "$(openssl x509 -in "$d/signer.pem" -noout -fingerprint -sha256)" = \
       "$(openssl x509 -in "$cert" -noout -fingerprint -sha256)" ]; then pass "$name"
  else fail "$name" "signer is not $cert"; fi
}
sign_with hsm-imported-rsa-signs alice@acme.example
sign_with hsm-imported-p256-signs bob@acme.example
sign_with hsm-imported-p384-signs erin@acme.example

# --- failures: exit 2, clear message, token unchanged ----------------------------------------
expect_refused hsm-import-wrong-password 'wrong PKCS#12 password' \
  "$SSMCTL" -c "$WORK/c.toml" hsm import "$D/alice-aes.p12" --password-file "$D/wrong"
expect_refused hsm-import-wrong-password-legacy 'wrong PKCS#12 password' \
  "$SSMCTL" -c "$WORK/c.toml" hsm import "$D/bob-legacy.p12" --password-file "$D/wrong"
expect_refused hsm-import-truncated 'not a readable PKCS#12 file' \
  "$SSMCTL" -c "$WORK/c.toml" hsm import "$D/truncated.p12" --password-file "$D/pw"
expect_refused hsm-import-same-key-again 'already on the token: .*alice@acme.example' \
  "$SSMCTL" -c "$WORK/c.toml" hsm import "$D/alice-aes.p12" --password-file "$D/pw"
p12 dave dave.p12
expect_refused hsm-import-label-taken "a key labelled 'alice@acme.example' is already on the token" \
  "$SSMCTL" -c "$WORK/c.toml" hsm import "$D/dave.p12" --password-file "$D/pw" --label alice@acme.example
expect_refused hsm-import-cert-without-key 'private key of this certificate is not on the token' \
  "$SSMCTL" -c "$WORK/c.toml" hsm import "$PKI/dave.cert.pem"
expect_refused hsm-import-wrong-pin 'login failed: CKR_PIN_INCORRECT' \
  "$SSMCTL" -c "$WORK/badpin.toml" hsm import "$D/dave.p12" --password-file "$D/pw"
expect_refused hsm-keygen-wrong-pin 'login failed: CKR_PIN_INCORRECT' \
  "$SSMCTL" -c "$WORK/badpin.toml" hsm keygen --type ec-p256 --subject "CN=x" --csr "$WORK/x.csr"
# Arguments that are wrong are usage errors (ssmctl(8) EXIT STATUS: 64), found before the token
# is opened (the wrong PIN shows it is not: login would fail) and before the CSR file is made.
# Until 2026-12-04 these exited 2, the status of an unavailable token. (A subject that cannot
# be parsed after C_GenerateKeyPair destroys the pair: test_hsm_import keygen_csr_and_attach.)
usage_error() {  # NAME PATTERN KEYGEN-ARGUMENTS...
  local name=$1 pattern=$2 before after rc msg; shift 2
  rm -f "$WORK/x.csr"
  before=$(count_objects)
  "$SSMCTL" -c "$WORK/badpin.toml" hsm keygen "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; rc=$?
  after=$(count_objects)
  msg=$(grep -v '^info:' "$WORK/$name.err" | tr '\n' ' ')
  if [ "$rc" -ne 64 ]; then fail "$name" "exit $rc (expected 64): $msg"
  elif ! grep -Fq -- "$pattern" <<<"$msg"; then fail "$name" "message: $msg (expected '$pattern')"
  elif [ "$before" != "$after" ]; then fail "$name" "token objects $before -> $after"
  elif [ -e "$WORK/x.csr" ]; then fail "$name" "a CSR file was left behind"
  else pass "$name"; fi
}
usage_error hsm-keygen-unknown-type \
  "unknown --type 'dsa-1024' (one of rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384, ec-p521, ed25519)" \
  --type dsa-1024 --subject "CN=x" --csr "$WORK/x.csr"
usage_error hsm-keygen-bad-email "not an e-mail address: 'not-an-address'" \
  --type ec-p256 --subject "CN=x" --email "not-an-address" --csr "$WORK/x.csr"
usage_error hsm-keygen-bad-subject "cannot parse --subject 'NOSUCHATTR=x,,='" \
  --type rsa-2048 --subject "NOSUCHATTR=x,,=" --csr "$WORK/x.csr"
usage_error hsm-keygen-csr-not-writable "cannot write $WORK/no-such-dir/x.csr: No such file or directory" \
  --type ec-p256 --subject "CN=x" --csr "$WORK/no-such-dir/x.csr"
# A FILE that cannot be read: exit 64 with the reason, as `cert import` gives (ssmctl(8)), and
# the token untouched.
unreadable_import() {  # NAME FILE REASON
  local before after rc msg
  before=$(count_objects)
  "$SSMCTL" -c "$WORK/c.toml" hsm import "$2" --password-file "$D/pw" >"$WORK/$1.out" 2>"$WORK/$1.err"; rc=$?
  after=$(count_objects)
  msg=$(grep -v '^info:' "$WORK/$1.err" | tr '\n' ' ')
  if [ "$rc" -ne 64 ]; then fail "$1" "exit $rc (expected 64): $msg"
  elif ! grep -Fq -- "cannot read $2: $3" <<<"$msg"; then fail "$1" "message: $msg (expected 'cannot read $2: $3')"
  elif [ "$before" != "$after" ]; then fail "$1" "token objects $before -> $after"
  else pass "$1"; fi
}
unreadable_import hsm-import-missing-file "$D/no-such.p12" "No such file or directory"
unreadable_import hsm-import-folder "$D" "Is a directory"
head -c $((4 * 1024 * 1024 + 1)) /dev/zero >"$WORK/big.p12"
unreadable_import hsm-import-too-large "$WORK/big.p12" "it is larger than 4 MiB"
"$SSMCTL" -c "$WORK/c.toml" hsm import "$D/dave.p12" --password-file "$D/no-such-pw" \
  >"$WORK/no-pw.out" 2>"$WORK/no-pw.err"; rc=$?
if [ "$rc" -ne 64 ]; then fail hsm-import-password-file-missing "exit $rc (expected 64): $(tr '\n' ' ' <"$WORK/no-pw.err")"
elif ! grep -Fq "cannot read secret file $D/no-such-pw: No such file or directory" "$WORK/no-pw.err"; then
  fail hsm-import-password-file-missing "message: $(tr '\n' ' ' <"$WORK/no-pw.err")"
else pass hsm-import-password-file-missing; fi
# No --password-file and no terminal: the password is one line of standard input (a PKCS#12
# without a MAC, as `openssl pkcs12 -nomac` writes it).
openssl pkcs12 -export -nomac -inkey "$PKI/dave.key.pem" -in "$PKI/dave.cert.pem" -passout pass:p12-secret \
  -out "$D/dave-nomac.p12" 2>>"$WORK/openssl.log"
if "$SSMCTL" -c "$WORK/c.toml" hsm import "$D/dave-nomac.p12" <"$D/pw" >"$WORK/stdin.out" 2>"$WORK/stdin.err" \
   && grep -q '^imported label=dave@partner.example ' "$WORK/stdin.out"; then pass hsm-import-password-on-stdin
else fail hsm-import-password-on-stdin "$(grep -v '^info:' "$WORK/stdin.err" | tr '\n' ' ')"; fi
if grep -q 123456 "$WORK"/*.err "$WORK"/*.out 2>/dev/null; then fail hsm-pin-never-printed "a PIN appears in the output"
else pass hsm-pin-never-printed; fi

# --- keygen, CSR, certificate from the test CA, attach ---------------------------------------
printf 'basicConstraints = critical, CA:false\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >"$WORK/ee.ext"
keygen() {  # NAME TYPE EMAIL  (the key line names TYPE: ec-p521, not GnuTLS's 528 bits)
  local n=$1 type=$2 email=$3 csr=$WORK/$1.csr
  if ! "$SSMCTL" -c "$WORK/c.toml" hsm keygen --type "$type" --subject "CN=$n test,O=Acme" --email "$email" \
       --csr "$csr" >"$WORK/kg-$n.out" 2>"$WORK/kg-$n.err"; then
    fail "hsm-keygen-$n" "$(grep -v '^info:' "$WORK/kg-$n.err" | tr '\n' ' ')"; return 1
  fi
  local text; text=$(openssl req -in "$csr" -noout -text 2>&1)
  if ! openssl req -in "$csr" -verify -noout >/dev/null 2>&1; then fail "hsm-keygen-$n" "openssl req -verify refused the CSR"
  elif ! grep -q "Subject: O = Acme, CN = $n test" <<<"$text"; then fail "hsm-keygen-$n" "subject: $(grep Subject: <<<"$text")"
  elif ! grep -q "email:$email" <<<"$text" || ! grep -q 'E-mail Protection' <<<"$text"; then fail "hsm-keygen-$n" "no SAN e-mail or EKU"
  else pass "hsm-keygen-$n"; fi
  "$SSMCTL" -c "$WORK/c.toml" hsm list >"$WORK/list-$n.out" 2>/dev/null
  if grep -q "^key label=$email .* key=$type certificate=none" "$WORK/list-$n.out"; then pass "hsm-list-$n-no-certificate-yet"
  else fail "hsm-list-$n-no-certificate-yet" "$(tr '\n' ' ' <"$WORK/list-$n.out")"; fi
  openssl x509 -req -in "$csr" -CA "$PKI/sub-ca.cert.pem" -CAkey "$PKI/sub-ca.key.pem" -set_serial "0x$(openssl rand -hex 12)" \
    -days 365 -copy_extensions copy -extfile "$WORK/ee.ext" -out "$WORK/$n.cert.pem" >>"$WORK/openssl.log" 2>&1 \
    || { fail "hsm-attach-$n" "the test CA did not issue"; return 1; }
  local before after; before=$(count_objects)
  if "$SSMCTL" -c "$WORK/c.toml" hsm import "$WORK/$n.cert.pem" >"$WORK/at-$n.out" 2>"$WORK/at-$n.err"; then
    after=$(count_objects)
    "$SSMCTL" -c "$WORK/c.toml" hsm list >"$WORK/list-$n.out" 2>/dev/null
    if [ "$after" != $((before + 1)) ]; then fail "hsm-attach-$n" "objects $before -> $after"
    elif grep -q "^certificate label=$email .*key=$type .*private_key=yes .*extractable=no" "$WORK/list-$n.out" \
         && ! grep -q "^key label=$email " "$WORK/list-$n.out"; then pass "hsm-attach-$n"
    else fail "hsm-attach-$n" "$(grep "$email" "$WORK/list-$n.out")"; fi
  else fail "hsm-attach-$n" "$(grep -v '^info:' "$WORK/at-$n.err" | tr '\n' ' ')"; fi
}
keygen kim rsa-2048 kim@acme.example
keygen lee ec-p256 lee@acme.example
keygen nan ec-p521 nan@acme.example
keygen ola ed25519 ola@acme.example
expect_refused hsm-attach-same-certificate-again 'already on the token' \
  "$SSMCTL" -c "$WORK/c.toml" hsm import "$WORK/kim.cert.pem"
"${P11[@]}" --list-objects --type privkey 2>/dev/null | grep -A4 'label: *kim@acme.example' >"$WORK/kim-p11.out"
if grep -q 'never extractable, local' "$WORK/kim-p11.out"; then pass hsm-keygen-key-never-extractable
else fail hsm-keygen-key-never-extractable "$(tr '\n' ' ' <"$WORK/kim-p11.out")"; fi

sign_with hsm-keygen-rsa-signs kim@acme.example "$WORK/kim.cert.pem"
sign_with hsm-keygen-p256-signs lee@acme.example "$WORK/lee.cert.pem"
sign_with hsm-keygen-p521-signs nan@acme.example "$WORK/nan.cert.pem"
if openssl req -in "$WORK/ola.csr" -noout -text 2>/dev/null | grep -A1 'Key Usage' | grep -qi 'agreement\|encipherment'
then fail hsm-keygen-ed25519-signing-only "an Ed25519 CSR asks for more than digitalSignature"
else pass hsm-keygen-ed25519-signing-only; fi

# --- decryption of mail encrypted by OpenSSL to the generated keys ---------------------------
decrypt_to() {  # NAME EMAIL CERT
  local name=$1 email=$2 cert=$3
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nFor %s only.\r\n' "$email" >"$WORK/$name.entity"
  openssl cms -encrypt -binary -aes-256-cbc -in "$WORK/$name.entity" -outform DER -out "$WORK/$name.der" "$cert" \
    >>"$WORK/openssl.log" 2>&1 || { fail "$name" "openssl cms -encrypt"; return; }
  { printf 'From: dave@partner.example\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@partner.example>\r\nMIME-Version: 1.0\r\n' "$email" "$name" "$name"
    printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    perl -MMIME::Base64 -e 'local $/; my $e = encode_base64(<STDIN>, ""); $e =~ s/(.{1,64})/$1\r\n/g; print $e' <"$WORK/$name.der"
  } >"$WORK/$name.eml"
  if ! "$SSMCTL" -c "$WORK/c.toml" process --direction in --from dave@partner.example --to "$email" \
       <"$WORK/$name.eml" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
    fail "$name" "ssmctl process: $(grep -E '^(decision|reply)' "$WORK/$name.err" | tr '\n' ' ')"; return
  fi
  if grep -q "For $email only." "$WORK/$name.out" && ! grep -qi 'pkcs7-mime' "$WORK/$name.out"; then pass "$name"
  else fail "$name" "not decrypted: $(grep -E '^(decision|reply)' "$WORK/$name.err" | tr '\n' ' ')"; fi
}
decrypt_to hsm-keygen-rsa-decrypts kim@acme.example "$WORK/kim.cert.pem"
decrypt_to hsm-keygen-p256-decrypts lee@acme.example "$WORK/lee.cert.pem"
decrypt_to hsm-imported-rsa-decrypts carol@acme.example "$PKI/carol.cert.pem"

# --- Ed25519 (SoftHSM 2.6.1 has CKM_EDDSA) ---------------------------------------------------
(
  set -e; cd "$D"
  openssl genpkey -algorithm ED25519 -out ed.key.pem
  openssl req -new -key ed.key.pem -subj "/O=SSM Test/CN=ed@acme.example" -out ed.csr
  printf 'basicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = emailProtection\nsubjectAltName = email:ed@acme.example\n' >ed.ext
  openssl x509 -req -in ed.csr -CA "$PKI/sub-ca.cert.pem" -CAkey "$PKI/sub-ca.key.pem" -set_serial 0x$(openssl rand -hex 8) \
    -days 365 -extfile ed.ext -out ed.cert.pem
  openssl pkcs12 -export -inkey ed.key.pem -in ed.cert.pem -passout pass:p12-secret -out ed.p12
) >>"$WORK/openssl.log" 2>&1 || fatal hsm-setup "Ed25519 PKCS#12"
if "$SSMCTL" -c "$WORK/c.toml" hsm import "$D/ed.p12" --password-file "$D/pw" >"$WORK/imp-ed.out" 2>"$WORK/imp-ed.err" \
   && grep -q 'key=ed25519' "$WORK/imp-ed.out"; then pass hsm-import-ed25519
else fail hsm-import-ed25519 "$(grep -v '^info:' "$WORK/imp-ed.err" | tr '\n' ' ')"; fi
# RFC 8419: Ed25519 in CMS signs with SHA-512 message digests. OpenSSL 3.0 cannot verify
# Ed25519 in CMS ("eddsa_digest_signverify_init: invalid digest", fixed in 3.2): it checks the
# structure and chain (-nosigs), GnuTLS's certtool checks the signature.
sed 's|^digest = .*|digest = "sha512"|' "$WORK/c.toml" >"$WORK/sha512.toml"
ed25519_signs() {  # NAME FROM CERT
  local name=$1 from=$2 cert=$3 E=$WORK/$1.split
  printf 'From: <%s>\r\nTo: <dave@partner.example>\r\nSubject: ed\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nEd25519 from the token.\r\n' \
    "$from" >"$WORK/$name.eml"
  if ! "$SSMCTL" -c "$WORK/sha512.toml" process --direction out --from "$from" --to dave@partner.example \
       <"$WORK/$name.eml" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
    fail "$name" "ssmctl process: $(grep -E '^(decision|reply)' "$WORK/$name.err" | tr '\n' ' ')"
  elif ! smime_split "$WORK/$name.out" "$E" || [ "$(cat "$E/kind")" != detached ]; then
    fail "$name" "not a detached signature"
  elif ! openssl cms -verify -nosigs -binary -inform DER -in "$E/sig.der" -content "$E/content" \
         -CAfile "$PKI/root-ca.cert.pem" -purpose smimesign -signer "$E/signer.pem" -out /dev/null >"$E/o.log" 2>&1 \
       || [ "$(openssl x509 -in "$E/signer.pem" -noout -fingerprint -sha256)" != "$(openssl x509 -in "$cert" -noout -fingerprint -sha256)" ]; then
    fail "$name" "openssl -nosigs: $(tr '\n' ' ' <"$E/o.log" | cut -c1-200)"
  elif ! certtool --p7-verify --inder --infile "$E/sig.der" --load-data "$E/content" \
         --load-ca-certificate "$PKI/root-ca.cert.pem" >"$E/certtool.log" 2>&1; then
    fail "$name" "certtool: $(grep -i 'status' "$E/certtool.log" | tr '\n' ' ')"
  else
    printf 'x' >>"$E/content"
    if certtool --p7-verify --inder --infile "$E/sig.der" --load-data "$E/content" \
         --load-ca-certificate "$PKI/root-ca.cert.pem" >/dev/null 2>&1; then
      fail "$name" "certtool accepted changed content"
    else pass "$name"; fi
  fi
}
ed25519_signs hsm-imported-ed25519-signs ed@acme.example "$D/ed.cert.pem"
ed25519_signs hsm-keygen-ed25519-signs ola@acme.example "$WORK/ola.cert.pem"

# --- a signing and a separate encryption key for one address (RFC 8551 §2.5.3) ---------------
# ivy signs with her signing key; the signature names her encryption certificate in
# sMIMEEncryptionKeyPreference and in Microsoft's attribute (Outlook), and carries it, so that
# correspondents encrypt to it.
issue_cert ivy-sign ivy@acme.example rsa "digitalSignature, nonRepudiation" || fatal hsm-setup "issue ivy-sign"
issue_cert ivy-enc ivy@acme.example rsa "keyEncipherment" || fatal hsm-setup "issue ivy-enc"
for k in ivy-sign ivy-enc; do
  openssl pkcs12 -export -inkey "$XPKI/$k.key.pem" -in "$XPKI/$k.cert.pem" -passout pass:p12-secret -out "$D/$k.p12" 2>>"$WORK/openssl.log" \
    || fatal hsm-setup "openssl pkcs12 $k"
  "$SSMCTL" -c "$WORK/c.toml" hsm import "$D/$k.p12" --password-file "$D/pw" --label "$k" >"$WORK/imp-$k.out" 2>&1 \
    || fail "hsm-import-$k" "$(grep -v '^info:' "$WORK/imp-$k.out" | tr '\n' ' ')"
done
printf 'From: <ivy@acme.example>\r\nTo: <dave@partner.example>\r\nSubject: key preference\r\nMessage-ID: <ivy@acme.example>\r\n\r\nhello\r\n' >"$WORK/ivy.eml"
cn=hsm-sign-names-encryption-certificate
if ! "$SSMCTL" -c "$WORK/c.toml" process --direction out --from ivy@acme.example --to dave@partner.example \
     <"$WORK/ivy.eml" >"$WORK/ivy.out" 2>"$WORK/ivy.err"; then
  fail "$cn" "ssmctl process: $(grep -v '^info:' "$WORK/ivy.err" | tail -n 2 | tr '\n' ' ')"
elif ! smime_split "$WORK/ivy.out" "$WORK/ivy-split" || [ "$(cat "$WORK/ivy-split/kind")" != detached ]; then
  fail "$cn" "not a detached signature: $PEER_DETAIL"
elif ! openssl cms -verify -binary -inform DER -in "$WORK/ivy-split/sig.der" -content "$WORK/ivy-split/content" \
       -CAfile "$PKI/root-ca.cert.pem" -out /dev/null 2>"$WORK/ivy-verify.err"; then
  fail "$cn" "openssl cms -verify: $(tr '\n' ' ' <"$WORK/ivy-verify.err")"
else
  SIGNED_CMS=$WORK/ivy-split/sig.der
  enc_serial=$(openssl x509 -in "$XPKI/ivy-enc.cert.pem" -noout -serial | cut -d= -f2)
  printed=$(openssl cms -cmsout -print -inform DER -in "$SIGNED_CMS" 2>&1)
  pref=$(printf '%s\n' "$printed" | grep -A20 'id-smime-aa-encrypKeyPref' | tr -d ' :\n' | tr 'a-f' 'A-F')
  # Microsoft's attribute too (Outlook looks for it): openssl prints its OID.
  mspref=$(printf '%s\n' "$printed" | grep -A20 '1\.3\.6\.1\.4\.1\.311\.16\.4' | tr -d ' :\n' | tr 'a-f' 'A-F')
  if ! printf '%s\n' "$printed" | grep -q 'id-smime-aa-encrypKeyPref'; then fail "$cn" "no sMIMEEncryptionKeyPreference"
  elif ! printf '%s' "$pref" | grep -q "$enc_serial"; then fail "$cn" "the preference does not name serial $enc_serial"
  elif ! printf '%s' "$mspref" | grep -q "$enc_serial"; then fail "$cn" "no Microsoft encryption key preference naming serial $enc_serial"
  elif ! openssl pkcs7 -inform DER -in "$SIGNED_CMS" -print_certs 2>/dev/null | grep -q "$(openssl x509 -in "$XPKI/ivy-enc.cert.pem" -noout -subject | sed 's/^subject=//')"; then
    fail "$cn" "the encryption certificate is not in the SignedData"
  else pass "$cn"; fi
fi

# --- the token by its serial number alone (PRODUCT §5: by label or serial) ---------------------
serial=$(softhsm2-util --show-slots 2>/dev/null | awk '/Serial number:/ { s = $3 } /Label:/ { if ($2 == "ssm-import") { print s; exit } }')
if [ -z "$serial" ]; then
  fail hsm-token-by-serial "softhsm2-util shows no serial for ssm-import"
else
  sed -e '/^token_label = /d' -e "s|^\[hsm\]|[hsm]\ntoken_serial = \"$serial\"|" "$WORK/c.toml" >"$WORK/serial.toml"
  if "$SSMCTL" -c "$WORK/serial.toml" hsm list >"$WORK/serial.out" 2>&1 && grep -q 'ola@acme.example' "$WORK/serial.out"; then
    pass hsm-token-by-serial
  else fail hsm-token-by-serial "$(tail -n 3 "$WORK/serial.out" | tr '\n' ' ')"; fi
fi

# --- ssm-milter -n checks what the daemon needs at start: module, PIN file, folders, user -------
check_n() {  # NAME WANT_TEXT CONFIG
  local rc=0
  "$SSM_BUILDDIR/ssm-milter" -c "$3" -n >"$WORK/$1.out" 2>&1 || rc=$?
  if [ "$rc" = 78 ] && grep -qF "$2" "$WORK/$1.out"; then pass "$1"
  else fail "$1" "exit $rc: $(tr '\n' ' ' <"$WORK/$1.out" | cut -c1-200)"; fi
}
if "$SSM_BUILDDIR/ssm-milter" -c "$WORK/c.toml" -n >"$WORK/n-good.out" 2>&1; then pass milter-n-good
else fail milter-n-good "$(tr '\n' ' ' <"$WORK/n-good.out")"; fi
sed "s|$TOKEN/pin|$TOKEN/no-such-pin|" "$WORK/c.toml" >"$WORK/n-pin.toml"
check_n milter-n-missing-pin-file "[hsm] pin_file $TOKEN/no-such-pin" "$WORK/n-pin.toml"
sed 's|^module = .*|module = "/nonexistent/libpkcs11.so"|' "$WORK/c.toml" >"$WORK/n-module.toml"
check_n milter-n-missing-module "[hsm] module /nonexistent/libpkcs11.so" "$WORK/n-module.toml"
sed 's|^spool_dir = .*|spool_dir = "/nonexistent/spool"|' "$WORK/c.toml" >"$WORK/n-spool.toml"
check_n milter-n-missing-spool-dir "[milter] spool_dir /nonexistent/spool: No such file or directory" "$WORK/n-spool.toml"
sed 's|^trust_anchors = .*|trust_anchors = "/nonexistent/trust"|' "$WORK/c.toml" >"$WORK/n-trust.toml"
check_n milter-n-missing-trust-anchors "[pki] trust_anchors /nonexistent/trust: No such file or directory" "$WORK/n-trust.toml"
sed 's|^user = .*|user = "no-such-user-ssm"|' "$WORK/c.toml" >"$WORK/n-user.toml"
if [ "$(id -u)" = 0 ]; then
  check_n milter-n-missing-user "[milter] user 'no-such-user-ssm' does not exist" "$WORK/n-user.toml"
else
  skip milter-n-missing-user "not running as root: the [milter] user is only switched to (and checked) as root"
fi

# --- a second token beside [hsm] ([[hsm.token]]): listed, checked by -n ------------------------
softhsm2-util --init-token --free --label ssm-second --so-pin 654321 --pin 123456 >/dev/null 2>&1 \
  || fatal hsm-setup "softhsm2-util --init-token (second) failed"
{ cat "$WORK/c.toml"; printf '\n[[hsm.token]]\ntoken_label = "ssm-second"\npin_file = "%s"\n' "$TOKEN/pin"; } >"$WORK/two.toml"
rc=0; "$SSMCTL" -c "$WORK/two.toml" hsm list >"$WORK/two.out" 2>"$WORK/two.err" || rc=$?
if [ "$rc" = 0 ] && grep -q '^token label=ssm-import ' "$WORK/two.out" && grep -q '^token label=ssm-second ' "$WORK/two.out"; then
  pass hsm-list-two-tokens
else fail hsm-list-two-tokens "exit $rc: $(tr '\n' ' ' <"$WORK/two.out" | cut -c1-200) $(tr '\n' ' ' <"$WORK/two.err" | cut -c1-200)"; fi
if "$SSM_BUILDDIR/ssm-milter" -c "$WORK/two.toml" -n >"$WORK/n-two.out" 2>&1; then pass milter-n-two-tokens
else fail milter-n-two-tokens "$(tr '\n' ' ' <"$WORK/n-two.out" | cut -c1-300)"; fi
sed "s|^pin_file = \"$TOKEN/pin\"\$|pin_file = \"$TOKEN/pin\"|; \$s|.*|pin_file = \"$TOKEN/no-such-second-pin\"|" "$WORK/two.toml" >"$WORK/n-two-pin.toml"
check_n milter-n-second-token-pin "[[hsm.token]] 'ssm-second' pin_file $TOKEN/no-such-second-pin" "$WORK/n-two-pin.toml"
# --token picks the token: a key pair generated into the second one is listed there only.
rc=0
"$SSMCTL" -c "$WORK/two.toml" hsm keygen --token ssm-second --type ec-p256 --subject "CN=pat test,O=Acme" \
  --email pat@acme.example --csr "$WORK/pat.csr" >"$WORK/kg-pat.out" 2>"$WORK/kg-pat.err" || rc=$?
"$SSMCTL" -c "$WORK/two.toml" hsm list --token ssm-second >"$WORK/two-second.out" 2>/dev/null
"$SSMCTL" -c "$WORK/two.toml" hsm list --token ssm-import >"$WORK/two-first.out" 2>/dev/null
if [ "$rc" = 0 ] && grep -q '^token label=ssm-second ' "$WORK/two-second.out" && ! grep -q 'ssm-import' "$WORK/two-second.out" \
   && grep -q '^key label=pat@acme.example .* key=ec-p256 certificate=none' "$WORK/two-second.out" \
   && ! grep -q 'pat@acme.example' "$WORK/two-first.out"; then
  pass hsm-token-option
else fail hsm-token-option "exit $rc: $(grep -v '^info:' "$WORK/kg-pat.err" | tr '\n' ' ') $(tr '\n' ' ' <"$WORK/two-second.out" | cut -c1-200)"; fi
rc=0; "$SSMCTL" -c "$WORK/two.toml" hsm list --token no-such-token >/dev/null 2>"$WORK/two-bad.err" || rc=$?
if [ "$rc" = 64 ] && grep -q "no configured token 'no-such-token'" "$WORK/two-bad.err"; then pass hsm-token-option-unknown
else fail hsm-token-option-unknown "exit $rc: $(tr '\n' ' ' <"$WORK/two-bad.err")"; fi
exit 0
