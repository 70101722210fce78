#!/bin/bash
# Mixed recipients (PRODUCT §2.4, issue 5): how long the recipients of one message that need
# different treatments wait, when ssm-milter defers them with 452 4.5.3 and a first Postfix
# (the client of the milter-enabled smtpd) retries them with its DEFAULT timers, and (mode
# reinject) when ssm-milter splits the message itself by reinjection.
#   client -> pf1 (no milter, Postfix defaults) -> pf2 smtpd (+ssm-milter) -> smtp-sink
# One message to three recipients: dave@partner.example (encrypt to his own certificate),
# hank@partner.example (encrypt to the partner's domain certificate), someone@elsewhere.example
# (sign only). Prints, per recipient, the seconds from submission to delivery at the sink.
# Usage (root): SSM_BUILDDIR=build bench/mixed-recipients.sh [defer|reinject] [TIMEOUT_S]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-defer} limit=${2:-900}
export SSM_SRCDIR=$top SSM_BUILDDIR=${SSM_BUILDDIR:-$top/build}
export SSM_WORK_DIR=${SSM_BENCH_DIR:-/tmp/ssm-bench-mixed}
rm -rf "$SSM_WORK_DIR"
unset SSM_TEST_TMP
. "$top/tests/integration/lib.sh"
require_tools postfix smtp-sink swaks softhsm2-util pkcs11-tool openssl
require_binaries
make_pki
make_token
. "$top/tests/fixtures/mixed-recipients.sh"
RULES=$MIXED_RULES
start_sink || fatal mixed-setup "smtp-sink did not start"
PF2_PORT=$(free_port); MILTER_PORT=$(free_port); PF1_PORT=$(free_port)
extra="[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\""
master_extra=
if [ "$mode" = reinject ]; then
  REINJECT_PORT=$(free_port)
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/reinject.secret"
  extra="$extra
[reinjection]
address = \"127.0.0.1:$REINJECT_PORT\"
secret_file = \"$WORK/reinject.secret\""
  master_extra="127.0.0.1:$REINJECT_PORT inet n - n - - smtpd -o smtpd_milters=$(milter_address "$MILTER_PORT")"
fi
write_config "$WORK/ssm.toml" port="$MILTER_PORT" rules="$RULES" extra="$extra"
start_milter "$WORK/ssm.toml" || fatal mixed-setup "ssm-milter did not start"
PF_MASTER_EXTRA=$master_extra start_postfix pf2 "$PF2_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal mixed-setup "pf2"
# pf1 keeps Postfix's default retry timers (lib.sh shortens them for tests).
start_postfix pf1 "$PF1_PORT" "$PF2_PORT" "" "queue_run_delay = 300s" "minimal_backoff_time = 300s" \
  "maximal_backoff_time = 4000s" || fatal mixed-setup "pf1"
printf 'From: <alice@acme.example>\r\nTo: dave, hank, someone\r\nSubject: mixed\r\n\r\nthree treatments\r\n' >"$WORK/m.eml"
t0=$(date +%s.%N)
send_mail "$PF1_PORT" alice@acme.example dave@partner.example,hank@partner.example,someone@elsewhere.example "$WORK/m.eml" \
  || fatal mixed-send "pf1 refused: $SMTP_REPLY"
# seen.txt: "RECIPIENT SECONDS" once per recipient, from the dump file's modification time.
: >"$WORK/seen.txt"
elapsed() { awk -v a="$1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }'; }
while [ "$(wc -l <"$WORK/seen.txt")" -lt 3 ] && [ "$(elapsed "$(date +%s.%N)" | cut -d. -f1)" -lt "$limit" ]; do
  for f in $(sink_files); do
    for r in $(sink_rcpts "$f" | tr -d '<>' | sed 's/ .*//'); do
      grep -q "^$r " "$WORK/seen.txt" || echo "$r $(elapsed "$(stat -c %.9Y "$f")")" >>"$WORK/seen.txt"
    done
  done
  sleep 0.5
done
echo "mode=$mode; first Postfix with default timers (queue_run_delay=300s minimal_backoff_time=300s maximal_backoff_time=4000s)"
for r in dave@partner.example hank@partner.example someone@elsewhere.example; do
  t=$(sed -n "s/^$r //p" "$WORK/seen.txt")
  if [ -n "$t" ]; then printf '  %-28s delivered after %s s\n' "$r" "$t"
  else printf '  %-28s not delivered within %s s\n' "$r" "$limit"; fi
done
grep -E "dsn=4.5.3" "$WORK/pf1/maillog" | cut -c1-220 | head -n 3
