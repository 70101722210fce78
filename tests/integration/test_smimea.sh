#!/bin/bash
# DNS SMIMEA (RFC 8162, [directory.smimea]) against a real authoritative server: zones made and
# signed with ldns-keygen/ldns-signzone, served by a private nsd on 127.0.0.1 (own config,
# pidfile and state files in the work dir, no chroot, no user switch), which ssm-milter's
# libunbound asks as its forwarder and validates against the zones' DS records.
#   partner.example (signed):  dave  SMIMEA 3 0 0 (DANE-EE, full certificate of the test PKI)
#                              gina  SMIMEA 1 0 0 (PKIX-EE, full certificate)
#                              hank  SMIMEA 1 1 1 only (SHA-256 of the key: not usable)
#                              lena  SMIMEA 3 0 0 of a certificate under an untrusted CA
#                                    (DANE-EE on DNSSEC trust alone: only with trust_dane_ee)
#                              mona  SMIMEA 1 0 0 of a certificate under an untrusted CA
#                                    (PKIX-EE: never without the chain)
#                              nobody: no record (secure NXDOMAIN)
#                              "dave smith": dave's SMIMEA 3 0 0 under SHA-256 of dave smith,
#                                    the local part without its quotes (RFC 8162 §3): found
#                                    (one candidate, not issued for that address)
#   broken.example (signed, then kim's record edited: the signature no longer matches): bogus
#   unsigned.example (no signatures, no trust anchor): insecure, ivy's record is ignored
# Through `ssmctl cert lookup` and through Postfix with an encrypt = "mandatory" rule: dave and
# gina get mail encrypted to their DNS certificates (openssl cms decrypts it with their keys);
# hank, lena, nobody and ivy are refused 550 5.7.1; kim is deferred 451 4.7.1 and nothing is
# delivered. With trust_dane_ee (ssmctl, its own cache): lena's certificate is chosen, also from
# the cache, and `ssmctl process` encrypts to it (openssl decrypts); mona's is still refused;
# the same cache read without the option refuses lena's again.
# Then 20 concurrent lookups on the one shared resolver, before and after a SIGHUP
# reload (which replaces the resolver), and with the DNS server stopped.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink python3 openssl nsd nsd-checkconf ldns-keygen ldns-signzone softhsm2-util \
  pkcs11-tool perl script swaks sha256sum od
require_binaries
make_pki
make_token
CLIENT=$SSM_SRCDIR/tests/integration/smtp_rcpt.py
ZONES=$WORK/zones
mkdir -p "$ZONES" "$WORK/out" "$WORK/certs"

issue_cert gina gina@partner.example rsa "digitalSignature, keyEncipherment" || fatal smimea-setup "issue gina"
issue_cert hank hank@partner.example rsa "digitalSignature, keyEncipherment" || fatal smimea-setup "issue hank"
issue_cert lena lena@partner.example rsa "digitalSignature, keyEncipherment" rogue || fatal smimea-setup "issue lena"
issue_cert mona mona@partner.example rsa "digitalSignature, keyEncipherment" rogue || fatal smimea-setup "issue mona"
issue_cert kim kim@broken.example rsa "digitalSignature, keyEncipherment" || fatal smimea-setup "issue kim"
issue_cert ivy ivy@unsigned.example rsa "digitalSignature, keyEncipherment" || fatal smimea-setup "issue ivy"

# owner LOCAL: the RFC 8162 owner-name label (independent of our code: coreutils).
owner() { printf '%s' "$1" | sha256sum | cut -c1-56; }
# der_hex PEM: the certificate's DER as hex.
der_hex() { OPENSSL_CONF=/dev/null openssl x509 -in "$1" -outform DER | od -An -v -tx1 | tr -d ' \n'; }
# spki_sha256 PEM: SHA-256 of the SubjectPublicKeyInfo (selector 1, matching type 1).
spki_sha256() {
  OPENSSL_CONF=/dev/null openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64
}
# zone NAME RECORD...: an unsigned zone file $ZONES/NAME.zone with SOA, NS and the records.
zone() {
  local name=$1 r; shift
  {
    printf '$ORIGIN %s.\n$TTL 300\n' "$name"
    printf '@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 127.0.0.1\n'
    for r in "$@"; do printf '%s\n' "$r"; done
  } >"$ZONES/$name.zone"
}
# sign NAME: $ZONES/NAME.zone.signed (ECDSA P-256 KSK + ZSK); appends the DS to $ZONES/anchors.
sign() {
  local zsk ksk
  (
    set -e
    cd "$ZONES"
    zsk=$(ldns-keygen -a ECDSAP256SHA256 "$1")
    ksk=$(ldns-keygen -k -a ECDSAP256SHA256 "$1")
    ldns-signzone "$1.zone" "$zsk" "$ksk"
    cat "$ksk.ds" >>anchors
  ) >"$WORK/sign-$1.log" 2>&1 || fatal smimea-setup "signing $1: $(tail -n 2 "$WORK/sign-$1.log" | tr '\n' ' ')"
}

zone partner.example \
  "$(owner dave)._smimecert IN SMIMEA 3 0 0 $(der_hex "$PKI/dave.cert.pem")" \
  "$(owner gina)._smimecert IN SMIMEA 1 0 0 $(der_hex "$XPKI/gina.cert.pem")" \
  "$(owner hank)._smimecert IN SMIMEA 1 1 1 $(spki_sha256 "$XPKI/hank.cert.pem")" \
  "$(owner lena)._smimecert IN SMIMEA 3 0 0 $(der_hex "$XPKI/lena.cert.pem")" \
  "$(owner mona)._smimecert IN SMIMEA 1 0 0 $(der_hex "$XPKI/mona.cert.pem")" \
  "$(owner 'dave smith')._smimecert IN SMIMEA 3 0 0 $(der_hex "$PKI/dave.cert.pem")"
sign partner.example
zone broken.example "$(owner kim)._smimecert IN SMIMEA 1 0 0 $(der_hex "$XPKI/kim.cert.pem")"
sign broken.example
# The edit an attacker on the path would make: same certificate, usage 1 -> 3. The record's
# RRSIG no longer matches; without validation kim's (valid) certificate would be used.
sed -i "s/\(SMIMEA[[:space:]]*\)1 0 0 /\13 0 0 /" "$ZONES/broken.example.zone.signed"
grep -q "SMIMEA[[:space:]]*3 0 0 " "$ZONES/broken.example.zone.signed" || fatal smimea-setup "could not edit broken.example"
zone unsigned.example "$(owner ivy)._smimecert IN SMIMEA 3 0 0 $(der_hex "$XPKI/ivy.cert.pem")"
cp "$ZONES/unsigned.example.zone" "$ZONES/unsigned.example.zone.signed"  # served as it is
[ "$(grep -Ec 'IN[[:space:]]+DS[[:space:]]' "$ZONES/anchors")" -eq 2 ] || fatal smimea-setup "expected two DS trust anchors"

# --- nsd: a private instance on a free loopback port ---------------------------------------
DNS_PORT=$(free_port)
mkdir -p "$WORK/nsd"
{
  cat <<EOF
server:
    ip-address: 127.0.0.1
    port: $DNS_PORT
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$ZONES"
    database: ""
    zonelistfile: "$WORK/nsd/zone.list"
    xfrdfile: "$WORK/nsd/xfrd.state"
    xfrdir: "$WORK/nsd"
    pidfile: "$WORK/nsd/nsd.pid"
    logfile: "$WORK/nsd/nsd.log"
    server-count: 1
    hide-version: yes
    verbosity: 1
remote-control:
    control-enable: no
EOF
  for z in partner.example broken.example unsigned.example; do
    printf 'zone:\n    name: %s\n    zonefile: "%s/%s.zone.signed"\n' "$z" "$ZONES" "$z"
  done
} >"$WORK/nsd/nsd.conf"
nsd-checkconf "$WORK/nsd/nsd.conf" >"$WORK/nsd/check.log" 2>&1 \
  || fatal smimea-setup "nsd-checkconf: $(tr '\n' ' ' <"$WORK/nsd/check.log")"
nsd -d -c "$WORK/nsd/nsd.conf" >"$WORK/nsd/stderr.log" 2>&1 &
NSD_PID=$!
on_exit "kill -TERM $NSD_PID; wait $NSD_PID"
wait_port "$DNS_PORT" 15 "$NSD_PID" || fatal smimea-setup "nsd did not start: $(tail -n 3 "$WORK/nsd/nsd.log" | tr '\n' ' ')"
# The zones are read after the sockets are open: until nsd says so for all three.
deadline=$((SECONDS + 15))
while [ "$(grep -c 'zone .* read with success' "$WORK/nsd/nsd.log")" -lt 3 ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
for z in partner.example broken.example unsigned.example; do
  grep -q "zone $z read with success" "$WORK/nsd/nsd.log" || fatal smimea-setup "nsd did not load $z: $(tail -n 3 "$WORK/nsd/nsd.log" | tr '\n' ' ')"
done

# --- configuration: the milter's and ssmctl's (own caches, so each asks DNS itself) ----------
RULES='[[rule]]
name = "partner mail must be encrypted"
direction = "outbound"
to = ["*@partner.example", "*@broken.example", "*@unsigned.example"]
sign = "none"
encrypt = "mandatory"'
directory() {
  printf '[directory]\ncache = "%s"\nstatic_certificates = "%s"\n\n' "$1" "$WORK/certs"
  printf '[directory.smimea]\nenabled = true\nresolver = "127.0.0.1@%s"\ntrust_anchor_file = "%s"\ntimeout = "5s"\n' \
    "$DNS_PORT" "$ZONES/anchors"
}
MILTER_PORT=$(free_port)
write_config "$WORK/ssm.toml" port="$MILTER_PORT" rules="$RULES" pki='revocation = "off"' \
  extra="$(directory "$WORK/cache")" || fatal smimea-setup "write_config"
write_config "$WORK/ssmctl.toml" port="$MILTER_PORT" rules="$RULES" pki='revocation = "off"' \
  extra="$(directory "$WORK/cache-ssmctl")" || fatal smimea-setup "write_config ssmctl"
write_config "$WORK/ssmctl-dane.toml" port="$MILTER_PORT" rules="$RULES" pki='revocation = "off"' \
  extra="$(directory "$WORK/cache-dane")
trust_dane_ee = true" || fatal smimea-setup "write_config ssmctl-dane"
# The same cache without the option: the cached DANE-EE mark follows the configuration.
write_config "$WORK/ssmctl-dane-off.toml" port="$MILTER_PORT" rules="$RULES" pki='revocation = "off"' \
  extra="$(directory "$WORK/cache-dane")" || fatal smimea-setup "write_config ssmctl-dane-off"
"$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm.toml" -n >"$WORK/check.log" 2>&1 \
  || fatal smimea-config "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check.log")"
# A trust anchor file that cannot be read is a configuration error naming the table's place.
sed "s|$ZONES/anchors|$ZONES/missing.key|" "$WORK/ssm.toml" >"$WORK/bad.toml"
line=$(grep -n '^\[directory.smimea\]' "$WORK/bad.toml" | cut -d: -f1)
if "$SSM_BUILDDIR/ssm-milter" -c "$WORK/bad.toml" -n >"$WORK/bad.log" 2>&1; then
  fail config-missing-anchors "accepted a missing trust anchor file"
elif grep -q "bad.toml:$line:1: \[directory.smimea\]: cannot read trust anchor file $ZONES/missing.key" "$WORK/bad.log"; then
  pass config-missing-anchors
else fail config-missing-anchors "$(tr '\n' ' ' <"$WORK/bad.log")"; fi

# --- 1. ssmctl cert lookup ------------------------------------------------------------------
# lookup NAME ADDRESS EXIT PATTERN...: ssmctl's exit code and every (ERE) pattern in its output.
lookup() {
  local name=$1 address=$2 want=$3 rc p; shift 3
  "$SSM_BUILDDIR/ssmctl" -c "${LOOKUP_CONF:-$WORK/ssmctl.toml}" cert lookup "$address" >"$WORK/out/$name.txt" 2>&1
  rc=$?
  [ "$rc" -eq "$want" ] || { fail "$name" "exit $rc, expected $want: $(tr '\n' ' ' <"$WORK/out/$name.txt")"; return; }
  for p in "$@"; do
    grep -Eq -- "$p" "$WORK/out/$name.txt" || { fail "$name" "no '$p' in: $(tr '\n' ' ' <"$WORK/out/$name.txt")"; return; }
  done
  pass "$name"
}
lookup lookup-dane-ee dave@partner.example 0 '^source="smimea" cache=miss candidates=1' \
  "^chosen .* source=\"smimea:$(owner dave)\._smimecert\.partner\.example\""
lookup lookup-pkix-ee gina@partner.example 0 "^chosen .* source=\"smimea:$(owner gina)\._smimecert\.partner\.example\""
lookup lookup-cached dave@partner.example 0 '^source="smimea" cache=hit candidates=1'
lookup lookup-hash-only hank@partner.example 1 '^source="smimea" cache=miss candidates=0' '^chosen none'
lookup lookup-untrusted-ca lena@partner.example 1 '^source="smimea" cache=miss candidates=1' \
  'usable=no reason=".*chain' '^chosen none'
lookup lookup-nxdomain nobody@partner.example 1 '^source="smimea" cache=miss candidates=0' '^chosen none'
lookup lookup-bogus kim@broken.example 2 '^source="smimea" unavailable=".*bogus' '^chosen none unavailable='
lookup lookup-insecure ivy@unsigned.example 1 '^source="smimea" cache=miss candidates=0' '^chosen none'
lookup lookup-pkix-ee-untrusted-ca mona@partner.example 1 'usable=no reason=".*chain' '^chosen none'
# A local part that needs its quotes: the record is under the hash of its content (before, the
# quotes were hashed too and the name asked had no record: candidates=0).
lookup lookup-quoted-local-part '"dave smith"@partner.example' 1 '^source="smimea" cache=miss candidates=1' \
  "smimea:$(owner 'dave smith')\._smimecert\.partner\.example" '^chosen none'

# --- trust_dane_ee: usage 3 on DNSSEC trust alone -----------------------------------------------
LOOKUP_CONF=$WORK/ssmctl-dane.toml
lookup dane-lookup-untrusted-ca lena@partner.example 0 '^source="smimea" cache=miss candidates=1' \
  ' dane_ee=yes usable=yes' "^chosen .* source=\"smimea:$(owner lena)\._smimecert\.partner\.example\""
lookup dane-lookup-cached lena@partner.example 0 '^source="smimea" cache=hit candidates=1' ' dane_ee=yes usable=yes'
lookup dane-lookup-pkix-ee-still-chains mona@partner.example 1 'usable=no reason=".*chain' '^chosen none'
lookup dane-lookup-trusted-ca dave@partner.example 0 ' dane_ee=yes usable=yes'
LOOKUP_CONF=$WORK/ssmctl-dane-off.toml
lookup dane-off-cached-mark-not-trusted lena@partner.example 1 '^source="smimea" cache=hit candidates=1' \
  ' dane_ee=yes usable=no reason=".*chain' '^chosen none'
LOOKUP_CONF=
sed 's/@SENDER@/zed@acme.example/; s/@RCPT@/lena@partner.example/' \
  "$SSM_SRCDIR/tests/integration/messages/plain-7bit.eml" >"$WORK/out/dane.in.eml"
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssmctl-dane.toml" process --direction out --from zed@acme.example \
  --to lena@partner.example <"$WORK/out/dane.in.eml" >"$WORK/out/dane.eml" 2>"$WORK/out/dane.err"
rc=$?
if [ $rc -ne 0 ]; then fail dane-process-encrypts "exit $rc: $(tr '\n' ' ' <"$WORK/out/dane.err" | cut -c1-300)"
elif ! smime_envelope "$WORK/out/dane.eml" "$WORK/out/dane.p7m"; then fail dane-process-encrypts "not an envelope: $PEER_DETAIL"
elif ! decrypt_openssl "$WORK/out/dane.p7m" lena "$WORK/out/dane.plain"; then fail dane-process-encrypts "$PEER_DETAIL"
elif ! grep -q "$(sed -n '/^$/,$p' "$WORK/out/dane.in.eml" | grep -m1 '[a-z]')" "$WORK/out/dane.plain"; then
  fail dane-process-encrypts "decrypted text differs"
else pass dane-process-encrypts; fi

# --- 2. through Postfix with mandatory encryption ------------------------------------------
start_sink || fatal smimea-setup "smtp-sink did not start"
start_milter "$WORK/ssm.toml" || fatal smimea-setup "ssm-milter did not start: $(tail -n 3 "$WORK/milter.log" | tr '\n' ' ')"
SMTPD_PORT=$(free_port)
start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal smimea-setup "Postfix did not start"

# encrypted NAME RCPT: see expect_encrypted (lib.sh).
encrypted() { expect_encrypted "$1" "$SMTPD_PORT" "$2"; }
encrypted smtp-dane-ee dave@partner.example
encrypted smtp-pkix-ee gina@partner.example

# The refusals at RCPT time, in one transaction (DATA is not sent: nothing can be delivered).
sed 's/@SENDER@/zed@acme.example/; s/@RCPT@/nobody@partner.example/' \
  "$SSM_SRCDIR/tests/integration/messages/plain-7bit.eml" >"$WORK/msg.eml"
before=$(sink_count)
python3 "$CLIENT" "$SMTPD_PORT" zed@acme.example "$WORK/msg.eml" hank@partner.example lena@partner.example \
  nobody@partner.example ivy@unsigned.example kim@broken.example >"$WORK/out/refused.replies" 2>&1
rcpt_reply() {  # NAME ADDRESS ERE
  if grep -Eq "^RCPT $2 $3" "$WORK/out/refused.replies"; then pass "$1"
  else fail "$1" "$(grep "^RCPT $2 " "$WORK/out/refused.replies" || tr '\n' ' ' <"$WORK/out/refused.replies")"; fi
}
rcpt_reply smtp-hash-only-550 hank@partner.example '550 5\.7\.1'
rcpt_reply smtp-untrusted-ca-550 lena@partner.example '550 5\.7\.1'
rcpt_reply smtp-nxdomain-550 nobody@partner.example '550 5\.7\.1'
rcpt_reply smtp-insecure-550 ivy@unsigned.example '550 5\.7\.1'
rcpt_reply smtp-bogus-451 kim@broken.example '451 4\.7\.1'
sleep 1
[ "$(sink_count)" -eq "$before" ] && pass smtp-nothing-delivered \
  || fail smtp-nothing-delivered "$(( $(sink_count) - before )) message(s) delivered"

# --- 3. concurrency and reload ---------------------------------------------------------------
# parallel NAME: 20 SMTP sessions at once, each RCPT one address: gina (cached) or one of 15
# uncached addresses without records, so up to 15 queries are in flight on the one shared
# libunbound context. Every reply must be the right one.
parallel() {
  python3 - "$SMTPD_PORT" >"$WORK/out/$1.replies" 2>&1 <<'PY'
import smtplib, sys, threading
port, lock, lines = int(sys.argv[1]), threading.Lock(), []
def one(i):
    addr = "gina@partner.example" if i % 4 == 0 else "x%d@partner.example" % i
    try:
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test.invalid", timeout=60)
        s.ehlo(); s.mail("zed@acme.example")
        code, msg = s.rcpt(addr)
        s.rset(); s.quit()
        line = "%s %d %s" % (addr, code, " ".join(msg.decode("utf-8", "replace").split()))
    except Exception as e:
        line = "%s error %s" % (addr, e)
    with lock:
        lines.append(line)
threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
for t in threads: t.start()
for t in threads: t.join()
print("\n".join(sorted(lines)))
PY
  local ok bad
  ok=$(grep -Ec '^(gina@partner\.example 250 |x[0-9]+@partner\.example 550 5\.7\.1 )' "$WORK/out/$1.replies")
  bad=$(grep -Ev '^(gina@partner\.example 250 |x[0-9]+@partner\.example 550 5\.7\.1 )' "$WORK/out/$1.replies" | head -n 2 | tr '\n' ' ')
  [ "$ok" -eq 20 ] && pass "$1" || fail "$1" "$ok of 20 right; $bad"
}
parallel smtp-parallel-lookups
# SIGHUP: the old configuration's resolver (its context and pump thread) goes, a new one
# answers; uncached addresses again, so the new resolver is really asked.
reloads=$(grep -c 'reloaded' "$WORK/milter.log")
kill -HUP "$MILTER_PID"
deadline=$((SECONDS + 20))
while [ "$(grep -c 'reloaded' "$WORK/milter.log")" -le "$reloads" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
if [ "$(grep -c 'reloaded' "$WORK/milter.log")" -gt "$reloads" ] && milter_alive; then pass reload-new-resolver
else fail reload-new-resolver "no 'reloaded' line, or the milter stopped: $(tail -n 2 "$WORK/milter.log" | tr '\n' ' ')"; fi
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" cache flush >/dev/null 2>&1 || note "cache flush failed"
parallel smtp-parallel-after-reload
encrypted smtp-after-reload gina@partner.example

# --- 4. what the milter logged --------------------------------------------------------------
grep -q "smimea-bogus.*$(owner kim)._smimecert.broken.example.*why=.*" "$WORK/milter.log" \
  && pass log-why-bogus || fail log-why-bogus "no smimea-bogus line with why= for kim"
grep -q "smimea-insecure.*$(owner ivy)._smimecert.unsigned.example" "$WORK/milter.log" \
  && pass log-insecure || fail log-insecure "no smimea-insecure line for ivy"
grep -q "smimea-records-skipped.*$(owner hank)._smimecert.partner.example.*not_full_ee_certificate=1" "$WORK/milter.log" \
  && pass log-skipped-count || fail log-skipped-count "no smimea-records-skipped line counting hank's record"

# --- 5. the DNS server down -----------------------------------------------------------------
# An uncached recipient under mandatory encryption is deferred (never refused, never sent in
# clear); a cached one still gets encrypted mail. A reload first: libunbound keeps the zone's
# validated NSEC records and rightly proves zoe's absence from them (aggressive NSEC, RFC
# 8198) without asking; a new resolver knows nothing and must ask.
kill -TERM "$NSD_PID"; wait "$NSD_PID" 2>/dev/null
reloads=$(grep -c 'reloaded' "$WORK/milter.log")
kill -HUP "$MILTER_PID"
deadline=$((SECONDS + 20))
while [ "$(grep -c 'reloaded' "$WORK/milter.log")" -le "$reloads" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" cache flush zoe@partner.example >/dev/null 2>&1
python3 "$CLIENT" "$SMTPD_PORT" zed@acme.example "$WORK/msg.eml" zoe@partner.example >"$WORK/out/down.replies" 2>&1
if grep -Eq '^RCPT zoe@partner.example 451 4\.7\.1' "$WORK/out/down.replies"; then pass dns-down-451
else fail dns-down-451 "$(tr '\n' ' ' <"$WORK/out/down.replies")"; fi
encrypted dns-down-cached gina@partner.example
