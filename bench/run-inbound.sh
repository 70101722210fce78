#!/bin/bash
# Inbound benchmark of ssm-milter (see bench/README.md, "Inbound"). Run as root:
#   SSM_BUILDDIR=build bench/run-inbound.sh [RESULTS.md]
# Messages signed by a partner (RSA-2048, PKCS#1 v1.5, SHA-256, opaque signed-data) and then
# encrypted to one of our users (RSA-2048 key in SoftHSM, AES-256-CBC, PKCS#1 v1.5), all made by
# `openssl cms`, are sent by bench/inject.py -> Postfix smtpd (+ ssm-milter on a unix socket,
# inbound: the client is outside internal_networks) -> smtp -> smtp-sink: decrypt+verify
# messages/s for 4 KB and 1 MB plaintexts at 1, 4 and 16 SMTP sessions, beside the same
# Postfix without the milter (same injector) and the token's raw RSA decryption rate
# (bench/decrypt_rate), then ssm-milter's peak RSS (VmHWM) for one ~50 MB inbound message.
# Writes bench/results-inbound.md (or RESULTS.md). Counts: BENCH_SMALL_COUNT (200),
# BENCH_LARGE_COUNT (20), BENCH_BIG_PLAINTEXT (26000000 bytes: ~50 MB on the wire).
set -u
. "$(dirname "$0")/lib.sh" "${SSM_BENCH_DIR:-/tmp/ssm-bench-inbound}"
out=${1:-$top/bench/results-inbound.md}
. "$top/tests/interop/inbound.sh"
small_count=${BENCH_SMALL_COUNT:-200}
large_count=${BENCH_LARGE_COUNT:-20}
big_plain=${BENCH_BIG_PLAINTEXT:-26000000}   # bytes: about 50 MB on the wire once signed, encrypted, base64
require_tools postfix smtp-sink softhsm2-util pkcs11-tool openssl python3
require_binaries
[ -x "$SSM_BUILDDIR/bench/decrypt_rate" ] || fatal bench-setup "bench/decrypt_rate not built (make bench/decrypt_rate)"
make_pki
make_token dave
export OPENSSL_CONF=/dev/null
FROM=nina@partner.example RCPT=dave@partner.example
issue_cert nina "$FROM" rsa "digitalSignature, keyEncipherment" || fatal bench-setup "issue nina"

# make_message PLAINTEXT_BYTES OUT: a text/plain entity of about that size (base64 lines of
# random bytes), signed by nina (opaque signed-data, her chain included) and encrypted to dave.
make_message() {
  local n=$1 o=$2
  { printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n'
    head -c $((n * 3 / 4)) /dev/urandom | base64 -w 76 | sed 's/$/\r/'; } >"$o.entity"
  openssl cms -sign -binary -nodetach -stream -outform DER -md sha256 -in "$o.entity" \
    -signer "$XPKI/nina.cert.pem" -inkey "$XPKI/nina.key.pem" -certfile "$PKI/sub-ca.cert.pem" -out "$o.sig" \
    && { printf 'Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n'
         _b64 "$o.sig"; } >"$o.inner" \
    && openssl cms -encrypt -binary -stream -outform DER -in "$o.inner" -aes-256-cbc -recip "$PKI/dave.cert.pem" -out "$o.der" \
    && wrap_enveloped "$o.der" "$o" bench "$FROM" "$RCPT" \
    && rm -f "$o.sig" "$o.inner" "$o.der"
}
mkdir -p "$WORK/m"
make_message 4096 "$WORK/m/4k.eml" && make_message 1048576 "$WORK/m/1m.eml" \
  && make_message $big_plain "$WORK/m/50m.eml" || fatal bench-setup "openssl cms failed"
size_of() { stat -c %s "$1"; }

start_smtp_sink

MILTER_PORT=$(free_port); SOCK_ID=$(free_port); WITH_PORT=$(free_port); WITHOUT_PORT=$(free_port)
SOCKET=$(milter_socket_spec "$SOCK_ID" unix) || fatal bench-setup "no socket folder"
mkdir -p "$WORK/certs"
inbound_config "$WORK/ssm.toml" "$MILTER_PORT" '' "[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" 'revocation = "off"' || fatal bench-setup "config"
sed -i "s|^socket = .*|socket = \"$SOCKET\"|" "$WORK/ssm.toml"
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm.toml" -n >"$WORK/check.log" 2>&1 \
  || fatal bench-config "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"
start_milter "$WORK/ssm.toml" || fatal bench-setup "ssm-milter did not start"
start_postfix with-milter "$WITH_PORT" "$SINK_PORT" "$SOCKET" "default_process_limit = 200" \
  || fatal bench-setup "Postfix (with milter) did not start"
PF_WITH=$PF_DIR
start_postfix no-milter "$WITHOUT_PORT" "$SINK_PORT" "" "default_process_limit = 200" \
  || fatal bench-setup "Postfix (no milter) did not start"
PF_WITHOUT=$PF_DIR

# One message first: it must be decrypted and its signature verified, else nothing is measured.
"$top/bench/inject.py" "$WITH_PORT" "$FROM" "$RCPT" "$WORK/m/4k.eml" 1 1 >/dev/null \
  || fatal bench-check "the first message was not accepted: $(tail -n 3 "$WORK/milter.log" | tr '\n' ' ')"
grep 'action=decrypt' "$WORK/milter.log" | grep -q 'smime=pass' \
  || fatal bench-check "ssm-milter did not decrypt and verify the first message: $(grep 'message ' "$WORK/milter.log" | tail -n 1)"
CHECK_LINE=$(grep ' message ' "$WORK/milter.log" | tail -n 1)

# run PFDIR PORT FILE COUNT SESSIONS: messages/s from the first connection to the last
# delivery at the sink.
run() {
  local pf=$1 port=$2 file=$3 count=$4 sessions=$5 before start end n
  before=$(sent_count "$pf")
  start=$(now)
  "$top/bench/inject.py" "$port" "$FROM" "$RCPT" "$file" "$count" "$sessions" >"$WORK/inject.log" 2>&1 \
    || { say "inject.py: $(tail -n 2 "$WORK/inject.log")"; echo 0; return; }
  n=$(wait_sent "$pf" "$before" "$count" 600)
  end=$(now)
  [ "$n" -ge "$count" ] || { say "only $n of $count delivered"; echo 0; return; }
  awk -v c="$count" -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", c / (e - s) }'
}

load_start=$(loadavg)
declare -A rate mms
for f in 4k 1m; do
  count=$small_count; [ $f = 1m ] && count=$large_count
  for sessions in 1 4 16; do
    say "$f, $sessions sessions, $count messages: Postfix alone..."
    rate[no,$f,$sessions]=$(run "$PF_WITHOUT" "$WITHOUT_PORT" "$WORK/m/$f.eml" "$count" "$sessions")
    l0=$(wc -l <"$WORK/milter.log")
    rate[ssm,$f,$sessions]=$(run "$PF_WITH" "$WITH_PORT" "$WORK/m/$f.eml" "$count" "$sessions")
    mms[$f,$sessions]=$(median_ms "$l0" decrypt)
    say "  ${rate[no,$f,$sessions]} msg/s alone, ${rate[ssm,$f,$sessions]} msg/s with ssm-milter (median ${mms[$f,$sessions]} ms)"
  done
done
load_after=$(loadavg)
decrypted=$(grep -c 'action=decrypt' "$WORK/milter.log")
verified=$(grep 'action=decrypt' "$WORK/milter.log" | grep -c 'smime=pass')
expected=$((1 + 3 * small_count + 3 * large_count))

# The token's raw RSA-2048 decryption rate (dave's key, CKM_RSA_X_509, as the milter does it).
raw1=$("$SSM_BUILDDIR/bench/decrypt_rate" "$SSM_MODULE" ssm-test "$TOKEN/pin" "$RCPT" 1 2000 2>"$WORK/raw.err")
raw4=$("$SSM_BUILDDIR/bench/decrypt_rate" "$SSM_MODULE" ssm-test "$TOKEN/pin" "$RCPT" 4 2000 2>>"$WORK/raw.err")
[ -n "$raw1" ] && [ -n "$raw4" ] || fatal bench-raw "decrypt_rate: $(cat "$WORK/raw.err")"
raw=$raw4; [ "$raw1" -gt "$raw4" ] && raw=$raw1
say "token raw decryption rate: $raw1/s (1 thread), $raw4/s (4 threads)"

# Peak RSS of a fresh ssm-milter for one ~50 MB inbound message.
stop_milter
start_milter "$WORK/ssm.toml" || fatal bench-rss "ssm-milter did not restart"
hwm_before=$(awk '/^VmHWM/ { print $2 }' "/proc/$MILTER_PID/status")
l0=$(wc -l <"$WORK/milter.log")
before=$(sent_count "$PF_WITH")
"$top/bench/inject.py" "$WITH_PORT" "$FROM" "$RCPT" "$WORK/m/50m.eml" 1 1 >"$WORK/inject-50m.log" 2>&1 \
  || say "50 MB message: $(tail -n 2 "$WORK/inject-50m.log")"
wait_sent "$PF_WITH" "$before" 1 300 >/dev/null
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$MILTER_PID/status")
big_line=$(tail -n +"$((l0 + 1))" "$WORK/milter.log" | grep ' message ' | tail -n 1)
stop_milter
say "peak RSS (VmHWM) for a 50 MB inbound message: $((hwm / 1024)) MiB (at start: $((hwm_before / 1024)) MiB)"

# Finer than lib.sh's ratio: one decimal below 10 % (small ratios, e.g. to the token's raw rate).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else if (100 * a / b < 10) printf "%.1f %%", 100 * a / b; else printf "%.0f %%", 100 * a / b }'; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1024 }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
target_rss=$([ "$hwm" -lt $((64 * 1024)) ] && echo met || echo "NOT met")
{
  echo "## Inbound: decrypt + verify"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/run-inbound.sh\` on $(nproc) CPU(s); ssm-milter from"
  echo "\`$SSM_BUILDDIR\` on a unix socket, \`[hsm] sessions = 4\`. Machine load (\`uptime\`, 1/5/15 min):"
  echo "$load_start before, $load_after after the message runs (shared machine)."
  echo
  echo "Messages: a text/plain entity signed by a partner (\`openssl cms -sign\`, RSA-2048 PKCS#1 v1.5,"
  echo "SHA-256, opaque signed-data with the signer's chain) then encrypted to our user"
  echo "(\`openssl cms -encrypt -aes-256-cbc\`, RSA-2048 PKCS#1 v1.5 key transport to a key in SoftHSM),"
  echo "sent by \`bench/inject.py\` (Python smtplib, one prepared file) through Postfix smtpd + the"
  echo "milter in the inbound direction; messages/s from the first connection to the last"
  echo "\`status=sent\` at the sink. \"4 KB\": $(kb 4096) plaintext, $(kb "$(size_of "$WORK/m/4k.eml")") on the wire;"
  echo "\"1 MB\": $(kb 1048576) plaintext, $(mb "$(size_of "$WORK/m/1m.eml")") on the wire. \"ms\": median time inside"
  echo "ssm-milter (its log's ms=). Each message costs the token one RSA decryption."
  echo
  echo "| message | sessions | Postfix alone msg/s | + ssm-milter decrypt+verify msg/s | / Postfix alone | / token raw decrypt rate | ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for f in 4k 1m; do
    label="4 KB × $small_count"; [ $f = 1m ] && label="1 MB × $large_count"
    for sessions in 1 4 16; do
      echo "| $label | $sessions | ${rate[no,$f,$sessions]} | **${rate[ssm,$f,$sessions]}** |" \
           "$(ratio "${rate[ssm,$f,$sessions]}" "${rate[no,$f,$sessions]}") |" \
           "$(ratio "${rate[ssm,$f,$sessions]}" "$raw") | ${mms[$f,$sessions]} |"
    done
  done
  echo
  echo "- Token raw RSA-2048 decryption rate (bench/decrypt_rate: hsm::measure_decrypt_rate through our"
  echo "  KeyStore, raw CKM_RSA_X_509 as the milter uses it, 2 s per run): **$raw1/s** with 1 thread,"
  echo "  **$raw4/s** with 4 threads."
  echo "- Messages decrypted according to ssm-milter's log: $decrypted, of which with a passing"
  echo "  signature: $verified (expected $expected each)."
  echo "- Peak RSS (VmHWM) of a fresh ssm-milter after one inbound message of"
  echo "  $(mb "$(size_of "$WORK/m/50m.eml")") on the wire ($(mb $big_plain) plaintext, signed then encrypted):"
  echo "  **$((hwm / 1024)) MiB** (after start-up: $((hwm_before / 1024)) MiB) → target < 64 MiB **$target_rss**."
  echo "  Its log line: \`$(printf '%s' "$big_line" | sed 's/`//g')\`"
  echo "- Log line of the check message: \`$(printf '%s' "$CHECK_LINE" | sed 's/`//g')\`"
} >"$out"
cat "$out"
