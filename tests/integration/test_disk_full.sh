#!/bin/bash
# A full disk must not lose mail nor let it through unprocessed (PRODUCT: "When something is
# down (HSM, LDAP, disk) the MTA gets a temporary failure and retries; nothing is lost").
# ssm-milter's spool folder (messages over memory_spool_limit go to a private temporary file)
# and its [directory] cache folder (LMDB: lookup cache, harvested certificates) are small
# tmpfs file systems that the test fills to the last block. Post-queue topology (PRODUCT §1):
# Postfix pf1 (no milter) relays to pf2 (with ssm-milter), which relays to smtp-sink.
#  - a message larger than the memory spool while the spool is full: pf2 answers 4xx, pf1
#    keeps it deferred, nothing reaches the sink, the milter keeps running and logs why;
#  - a small message at the same time is signed in memory and delivered;
#  - once space is freed, pf1's retry is delivered signed (openssl verifies it);
#  - with the cache folder full, an inbound signed message still verifies (smime=pass) and
#    is delivered; the harvest that could not be written is logged, not fatal.
# Needs root to mount tmpfs (the test suite runs as root); where mounting is not permitted
# (an unprivileged container) the cases are skipped with that reason.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl softhsm2-util pkcs11-tool perl script mount umount dd
require_binaries
make_pki
make_token
export OPENSSL_CONF=/dev/null

# --- two small file systems ------------------------------------------------------------------
# mount_small DIR SIZE: a tmpfs of SIZE on DIR, unmounted when the test ends.
mount_small() {
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2,mode=0700" ssm-test-full "$1" 2>"$WORK/mount.err" || return 1
  on_exit "umount -l '$1'"
}
# fill DIR: writes DIR/filler until the file system has no block left.
fill() { dd if=/dev/zero of="$1/filler" bs=4k >/dev/null 2>&1; [ "$(df --output=avail -k "$1" | tail -n 1 | tr -d ' ')" -eq 0 ]; }

SPOOL=$WORK/spool CACHE=$WORK/cache
if ! mount_small "$SPOOL" 2m; then
  why="cannot mount a tmpfs here: $(tr '\n' ' ' <"$WORK/mount.err")"
  for c in full-spool-large-deferred full-spool-nothing-delivered full-spool-milter-alive full-spool-logged \
           full-spool-small-delivered-signed full-spool-retry-delivered-signed full-spool-retry-complete \
           full-cache-inbound-verified \
           full-cache-harvest-logged; do
    skip "$c" "$why"
  done
  exit 0
fi
mount_small "$CACHE" 1m || fatal full-setup "second tmpfs: $(cat "$WORK/mount.err")"

start_sink || fatal full-setup "smtp-sink did not start"
PF2_PORT=$(free_port); PF1_PORT=$(free_port); MILTER_PORT=$(free_port)
start_postfix pf2 "$PF2_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal full-setup "Postfix pf2 did not start"
PF2=$PF_DIR
start_postfix pf1 "$PF1_PORT" "$PF2_PORT" "" || fatal full-setup "Postfix pf1 did not start"
PF1=$PF_DIR
# Inbound is mail from outside internal_networks: pf2 sees every client as 127.0.0.1, so
# outbound is told by the ORIGINATING daemon name of a second pf2 listener instead.
write_config "$WORK/ssm.toml" port="$MILTER_PORT" memory_spool_limit=64KiB extra="[directory]
cache = \"$CACHE\""
start_milter "$WORK/ssm.toml" || fatal full-setup "ssm-milter did not start"

# --- 1. the spool is full ----------------------------------------------------------------------
fill "$SPOOL" || fatal full-setup "could not fill $SPOOL: $(df -k "$SPOOL" | tail -n 1)"
note "spool: $(df -k "$SPOOL" | tail -n 1)"
large=$WORK/large.eml
{
  printf 'From: alice@acme.example\r\nTo: someone@elsewhere.example\r\nSubject: quarterly figures\r\n'
  printf 'Message-ID: <large.%s@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n' "$$"
  for i in $(seq 1 6000); do printf 'Line %05d of a report larger than the memory spool of 64 KiB.\r\n' "$i"; done
} >"$large"
send_mail "$PF1_PORT" alice@acme.example someone@elsewhere.example "$large" \
  || fatal full-setup "pf1 did not accept the large message: $SMTP_REPLY"
# pf1 tries pf2 at once; its log names pf2's temporary answer and the message stays queued.
deadline=$((SECONDS + 30))
until grep -q 'status=deferred' "$PF1/maillog" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
deferral=$(grep -m1 'status=deferred' "$PF1/maillog" 2>/dev/null)
# The reply names the kind of outage (not "internal error": the body step's answer is kept until
# the end of the message, and must keep its reason); the local detail goes to our log only.
if [[ $deferral == *'said: 451 4.3.0 temporary local problem'* ]] && [[ $deferral != *'No space left'* ]] &&
   grep -q 'temporary local problem (spool write: No space left on device)' "$WORK/milter.log" &&
   [ "$(pf_queue_count "$PF1")" -eq 1 ]; then
  pass full-spool-large-deferred
else
  fail full-spool-large-deferred "pf1 queue $(pf_queue_count "$PF1"), log: ${deferral:-no deferral} $(tail -n 3 "$PF1/maillog" | tr '\n' ' ' | cut -c1-300)"
fi
sleep 1
[ "$(sink_count)" -eq 0 ] && pass full-spool-nothing-delivered \
  || fail full-spool-nothing-delivered "the sink holds $(sink_count) message(s)"
milter_alive && pass full-spool-milter-alive || fail full-spool-milter-alive "ssm-milter exited: $(tail -n 5 "$WORK/milter.log" | tr '\n' ' ')"
grep -q 'No space left on device' "$WORK/milter.log" && pass full-spool-logged \
  || fail full-spool-logged "no 'No space left on device' in the milter's log: $(grep -iE 'error|fail' "$WORK/milter.log" | tail -n 3 | tr '\n' ' ')"

# A message under the memory limit needs no disk: signed and delivered meanwhile.
small=$WORK/small.eml
sed 's/@SENDER@/alice@acme.example/; s/@RCPT@/someone@elsewhere.example/' \
  "$SSM_SRCDIR/tests/integration/messages/plain-7bit.eml" >"$small"
if send_mail "$PF2_PORT" alice@acme.example someone@elsewhere.example "$small" && wait_for_delivery 1 30; then
  sink_all_signed full-spool-small-delivered-signed 1
else
  fail full-spool-small-delivered-signed "SMTP: ${SMTP_REPLY:-no reply}; sink holds $(sink_count)"
fi

# --- space again: pf1's retry goes through ------------------------------------------------------
rm -f "$SPOOL/filler"
pf_flush "$PF1"
if wait_for_delivery 2 60 && [ "$(pf_queue_count "$PF1")" -eq 0 ]; then
  sink_all_signed full-spool-retry-delivered-signed 2
  sink_message "$(ls -S "$SINK_DIR"/* | head -n 1)" "$WORK/big.out.eml"
  grep -q 'Line 06000 of a report' "$WORK/big.out.eml" && pass full-spool-retry-complete \
    || fail full-spool-retry-complete "the last line of the large message is missing"
else
  fail full-spool-retry-delivered-signed "sink $(sink_count), pf1 queue $(pf_queue_count "$PF1"): $(tail -n 2 "$PF1/maillog" | tr '\n' ' ' | cut -c1-300)"
  fail full-spool-retry-complete "not delivered"
fi

# --- 2. the cache folder is full -----------------------------------------------------------------
# A partner's signed message: verified and delivered; harvesting its certificate fails for
# want of space and is only logged. Every client here is 127.0.0.1, so inbound mail goes
# through a second ssm-milter (same configuration and cache folder, no internal networks)
# behind its own Postfix.
fill "$CACHE" || fatal full-setup "could not fill $CACHE: $(df -k "$CACHE" | tail -n 1)"
issue_cert nina nina@partner.example rsa "digitalSignature, keyEncipherment" || fatal full-setup "issue nina"
{
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nThe partner signs this.\r\n'
} >"$WORK/entity.txt"
{
  printf 'From: nina@partner.example\r\nTo: alice@acme.example\r\nSubject: signed by a partner\r\n'
  printf 'Message-ID: <nina.%s@partner.example>\r\nMIME-Version: 1.0\r\n' "$$"
  openssl cms -sign -md sha256 -in "$WORK/entity.txt" -signer "$XPKI/nina.cert.pem" \
    -inkey "$XPKI/nina.key.pem" -binary 2>"$WORK/sign.err" | sed -n '/^Content-Type/,$p' | perl -pe 's/\r?\n/\r\n/'
} >"$WORK/nina.eml"
IN_PORT=$(free_port); IN_MILTER_PORT=$(free_port)
sed -e "s/^internal_networks = .*/internal_networks = []/" \
    -e "s/$MILTER_PORT/$IN_MILTER_PORT/" "$WORK/ssm.toml" >"$WORK/ssm-in.toml"
MILTER_PORT=$IN_MILTER_PORT start_milter "$WORK/ssm-in.toml" || fatal full-setup "the inbound ssm-milter did not start"
start_postfix pfin "$IN_PORT" "$SINK_PORT" "$IN_MILTER_PORT" || fatal full-setup "Postfix pfin did not start"
rm -f "$SINK_DIR"/*
if send_mail "$IN_PORT" nina@partner.example alice@acme.example "$WORK/nina.eml" && wait_for_delivery 1 30; then
  sink_message "$(sink_files | head -n 1)" "$WORK/nina.out.eml"
  ar=$(perl -0pe 's/\r?\n[ \t]+/ /g' "$WORK/nina.out.eml" | grep -i -m1 '^Authentication-Results: mx\.acme\.example;')
  [[ $ar == *'smime=pass body.smime-identifier=nina@partner.example'* ]] && pass full-cache-inbound-verified \
    || fail full-cache-inbound-verified "${ar:-no Authentication-Results of ours}"
else
  fail full-cache-inbound-verified "SMTP: ${SMTP_REPLY:-no reply}; sink holds $(sink_count); $(grep -iE 'error|fail' "$WORK/milter.log" | tail -n 2 | tr '\n' ' ')"
fi
grep -qE 'harvest-(failed|store-unavailable)' "$WORK/milter.log" && pass full-cache-harvest-logged \
  || fail full-cache-harvest-logged "no harvest failure logged: $(grep -i harvest "$WORK/milter.log" | tail -n 2 | tr '\n' ' ')"
