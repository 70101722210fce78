#!/bin/bash
# Generated end-entity certificate shapes (tests/integration/make_cert_shapes.py: key types, key
# usage, extended key usage, addresses, basic constraints, unknown extensions, validity, the
# issuing CA's signature algorithm, certificate policies) judged by the gateway and compared with
# the generator's RFC 5280 / RFC 8550 oracle:
#   enc-NAME          the certificate in a static folder: ssmctl cert lookup ADDR chooses it,
#                     refuses it (candidate usable=no) or has none naming the address
#   sign-NAME         a message signed with it by `openssl cms -sign`: ssmctl process --direction in
#                     gives smime=pass or smime=fail (not for X25519, which cannot sign, nor
#                     Ed25519, which OpenSSL 3.0's cms cannot sign with: test_interop_bouncycastle.sh)
#   sign-NAME-v15-label  an id-RSASSA-PSS key's signature labelled rsaEncryption: smime=fail
#   ossl-enc-NAME     `openssl verify -purpose smimeencrypt` / smimesign agree with the oracle's
#   ossl-sign-NAME    model of OpenSSL's purpose checks (which differ from RFC 8550 where the
#                     generator says: anyExtendedKeyUsage alone, ECDH keys without keyEncipherment)
# No daemon, Postfix, token or network: ssmctl reads the configuration only. The cache (where
# ssmctl process harvests valid signers' certificates) is in $WORK: each run starts empty.
. "$(dirname "$0")/lib.sh"
require_tools python3 openssl
require_binaries
make_pki
TOKEN=$WORK/no-token  # [hsm] pin_file is named in the configuration but never read here
S=$WORK/shapes
python3 "$SSM_SRCDIR/tests/integration/make_cert_shapes.py" "$PKI" "$S" >"$WORK/gen.log" 2>&1 \
  || fatal shapes-generate "$(tail -n 3 "$WORK/gen.log")"
mkdir -p "$WORK/certs" "$WORK/intermediates"
cp "$S"/certs/*.cert.pem "$WORK/certs/" && cp "$PKI/sub-ca.cert.pem" "$S/ec-ca.cert.pem" "$WORK/intermediates/" \
  || fatal shapes-setup "copying certificates"
write_config "$WORK/ssm.toml" port=1 pki='revocation = "off"
ocsp = false
crl_distribution_points = false' extra="[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" || fatal shapes-setup "write_config"
sed -i "s#^intermediates = .*#intermediates = \"$WORK/intermediates\"#" "$WORK/ssm.toml"
CTL() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" "$@"; }
cat "$PKI/sub-ca.cert.pem" "$S/ec-ca.cert.pem" >"$WORK/untrusted.pem"
printf 'Content-Type: text/plain\r\n\r\nshape test\r\n' >"$WORK/inner.txt"
ar() { perl -0ne 'while (/^Authentication-Results:(.*?)\r?\n(?![ \t])/msg) { my $v = $1; $v =~ s/\r?\n[ \t]+/ /g; print "$v\n" }' "$1"; }

# sign_case CASE WANT WHY [OPENSSL-OPTION...]: signs with $cert/$key (of the loop below), runs
# the message through ssmctl process --direction in and compares smime= with WANT.
sign_case() {
  local case=$1 want=$2 why=$3 m=$WORK/signed-$1 res; shift 3
  if openssl cms -sign -md sha256 -in "$WORK/inner.txt" -signer "$cert" -inkey "$key" "$@" -nodetach -out "$m.smime" 2>"$m.err"; then
    { printf 'From: %s\r\nTo: alice@acme.example\r\nSubject: shape %s\r\n' "$from" "$name"; cat "$m.smime"; } >"$m.eml"
    CTL process --direction in --from "$from" --to alice@acme.example <"$m.eml" >"$m.out" 2>"$m.perr"
    res=$(ar "$m.out" | grep -o 'smime=[a-z]*' | head -n 1)
    [ "$res" = "smime=$want" ] && pass "$case" \
      || fail "$case" "gateway ${res:-no result}, oracle smime=$want ($why): $(ar "$m.out" | tr '\n' ' ' | cut -c1-300) $(tail -n 1 "$m.perr")"
  else
    fail "$case" "openssl cms -sign: $(tail -n 1 "$m.err")"
  fi
}

while IFS=$'\t' read -r name cert key addr from enc enc_why sign sign_why ossl_enc ossl_sign; do
  # (a) encryption recipient
  out=$WORK/lookup-$name
  CTL cert lookup "$addr" >"$out" 2>&1; rc=$?
  if [ "$rc" -eq 0 ] && grep -q '^chosen subject=' "$out"; then got=usable
  elif [ "$rc" -eq 1 ] && grep -q '^ *candidate .*usable=no' "$out"; then got=refused
  elif [ "$rc" -eq 1 ] && grep -q '^chosen none' "$out" && ! grep -q '^ *candidate ' "$out"; then got=none
  else got="exit $rc"; fi
  [ "$got" = "$enc" ] && pass "enc-$name" \
    || fail "enc-$name" "gateway $got, oracle $enc ($enc_why): $(grep -E '^ *candidate|^chosen' "$out" | tr '\n' ' ' | cut -c1-400)"
  # (b) signer
  if [ "$sign" != - ]; then
    # OpenSSL 3.0 signs with an id-RSASSA-PSS key by PSS but labels the signature rsaEncryption
    # unless told the padding; so labelled, RFC 4055 §1.2 (the key is for RSASSA-PSS only) makes
    # it a wrong signature, which the gateway rightly fails: sign-NAME-v15-label checks that.
    keyopt=()
    case $key in *rsapss*) keyopt=(-keyopt rsa_padding_mode:pss) ;; esac
    sign_case "sign-$name" "$sign" "$sign_why" "${keyopt[@]}"
    [ ${#keyopt[@]} -eq 0 ] || sign_case "sign-$name-v15-label" fail "PSS key, signature labelled rsaEncryption (RFC 4055 §1.2)"
  fi
  # (c) OpenSSL's purpose checks against the oracle's model of them
  for p in enc sign; do
    want=$ossl_enc purpose=smimeencrypt
    [ $p = sign ] && want=$ossl_sign purpose=smimesign
    if openssl verify -CAfile "$PKI/root-ca.cert.pem" -untrusted "$WORK/untrusted.pem" -purpose $purpose "$cert" \
      >"$WORK/v-$p-$name" 2>&1; then v=ok; else v=fail; fi
    [ "$v" = "$want" ] && pass "ossl-$p-$name" \
      || fail "ossl-$p-$name" "openssl verify -purpose $purpose $v, model $want: $(tail -n 2 "$WORK/v-$p-$name" | tr '\n' ' ')"
  done
done <"$S/manifest.tsv"
