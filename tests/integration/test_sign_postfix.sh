#!/bin/bash
# Outbound signing through a real Postfix 3.7 with ssm-milter and keys in SoftHSM:
# swaks -> Postfix smtpd (+ssm-milter) -> smtp -> smtp-sink. Every delivered message must be
# 7bit-clean with lines <= 998 octets, carry the expected signature algorithm, verify with
# openssl, gpgsm and NSS cmsutil (where the peer supports the algorithm) with the expected
# signer, and its signed content must decode to exactly the original parts.
# Also: `ssmctl process` on the same messages (the offline path, incl. LF-only input).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl gpgsm gpgconf cmsutil certutil softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
msgdir=$SSM_SRCDIR/tests/integration/messages
RCPT=someone@elsewhere.example
mkdir -p "$WORK/out"

start_sink || fatal sign-setup "smtp-sink did not start"
SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port)
start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal sign-setup "Postfix did not start"

# with_milter FORMAT SCHEME: (re)start ssm-milter with that signing configuration.
with_milter() {
  stop_milter
  write_config "$WORK/ssm-$1-$2.toml" port="$MILTER_PORT" format="$1" rsa_scheme="$2"
  "$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-$1-$2.toml" -n >"$WORK/check.log" 2>&1 \
    || fatal "sign-config-$1-$2" "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"
  start_milter "$WORK/ssm-$1-$2.toml" || fatal "sign-milter-$1-$2" "ssm-milter did not start: $(tail -n 3 "$WORK/milter.log" | tr '\n' ' ')"
}

# expected_alg SIGNER SCHEME: the signatureAlgorithm we must see for that key and scheme.
expected_alg() {
  case $1 in
    bob@*) echo ecdsa-with-SHA256 ;;
    *) if [ "$2" = pss ]; then echo rsassaPss; else echo 'sha256WithRSAEncryption|rsaEncryption'; fi ;;
  esac
}

# check_signed NAME FILE ORIGINAL SIGNER SCHEME: all checks on one signed message
# (OPENSSL_ONLY=1: leave out gpgsm and cmsutil).
check_signed() {
  local name=$1 file=$2 orig=$3 signer=$4 scheme=$5
  # transport-safe: no 8bit octets, no line over 998 octets (RFC 5322 2.1.1).
  if LC_ALL=C grep -q $'[\x80-\xff]' "$file"; then fail "$name/7bit" "8bit octets in the signed message"
  elif LC_ALL=C awk '{ sub(/\r$/, "") } length($0) > 998 { bad = 1 } END { exit !bad }' "$file"; then
    fail "$name/7bit" "a line over 998 octets"
  else pass "$name/7bit"; fi

  if ! verify_openssl "$file" "$signer"; then
    fail "$name/openssl" "$PEER_DETAIL"; return
  fi
  pass "$name/openssl"
  local alg want
  alg=$(cms_signature_algorithm "$SIGNED_CMS"); want=$(expected_alg "$signer" "$scheme")
  if printf '%s\n' "$alg" | grep -qE "^($want)( |\$)"; then pass "$name/algorithm"
  else fail "$name/algorithm" "signatureAlgorithm '$alg', expected '$want'"; fi
  if [ "$(mime_leaves "$VERIFIED_CONTENT")" = "$(mime_leaves "$orig")" ]; then pass "$name/content"
  else fail "$name/content" "signed parts differ from the original: $(mime_leaves "$VERIFIED_CONTENT" | tr '\n' ' ')"; fi

  [ "${OPENSSL_ONLY:-0}" = 1 ] && return
  # gpgsm 2.2.40 verifies RSA-PSS only when the salt length equals the hash length.
  if [ "${alg%% *}" = rsassaPss ] && [ "$alg" != "rsassaPss salt=32" ]; then
    skip "$name/gpgsm" "gpgsm 2.2.40 verifies RSA-PSS only with salt length 32 for SHA-256; got '$alg'"
  elif verify_gpgsm "$file" "$signer"; then pass "$name/gpgsm"
  else fail "$name/gpgsm" "$PEER_DETAIL"; fi
  if verify_cmsutil "$file" "$signer"; then pass "$name/cmsutil"; else fail "$name/cmsutil" "$PEER_DETAIL"; fi
}

# through_postfix FORMAT SCHEME SENDER SIGNER MSG: one message through Postfix, then checks.
through_postfix() {
  local format=$1 scheme=$2 sender=$3 signer=$4 msg=$5
  local name="postfix-$format-$scheme-${sender%@*}-$msg" src=$WORK/out/$format-$scheme-${sender%@*}-$msg.in.eml
  sed "s/@SENDER@/$sender/; s/@RCPT@/$RCPT/" "$msgdir/$msg.eml" >"$src"
  local before; before=$(sink_count)
  if ! send_mail "$SMTPD_PORT" "$sender" "$RCPT" "$src"; then
    fail "$name" "SMTP: ${SMTP_REPLY:-no reply}"; return
  fi
  if ! wait_for_delivery $((before + 1)) 30; then
    fail "$name" "not delivered within 30 s (queue: $(pf_queue_count "$PF_DIR"))"; return
  fi
  local dump; dump=$(ls -t "$SINK_DIR"/* | head -n 1)
  sink_message "$dump" "$WORK/out/$name.eml"
  check_signed "$name" "$WORK/out/$name.eml" "$src" "$signer" "$scheme"
}

all_messages=$(cd "$msgdir" && ls *.eml | sed 's/\.eml$//')
some_messages="plain-7bit nested"

for format in detached opaque; do
  with_milter "$format" pkcs1
  for msg in $all_messages; do through_postfix "$format" pkcs1 alice@acme.example alice@acme.example "$msg"; done
  for msg in $some_messages; do
    through_postfix "$format" pkcs1 bob@acme.example bob@acme.example "$msg"
    # zed has no key on the token: RFC 3183 domain signing.
    through_postfix "$format" pkcs1 zed@acme.example domain-signing-authority@acme.example "$msg"
  done
done
for format in detached opaque; do
  with_milter "$format" pss
  for msg in $some_messages utf8-8bit; do through_postfix "$format" pss carol@acme.example carol@acme.example "$msg"; done
done
if milter_alive; then pass postfix-milter-still-running
else fail postfix-milter-still-running "ssm-milter died: $(tail -n 5 "$WORK/milter.log" | tr '\n' ' ')"; fi

# The offline path: ssmctl process runs the same pipeline on a file (LF-only input included).
# The peers already proved the milter's output; here openssl and the content check suffice.
stop_milter
OPENSSL_ONLY=1
# ssmctl_signed NAME SRC: ssmctl process signs SRC as alice (detached, PKCS#1 v1.5), checked.
ssmctl_signed() {
  local name=$1 src=$2
  if "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm-detached-pkcs1.toml" process --direction out \
       --from alice@acme.example --to "$RCPT" <"$src" >"$WORK/out/$name.eml" 2>"$WORK/out/$name.err"; then
    check_signed "$name" "$WORK/out/$name.eml" "$src" alice@acme.example pkcs1
  else
    fail "$name" "ssmctl exit $?: $(tail -n 2 "$WORK/out/$name.err" | tr '\n' ' ')"
  fi
}
for msg in $all_messages; do
  src=$WORK/out/ssmctl-$msg.in.eml
  sed "s/@SENDER@/alice@acme.example/; s/@RCPT@/$RCPT/" "$msgdir/$msg.eml" >"$src"
  ssmctl_signed "ssmctl-detached-pkcs1-alice-$msg" "$src"
done
# 8-bit text parts that name no charset are re-encoded with the charset their octets are in
# (RFC 2045 §5.2's default, us-ascii, would misname them; until 2026-12-01 only the top
# level was labelled): the part without Content-Type, the Content-Type without charset.
out=$WORK/out/ssmctl-detached-pkcs1-alice-nested-unlabelled-8bit.eml
if grep -q $'^Content-Type: text/plain; charset=utf-8\r$' "$out" &&
   grep -A1 $'^Content-Type: text/plain; format=flowed;\r$' "$out" | grep -q $'^ charset=unknown-8bit\r$' &&
   grep -q $'^Content-Type: text/plain; charset=iso-8859-1\r$' "$out"; then
  pass ssmctl-nested-charset-labels
else
  fail ssmctl-nested-charset-labels "$(grep -i '^Content-Type: text' "$out" | tr '\r\n' '  ')"
fi

# The From field as mail clients write it (RFC 5322 §3.4): Exchange's "Last, First" display
# names and "addr (comment)" from MTAs and cron were refused with 554 "no From address" until
# 2026-12-01 (found with real mail); with several authors the Sender names the signer; a
# display name without angle brackets is no address.
from_case() {  # NAME FROM [SENDER] -> $WORK/out/ssmctl-from-NAME.in.eml
  local src=$WORK/out/ssmctl-from-$1.in.eml
  { printf 'From: %s\r\n' "$2"; [ -n "${3:-}" ] && printf 'Sender: %s\r\n' "$3"
    sed '1d; s/@RCPT@/'"$RCPT"'/' "$msgdir/plain-7bit.eml"; } >"$src"
}
from_case last-first '"Smith, Alice" <alice@acme.example>'
from_case comment 'alice@acme.example (Alice Smith, Sales)'
from_case comment-first '(Alice) alice@acme.example'
from_case authors-sender 'Bob <bob@acme.example>, "Smith, Alice" <alice@acme.example>' '"Smith, Alice" <alice@acme.example>'
from_case authors-first '"Smith, Alice" <alice@acme.example>, Bob <bob@acme.example>'
for c in last-first comment comment-first authors-sender authors-first; do
  ssmctl_signed "ssmctl-from-$c" "$WORK/out/ssmctl-from-$c.in.eml"
done
# Header fields the signature does not touch are written as they came, as the milter leaves
# them with the MTA: no space added after a colon, folds kept (ssmctl wrote "Name: value" for
# every field until 2026-12-01).
name=ssmctl-untouched-fields
{ printf 'From: alice@acme.example\nTo: %s\nX-Tight:value\nX-Folded: first\n\tsecond\nSubject:  two spaces\n\n' "$RCPT"
  sed '1,/^$/d' "$msgdir/plain-7bit.eml"; } >"$WORK/out/$name.in.eml"
if "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm-detached-pkcs1.toml" process --direction out --from alice@acme.example \
     --to "$RCPT" <"$WORK/out/$name.in.eml" >"$WORK/out/$name.eml" 2>"$WORK/out/$name.err" \
   && grep -q $'^X-Tight:value\r$' "$WORK/out/$name.eml" \
   && grep -q $'^X-Folded: first\r$' "$WORK/out/$name.eml" && grep -q $'^\tsecond\r$' "$WORK/out/$name.eml" \
   && grep -q $'^Subject:  two spaces\r$' "$WORK/out/$name.eml" && grep -q '^Content-Type: multipart/signed' "$WORK/out/$name.eml"
then pass "$name"; else fail "$name" "$(grep -E '^(X-|Subject|decision)' "$WORK/out/$name.eml" "$WORK/out/$name.err" | tr '\n' ' ')"; fi
from_case no-angle 'Alice Smith alice@acme.example'
name=ssmctl-from-no-angle
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm-detached-pkcs1.toml" process --direction out --from alice@acme.example \
  --to "$RCPT" <"$WORK/out/$name.in.eml" >"$WORK/out/$name.eml" 2>"$WORK/out/$name.err"
rc=$?
if [ "$rc" = 1 ] && grep -q '554 5.6.0 .*no From address' "$WORK/out/$name.err"; then pass "$name"
else fail "$name" "exit $rc: $(grep -E '^(decision|reply):' "$WORK/out/$name.err" | tr '\n' ' ')"; fi
