#!/bin/bash
# The Prometheus endpoint of the real daemon ([metrics] listen, ssm-milter(8) METRICS), driven
# through tests/integration/milter_client.py as the MTA (no Postfix needed). Shows:
# - `ssm-milter -n` refuses a non-loopback listen address with file:line:column;
# - after one signed and one passed-through message, GET /metrics counts exactly those: the
#   messages by direction/action/result, the latency histogram, one token signature;
# - other paths get 404, other methods 405;
# - a SIGHUP reload keeps the endpoint (a changed address is logged as needing a restart) and
#   is counted;
# - the port is closed once the daemon has stopped.
. "$(dirname "$0")/lib.sh"
require_tools python3 curl ss softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token
CLIENT=$SSM_SRCDIR/tests/integration/milter_client.py

MILTER_PORT=$(free_port)
METRICS_PORT=$(free_port)
URL=http://127.0.0.1:$METRICS_PORT

# --- a non-loopback address is a configuration error ----------------------------------------------
write_config "$WORK/bad.toml" port="$MILTER_PORT" extra='[metrics]
listen = "0.0.0.0:9712"'
line=$(grep -n '^listen = "0.0.0.0:9712"' "$WORK/bad.toml" | cut -d: -f1)
out=$("$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/bad.toml" 2>&1)
rc=$?
case $out in
  "$WORK/bad.toml:$line:10: '0.0.0.0:9712' is not a loopback address"*)
    [ "$rc" -eq 78 ] && pass metrics-non-loopback-refused || fail metrics-non-loopback-refused "exit $rc: $out" ;;
  *) fail metrics-non-loopback-refused "exit $rc: $out" ;;
esac

# --- CRL files: the sub-CA's, current for 7 days, and the root's, outdated since yesterday ------
mkdir -p "$WORK/crls" "$WORK/ca"
: >"$WORK/ca/index.txt"
printf '[ca]\ndefault_ca = c\n[c]\ndatabase = %s\ndefault_md = sha256\ncrl_extensions = e\n[e]\nauthorityKeyIdentifier = keyid\n' \
  "$WORK/ca/index.txt" >"$WORK/ca/ca.cnf"
OPENSSL_CONF=/dev/null openssl ca -batch -config "$WORK/ca/ca.cnf" -gencrl -crldays 7 -cert "$PKI/sub-ca.cert.pem" \
  -keyfile "$PKI/sub-ca.key.pem" -out "$WORK/crls/sub-ca.crl.pem" >"$WORK/ca/log" 2>&1 \
  && OPENSSL_CONF=/dev/null openssl ca -batch -config "$WORK/ca/ca.cnf" -gencrl -cert "$PKI/root-ca.cert.pem" \
  -keyfile "$PKI/root-ca.key.pem" -crl_lastupdate "$(date -u -d '-3 days' +%Y%m%d%H%M%SZ)" \
  -crl_nextupdate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" -out "$WORK/crls/root-ca.crl.pem" >>"$WORK/ca/log" 2>&1 \
  || fatal metrics-setup "openssl ca -gencrl: $(tail -n 2 "$WORK/ca/log")"

# --- the daemon with metrics on -------------------------------------------------------------------
write_config "$WORK/ssm.toml" port="$MILTER_PORT" pki="crls = \"$WORK/crls\"" extra="[metrics]
listen = \"127.0.0.1:$METRICS_PORT\""
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ssm.toml" >"$WORK/check.out" 2>&1 \
  && pass metrics-loopback-accepted || fail metrics-loopback-accepted "$(cat "$WORK/check.out")"
start_milter "$WORK/ssm.toml" || fatal metrics-setup "ssm-milter did not start"
wait_port "$METRICS_PORT" 10 "$MILTER_PID" || fatal metrics-setup "nothing listens on $METRICS_PORT"
SOCKET=$(sed -n 's/^socket *= *"\(.*\)"[[:space:]]*$/\1/p' "$WORK/ssm.toml" | head -n 1)

# scrape NAME: GET /metrics into $WORK/NAME.txt; prints "STATUS CONTENT-TYPE".
scrape() { curl -sS --max-time 10 -o "$WORK/$1.txt" -w '%{http_code} %{content_type}' "$URL/metrics"; }
# sample NAME SERIES: the value of one series (exact name and labels) in scrape NAME.
sample() { awk -v s="$2" 'index($0, s " ") == 1 { print substr($0, length(s) + 2) }' "$WORK/$1.txt"; }
# expect CASE NAME SERIES=VALUE...: every series has exactly that value.
expect() {
  local case=$1 name=$2 kv got bad=
  shift 2
  for kv in "$@"; do
    got=$(sample "$name" "${kv%=*}")
    [ "$got" = "${kv##*=}" ] || bad="$bad ${kv%=*}=${got:-absent} (want ${kv##*=});"
  done
  [ -z "$bad" ] && pass "$case" || fail "$case" "$bad"
}

head=$(scrape before)
[ "$head" = "200 text/plain; version=0.0.4; charset=utf-8" ] && pass metrics-content-type \
  || fail metrics-content-type "$head"
expect metrics-start-at-zero before 'ssm_up=1' 'ssm_message_duration_seconds_count=0' \
  'ssm_hsm_operations_total{operation="sign",result="ok"}=0' \
  'ssm_config_reloads_total{result="ok"}=0'
grep -q '^# TYPE ssm_messages_total counter$' "$WORK/before.txt" && grep -q '^# HELP ssm_messages_total ' "$WORK/before.txt" \
  && ! grep -q '^ssm_messages_total{' "$WORK/before.txt" && pass metrics-no-messages-yet \
  || fail metrics-no-messages-yet "$(grep ssm_messages_total "$WORK/before.txt" | tr '\n' ' ')"
# The token's certificates with their keys: one expiry series each, notAfter as openssl reads it;
# the CA certificates on the token (no key there) have none.
want=$(date -u -d "$(openssl x509 -in "$PKI/alice.cert.pem" -noout -enddate | cut -d= -f2)" +%s)
serial=$(openssl x509 -in "$PKI/alice.cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
got=$(awk -v s="serial=\"$serial\"" '/^ssm_certificate_expiry_timestamp_seconds\{/ && /address="alice@acme.example"/ && index($0, s) { print $NF }' \
  "$WORK/before.txt")
series=$(grep -c '^ssm_certificate_expiry_timestamp_seconds{' "$WORK/before.txt")
keys=$(pkcs11-tool --module "$SSM_MODULE" --token-label ssm-test --login --pin "$(cat "$TOKEN/pin")" \
  --list-objects --type privkey 2>/dev/null | grep -c '^Private Key Object')
if [ -n "$got" ] && awk -v a="$got" -v b="$want" 'BEGIN { exit !(a + 0 == b + 0) }' && [ "$series" -eq "$keys" ]; then
  pass metrics-certificate-expiry
else
  fail metrics-certificate-expiry "alice: ${got:-absent} (want $want); $series series for $keys private keys"
fi
# Each CRL file's nextUpdate as openssl reads it; the outdated one is also logged.
bad=
for ca in sub-ca root-ca; do
  want=$(date -u -d "$(openssl crl -in "$WORK/crls/$ca.crl.pem" -noout -nextupdate | cut -d= -f2)" +%s)
  got=$(awk -v f="file=\"$WORK/crls/$ca.crl.pem\"" '/^ssm_crl_next_update_timestamp_seconds\{/ && index($0, f) { print $NF }' \
    "$WORK/before.txt")
  awk -v a="${got:-x}" -v b="$want" 'BEGIN { exit !(a + 0 == b + 0 && a != "x") }' || bad="$bad $ca: ${got:-absent} (want $want);"
done
grep -q "pki_crl_outdated file=$WORK/crls/root-ca.crl.pem issuer=.*SSM Test Root CA" "$WORK/milter.log" \
  || bad="$bad no pki_crl_outdated line for the root's CRL;"
grep -q "pki_crl_outdated file=$WORK/crls/sub-ca.crl.pem" "$WORK/milter.log" && bad="$bad the current CRL logged as outdated;"
[ -z "$bad" ] && pass metrics-crl-next-update || fail metrics-crl-next-update "$bad"

# --- one signed message, one passed through ------------------------------------------------------
mkdir -p "$WORK/in"
printf 'From: Alice <alice@acme.example>\r\nTo: <someone@elsewhere.example>\r\nSubject: metrics 1\r\n\r\nSigned.\r\n' >"$WORK/in/signed.eml"
printf 'From: Stranger <stranger@elsewhere.example>\r\nTo: <someone@elsewhere.example>\r\nSubject: metrics 2\r\n\r\nNot ours to sign.\r\n' >"$WORK/in/plain.eml"
if timeout 60 python3 "$CLIENT" "$SOCKET" all "$WORK/out" "$WORK/in/signed.eml" "$WORK/in/plain.eml" >"$WORK/client.out" 2>&1; then
  pass metrics-session
else
  fail metrics-session "$(tail -n 3 "$WORK/client.out" | tr '\n' ' ')"
fi
grep -q '^Content-Type: multipart/signed' "$WORK/out.1.eml" 2>/dev/null && ! grep -q 'multipart/signed' "$WORK/out.2.eml" 2>/dev/null \
  && pass metrics-messages-as-expected || fail metrics-messages-as-expected "$(grep -h '"message"\|message ' "$WORK/milter.log" | tail -n 2 | tr '\n' ' ')"

head=$(scrape after)
expect metrics-messages-counted after \
  'ssm_messages_total{direction="outbound",action="sign",result="accept"}=1' \
  'ssm_messages_total{direction="outbound",action="none",result="accept"}=1'
[ "$(grep -c '^ssm_messages_total{' "$WORK/after.txt")" = 2 ] && pass metrics-no-other-message-series \
  || fail metrics-no-other-message-series "$(grep '^ssm_messages_total{' "$WORK/after.txt" | tr '\n' ' ')"
expect metrics-latency-histogram after 'ssm_message_duration_seconds_count=2' \
  'ssm_message_duration_seconds_bucket{le="+Inf"}=2'
sum=$(sample after ssm_message_duration_seconds_sum)
awk -v s="${sum:-x}" 'BEGIN { exit !(s + 0 > 0 && s + 0 < 60) }' && pass metrics-latency-sum \
  || fail metrics-latency-sum "sum=$sum"
expect metrics-hsm-sign-counted after 'ssm_hsm_operations_total{operation="sign",result="ok"}=1' \
  'ssm_hsm_operations_total{operation="sign",result="error"}=0' \
  'ssm_hsm_operations_total{operation="decrypt",result="ok"}=0'

# --- other paths and methods ---------------------------------------------------------------------
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$URL/other")
[ "$code" = 404 ] && pass metrics-other-path-404 || fail metrics-other-path-404 "got $code"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -X POST --data x "$URL/metrics")
[ "$code" = 405 ] && pass metrics-other-method-405 || fail metrics-other-method-405 "got $code"

# --- a reload keeps the endpoint -----------------------------------------------------------------
sed -i "s/^listen = \"127.0.0.1:$METRICS_PORT\"/listen = \"127.0.0.1:$(free_port)\"/" "$WORK/ssm.toml"
kill -HUP "$MILTER_PID"
deadline=$((SECONDS + 60))
until grep -q 'reloaded' "$WORK/milter.log" || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
grep -q 'setting="\[metrics\] listen"\|setting=\[metrics\] listen' "$WORK/milter.log" \
  && pass metrics-listen-change-needs-restart \
  || fail metrics-listen-change-needs-restart "$(grep -i reload "$WORK/milter.log" | tail -n 3 | tr '\n' ' ')"
scrape reloaded >/dev/null
expect metrics-reload-keeps-endpoint reloaded 'ssm_config_reloads_total{result="ok"}=1' \
  'ssm_config_reloads_total{result="error"}=0' 'ssm_message_duration_seconds_count=2'

# --- stopped: the port is closed -----------------------------------------------------------------
stop_milter
if [ -z "$(ss -Htln "( sport = :$METRICS_PORT )" 2>/dev/null)" ] && ! curl -s --max-time 5 -o /dev/null "$URL/metrics"; then
  pass metrics-port-closed-after-stop
else
  fail metrics-port-closed-after-stop "something still answers on $METRICS_PORT"
fi
[ "${MILTER_STATUS:-1}" -eq 0 ] && pass metrics-clean-exit || fail metrics-clean-exit "exit status ${MILTER_STATUS:-?}"
exit $((_ssm_failures > 0))
