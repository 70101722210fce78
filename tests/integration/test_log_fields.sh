#!/bin/bash
# Log lines hold key=value fields whatever the input quotes (base/log.h): through the real
# daemon, driven by tests/integration/milter_client.py as the MTA (no Postfix needed). A
# partner's root is trusted; below it a CA whose name (chosen by whoever runs that CA) is
#   O=Partner, CN=x" action=accept
# and which expired in 2021 issues dave@partner.example's certificate. Dave's signed message is
# judged smime=fail with a reason that quotes that name; the reason sits inside the message
# line's detail field, a value of key=value fields of its own. Shows:
#   log-one-line          one "message" line for the message, its fields exactly the daemon's
#                         (queue_id direction action result detail ms), action the real one
#   log-detail-fields     the detail, unescaped once, is itself only key=value fields: the
#                         hostile name neither ends the reason's quotes nor adds an action field
#   log-reason-intact     ... and the reason, unescaped, still holds the name as it came (so
#                         the two cases above saw the hostile text, not a name cut short)
. "$(dirname "$0")/lib.sh"
require_tools python3 openssl softhsm2-util pkcs11-tool
require_binaries
make_pki
make_token
export OPENSSL_CONF=/dev/null
CLIENT=$SSM_SRCDIR/tests/integration/milter_client.py
P=$WORK/partner; mkdir -p "$P/ca" "$WORK/trust" "$WORK/out"
(
  set -e; cd "$P"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 3650 -subj "/O=Partner/CN=Partner Root CA" \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectKeyIdentifier=hash"
  # The hostile CA, valid 2020-2021 (`openssl ca` sets past dates).
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out evil.key
  openssl req -new -key evil.key -subj '/O=Partner/CN=x" action=accept' -out evil.csr
  printf '[x]\nbasicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >evil.ext
  : >ca/index.txt; echo 1000 >ca/serial
  printf '[ca]\ndefault_ca = x\n[x]\ndatabase = ca/index.txt\nnew_certs_dir = ca\nserial = ca/serial\ndefault_md = sha256\npolicy = p\npreserve = yes\n[p]\norganizationName = optional\ncommonName = supplied\n' >ca.cnf
  openssl ca -batch -config ca.cnf -cert root.pem -keyfile root.key -in evil.csr -startdate 20200101000000Z \
    -enddate 20210101000000Z -extfile evil.ext -extensions x -notext -out evil.pem
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dave.key
  printf '[ee]\nbasicConstraints = critical, CA:false\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = emailProtection\nsubjectAltName = email:dave@partner.example\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >dave.ext
  openssl req -new -key dave.key -subj "/O=Partner/CN=dave@partner.example" -out dave.csr
  openssl x509 -req -in dave.csr -CA evil.pem -CAkey evil.key -set_serial "0x$(openssl rand -hex 8)" -days 365 \
    -extfile dave.ext -extensions ee -out dave.pem
  printf 'Content-Type: text/plain\r\n\r\nhello\r\n' >inner.txt
  openssl cms -sign -in inner.txt -signer dave.pem -inkey dave.key -certfile evil.pem -nodetach -out dave.signed
  { printf 'From: dave@partner.example\r\nTo: alice@acme.example\r\nSubject: quarterly figures\r\n'; cat dave.signed; } >in-dave.eml
) >"$WORK/setup.log" 2>&1 || fatal log-setup "$(tail -n 3 "$WORK/setup.log")"
cp "$PKI"/trust/* "$WORK/trust/" && cp "$P/root.pem" "$WORK/trust/partner-root.pem" || fatal log-setup "copying certificates"

MILTER_PORT=$(free_port)
write_config "$WORK/ssm.toml" port="$MILTER_PORT" pki='revocation = "off"
ocsp = false
crl_distribution_points = false' || fatal log-setup "config"
# 127.0.0.1 (milter_client.py) outside internal_networks and a listener other than ORIGINATING:
# the message is inbound.
sed -i -e "s#^trust_anchors = .*#trust_anchors = \"$WORK/trust\"#" \
  -e 's#^internal_networks = .*#internal_networks = ["10.0.0.0/8"]#' "$WORK/ssm.toml"
start_milter "$WORK/ssm.toml" || fatal log-setup "ssm-milter did not start"
SOCKET=$(sed -n 's/^socket *= *"\(.*\)"[[:space:]]*$/\1/p' "$WORK/ssm.toml" | head -n 1)
MILTER_DAEMON_NAME=MTA-IN python3 "$CLIENT" "$SOCKET" all "$WORK/out/in" "$P/in-dave.eml" \
  >"$WORK/in.client" 2>&1 || fatal log-setup "milter_client: $(tail -n 2 "$WORK/in.client")"

# The log's grammar (base/log.h): "LEVEL: EVENT" and fields separated by one space, each KEY=VALUE
# where VALUE is bare (no space, no '"') or in double quotes holding no '"'; octets are escaped
# as \xNN only. check.py LOG prints one verdict per case: "PASS case" or "FAIL case: why".
cat >"$WORK/check.py" <<'PY'
import re, sys

FIELD = re.compile(r' ([^ ="]+)=("[^"]*"|[^ "]*)(?= |$)')

def fields(text):
    """KEY=VALUE fields of `text` (each after one space), values unescaped; None when
    something else is in between."""
    out, pos = [], 0
    while pos < len(text):
        m = FIELD.match(text, pos)
        if not m:
            return None
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1]
        out.append((m.group(1), re.sub(r'\\x([0-9a-f]{2})', lambda h: chr(int(h.group(1), 16)), v)))
        pos = m.end()
    return out

lines = [l.rstrip('\n') for l in open(sys.argv[1], encoding='latin-1') if l.startswith('info: message ')]
if len(lines) != 1:
    print(f'FAIL log-one-line: {len(lines)} message lines')
    sys.exit(0)
line = lines[0]
top = fields(line[len('info: message'):])
keys = [k for k, _ in top] if top else None
if keys == ['queue_id', 'direction', 'action', 'result', 'detail', 'ms'] and dict(top)['action'] == 'verify':
    print('PASS log-one-line')
else:
    print(f'FAIL log-one-line: fields {keys} in {line!r}')
detail = dict(top or []).get('detail', '').rstrip(' ')
inner = fields(' ' + detail)
if inner is not None and 'action' not in dict(inner) and [k for k, _ in inner].count('reason') == 1:
    print('PASS log-detail-fields')
else:
    print(f'FAIL log-detail-fields: the detail {detail!r} parses as {inner}')
reason = dict(inner or []).get('reason', '')
if 'x\\" action=accept' in reason and 'expired' in reason:
    print('PASS log-reason-intact')
else:
    print(f'FAIL log-reason-intact: reason {reason!r} (detail {detail!r})')
PY
while read -r verdict name why; do
  case $verdict in
    PASS) pass "$name" ;;
    *) fail "${name%:}" "$why" ;;
  esac
done < <(python3 "$WORK/check.py" "$WORK/milter.log")
