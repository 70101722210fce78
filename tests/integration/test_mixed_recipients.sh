#!/bin/bash
# Mixed recipients through real Postfix (PRODUCT §2.4, issue 5): one message to three
# recipients with three treatments —
#   dave@partner.example      encrypt to his own certificate (end to end)
#   hank@partner.example      encrypt to the partner's domain certificate (gateway to gateway)
#   someone@elsewhere.example sign only
# client -> pf1 (post-queue Postfix, DEFAULT retry timers) -> pf2 smtpd (+ssm-milter, with
# [reinjection]) -> smtp-sink, plus pf2's reinjection listener (+ssm-milter). With 452 4.5.3
# deferrals pf1 would deliver the other treatments only after its retry timer (300 s with
# Postfix defaults, bench/mixed-recipients.sh); with reinjection all three must arrive at once,
# each in its own form. Also: a forged marker grants nothing and is removed; an unreachable
# reinjection listener defers the whole message (nothing delivered, nothing lost).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl python3 softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
mkdir -p "$WORK/out"
. "$SSM_SRCDIR/tests/fixtures/mixed-recipients.sh"
make_reinjection_secret
RULES=$MIXED_RULES
start_sink || fatal mixed-setup "smtp-sink did not start"
PF2_PORT=$(free_port); MILTER_PORT=$(free_port); PF1_PORT=$(free_port); REINJECT_PORT=$(free_port)
# config NAME REINJECT_PORT: the milter configuration with [reinjection] to that port.
config() {
  write_config "$WORK/$1.toml" port="$MILTER_PORT" rules="$RULES" extra="$(static_directory_toml "$1")

$(reinjection_toml "$2")"
}
config main "$REINJECT_PORT"
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/main.toml" >"$WORK/check.log" 2>&1 \
  && pass mixed-config-checks || fail mixed-config-checks "$(tr '\n' ' ' <"$WORK/check.log")"
start_milter "$WORK/main.toml" || fatal mixed-setup "ssm-milter did not start"
PF_MASTER_EXTRA=$(reinjection_listener "$REINJECT_PORT") \
  start_postfix pf2 "$PF2_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal mixed-setup "pf2 did not start"
PF2=$PF_DIR
start_postfix pf1 "$PF1_PORT" "$PF2_PORT" "" "queue_run_delay = 300s" "minimal_backoff_time = 300s" \
  "maximal_backoff_time = 4000s" || fatal mixed-setup "pf1 did not start"

# --- one message, three treatments ---------------------------------------------------------
printf 'From: Alice <alice@acme.example>\r\nTo: dave@partner.example, hank@partner.example, someone@elsewhere.example\r\nSubject: three treatments\r\nMessage-ID: <mixed-1@acme.example>\r\n\r\nthe same text for everyone\r\n' >"$WORK/m.eml"
t0=$(date +%s.%N)
send_mail "$PF1_PORT" alice@acme.example dave@partner.example,hank@partner.example,someone@elsewhere.example "$WORK/m.eml" \
  || fatal mixed-send "pf1 refused: $SMTP_REPLY"
if wait_for_delivery 3 60; then pass mixed-three-deliveries
else fail mixed-three-deliveries "$(sink_count) of 3 deliveries within 60 s (pf1: $(grep -c 'status=deferred' "$PF_DIR/maillog") deferred)"; fi
declare -A file_for
for f in $(sink_files); do
  for r in $(sink_rcpts "$f" | tr -d '<>' | sed 's/ .*//'); do file_for[$r]=$f; done
done
for r in dave@partner.example hank@partner.example someone@elsewhere.example; do
  f=${file_for[$r]:-}
  if [ -n "$f" ]; then
    note "$r delivered $(awk -v a="$(stat -c %.9Y "$f")" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') s after submission (with 452 deferral and Postfix default timers: ~300 s)"
    sink_message "$f" "$WORK/out/${r%@*}.eml"
  fi
done
n_single=0
for f in $(sink_files); do [ "$(sink_rcpts "$f" | wc -l)" -eq 1 ] && n_single=$((n_single + 1)); done
[ "$n_single" -eq 3 ] && pass mixed-one-transaction-per-treatment \
  || fail mixed-one-transaction-per-treatment "$n_single of $(sink_count) deliveries have one recipient"
if grep -qi '^X-SSM-Reinjected' "$WORK"/out/*.eml 2>/dev/null; then fail mixed-marker-removed "a delivered message still carries X-SSM-Reinjected"
else pass mixed-marker-removed; fi

# dave: encrypted to his own certificate only (the domain key must not open it), signed inside
if [ -f "$WORK/out/dave.eml" ] && smime_envelope "$WORK/out/dave.eml" "$WORK/out/dave.p7m" \
   && decrypt_openssl "$WORK/out/dave.p7m" dave "$WORK/out/dave.plain" \
   && verify_openssl "$WORK/out/dave.plain" alice@acme.example; then pass mixed-dave-own-certificate
else fail mixed-dave-own-certificate "${PEER_DETAIL:-not delivered}"; fi
if [ -f "$WORK/out/dave.p7m" ] && decrypt_openssl "$WORK/out/dave.p7m" partner-domain "$WORK/out/dave-by-domain" 2>/dev/null; then
  fail mixed-dave-not-for-the-gateway "the partner's domain key decrypts dave's end-to-end message"
else pass mixed-dave-not-for-the-gateway; fi
# hank: encrypted to the domain certificate, signed inside
if [ -f "$WORK/out/hank.eml" ] && smime_envelope "$WORK/out/hank.eml" "$WORK/out/hank.p7m" \
   && decrypt_openssl "$WORK/out/hank.p7m" partner-domain "$WORK/out/hank.plain" \
   && verify_openssl "$WORK/out/hank.plain" alice@acme.example; then pass mixed-hank-domain-certificate
else fail mixed-hank-domain-certificate "${PEER_DETAIL:-not delivered}"; fi
# someone: signed, not encrypted
if [ -f "$WORK/out/someone.eml" ] && ! grep -qi 'enveloped-data' "$WORK/out/someone.eml" \
   && verify_openssl "$WORK/out/someone.eml" alice@acme.example; then pass mixed-someone-signed-only
else fail mixed-someone-signed-only "${PEER_DETAIL:-not delivered or encrypted}"; fi
grep -q 'split copies=' "$WORK/milter.log" && pass mixed-split-logged || fail mixed-split-logged "no 'split' log line"

# --- a forged marker from a client grants nothing and is removed ----------------------------
rm -f "$SINK_DIR"/*
printf 'X-SSM-Reinjected: v=1; t=%s; n=00112233445566778899aabb; mac=%064d\r\nFrom: <alice@acme.example>\r\nTo: someone@elsewhere.example\r\nSubject: forged\r\n\r\nforged marker\r\n' "$(date +%s)" 0 >"$WORK/forged.eml"
if send_mail "$PF2_PORT" alice@acme.example someone@elsewhere.example "$WORK/forged.eml" && wait_for_delivery 1 30; then
  sink_message "$(sink_files | head -n 1)" "$WORK/out/forged.eml"
  if grep -qi '^X-SSM-Reinjected' "$WORK/out/forged.eml"; then fail mixed-forged-marker-removed "delivered with the forged marker"
  elif ! grep -q 'reinjection-marker-invalid' "$WORK/milter.log"; then fail mixed-forged-marker-removed "no reinjection-marker-invalid log line"
  else pass mixed-forged-marker-removed; fi
else fail mixed-forged-marker-removed "not delivered: ${SMTP_REPLY:-}"; fi

# --- reinjection listener down: the whole message is deferred, nothing delivered -------------
rm -f "$SINK_DIR"/*
stop_milter
config down "$(free_port)"
start_milter "$WORK/down.toml" || fatal mixed-setup "ssm-milter (down) did not start"
send_mail "$PF2_PORT" alice@acme.example dave@partner.example,someone@elsewhere.example "$WORK/m.eml"
rc=$?
pf_wait_queue_empty "$PF2" 10   # anything accepted was queued before the reply: drained now
if [ "$rc" -eq 4 ] && [ "$(sink_count)" -eq 0 ]; then pass mixed-reinjection-down-defers-all
else fail mixed-reinjection-down-defers-all "rc $rc reply '$SMTP_REPLY', $(sink_count) delivered"; fi

# --- ssmctl process says which recipients would leave in a copy -------------------------------
"$SSM_BUILDDIR/ssmctl" -c "$WORK/main.toml" process --direction out --from alice@acme.example \
  --to someone@elsewhere.example --to dave@partner.example <"$WORK/m.eml" >"$WORK/out/ssmctl.eml" 2>"$WORK/ssmctl.err"
if grep -q '^split: dave@partner.example would leave in a separate copy' "$WORK/ssmctl.err"; then pass mixed-ssmctl-process-split
else fail mixed-ssmctl-process-split "$(tr '\n' ' ' <"$WORK/ssmctl.err" | cut -c1-300)"; fi
# Without [reinjection] the milter defers the second treatment (452 4.5.3) and the MTA delivers
# the message to the first: ssmctl process does the same instead of stopping at the refusal.
write_config "$WORK/defer.toml" port=1 rules="$RULES" extra="$(static_directory_toml defer)" || fatal mixed-setup "defer config"
rc=0
"$SSM_BUILDDIR/ssmctl" -c "$WORK/defer.toml" process --direction out --from alice@acme.example \
  --to dave@partner.example --to someone@elsewhere.example <"$WORK/m.eml" >"$WORK/out/defer.eml" 2>"$WORK/defer.err" || rc=$?
if [ "$rc" = 0 ] && grep -q '^rcpt: someone@elsewhere.example refused: 452 4.5.3' "$WORK/defer.err" &&
   grep -q 'smime-type=enveloped-data' "$WORK/out/defer.eml"; then pass mixed-ssmctl-process-refused-rcpt
else fail mixed-ssmctl-process-refused-rcpt "exit $rc: $(tr '\n' ' ' <"$WORK/defer.err" | cut -c1-300)"; fi

# --- no usable certificate, rule no_certificate = "return" (PRODUCT §2.4) -------------------
# nobody@partner.example has no certificate: instead of 550 at RCPT the message is accepted,
# dave gets it encrypted, and alice gets a delivery status notification from the null sender
# with her message attached; nobody never receives anything. Alone, the message is discarded.
stop_milter
rm -f "$SINK_DIR"/*
RULES='[[rule]]
name = "partners must be encrypted, else returned"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"
no_certificate = "return"

[[rule]]
name = "mail to this sender must be encrypted (no certificate)"
direction = "outbound"
to = ["locked@acme.example"]
encrypt = "mandatory"

[[rule]]
name = "others: signed"
direction = "outbound"
sign = "sender"
encrypt = "never"'
config ret "$REINJECT_PORT"
start_milter "$WORK/ret.toml" || fatal mixed-setup "ssm-milter (return) did not start"
printf 'From: Alice <alice@acme.example>\r\nTo: dave@partner.example, nobody@partner.example\r\nSubject: figures for the partner\r\nMessage-ID: <return-1@acme.example>\r\n\r\nthe figures\r\n' >"$WORK/ret.eml"
# check_notice FILE EXPECTED_RECIPIENT...: a multipart/report naming exactly these recipients,
# with the original message attached (Python's email package reads it independently).
check_notice() {
  python3 - "$@" <<'PY'
import email, email.policy, sys
top = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.compat32)
want = sorted(sys.argv[2:])
assert top['To'].strip() == '<alice@acme.example>', top['To']
assert 'X-SSM-Reinjected' not in top
# The notice passes the milter like any outbound message: here the domain key signs it.
msg = top.get_payload()[0] if top.get_content_type() == 'multipart/signed' else top
assert msg.get_content_type() == 'multipart/report', msg.get_content_type()
assert msg.get_param('report-type') == 'delivery-status'
parts = msg.get_payload()
assert [p.get_content_type() for p in parts] == ['text/plain', 'message/delivery-status', 'message/rfc822'], [p.get_content_type() for p in parts]
blocks = parts[1].get_payload()   # the per-message block, then one per recipient
got = sorted(b['Final-Recipient'].split(';', 1)[1].strip() for b in blocks[1:])
assert got == want, got
for b in blocks[1:]:
    assert b['Action'] == 'failed' and b['Status'] == '5.7.1', (b['Action'], b['Status'])
    assert 'encryption required' in b['Diagnostic-Code'], b['Diagnostic-Code']
original = parts[2].get_payload()[0]
assert original['Subject'] == 'figures for the partner', original['Subject']
assert original.get_payload().strip() == 'the figures', original.get_payload()
PY
}
send_mail "$PF2_PORT" alice@acme.example dave@partner.example,nobody@partner.example "$WORK/ret.eml"
rc=$?
if [ "$rc" -eq 0 ] && wait_for_delivery 2 60; then pass return-accepted-at-rcpt
else fail return-accepted-at-rcpt "rc $rc reply '$SMTP_REPLY', $(sink_count) delivered"; fi
notice= dave_file= bad_rcpt=
for f in $(sink_files); do
  sink_rcpts "$f" | grep -qi 'nobody@partner.example' && bad_rcpt=$f
  if sink_rcpts "$f" | grep -qi 'alice@acme.example'; then notice=$f; fi
  if sink_rcpts "$f" | grep -qi 'dave@partner.example'; then dave_file=$f; fi
done
[ -z "$bad_rcpt" ] && pass return-never-delivered-to-unencryptable || fail return-never-delivered-to-unencryptable "$bad_rcpt"
if [ -n "$dave_file" ] && sink_message "$dave_file" "$WORK/out/ret-dave.eml" && smime_envelope "$WORK/out/ret-dave.eml" "$WORK/out/ret-dave.p7m" \
   && decrypt_openssl "$WORK/out/ret-dave.p7m" dave "$WORK/out/ret-dave.plain" \
   && verify_openssl "$WORK/out/ret-dave.plain" alice@acme.example; then pass return-others-encrypted
else fail return-others-encrypted "${PEER_DETAIL:-dave got nothing}"; fi
if [ -n "$notice" ] && grep -q '^X-Mail-Args: <>' "$notice" && sink_message "$notice" "$WORK/out/notice.eml" \
   && check_notice "$WORK/out/notice.eml" nobody@partner.example 2>"$WORK/notice.err"; then pass return-notice-to-sender
else fail return-notice-to-sender "$(head -c 300 "$WORK/notice.err" 2>/dev/null) ${notice:-no notice for alice}"; fi
grep -q 'rcpt-returned rcpt=nobody@partner.example' "$WORK/milter.log" && grep -q ' returned to=alice@acme.example recipients=1' "$WORK/milter.log" \
  && pass return-logged || fail return-logged "no rcpt-returned/returned log lines"
# Every recipient returned: only the notice is delivered, the message itself is discarded.
rm -f "$SINK_DIR"/*
send_mail "$PF2_PORT" alice@acme.example nobody@partner.example "$WORK/ret.eml"
rc=$?
wait_for_delivery 1 60
pf_wait_queue_empty "$PF2" 10
f=$(sink_files | head -n 1)
if [ "$rc" -eq 0 ] && [ "$(sink_count)" -eq 1 ] && sink_rcpts "$f" | grep -qi 'alice@acme.example' \
   && grep -q 'action=returned' "$WORK/milter.log" && grep -q 'milter triggers DISCARD' "$PF2/maillog"; then
  pass return-alone-discarded
else fail return-alone-discarded "rc $rc, $(sink_count) delivered, postfix: $(grep -c 'DISCARD' "$PF2/maillog") discards"; fi
# The null sender cannot be returned to: its RCPT is refused as before.
out=$(python3 "$SSM_SRCDIR/tests/integration/smtp_rcpt.py" "$PF2_PORT" "" "$WORK/ret.eml" nobody@partner.example 2>&1)
case "$out" in *"RCPT nobody@partner.example 550 5.7.1"*) pass return-null-sender-refused ;;
  *) fail return-null-sender-refused "$(echo "$out" | tr '\n' ' ' | cut -c1-300)" ;; esac
# The notice itself refused for good (its recipient, the author, must get encrypted mail and
# has no certificate): no retry loop — the message is refused with the reason, which the
# client's MTA returns; nothing is delivered.
rm -f "$SINK_DIR"/*
send_mail "$PF2_PORT" locked@acme.example nobody@partner.example "$WORK/ret.eml"
rc=$?
pf_wait_queue_empty "$PF2" 10
case "$rc:$SMTP_REPLY" in
  *"550 5.7.1"*"encryption required for nobody@partner.example"*"the notice returning the message to its sender was refused"*)
    if [ "$(sink_count)" -eq 0 ]; then pass return-notice-refused-refuses-message
    else fail return-notice-refused-refuses-message "$(sink_count) delivered"; fi ;;
  *) fail return-notice-refused-refuses-message "rc $rc reply '$SMTP_REPLY'" ;;
esac
# ssmctl process says what the milter would do.
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ret.toml" process --direction out --from alice@acme.example \
  --to nobody@partner.example <"$WORK/ret.eml" >"$WORK/out/ret-ssmctl.eml" 2>"$WORK/ret-ssmctl.err"
rc=$?
if [ "$rc" = 0 ] && grep -q '^returned: nobody@partner.example goes back to the sender: 550 5.7.1' "$WORK/ret-ssmctl.err" \
   && grep -q '^discard: ' "$WORK/ret-ssmctl.err" && [ ! -s "$WORK/out/ret-ssmctl.eml" ]; then pass return-ssmctl-process
else fail return-ssmctl-process "exit $rc: $(tr '\n' ' ' <"$WORK/ret-ssmctl.err" | cut -c1-300)"; fi
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ret.toml" policy test --direction out --from alice@acme.example \
  --to nobody@partner.example >"$WORK/ret-policy.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -q 'no_certificate=return' "$WORK/ret-policy.out" \
   && grep -q '^  reply: 250 accepted, returned to the sender: 550 5.7.1 encryption required for nobody@partner.example' "$WORK/ret-policy.out"; then
  pass return-ssmctl-policy-test
else fail return-ssmctl-policy-test "exit $rc: $(tr '\n' ' ' <"$WORK/ret-policy.out" | cut -c1-300)"; fi
exit $((_ssm_failures > 0))
