#!/bin/bash
# ssm-milter against MTAs other than Postfix: the milter protocol driven directly by
# tests/integration/milter_client.py (our MTA side, written from libmilter's mfdef.h). Shows:
# - offered every no-reply extension (as Postfix and Sendmail 8.14+ do), ssm-milter takes the
#   ones it can honour (connect, MAIL FROM, headers, body) and sends no answer to those steps,
#   while RCPT TO and the end of the message are answered;
# - offered only the skip-step flags of version 2 (Sendmail 8.13), it skips what it does not use
#   (HELO, end of headers) and answers every other step, one answer each;
# - two messages on one connection are both signed, and each result verifies with
#   `openssl cms -verify` (header edits and the new body applied as an MTA applies them);
# - a peer that breaks the protocol (oversized packet, unknown command, connection cut in the
#   middle of a message) loses its connection only: the milter stays up for the next one.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools python3 openssl softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token
CLIENT=$SSM_SRCDIR/tests/integration/milter_client.py

MILTER_PORT=$(free_port)
write_config "$WORK/ssm.toml" port="$MILTER_PORT"
start_milter "$WORK/ssm.toml" || fatal protocol-setup "ssm-milter did not start"
SOCKET=$(sed -n 's/^socket *= *"\(.*\)"[[:space:]]*$/\1/p' "$WORK/ssm.toml" | head -n 1)

mkdir -p "$WORK/in"
for k in 1 2; do
  printf 'From: Alice <alice@acme.example>\r\nTo: <someone@elsewhere.example>\r\nSubject: protocol %s\r\nMessage-ID: <protocol-%s@test.invalid>\r\nX-Folded: first line\r\n\tsecond line\r\n\r\nHello %s.\r\nA second line.\r\n' \
    "$k" "$k" "$k" >"$WORK/in/m$k.eml"
done

# run_client NAME OFFER: one session with both messages; output in $WORK/NAME.out.
run_client() {
  timeout 120 python3 "$CLIENT" "$SOCKET" "$2" "$WORK/$1" "$WORK/in/m1.eml" "$WORK/in/m2.eml" >"$WORK/$1.out" 2>&1
}
# answers NAME STEP: the answers logged for STEP, one per line.
answers() { awk -v s="$2" '$1 == s { print $2 }' "$WORK/$1.out"; }
same_lines() { [ "$(sort -u)" = "$1" ]; }

# --- offered everything (Postfix's offer) -----------------------------------------------------
if run_client all all; then pass protocol-all-session; else fail protocol-all-session "$(tail -n 3 "$WORK/all.out" | tr '\n' ' ')"; fi
answers all connect | same_lines none && pass protocol-all-connect-no-reply \
  || fail protocol-all-connect-no-reply "connect answers: $(answers all connect | tr '\n' ' ')"
answers all mail | same_lines none && pass protocol-all-mail-no-reply \
  || fail protocol-all-mail-no-reply "MAIL FROM answers: $(answers all mail | tr '\n' ' ')"
answers all rcpt | same_lines continue && pass protocol-all-rcpt-answered \
  || fail protocol-all-rcpt-answered "RCPT TO answers: $(answers all rcpt | tr '\n' ' ')"
{ answers all headers; answers all body; } | same_lines none && pass protocol-all-headers-body-no-reply \
  || fail protocol-all-headers-body-no-reply "header/body answers: $(answers all headers; answers all body)"
answers all unasked | same_lines none && answers all after-eom | same_lines none \
  && pass protocol-all-nothing-unasked || fail protocol-all-nothing-unasked "an answer nobody asked for arrived"
answers all eom | same_lines continue && pass protocol-all-eom-continue \
  || fail protocol-all-eom-continue "end-of-message answers: $(answers all eom | tr '\n' ' ')"

# --- offered the version 2 skip-step flags only (Sendmail 8.13) ----------------------------------
if run_client v2 v2; then pass protocol-v2-session; else fail protocol-v2-session "$(tail -n 3 "$WORK/v2.out" | tr '\n' ' ')"; fi
{ answers v2 helo; answers v2 eoh; } | same_lines skipped && pass protocol-v2-unused-steps-skipped \
  || fail protocol-v2-unused-steps-skipped "$(grep -E '^(helo|eoh) ' "$WORK/v2.out" | tr '\n' ' ')"
{ answers v2 connect; answers v2 mail; answers v2 rcpt; answers v2 data; answers v2 headers; answers v2 body; } \
  | same_lines continue && pass protocol-v2-every-step-answered \
  || fail protocol-v2-every-step-answered "$(grep -v '^negotiated' "$WORK/v2.out" | tr '\n' ' ')"
answers v2 eom | same_lines continue && answers v2 after-eom | same_lines none && answers v2 unasked | same_lines none \
  && pass protocol-v2-eom-continue || fail protocol-v2-eom-continue "$(grep -E '^(eom|after-eom|unasked)' "$WORK/v2.out" | tr '\n' ' ')"

# --- the results: two signed messages per session, each verifying --------------------------------
for run in all v2; do
  for k in 1 2; do
    f=$WORK/$run.$k.eml
    if [ ! -s "$f" ]; then fail "protocol-$run-signed-$k" "no result"; continue; fi
    form=$(signed_form "$f")
    if [ "$form" = detached ] && verify_openssl "$f" alice@acme.example && grep -q "Hello $k." "$f" \
       && grep -q '^Subject: protocol '"$k" "$f"; then
      pass "protocol-$run-signed-$k"
    else
      fail "protocol-$run-signed-$k" "form=$form ${PEER_DETAIL:-}"
    fi
  done
done

# --- an MTA that sends no {daemon_name} ---------------------------------------------------------
# Postfix with milter_connect_macros that leave it out: originating_daemons cannot be told, and
# mail from the submission service would be taken for inbound (neither signed nor encrypted).
# Every recipient gets 451 4.3.0 instead, and nothing is rewritten, when nothing else shows
# the mail to be outbound (a second milter with 127.0.0.1 outside internal_networks); from an
# internal network it goes on.
IN_PORT=$(free_port)
write_config "$WORK/ssm-in.toml" port="$IN_PORT"
sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/ssm-in.toml"
FIRST_PID=$MILTER_PID
MILTER_PORT=$IN_PORT start_milter "$WORK/ssm-in.toml" || fatal protocol-setup "second ssm-milter did not start"
MILTER_PID=$FIRST_PID  # milter_alive below: the first one
IN_SOCKET=$(sed -n 's/^socket *= *"\(.*\)"[[:space:]]*$/\1/p' "$WORK/ssm-in.toml" | head -n 1)
MILTER_DAEMON_NAME=- timeout 120 python3 "$CLIENT" "$IN_SOCKET" all "$WORK/nodaemon" "$WORK/in/m1.eml" \
  >"$WORK/nodaemon.out" 2>&1
MILTER_DAEMON_NAME=- run_client nodaemon-inside all
if [ "$(signed_form "$WORK/nodaemon-inside.1.eml")" = detached ]; then pass protocol-no-daemon-name-internal-signed
else fail protocol-no-daemon-name-internal-signed "$(grep -E '^(rcpt|eom)' "$WORK/nodaemon-inside.out" | tr '\n' ' ')"; fi
if grep -q '^rcpt reply:451 4.3.0 ' "$WORK/nodaemon.out" && answers nodaemon edits | same_lines 0 \
   && grep -q 'sends no {daemon_name}' "$WORK/milter.log"; then
  pass protocol-no-daemon-name-tempfails
else
  fail protocol-no-daemon-name-tempfails "$(grep -E '^(rcpt|eom|edits|protocol-error)' "$WORK/nodaemon.out" | tr '\n' ' ')"
fi

# --- peers that break the protocol --------------------------------------------------------------
# bad_peer NAME PYTHON: sends raw bytes (PYTHON builds them in b) on a fresh connection, then
# the milter must still serve a whole session.
bad_peer() {
  timeout 30 python3 - "$SOCKET" "$2" <<'EOF' >"$WORK/bad-$1.out" 2>&1
import socket, struct, sys
spec, code = sys.argv[1], sys.argv[2]
if spec.startswith("unix:"):
    s = socket.socket(socket.AF_UNIX); s.connect(spec[5:])
else:
    port = spec[5:].split("@")[0]; s = socket.create_connection(("127.0.0.1", int(port)))
s.settimeout(10)
def pkt(cmd, data=b""): return struct.pack("!I", len(data) + 1) + cmd + data
b = b""
exec(code)
s.sendall(b)
try:
    got = s.recv(4096)
    while got:
        got = s.recv(4096)
    print("closed")
except socket.timeout:
    print("still-open")
EOF
  if milter_alive && run_client "after-$1" all && [ "$(signed_form "$WORK/after-$1.1.eml")" = detached ]; then
    pass "protocol-bad-$1"
  else
    fail "protocol-bad-$1" "peer: $(cat "$WORK/bad-$1.out"); next session: $(tail -n 2 "$WORK/after-$1.out" 2>/dev/null | tr '\n' ' ')"
  fi
}
bad_peer oversized 'b = struct.pack("!I", 0x7fffffff) + b"O" + b"x" * 64'
bad_peer unknown-command 'b = pkt(b"O", struct.pack("!III", 6, 0x1ff, 0)) + pkt(b"Z", b"junk")'
bad_peer cut-mid-message 'b = pkt(b"O", struct.pack("!III", 6, 0x1ff, 0x1fffff & ~0x100000)) + pkt(b"C", b"h\x004" + struct.pack("!H", 1) + b"127.0.0.1\x00") + pkt(b"M", b"<alice@acme.example>\x00") + pkt(b"R", b"<someone@elsewhere.example>\x00") + pkt(b"L", b"Subject\x00cut\x00") + pkt(b"B", b"partial body")
s.sendall(b); s.shutdown(socket.SHUT_WR); b = b""'
bad_peer zero-length 'b = struct.pack("!I", 0) * 4'

milter_alive && pass protocol-milter-survives || fail protocol-milter-survives "ssm-milter is no longer running"

# --- SIGTERM with a message in flight ------------------------------------------------------------
# The man page: a stop comes "after the messages in flight". Once libmilter has seen SIGTERM it
# serves no session again (its worker pool stops with the listener) and smfi_main returns without
# waiting for them: the daemon must hold the stop back until a message that has begun has ended,
# with its answer and rewrite; a message begun meanwhile gets 451 4.3.2; then the process ends.
HOLD=$WORK/hold-eom
MILTER_HOLD_BEFORE_EOM=$HOLD timeout 120 python3 "$CLIENT" "$SOCKET" all "$WORK/inflight" "$WORK/in/m1.eml" \
  >"$WORK/inflight.out" 2>&1 &
HELD_CLIENT=$!
deadline=$((SECONDS + 60))
while [ ! -e "$HOLD.ready" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
if [ -e "$HOLD.ready" ]; then
  STOPPING_PID=$MILTER_PID
  kill -TERM "$STOPPING_PID"
  sleep 1.5  # well past the listener's wake-up: without a wait for the message, libmilter has stopped
  timeout 60 python3 "$CLIENT" "$SOCKET" all "$WORK/during-stop" "$WORK/in/m2.eml" >"$WORK/during-stop.out" 2>&1
  touch "$HOLD"
  wait "$HELD_CLIENT"; held_status=$?
  if [ "$held_status" -eq 0 ] && answers inflight eom | same_lines continue \
     && [ "$(signed_form "$WORK/inflight.1.eml")" = detached ] && verify_openssl "$WORK/inflight.1.eml" alice@acme.example; then
    pass protocol-stop-ends-message-in-flight
  else
    fail protocol-stop-ends-message-in-flight "client status $held_status: $(grep -E '^(eom|protocol-error)' "$WORK/inflight.out" | tr '\n' ' ')"
  fi
  if grep -q '^rcpt reply:451 4.3.2 ' "$WORK/during-stop.out" && answers during-stop edits | same_lines 0; then
    pass protocol-stop-tempfails-new-messages
  else fail protocol-stop-tempfails-new-messages "$(grep -E '^(rcpt|eom|edits|protocol-error)' "$WORK/during-stop.out" | tr '\n' ' ')"; fi
  deadline=$((SECONDS + 15))
  while kill -0 "$STOPPING_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  if kill -0 "$STOPPING_PID" 2>/dev/null; then
    fail protocol-stop-after-message-in-flight "still running 15 s after its last message ended"
    stop_milter
  else
    wait "$STOPPING_PID" 2>/dev/null; st=$?
    refused=yes
    python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import milter_client; milter_client.Milter(sys.argv[2])' \
      "$SSM_SRCDIR/tests/integration" "$SOCKET" 2>/dev/null && refused=no
    [ "$st" -eq 0 ] && [ "$refused" = yes ] && pass protocol-stop-after-message-in-flight \
      || fail protocol-stop-after-message-in-flight "exit status $st, connection refused afterwards: $refused"
    MILTER_PID=
  fi
else
  fail protocol-stop-ends-message-in-flight "the client never reached the end of its message: $(tail -n 2 "$WORK/inflight.out" | tr '\n' ' ')"
  kill "$HELD_CLIENT" 2>/dev/null
fi
exit $((_ssm_failures > 0))
