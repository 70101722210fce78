#!/bin/bash
# PRODUCT §2.4 through a real Postfix 3.7 with ssm-milter: each case is answered at RCPT time,
# seen by a real SMTP client (tests/integration/smtp_rcpt.py, Python smtplib), with the exact
# reply code and enhanced status code per recipient:
#   mandatory encryption, no / expired / wrong-usage / untrusted certificate -> 550 5.7.1 + reason
#   token unavailable (configured token label absent)                        -> 451 4.3.0
#   mixed treatments in one transaction -> 452 4.5.3 for the second kind, and through a first
#     (post-queue) Postfix the deferred recipient arrives later in its own transaction
#   opportunistic without a certificate -> delivered signed only
#   a recipient routing through its local part ('%', '!', a second '@')  -> 553 5.1.3
#   an address extension (ceo+x@) gets the mandatory rule written for ceo@; with
#     partner_recipient_delimiter = "" (reloaded) it does not
#   our recipient_delimiter "-" is not the partners': dave-smith@partner (no certificate of its
#     own) gets 550 5.7.1, not dave@'s certificate, until the partner is listed with "-"
#   an address extension's certificate: dave+x@ (only dave@ has one) is encrypted to dave@'s,
#     logged as found under dave@ (and so shown by ssmctl cert lookup); gus+x@ has its own,
#     which wins over gus@'s
#   a bare <postmaster> (RFC 5321 §4.5.1: MUST be accepted) -> 250, delivered under its rule
#   (directory unreachable -> 451 4.7.1 is tested with a real slapd in test_directory_ldap.sh)
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink python3 openssl softhsm2-util pkcs11-tool perl script
require_binaries
make_pki
make_token
mkdir -p "$WORK/out" "$WORK/crls" "$WORK/certs"
CLIENT=$SSM_SRCDIR/tests/integration/smtp_rcpt.py

issue_cert old old@partner.example rsa "keyEncipherment" expired || fatal rcpt-setup "old"
issue_cert wrong wrong@partner.example rsa "digitalSignature" || fatal rcpt-setup "wrong"
issue_cert rog rog@partner.example rsa "keyEncipherment" rogue || fatal rcpt-setup "rog"
issue_cert gus gus@partner.example rsa "keyEncipherment" || fatal rcpt-setup "gus"
issue_cert gusx gus+x@partner.example rsa "keyEncipherment" || fatal rcpt-setup "gus+x"
cp "$PKI/dave.cert.pem" "$XPKI/old.cert.pem" "$XPKI/wrong.cert.pem" "$XPKI/rog.cert.pem" \
  "$XPKI/gus.cert.pem" "$XPKI/gusx.cert.pem" "$WORK/certs/"

RULES='[[rule]]
name = "the ceo of opportunistic.example: always encrypted"
direction = "outbound"
to = ["ceo@opportunistic.example"]
sign = "sender"
encrypt = "mandatory"

[[rule]]
name = "partner mail must be encrypted"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"

[[rule]]
name = "opportunistic"
direction = "outbound"
to = ["*@opportunistic.example"]
sign = "sender"
encrypt = "opportunistic"

[[rule]]
name = "everything else is signed"
direction = "outbound"
sign = "sender"
encrypt = "never"'
# config NAME [token_label [more]]: an ssm-milter configuration with the rules above, and
# `more` (TOML tables) after them.
config() {
  write_config "$WORK/ssm-$1.toml" port="$MILTER_PORT" rules="$RULES" token_label="${2:-ssm-test}" \
    pki="crls = \"$WORK/crls\"
revocation = \"off\"" extra="[directory]
cache = \"$WORK/cache-$1\"
static_certificates = \"$WORK/certs\"
${3:-}"
}

start_sink || fatal rcpt-setup "smtp-sink did not start"
MILTER_PORT=$(free_port); config main
start_milter "$WORK/ssm-main.toml" || fatal rcpt-setup "ssm-milter did not start"
MAIN_PID=$MILTER_PORT MAIN_MILTER=$MILTER_PID
# The token-less milter: answered 451 4.3.0 at RCPT (or, if it refuses to start, that is reported).
NOTOKEN_MPORT=$(free_port); MILTER_PORT=$NOTOKEN_MPORT; config notoken no-such-token
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-notoken.toml" >>"$WORK/milter-notoken.log" 2>&1 &
NOTOKEN_PID=$!; on_exit "kill -KILL $NOTOKEN_PID"
SMTPD_PORT=$(free_port) NOTOKEN_PORT=$(free_port)
PF_MASTER_EXTRA="127.0.0.1:$NOTOKEN_PORT inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$NOTOKEN_MPORT" \
  start_postfix pf2 "$SMTPD_PORT" "$SINK_PORT" "$MAIN_PID" || fatal rcpt-setup "Postfix did not start"
PF2=$PF_DIR

sed 's/@SENDER@/alice@acme.example/; s/@RCPT@/list@partner.example/' \
  "$SSM_SRCDIR/tests/integration/messages/plain-7bit.eml" >"$WORK/msg.eml"

# transaction NAME PORT RCPT...: one SMTP transaction; replies in $WORK/out/NAME.replies.
transaction() {
  local name=$1 port=$2; shift 2
  python3 "$CLIENT" "$port" alice@acme.example "$WORK/msg.eml" "$@" >"$WORK/out/$name.replies" 2>&1
}
# expect_reply TRANSACTION CASE WHAT REGEX: in TRANSACTION's replies, the line for WHAT
# ("RCPT addr" or "DATA") matches REGEX; CASE is the result name.
expect_reply() {
  local tr=$1 name=$2 what=$3 re=$4 line
  line=$(grep -m1 "^$what " "$WORK/out/$tr.replies")
  if printf '%s\n' "$line" | grep -qE "^$what $re"; then pass "$name"
  else fail "$name" "got '${line:-no reply: $(tr '\n' ' ' <"$WORK/out/$tr.replies")}', expected /$re/"; fi
}

# 1. mandatory encryption without a usable certificate: 550 5.7.1 with the reason.
before=$(sink_count)
transaction mandatory "$SMTPD_PORT" nobody@partner.example old@partner.example wrong@partner.example \
  rog@partner.example dave@partner.example
expect_reply mandatory rcpt-mandatory-no-certificate "RCPT nobody@partner.example" '550 5\.7\.1 .*nobody@partner\.example'
expect_reply mandatory rcpt-mandatory-expired "RCPT old@partner.example" '550 5\.7\.1 .*(expired|not valid|validity)'
expect_reply mandatory rcpt-mandatory-wrong-usage "RCPT wrong@partner.example" '550 5\.7\.1 .*(usage|keyEncipherment)'
expect_reply mandatory rcpt-mandatory-untrusted "RCPT rog@partner.example" '550 5\.7\.1 .*(trust|issuer|chain|Rogue)'
expect_reply mandatory rcpt-mandatory-valid-accepted "RCPT dave@partner.example" '250 '
expect_reply mandatory rcpt-mandatory-valid-data "DATA" '250 '
note "replies: $(tr '\n' '|' <"$WORK/out/mandatory.replies")"

# 2. opportunistic without a certificate: accepted, delivered signed only (not encrypted).
transaction opportunistic "$SMTPD_PORT" carl@opportunistic.example
expect_reply opportunistic rcpt-opportunistic-accepted "RCPT carl@opportunistic.example" '250 '
expect_reply opportunistic rcpt-opportunistic-data "DATA" '250 '
if wait_for_delivery $((before + 2)) 30; then
  for f in $(sink_files); do
    sink_rcpts "$f" | grep -q carl@opportunistic.example && sink_message "$f" "$WORK/out/opportunistic.eml"
    sink_rcpts "$f" | grep -q dave@partner.example && sink_message "$f" "$WORK/out/mandatory.eml"
  done
  if [ -f "$WORK/out/opportunistic.eml" ] && verify_openssl "$WORK/out/opportunistic.eml" alice@acme.example; then
    pass rcpt-opportunistic-delivered-signed-only
  else fail rcpt-opportunistic-delivered-signed-only "${PEER_DETAIL:-not found at the sink}"; fi
  if [ -f "$WORK/out/mandatory.eml" ] && smime_envelope "$WORK/out/mandatory.eml" "$WORK/out/mandatory.p7m" \
     && decrypt_openssl "$WORK/out/mandatory.p7m" dave "$WORK/out/mandatory.plain" \
     && verify_openssl "$WORK/out/mandatory.plain" alice@acme.example; then
    pass rcpt-mandatory-delivered-signed-and-encrypted
  else fail rcpt-mandatory-delivered-signed-and-encrypted "${PEER_DETAIL:-not found at the sink}"; fi
else
  fail rcpt-opportunistic-delivered-signed-only "not delivered within 30 s"
fi

# 2b. recipients that route through their local part: Postfix delivers dave%partner.example@H,
# partner.example!dave@H, dave@partner.example@H and "dave@partner.example"@H (it looks inside
# quotes) to dave@partner.example when H is one of its own destinations; planned for H they
# would leave in clear. Refused outbound, whatever the rule: 553 5.1.3.
transaction routing "$SMTPD_PORT" 'dave%partner.example@localhost' 'partner.example!dave@localhost' \
  'dave@partner.example@localhost' '"dave@partner.example"@localhost'
expect_reply routing rcpt-routing-percent-hack "RCPT dave%partner.example@localhost" '553 5\.1\.3 '
expect_reply routing rcpt-routing-bang-path "RCPT partner.example!dave@localhost" '553 5\.1\.3 '
expect_reply routing rcpt-routing-second-at "RCPT dave@partner.example@localhost" '553 5\.1\.3 '
expect_reply routing rcpt-routing-quoted-at 'RCPT "dave@partner.example"@localhost' '553 5\.1\.3 '

# 2c. address extensions: Postfix (recipient_delimiter = +) delivers ceo+x@ to ceo's mailbox, so
# the rule written for ceo@ must hold for it (default [policy] recipient_delimiter = "+"): no
# certificate, mandatory -> 550 5.7.1, not the domain's opportunistic rule (which would let it
# leave in clear). A local part that starts with the delimiter has no extension.
transaction extension "$SMTPD_PORT" ceo@opportunistic.example ceo+x@opportunistic.example \
  CEO+Board.Only@opportunistic.example +ceo@opportunistic.example
expect_reply extension rcpt-extension-base-refused "RCPT ceo@opportunistic.example" '550 5\.7\.1 '
expect_reply extension rcpt-extension-mandatory-refused "RCPT ceo[+]x@opportunistic.example" '550 5\.7\.1 .*ceo\+x@opportunistic\.example'
expect_reply extension rcpt-extension-case-refused "RCPT CEO[+]Board.Only@opportunistic.example" '550 5\.7\.1 '
expect_reply extension rcpt-extension-leading-delimiter-opportunistic "RCPT [+]ceo@opportunistic.example" '250 '
note "extension: $(tr '\n' '|' <"$WORK/out/extension.replies")"

# 2c'. the certificate of an address with an extension: none for dave+x@ as written, so the
# mailbox's (dave@, the same cut as the rules'), asked of the sources again; gus+x@ has a
# certificate of its own, which is chosen before gus@'s. Each delivered envelope must decrypt
# with the chosen certificate's key (openssl), and gus+x@'s not with gus@'s.
before_ext=$(sink_count)
transaction ext-dave "$SMTPD_PORT" dave+x@partner.example
transaction ext-gus "$SMTPD_PORT" gus+x@partner.example
expect_reply ext-dave rcpt-extension-mailbox-certificate-accepted "RCPT dave[+]x@partner.example" '250 '
expect_reply ext-gus rcpt-extension-own-certificate-accepted "RCPT gus[+]x@partner.example" '250 '
if wait_for_delivery $((before_ext + 2)) 30; then
  for f in $(sink_files); do
    sink_rcpts "$f" | grep -q 'dave+x@partner.example' && sink_message "$f" "$WORK/out/ext-dave.eml"
    sink_rcpts "$f" | grep -q 'gus+x@partner.example' && sink_message "$f" "$WORK/out/ext-gus.eml"
  done
  if [ -f "$WORK/out/ext-dave.eml" ] && smime_envelope "$WORK/out/ext-dave.eml" "$WORK/out/ext-dave.p7m" \
     && decrypt_openssl "$WORK/out/ext-dave.p7m" dave "$WORK/out/ext-dave.plain" \
     && verify_openssl "$WORK/out/ext-dave.plain" alice@acme.example; then
    if grep -q 'certificate-found-under rcpt=dave+x@partner.example looked_up=dave+x@partner.example certificate_for=dave@partner.example ' "$WORK/milter.log"; then
      pass rcpt-extension-encrypted-to-mailbox-certificate
    else fail rcpt-extension-encrypted-to-mailbox-certificate "no certificate-found-under line: $(grep 'dave+x' "$WORK/milter.log" | head -n 2 | tr '\n' ' ')"; fi
  else fail rcpt-extension-encrypted-to-mailbox-certificate "${PEER_DETAIL:-not found at the sink}"; fi
  if [ -f "$WORK/out/ext-gus.eml" ] && smime_envelope "$WORK/out/ext-gus.eml" "$WORK/out/ext-gus.p7m" \
     && decrypt_openssl "$WORK/out/ext-gus.p7m" gusx "$WORK/out/ext-gus.plain"; then
    if decrypt_openssl "$WORK/out/ext-gus.p7m" gus "$WORK/out/ext-gus.by-gus" 2>/dev/null; then
      fail rcpt-extension-own-certificate-wins "gus@'s key decrypts it too: encrypted to the mailbox's certificate"
    else pass rcpt-extension-own-certificate-wins; fi
  else fail rcpt-extension-own-certificate-wins "${PEER_DETAIL:-not found at the sink}"; fi
else
  fail rcpt-extension-encrypted-to-mailbox-certificate "not delivered within 30 s"
  fail rcpt-extension-own-certificate-wins "not delivered within 30 s"
fi
# ssmctl cert lookup decides as the milter does, and says under which address.
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm-main.toml" cert lookup dave+x@partner.example >"$WORK/out/lookup-ext" 2>&1
if grep -q '^mailbox="dave@partner.example"' "$WORK/out/lookup-ext" &&
   grep -q '^chosen .*found_under="dave@partner.example"' "$WORK/out/lookup-ext"; then
  pass ssmctl-lookup-extension-mailbox
else fail ssmctl-lookup-extension-mailbox "$(tr '\n' '|' <"$WORK/out/lookup-ext" | cut -c1-400)"; fi
# 2d. RFC 5321 §4.5.1: RCPT TO:<postmaster> without a domain MUST be accepted. Postfix accepts it
# and delivers it to postmaster@$myorigin; the milter plans it as the postmaster of its first
# [[domain]] (acme.example: "everything else is signed"), so it arrives signed by the sender.
before_pm=$(sink_count)
transaction postmaster "$SMTPD_PORT" postmaster
expect_reply postmaster rcpt-bare-postmaster-accepted "RCPT postmaster" '250 '
expect_reply postmaster rcpt-bare-postmaster-data "DATA" '250 '
if wait_for_delivery $((before_pm + 1)) 30; then
  for f in $(sink_files); do
    sink_rcpts "$f" | grep -qi '^<*postmaster@' && sink_message "$f" "$WORK/out/postmaster.eml"
  done
  if [ -f "$WORK/out/postmaster.eml" ] && verify_openssl "$WORK/out/postmaster.eml" alice@acme.example; then
    pass rcpt-bare-postmaster-delivered-signed
  else fail rcpt-bare-postmaster-delivered-signed "${PEER_DETAIL:-not found at the sink: $(for f in $(sink_files); do sink_rcpts "$f"; done | tr '\n' ' ')}"; fi
else
  fail rcpt-bare-postmaster-delivered-signed "not delivered within 30 s"
fi

# 3. token unavailable: recipients that need signing get 451 4.3.0 at RCPT.
if wait_port "$NOTOKEN_MPORT" 15 "$NOTOKEN_PID"; then
  transaction notoken "$NOTOKEN_PORT" someone@elsewhere.example
  expect_reply notoken rcpt-token-unavailable "RCPT someone@elsewhere.example" '451 4\.3\.0 '
  note "token-less milter: $(tr '\n' '|' <"$WORK/out/notoken.replies")"
else
  fail rcpt-token-unavailable "ssm-milter with token_label = no-such-token did not start: $(tail -n 3 "$WORK/milter-notoken.log" | tr '\n' ' ')"
fi

# 4. mixed treatments in one transaction, directly: the second kind gets 452 4.5.3.
transaction mixed "$SMTPD_PORT" dave@partner.example someone@elsewhere.example carl@opportunistic.example
expect_reply mixed rcpt-mixed-first-accepted "RCPT dave@partner.example" '250 '
expect_reply mixed rcpt-mixed-second-deferred "RCPT someone@elsewhere.example" '452 4\.5\.3 '
expect_reply mixed rcpt-mixed-third-deferred "RCPT carl@opportunistic.example" '452 4\.5\.3 '
note "mixed: $(tr '\n' '|' <"$WORK/out/mixed.replies")"

# 5. the same through a first, post-queue Postfix (pf1, no milter) relaying to pf2 (+milter): pf1
# must deliver the deferred recipient later in its own transaction, with its own treatment.
PF1_PORT=$(free_port)
start_postfix pf1 "$PF1_PORT" "$SMTPD_PORT" "" || fatal rcpt-setup "first Postfix did not start"
PF1=$PF_DIR
# the mixed transaction's message must have left pf2 before the sink is emptied.
deadline=$((SECONDS + 30))
while [ "$(pf_queue_count "$PF2")" -gt 0 ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
sleep 0.5; rm -f "$SINK_DIR"/*
t_sent=$(date +%s.%N)
transaction relayed "$PF1_PORT" dave@partner.example someone@elsewhere.example
expect_reply relayed rcpt-relayed-accepted-by-first-postfix "DATA" '250 '
# Postfix orders the recipients itself: whichever of the two it offers second is deferred
# (452 4.5.3) and retried after minimal_backoff_time; its maillog says which and when.
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ] && [ "$(grep -c 'status=sent' "$PF1/maillog")" -lt 2 ]; do sleep 0.2; done
deferred=$(sed -n 's/.*to=<\([^>]*\)>.*dsn=4\.5\.3, status=deferred.*/\1/p' "$PF1/maillog" | head -n 1)
if [ -n "$deferred" ] && [ "$(grep -c 'status=sent' "$PF1/maillog")" -ge 2 ]; then
  pass rcpt-relayed-deferred-452
  later=$(grep "to=<$deferred>.*status=sent" "$PF1/maillog" | sed -n 's/.* delay=\([0-9.]*\),.*/\1/p' | head -n 1)
  note "first Postfix: <$deferred> got 452 4.5.3, delivered in its own transaction ${later} s after submission (queue_run_delay = minimal_backoff_time = 5s)"
  wait_for_delivery 2 60
  n_split=0
  for f in $(sink_files); do
    [ "$(sink_rcpts "$f" | wc -l)" -eq 1 ] && n_split=$((n_split + 1))
    sink_rcpts "$f" | grep -q dave@partner.example && sink_message "$f" "$WORK/out/relayed-dave.eml"
    sink_rcpts "$f" | grep -q someone@elsewhere.example && sink_message "$f" "$WORK/out/relayed-someone.eml"
  done
  [ "$(sink_count)" -eq 2 ] && [ "$n_split" -eq 2 ] && pass rcpt-relayed-separate-transactions \
    || fail rcpt-relayed-separate-transactions "$(sink_count) deliveries, $n_split with one recipient"
  if [ -f "$WORK/out/relayed-dave.eml" ] && smime_envelope "$WORK/out/relayed-dave.eml" "$WORK/out/relayed-dave.p7m" \
     && decrypt_openssl "$WORK/out/relayed-dave.p7m" dave "$WORK/out/relayed-dave.plain" \
     && verify_openssl "$WORK/out/relayed-dave.plain" alice@acme.example; then pass rcpt-relayed-partner-signed-and-encrypted
  else fail rcpt-relayed-partner-signed-and-encrypted "${PEER_DETAIL:-not delivered}"; fi
  if [ -f "$WORK/out/relayed-someone.eml" ] && verify_openssl "$WORK/out/relayed-someone.eml" alice@acme.example; then
    pass rcpt-relayed-other-signed-only
  else fail rcpt-relayed-other-signed-only "${PEER_DETAIL:-not delivered}"; fi
else
  fail rcpt-relayed-deferred-452 "within 60 s: $(grep -E 'status=' "$PF1/maillog" | cut -c1-200 | tr '\n' ' ')"
fi

# Each refusal at RCPT is in the milter's log with the recipient and what lay behind it; the
# token's detail stays out of the SMTP reply (it names the module and the token).
if grep -q 'rcpt-refused rcpt=old@partner.example .*reply="550 5.7.1 .*expired' "$WORK/milter.log"; then
  pass rcpt-refusal-logged
else fail rcpt-refusal-logged "$(grep rcpt-refused "$WORK/milter.log" | head -n 3 | tr '\n' ' ')"; fi
if grep -q 'rcpt-refused .*reply="451 4.3.0 HSM key temporarily unavailable (HSM token' "$WORK/milter-notoken.log" &&
   [ -f "$WORK/out/notoken.replies" ] && ! grep -q 'libsofthsm2\|no-such-token' "$WORK/out/notoken.replies"; then
  pass rcpt-token-detail-logged-not-replied
else fail rcpt-token-detail-logged-not-replied "$(grep rcpt-refused "$WORK/milter-notoken.log" | head -n 2 | tr '\n' ' ')"; fi

# reload_main WHAT TOML: the main milter reloads with TOML after the rules (SIGHUP); false when
# no 'reloaded' line came within 30 s (then each of WHAT's cases fails).
reload_main() {
  local reloads deadline
  MILTER_PORT=$MAIN_PID config main ssm-test "$2"
  reloads=$(grep -c 'reloaded' "$WORK/milter.log")
  kill -HUP "$MAIN_MILTER"
  deadline=$((SECONDS + 30))
  while [ "$(grep -c 'reloaded' "$WORK/milter.log")" -le "$reloads" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  [ "$(grep -c 'reloaded' "$WORK/milter.log")" -gt "$reloads" ] && return 0
  note "$1: no 'reloaded' line after SIGHUP: $(tail -n 2 "$WORK/milter.log" | tr '\n' ' ')"
  return 1
}

# 6. our recipient_delimiter = "-" (a Postfix/qmail site's) and partner_recipient_delimiter =
# "" (a reload, which they take effect with). "-" is ours alone: dave-smith@partner.example,
# without a certificate of its own, is another person at the partner, not encrypted to
# dave@partner.example's certificate but refused like any recipient without one (550 5.7.1).
# With extensions off for partners, ceo+x@opportunistic.example is an address of its own again
# and only the domain's opportunistic rule matches it; ceo@ stays refused; dave+x@ (its mailbox's
# certificate before) is refused too.
if reload_main dash-ours '[policy]
recipient_delimiter = "-"
partner_recipient_delimiter = ""'; then
  transaction no-delimiter "$SMTPD_PORT" ceo@opportunistic.example ceo+x@opportunistic.example
  expect_reply no-delimiter rcpt-no-delimiter-base-refused "RCPT ceo@opportunistic.example" '550 5\.7\.1 '
  expect_reply no-delimiter rcpt-no-delimiter-extension-opportunistic "RCPT ceo[+]x@opportunistic.example" '250 '
  note "no delimiter: $(tr '\n' '|' <"$WORK/out/no-delimiter.replies")"
  transaction dash-ours "$SMTPD_PORT" dave-smith@partner.example dave+x@partner.example
  expect_reply dash-ours rcpt-our-delimiter-not-the-partners "RCPT dave-smith@partner.example" \
    '550 5\.7\.1 .*dave-smith@partner\.example'
  expect_reply dash-ours rcpt-no-partner-delimiter-extension-refused "RCPT dave[+]x@partner.example" '550 5\.7\.1 '
  note "our dash: $(tr '\n' '|' <"$WORK/out/dash-ours.replies")"
else
  for c in rcpt-no-delimiter-base-refused rcpt-no-delimiter-extension-opportunistic \
    rcpt-our-delimiter-not-the-partners rcpt-no-partner-delimiter-extension-refused; do fail "$c" "not reloaded"; done
fi

# 7. the partner said to cut at "-" (partner_recipient_delimiters): dave-smith@ is dave's mailbox
# there, encrypted to dave@'s certificate (250), and logged as found under dave@.
if reload_main dash-partner '[policy]
recipient_delimiter = "-"
partner_recipient_delimiters = { "partner.example" = "-" }'; then
  transaction partner-delimiter "$SMTPD_PORT" dave-smith@partner.example
  expect_reply partner-delimiter rcpt-partner-delimiter-mailbox-certificate "RCPT dave-smith@partner.example" '250 '
  if grep -q 'certificate-found-under .*rcpt=dave-smith@partner.example .*certificate_for=dave@partner.example' "$WORK/milter.log"; then
    pass rcpt-partner-delimiter-found-under-logged
  else fail rcpt-partner-delimiter-found-under-logged "$(grep certificate-found-under "$WORK/milter.log" | tail -n 2 | tr '\n' ' ')"; fi
else
  for c in rcpt-partner-delimiter-mailbox-certificate rcpt-partner-delimiter-found-under-logged; do fail "$c" "not reloaded"; done
fi

# 8. no [[domain]]: no address is ours, so recipient_delimiter "-" cuts none (a rule for ceo@acme
# misses ceo-x@acme, which our MTA delivers to ceo): ssm-milter -n, like start-up, says so; with
# the [[domain]] it says nothing.
config dash-domain "" '[policy]
recipient_delimiter = "-"'
sed '/^\[\[domain\]\]$/,/^signing_identity/d' "$WORK/ssm-dash-domain.toml" >"$WORK/ssm-dash-nodomain.toml"
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ssm-dash-domain.toml" >"$WORK/check-dash-domain.log" 2>&1; rc_domain=$?
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ssm-dash-nodomain.toml" >"$WORK/check-dash-nodomain.log" 2>&1; rc_nodomain=$?
if [ "$rc_domain" -eq 0 ] && ! grep -q 'recipient_delimiter' "$WORK/check-dash-domain.log" && [ "$rc_nodomain" -eq 0 ] \
   && grep -q 'warning: \[policy\] recipient_delimiter "-" applies to no address: no \[\[domain\]\] is configured' \
     "$WORK/check-dash-nodomain.log"; then
  pass rcpt-delimiter-without-domain-warned
else fail rcpt-delimiter-without-domain-warned "with domain: rc $rc_domain $(tr '\n' ' ' <"$WORK/check-dash-domain.log"); without: rc $rc_nodomain $(tr '\n' ' ' <"$WORK/check-dash-nodomain.log")"; fi

stop_milters "$MAIN_MILTER" "$NOTOKEN_PID"
