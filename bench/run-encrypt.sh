#!/bin/bash
# Encryption throughput (see bench/README.md "Encryption throughput"): one ~51 MB message
# through `ssmctl process` (the milter's MessageProcessor pipeline: spool, MIME
# canonicalisation, header protection, CMS AES-256-GCM / AES-256-CBC to one RSA recipient,
# base64, output) beside `openssl cms -encrypt` and `openssl cms -encrypt -stream` on the same
# file and machine, best of BENCH_ENC_RUNS (3) each; ssmctl's peak RSS; the codec-only bench
# when tests/unit/test_cms_envelope is built. Needs no root, Postfix or network:
#   SSM_BUILDDIR=build bench/run-encrypt.sh [RESULTS.md]
# Rewrites the "## Encryption throughput" section of RESULTS.md (default bench/results.md),
# keeping every other section. bench/run.sh calls it at its end.
set -u
. "$(dirname "$0")/lib.sh" "${SSM_BENCH_ENC_DIR:-/tmp/ssm-bench-encrypt}"
out=${1:-$top/bench/results.md}
runs=${BENCH_ENC_RUNS:-3}
require_tools softhsm2-util pkcs11-tool openssl
[ -x "$SSM_BUILDDIR/ssmctl" ] || fatal bench-encrypt "no $SSM_BUILDDIR/ssmctl (make ssmctl)"
make_pki
make_token
load_start=$(loadavg)

# The message: a text/plain body of base64 lines (random, so nothing compresses or repeats),
# CRLF line ends, as the MTA hands it over. MB = 10^6 bytes of input.
mkdir -p "$WORK/enc-certs" "$WORK/enc-crls"
cp "$PKI/dave.cert.pem" "$WORK/enc-certs/"
{ printf 'From: zed@acme.example\r\nTo: dave@partner.example\r\nSubject: bench\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n'
  head -c $((50 * 1000 * 1000 * 3 / 4)) /dev/urandom | base64 -w 76 | sed 's/$/\r/'; } >"$WORK/enc-in.eml"
enc_bytes=$(stat -c %s "$WORK/enc-in.eml")
best_rate() {  # best_rate COMMAND...: best MB/s of $runs runs (input enc_bytes)
  local i best=0 t0 r
  for ((i = 0; i < runs; i++)); do
    t0=$(now)
    "$@" >/dev/null 2>"$WORK/enc-run.err" || { say "failed: $* ($(tail -n 1 "$WORK/enc-run.err"))"; echo 0; return; }
    r=$(awk -v b="$enc_bytes" -v s="$t0" -v e="$(now)" 'BEGIN { printf "%.1f", b / 1e6 / (e - s) }')
    best=$(awk -v a="$best" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
  done
  echo "$best"
}
ssmctl_encrypt() { "$SSM_BUILDDIR/ssmctl" -c "$1" process --direction out --from zed@acme.example --to dave@partner.example <"$WORK/enc-in.eml"; }
declare -A enc rss
for cipher in aes256-gcm aes256-cbc; do
  write_config "$WORK/enc-$cipher.toml" port=1 rules='[[rule]]
name = "encrypt"
direction = "outbound"
sign = "none"
encrypt = "mandatory"' pki="crls = \"$WORK/enc-crls\"
revocation = \"off\"" extra="[encryption]
cipher = \"$cipher\"
key_transport = \"pkcs1\"

[directory]
cache = \"$WORK/enc-cache\"
static_certificates = \"$WORK/enc-certs\""
  # One checked run first: the output must be the encrypted message, and openssl must decrypt
  # it back to the input's body (so a fast run is a correct run).
  ssmctl_encrypt "$WORK/enc-$cipher.toml" >"$WORK/enc-out.eml" 2>"$WORK/enc-run.err" \
    || fatal bench-encrypt "ssmctl process failed ($cipher): $(tail -n 2 "$WORK/enc-run.err")"
  grep -q "smime-type=" "$WORK/enc-out.eml" || fatal bench-encrypt "ssmctl process did not encrypt ($cipher)"
  openssl cms -decrypt -in "$WORK/enc-out.eml" -inkey "$PKI/dave.key.pem" -out "$WORK/enc-dec.eml" 2>"$WORK/enc-dec.err" \
    || fatal bench-encrypt "openssl cannot decrypt our $cipher output: $(tail -n 1 "$WORK/enc-dec.err")"
  cmp -s <(sed '1,/^\r$/d' "$WORK/enc-dec.eml") <(sed '1,/^\r$/d' "$WORK/enc-in.eml") \
    || fatal bench-encrypt "decrypted $cipher body differs from the input body"
  rm -f "$WORK/enc-out.eml" "$WORK/enc-dec.eml"
  /usr/bin/time -o "$WORK/enc-rss" -f '%M' "$SSM_BUILDDIR/ssmctl" -c "$WORK/enc-$cipher.toml" process \
    --direction out --from zed@acme.example --to dave@partner.example <"$WORK/enc-in.eml" >/dev/null 2>&1
  rss[$cipher]=$(tail -n 1 "$WORK/enc-rss")   # KiB, peak resident set of the whole process
  say "encryption $cipher: ssmctl process, openssl cms -encrypt, openssl cms -encrypt -stream ..."
  ocipher=-aes-256-${cipher#aes256-}
  enc[ssm,$cipher]=$(best_rate ssmctl_encrypt "$WORK/enc-$cipher.toml")
  enc[ossl,$cipher]=$(best_rate env OPENSSL_CONF=/dev/null openssl cms -encrypt "$ocipher" -in "$WORK/enc-in.eml" -out /dev/null "$PKI/dave.cert.pem")
  enc[osst,$cipher]=$(best_rate env OPENSSL_CONF=/dev/null openssl cms -encrypt -stream "$ocipher" -in "$WORK/enc-in.eml" -out /dev/null "$PKI/dave.cert.pem")
  say "  ${enc[ssm,$cipher]} / ${enc[ossl,$cipher]} / ${enc[osst,$cipher]} MB/s, ssmctl peak RSS ${rss[$cipher]} KiB"
done
load_after=$(loadavg)
# The CMS engineer's codec-only bench (no MIME, no base64), when built.
cms_bench=
if [ -x "$SSM_BUILDDIR/tests/unit/test_cms_envelope" ]; then
  cms_bench=$(SSM_SRCDIR=$top "$SSM_BUILDDIR/tests/unit/test_cms_envelope" CmsEnvelopeBench 2>/dev/null | grep 'bench cms_envelope' | sed 's/^ *//')
fi
rm -f "$WORK/enc-in.eml"

{
  echo "## Encryption throughput"
  echo
  echo "\`bench/run-encrypt.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPU(s), load average $load_start before"
  echo "and $load_after after (1/5/15 min; the machine is shared with other engineers' builds and tests);"
  echo "ssmctl from \`$SSM_BUILDDIR\`, $(openssl version | cut -d' ' -f1-2)."
  echo "One $((enc_bytes / 1000000)) MB text message (base64 lines, CRLF), one RSA-2048 recipient (PKCS#1 v1.5),"
  echo "best of $runs, MB = 10^6 input bytes per second of wall time (process start included for all)."
  echo "\`ssmctl process\` runs the milter's whole pipeline (spool, MIME canonicalisation, header"
  echo "protection, CMS, base64, the rewritten message on stdout); \`openssl cms -encrypt\` writes S/MIME"
  echo "(base64) too. Each cipher's ssmctl output was decrypted by \`openssl cms -decrypt\` and compared"
  echo "with the input body before timing."
  echo
  echo "| cipher | ssmctl process MB/s | openssl cms -encrypt MB/s | openssl cms -encrypt -stream MB/s | ours / openssl -stream | ssmctl peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|"
  for cipher in aes256-gcm aes256-cbc; do
    echo "| $cipher | **${enc[ssm,$cipher]}** | ${enc[ossl,$cipher]} | ${enc[osst,$cipher]} |" \
         "$(ratio "${enc[ssm,$cipher]}" "${enc[osst,$cipher]}") | $(( ${rss[$cipher]:-0} / 1024 )) MiB |"
  done
  if [ -n "$cms_bench" ]; then
    echo
    echo "Codec only (\`tests/unit/test_cms_envelope CmsEnvelopeBench\`: EnvelopeEncoder on 50 MB in memory,"
    echo "DER, no MIME/base64, beside \`openssl cms -encrypt -binary -outform DER\`):"
    echo
    printf '%s\n' "$cms_bench" | sed 's/^/    /'
  fi
  echo
} >"$out.new"
replace_section "Encryption throughput" "$out.new" "$out"
sed -n '/^## Encryption throughput/,/^## [^E]/p' "$out" | sed '$d'
