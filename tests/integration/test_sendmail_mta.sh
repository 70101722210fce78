#!/bin/bash
# ssm-milter behind a real Sendmail 8.17 (PRODUCT §1: "They run Postfix (most) or Sendmail").
# swaks -> sendmail (private daemon, +ssm-milter through contrib/sendmail/sendmail.mc.example)
# -> relay mailer -> smtp-sink. Sendmail's milter client is not Postfix's (macros, header
# values and indexes, body replacement, replies at end of message), so the cases of the Postfix
# tests run again here: signing (detached, opaque) with awkward header fields, encryption and
# the mandatory-encryption refusal at RCPT and the 452 4.5.3 deferral, inbound verification
# (forged Authentication-Results removed) and decryption (an empty body too, protected fields
# restored, undecryptable mail quarantined), direction by {daemon_name}, a split by
# reinjection (smfi_delrcpt), and F=T when the milter is down. Not covered: {auth_authen}
# (Sendmail's SMTP AUTH needs a Cyrus SASL set-up outside a private instance).
# sendmail-bin conflicts with postfix, so the binary is unpacked, not installed
# (scripts/fetch-sendmail.sh, run by scripts/install-deps.sh, into /var/cache/ssm-milter/sendmail).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools m4 smtp-sink swaks openssl perl unshare setsid softhsm2-util pkcs11-tool
require_binaries
SENDMAIL=${SSM_SENDMAIL:-/var/cache/ssm-milter/sendmail/usr/libexec/sendmail/sendmail}
[ -x "$SENDMAIL" ] || fatal sendmail-binary "$SENDMAIL missing (scripts/fetch-sendmail.sh)"
cfm4=/usr/share/sendmail/cf/m4/cf.m4
[ -r "$cfm4" ] || fatal sendmail-cf-macros "$cfm4 missing (Debian package sendmail-cf)"
export OPENSSL_CONF=/dev/null
make_pki
make_token alice carol domain-signing
mkdir -p "$WORK/out" "$WORK/certs" "$WORK/m"
cp "$PKI/dave.cert.pem" "$WORK/certs/"

# --- ssm-milter: on a unix socket, as the Sendmail example has it -----------------------------
# Direction comes only from Sendmail's {daemon_name}: the daemon named MSA is originating
# (the example's advice), every client is on loopback so internal_networks is empty.
MILTER_SOCKET_KIND=unix
MILTER_PORT=$(free_port) || fatal sendmail-setup "no free port"
RULES='[[rule]]
name = "partner mail is encrypted"
direction = "outbound"
to = ["*@partner.example"]
sign = "none"
encrypt = "mandatory"

[[rule]]
name = "everything else is signed by the sender"
direction = "outbound"
sign = "sender"
encrypt = "never"'
# milter_config FILE FORMAT: the test configuration with signing format FORMAT.
milter_config() {
  write_config "$1" port="$MILTER_PORT" format="$2" rules="$RULES" pki='revocation = "off"' \
    extra="$(static_directory_toml "$2")" || return 1
  sed -i -e 's|^internal_networks = .*|internal_networks = []|' \
         -e 's|^originating_daemons = .*|originating_daemons = ["MSA"]|' "$1"
}
milter_config "$WORK/ssm-detached.toml" detached && milter_config "$WORK/ssm-opaque.toml" opaque \
  || fatal sendmail-setup "write_config"
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-detached.toml" -n >"$WORK/check.log" 2>&1 \
  || fatal sendmail-setup "ssm-milter -n: $(tail -n 3 "$WORK/check.log" | tr '\n' ' ')"
start_milter "$WORK/ssm-detached.toml" || fatal sendmail-setup "ssm-milter did not start"
MSOCK=$(milter_socket_spec "$MILTER_PORT" unix); MSOCK=${MSOCK#unix:}

start_sink || fatal sendmail-setup "smtp-sink did not start"

# --- the private Sendmail ----------------------------------------------------------------------
# Everything it writes lives in $SM (root-owned, not group/world-writable: Sendmail's safefile
# checks); no aliases, no local delivery; every recipient is relayed to the sink. The shipped
# example is used as it is: only its socket path is substituted.
SM=$WORK/sendmail
MTA_PORT=$(free_port) && MSA_PORT=$(free_port) || fatal sendmail-setup "no free port"
mkdir -p "$SM/mqueue"; chmod 755 "$SM"; chmod 700 "$SM/mqueue"
cp "$(dirname "$(dirname "$(dirname "$SENDMAIL")")")/../etc/mail/helpfile" "$SM/helpfile" 2>/dev/null || : >"$SM/helpfile"
: >"$SM/statistics"
# Host names from a private hosts file, never DNS (the machine has none to offer).
printf 'hosts files\naliases files\n' >"$SM/service.switch"
printf '127.0.0.1 localhost sm.test.invalid\n' >"$SM/hosts"
example=$SSM_SRCDIR/contrib/sendmail/sendmail.mc.example
grep -q 'S=unix:/run/ssm-milter/milter.sock' "$example" || fatal sendmail-setup "the example's socket changed"
q="'"
{
  printf 'divert(-1)dnl\ninclude(`%s%s)dnl\ndivert(0)dnl\n' "$cfm4" "$q"
  printf 'OSTYPE(`linux%s)dnl\n' "$q"
  printf 'define(`confDOMAIN_NAME%s, `sm.test.invalid%s)dnl\n' "$q" "$q"
  printf 'define(`QUEUE_DIR%s, `%s%s)dnl\n' "$q" "$SM/mqueue" "$q"
  printf 'define(`confPID_FILE%s, `%s%s)dnl\n' "$q" "$SM/sendmail.pid" "$q"
  printf 'define(`STATUS_FILE%s, `%s%s)dnl\n' "$q" "$SM/statistics" "$q"
  printf 'define(`HELP_FILE%s, `%s%s)dnl\n' "$q" "$SM/helpfile" "$q"
  printf 'undefine(`ALIAS_FILE%s)dnl\n' "$q"
  printf 'define(`confSERVICE_SWITCH_FILE%s, `%s%s)dnl\n' "$q" "$SM/service.switch" "$q"
  printf 'define(`confHOSTS_FILE%s, `%s%s)dnl\n' "$q" "$SM/hosts" "$q"
  # The work dir lies under /tmp (world-writable, sticky): trust the sticky bit for the milter
  # socket's path, as a site with its socket in /tmp would.
  printf 'define(`confDONT_BLAME_SENDMAIL%s, `TrustStickyBit%s)dnl\n' "$q" "$q"
  printf 'define(`confDELIVERY_MODE%s, `background%s)dnl\n' "$q" "$q"
  printf 'define(`SMART_HOST%s, `relay:[127.0.0.1]%s)dnl\n' "$q" "$q"
  printf 'define(`RELAY_MAILER_ARGS%s, `TCP $h %s%s)dnl\n' "$q" "$SINK_PORT" "$q"
  printf 'FEATURE(`no_default_msa%s)dnl\nFEATURE(`nocanonify%s)dnl\nFEATURE(`accept_unresolvable_domains%s)dnl\n' "$q" "$q" "$q"
  printf 'DAEMON_OPTIONS(`Family=inet, Name=MTA, Port=%s, Addr=127.0.0.1%s)dnl\n' "$MTA_PORT" "$q"
  # The example's MSA is M=Ea (AUTH required); this one needs no AUTH (no SASL set-up here):
  # its name is what makes mail outbound.
  printf 'DAEMON_OPTIONS(`Family=inet, Name=MSA, Port=%s, M=E, Addr=127.0.0.1%s)dnl\n' "$MSA_PORT" "$q"
  sed "s|S=unix:/run/ssm-milter/milter.sock|S=unix:$MSOCK|" "$example"
  printf 'MAILER(`local%s)dnl\nMAILER(`smtp%s)dnl\n' "$q" "$q"
} >"$SM/site.mc"
m4 "$SM/site.mc" >"$SM/sendmail.cf" 2>"$SM/m4.err" && [ ! -s "$SM/m4.err" ] \
  || fatal sendmail-setup "m4: $(head -n 3 "$SM/m4.err" | tr '\n' ' ')"
grep -q "^Xssm-milter, S=unix:$MSOCK, F=T" "$SM/sendmail.cf" || fatal sendmail-setup "no filter line for $MSOCK"

# start_sendmail: the daemon in the foreground (-bD) in its own session, so the test ends it
# and every child it forked. Its own UTS namespace gives it a qualified host name: Sendmail
# canonifies the host name before it reads sendmail.cf and sleeps a minute when it cannot.
SM_PID=
start_sendmail() {
  setsid unshare --uts sh -c "hostname sm.test.invalid && exec \"$SENDMAIL\" -C \"$SM/sendmail.cf\" -bD -q10s" \
    >>"$SM/sendmail.out" 2>&1 </dev/null &
  SM_PID=$!
  on_exit "kill -KILL -- -$SM_PID"
  wait_port "$MTA_PORT" 20 "$SM_PID" && wait_port "$MSA_PORT" 5 "$SM_PID"
}
start_sendmail || fatal sendmail-starts "sendmail did not listen: $(tail -n 3 "$SM/sendmail.out" | tr '\n' ' ')"
pass sendmail-starts

# sm_queue_count: messages in Sendmail's queue awaiting delivery: qf<id> (tf<id> while it is
# written); a quarantined one is hf<id> and not counted.
sm_queue_count() { find "$SM/mqueue" -type f \( -name 'qf*' -o -name 'tf*' \) 2>/dev/null | wc -l; }
# sm_wait_queue_empty SECONDS: until that queue is empty; 1 at the deadline. Sendmail commits
# an accepted message's qf before its reply and the background delivery removes it only after
# the sink took the message, so a delivery that must not happen has arrived by then.
sm_wait_queue_empty() {
  local deadline=$((SECONDS + $1))
  while [ "$(sm_queue_count)" -gt 0 ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
  return 0
}
# sm_quarantined: how many quarantined queue files (hf<id> with its reason on a "q" line).
sm_quarantined() { grep -la '^q' "$SM"/mqueue/hf* 2>/dev/null | wc -l; }
# last_delivered OUT: the newest message in the sink, CRLF.
last_delivered() { sink_message "$(ls -t "$SINK_DIR"/* | head -n 1)" "$1"; }
# deliver NAME PORT FROM TO EML: send and wait for one more message at the sink, in $WORK/out/NAME.eml.
deliver() {
  local before; before=$(sink_count)
  send_mail "$2" "$3" "$4" "$5" || { DETAIL="SMTP: ${SMTP_REPLY:-no reply}"; return 1; }
  wait_for_delivery $((before + 1)) 30 || { DETAIL="not delivered within 30 s"; return 1; }
  last_delivered "$WORK/out/$1.eml"
}

# count_field FILE NAME: how many header fields NAME the message has.
count_field() {
  perl -e 'local $/; open(my $f, "<:raw", $ARGV[0]) or exit 1; my $m = <$f>; $m =~ s/\r\n/\n/g;
           my ($h) = split(/\n\n/, $m, 2); my $n = () = $h =~ /^\Q$ARGV[1]\E:/mgi; print "$n\n"' "$1" "$2"
}
# raw_field FILE NAME: the first field NAME as its lines are (folding kept, CRLF removed).
raw_field() {
  perl -e 'local $/; open(my $f, "<:raw", $ARGV[0]) or exit 1; my $m = <$f>; $m =~ s/\r\n/\n/g;
           my ($h) = split(/\n\n/, $m, 2); print "$1\n" if $h =~ /^(\Q$ARGV[1]\E:.*(?:\n[ \t].*)*)/mi' "$1" "$2"
}

# --- 1. outbound signing through the MSA ---------------------------------------------------------
# 8bit text, a header folded over two lines, a Subject without a space after the colon.
printf '%s\r\n' 'From: Alice <alice@acme.example>' 'To: <bob@acme.example>' 'Subject:x-no-space' \
  'X-Folded: the first part of a header value that is long enough' '	to be folded onto a second line' \
  'Message-ID: <hdr-detached@test.invalid>' 'MIME-Version: 1.0' 'Content-Type: text/plain; charset=utf-8' \
  'Content-Transfer-Encoding: 8bit' '' 'Grüße aus Köln, 8bit text.' 'Second line.' >"$WORK/m/headers.eml"
sign_case() {   # sign_case NAME FORM EML
  local name=$1 form=$2
  if ! deliver "$name" "$MSA_PORT" alice@acme.example bob@acme.example "$3"; then fail "$name" "$DETAIL"; return; fi
  local got; got=$(signed_form "$WORK/out/$name.eml")
  [ "$got" = "$form" ] || { fail "$name" "delivered $got, expected $form"; return; }
  verify_openssl "$WORK/out/$name.eml" alice@acme.example || { fail "$name" "$PEER_DETAIL"; return; }
  pass "$name"
}
sign_case sendmail-sign-detached detached "$WORK/m/headers.eml"
# The signed content is the original text (8bit re-encoded before signing, PRODUCT §2.1).
if [ -n "${VERIFIED_CONTENT:-}" ] && perl -MMIME::QuotedPrint -e 'local $/; my $m = <STDIN>; $m =~ s/\r\n/\n/g;
     my ($h, $b) = split(/\n\n/, $m, 2); $b = decode_qp($b) if $h =~ /quoted-printable/i;
     exit($b =~ /Grüße aus Köln/ ? 0 : 1)' <"$VERIFIED_CONTENT"; then pass sendmail-sign-8bit-text-kept
else fail sendmail-sign-8bit-text-kept "the signed content lost the 8bit text"; fi

# header_fields_sane NAME FILE: the fields the milter must not touch arrive as sent, and the
# ones it rewrites are there exactly once.
header_fields_sane() {
  local f=$2 bad= n fld
  for fld in From To Subject X-Folded Message-ID MIME-Version Content-Type; do
    n=$(count_field "$f" "$fld"); [ "$n" = 1 ] || bad="$bad $fld×$n"
  done
  [ "$(raw_field "$f" Subject)" = 'Subject:x-no-space' ] || [ "$(raw_field "$f" Subject)" = 'Subject: x-no-space' ] \
    || bad="$bad Subject='$(raw_field "$f" Subject)'"
  [ "$(raw_field "$f" X-Folded)" = "$(printf 'X-Folded: the first part of a header value that is long enough\n\tto be folded onto a second line')" ] \
    || bad="$bad X-Folded='$(raw_field "$f" X-Folded | tr '\n\t' '|>')'"
  [ "$(raw_field "$f" From)" = 'From: Alice <alice@acme.example>' ] || bad="$bad From='$(raw_field "$f" From)'"
  n=$(count_field "$f" Content-Transfer-Encoding); [ "$n" -le 1 ] || bad="$bad Content-Transfer-Encoding×$n"
  if [ -z "$bad" ]; then pass "$1"; else fail "$1" "header fields:$bad"; fi
}
[ -f "$WORK/out/sendmail-sign-detached.eml" ] && header_fields_sane sendmail-sign-detached-header-fields "$WORK/out/sendmail-sign-detached.eml" \
  || fail sendmail-sign-detached-header-fields "nothing delivered"

# multipart with an attachment
sed 's/@SENDER@/alice@acme.example/; s/@RCPT@/bob@acme.example/' "$SSM_SRCDIR/tests/integration/messages/attachment.eml" >"$WORK/m/attachment.eml"
sign_case sendmail-sign-attachment detached "$WORK/m/attachment.eml"

# opaque: the same milter socket, restarted with format = "opaque"
stop_milter
start_milter "$WORK/ssm-opaque.toml" || fatal sendmail-setup "ssm-milter (opaque) did not start"
sed 's/hdr-detached/hdr-opaque/' "$WORK/m/headers.eml" >"$WORK/m/headers-opaque.eml"
sign_case sendmail-sign-opaque opaque "$WORK/m/headers-opaque.eml"
[ -f "$WORK/out/sendmail-sign-opaque.eml" ] && header_fields_sane sendmail-sign-opaque-header-fields "$WORK/out/sendmail-sign-opaque.eml" \
  || fail sendmail-sign-opaque-header-fields "nothing delivered"
stop_milter
start_milter "$WORK/ssm-detached.toml" || fatal sendmail-setup "ssm-milter did not restart"

# --- 2. outbound encryption ---------------------------------------------------------------------
# dave has a certificate (static folder): the delivered envelope decrypts with his key to the
# exact entity sent (sign = "none" for partner mail).
sed 's/@SENDER@/alice@acme.example/; s/@RCPT@/dave@partner.example/' "$SSM_SRCDIR/tests/integration/messages/attachment.eml" >"$WORK/m/encrypt.eml"
make_entity "$WORK/m/encrypt.eml" "$WORK/m/encrypt.entity"
# The entity inside is the one sent, with header protection (RFC 9788, the default): the
# original Subject inside, "[...]" outside.
cn=sendmail-encrypt-to-certificate
if ! deliver "$cn" "$MSA_PORT" alice@acme.example dave@partner.example "$WORK/m/encrypt.eml"; then fail "$cn" "$DETAIL"
elif ! smime_envelope "$WORK/out/$cn.eml" "$WORK/out/$cn.p7m"; then fail "$cn" "not an envelope: $PEER_DETAIL"
elif ! decrypt_openssl "$WORK/out/$cn.p7m" dave "$WORK/out/$cn.plain"; then fail "$cn" "$PEER_DETAIL"
elif ! perl -e 'local $/; my @p; for (@ARGV) { open(my $f, "<:raw", $_) or die; my $m = <$f>;
       my ($h, $b) = split(/\r\n\r\n/, $m, 2); $h =~ s/\r\n[ \t]+/ /g; $h =~ s/; hp="cipher"//;
       push @p, [join("|", grep { /^(Content-|Subject:)/i } split(/\r\n/, $h)), $b] }
       my ($d, $e) = @p; $e->[0] = "Subject: Attachment|$e->[0]";
       exit($d->[0] eq $e->[0] && $d->[1] eq $e->[1] ? 0 : 1)' "$WORK/out/$cn.plain" "$WORK/m/encrypt.entity"
then fail "$cn" "the decrypted entity is not the one sent (with its protected Subject)"
elif [ "$(count_field "$WORK/out/$cn.eml" Subject)" != 1 ] || [ "$(header_field "$WORK/out/$cn.eml" Subject)" != '[...]' ]; then
  fail "$cn" "outer Subject: $(header_field "$WORK/out/$cn.eml" Subject | tr '\n' '|')"
else pass "$cn"; fi
# Header protection copies the outer fields into the entity: Sendmail hands folded values over
# with bare LF line ends, which must come out as CRLF folding inside the entity too.
cn=sendmail-encrypt-folded-subject
printf '%s\r\n' 'From: Alice <alice@acme.example>' 'To: <dave@partner.example>' \
  'Subject: a subject long enough to be folded by its writer, which' '	goes on here on a second line' \
  'Message-ID: <folded-subject@test.invalid>' 'MIME-Version: 1.0' 'Content-Type: text/plain; charset=us-ascii' \
  '' 'folded subject' >"$WORK/m/$cn.eml"
if ! deliver "$cn" "$MSA_PORT" alice@acme.example dave@partner.example "$WORK/m/$cn.eml"; then fail "$cn" "$DETAIL"
elif ! smime_envelope "$WORK/out/$cn.eml" "$WORK/out/$cn.p7m"; then fail "$cn" "not an envelope: $PEER_DETAIL"
elif ! decrypt_openssl "$WORK/out/$cn.p7m" dave "$WORK/out/$cn.plain"; then fail "$cn" "$PEER_DETAIL"
elif perl -e 'local $/; my $m = <STDIN>; my ($h) = split(/\r\n\r\n/, $m, 2); exit($h =~ /(?<!\r)\n/ ? 0 : 1)' <"$WORK/out/$cn.plain"; then
  fail "$cn" "bare LF in the protected header fields: $(head -c 400 "$WORK/out/$cn.plain" | cat -A | tr '\n' ' ')"
elif ! grep -q "^Subject: a subject long enough to be folded by its writer, which"$'\r'"\$" "$WORK/out/$cn.plain" \
   || ! grep -q "^	goes on here on a second line"$'\r'"\$" "$WORK/out/$cn.plain"; then
  fail "$cn" "the protected Subject is not the one sent: $(grep -A1 '^Subject' "$WORK/out/$cn.plain" | cat -A | tr '\n' ' ')"
else pass "$cn"; fi
# mandatory encryption, no certificate: refused at RCPT (Sendmail relays the milter's reply).
cn=sendmail-mandatory-no-certificate
before=$(sink_count)
sed 's/@SENDER@/alice@acme.example/; s/@RCPT@/nocert@partner.example/' "$SSM_SRCDIR/tests/integration/messages/plain-7bit.eml" >"$WORK/m/nocert.eml"
send_mail "$MSA_PORT" alice@acme.example nocert@partner.example "$WORK/m/nocert.eml"; rc=$?
rcpt_reply=$(grep -A1 'RCPT TO:<nocert@partner.example>' "$WORK/swaks.log" | sed -n 's/^<\*\* *//p' | tail -n 1)
sm_wait_queue_empty 30
if [ "$rc" = 5 ] && [[ $rcpt_reply == "550 5.7.1"* ]] && [ "$(sink_count)" = "$before" ]; then pass "$cn"
else fail "$cn" "rc=$rc RCPT reply '$rcpt_reply' (expected 550 5.7.1), sink $before -> $(sink_count)"; fi

# Recipients with different treatments in one transaction: the second is deferred with
# 452 4.5.3 (a milter cannot split a message, PRODUCT §2.4); the first gets its message.
cn=sendmail-mixed-deferred
before=$(sink_count)
sed 's/@SENDER@/alice@acme.example/; s/@RCPT@/bob@acme.example/' "$SSM_SRCDIR/tests/integration/messages/plain-7bit.eml" >"$WORK/m/mixed.eml"
python3 "$SSM_SRCDIR/tests/integration/smtp_rcpt.py" "$MSA_PORT" alice@acme.example "$WORK/m/mixed.eml" \
  bob@acme.example dave@partner.example >"$WORK/out/$cn.replies" 2>&1
if ! grep -q '^RCPT bob@acme.example 250' "$WORK/out/$cn.replies" \
   || ! grep -q '^RCPT dave@partner.example 452 4.5.3' "$WORK/out/$cn.replies"; then
  fail "$cn" "replies: $(tr '\n' '|' <"$WORK/out/$cn.replies")"
elif ! wait_for_delivery $((before + 1)) 30; then fail "$cn" "not delivered within 30 s"
else
  last_delivered "$WORK/out/$cn.eml"
  if [ "$(sink_rcpts "$(ls -t "$SINK_DIR"/* | head -n 1)" | tr '\n' ' ')" != "<bob@acme.example> " ]; then
    fail "$cn" "delivered to $(sink_rcpts "$(ls -t "$SINK_DIR"/* | head -n 1)" | tr '\n' ' ')"
  elif ! verify_openssl "$WORK/out/$cn.eml" alice@acme.example; then fail "$cn" "$PEER_DETAIL"
  else pass "$cn"; fi
fi

# --- 3. inbound through the MTA daemon -------------------------------------------------------------
RCPT=carol@acme.example
make_entity "$SSM_SRCDIR/tests/integration/messages/attachment.eml" "$WORK/m/in.entity"
# signed by dave (openssl), with forged Authentication-Results of ours among foreign ones: ours
# (any case) are removed, the foreign ones stay, in order; one result of ours is added.
cn=sendmail-inbound-signed
openssl cms -sign -binary -outform DER -md sha256 -in "$WORK/m/in.entity" -signer "$PKI/dave.cert.pem" \
  -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem" -out "$WORK/m/$cn.der" 2>"$WORK/m/$cn.err" \
  || fatal "$cn" "openssl cms -sign: $(head -c 200 "$WORK/m/$cn.err")"
wrap_detached "$WORK/m/in.entity" "$WORK/m/$cn.der" "$WORK/m/$cn.signed" "$cn" dave@partner.example "$RCPT"
perl -e 'local $/; my $m = <STDIN>; my $ar =
  "Authentication-Results: first.example; spf=pass smtp.mailfrom=partner.example\r\n" .
  "Authentication-Results: mx.acme.example; smime=pass reason=\"forged one\"\r\n" .
  "Authentication-Results: second.example; dkim=pass header.d=partner.example\r\n" .
  "Authentication-Results: MX.ACME.EXAMPLE;\r\n\tsmime=pass reason=\"forged two\"\r\n" .
  "Authentication-Results: third.example; dmarc=pass\r\n";
  $m =~ s/^(X-Case: [^\r\n]*\r\n)/$1$ar/m; print $m' <"$WORK/m/$cn.signed" >"$WORK/m/$cn.eml"
if ! deliver "$cn" "$MTA_PORT" dave@partner.example "$RCPT" "$WORK/m/$cn.eml"; then fail "$cn" "$DETAIL"
else
  ars=$(header_field "$WORK/out/$cn.eml" Authentication-Results | tr '\t' ' ' | tr -s ' ')
  ours=$(printf '%s\n' "$ars" | grep -ci '^mx\.acme\.example')
  foreign=$(printf '%s\n' "$ars" | grep -vi '^mx\.acme\.example' | sed 's/;.*//' | tr '\n' ' ')
  if [ "$ours" != 1 ]; then fail "$cn" "$ours results of ours: $(printf '%s' "$ars" | tr '\n' '|')"
  elif printf '%s\n' "$ars" | grep -qi 'forged'; then fail "$cn" "a forged result is left: $(printf '%s' "$ars" | tr '\n' '|')"
  elif ! printf '%s\n' "$ars" | grep -qi '^mx\.acme\.example; *smime=pass'; then fail "$cn" "no smime=pass: $(printf '%s' "$ars" | tr '\n' '|')"
  elif [ "$foreign" != "first.example second.example third.example " ]; then fail "$cn" "foreign results: $foreign"
  elif ! verify_openssl "$WORK/out/$cn.eml" dave@partner.example; then fail "$cn" "delivered message no longer verifies: $PEER_DETAIL"
  else pass "$cn"; fi
fi
# encrypted to carol's key on the token: arrives decrypted, the entity byte for byte.
cn=sendmail-inbound-decrypt
openssl cms -encrypt -binary -outform DER -aes-256-cbc -in "$WORK/m/in.entity" -out "$WORK/m/$cn.der" \
  "$PKI/carol.cert.pem" 2>"$WORK/m/$cn.err" || fatal "$cn" "openssl cms -encrypt: $(head -c 200 "$WORK/m/$cn.err")"
wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" dave@partner.example "$RCPT"
if ! deliver "$cn" "$MTA_PORT" dave@partner.example "$RCPT" "$WORK/m/$cn.eml"; then fail "$cn" "$DETAIL"
else
  why=$(compare_plaintext "$WORK/out/$cn.eml" "$WORK/m/in.entity")
  if [ -z "$why" ]; then pass "$cn"; else fail "$cn" "$why"; fi
fi

# A message larger than one milter chunk (64 KiB), with CRLF pairs wherever a chunk ends: the
# replaced body as Sendmail writes it must still verify.
cn=sendmail-sign-large
{ printf 'From: <alice@acme.example>\r\nTo: <bob@acme.example>\r\nSubject: large\r\nMessage-ID: <large@test.invalid>\r\n\r\n'
  for i in $(seq 1 6000); do printf 'line %05d of a long message, some text to fill it up\r\n' "$i"; done; } >"$WORK/m/$cn.eml"
sign_case "$cn" detached "$WORK/m/$cn.eml"
# undecryptable (random key block): accepted like any message (no oracle), held by Sendmail
# in its queue (milter quarantine, [inbound] on_undecryptable = "hold"), nothing delivered.
cn=sendmail-inbound-undecryptable-held
perl -e 'local $/; my $d = <STDIN>; print $d' <"$WORK/m/sendmail-inbound-decrypt.der" >"$WORK/m/$cn.der"
# a copy with the encrypted key replaced by random bytes of the same length
python3 - "$WORK/m/$cn.der" <<'PY' || fatal "$cn" "cannot make the broken envelope"
import sys, os
p = sys.argv[1]; d = bytearray(open(p, "rb").read())
# the RSA key block is the only 256-byte OCTET STRING (04 82 01 00)
i = d.find(b"\x04\x82\x01\x00")
assert i > 0
d[i + 4:i + 4 + 256] = os.urandom(256)
open(p, "wb").write(d)
PY
wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" dave@partner.example "$RCPT"
before=$(sink_count)
send_mail "$MTA_PORT" dave@partner.example "$RCPT" "$WORK/m/$cn.eml"; rc=$?
# Sendmail keeps a quarantined message as hf<id> (not qf) with the reason on a "q" line; it is
# written before the reply. Anything else accepted drains from the qf files.
deadline=$((SECONDS + 30))
while [ "$(sm_quarantined)" -lt 1 ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
sm_wait_queue_empty 30
held=$(sm_quarantined)
if [ "$rc" = 0 ] && [ "$(sink_count)" = "$before" ] && [ "$held" -ge 1 ]; then pass "$cn"
else fail "$cn" "rc=$rc '$SMTP_REPLY', sink $before -> $(sink_count), quarantined queue files: $held"; fi

# Header protection (RFC 9788) restored from inside the encryption, with an outer header that
# lacks Date and Message-ID: Sendmail adds its own (not shown to milters); the protected ones
# must replace them, not stand beside them (two Date fields, two Message-IDs).
cn=sendmail-inbound-restore-no-duplicates
printf '%s\r\n' 'From: dave@partner.example' "To: $RCPT" 'Subject: The real subject' \
  'Date: Tue, 01 Dec 2026 08:00:00 +0000' 'Message-ID: <protected@mua.partner.example>' \
  'MIME-Version: 1.0' 'Content-Type: text/plain; charset=us-ascii; hp="cipher"' '' 'protected fields inside' >"$WORK/m/$cn.entity"
openssl cms -encrypt -binary -outform DER -aes-256-cbc -in "$WORK/m/$cn.entity" -out "$WORK/m/$cn.der" \
  "$PKI/carol.cert.pem" 2>"$WORK/m/$cn.err" || fatal "$cn" "openssl cms -encrypt: $(head -c 200 "$WORK/m/$cn.err")"
{ printf '%s\r\n' 'From: dave@partner.example' "To: $RCPT" 'Subject: [...]' 'MIME-Version: 1.0' \
    'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m' \
    'Content-Transfer-Encoding: base64' ''
  _b64 "$WORK/m/$cn.der"; } >"$WORK/m/$cn.eml"
if ! deliver "$cn" "$MTA_PORT" dave@partner.example "$RCPT" "$WORK/m/$cn.eml"; then fail "$cn" "$DETAIL"
else
  f=$WORK/out/$cn.eml bad=
  [ "$(count_field "$f" Date)" = 1 ] || bad="$bad Date×$(count_field "$f" Date)"
  [ "$(count_field "$f" Message-ID)" = 1 ] || bad="$bad Message-ID×$(count_field "$f" Message-ID)"
  [ "$(header_field "$f" Date | head -n 1)" = 'Tue, 01 Dec 2026 08:00:00 +0000' ] || bad="$bad Date='$(header_field "$f" Date | tr '\n' '|')'"
  [ "$(header_field "$f" Message-ID | head -n 1)" = '<protected@mua.partner.example>' ] || bad="$bad Message-ID='$(header_field "$f" Message-ID | tr '\n' '|')'"
  [ "$(header_field "$f" Subject)" = 'The real subject' ] || bad="$bad Subject='$(header_field "$f" Subject | tr '\n' '|')'"
  if [ -z "$bad" ]; then pass "$cn"; else fail "$cn" "header fields:$bad"; fi
fi

# An encrypted entity with an empty body: the delivered body is empty too, not the ciphertext
# it replaces (a new body of no bytes must still be handed to the MTA).
cn=sendmail-inbound-decrypt-empty-body
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n' >"$WORK/m/$cn.entity"
openssl cms -encrypt -binary -outform DER -aes-256-cbc -in "$WORK/m/$cn.entity" -out "$WORK/m/$cn.der" \
  "$PKI/carol.cert.pem" 2>"$WORK/m/$cn.err" || fatal "$cn" "openssl cms -encrypt: $(head -c 200 "$WORK/m/$cn.err")"
wrap_enveloped "$WORK/m/$cn.der" "$WORK/m/$cn.eml" "$cn" dave@partner.example "$RCPT"
if ! deliver "$cn" "$MTA_PORT" dave@partner.example "$RCPT" "$WORK/m/$cn.eml"; then fail "$cn" "$DETAIL"
else
  why=$(compare_plaintext "$WORK/out/$cn.eml" "$WORK/m/$cn.entity")
  if [ -z "$why" ]; then pass "$cn"; else fail "$cn" "$why (body: $(sed -n '/^\r$/,$p' "$WORK/out/$cn.eml" | head -c 80 | tr '\r\n' '  '))"; fi
fi

# --- 4. direction by {daemon_name} ---------------------------------------------------------------
# The same message from the same loopback client: signed through the MSA, left alone through
# the MTA daemon (inbound, not signed).
for d in MSA MTA; do
  port=$MSA_PORT; want=detached
  [ "$d" = MTA ] && { port=$MTA_PORT; want=unsigned; }
  got=$(send_probe "direction-$d" "$port" bob@acme.example)
  if [ "$got" = "$want" ]; then pass "sendmail-direction-daemon-$d"
  else fail "sendmail-direction-daemon-$d" "delivered $got, expected $want"; fi
done

# --- 5. mixed recipients split by reinjection (smfi_delrcpt through Sendmail) --------------------
# One message to three recipients of three treatments: the milter sends the other treatments
# back through Sendmail's MSA ([reinjection]) and deletes their recipients from this one.
. "$SSM_SRCDIR/tests/fixtures/mixed-recipients.sh"
make_reinjection_secret
write_config "$WORK/ssm-mixed.toml" port="$MILTER_PORT" rules="$MIXED_RULES" pki='revocation = "off"' \
  extra="$(static_directory_toml mixed)

$(reinjection_toml "$MSA_PORT")" && sed -i -e 's|^internal_networks = .*|internal_networks = []|' \
  -e 's|^originating_daemons = .*|originating_daemons = ["MSA"]|' "$WORK/ssm-mixed.toml" || fatal sendmail-setup "mixed config"
stop_milter
start_milter "$WORK/ssm-mixed.toml" || fatal sendmail-setup "ssm-milter (mixed) did not start"
cn=sendmail-split-by-reinjection
before=$(sink_count)
printf 'From: Alice <alice@acme.example>\r\nTo: dave@partner.example, hank@partner.example, someone@elsewhere.example\r\nSubject: three treatments\r\nMessage-ID: <mixed-1@acme.example>\r\n\r\nthe same text for everyone\r\n' >"$WORK/m/mixed3.eml"
if ! send_mail "$MSA_PORT" alice@acme.example dave@partner.example,hank@partner.example,someone@elsewhere.example "$WORK/m/mixed3.eml"; then
  fail "$cn" "SMTP: $SMTP_REPLY"
elif ! wait_for_delivery $((before + 3)) 30; then fail "$cn" "$(( $(sink_count) - before )) of 3 deliveries"
else
  bad= n=0
  for f in $(ls -t "$SINK_DIR"/* | head -n 3); do
    r=$(sink_rcpts "$f" | tr -d '<>' | tr '\n' ' ')
    sink_message "$f" "$WORK/out/split.eml"
    case $r in
      "dave@partner.example "|"hank@partner.example ") smime_envelope "$WORK/out/split.eml" "$WORK/out/split.p7m" && n=$((n + 1)) || bad="$bad $r(not encrypted)" ;;
      "someone@elsewhere.example ") verify_openssl "$WORK/out/split.eml" alice@acme.example && n=$((n + 1)) || bad="$bad $r(not signed)" ;;
      *) bad="$bad recipients '$r'" ;;
    esac
    grep -qi '^X-SSM-Reinjected' "$WORK/out/split.eml" && bad="$bad marker-left"
  done
  if [ -z "$bad" ] && [ "$n" = 3 ]; then pass "$cn"; else fail "$cn" "$bad"; fi
fi

# --- 6. the milter down: F=T -> 4xx, nothing delivered -----------------------------------------
kill_milter
cn=sendmail-milter-down-tempfail
before=$(sink_count)
send_mail "$MSA_PORT" alice@acme.example bob@acme.example "$WORK/m/headers.eml"; rc=$?
sm_wait_queue_empty 30
if [ "$rc" = 4 ] && [ "$(sink_count)" = "$before" ]; then pass "$cn"
else fail "$cn" "rc=$rc reply '$SMTP_REPLY', sink $before -> $(sink_count)"; fi
exit 0
