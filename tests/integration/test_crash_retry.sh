#!/bin/bash
# ssm-milter killed (SIGKILL) in the middle of a message must never let mail through unsigned:
#  1. direct: an SMTP client in the middle of DATA (envelope already seen by the milter); the
#     milter is killed; the end of DATA gets a 4xx; after a restart the re-sent message is
#     delivered signed.
#  2. post-queue topology (PRODUCT §1): Postfix pf1 (no milter) relays to pf2 (with the milter).
#     The milter is stopped (SIGSTOP) so pf2 is provably waiting for its reply in the middle of
#     pf1's delivery, then SIGKILLed; pf1 gets a 4xx and keeps the message deferred; after a
#     restart pf1's retry is delivered signed.
# At every point the sink holds only signed messages.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl softhsm2-util pkcs11-tool perl script ss
require_binaries
make_pki
make_token

start_sink || fatal crash-setup "smtp-sink did not start"
PF2_PORT=$(free_port); PF1_PORT=$(free_port); MILTER_PORT=$(free_port)
start_postfix pf2 "$PF2_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal crash-setup "Postfix pf2 did not start"
PF2=$PF_DIR
start_postfix pf1 "$PF1_PORT" "$PF2_PORT" "" || fatal crash-setup "Postfix pf1 did not start"
PF1=$PF_DIR
write_config "$WORK/ssm.toml" port="$MILTER_PORT"
start_milter "$WORK/ssm.toml" || fatal crash-setup "ssm-milter did not start"

msg=$WORK/msg.eml
sed 's/@SENDER@/alice@acme.example/; s/@RCPT@/someone@elsewhere.example/' \
  "$SSM_SRCDIR/tests/integration/messages/nested.eml" >"$msg"


# --- 1. direct: SIGKILL while the client is in the middle of DATA ---------------------------
# A hand-driven SMTP session (bash /dev/tcp) so the kill happens at a known protocol point.
smtp_reply() {   # reads one (multi-line) reply from fd 3 into REPLY_LINE (its last line)
  local line
  while IFS= read -r -t 30 -u 3 line; do
    line=${line%$'\r'}
    if [[ $line =~ ^[0-9]{3}\  ]]; then REPLY_LINE=$line; return 0; fi
    [[ $line =~ ^[0-9]{3}- ]] || break
  done
  REPLY_LINE="(no reply)"; return 1
}
smtp_step() {    # smtp_step COMMAND EXPECTED-CODE-PREFIX
  printf '%s\r\n' "$1" >&3
  smtp_reply && [[ $REPLY_LINE == "$2"* ]]
}
direct_ok=1
if exec 3<>"/dev/tcp/127.0.0.1/$PF2_PORT" && smtp_reply && [[ $REPLY_LINE == 220* ]] \
   && smtp_step "EHLO client.test.invalid" 250 && smtp_step "MAIL FROM:<alice@acme.example>" 250 \
   && smtp_step "RCPT TO:<someone@elsewhere.example>" 250 && smtp_step "DATA" 354; then
  total=$(wc -l <"$msg")
  head -n $((total / 2)) "$msg" | perl -pe 's/\r?\n/\r\n/; s/^\./../' >&3
  sleep 1
  # the milter has seen connect, HELO, MAIL and RCPT of this very transaction
  if [ -n "$(ss -Htn state established "( sport = :$MILTER_PORT )")" ]; then
    pass crash-direct-milter-in-transaction
  else
    direct_ok=0; fail crash-direct-milter-in-transaction "no milter connection during DATA"
  fi
  kill_milter
  tail -n +$((total / 2 + 1)) "$msg" | perl -pe 's/\r?\n/\r\n/; s/^\./../' >&3
  printf '.\r\n' >&3
  smtp_reply
  printf 'QUIT\r\n' >&3
  exec 3>&-
  case $REPLY_LINE in
    4*) note "end of DATA after the kill: $REPLY_LINE"; pass crash-direct-tempfail ;;
    *) direct_ok=0; fail crash-direct-tempfail "end of DATA after the milter died answered: $REPLY_LINE" ;;
  esac
else
  direct_ok=0
  fail crash-direct-tempfail "SMTP dialogue before the kill failed: ${REPLY_LINE:-connect}"
fi
[ "$direct_ok" = 1 ] && [ "$(pf_queue_count "$PF2")" -eq 0 ] && pass crash-direct-not-queued \
  || fail crash-direct-not-queued "pf2 queued $(pf_queue_count "$PF2") message(s) after the tempfail"
sleep 2
sink_all_signed crash-direct-nothing-delivered 0

# with the milter dead, a new transaction is refused temporarily too (milter_default_action)
if send_mail "$PF2_PORT" alice@acme.example someone@elsewhere.example "$msg"; then
  fail crash-dead-milter-tempfail "accepted while ssm-milter is down: $SMTP_REPLY"
else
  case $SMTP_REPLY in 4*) note "milter down: $SMTP_REPLY"; pass crash-dead-milter-tempfail ;;
    *) fail crash-dead-milter-tempfail "reply: $SMTP_REPLY" ;; esac
fi

start_milter "$WORK/ssm.toml" || fatal crash-restart "ssm-milter did not restart"
if send_mail "$PF2_PORT" alice@acme.example someone@elsewhere.example "$msg" && wait_for_delivery 1 30; then
  sink_all_signed crash-direct-resend-delivered-signed 1
else
  fail crash-direct-resend-delivered-signed "resend: ${SMTP_REPLY:-not delivered}"
fi

# --- 2. post-queue: pf1 -> pf2(+milter); SIGKILL while pf2 waits for the milter's reply -----
kill -STOP "$MILTER_PID"
if send_mail "$PF1_PORT" alice@acme.example someone@elsewhere.example "$msg"; then
  pass "crash-postqueue-accepted-by-pf1"
else
  fail crash-postqueue-accepted-by-pf1 "$SMTP_REPLY"
fi
# pf2's smtpd has connected and sent a milter command the stopped milter has not read
deadline=$((SECONDS + 30)) waiting=0
while [ $SECONDS -lt $deadline ]; do
  if ss -Htn state established "( sport = :$MILTER_PORT )" | awk '$1 > 0 { f = 1 } END { exit !f }'; then
    waiting=1; break
  fi
  sleep 0.2
done
[ "$waiting" = 1 ] && pass crash-postqueue-milter-mid-message \
  || fail crash-postqueue-milter-mid-message "pf2 never waited on the milter"
kill_milter
deadline=$((SECONDS + 60)) deferred=0
while [ $SECONDS -lt $deadline ]; do
  grep -q 'status=deferred' "$PF1/maillog" 2>/dev/null && { deferred=1; break; }
  sleep 0.5
done
if [ "$deferred" = 1 ]; then
  note "pf1: $(grep -o 'status=deferred.*' "$PF1/maillog" | head -n 1)"
  pass crash-postqueue-pf1-deferred
else
  fail crash-postqueue-pf1-deferred "pf1 did not defer: $(tail -n 3 "$PF1/maillog" | tr '\n' ' ')"
fi
[ "$(pf_queue_count "$PF1")" -ge 1 ] && pass crash-postqueue-pf1-keeps-message \
  || fail crash-postqueue-pf1-keeps-message "pf1's queue is empty"
sink_all_signed crash-postqueue-nothing-delivered-while-down 1

start_milter "$WORK/ssm.toml" || fatal crash-restart "ssm-milter did not restart"
pf_flush "$PF1"
if wait_for_delivery 2 60; then
  sink_all_signed crash-postqueue-retry-delivered-signed 2
else
  fail crash-postqueue-retry-delivered-signed "retry not delivered in 60 s (pf1 queue: $(pf_queue_count "$PF1"))"
fi
[ "$(pf_queue_count "$PF1")" -eq 0 ] && pass crash-postqueue-pf1-queue-empty \
  || fail crash-postqueue-pf1-queue-empty "pf1 still holds $(pf_queue_count "$PF1") message(s)"
stop_milter
