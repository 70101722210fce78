#!/bin/bash
# The generated MIME shapes (make_mime_shapes.py) through a real Postfix with ssm-milter signing
# outbound (detached; alice RSA PKCS#1 v1.5, bob ECDSA P-256 for every 3rd message, carol RSA
# PKCS#1 v1.5 too: the milter has one rsa_scheme): swaks -> smtpd (+milter) -> smtp -> smtp-sink.
# The milter path (header values as Postfix hands them, continuation lines, body chunks,
# smfi header changes and replacebody) checked with the same steps as test_sign_shapes.sh's
# offline path: shapes_signature (openssl, entity) and shapes_check (meaning, transport,
# labels, base64, missing-close-kept).
# The oracle: Postfix changes some messages before any milter sees them (smtpd splits lines
# over line_length_limit, 2048; cleanup adds its Received field), so each message is also sent to a
# second smtpd of the same instance without milters; what that one delivers (its Received
# field removed) is the input the check compares against. Input trust: our generator's
# messages; what Postfix and ssm-milter deliver is read as untrusted.
# SSM_SHAPES=N sets the number of messages (default 20: about 1 s each for the two SMTP sessions,
# plus set-up and checks; 43 s wall at load average 7 on this 2-core machine).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/integration/shapes.sh"
require_tools postfix smtp-sink swaks openssl softhsm2-util pkcs11-tool perl python3 script
require_binaries
T0=$SECONDS
make_pki
make_token
export OPENSSL_CONF=/dev/null
N=${SSM_SHAPES:-20}
RCPT=someone@elsewhere.example ORACLE_RCPT=oracle@elsewhere.example
mkdir -p "$WORK/out" "$WORK/oracle"
shapes_generate "$N"

# carol signs with PKCS#1 v1.5 here (test_sign_shapes.sh gives her rsa_scheme = "pss"; one
# milter has one scheme).
SHAPES_CAROL_SCHEME=pkcs1

start_sink || fatal mta-shapes-setup "smtp-sink did not start"
SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port); ORACLE_PORT=$(free_port)
write_config "$WORK/ssm.toml" port="$MILTER_PORT" format=detached rsa_scheme=pkcs1 \
  || fatal mta-shapes-setup "config"
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm.toml" -n >"$WORK/check.log" 2>&1 \
  || fatal mta-shapes-config "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"
start_milter "$WORK/ssm.toml" || fatal mta-shapes-setup "ssm-milter did not start: $(tail -n 3 "$WORK/milter.log" | tr '\n' ' ')"
PF_MASTER_EXTRA="127.0.0.1:$ORACLE_PORT inet n - n - - smtpd -o smtpd_milters="
# smtp_line_length_limit = 0: Postfix's smtp client folds lines over 998 octets ("CRLF SPACE")
# on the way out, after the milter, which would change only the oracle's copy (the milter's
# output has no such lines: the transport check sees to that).
start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" "smtp_line_length_limit = 0" || fatal mta-shapes-setup "Postfix did not start"
wait_port "$ORACLE_PORT" 15 || fatal mta-shapes-setup "oracle smtpd does not listen"

# Send everything first (one SMTP session per message and port), then collect.
sent=0
while read -r name sender; do
  in=$SHAPES/$name.eml
  if ! send_mail "$ORACLE_PORT" "$sender" "$ORACLE_RCPT" "$in"; then
    fail "$name/oracle" "SMTP without milter: ${SMTP_REPLY:-no reply}"; continue
  fi
  if send_mail "$SMTPD_PORT" "$sender" "$RCPT" "$in"; then sent=$((sent + 2))
  else fail "$name/smtp" "SMTP with the milter: ${SMTP_REPLY:-no reply}"; sent=$((sent + 1)); fi
done <"$WORK/shapes.index"
note "sent in $((SECONDS - T0)) s"
wait_for_delivery "$sent" 60 || fail mta-shapes-delivery "$(sink_count) of $sent delivered (queue: $(pf_queue_count "$PF_DIR"))"

# without_received IN OUT: IN without its first Received field (the one Postfix's cleanup
# added: its queue id and time differ between the two ports).
without_received() {
  awk 'BEGIN { ORS = "" } !done && /^Received: / { skip = 1; next }
       skip && /^[ \t]/ { next }  { if (skip) done = 1; skip = 0; print $0 "\n" }' "$1" >"$2"
}
for dump in $(sink_files); do
  id=$(grep -a -m1 -i '^Message-ID: <shape-' "$dump" | sed 's/.*<shape-\([0-9]*\)@.*/\1/')
  [ -n "$id" ] || { fail mta-shapes-collect "no shape Message-ID in $dump"; continue; }
  name=$(printf 'shape-%02d' "$id")
  sink_message "$dump" "$WORK/out/$name.tmp"
  if sink_rcpts "$dump" | grep -q "$ORACLE_RCPT"; then
    without_received "$WORK/out/$name.tmp" "$WORK/oracle/$name.eml"
  else
    without_received "$WORK/out/$name.tmp" "$WORK/out/$name.eml"
  fi
  rm -f "$WORK/out/$name.tmp"
done

note "delivered in $((SECONDS - T0)) s"
: >"$WORK/compare.list"
while read -r name sender; do
  in=$WORK/oracle/$name.eml out=$WORK/out/$name.eml cn=mta-$name-${sender%@*}
  [ -f "$in" ] && [ -f "$out" ] || { fail "$cn/delivered" "oracle or milter copy missing"; continue; }
  # Where Postfix changed the message before the milter, say so (the oracle copy is then
  # the input compared against).
  python3 -c 'import sys; sys.path.insert(0, sys.argv[3]); import make_mime_shapes as m
sys.exit(m.wire_form(open(sys.argv[1], "rb").read()) != open(sys.argv[2], "rb").read())' \
    "$SHAPES/$name.eml" "$in" "$SSM_SRCDIR/tests/integration" || note "$name: Postfix changed it before the milter"
  if [ "$(signed_form "$out")" != detached ]; then fail "$cn/signed" "delivered as $(signed_form "$out")"; continue; fi
  pass "$cn/signed"
  shapes_signature "$cn" "$out" "$sender" detached || continue
  cp "$SHAPES_ENTITY" "$WORK/out/$name.entity"
  printf '%s %s %s %s %s\n' "$cn" "$in" "$WORK/out/$name.entity" "$out" "$SHAPES/$name.json" >>"$WORK/compare.list"
done <"$WORK/shapes.index"
shapes_check "$WORK/compare.list"
if milter_alive; then pass mta-shapes-milter-still-running
else fail mta-shapes-milter-still-running "ssm-milter died: $(tail -n 5 "$WORK/milter.log" | tr '\n' ' ')"; fi
note "$N shapes through Postfix in $((SECONDS - T0)) s"
