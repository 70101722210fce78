#!/bin/bash
# Proves the interop peer helpers (tests/interop/peers.sh) with messages signed by
# `openssl cms -sign` (RSA PKCS#1 v1.5, RSA-PSS, ECDSA P-256/P-384; detached and opaque), and
# proves that each helper rejects tampered content, a wrong signer, an untrusted signer and a
# message without its issuing CA. No ssm-milter involved: this checks the checkers.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools openssl gpgsm gpgconf cmsutil certutil perl
make_pki
export OPENSSL_CONF=/dev/null

# mkmsg OUT NAME KEYNAME FORMAT [openssl -sign options...]: an RFC 5322 message (CRLF) whose
# body is an S/MIME signed entity made by openssl, as a mail client would send it.
inner=$WORK/inner.txt
printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello from the peer self-check.\r\nA second line.\r\n' >"$inner"
mkmsg() {
  local out=$1 key=$2 format=$3; shift 3
  local email; email=$(openssl x509 -in "$PKI/$key.cert.pem" -noout -email)
  local mode=()
  [ "$format" = opaque ] && mode=(-nodetach)
  { printf 'From: %s\nTo: someone@partner.example\nSubject: self-check %s\nDate: %s\nMessage-ID: <%s@selfcheck>\n' \
      "$email" "$(basename "$out")" "$(date -R)" "$RANDOM$RANDOM"
    openssl cms -sign "${mode[@]}" -in "$inner" -signer "$PKI/$key.cert.pem" -inkey "$PKI/$key.key.pem" \
      -certfile "$PKI/sub-ca.cert.pem" "$@"
  } | perl -pe 's/\r?\n/\r\n/' >"$out"
}

# ok NAME PEER FILE SIGNER / bad NAME PEER FILE SIGNER: the helper must accept / reject.
ok() {
  if "verify_$2" "$3" "$4"; then pass "$1"; else fail "$1" "$PEER_DETAIL"; fi
}
bad() {
  if "verify_$2" "$3" "$4"; then fail "$1" "accepted a message it must reject"; else pass "$1"; fi
}

peers="openssl gpgsm cmsutil"
declare -A signer=([rsa]=alice@acme.example [pss]=carol@acme.example [ec]=bob@acme.example [p384]=erin@acme.example)
for format in detached opaque; do
  mkmsg "$WORK/rsa-$format.eml" alice "$format" -md sha256
  mkmsg "$WORK/pss-$format.eml" carol "$format" -md sha256 -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:digest
  mkmsg "$WORK/ec-$format.eml" bob "$format" -md sha256
  mkmsg "$WORK/p384-$format.eml" erin "$format" -md sha384
  for alg in rsa pss ec p384; do
    for peer in $peers; do ok "selfcheck-$peer-$alg-$format" "$peer" "$WORK/$alg-$format.eml" "${signer[$alg]}"; done
  done
done

# RSA-PSS with OpenSSL's default salt (maximum length): OpenSSL and NSS accept it, gpgsm
# 2.2.40 rejects every salt length other than the hash length (recorded in tests/interop/README.md).
mkmsg "$WORK/pssmax.eml" carol detached -md sha256 -keyopt rsa_padding_mode:pss
ok selfcheck-openssl-pss-maxsalt openssl "$WORK/pssmax.eml" carol@acme.example
ok selfcheck-cmsutil-pss-maxsalt cmsutil "$WORK/pssmax.eml" carol@acme.example
bad selfcheck-gpgsm-pss-maxsalt-rejected gpgsm "$WORK/pssmax.eml" carol@acme.example

# Negative cases: every helper must reject them.
# 1. tampered detached content: one letter of the signed text changed (the MIME stays valid).
sed 's/Hello from the peer/Hello from the PEER/' "$WORK/rsa-detached.eml" >"$WORK/tampered-detached.eml"
cmp -s "$WORK/rsa-detached.eml" "$WORK/tampered-detached.eml" && fatal selfcheck-tamper "sed changed nothing"
# 2. tampered opaque content: the same change inside the CMS eContent (re-encoded base64).
perl -MMIME::Base64 -e '
  local $/; my $m = <STDIN>; my ($h, $b) = split(/\r\n\r\n/, $m, 2);
  my $der = decode_base64($b); $der =~ s/Hello from the peer/Hello from the PEER/ or die "no content\n";
  my $enc = encode_base64($der); $enc =~ s/\n/\r\n/g; print "$h\r\n\r\n$enc";' \
  <"$WORK/ec-opaque.eml" >"$WORK/tampered-opaque.eml" || fatal selfcheck-tamper "cannot tamper opaque"
# 3. a signer from a CA that is not the test root (self-signed, emailProtection).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/rogue.key" -out "$WORK/rogue.pem" -days 30 \
  -subj "/CN=alice@acme.example" -addext "subjectAltName=email:alice@acme.example" \
  -addext "extendedKeyUsage=emailProtection" -addext "keyUsage=critical,digitalSignature" 2>/dev/null
{ printf 'From: alice@acme.example\nTo: x@partner.example\nSubject: rogue\n'
  openssl cms -sign -in "$inner" -signer "$WORK/rogue.pem" -inkey "$WORK/rogue.key" -md sha256
} | perl -pe 's/\r?\n/\r\n/' >"$WORK/rogue.eml"
# 4. the issuing CA left out of the message (only the root is a trust anchor).
{ printf 'From: alice@acme.example\nTo: x@partner.example\nSubject: no chain\n'
  openssl cms -sign -in "$inner" -signer "$PKI/alice.cert.pem" -inkey "$PKI/alice.key.pem" -md sha256
} | perl -pe 's/\r?\n/\r\n/' >"$WORK/nochain.eml"
for peer in $peers; do
  bad "selfcheck-$peer-rejects-tampered-detached" "$peer" "$WORK/tampered-detached.eml" ""
  bad "selfcheck-$peer-rejects-tampered-opaque" "$peer" "$WORK/tampered-opaque.eml" ""
  bad "selfcheck-$peer-rejects-wrong-signer" "$peer" "$WORK/rsa-detached.eml" bob@acme.example
  bad "selfcheck-$peer-rejects-untrusted-signer" "$peer" "$WORK/rogue.eml" ""
  bad "selfcheck-$peer-rejects-missing-intermediate" "$peer" "$WORK/nochain.eml" ""
done
# 5. not signed at all: the splitter refuses it before any peer runs.
printf 'From: a@acme.example\r\nSubject: plain\r\n\r\nplain text\r\n' >"$WORK/plain.eml"
for peer in $peers; do bad "selfcheck-$peer-rejects-unsigned" "$peer" "$WORK/plain.eml" ""; done
