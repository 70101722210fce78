#!/bin/bash
# The token goes away while ssm-milter runs (PRODUCT §5: token removal → temporary failures,
# then automatic recovery when it returns; fail closed): SoftHSM's way to pull the token is to
# move its folder away. In the post-queue topology of PRODUCT §1 (Postfix pf1 without a milter
# relays to pf2 with ssm-milter):
#  1. before: a message is delivered signed;
#  2. token away: a message sent directly to pf2 gets a 4xx (nothing accepted, nothing
#     delivered), a message through pf1 stays deferred in pf1's queue, and the milter lives;
#  3. token back: without restarting the milter, a new message is delivered signed and pf1's
#     deferred message, retried, is delivered signed too.
# At every point the sink holds only signed messages.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token

start_sink || fatal outage-setup "smtp-sink did not start"
PF2_PORT=$(free_port); PF1_PORT=$(free_port); MILTER_PORT=$(free_port)
start_postfix pf2 "$PF2_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal outage-setup "Postfix pf2 did not start"
PF2=$PF_DIR
start_postfix pf1 "$PF1_PORT" "$PF2_PORT" "" || fatal outage-setup "Postfix pf1 did not start"
PF1=$PF_DIR
write_config "$WORK/ssm.toml" port="$MILTER_PORT"
start_milter "$WORK/ssm.toml" || fatal outage-setup "ssm-milter did not start"

# expect NAME TRUTH WHY: PASS when TRUTH is 1, else FAIL with WHY.
expect() { if [ "$2" = 1 ]; then pass "$1"; else fail "$1" "$3"; fi; }
message() {  # message NAME: a small message from alice in $WORK/NAME.eml
  printf 'From: <alice@acme.example>\r\nTo: <someone@elsewhere.example>\r\nSubject: %s\r\nMessage-ID: <%s@test.invalid>\r\n\r\noutage test %s\r\n' \
    "$1" "$1" "$1" >"$WORK/$1.eml"
}

# 1. before
form=$(send_probe before "$PF2_PORT" someone@elsewhere.example)
expect outage-before-signed "$([ "$form" = detached ] && echo 1 || echo 0)" "first message: $form"

# 2. the token's folder goes away
mv "$TOKEN/tokens" "$TOKEN/tokens-away" || fatal outage-away "cannot move the token folder"
message direct
send_mail "$PF2_PORT" alice@acme.example someone@elsewhere.example "$WORK/direct.eml"
rc=$?
if [ "$rc" -eq 4 ]; then pass outage-direct-tempfail; note "while the token is away: $SMTP_REPLY"
else fail outage-direct-tempfail "rc=$rc reply: $SMTP_REPLY"; fi
message relayed
send_mail "$PF1_PORT" alice@acme.example someone@elsewhere.example "$WORK/relayed.eml" \
  || fatal outage-relayed "pf1 did not accept the message: $SMTP_REPLY"
deadline=$((SECONDS + 60))
until grep -q 'status=deferred' "$PF1/maillog" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.3; done
if grep -q 'status=deferred' "$PF1/maillog"; then pass outage-relayed-deferred
  note "pf1: $(grep -m1 'status=deferred' "$PF1/maillog" | sed 's/.*status=deferred //')"
else fail outage-relayed-deferred "pf1 logged no deferral within 60 s"; fi
expect outage-queue-kept "$([ "$(pf_queue_count "$PF1")" -ge 1 ] && echo 1 || echo 0)" "pf1's queue is empty"
expect outage-milter-alive "$(milter_alive && echo 1 || echo 0)" "ssm-milter died while the token was away"
sink_all_signed outage-sink-signed-while-away 1

# 3. the token comes back: no restart
mv "$TOKEN/tokens-away" "$TOKEN/tokens" || fatal outage-back "cannot move the token folder back"
form=unsigned
deadline=$((SECONDS + 60))
n=0
while [ $SECONDS -lt $deadline ]; do
  n=$((n + 1))
  form=$(send_probe "back$n" "$PF2_PORT" someone@elsewhere.example)
  [ "$form" = detached ] && break
  sleep 2
done
if [ "$form" = detached ]; then pass outage-recovered; note "signed again after $n attempt(s)"
else fail outage-recovered "after the token returned: $form"; fi
pf_flush "$PF1"
deadline=$((SECONDS + 60))
until grep -q '^Message-ID: <relayed@test.invalid>' $(sink_files) 2>/dev/null || [ $SECONDS -ge $deadline ]; do
  sleep 0.5; pf_flush "$PF1"
done
if grep -q '^Message-ID: <relayed@test.invalid>' $(sink_files) 2>/dev/null; then pass outage-deferred-delivered
else fail outage-deferred-delivered "pf1's deferred message was not delivered after the token returned"; fi
expect outage-milter-alive-after "$(milter_alive && echo 1 || echo 0)" "ssm-milter died after the token returned"
sink_all_signed outage-sink-all-signed $((2 + n))
grep -E 'hsm|token' "$WORK/milter.log" | grep -v '^info: message' | tail -n 5 | while IFS= read -r l; do note "milter: $l"; done
# A clean stop after all this: SoftHSM 2.6.1 can crash in C_Finalize once its token folder
# vanished and came back in the process (hsm/key_store.h); the daemon must still exit 0.
stop_milter
expect outage-clean-stop "$([ "${MILTER_STATUS:-1}" -eq 0 ] && echo 1 || echo 0)" "ssm-milter exited with status ${MILTER_STATUS:-?} on SIGTERM"
