#!/bin/bash
# sd_notify protocol of ssm-milter (PRODUCT §8, Type=notify unit in contrib/systemd): a
# NOTIFY_SOCKET listener plays the service manager for a real ssm-milter (real SoftHSM token,
# real Postfix). Shows: READY=1 arrives only when the milter socket already accepts
# connections; SIGHUP gives RELOADING=1 with a current MONOTONIC_USEC, then READY=1; a broken
# file gives READY=1 with a STATUS= saying the reload failed while the old policy still signs
# mail; SIGTERM gives STOPPING=1 and the process ends promptly, also when the socket names its
# port by a service name; the unit passes systemd-analyze verify.
. "$(dirname "$0")/lib.sh"
require_tools postfix smtp-sink swaks openssl python3 softhsm2-util pkcs11-tool systemd-analyze
require_binaries
make_pki
make_token
RCPT=someone@elsewhere.example

# --- the unit file ---------------------------------------------------------------------------
# verify checks that ExecStart= binaries exist: a copy naming the built one. --man=no: the man
# pages of Documentation= are not installed on a build machine.
UNIT_DIR=$WORK/unit; mkdir -p "$UNIT_DIR"
sed "s|/usr/sbin/ssm-milter|$SSM_BUILDDIR/ssm-milter|g" "$SSM_SRCDIR/contrib/systemd/ssm-milter.service" \
  >"$UNIT_DIR/ssm-milter.service"
if out=$(systemd-analyze verify --man=no "$UNIT_DIR/ssm-milter.service" 2>&1) && [ -z "$out" ]; then
  pass systemd-unit-verifies
else fail systemd-unit-verifies "$(printf '%s' "$out" | head -n 3 | tr '\n' ' ')"; fi

# --- the service manager's side: one line per datagram in $NOTIFY_LOG ----------------------
# "<CLOCK_MONOTONIC µs at receipt> <assignments joined by ' | '>"; right after the first READY=1
# it connects to the milter port and logs CONNECT-OK or CONNECT-FAILED (the socket must
# already accept when READY arrives).
NOTIFY_SOCK=$WORK/notify.sock NOTIFY_LOG=$WORK/notify.log
start_sink || fatal notify-setup "smtp-sink did not start"
SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port)
cat >"$WORK/listener.py" <<'PY'
import os, socket, sys, time
path, log, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
ready_seen = False
with open(log, "a", buffering=1) as out:
    out.write("LISTENING\n")
    while True:
        data = s.recv(65536)
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        fields = data.decode("utf-8", "replace").strip("\n").split("\n")
        out.write("%d %s\n" % (usec, " | ".join(fields)))
        if "READY=1" in fields and not ready_seen:
            ready_seen = True
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                out.write("CONNECT-OK\n")
            except OSError as e:
                out.write("CONNECT-FAILED %s\n" % e)
PY
python3 "$WORK/listener.py" "$NOTIFY_SOCK" "$NOTIFY_LOG" "$MILTER_PORT" 2>"$WORK/listener.err" &
LISTENER_PID=$!
on_exit "kill -TERM $LISTENER_PID"
deadline=$((SECONDS + 30))  # wall time, not a count of polls: each poll is slow on a loaded machine
while [ $SECONDS -lt $deadline ]; do grep -q LISTENING "$NOTIFY_LOG" 2>/dev/null && break; sleep 0.1; done
grep -q LISTENING "$NOTIFY_LOG" 2>/dev/null || fatal notify-setup "listener did not start: $(cat "$WORK/listener.err")"

# wait_notify PATTERN COUNT: until $NOTIFY_LOG has COUNT lines matching PATTERN (60 s: a start or
# reload logs in to the token, which takes seconds on a loaded machine).
wait_notify() {
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(grep -c -- "$1" "$NOTIFY_LOG")" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}

start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal notify-setup "Postfix did not start"
CONF=$WORK/ssm-milter.toml
write_config "$WORK/detached.toml" port="$MILTER_PORT" format=detached
write_config "$WORK/opaque.toml" port="$MILTER_PORT" format=opaque
sed 's/^format = "opaque"/format = "sideways"/' "$WORK/opaque.toml" >"$WORK/broken.toml"
install_conf() { cp "$1" "$CONF.new" && mv -f "$CONF.new" "$CONF"; }
install_conf "$WORK/detached.toml"
export NOTIFY_SOCKET=$NOTIFY_SOCK
start_milter "$CONF" || fatal notify-setup "ssm-milter did not start"
unset NOTIFY_SOCKET

# --- READY=1 at start ------------------------------------------------------------------------
if wait_notify 'READY=1' 1 && wait_notify '^CONNECT-' 1; then
  if grep -q '^CONNECT-OK' "$NOTIFY_LOG" && grep 'READY=1' "$NOTIFY_LOG" | head -n 1 | grep -q 'STATUS=Serving on inet:'; then
    pass notify-ready-when-accepting
  else fail notify-ready-when-accepting "$(grep -v LISTENING "$NOTIFY_LOG" | head -n 2 | tr '\n' ' ')"; fi
else fail notify-ready-when-accepting "no READY=1: $(tr '\n' ' ' <"$NOTIFY_LOG")"; fi

# send_one NAME: one message through Postfix; echoes the delivered file's form (lib.sh send_probe).
send_one() { send_probe "$1" "$SMTPD_PORT" "$RCPT"; }

# --- SIGHUP with a valid file: RELOADING=1 + MONOTONIC_USEC, then READY=1 --------------------
install_conf "$WORK/opaque.toml"
kill -HUP "$MILTER_PID"
if wait_notify 'RELOADING=1' 1 && wait_notify 'READY=1' 2; then
  rel=$(grep 'RELOADING=1' "$NOTIFY_LOG" | head -n 1)
  recv=${rel%% *}
  mono=$(printf '%s\n' "$rel" | sed -n 's/.*MONOTONIC_USEC=\([0-9]*\).*/\1/p')
  # the timestamp is CLOCK_MONOTONIC of the same host, taken just before sending (< 5 s off)
  if [ -n "$mono" ] && [ $((recv - mono)) -ge 0 ] && [ $((recv - mono)) -lt 5000000 ]; then
    pass notify-reloading-monotonic
  else fail notify-reloading-monotonic "bad RELOADING line: $rel"; fi
  # READY=1 comes after RELOADING=1 and reports the new file
  order=$(grep -E 'RELOADING=1|READY=1' "$NOTIFY_LOG" | sed -n '2,3p' | grep -o -E 'RELOADING=1|READY=1' | tr '\n' ' ')
  last=$(grep 'READY=1' "$NOTIFY_LOG" | tail -n 1)
  if [ "$order" = "RELOADING=1 READY=1 " ] && printf '%s' "$last" | grep -q 'STATUS=Configuration reloaded from '; then
    pass notify-ready-after-reload
  else fail notify-ready-after-reload "order '$order', last READY: $last"; fi
else fail notify-reloading-monotonic "no RELOADING=1/READY=1 after SIGHUP: $(tr '\n' ' ' <"$NOTIFY_LOG")"
  fail notify-ready-after-reload "no READY=1 after SIGHUP"; fi

# --- SIGHUP with a broken file: READY=1 saying so, the old policy serves ---------------------
install_conf "$WORK/broken.toml"
kill -HUP "$MILTER_PID"
if wait_notify 'RELOADING=1' 2 && wait_notify 'READY=1' 3; then
  last=$(grep 'READY=1' "$NOTIFY_LOG" | tail -n 1)
  if printf '%s' "$last" | grep -q "STATUS=Reload failed, previous configuration still in force: $CONF:[0-9]*:[0-9]*"; then
    pass notify-failed-reload-status
  else fail notify-failed-reload-status "last READY: $last"; fi
else fail notify-failed-reload-status "no READY=1 after the broken reload: $(tail -n 3 "$NOTIFY_LOG" | tr '\n' ' ')"; fi
got=$(send_one after-broken)
[ "$got" = opaque ] && milter_alive && pass notify-failed-reload-keeps-old \
  || fail notify-failed-reload-keeps-old "after a broken reload the message was: $got (want opaque)"

# --- SIGTERM: STOPPING=1, then the process ends, promptly ------------------------------------
# An empty connection just before the signal restarts libmilter's 5 s listener poll: without
# ssm-milter waking its own listener (milter/listener_wake.h) the exit would take about 5 s.
# Timed without lib.sh's stop_milter, which wakes the listener from outside.
# sigterm_after_empty_connection PORT: sets stop_ms to the milliseconds from SIGTERM to the end
# of MILTER_PID (10 s at most), an empty connection to PORT made just before the signal.
sigterm_after_empty_connection() {
  local started
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  sleep 0.3
  started=$(date +%s%N)
  kill -TERM "$MILTER_PID"
  while kill -0 "$MILTER_PID" 2>/dev/null && [ $(( ($(date +%s%N) - started) / 1000000 )) -lt 10000 ]; do
    sleep 0.05
  done
  stop_ms=$(( ($(date +%s%N) - started) / 1000000 ))
}
sigterm_after_empty_connection "$MILTER_PORT"
if ! kill -0 "$MILTER_PID" 2>/dev/null && [ "$stop_ms" -lt 3000 ]; then pass stop-prompt
else fail stop-prompt "ssm-milter took ${stop_ms} ms to end after SIGTERM (libmilter's poll is 5 s)"; fi
if wait_notify 'STOPPING=1' 1; then
  pid=$MILTER_PID
  stop_milter   # waits for the exit (SIGKILL only after 15 s)
  if ! kill -0 "$pid" 2>/dev/null && [ "${MILTER_STATUS:-1}" -eq 0 ]; then pass notify-stopping
  else fail notify-stopping "exit status ${MILTER_STATUS:-?}"; fi
else fail notify-stopping "no STOPPING=1 within 10 s of SIGTERM"; stop_milter; fi
note "notifications: $(grep -v LISTENING "$NOTIFY_LOG" | cut -d' ' -f2- | tr '\n' ';')"

# --- SIGTERM with a service name for the port: as prompt ------------------------------------
# libmilter takes "inet:NAME@HOST" with NAME from /etc/services (getservbyname "tcp"); the
# wake-up must reach that port too, not give up on a port that is not a number. A name whose
# port is free, below free_port's range (20000 and up) and reserved the way free_port does.
service_port() {
  local name port
  mkdir -p "$SSM_PORT_LOCKS" 2>/dev/null
  while read -r name port; do
    mkdir "$SSM_PORT_LOCKS/$port" 2>/dev/null || continue
    echo "$$" >"$SSM_PORT_LOCKS/$port/owner"
    if [ -z "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]; then echo "$name $port"; return 0; fi
    rm -rf "$SSM_PORT_LOCKS/$port"
  done < <(getent services | awk '{ split($2, p, "/") }
    p[2] == "tcp" && p[1] + 0 >= 1024 && p[1] + 0 < 20000 && $1 ~ /^[a-z][a-z0-9-]*$/ { print $1, p[1] }')
  return 1
}
read -r SERVICE_NAME SERVICE_PORT <<<"$(service_port)"
if [ -z "${SERVICE_NAME:-}" ]; then
  skip stop-prompt-named-port "no free tcp port between 1024 and 19999 has a name in /etc/services"
else
  write_config "$WORK/named.toml" socket="inet:$SERVICE_NAME@127.0.0.1"
  if MILTER_PORT=$SERVICE_PORT start_milter "$WORK/named.toml"; then
    sigterm_after_empty_connection "$SERVICE_PORT"
    note "socket inet:$SERVICE_NAME@127.0.0.1 (port $SERVICE_PORT) ended ${stop_ms} ms after SIGTERM"
    if ! kill -0 "$MILTER_PID" 2>/dev/null && [ "$stop_ms" -lt 3000 ]; then pass stop-prompt-named-port
    else fail stop-prompt-named-port "with socket inet:$SERVICE_NAME@127.0.0.1 (port $SERVICE_PORT) ssm-milter took ${stop_ms} ms to end after SIGTERM"; fi
    stop_milter
  else fail stop-prompt-named-port "ssm-milter did not listen on inet:$SERVICE_NAME@127.0.0.1 (port $SERVICE_PORT)"; fi
fi
exit $((_ssm_failures > 0))
