#!/bin/bash
# Internationalised mail (RFC 6531/6532 SMTPUTF8, RFC 9598 SmtpUTF8Mailbox, IDNA) through a real
# Postfix 3.7 with smtputf8_enable = yes and ssm-milter: an SMTPUTF8 client -> Postfix smtpd
# (+ssm-milter) -> smtp -> smtp-sink. Outbound: a UTF-8 sender whose token certificate names it
# only as a SmtpUTF8Mailbox signs (openssl cms -verify); a UTF-8 recipient whose certificate in
# the static folder names it only as a SmtpUTF8Mailbox gets an envelope openssl decrypts; one
# recipient written with an A-label (plain SMTP) and with a U-label (SMTPUTF8) meets the same
# U-label rule and the same A-label rfc822Name certificate; a recipient written decomposed (NFD)
# meets the certificate of its NFC spelling, one written in upper case (MÅRTEN) the certificate
# of mårten; bogus "xn--" labels are refused at RCPT and in the
# configuration; a certificate whose SmtpUTF8Mailbox writes its domain in U-labels (RFC 9598 §3
# wants A-labels) is not used for that address, and the log says so. Inbound: an openssl-signed
# message from a SmtpUTF8Mailbox signer gets smime=pass with its From matched; a From naming another
# UTF-8 address fails. Invalid UTF-8 in an envelope address gets a defined reply, through
# Postfix and straight through the milter protocol, and the milter lives on.
# Every certificate and CMS object here is made by openssl.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools postfix postconf smtp-sink swaks openssl softhsm2-util pkcs11-tool perl script python3
require_binaries
make_pki
make_token
msgdir=$SSM_SRCDIR/tests/integration/messages
CLIENT=$SSM_SRCDIR/tests/integration/smtp_utf8.py
mkdir -p "$WORK/m" "$WORK/out" "$WORK/certs"

SENDER='jürgen@müller.example'         # our user; token certificate: SmtpUTF8Mailbox only
MARTEN='mårten@bäcker.example'          # partner; static certificate: SmtpUTF8Mailbox only
# ... the SmtpUTF8Mailbox values of their certificates: the domain in A-labels (RFC 9598 §3)
SENDER_SAN='jürgen@xn--mller-kva.example'
MARTEN_SAN='mårten@xn--bcker-gra.example'
ULLA='ulla@bäcker.example'              # partner whose CA wrote the U-label in her certificate
MARTEN_NFD=$'ma\xcc\x8arten@bäcker.example' # the same mailbox with a + U+030A (decomposed)
MARTEN_UPPER='MÅRTEN@BÄCKER.example'    # the same mailbox in upper case
ANNA_A='anna@xn--bcker-gra.example'     # partner; static certificate: this rfc822Name (A-label)
ANNA_U='anna@bäcker.example'            # ... the same mailbox written with a U-label
SOREN='sören@partner.example'           # inbound signer; SmtpUTF8Mailbox only
FORGED='sõren@partner.example'          # another UTF-8 mailbox of that domain
RCPT=alice@acme.example                 # inbound: one of our users

# --- certificates (openssl) -------------------------------------------------------------------
# "FORMAT:UTF8,UTF8:" makes openssl take the value as UTF-8 (else it reads Latin-1 and encodes
# each octet again); a section, since the comma cannot stand in a one-line subjectAltName list.
utf8_cert() {  # NAME ADDRESS KEYSPEC KEYUSAGE: a certificate naming ADDRESS as SmtpUTF8Mailbox only
  ISSUE_SAN=@alt ISSUE_SAN_SECTION="[alt]
otherName.1 = 1.3.6.1.5.5.7.8.9;FORMAT:UTF8,UTF8:$2" issue_cert "$1" "$1" "$3" "$4"
}
utf8_cert juergen "$SENDER_SAN" p256 "digitalSignature" || fatal eai-setup "issue juergen"
utf8_cert marten "$MARTEN_SAN" rsa "digitalSignature, keyEncipherment" || fatal eai-setup "issue marten"
utf8_cert ulla "$ULLA" rsa "digitalSignature, keyEncipherment" || fatal eai-setup "issue ulla"
utf8_cert soren "$SOREN" rsa "digitalSignature" || fatal eai-setup "issue soren"
issue_cert anna "$ANNA_A" rsa "digitalSignature, keyEncipherment" || fatal eai-setup "issue anna"
for n in juergen marten ulla soren; do
  openssl x509 -in "$XPKI/$n.cert.pem" -noout -ext subjectAltName | grep -q 'email:' \
    && fatal eai-setup "$n's certificate has an rfc822Name"
done
import_to_token juergen 0e --usage-sign
cp "$XPKI/marten.cert.pem" "$XPKI/anna.cert.pem" "$XPKI/ulla.cert.pem" "$WORK/certs/"

# --- Postfix and ssm-milter -------------------------------------------------------------------
# One milter: the inbound listener (127.0.0.1 is outside internal_networks) and an ORIGINATING
# listener for our users' outbound mail. The encryption rule names the domain with a U-label.
RULES='[[rule]]
name = "mail to bäcker is encrypted"
direction = "outbound"
to = ["*@bäcker.example"]
sign = "none"
encrypt = "mandatory"

[[rule]]
name = "other outbound mail is signed by the sender"
direction = "outbound"
sign = "sender"
encrypt = "never"'
# The next hop must offer SMTPUTF8 (smtp-sink does not; Postfix then bounces with 5.6.7): the
# listener of the unit tests stores each message as DIR/N.eml ("RCPT" lines, empty line, data).
SINK_DIR=$WORK/sink; mkdir -p "$SINK_DIR"; SINK_PORT=$(free_port)
SMTP_LISTENER_SMTPUTF8=1 python3 "$SSM_SRCDIR/tests/unit/smtp_listener.py" "$SINK_PORT" "$SINK_DIR" - - >"$WORK/sink.log" 2>&1 &
SINK_PID=$!; on_exit "kill -TERM $SINK_PID"
wait_port "$SINK_PORT" 10 "$SINK_PID" || fatal eai-setup "the SMTPUTF8 listener did not start"
MILTER_PORT=$(free_port); IN_PORT=$(free_port); OUT_PORT=$(free_port)
inbound_config "$WORK/ssm.toml" "$MILTER_PORT" "$RULES" "$(static_directory_toml eai)" || fatal eai-setup "config"
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm.toml" -n >"$WORK/check.log" 2>&1 \
  || fatal eai-config "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"
start_milter "$WORK/ssm.toml" || fatal eai-milter "ssm-milter did not start: $(tail -n 3 "$WORK/milter.log" | tr '\n' ' ')"
PF_MASTER_EXTRA="127.0.0.1:$OUT_PORT inet n - n - - smtpd -o milter_macro_daemon_name=ORIGINATING" \
  start_postfix pf "$IN_PORT" "$SINK_PORT" "$MILTER_PORT" "smtputf8_enable = yes" \
  || fatal eai-setup "Postfix did not start"
if [ "$(postconf -c "$WORK/pf/etc" -h smtputf8_enable)" = yes ]; then pass eai-postfix-smtputf8
else fail eai-postfix-smtputf8 "smtputf8_enable is not yes"; fi

# utf8_send CASE PORT FROM TO FILE: one SMTPUTF8 transaction; its transcript in $WORK/out/CASE.smtp.
utf8_send() {
  python3 "$CLIENT" "$2" "$3" "$4" "$5" >"$WORK/out/$1.smtp" 2>&1
}
# message CASE FROM TO FILE: a small RFC 6532 message (UTF-8 in From and To) marked X-Case.
message() {
  printf 'From: %s\r\nTo: %s\r\nSubject: EAI %s\r\nMessage-ID: <%s@test.invalid>\r\nX-Case: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus %s\r\n' \
    "$2" "$3" "$1" "$1" "$1" "$1" >"$4"
}
# arrived CASE: the delivered message of CASE in $WORK/out/CASE.eml (CRLF); 1 when none.
arrived() {
  local n=0 dump
  while [ $n -lt 150 ]; do
    dump=$(grep -la "^X-Case: $1"$'\r'"\?\$" "$SINK_DIR"/*.eml 2>/dev/null | head -n 1)
    [ -n "$dump" ] && { sed '1,/^$/d' "$dump" >"$WORK/out/$1.eml"; return 0; }
    sleep 0.2; n=$((n + 1))
  done
  return 1
}
fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'; }

# --- outbound signed by a SmtpUTF8Mailbox identity --------------------------------------------
cn=eai-sign-utf8-sender
message "$cn" "Jürgen <$SENDER>" "someone@elsewhere.example" "$WORK/m/$cn.eml"
if ! utf8_send "$cn" "$OUT_PORT" "$SENDER" someone@elsewhere.example "$WORK/m/$cn.eml"; then
  fail "$cn" "SMTP: $(tail -n 1 "$WORK/out/$cn.smtp")"
elif ! arrived "$cn"; then fail "$cn" "not delivered"
elif [ "$(signed_form "$WORK/out/$cn.eml")" = unsigned ]; then fail "$cn" "delivered unsigned"
elif ! openssl cms -verify -in "$WORK/out/$cn.eml" -inform SMIME -CAfile "$PKI/root-ca.cert.pem" \
     -purpose smimesign -signer "$WORK/out/$cn.signer.pem" -out "$WORK/out/$cn.content" >"$WORK/out/$cn.verify" 2>&1; then
  fail "$cn" "openssl cms -verify: $(tr '\n' ' ' <"$WORK/out/$cn.verify" | cut -c1-200)"
elif [ "$(fpr "$WORK/out/$cn.signer.pem")" != "$(fpr "$XPKI/juergen.cert.pem")" ]; then
  fail "$cn" "signed by $(openssl x509 -in "$WORK/out/$cn.signer.pem" -noout -subject), not juergen's certificate"
elif ! grep -q "aus $cn" "$WORK/out/$cn.content"; then fail "$cn" "signed content lost the text"
else pass "$cn"; fi

# --- outbound encrypted ------------------------------------------------------------------------
# expect_envelope CASE KEY: CASE arrived as an envelope that openssl decrypts with KEY's key.
expect_envelope() {
  local cn=$1 key=$2
  if ! arrived "$cn"; then fail "$cn" "not delivered: $(tail -n 1 "$WORK/out/$cn.smtp" 2>/dev/null)"; return; fi
  if ! smime_envelope "$WORK/out/$cn.eml" "$WORK/out/$cn.p7m"; then fail "$cn" "not encrypted: $PEER_DETAIL"; return; fi
  if ! openssl cms -decrypt -binary -inform DER -in "$WORK/out/$cn.p7m" -inkey "$XPKI/$key.key.pem" \
       -recip "$XPKI/$key.cert.pem" -out "$WORK/out/$cn.plain" >"$WORK/out/$cn.dec" 2>&1; then
    fail "$cn" "openssl cms -decrypt with $key's key: $(tr '\n' ' ' <"$WORK/out/$cn.dec" | cut -c1-200)"; return
  fi
  # (the 8bit text may have been given a 7bit transfer encoding: its ASCII tail is compared)
  if grep -q "aus $cn" "$WORK/out/$cn.plain"; then pass "$cn"; else fail "$cn" "decrypted text differs"; fi
}
cn=eai-encrypt-utf8-recipient
message "$cn" "Zed <zed@acme.example>" "Mårten <$MARTEN>" "$WORK/m/$cn.eml"
utf8_send "$cn" "$OUT_PORT" zed@acme.example "$MARTEN" "$WORK/m/$cn.eml"
expect_envelope "$cn" marten

# The same mailbox as an A-label over plain SMTP (swaks, no SMTPUTF8) and with a U-label.
cn=eai-encrypt-a-label
message "$cn" "zed@acme.example" "$ANNA_A" "$WORK/m/$cn.eml"
sed -i 's/Grüße/Gruesse/; s/charset=utf-8/charset=us-ascii/; s/: 8bit/: 7bit/' "$WORK/m/$cn.eml"
send_mail "$OUT_PORT" zed@acme.example "$ANNA_A" "$WORK/m/$cn.eml" >/dev/null 2>&1
if arrived "$cn" && smime_envelope "$WORK/out/$cn.eml" "$WORK/out/$cn.p7m" &&
   openssl cms -decrypt -binary -inform DER -in "$WORK/out/$cn.p7m" -inkey "$XPKI/anna.key.pem" \
     -recip "$XPKI/anna.cert.pem" -out "$WORK/out/$cn.plain" >/dev/null 2>&1 && grep -q 'Gruesse aus' "$WORK/out/$cn.plain"; then
  pass "$cn"
else fail "$cn" "not delivered as an envelope anna's key opens (SMTP: ${SMTP_REPLY:-none}; ${PEER_DETAIL:-})"; fi
cn=eai-encrypt-u-label
message "$cn" "zed@acme.example" "$ANNA_U" "$WORK/m/$cn.eml"
utf8_send "$cn" "$OUT_PORT" zed@acme.example "$ANNA_U" "$WORK/m/$cn.eml"
expect_envelope "$cn" anna

# Upper case beyond ASCII: MÅRTEN is mårten's mailbox as ZED is zed's (every letter of a local
# part compares without case, the domain through IDNA), so his certificate is found for it.
cn=eai-encrypt-upper-case
message "$cn" "zed@acme.example" "Mårten <$MARTEN_UPPER>" "$WORK/m/$cn.eml"
utf8_send "$cn" "$OUT_PORT" zed@acme.example "$MARTEN_UPPER" "$WORK/m/$cn.eml"
expect_envelope "$cn" marten

# The recipient written decomposed (a + COMBINING RING ABOVE, as some input methods and macOS
# give it): the same mailbox in NFC (RFC 6532 §3.1), so mårten's certificate encrypts to it.
cn=eai-encrypt-nfd-recipient
message "$cn" "Zed <zed@acme.example>" "Mårten <$MARTEN_NFD>" "$WORK/m/$cn.eml"
utf8_send "$cn" "$OUT_PORT" zed@acme.example "$MARTEN_NFD" "$WORK/m/$cn.eml"
expect_envelope "$cn" marten

# --- A-labels that are no A-labels ------------------------------------------------------------
# "xn--zz" is no Punycode and "xn--a" decodes to the C1 control U+0080: Postfix takes both as
# LDH labels; the milter does not take the address as one (553 5.1.3, as every address it does
# not understand), and a configuration naming one fails with its file and line.
for bogus in dave@xn--zz.example dave@xn--a.example; do
  cn=eai-bogus-a-label-rcpt-${bogus#dave@xn--}
  cn=${cn%.example}
  message "$cn" "zed@acme.example" "$bogus" "$WORK/m/$cn.eml"
  send_mail "$OUT_PORT" zed@acme.example "$bogus" "$WORK/m/$cn.eml" >/dev/null 2>&1; rc=$?
  case $rc:$SMTP_REPLY in
    5:553*5.1.3*) pass "$cn" ;;
    *) fail "$cn" "expected 553 5.1.3, got rc=$rc: ${SMTP_REPLY:-no reply}" ;;
  esac
done
cn=eai-bogus-a-label-config
sed 's/^to = \["\*@bäcker.example"\]/to = ["*@bäcker.example", "*@xn--zz.example"]/' "$WORK/ssm.toml" >"$WORK/bogus.toml"
line=$(grep -n 'xn--zz' "$WORK/bogus.toml" | cut -d: -f1)
if [ -z "$line" ]; then fail "$cn" "the rule's to line was not found in ssm.toml"
elif "$SSM_BUILDDIR/ssm-milter" -c "$WORK/bogus.toml" -n >"$WORK/out/$cn.log" 2>&1; then
  fail "$cn" "ssm-milter -n accepted *@xn--zz.example"
elif grep -q "bogus.toml:$line:" "$WORK/out/$cn.log" && grep -q 'xn--zz' "$WORK/out/$cn.log"; then pass "$cn"
else fail "$cn" "no error naming bogus.toml:$line: $(tr '\n' ' ' <"$WORK/out/$cn.log")"; fi

# A SmtpUTF8Mailbox whose domain is in U-labels names no address (RFC 9598 §3: A-labels; the
# mapping that would convert it also reads a fullwidth "ａｃｍｅ" as acme): ulla's certificate, in
# the static folder, is no certificate for her, and the log says why.
cn=eai-u-label-certificate-refused
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" cert lookup "$ULLA" >"$WORK/out/$cn.out" 2>"$WORK/out/$cn.err"; rc=$?
if [ $rc -ne 1 ]; then fail "$cn" "ssmctl cert lookup exit $rc (expected 1, none): $(tr '\n' ' ' <"$WORK/out/$cn.out")"
elif ! grep -q '^warning: certificate_address_refused name=ulla@b.*reason=.*RFC 9598' "$WORK/out/$cn.err"; then
  fail "$cn" "no certificate_address_refused warning: $(tr '\n' ' ' <"$WORK/out/$cn.err" | cut -c1-300)"
else pass "$cn"; fi

# --- inbound verification ----------------------------------------------------------------------
make_entity "$msgdir/plain-7bit.eml" "$WORK/m/entity"
sign_as_soren() {  # CASE FROM: signed by openssl as sören (the sub-CA included), From: FROM
  openssl cms -sign -binary -outform DER -md sha256 -in "$WORK/m/entity" -signer "$XPKI/soren.cert.pem" \
    -inkey "$XPKI/soren.key.pem" -certfile "$PKI/sub-ca.cert.pem" -out "$WORK/m/$1.der" 2>"$WORK/m/$1.err" \
    && wrap_detached "$WORK/m/entity" "$WORK/m/$1.der" "$WORK/m/$1.eml" "$1" "$2" "$RCPT"
}
inbound_case() {  # CASE FROM ENVELOPE-FROM RESULT: the A-R smime= result we expect
  local cn=$1 want=$4 ar
  sign_as_soren "$cn" "$2" || { fail "$cn" "openssl cms -sign: $(cat "$WORK/m/$cn.err")"; return; }
  utf8_send "$cn" "$IN_PORT" "$3" "$RCPT" "$WORK/m/$cn.eml" || { fail "$cn" "SMTP: $(tail -n 1 "$WORK/out/$cn.smtp")"; return; }
  arrived "$cn" || { fail "$cn" "not delivered"; return; }
  ar=$(header_field "$WORK/out/$cn.eml" Authentication-Results | grep -i '^mx\.acme\.example[ ;]')
  printf '%s\n' "$ar" >"$WORK/out/$cn.ar"
  case $ar in
    *"smime=$want"*) pass "$cn" ;;
    *) fail "$cn" "Authentication-Results '$ar', expected smime=$want" ;;
  esac
}
inbound_case eai-inbound-pass "Sören <$SOREN>" "$SOREN" pass
# The identifier names the signer's mailbox: RFC 7281 body.smime-identifier, the A-label domain.
if grep -q 'smime-identifier=.*partner\.example' "$WORK/out/eai-inbound-pass.ar" 2>/dev/null; then
  pass eai-inbound-identifier
else fail eai-inbound-identifier "no smime-identifier in: $(cat "$WORK/out/eai-inbound-pass.ar" 2>/dev/null)"; fi
inbound_case eai-inbound-forged-from "Sören <$FORGED>" "$FORGED" fail

# --- invalid UTF-8 in an envelope address ------------------------------------------------------
# Through Postfix: whoever refuses it (smtpd or the milter), the reply is a defined 5xx/4xx and
# the milter keeps serving.
cn=eai-invalid-utf8-postfix
message "$cn" "zed@acme.example" "someone@elsewhere.example" "$WORK/m/$cn.eml"
utf8_send "$cn" "$OUT_PORT" $'j\xfcrgen@acme.example' someone@elsewhere.example "$WORK/m/$cn.eml"; rc=$?
if [ $rc -ne 4 ] && [ $rc -ne 5 ] && [ $rc -ne 0 ]; then fail "$cn" "no SMTP reply: $(tail -n 1 "$WORK/out/$cn.smtp")"
elif ! milter_alive; then fail "$cn" "ssm-milter died"
else pass "$cn"; note "$cn: $(grep -v '^greeting\|^ehlo' "$WORK/out/$cn.smtp" | tr '\n' ' ')"; fi
# Straight through the milter protocol (as an MTA that passes the octets on would): each step
# answered, the message left as it was or refused, never a crash.
cn=eai-invalid-utf8-milter
printf 'From: <j\xfcrgen@acme.example>\r\nTo: <m\xc3rten@b\xc3\xa4cker.example>\r\nSubject: bad\r\n\r\nbody\r\n' >"$WORK/m/$cn.eml"
python3 "$SSM_SRCDIR/tests/integration/milter_client.py" "inet:$MILTER_PORT@127.0.0.1" all "$WORK/out/$cn" \
  "$WORK/m/$cn.eml" >"$WORK/out/$cn.log" 2>&1
if grep -q '^protocol-error' "$WORK/out/$cn.log"; then fail "$cn" "$(grep '^protocol-error' "$WORK/out/$cn.log")"
elif ! grep -qE '^(mail|rcpt|eom) (continue|accept|reject|tempfail|reply:)' "$WORK/out/$cn.log"; then
  fail "$cn" "no defined answer: $(tr '\n' ' ' <"$WORK/out/$cn.log")"
elif ! milter_alive; then fail "$cn" "ssm-milter died"
else pass "$cn"; note "$cn: $(grep -E '^(mail|rcpt|eom) ' "$WORK/out/$cn.log" | tr '\n' ' ')"; fi
