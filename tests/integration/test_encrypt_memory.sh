#!/bin/bash
# Memory bound of outbound encryption (issue 3): one 50 MB message encrypted (AES-256-GCM to
# dave) and one signed-then-encrypted, through Postfix with ssm-milter; the milter's peak RSS
# (VmHWM, as bench/run.sh measures it) must stay below 64 MiB, and both deliveries must decrypt
# with openssl to the full size.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink smtp-source openssl softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
mkdir -p "$WORK/crls" "$WORK/certs"
cp "$PKI/dave.cert.pem" "$WORK/certs/"
start_sink || fatal mem-setup "smtp-sink did not start"
MILTER_PORT=$(free_port); SMTPD_PORT=$(free_port)
write_config "$WORK/ssm.toml" port="$MILTER_PORT" rules='[[rule]]
name = "alice signs and encrypts"
direction = "outbound"
from = ["alice@acme.example"]
sign = "sender"
encrypt = "mandatory"

[[rule]]
name = "others encrypt"
direction = "outbound"
sign = "none"
encrypt = "mandatory"' pki="crls = \"$WORK/crls\"
revocation = \"off\"" extra="[encryption]
cipher = \"aes256-gcm\"

[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\""
start_milter "$WORK/ssm.toml" || fatal mem-setup "ssm-milter did not start"
start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal mem-setup "Postfix did not start"
hwm_start=$(awk '/^VmHWM/ { print $2 }' "/proc/$MILTER_PID/status")
size=$((50 * 1024 * 1024))

# delivered_file: the newest sink file once it is whole. wait_for_delivery sees a file as
# soon as smtp-sink opens it, and smtp-sink writes it while the message arrives: a 68 MB
# delivery on a loaded machine was read half written (CI, session 40). Whole: Postfix's queue
# is empty (the sink answered the end of the data) and the file's size held for a second.
delivered_file() {
  local f last=-1 size deadline=$((SECONDS + 120))
  pf_wait_queue_empty "$PF_DIR" 120 || return 1
  f=$(ls -t "$SINK_DIR"/* | head -n 1)
  while [ $SECONDS -lt $deadline ]; do
    size=$(stat -c %s "$f") || return 1
    [ "$size" = "$last" ] && { printf '%s\n' "$f"; return 0; }
    last=$size
    sleep 1
  done
  return 1
}

n=0
for sender in zed@acme.example alice@acme.example; do
  n=$((n + 1)); name=mem-50mb-${sender%@*}
  t0=$SECONDS
  smtp-source -s 1 -m 1 -l "$size" -f "$sender" -t dave@partner.example "127.0.0.1:$SMTPD_PORT" >"$WORK/source-$n.log" 2>&1 \
    || { fail "$name" "smtp-source: $(tail -n 2 "$WORK/source-$n.log" | tr '\n' ' ')"; continue; }
  wait_for_delivery "$n" 240 || { fail "$name" "not delivered within 240 s"; continue; }
  hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$MILTER_PID/status")
  note "$name: delivered in $((SECONDS - t0)) s; ssm-milter VmHWM $((hwm / 1024)) MiB (at start $((hwm_start / 1024)) MiB)"
  [ "$hwm" -lt $((64 * 1024)) ] && pass "$name/peak-rss-below-64MiB" || fail "$name/peak-rss-below-64MiB" "VmHWM $((hwm / 1024)) MiB"
  f=$(delivered_file) || { fail "$name" "the sink's file did not settle within 120 s"; continue; }
  sink_message "$f" "$WORK/$name.eml"
  if smime_envelope "$WORK/$name.eml" "$WORK/$name.p7m" && decrypt_openssl "$WORK/$name.p7m" dave "$WORK/$name.plain"; then
    got=$(stat -c %s "$WORK/$name.plain")
    if [ "$got" -ge "$size" ]; then pass "$name/decrypts"
    else fail "$name/decrypts" "plaintext has $got bytes, less than the $size sent"; fi
    if [ "$sender" = alice@acme.example ]; then
      if grep -aq '^Content-Type: multipart/signed' "$WORK/$name.plain"; then pass "$name/signed-inside"
      else fail "$name/signed-inside" "no multipart/signed entity inside"; fi
    fi
  else
    fail "$name/decrypts" "$PEER_DETAIL"
  fi
  rm -f "$WORK/$name.plain" "$WORK/$name.p7m" "$WORK/$name.eml" "$f"
  n=0
done
grep -o 'action=[a-z+]* result=[a-z]*' "$WORK/milter.log" | sort | uniq -c | sed 's/^/  milter: /' >&2
stop_milter
