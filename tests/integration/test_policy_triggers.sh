#!/bin/bash
# Header triggers through a real Postfix 3.7 with ssm-milter (PRODUCT §2.4, issue 5): recipients
# are planned at RCPT without the header, then again at the end of the header.
#   [encrypt] in the Subject, recipient under an opportunistic rule with a certificate
#       -> delivered encrypted (openssl decrypts it), the tag stripped from the outer Subject and
#          from the protected inner Subject; the milter's log names the trigger rule
#   the same without the tag -> delivered under the opportunistic rule, Subject untouched
#   [encrypt] to a recipient without a usable certificate -> 550 5.7.1 at the end of DATA (the
#       message is not delivered in clear); without the tag the same recipient gets it in clear
#   "Sensitivity: Private" (a header pattern) -> encrypted, Subject not stripped
# and `ssmctl policy test` on the same configuration: rule, trigger, certificate, exit codes.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
mkdir -p "$WORK/out" "$WORK/crls" "$WORK/certs"
cp "$PKI/dave.cert.pem" "$WORK/certs/"

RULES='[[rule]]
name = "tagged mail must be encrypted"
scope = "user"
direction = "outbound"
subject_tag = "[encrypt]"
strip_trigger = true
encrypt = "mandatory"

[[rule]]
name = "private mail must be encrypted"
scope = "user"
direction = "outbound"
header = ["Sensitivity: Private"]
encrypt = "mandatory"

[[rule]]
name = "partners when possible"
scope = "domain"
direction = "outbound"
to = ["*@partner.example"]
encrypt = "opportunistic"

[[rule]]
name = "everything else in clear"
sign = "none"
encrypt = "never"'
MILTER_PORT=$(free_port)
write_config "$WORK/ssm.toml" port="$MILTER_PORT" rules="$RULES" \
  pki="crls = \"$WORK/crls\"
revocation = \"off\"" \
  extra="[encryption]
header_protection = true
obscure_subject = false

[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\""
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm.toml" -n >"$WORK/check.log" 2>&1 \
  || fatal trig-config "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"

start_sink || fatal trig-setup "smtp-sink did not start"
start_milter "$WORK/ssm.toml" || fatal trig-setup "ssm-milter did not start"
SMTPD_PORT=$(free_port)
start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal trig-setup "Postfix did not start"

# header_of FILE FIELD: the first FIELD of the header (unfolded).
header_of() {
  perl -e 'local $/; open(my $f, "<:raw", $ARGV[0]) or exit 1; my $m = <$f>; $m =~ s/\r\n/\n/g;
           my ($h) = split(/\n\n/, $m, 2); $h =~ s/\n[ \t]+/ /g;
           for (split /\n/, $h) { if (/^\Q$ARGV[1]\E:[ \t]*(.*)$/i) { print "$1\n"; exit 0 } } exit 1' "$1" "$2"
}
# message NAME RCPT SUBJECT [EXTRA-FIELD]: a test message in $WORK/out/NAME.in.eml.
message() {
  local name=$1 rcpt=$2 subject=$3 extra=${4:-}
  { printf 'From: Alice <alice@acme.example>\nTo: %s\nSubject: %s\n' "$rcpt" "$subject"
    [ -n "$extra" ] && printf '%s\n' "$extra"
    printf 'Date: Mon, 30 Nov 2026 10:00:00 +0000\nMessage-ID: <%s@test.acme.example>\n\n' "$name"
    printf 'Figures for %s.\nRegards\n' "$name"; } >"$WORK/out/$name.in.eml"
}
# send NAME RCPT: one message through Postfix; sets DELIVERED (the sink copy) on success.
send() {
  local name=$1 rcpt=$2 before
  before=$(sink_count); DELIVERED=
  send_mail "$SMTPD_PORT" alice@acme.example "$rcpt" "$WORK/out/$name.in.eml" || return 1
  wait_for_delivery $((before + 1)) 30 || { SMTP_REPLY="not delivered within 30 s"; return 1; }
  sink_message "$(ls -t "$SINK_DIR"/* | head -n 1)" "$WORK/out/$name.eml"
  DELIVERED=$WORK/out/$name.eml
}
# decrypted NAME: the delivered message decrypted with dave's key into $WORK/out/NAME.plain.
decrypted() {
  smime_envelope "$DELIVERED" "$WORK/out/$1.p7m" && decrypt_openssl "$WORK/out/$1.p7m" dave "$WORK/out/$1.plain"
}

# 1. [encrypt] to dave (opportunistic rule, certificate available): encrypted, tag stripped.
message tagged dave@partner.example "[encrypt] quarterly figures"
if send tagged dave@partner.example; then
  pass trig-tagged-delivered
  if decrypted tagged; then pass trig-tagged-encrypted
    inner=$(header_of "$WORK/out/tagged.plain" Subject)
    [ "$inner" = "quarterly figures" ] && pass trig-tagged-inner-subject-stripped \
      || fail trig-tagged-inner-subject-stripped "inner Subject '$inner'"
    grep -q 'Figures for tagged' "$WORK/out/tagged.plain" && pass trig-tagged-content \
      || fail trig-tagged-content "decrypted text lacks the body"
  else fail trig-tagged-encrypted "${PEER_DETAIL:-not an S/MIME envelope}"; fi
  outer=$(header_of "$DELIVERED" Subject)
  [ "$outer" = "quarterly figures" ] && pass trig-tagged-outer-subject-stripped \
    || fail trig-tagged-outer-subject-stripped "outer Subject '$outer'"
  grep -q 'rule=tagged mail must be encrypted trigger=Subject tag \[encrypt\]' "$WORK/milter.log" && pass trig-tagged-logged \
    || fail trig-tagged-logged "no message line naming the trigger rule in the milter log"
else fail trig-tagged-delivered "SMTP: ${SMTP_REPLY:-no reply}"; fi

# 2. the same without the tag: the opportunistic rule decides (encrypted: dave has a certificate).
message untagged dave@partner.example "quarterly figures, no tag"
if send untagged dave@partner.example && decrypted untagged; then
  [ "$(header_of "$DELIVERED" Subject)" = "quarterly figures, no tag" ] && pass trig-untagged-subject-kept \
    || fail trig-untagged-subject-kept "outer Subject '$(header_of "$DELIVERED" Subject)'"
else fail trig-untagged-subject-kept "SMTP: ${SMTP_REPLY:-} ${PEER_DETAIL:-}"; fi

# 3. [encrypt] to a recipient without a certificate: accepted at RCPT (opportunistic), then the
# whole message is refused at the end of DATA: 550 5.7.1 naming the recipient.
message nocert nocert@partner.example "[encrypt] no certificate"
before=$(sink_count)
send_mail "$SMTPD_PORT" alice@acme.example nocert@partner.example "$WORK/out/nocert.in.eml"; rc=$?
if [ "$rc" -eq 5 ] && printf '%s\n' "$SMTP_REPLY" | grep -qE '^550[ -]5\.7\.1 .*nocert@partner\.example'; then
  pass trig-nocert-550
else fail trig-nocert-550 "rc=$rc reply '$SMTP_REPLY'"; fi
# An accepted message would be in pf's queue since the reply: delivered once the queue is empty.
pf_wait_queue_empty "$WORK/pf" 30
[ "$(sink_count)" -eq "$before" ] && pass trig-nocert-not-delivered || fail trig-nocert-not-delivered "a message reached the sink"

# 3b. The tag inside an RFC 2047 encoded Subject, as Outlook and Thunderbird write one with a
# non-ASCII character ("[encrypt] Vertragsänderung"): the trigger holds (until 2026-12-01 it was
# missed and the message went out in clear); to dave it is encrypted and the tag is gone from
# the Subject, which is encoded again.
message nocert-2047 nocert@partner.example "=?iso-8859-1?Q?=5Bencrypt=5D_Vertrags=E4nderung?="
before=$(sink_count)
send_mail "$SMTPD_PORT" alice@acme.example nocert@partner.example "$WORK/out/nocert-2047.in.eml"; rc=$?
if [ "$rc" -eq 5 ] && printf '%s\n' "$SMTP_REPLY" | grep -qE '^550[ -]5\.7\.1 .*nocert@partner\.example'; then
  pass trig-rfc2047-nocert-550
else fail trig-rfc2047-nocert-550 "rc=$rc reply '$SMTP_REPLY'"; fi
pf_wait_queue_empty "$WORK/pf" 30
[ "$(sink_count)" -eq "$before" ] && pass trig-rfc2047-not-delivered || fail trig-rfc2047-not-delivered "a message reached the sink"
message tagged-2047 dave@partner.example "=?UTF-8?B?W0VOQ1JZUFRdIEdyw7zDn2U=?="
if send tagged-2047 dave@partner.example && decrypted tagged-2047; then
  outer=$(header_of "$DELIVERED" Subject)
  shown=$(python3 -c 'import sys; from email.header import decode_header, make_header; print(str(make_header(decode_header(sys.argv[1]))))' "$outer")
  if [ "$shown" = "Grüße" ] && grep -q 'trigger=Subject tag \[encrypt\]' "$WORK/milter.log"; then pass trig-rfc2047-stripped
  else fail trig-rfc2047-stripped "outer Subject '$outer' reads '$shown'"; fi
else fail trig-rfc2047-stripped "SMTP: ${SMTP_REPLY:-} ${PEER_DETAIL:-}"; fi

# 4. without the tag the same recipient gets the message in clear (opportunistic, no certificate).
message clear nocert@partner.example "no certificate, no tag"
if send clear nocert@partner.example; then
  if grep -q 'Figures for clear' "$DELIVERED" && ! grep -qi 'pkcs7-mime' "$DELIVERED"; then pass trig-untagged-nocert-clear
  else fail trig-untagged-nocert-clear "delivered message is not the clear text"; fi
else fail trig-untagged-nocert-clear "SMTP: ${SMTP_REPLY:-no reply}"; fi

# 5. a header pattern trigger: encrypted under its own rule; to a recipient without a certificate
# whose RCPT-time rule never encrypts: 550 5.7.1.
message private2 dave@partner.example "board minutes" "Sensitivity: Private"
if send private2 dave@partner.example && decrypted private2; then
  [ "$(header_of "$DELIVERED" Subject)" = "board minutes" ] \
    && grep -q 'rule=private mail must be encrypted trigger=Sensitivity: Private' "$WORK/milter.log" \
    && pass trig-header-pattern-encrypted \
    || fail trig-header-pattern-encrypted "outer Subject '$(header_of "$DELIVERED" Subject)'"
else fail trig-header-pattern-encrypted "SMTP: ${SMTP_REPLY:-} ${PEER_DETAIL:-}"; fi
message private3 x@other.example "board minutes" "Sensitivity: Private"
send_mail "$SMTPD_PORT" alice@acme.example x@other.example "$WORK/out/private3.in.eml"; rc=$?
if [ "$rc" -eq 5 ] && printf '%s\n' "$SMTP_REPLY" | grep -qE '^550[ -]5\.7\.1 .*x@other\.example'; then
  pass trig-header-pattern-never-rule-550
else fail trig-header-pattern-never-rule-550 "rc=$rc reply '$SMTP_REPLY'"; fi

# 6. ssmctl policy test on the same configuration.
ssmctl_policy() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" policy test "$@" >"$WORK/out/pt.out" 2>"$WORK/out/pt.err"; }
ssmctl_policy --client 127.0.0.1 --from alice@acme.example --to dave@partner.example --header 'Subject: [encrypt] figures'
rc=$?
out=$(cat "$WORK/out/pt.out")
if [ $rc -eq 0 ] && grep -q '^  rule: tagged mail must be encrypted (scope user)' <<<"$out" \
   && grep -q '^  trigger: Subject tag \[encrypt\]' <<<"$out" \
   && grep -q '^  plan: sign=none encrypt=mandatory encrypt_to=recipient strip_trigger=yes' <<<"$out" \
   && grep -qE '^  certificate for dave@partner.example: subject=".*dave.*" serial=[0-9a-f]+ source=static' <<<"$out"; then
  pass trig-ssmctl-tagged
else fail trig-ssmctl-tagged "rc=$rc: $(tr '\n' '|' <<<"$out") $(tr '\n' ' ' <"$WORK/out/pt.err" | cut -c1-200)"; fi
ssmctl_policy --client 127.0.0.1 --from alice@acme.example --to dave@partner.example
rc=$?
if [ $rc -eq 0 ] && grep -q '^  rule: partners when possible (scope domain)' "$WORK/out/pt.out"; then pass trig-ssmctl-untagged
else fail trig-ssmctl-untagged "rc=$rc: $(tr '\n' '|' <"$WORK/out/pt.out")"; fi
ssmctl_policy --client 127.0.0.1 --from alice@acme.example --to nocert@partner.example --header 'Subject: [encrypt] x'
rc=$?
if [ $rc -eq 1 ] && grep -q '^  certificate for nocert@partner.example: none usable' "$WORK/out/pt.out" \
   && grep -qE '^message: 550 5\.7\.1 .*nocert@partner\.example' "$WORK/out/pt.out"; then pass trig-ssmctl-nocert-550
else fail trig-ssmctl-nocert-550 "rc=$rc: $(tr '\n' '|' <"$WORK/out/pt.out")"; fi
ssmctl_policy --client 198.51.100.7 --from x@partner.example --to alice@acme.example --header 'Subject: [encrypt] x'
rc=$?
if [ $rc -eq 0 ] && grep -q '^direction: inbound (no outbound evidence)' "$WORK/out/pt.out" \
   && grep -q '^  rule: everything else in clear' "$WORK/out/pt.out"; then pass trig-ssmctl-inbound
else fail trig-ssmctl-inbound "rc=$rc: $(tr '\n' '|' <"$WORK/out/pt.out")"; fi
ssmctl_policy --from alice@acme.example; rc=$?
[ $rc -eq 64 ] && pass trig-ssmctl-usage || fail trig-ssmctl-usage "rc=$rc"

stop_milter
