#!/bin/bash
# Hostile and malformed messages through Postfix + ssm-milter. Each one must get a defined SMTP
# reply (2xx and then delivered signed, or 4xx/5xx with text), ssm-milter must survive it, and
# nothing unsigned may ever reach the sink. The reply each case got is printed to stderr
# ("reply[case]: ...") so the log records the behaviour. Observed (Postfix 3.7.11, first version
# of ssm-milter): 552 5.3.4 for 200-deep MIME nesting; 250 and delivered signed for everything
# else, including the 1 MB header line, which Postfix hands on cut to about 64 KB (ssmctl,
# without Postfix in front, rejects it 552 5.3.4: header block exceeds the configured limit).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token

start_sink || fatal bad-setup "smtp-sink did not start"
SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port)
# Postfix limits raised so that ssm-milter itself meets the 1 MB header line.
start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" "header_size_limit = 4194304" \
  "line_length_limit = 4194304" || fatal bad-setup "Postfix did not start"
write_config "$WORK/ssm.toml" port="$MILTER_PORT"
start_milter "$WORK/ssm.toml" || fatal bad-setup "ssm-milter did not start"

d=$WORK/bad
mkdir -p "$d"
hdr() { printf 'From: alice@acme.example\r\nTo: someone@elsewhere.example\r\nSubject: %s\r\nMessage-ID: <%s@bad.test>\r\n' "$1" "$1"; }

{ hdr unterminated-boundary
  printf 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
  printf -- '--never-closed\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--never-closed\r\nContent-Type: text/plain\r\n\r\nsecond part, and the closing delimiter never comes\r\n'
} >"$d/unterminated-boundary.eml"
{ hdr missing-boundary-parameter
  printf 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n'
} >"$d/missing-boundary-parameter.eml"
{ hdr nul-bytes
  printf 'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbefore\0NUL\0\0after\r\n\0\r\nend\r\n'
} >"$d/nul-bytes.eml"
{ hdr header-line-1mb
  printf 'X-Huge: '; head -c 1048576 /dev/zero | tr '\0' 'h'; printf '\r\n\r\nbody after a 1 MB header line\r\n'
} >"$d/header-line-1mb.eml"
{ hdr binary-garbage
  printf 'MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\r\n'
  head -c 65536 /dev/urandom
} >"$d/binary-garbage.eml"
{ hdr empty-body; printf '\r\n'; } >"$d/empty-body.eml"
hdr no-body-separator >"$d/no-body-separator.eml"
: >"$d/empty-data.eml"
{ hdr bad-base64
  printf 'MIME-Version: 1.0\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!! not base64 at all ****\r\n=====\r\n'
} >"$d/bad-base64.eml"
{ hdr nesting-200-deep
  printf 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n'
  for i in $(seq 1 200); do printf -- '--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' $((i - 1)) "$i"; done
  printf -- '--b200\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--b200--\r\n'
  for i in $(seq 199 -1 0); do printf -- '--b%d--\r\n' "$i"; done
} >"$d/nesting-200-deep.eml"
{ printf 'From: alice@acme.example\r\nTo: someone@elsewhere.example\r\nSubject: Gr\xc3\xbc\xc3\x9fe raw UTF-8 in a header\r\n\r\nbody\r\n'; } >"$d/raw-8bit-header.eml"

SMTP_TIMEOUT=60
cases="unterminated-boundary missing-boundary-parameter nul-bytes header-line-1mb binary-garbage empty-body no-body-separator empty-data bad-base64 nesting-200-deep raw-8bit-header"
summary=
for c in $cases; do
  before=$(sink_count)
  send_mail "$SMTPD_PORT" alice@acme.example someone@elsewhere.example "$d/$c.eml"
  rc=$?
  note "reply[$c]: ${SMTP_REPLY:-none}"
  summary="$summary$c: ${SMTP_REPLY:-none}"$'\n'
  case $rc in
    0)
      if ! wait_for_delivery $((before + 1)) 30; then
        fail "bad-$c" "accepted ($SMTP_REPLY) but not delivered in 30 s"
      else
        sink_message "$(ls -t "$SINK_DIR"/* | head -n 1)" "$WORK/delivered-$c.eml"
        if verify_openssl "$WORK/delivered-$c.eml" alice@acme.example; then pass "bad-$c"
        else fail "bad-$c" "accepted and delivered, but not validly signed: $PEER_DETAIL"; fi
      fi ;;
    4|5)
      if [[ $SMTP_REPLY =~ ^[45][0-9][0-9]\ .+ ]]; then pass "bad-$c"
      else fail "bad-$c" "reply without text: '$SMTP_REPLY'"; fi
      sleep 0.5
      [ "$(sink_count)" -eq "$before" ] || fail "bad-$c-not-delivered" "refused, yet something reached the sink" ;;
    *) fail "bad-$c" "no defined SMTP reply: '${SMTP_REPLY:-none}'" ;;
  esac
  if milter_alive; then pass "bad-$c-milter-survives"
  else
    fail "bad-$c-milter-survives" "ssm-milter died: $(tail -n 5 "$WORK/milter.log" | tr '\n' ' ')"
    start_milter "$WORK/ssm.toml" || fatal bad-restart "ssm-milter does not restart"
  fi
done

# the milter still answers an ordinary message, and signs it
before=$(sink_count)
sed 's/@SENDER@/alice@acme.example/; s/@RCPT@/someone@elsewhere.example/' \
  "$SSM_SRCDIR/tests/integration/messages/plain-7bit.eml" >"$WORK/normal.eml"
if send_mail "$SMTPD_PORT" alice@acme.example someone@elsewhere.example "$WORK/normal.eml" \
   && wait_for_delivery $((before + 1)) 30; then
  sink_message "$(ls -t "$SINK_DIR"/* | head -n 1)" "$WORK/delivered-normal.eml"
  if verify_openssl "$WORK/delivered-normal.eml" alice@acme.example; then pass bad-then-normal-message-signed
  else fail bad-then-normal-message-signed "$PEER_DETAIL"; fi
else
  fail bad-then-normal-message-signed "${SMTP_REPLY:-not delivered}"
fi

# The same inputs through `ssmctl process` (the milter's pipeline without Postfix, which
# normalises line ends and cuts long header lines): exit 0 with a validly signed result, or
# 1 (rejected) / 2 (temporary failure) with a reply on stderr; never a crash.
for c in $cases; do
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" process --direction out --from alice@acme.example \
    --to someone@elsewhere.example <"$d/$c.eml" >"$WORK/ssmctl-$c.eml" 2>"$WORK/ssmctl-$c.err"
  rc=$?
  reply=$(grep -m1 '^reply:' "$WORK/ssmctl-$c.err" | sed 's/^reply: //')
  note "ssmctl[$c]: exit $rc ${reply:-(no reply line)}"
  summary="${summary}ssmctl $c: exit $rc ${reply:-}"$'\n'
  case $rc in
    0) if verify_openssl "$WORK/ssmctl-$c.eml" alice@acme.example; then pass "bad-ssmctl-$c"
       else fail "bad-ssmctl-$c" "exit 0 but output not validly signed: $PEER_DETAIL"; fi ;;
    1|2) if [ -n "$reply" ]; then pass "bad-ssmctl-$c"; else fail "bad-ssmctl-$c" "exit $rc without a reply line"; fi ;;
    *) fail "bad-ssmctl-$c" "exit $rc: $(tail -n 3 "$WORK/ssmctl-$c.err" | tr '\n' ' ')" ;;
  esac
done

# nothing unsigned anywhere in the sink
unsigned=
for f in $(sink_files); do
  sink_message "$f" "$WORK/check.eml"
  verify_openssl "$WORK/check.eml" alice@acme.example || unsigned="$unsigned $(grep -m1 '^Subject:' "$WORK/check.eml" | tr -d '\r')"
done
[ -z "$unsigned" ] && pass bad-sink-holds-only-signed-mail || fail bad-sink-holds-only-signed-mail "unsigned:$unsigned"
printf 'observed replies:\n%s' "$summary" >&2
stop_milter
