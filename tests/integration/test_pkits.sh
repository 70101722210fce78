#!/bin/bash
# RFC 5280 certification path validation of inbound signatures against NIST PKITS (Public Key
# Interoperability Test Suite, 2011 edition), revocation in hard-fail mode.
#
# Why: PKITS is the reference test suite for RFC 5280 path validation (signatures, validity,
# name chaining, CRLs, self-issued certificates, basicConstraints, keyUsage, policies, name
# constraints, distribution points, delta CRLs, critical extensions). Our inbound verifier must
# reach PKITS's verdict for every path it supports, and fail closed (never accept an invalid
# path) for the ones it does not.
#
# Data: the 224 S/MIME messages PKITS_data/smime/Signed<Test>.eml of the Debian package
# python3-cryptography-vectors (scripts/install-deps.sh); each SignedData carries the path's
# CA certificates and CRLs. Per test, offline through `ssmctl process --direction in` (the
# milter's own pipeline), a [pki] of its own: trust_anchors = the PKITS trust anchor only,
# intermediates = the CA certificates carried in the message (the signer's certificate left
# out), crls = the CRLs carried in the message, revocation = "hard-fail", no OCSP, no
# distribution-point fetching.
#
# Expectations come from PKITS, not from our binary: pkits_expected.txt (the test name's
# Valid/Invalid prefix; PKITS's default-input verdict for the unprefixed tests).
# Reading of our result, from the Authentication-Results field:
#   path valid:        smime=pass, or smime=fail with reason "From address does not match the
#                      signer certificate" (only reached after the path validated; the PKITS
#                      certificates do not name sender@testcertificates.gov)
#   path not accepted: anything else (fail with another reason, temperror, neutral, permerror),
#                      exit 1 or 2; exit 78 (the trust store refuses a CRL file of the test:
#                      configuration error) counts as "not accepted" for an Invalid test and
#                      as a failure for a Valid one.
# A crash, a timeout (60 s), another exit status or a missing Authentication-Results is a FAIL.
#
# One result line per PKITS test: pkits-<section>-<Test>. Tests we document as not supported
# are in SKIP_TABLE below (SKIP with the reason); a listed test that now meets its expectation
# is a PASS with a note asking to remove it from the table. Everything else must meet its
# expectation (a crash or timeout always FAILs, listed or not). The 224 cases run with 2
# parallel workers (result files per test, then one sequential pass in pkits_expected.txt
# order): about 15 s on 2 cores.
. "$(dirname "$0")/lib.sh"
require_tools openssl awk sed xargs timeout perl softhsm2-util pkcs11-tool
require_binaries
T0=$SECONDS

PKITS=${SSM_PKITS_DIR:-/usr/lib/python3/dist-packages/cryptography_vectors/x509/PKITS_data}
EXPECTED=$SSM_SRCDIR/tests/integration/pkits_expected.txt
[ -d "$PKITS/smime" ] && [ -f "$PKITS/certs/TrustAnchorRootCertificate.crt" ] \
  || fatal pkits-data "PKITS data missing under $PKITS (Debian package python3-cryptography-vectors; run scripts/install-deps.sh)"
[ -f "$EXPECTED" ] || fatal pkits-data "$EXPECTED missing"

# --- tests we do not support ------------------------------------------------------------------
# <TestName> | <what is unsupported>. Only tests whose outcome still disagrees with PKITS.
SKIP_TABLE=$(cat <<'EOF'
ValidDSASignaturesTest4                            | DSA signatures not supported (GnuTLS 3.7 / our verifier: dsa-with-sha1, smime=neutral)
ValidDSAParameterInheritanceTest5                  | DSA signatures not supported, DSA parameter inheritance included (GnuTLS 3.7 / our verifier): the CA's DSA-signed CRL is refused, exit 78
EOF
)

# --- set-up: token, trust anchor, base configuration -------------------------------------------
make_pki
make_token alice
export OPENSSL_CONF=/dev/null
mkdir -p "$WORK/ta" "$WORK/t" "$WORK/certs-none"
openssl x509 -inform DER -in "$PKITS/certs/TrustAnchorRootCertificate.crt" -out "$WORK/ta/TrustAnchorRootCertificate.pem" 2>"$WORK/ta.log" \
  || fatal pkits-setup "trust anchor: $(tail -n 1 "$WORK/ta.log")"
write_config "$WORK/base.toml" socket="inet:1@127.0.0.1" pki='crls = "@CRLS@"
revocation = "hard-fail"
ocsp = false
crl_distribution_points = false' extra='[directory]
cache = "@CACHE@"
static_certificates = "'"$WORK"'/certs-none"' || fatal pkits-setup "write_config"
# Per test: its own intermediates, CRLs, spool and certificate cache; only the PKITS anchor.
sed -i -e 's|^trust_anchors = .*|trust_anchors = "'"$WORK"'/ta"|' \
  -e 's|^intermediates = .*|intermediates = "@INT@"|' -e 's|^spool_dir = .*|spool_dir = "@SPOOL@"|' \
  -e 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/base.toml"
for k in '@INT@' '@CRLS@' '@SPOOL@' '@CACHE@' "$WORK/ta"; do
  grep -qF "$k" "$WORK/base.toml" || fatal pkits-setup "base configuration lacks $k"
done

# --- the expectations must cover exactly the PKITS messages -----------------------------------
grep -v -e '^#' -e '^[[:space:]]*$' "$EXPECTED" >"$WORK/expected"
awk '{ print $2 }' "$WORK/expected" | sort >"$WORK/names.expected"
(cd "$PKITS/smime" && ls) | sed -n 's/^Signed\(.*\)\.eml$/\1/p' | sort >"$WORK/names.data"
if cmp -s "$WORK/names.expected" "$WORK/names.data" && [ "$(wc -l <"$WORK/names.data")" -eq 224 ] \
   && awk 'NF != 3 || $3 !~ /^(valid|invalid)$/ { bad = 1 } END { exit bad }' "$WORK/expected"; then
  pass pkits-expectations-cover-all-messages
else
  fail pkits-expectations-cover-all-messages "pkits_expected.txt and $PKITS/smime differ: $(diff "$WORK/names.expected" "$WORK/names.data" | grep '^[<>]' | head -n 5 | tr '\n' ' ')"
fi
printf '%s\n' "$SKIP_TABLE" | awk -F' *[|] *' 'NF >= 2 { print $1 }' | while read -r n; do
  grep -qx -- "$n" "$WORK/names.expected" || note "skip table names $n, which is no PKITS test"
done

# --- one test (runs in a worker): result in $WORK/t/NAME/result as RC US AR US DETAIL (US: \x1f) --
pkits_one() {
  local n=$1 d=$WORK/t/$1 m=$PKITS/smime/Signed$1.eml rc ar detail
  mkdir -p "$d/int" "$d/crls" "$d/spool" "$d/cache"
  {
    openssl smime -pk7out -in "$m" -out "$d/p7.pem" \
      && openssl pkcs7 -in "$d/p7.pem" -print_certs -out "$d/all.pem"
  } >"$d/extract.log" 2>&1 || { printf 'extract\037\037%s\n' "$(tail -n 1 "$d/extract.log")" >"$d/result"; return 0; }
  # the signer's certificate (signature not checked here: that is the verifier's job)
  openssl cms -verify -noverify -nosigs -in "$m" -signer "$d/signer.pem" -out /dev/null >>"$d/extract.log" 2>&1 \
    || : >"$d/signer.pem"
  # every certificate but the signer's into int/, every CRL into crls/ (PEM text compared:
  # both come from the same DER through OpenSSL's encoder)
  awk -v d="$d" '
    FILENAME == ARGV[1] { if (/^-----BEGIN CERTIFICATE/) { s = 1; b = "" } if (s) b = b $0 "\n"
                          if (/^-----END CERTIFICATE/) { signer[b] = 1; s = 0 } next }
    /^-----BEGIN (CERTIFICATE|X509 CRL)-----$/ { blk = ""; kind = ($0 ~ /CRL/) ? "crl" : "cert"; inb = 1 }
    inb { blk = blk $0 "\n" }
    inb && /^-----END / { inb = 0
      if (kind == "crl") { f = sprintf("%s/crls/r%02d.pem", d, nr++) }
      else if (blk in signer) { next }
      else { f = sprintf("%s/int/c%02d.pem", d, nc++) }
      printf "%s", blk > f; close(f) }' "$d/signer.pem" "$d/all.pem"
  sed -e "s#@INT@#$d/int#" -e "s#@CRLS@#$d/crls#" -e "s#@SPOOL@#$d/spool#" -e "s#@CACHE@#$d/cache#" \
    "$WORK/base.toml" >"$d/conf.toml"
  timeout -k 5 60 "$SSM_BUILDDIR/ssmctl" -c "$d/conf.toml" process --direction in \
    --from sender@testcertificates.gov --to recipient@testcertificates.gov <"$m" >"$d/out.eml" 2>"$d/err.txt"
  rc=$?
  # our Authentication-Results (authserv-id mx.acme.example), unfolded
  ar=$(perl -e 'local $/; open(my $f, "<:raw", $ARGV[0]) or exit; my $m = <$f>; $m =~ s/\r\n/\n/g;
        my ($h) = split(/\n\n/, $m, 2); $h =~ s/\n[ \t]+/ /g;
        for (split /\n/, $h) { if (/^Authentication-Results:[ \t]*(mx\.acme\.example;.*)$/i) { print "$1"; last } }' "$d/out.eml")
  detail=$(grep -v -E '^(info|debug):' "$d/err.txt" | tr '\037\n' '  ' | cut -c1-300)
  printf '%s\037%s\037%s\n' "$rc" "$ar" "$detail" >"$d/result"
}
export -f pkits_one
export WORK PKITS SSM_BUILDDIR OPENSSL_CONF

awk '{ print $2 }' "$WORK/expected" | xargs -P 2 -n 1 bash -c 'pkits_one "$1"' pkits_one

# --- verdicts, in PKITS order -----------------------------------------------------------------
# ours NAME: sets OURS (accepted | rejected | config: exit 78 | error) and WHY from the worker's
# result file.
ours() {
  local rc ar detail res reason
  if [ ! -f "$WORK/t/$1/result" ]; then OURS=error WHY="no result (worker did not run)"; return; fi
  IFS=$'\037' read -r rc ar detail <"$WORK/t/$1/result"
  res=$(printf '%s' "$ar" | sed -n 's/.*[; ]smime=\([a-z]*\).*/\1/p')
  reason=$(printf '%s' "$ar" | sed -n 's/.*[; ]smime=[a-z]* reason="\([^"]*\)".*/\1/p')
  case $rc in
    0) ;;
    1|2) OURS=rejected WHY="exit $rc: $detail"; return ;;
    78) OURS=config WHY="exit 78 (configuration refused): $detail"; return ;;
    extract) OURS=error WHY="cannot take certificates and CRLs out of the message: $detail"; return ;;
    124|137) OURS=error WHY="ssmctl timed out (60 s)"; return ;;
    *) OURS=error WHY="exit $rc: $detail"; return ;;
  esac
  case $res in
    pass) OURS=accepted WHY="smime=pass" ;;
    fail) if [ "$reason" = "From address does not match the signer certificate" ]; then
            OURS=accepted WHY="path validated (smime=fail: $reason)"
          else OURS=rejected WHY="smime=fail reason=\"$reason\""; fi ;;
    temperror|neutral|permerror) OURS=rejected WHY="smime=$res reason=\"$reason\"" ;;
    *) OURS=error WHY="no smime result in Authentication-Results [${ar:-none}]: $detail" ;;
  esac
}

while read -r sec n exp; do
  name=pkits-$sec-$n
  ours "$n"
  case $exp/$OURS in
    valid/accepted | invalid/rejected | invalid/config) ok=1 ;;
    *) ok=0 ;;
  esac
  why_skip=$(printf '%s\n' "$SKIP_TABLE" | awk -F' *[|] *' -v n="$n" '$1 == n { print $2; exit }')
  if [ "$ok" = 1 ]; then
    pass "$name"
    [ -z "$why_skip" ] || note "$n meets its expectation now ($WHY): remove it from SKIP_TABLE"
  elif [ -n "$why_skip" ] && [ "$OURS" != error ]; then
    skip "$name" "unsupported: $why_skip (PKITS expects $exp; ours: $WHY)"
  else
    fail "$name" "PKITS expects $exp; ours: $WHY"
  fi
done <"$WORK/expected"
note "224 PKITS cases in $((SECONDS - T0)) s"
