#!/bin/bash
# Configuration reload under load (PRODUCT §8, issue 5): SIGHUP 20 times while a sender streams
# 500 messages through a real Postfix with ssm-milter. The configuration alternates between
# detached and opaque signing (both valid); two of the reloads install a broken file. Shows:
# the milter survives SIGHUP (libmilter alone would stop on it), every message is delivered
# exactly once and signed under one of the valid policies, a broken file is rejected with
# file:line:column while the previous policy stays in force, and later reloads take effect; a
# session keeps what its MTA offered (quarantine) while each message follows the newest file.
. "$(dirname "$0")/lib.sh"
require_tools postfix smtp-sink swaks openssl python3 softhsm2-util pkcs11-tool script
require_binaries
make_pki
make_token
COUNT=${SSM_RELOAD_MESSAGES:-500}
RCPT=someone@elsewhere.example

start_sink || fatal reload-setup "smtp-sink did not start"
SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port); REINJECT_PORT=$(free_port)
PF_MASTER_EXTRA=$(reinjection_listener "$REINJECT_PORT") \
  start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal reload-setup "Postfix did not start"
CONF=$WORK/ssm-milter.toml
write_config "$WORK/detached.toml" port="$MILTER_PORT" format=detached
write_config "$WORK/opaque.toml" port="$MILTER_PORT" format=opaque
# broken: an unknown signing format on a known line (the error must name line and column)
sed 's/^format = "opaque"/format = "sideways"/' "$WORK/opaque.toml" >"$WORK/broken.toml"
broken_line=$(grep -n '^format = "sideways"' "$WORK/broken.toml" | cut -d: -f1)
# install FILE: replace the configuration atomically (as an administrator's tool would).
install_conf() { cp "$1" "$CONF.new" && mv -f "$CONF.new" "$CONF"; }
install_conf "$WORK/detached.toml"
start_milter "$CONF" || fatal reload-setup "ssm-milter did not start"

# send_one NAME: one message through Postfix; echoes the delivered file's form (lib.sh send_probe).
send_one() { send_probe "$1" "$SMTPD_PORT" "$RCPT"; }
# hup_and_wait EVENT: SIGHUP, then wait until the milter log shows one more EVENT line.
hup_and_wait() {
  local event=$1 before
  before=$(grep -c "$event" "$WORK/milter.log")
  milter_alive || return 1
  kill -HUP "$MILTER_PID"
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ] && milter_alive; do
    [ "$(grep -c "$event" "$WORK/milter.log")" -gt "$before" ] && return 0
    sleep 0.05
  done
  return 1
}

# --- a single reload, and a broken one, without load ---------------------------------------
[ "$(send_one before-reload)" = detached ] && pass reload-initial-policy || fail reload-initial-policy "first message not detached-signed"
install_conf "$WORK/opaque.toml"
if hup_and_wait 'reloaded' && milter_alive; then pass reload-sighup-keeps-running
else fail reload-sighup-keeps-running "no 'reloaded' log line or the milter stopped on SIGHUP"; fi
got=$(send_one after-reload)
[ "$got" = opaque ] && pass reload-takes-effect || fail reload-takes-effect "after reload to opaque: $got"
install_conf "$WORK/broken.toml"
if hup_and_wait 'reload-rejected'; then
  if grep 'reload-rejected' "$WORK/milter.log" | tail -n 1 | grep -q "$CONF:$broken_line:[0-9]"; then
    pass reload-broken-names-line
  else fail reload-broken-names-line "rejection without $CONF:$broken_line:col: $(grep reload-rejected "$WORK/milter.log" | tail -n 1)"; fi
else fail reload-broken-names-line "no reload-rejected line"; fi
got=$(send_one after-broken)
[ "$got" = opaque ] && pass reload-broken-keeps-old || fail reload-broken-keeps-old "after a broken reload: $got"

# --- 20 reloads while streaming ------------------------------------------------------------
rm -f "$SINK_DIR"/*
started=$SECONDS
python3 "$SSM_SRCDIR/tests/integration/stream_messages.py" "$SMTPD_PORT" alice@acme.example "$RCPT" \
  "$COUNT" 4 "$WORK/stream.report" >"$WORK/stream.log" 2>&1 &
stream_pid=$!
on_exit "kill -KILL $stream_pid"
reloads=0 rejected=0
for i in $(seq 1 20); do
  case $i in
    7|14) install_conf "$WORK/broken.toml"; hup_and_wait 'reload-rejected' && rejected=$((rejected + 1)) ;;
    *) if [ $((i % 2)) -eq 0 ]; then install_conf "$WORK/detached.toml"; else install_conf "$WORK/opaque.toml"; fi
       hup_and_wait 'reloaded' && reloads=$((reloads + 1)) ;;
  esac
  sleep 0.25
done
wait "$stream_pid"; stream_rc=$?
note "streamed $COUNT messages in $((SECONDS - started)) s with 20 SIGHUPs"
[ "$reloads" -eq 18 ] && [ "$rejected" -eq 2 ] && pass reload-20-sighups \
  || fail reload-20-sighups "$reloads valid reloads logged (want 18), $rejected rejected (want 2)"
accepted=$(awk '$2 == 250' "$WORK/stream.report" 2>/dev/null | wc -l)
if [ "$stream_rc" -eq 0 ] && [ "$accepted" -eq "$COUNT" ]; then pass reload-all-accepted
else fail reload-all-accepted "sender rc $stream_rc, $accepted of $COUNT accepted: $(awk '$2 != 250' "$WORK/stream.report" 2>/dev/null | head -n 3 | tr '\n' ' ')"; fi
wait_for_delivery "$COUNT" 120 || true
ids=$(cat $(sink_files) 2>/dev/null | grep -o '^Message-ID: <ssm-stream-[0-9]*@test.invalid>' | sort)
total=$(printf '%s\n' "$ids" | grep -c . ); unique=$(printf '%s\n' "$ids" | sort -u | grep -c .)
[ "$total" -eq "$COUNT" ] && [ "$unique" -eq "$COUNT" ] && pass reload-delivered-exactly-once \
  || fail reload-delivered-exactly-once "$total delivered, $unique distinct, of $COUNT"
det=0 opq=0 bad=0
for f in $(sink_files); do
  case $(signed_form "$f") in detached) det=$((det + 1)) ;; opaque) opq=$((opq + 1)) ;; *) bad=$((bad + 1)) ;; esac
done
note "forms: $det detached, $opq opaque, $bad other"
[ "$bad" -eq 0 ] && [ "$det" -gt 0 ] && [ "$opq" -gt 0 ] && pass reload-every-message-under-a-valid-policy \
  || fail reload-every-message-under-a-valid-policy "$det detached, $opq opaque, $bad neither"
# a sample verifies (every 25th): the signatures made across reloads are whole.
vbad=0 n=0
for f in $(sink_files | awk 'NR % 25 == 1'); do
  n=$((n + 1))
  sink_message "$f" "$WORK/v.eml"
  openssl cms -verify -CAfile "$PKI/root-ca.cert.pem" -in "$WORK/v.eml" -out /dev/null >/dev/null 2>&1 || vbad=$((vbad + 1))
done
[ "$vbad" -eq 0 ] && pass reload-signatures-verify || fail reload-signatures-verify "$vbad of $n sampled messages do not verify"
milter_alive && pass reload-milter-alive-after || fail reload-milter-alive-after "ssm-milter stopped"
# the last valid reload (i = 20: detached) is in force
got=$(send_one after-stream)
[ "$got" = detached ] && pass reload-last-policy-in-force || fail reload-last-policy-in-force "after the stream: $got"
# SIGUSR1/SIGUSR2 (a logrotate habit) are ignored: the milter keeps running and signing
kill -USR1 "$MILTER_PID"; kill -USR2 "$MILTER_PID"; sleep 0.5
if milter_alive && [ "$(send_one after-usr1)" = detached ]; then pass reload-sigusr-ignored
else fail reload-sigusr-ignored "ssm-milter stopped or stopped signing after SIGUSR1/SIGUSR2"; fi
# --- ssm-milter -n run by root checks what the [milter] user will read ----------------------
# After start-up the daemon is its [milter] user: it reads the file and what it names as that
# user at each reload, and the PIN file when it opens the token again. -n run by root passed a
# trust anchors folder only root can read, and every reload was then refused. Now -n checks as
# the user too and names the problem (exit 78); the same file with a readable folder passes.
chmod 711 "$WORK"
mkdir -p "$WORK/as-user" && chmod 755 "$WORK/as-user"
cp "$TOKEN/pin" "$WORK/as-user/pin" && chgrp "$(id -gn nobody)" "$WORK/as-user/pin" && chmod 640 "$WORK/as-user/pin"
mkdir -p "$WORK/as-user/root-only-trust" && cp "$PKI"/trust/* "$WORK/as-user/root-only-trust/" && chmod 700 "$WORK/as-user/root-only-trust"
write_config "$WORK/as-user/ok.toml" port="$MILTER_PORT" user=nobody
sed -i "s|^pin_file = .*|pin_file = \"$WORK/as-user/pin\"|" "$WORK/as-user/ok.toml"
sed "s|^trust_anchors = .*|trust_anchors = \"$WORK/as-user/root-only-trust\"|" "$WORK/as-user/ok.toml" >"$WORK/as-user/root-only.toml"
chmod 644 "$WORK/as-user/ok.toml" "$WORK/as-user/root-only.toml"
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/as-user/ok.toml" >"$WORK/as-user/ok.log" 2>&1; ok_rc=$?
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/as-user/root-only.toml" >"$WORK/as-user/root-only.log" 2>&1; root_only_rc=$?
if [ "$(id -u)" -ne 0 ]; then
  skip reload-check-as-user "not run as root: -n does not switch users"
elif [ "$ok_rc" -ne 0 ]; then
  fail reload-check-as-user "a file the user can read was refused (rc $ok_rc): $(grep -v '^info\|^warning' "$WORK/as-user/ok.log" | tr '\n' ' ')"
elif [ "$root_only_rc" -eq 78 ] && grep -q "as user 'nobody' (after start-up, at each reload): .*trust_anchors.*root-only-trust.*Permission denied" "$WORK/as-user/root-only.log"; then
  pass reload-check-as-user
else
  fail reload-check-as-user "root-only trust anchors folder: rc $root_only_rc: $(grep -v '^info' "$WORK/as-user/root-only.log" | tr '\n' ' ')"
fi

# --- ssm-milter -n stops on SIGTERM -------------------------------------------------------
# The daemon blocks SIGHUP/SIGTERM/SIGINT before its threads start (libmilter's signal thread
# takes them); -n starts no milter, and blocked there a check that hangs (here: its report
# written to a full pipe nobody reads) could only be ended with SIGKILL, Ctrl-C included.
check_sigterm=$(python3 - "$SSM_BUILDDIR/ssm-milter" "$WORK/as-user/ok.toml" <<'PY'
import fcntl, os, signal, subprocess, sys, time
r, w = os.pipe()
flags = fcntl.fcntl(w, fcntl.F_GETFL)
fcntl.fcntl(w, fcntl.F_SETFL, flags | os.O_NONBLOCK)
for size in (4096, 1):
    try:
        while True:
            os.write(w, b"x" * size)
    except BlockingIOError:
        pass
fcntl.fcntl(w, fcntl.F_SETFL, flags)
check = subprocess.Popen([sys.argv[1], "-n", "-c", sys.argv[2]], stdout=w, stderr=subprocess.DEVNULL)
os.close(w)
deadline = time.time() + 20
while check.poll() is None and time.time() < deadline:
    try:
        with open("/proc/%d/wchan" % check.pid) as f:
            if "pipe" in f.read():
                break
    except OSError:
        pass
    time.sleep(0.2)
if check.poll() is not None:
    print("ended before it wrote its report (rc %d)" % check.returncode)
    sys.exit()
check.send_signal(signal.SIGTERM)
try:
    check.wait(timeout=5)
    print("ended by signal %d" % -check.returncode if check.returncode < 0 else "rc %d" % check.returncode)
except subprocess.TimeoutExpired:
    check.kill()
    check.wait()
    print("still running 5 s after SIGTERM")
PY
)
if [ "$check_sigterm" = "ended by signal 15" ]; then pass check-only-sigterm
else fail check-only-sigterm "ssm-milter -n blocked writing its report, then SIGTERM: $check_sigterm"; fi

# --- a reload that changes the reinjection secret while a message is in flight -------------
# alice (authenticated) writes to dave and, in blind copy, frank: the rule for authenticated
# senders encrypts to the partner, so frank's copy leaves through [reinjection] (the listener of
# pf runs the milter again) marked with the secret of the configuration the message began
# under. The secret file is rewritten and reloaded while the message waits before its end
# (milter_client.py plays the MTA). The copy must still be recognised as ours: otherwise it is
# planned as a new message from the listener, without alice's authentication, by the rule for
# everything else, and frank gets the text in clear.
mkdir -p "$WORK/certs"; cp "$PKI/dave.cert.pem" "$PKI/frank.cert.pem" "$WORK/certs/"
make_reinjection_secret
write_config "$WORK/rotate.toml" port="$MILTER_PORT" rules='[[rule]]
name = "authenticated senders: encrypted to the partner"
direction = "outbound"
authenticated = true
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"

[[rule]]
name = "everything else outbound: as it is"
direction = "outbound"
sign = "none"
encrypt = "never"' extra="$(static_directory_toml rotate)
$(reinjection_toml "$REINJECT_PORT")"
install_conf "$WORK/rotate.toml"
hup_and_wait 'reloaded' || note "no reload to the [reinjection] configuration"
rm -f "$SINK_DIR"/*
printf 'From: alice@acme.example\r\nTo: dave@partner.example\r\nSubject: rotation\r\nMessage-ID: <rotate-1@acme.example>\r\n\r\nthe plan, for dave and frank only\r\n' >"$WORK/rotate.eml"
invalid_before=$(grep -c 'reinjection-marker-invalid' "$WORK/milter.log")
MILTER_HOLD_BEFORE_EOM=$WORK/rotate-hold MILTER_RCPTS=dave@partner.example,frank@partner.example MILTER_AUTH_USER=alice \
  python3 "$SSM_SRCDIR/tests/integration/milter_client.py" "$(milter_socket_spec "$MILTER_PORT")" v2 "$WORK/rotate-out" \
  "$WORK/rotate.eml" >"$WORK/rotate.log" 2>&1 &
rotate_pid=$!
on_exit "kill -KILL $rotate_pid"
deadline=$((SECONDS + 60))
until [ -e "$WORK/rotate-hold.ready" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
make_reinjection_secret  # a new secret in the same file
rotated=no
hup_and_wait 'reloaded' && rotated=yes
touch "$WORK/rotate-hold"
wait "$rotate_pid"; rotate_rc=$?
wait_for_delivery 1 60 || true
copy=$(sink_files | head -n 1)
invalid=$(( $(grep -c 'reinjection-marker-invalid' "$WORK/milter.log") - invalid_before ))
if [ "$rotate_rc" -ne 0 ] || [ "$rotated" != yes ] || ! grep -q '^eom continue' "$WORK/rotate.log"; then
  fail reload-rotated-secret-copy-recognised "rc $rotate_rc, reloaded: $rotated: $(tr '\n' ' ' <"$WORK/rotate.log")"
elif [ -z "$copy" ] || ! sink_rcpts "$copy" | grep -qi '<frank@partner.example>'; then
  fail reload-rotated-secret-copy-recognised "frank's copy was not delivered"
elif [ "$invalid" -ne 0 ] || grep -q 'the plan, for dave and frank only' "$copy" || [ "$(signed_form "$copy")" != opaque ]; then
  fail reload-rotated-secret-copy-recognised "frank's copy was not recognised ($invalid reinjection-marker-invalid lines): form $(signed_form "$copy"), text in clear: $(grep -c 'the plan, for dave' "$copy")"
else
  pass reload-rotated-secret-copy-recognised
fi

# --- a session left open after its message keeps no configuration alive ----------------------
# Each configuration with [directory.smimea] has a DNS resolver of its own, and the resolver a
# thread (directory/dns_resolver.h): a session idle after a message held the configuration
# of that message, so each reload between the messages of still-open sessions left one more
# configuration, resolver thread and its descriptors in the process until the sessions ended.
# Six sessions (three to the end of the message, three aborted after RCPT), a reload after
# each; while all six are open and idle, the process has no more threads than before them
# (without the fix: six more, one resolver thread per kept configuration).
printf 'partner.example. IN DS 12345 13 2 %s\n' "$(printf x | sha256sum | cut -c1-64)" >"$WORK/dns-anchors"
write_config "$WORK/smimea.toml" port="$MILTER_PORT" format=detached extra="[directory.smimea]
enabled = true
resolver = \"127.0.0.1@$(free_port)\"
trust_anchor_file = \"$WORK/dns-anchors\"
timeout = \"1s\""
install_conf "$WORK/smimea.toml"
hup_and_wait 'reloaded' || note "no reload to the [directory.smimea] configuration"
threads() { ls "/proc/$MILTER_PID/task" 2>/dev/null | wc -l; }
threads_before=$(threads)
python3 "$SSM_SRCDIR/tests/integration/idle_sessions.py" "$(milter_socket_spec "$MILTER_PORT")" 6 "$WORK/idle" \
  >"$WORK/idle.log" 2>&1 &
idle_pid=$!
on_exit "kill -KILL $idle_pid"
idle_reloads=0
for n in 1 2 3 4 5 6; do
  deadline=$((SECONDS + 60))
  until [ "$(cat "$WORK/idle.n" 2>/dev/null)" = "$n" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
  hup_and_wait 'reloaded' && idle_reloads=$((idle_reloads + 1))
  touch "$WORK/idle.go$n"
done
deadline=$((SECONDS + 60))
until [ -e "$WORK/idle.idle" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
sleep 0.5  # the last reload's old configuration is released by the reloader thread
threads_idle=$(threads)
touch "$WORK/idle.stop"; wait "$idle_pid"; idle_rc=$?
note "threads: $threads_before before, $threads_idle with 6 idle sessions across $idle_reloads reloads"
if [ "$idle_rc" -ne 0 ] || [ "$idle_reloads" -ne 6 ] || [ "$(grep -c '^session [0-9]* [a-z]* continue,continue' "$WORK/idle.log")" -ne 6 ]; then
  fail reload-idle-session-keeps-no-configuration "sessions rc $idle_rc, $idle_reloads reloads: $(tr '\n' ' ' <"$WORK/idle.log")"
elif [ "$threads_idle" -le $((threads_before + 2)) ]; then  # +2: a libmilter worker may come and go
  pass reload-idle-session-keeps-no-configuration
else
  fail reload-idle-session-keeps-no-configuration "$threads_before threads before, $threads_idle with the idle sessions (old configurations kept)"
fi

# --- quarantine is judged per message, by the configuration the message runs under ----------
# Holding undecryptable mail ([inbound] on_undecryptable = "hold", the default) needs the MTA's
# quarantine. It was checked at negotiation against the configuration of that moment: a session
# of an MTA without quarantine begun before a reload to "hold" went on taking messages that could
# not be held, and one begun while "hold" was in force was refused outright, also after a reload
# to "deliver". The session now remembers what the MTA offered, and each MAIL FROM checks it
# against its message's configuration (451 4.3.5 when the message could not be held).
write_config "$WORK/hold.toml" port="$MILTER_PORT" format=detached
write_config "$WORK/deliver.toml" port="$MILTER_PORT" format=detached extra='[inbound]
on_undecryptable = "deliver"'
for n in 1 2; do
  printf 'From: alice@acme.example\r\nTo: %s\r\nSubject: quarantine %s\r\nMessage-ID: <quarantine-%s@acme.example>\r\n\r\nhello\r\n' \
    "$RCPT" "$n" "$n" >"$WORK/quarantine-$n.eml"
done
# no_quarantine_session NAME FIRST SECOND: one session of an MTA without quarantine begun under
# the file FIRST, whose first message waits before its end while SECOND is reloaded; its second
# message begins after that reload. Output in $WORK/NAME.log, messages in $WORK/NAME-out.N.eml.
no_quarantine_session() {
  local name=$1 first=$2 second=$3 pid deadline
  install_conf "$first"; hup_and_wait 'reloaded' || note "no reload to $first"
  MILTER_NO_QUARANTINE=1 MILTER_HOLD_BEFORE_EOM=$WORK/$name-hold \
    python3 "$SSM_SRCDIR/tests/integration/milter_client.py" "$(milter_socket_spec "$MILTER_PORT")" all \
    "$WORK/$name-out" "$WORK/quarantine-1.eml" "$WORK/quarantine-2.eml" >"$WORK/$name.log" 2>&1 &
  pid=$!
  on_exit "kill -KILL $pid"
  deadline=$((SECONDS + 60))
  until [ -e "$WORK/$name-hold.ready" ] || [ $SECONDS -ge $deadline ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  install_conf "$second"; hup_and_wait 'reloaded' || note "no reload to $second"
  touch "$WORK/$name-hold"
  wait "$pid"
}
# message N of a session log: its lines from its "mail" line to the next
message_lines() { awk -v n="$2" '/^mail /{k++} k==n' "$WORK/$1.log"; }
no_quarantine_session to-hold "$WORK/deliver.toml" "$WORK/hold.toml"; rc=$?
if [ "$rc" -ne 0 ] || ! message_lines to-hold 1 | grep -q '^eom continue' \
   || [ "$(signed_form "$WORK/to-hold-out.1.eml")" != detached ]; then
  fail reload-quarantine-to-hold "rc $rc, the first message (deliver) was not signed: $(tr '\n' ' ' <"$WORK/to-hold.log")"
elif message_lines to-hold 2 | grep -q '^rcpt reply:451 4.3.5 ' && grep -q 'offered no quarantine' "$WORK/milter.log"; then
  pass reload-quarantine-to-hold
else
  fail reload-quarantine-to-hold "a message under \"hold\" in a session without quarantine was taken: $(message_lines to-hold 2 | tr '\n' ' ')"
fi
no_quarantine_session from-hold "$WORK/hold.toml" "$WORK/deliver.toml"; rc=$?
if [ "$rc" -ne 0 ]; then
  fail reload-quarantine-from-hold "the session was refused (rc $rc): $(tr '\n' ' ' <"$WORK/from-hold.log")"
elif ! message_lines from-hold 1 | grep -q '^rcpt reply:451 4.3.5 '; then
  fail reload-quarantine-from-hold "the first message (hold, no quarantine) was not refused: $(message_lines from-hold 1 | tr '\n' ' ')"
elif message_lines from-hold 2 | grep -q '^eom continue' && [ "$(signed_form "$WORK/from-hold-out.2.eml")" = detached ]; then
  pass reload-quarantine-from-hold
else
  fail reload-quarantine-from-hold "the second message (deliver) was not signed: $(message_lines from-hold 2 | tr '\n' ' ')"
fi

# SIGTERM still stops it (the interposed sigwait only changes SIGHUP)
stop_milter
[ "${MILTER_STATUS:-1}" -eq 0 ] && pass reload-sigterm-still-stops || fail reload-sigterm-still-stops "exit status ${MILTER_STATUS:-?}"
exit $((_ssm_failures > 0))
