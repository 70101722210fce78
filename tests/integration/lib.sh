# Shared harness for the real-component integration tests (sourced by every test_*.sh).
# Starts real components on 127.0.0.1 only: a private Postfix 3.7 instance, smtp-sink, a SoftHSM
# token, ssm-milter. Everything lives in one per-test work dir removed at exit, even on failure.
# Input trust: messages come from our own fixtures; delivered files are parsed as untrusted text.
#
# Result lines (the runner counts them): exactly one per case,
#   PASS: <name> | FAIL: <name>: <reason> | SKIP: <name>: <reason>
# A test script exits non-zero when any case failed. A missing required tool is a FAIL.
#
# Environment: SSM_BUILDDIR (folder with ssm-milter, ssmctl), SSM_SRCDIR (source tree),
# SSM_TEST_TMP (parent of work dirs; the PKI is cached in $SSM_TEST_TMP/pki when set),
# SSM_KEEP_TMP=1 keeps the work dir for inspection; SSM_WORK_DIR=DIR uses DIR as the work dir
# and keeps it (scripts/demo.sh, bench/run.sh).
# MILTER_SOCKET_KIND=unix puts each milter on a unix socket $WORK/milter-sock/PORT.sock instead
# of inet:PORT@127.0.0.1 (the port number then only names the socket); write_config,
# start_milter and start_postfix follow it (default inet).

set -u

SSM_SRCDIR=${SSM_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SSM_BUILDDIR=${SSM_BUILDDIR:-$PWD}
export SSM_SRCDIR SSM_BUILDDIR
SSM_MODULE=${SSM_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
TEST_NAME=$(basename "$0" .sh)

_ssm_failures=0
_ssm_cases=0
_ssm_cleanups=()

# --- result helpers -------------------------------------------------------------------------
pass() { _ssm_cases=$((_ssm_cases + 1)); printf 'PASS: %s\n' "$1"; }
fail() {
  _ssm_cases=$((_ssm_cases + 1)); _ssm_failures=$((_ssm_failures + 1))
  printf 'FAIL: %s: %s\n' "$1" "${2:-failed}"
}
skip() { _ssm_cases=$((_ssm_cases + 1)); printf 'SKIP: %s: %s\n' "$1" "${2:-skipped}"; }
# note TEXT: diagnostics go to stderr so they never look like result lines.
note() { printf '  [%s] %s\n' "$TEST_NAME" "$*" >&2; }
# assert NAME COMMAND...: PASS when the command succeeds, FAIL with its last output line otherwise.
assert() {
  local name=$1 out; shift
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"; fi
}
# fatal NAME REASON: a set-up step failed; record it and stop the script (cleanup still runs).
fatal() { fail "$1" "$2"; exit 1; }

# require_tools NAME...: every tool must exist; a missing one is a FAIL (never a SKIP).
require_tools() {
  local t missing=
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
  [ -z "$missing" ] || fatal "$TEST_NAME-tools" "required tool(s) missing:$missing (run scripts/install-deps.sh)"
}
# require_binaries: ssm-milter and ssmctl from the build folder.
require_binaries() {
  local b
  for b in ssm-milter ssmctl; do
    [ -x "$SSM_BUILDDIR/$b" ] || fatal "$TEST_NAME-binaries" "$SSM_BUILDDIR/$b not built (set SSM_BUILDDIR)"
  done
}

# --- work dir and cleanup --------------------------------------------------------------------
on_exit() { _ssm_cleanups+=("$*"); }
_ssm_exit() {
  local rc=$? i
  for ((i = ${#_ssm_cleanups[@]} - 1; i >= 0; i--)); do eval "${_ssm_cleanups[$i]}" >/dev/null 2>&1 || true; done
  _ssm_release_ports 2>/dev/null
  if [ "${SSM_KEEP_TMP:-0}" = 1 ] || [ -n "${SSM_WORK_DIR:-}" ]; then note "work dir kept: $WORK"
  else rm -rf "$WORK"; fi
  [ "$_ssm_failures" -eq 0 ] || exit 1
  exit "$rc"
}
if [ -n "${SSM_WORK_DIR:-}" ]; then
  mkdir -p "$SSM_WORK_DIR"; WORK=$(cd "$SSM_WORK_DIR" && pwd)   # kept at exit (demo, bench)
else
  mkdir -p "${SSM_TEST_TMP:-/tmp}"
  WORK=$(mktemp -d "${SSM_TEST_TMP:-/tmp}/ssm-$TEST_NAME.XXXXXX") || { echo "FAIL: $TEST_NAME: mktemp"; exit 1; }
fi
chmod 755 "$WORK"   # Postfix daemons and smtp-sink (user postfix) must traverse it
trap _ssm_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- ports -----------------------------------------------------------------------------------
# free_port: prints a loopback TCP port nobody listens on and no other test run holds.
# Two races are closed here. Ports come from below the kernel's ephemeral range
# (ip_local_port_range), so an outgoing connection of a test running beside us (an SMTP client,
# Postfix's smtp, an LDAP client) cannot take the port between this check and the bind: that
# is what made a Postfix fail with "Address already in use". And each port is reserved with an
# atomic mkdir under $SSM_PORT_LOCKS, owned by this script's PID (free_port runs in a command
# substitution, a subshell, so a shell array could not remember what it handed out): parallel
# scripts never get the same port. A dead owner's reservations are taken back; ours are
# released at exit (_ssm_release_ports).
SSM_PORT_LOCKS=${SSM_PORT_LOCKS:-/tmp/ssm-test-ports}
_ssm_port_range() {
  local lo hi
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || { lo=32768; hi=60999; }
  if [ "$lo" -ge 22000 ]; then echo "20000 $((lo - 20000))"
  elif [ "$hi" -le 63000 ]; then echo "$((hi + 1)) $((65535 - hi))"
  else echo "20000 40000"; fi
}
free_port() {
  local p tries=0 base span owner
  read -r base span <<<"$(_ssm_port_range)"
  mkdir -p "$SSM_PORT_LOCKS" 2>/dev/null; chmod 1777 "$SSM_PORT_LOCKS" 2>/dev/null
  while [ $tries -lt 400 ]; do
    tries=$((tries + 1))
    p=$((base + (RANDOM * 32768 + RANDOM) % span))
    if ! mkdir "$SSM_PORT_LOCKS/$p" 2>/dev/null; then
      owner=$(cat "$SSM_PORT_LOCKS/$p/owner" 2>/dev/null) || continue
      [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null || continue
      rm -rf "$SSM_PORT_LOCKS/$p"; mkdir "$SSM_PORT_LOCKS/$p" 2>/dev/null || continue
    fi
    echo "$$" >"$SSM_PORT_LOCKS/$p/owner"
    if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then echo "$p"; return 0; fi
    rm -rf "$SSM_PORT_LOCKS/$p"
  done
  return 1
}
_ssm_release_ports() {
  local f
  for f in "$SSM_PORT_LOCKS"/*/owner; do
    [ -f "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$$" ] && rm -rf "${f%/owner}"
  done
  return 0
}
# wait_port PORT SECONDS [PID]: until something listens on 127.0.0.1:PORT (fails if PID dies).
wait_port() {
  local port=$1 deadline=$((SECONDS + $2)) pid=${3:-}
  while [ $SECONDS -lt $deadline ]; do
    [ -n "$(ss -Htln "( sport = :$port )" 2>/dev/null)" ] && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# wait_unix_socket PATH SECONDS [PID]: until a process listens on the unix socket PATH.
wait_unix_socket() {
  local path=$1 deadline=$((SECONDS + $2)) pid=${3:-}
  while [ $SECONDS -lt $deadline ]; do
    [ -S "$path" ] && ss -Hlx 2>/dev/null | grep -qF " $path " && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# --- PKI and token ---------------------------------------------------------------------------
# make_pki: sets PKI (cached per run in $SSM_TEST_TMP/pki when SSM_TEST_TMP is set; make-pki.sh
# takes the lock that makes it once).
make_pki() {
  if [ -n "${SSM_TEST_TMP:-}" ]; then PKI=$SSM_TEST_TMP/pki; else PKI=$WORK/pki; fi
  mkdir -p "$(dirname "$PKI")"
  sh "$SSM_SRCDIR/tests/fixtures/make-pki.sh" "$PKI" >"$WORK/make-pki.log" 2>&1 \
    || fatal "$TEST_NAME-pki" "make-pki.sh failed: $(tail -n 2 "$WORK/make-pki.log")"
  chmod -R a+rX "$PKI"
  export PKI
}
# make_token [NAME...]: a fresh SoftHSM token in $WORK/token; sets TOKEN, exports SOFTHSM2_CONF.
make_token() {
  TOKEN=$WORK/token
  sh "$SSM_SRCDIR/tests/fixtures/make-token.sh" "$PKI" "$TOKEN" "$@" >"$WORK/make-token.log" 2>&1 \
    || fatal "$TEST_NAME-token" "make-token.sh failed: $(tail -n 2 "$WORK/make-token.log")"
  export SOFTHSM2_CONF=$TOKEN/softhsm2.conf TOKEN
}

# import_to_token NAME ID KEY-USAGE...: $XPKI/NAME.key.pem and NAME.cert.pem (issue_cert) onto
# the test token as make-token.sh puts keys: private key and certificate under CKA_ID ID and
# CKA_LABEL NAME; KEY-USAGE are pkcs11-tool flags for the key (--usage-sign --usage-decrypt,
# or --usage-sign --usage-derive for ECDH). Fails the test on error.
import_to_token() {
  local name=$1 id=$2; shift 2
  openssl pkcs8 -topk8 -nocrypt -in "$XPKI/$name.key.pem" -outform DER -out "$XPKI/$name.p8.der" \
    && openssl x509 -in "$XPKI/$name.cert.pem" -outform DER -out "$XPKI/$name.cert.der" \
    || fatal "$TEST_NAME-token" "cannot convert $name's key or certificate to DER"
  pkcs11-tool --module "$SSM_MODULE" --token-label ssm-test --login --pin "$(cat "$TOKEN/pin")" \
    --write-object "$XPKI/$name.p8.der" --type privkey --id "$id" --label "$name" "$@" >>"$WORK/import.log" 2>&1 \
    && pkcs11-tool --module "$SSM_MODULE" --token-label ssm-test --login --pin "$(cat "$TOKEN/pin")" \
    --write-object "$XPKI/$name.cert.der" --type cert --id "$id" --label "$name" >>"$WORK/import.log" 2>&1 \
    || fatal "$TEST_NAME-token" "pkcs11-tool import $name: $(tail -n 2 "$WORK/import.log")"
}

# issue_cert NAME EMAIL KEYSPEC KEYUSAGE [HOW]: an extra end-entity certificate made by OpenSSL
# in $XPKI ($WORK/xpki): NAME.key.pem, NAME.cert.pem. KEYSPEC rsa|p256|p384|x25519 (X25519:
# the CSR is signed by a throw-away key and `openssl x509 -req -force_pubkey` puts the X25519
# key in). HOW: valid (default, under the test sub-CA), expired (valid 2020-2021, `openssl ca`),
# rogue (under a self-signed CA that no configuration trusts).
# ISSUE_SAN (environment) replaces "email:EMAIL" as the subjectAltName value; ISSUE_SAN_SECTION
# is appended to the extension file (a section such as "[alt]" that ISSUE_SAN="@alt" names).
issue_cert() {
  local name=$1 email=$2 spec=$3 ku=$4 how=${5:-valid}
  XPKI=$WORK/xpki; export XPKI
  mkdir -p "$XPKI"
  (
    set -e
    export OPENSSL_CONF=/dev/null
    cd "$XPKI"
    case $spec in
      rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key.pem" ;;
      p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.key.pem" ;;
      p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$name.key.pem" ;;
      p521) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$name.key.pem" ;;
      x25519) openssl genpkey -algorithm X25519 -out "$name.key.pem" ;;
      *) echo "issue_cert: key spec $spec" >&2; exit 64 ;;
    esac
    printf '[ee]\nbasicConstraints = critical, CA:false\nkeyUsage = critical, %s\nextendedKeyUsage = emailProtection\nsubjectAltName = %s\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n%s\n' \
      "$ku" "${ISSUE_SAN:-email:$email}" "${ISSUE_SAN_SECTION:-}" >"$name.ext"
    local csr_key=$name.key.pem
    if [ "$spec" = x25519 ]; then
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.csrkey.pem"
      csr_key=$name.csrkey.pem
      openssl pkey -in "$name.key.pem" -pubout -out "$name.pub.pem"
    fi
    # '+' joins attributes in -subj (a multi-valued RDN): an address extension's is escaped.
    openssl req -new -key "$csr_key" -out "$name.csr" -subj "/O=SSM Test/CN=${email//+/\\+}"
    local ca_cert=$PKI/sub-ca.cert.pem ca_key=$PKI/sub-ca.key.pem
    if [ "$how" = rogue ]; then
      [ -f rogue-ca.cert.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue-ca.key.pem \
        -out rogue-ca.cert.pem -days 3650 -subj "/O=Rogue/CN=Rogue CA" \
        -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign"
      ca_cert=rogue-ca.cert.pem ca_key=rogue-ca.key.pem
    fi
    if [ "$how" = expired ]; then
      mkdir -p "ca-$name"; : >"ca-$name/index.txt"; echo 1000 >"ca-$name/serial"
      printf '[ca]\ndefault_ca = x\n[x]\ndatabase = ca-%s/index.txt\nnew_certs_dir = ca-%s\nserial = ca-%s/serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\norganizationName = optional\n' \
        "$name" "$name" "$name" >"ca-$name.cnf"
      openssl ca -batch -config "ca-$name.cnf" -cert "$ca_cert" -keyfile "$ca_key" -in "$name.csr" \
        -startdate 20200101000000Z -enddate 20210101000000Z -extfile "$name.ext" -extensions ee \
        -notext -out "$name.cert.pem"
    else
      local force=()
      [ "$spec" = x25519 ] && force=(-force_pubkey "$name.pub.pem")
      openssl x509 -req -in "$name.csr" -CA "$ca_cert" -CAkey "$ca_key" -set_serial "0x$(openssl rand -hex 12)" \
        -days 3650 -extfile "$name.ext" -extensions ee "${force[@]}" -out "$name.cert.pem"
    fi
    rm -f "$name.csr" "$name.ext" "$name.csrkey.pem"
  ) >"$WORK/issue-$name.log" 2>&1 || { note "issue_cert $name failed: $(tail -n 3 "$WORK/issue-$name.log")"; return 1; }
}

# --- ssm-milter ------------------------------------------------------------------------------
# milter_socket_dir: $WORK/milter-sock, root:postfix, mode 2750. Postfix's smtpd (user postfix,
# no chroot here) can traverse it; the setgid bit gives every socket made in it group postfix,
# so with the umask start_milter uses (0007) the socket is srwxrwx--- root:postfix: reachable
# by Postfix, not by other local users (the deployment PRODUCT §1 recommends, on one host).
milter_socket_dir() {
  local d=$WORK/milter-sock
  if [ ! -d "$d" ]; then
    mkdir -p "$d" && chown root:postfix "$d" && chmod 2750 "$d" || return 1
  fi
  printf '%s\n' "$d"
}
# milter_socket_spec PORT [KIND]: the libmilter socket for ssm-milter's [milter] socket
# (KIND default $MILTER_SOCKET_KIND, else inet): inet:PORT@127.0.0.1 or unix:$WORK/milter-sock/PORT.sock.
milter_socket_spec() {
  case ${2:-${MILTER_SOCKET_KIND:-inet}} in
    unix) printf 'unix:%s/%s.sock\n' "$(milter_socket_dir)" "$1" ;;
    *) printf 'inet:%s@127.0.0.1\n' "$1" ;;
  esac
}
# milter_address PORT [KIND]: the same socket as Postfix spells it in smtpd_milters
# (inet:127.0.0.1:PORT or unix:PATH); for PF_MASTER_EXTRA lines.
milter_address() {
  case ${2:-${MILTER_SOCKET_KIND:-inet}} in
    unix) milter_socket_spec "$1" unix ;;
    *) printf 'inet:127.0.0.1:%s\n' "$1" ;;
  esac
}
# write_config FILE [key=value]...: an ssm-milter TOML for this test. Keys: port, format
# (detached|opaque), digest, rsa_scheme (pkcs1|pss), sessions, rules (TOML text of [[rule]]
# tables), extra (TOML appended at the end), max_message_size, memory_spool_limit, user
# (default root: the test token and work dir belong to root), token_label (default ssm-test),
# pki (TOML lines added to the [pki] table, e.g. crls and revocation), socket (a whole libmilter
# socket such as unix:/path; default: milter_socket_spec PORT, i.e. inet unless
# MILTER_SOCKET_KIND=unix).
write_config() {
  local file=$1; shift
  local port=${MILTER_PORT:-} format=detached digest=sha256 rsa_scheme=pkcs1 sessions=4
  local max_message_size=100MiB memory_spool_limit=1MiB extra= user=root token_label=ssm-test pki=
  local socket=
  local rules='[[rule]]
name = "outbound mail is signed by the sender, else by the domain"
direction = "outbound"
sign = "sender"
encrypt = "never"'
  local kv
  for kv in "$@"; do
    case $kv in
      port=*) port=${kv#*=} ;; format=*) format=${kv#*=} ;; digest=*) digest=${kv#*=} ;;
      rsa_scheme=*) rsa_scheme=${kv#*=} ;; sessions=*) sessions=${kv#*=} ;;
      rules=*) rules=${kv#*=} ;; extra=*) extra=${kv#*=} ;;
      max_message_size=*) max_message_size=${kv#*=} ;;
      memory_spool_limit=*) memory_spool_limit=${kv#*=} ;; user=*) user=${kv#*=} ;;
      token_label=*) token_label=${kv#*=} ;; pki=*) pki=${kv#*=} ;;
      socket=*) socket=${kv#*=} ;;
      *) echo "write_config: unknown key $kv" >&2; return 64 ;;
    esac
  done
  [ -n "$socket" ] || socket=$(milter_socket_spec "$port") || return 1
  mkdir -p "$WORK/spool"
  cat >"$file" <<EOF
# ssm-milter configuration written by tests/integration/lib.sh for $TEST_NAME
[milter]
socket = "$socket"
user = "$user"
authserv_id = "mx.acme.example"
internal_networks = ["127.0.0.0/8"]
originating_daemons = ["ORIGINATING"]
spool_dir = "$WORK/spool"
memory_spool_limit = "$memory_spool_limit"
max_message_size = "$max_message_size"

[signing]
format = "$format"
digest = "$digest"
rsa_scheme = "$rsa_scheme"

[hsm]
module = "$SSM_MODULE"
token_label = "$token_label"
pin_file = "$TOKEN/pin"
sessions = $sessions

[pki]
trust_anchors = "$PKI/trust"
intermediates = "$PKI/intermediates"
$pki

[[domain]]
name = "acme.example"
signing_identity = "domain-signing-authority@acme.example"

$rules
$extra
EOF
}

# start_milter CONF: runs ssm-milter in the foreground (background job); sets MILTER_PID.
# Waits until its socket listens: the unix socket named in CONF (socket = "unix:PATH"), else
# 127.0.0.1:$MILTER_PORT. Log: $WORK/milter.log (appended).
start_milter() {
  local conf=$1 upath
  upath=$(sed -n 's/^socket *= *"\(unix\|local\):\(.*\)"[[:space:]]*$/\2/p' "$conf" | head -n 1)
  if [ -n "$upath" ]; then
    # libmilter makes the socket with the process umask: 0007 keeps it open to the socket
    # folder's group (postfix, see milter_socket_dir); a stale socket must not look ready.
    rm -f "$upath"
    ( umask 0007; exec "$SSM_BUILDDIR/ssm-milter" -c "$conf" ) >>"$WORK/milter.log" 2>&1 &
  else
    "$SSM_BUILDDIR/ssm-milter" -c "$conf" >>"$WORK/milter.log" 2>&1 &
  fi
  MILTER_PID=$!
  on_exit "kill -KILL $MILTER_PID"
  if [ -n "$upath" ]; then _ssm_milter_listen[$MILTER_PID]=unix:$upath
  else _ssm_milter_listen[$MILTER_PID]=tcp:$MILTER_PORT; fi
  local ready
  if [ -n "$upath" ]; then wait_unix_socket "$upath" 20 "$MILTER_PID"; ready=$?
  else wait_port "$MILTER_PORT" 20 "$MILTER_PID"; ready=$?; fi
  if [ "$ready" -ne 0 ]; then
    note "ssm-milter did not start; log tail:"; tail -n 20 "$WORK/milter.log" >&2
    return 1
  fi
}
# _ssm_milter_listen[PID]: where the milter started by start_milter listens (tcp:PORT or
# unix:PATH), for _ssm_wake_milter.
declare -A _ssm_milter_listen=()
# _ssm_wake_milter PID: one connection to the milter's socket. After SIGTERM libmilter's
# listener notices the stop only when its select() returns, which without a connection is
# after its 5 s poll (MI_CHK_TIME): a connection makes it look at once (exit in ~0.2 s, not
# ~5 s). Harmless before the stop is seen (an empty connection) and after (refused).
_ssm_wake_milter() {
  local where=${_ssm_milter_listen[$1]:-}
  case $where in
    tcp:*) (exec 3<>"/dev/tcp/127.0.0.1/${where#tcp:}") 2>/dev/null ;;
    unix:*) python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(1); s.connect(sys.argv[1]); s.close()' "${where#unix:}" 2>/dev/null ;;
  esac
  return 0
}
# stop_milters PID...: stop_milter for several milters at once.
stop_milters() {
  local p deadline=$((SECONDS + 15)) n
  for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
  for p in "$@"; do
    n=0
    while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
      # every 0.5 s: the first connection may come before libmilter has seen the SIGTERM
      [ $((n % 5)) -eq 1 ] && _ssm_wake_milter "$p"
      n=$((n + 1)); sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
  done
  return 0
}
# stop_milter: SIGTERM, then SIGKILL after 15 s (a connection wakes libmilter's listener, see
# _ssm_wake_milter); sets MILTER_STATUS to its exit status.
stop_milter() {
  [ -n "${MILTER_PID:-}" ] || return 0
  kill -TERM "$MILTER_PID" 2>/dev/null
  local deadline=$((SECONDS + 15)) n=0
  while kill -0 "$MILTER_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
    [ $((n % 5)) -eq 1 ] && _ssm_wake_milter "$MILTER_PID"
    n=$((n + 1)); sleep 0.1
  done
  kill -KILL "$MILTER_PID" 2>/dev/null
  wait "$MILTER_PID" 2>/dev/null
  MILTER_STATUS=$?
  MILTER_PID=
}
kill_milter() {
  [ -n "${MILTER_PID:-}" ] || return 0
  kill -KILL "$MILTER_PID" 2>/dev/null
  wait "$MILTER_PID" 2>/dev/null
  MILTER_PID=
}
milter_alive() { [ -n "${MILTER_PID:-}" ] && kill -0 "$MILTER_PID" 2>/dev/null; }

# --- slapd (tests/fixtures/slapd.sh) -----------------------------------------------------------
SLAPD=$SSM_SRCDIR/tests/fixtures/slapd.sh
# ldap_crowd NAME N: N LDIF entries crowd1..crowdN in $WORK/ldif, each with the mail address
# crowd@partner.example and dave's certificate (more entries for one address than a limit);
# sets CROWD to their paths. A failure is fatal for NAME.
ldap_crowd() {
  local i
  CROWD=()
  mkdir -p "$WORK/ldif"
  for ((i = 1; i <= $2; i++)); do
    sh "$SLAPD" entry crowd@partner.example --cert "$PKI/dave.cert.der" \
      | sed -e "s/^dn: cn=crowd@/dn: cn=crowd$i@/" -e "s/^cn: crowd@/cn: crowd$i@/" >"$WORK/ldif/crowd$i.ldif" \
      || fatal "$1" "entry crowd$i"
    CROWD+=("$WORK/ldif/crowd$i.ldif")
  done
}
# start_slapd NAME LDIF...: a private slapd in $WORK/slapd holding those entries on a free
# loopback port (sets LDAP_PORT), stopped on exit. A failure is fatal for NAME.
start_slapd() {
  local name=$1; shift
  LDAP_PORT=$(free_port)
  sh "$SLAPD" start "$WORK/slapd" "$LDAP_PORT" "$@" >"$WORK/slapd-start.log" 2>&1 \
    || fatal "$name" "slapd did not start: $(tail -n 3 "$WORK/slapd-start.log" | tr '\n' ' ')"
  on_exit sh "$SLAPD" stop "$WORK/slapd"
}
# partner_directory TIMEOUT [LINES]: a [directory] section (cache $WORK/cache, static
# certificates $WORK/certs, TTLs of an hour) whose one LDAP source is that slapd for
# partner.example, with that timeout and LINES added to its [[directory.ldap]] entry.
partner_directory() {
  printf '%s\n' "[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"
positive_ttl = \"1h\"
negative_ttl = \"1h\"

[[directory.ldap]]
domains = [\"partner.example\"]
servers = [\"ldap://127.0.0.1:$LDAP_PORT\"]
base = \"ou=people,dc=partner,dc=example\"
timeout = \"$1\"${2:+
$2}"
}

# --- smtp-sink -------------------------------------------------------------------------------
# start_sink [NAME]: smtp-sink on a free port dumping each transaction to $SINK_DIR.
# Sets SINK_PORT, SINK_DIR, SINK_PID.
start_sink() {
  local name=${1:-sink}
  SINK_DIR=$WORK/$name
  mkdir -p "$SINK_DIR"; chown postfix "$SINK_DIR"
  SINK_PORT=$(free_port) || return 1
  smtp-sink -u postfix -d "$SINK_DIR/%H%M%S." "127.0.0.1:$SINK_PORT" 256 >"$WORK/$name.log" 2>&1 &
  SINK_PID=$!
  on_exit "kill -TERM $SINK_PID"
  wait_port "$SINK_PORT" 10 "$SINK_PID"
}
sink_count() { find "$SINK_DIR" -type f | wc -l; }
sink_files() { find "$SINK_DIR" -type f | sort; }
# sink_message DUMPFILE OUT: the message as received, with CRLF line ends (SMTP canonical form).
# smtp-sink writes its X-Client-*/X-Helo/X-Mail/X-Rcpt records, a 3-line Received header
# naming (smtp-sink), the message (LF line ends) and one extra empty line.
sink_message() {
  awk 'BEGIN { state = 0 }
       state == 0 && /^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args): / { next }
       state == 0 && /^Received: / { state = 1; next }
       state == 1 && /^[ \t]/ { next }
       state == 1 { state = 2 }
       state == 2 { lines[n++] = $0 }
       END { if (n > 0 && lines[n-1] == "") n--; for (i = 0; i < n; i++) printf "%s\r\n", lines[i] }' "$1" >"$2"
}
# sink_all_signed NAME EXPECTED_COUNT [SIGNER]: PASS when the sink holds EXPECTED_COUNT
# messages and every one verifies with openssl (signer SIGNER, default alice@acme.example);
# the fail-closed check of the crash and outage tests. Needs tests/interop/peers.sh sourced.
sink_all_signed() {
  local f n=0 bad=
  for f in $(sink_files); do
    n=$((n + 1))
    sink_message "$f" "$WORK/check.eml"
    verify_openssl "$WORK/check.eml" "${3:-alice@acme.example}" || bad="$bad $(basename "$f"): $PEER_DETAIL"
  done
  if [ -n "$bad" ]; then fail "$1" "unsigned or bad message in the sink:$bad"
  elif [ "$n" -ne "$2" ]; then fail "$1" "sink holds $n messages, expected $2"
  else pass "$1"; fi
}
# sink_rcpts DUMPFILE: the RCPT arguments recorded by smtp-sink.
# expect_encrypted NAME PORT RCPT: one message (messages/plain-7bit.eml, from zed@acme.example)
# to RCPT through the Postfix listening on PORT must arrive as an envelope that openssl
# decrypts with RCPT's key (tests/interop/peers.sh, sourced by the caller) to the original
# text, in $WORK/out. PASS or FAIL NAME; returns 1 on failure.
expect_encrypted() {
  local name=$1 port=$2 rcpt=$3 who=${3%@*} before
  mkdir -p "$WORK/out"
  sed "s/@SENDER@/zed@acme.example/; s/@RCPT@/$rcpt/" "$SSM_SRCDIR/tests/integration/messages/plain-7bit.eml" \
    >"$WORK/out/$name.in.eml"
  before=$(sink_count)
  send_mail "$port" zed@acme.example "$rcpt" "$WORK/out/$name.in.eml" \
    || { fail "$name" "SMTP: ${SMTP_REPLY:-no reply}"; return 1; }
  wait_for_delivery $((before + 1)) 30 || { fail "$name" "not delivered within 30 s"; return 1; }
  sink_message "$(ls -t "$SINK_DIR"/* | head -n 1)" "$WORK/out/$name.eml"
  smime_envelope "$WORK/out/$name.eml" "$WORK/out/$name.p7m" || { fail "$name" "not an envelope: $PEER_DETAIL"; return 1; }
  decrypt_openssl "$WORK/out/$name.p7m" "$who" "$WORK/out/$name.plain" || { fail "$name" "$PEER_DETAIL"; return 1; }
  grep -q "$(sed -n '/^$/,$p' "$WORK/out/$name.in.eml" | grep -m1 '[a-z]')" "$WORK/out/$name.plain" \
    || { fail "$name" "decrypted text differs"; return 1; }
  pass "$name"
}
sink_rcpts() { sed -n 's/^X-Rcpt-Args: //p' "$1"; }
# wait_for_delivery N TIMEOUT: until the sink holds N messages (and no more arrive).
wait_for_delivery() {
  local n=$1 deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(sink_count)" -ge "$n" ] && { sleep 0.3; return 0; }
    sleep 0.2
  done
  return 1
}
# same_entity MESSAGE ENTITY: prints why MESSAGE's Content-* fields and body are not those of
# ENTITY (CRLF form, folding undone; nothing when they are), or that an encrypted
# (pkcs7-mime) Content-Type is left. Field lists longer than 300 characters are cut in the
# message (a multipart's fields would fill the log).
same_entity() {
  perl -e '
    sub parse { open(my $h, "<:raw", $_[0]) or die "$_[0]: $!\n"; local $/; my $m = <$h>; $m =~ s/\r?\n/\n/g;
      my ($hd, $b) = $m =~ /\A\n/ ? ("", substr($m, 1)) : split(/\n\n/, $m, 2);
      $hd =~ s/\n[ \t]+/ /g; return ([grep { /^Content-/i } split(/\n/, $hd)], $b // ""); }
    my ($mc, $mb) = parse($ARGV[0]); my ($ec, $eb) = parse($ARGV[1]);
    my ($m, $e) = (join(" | ", @$mc), join(" | ", @$ec));
    if ($m =~ m{pkcs7-mime}i) { print "an encrypted Content-Type is left: $m\n"; exit }
    if ($m ne $e) { print substr("Content-* fields [$m], expected [$e]", 0, 300), "\n"; exit }
    if ($mb ne $eb) { my $i = 0; $i++ while $i < length($mb) && substr($mb, $i, 1) eq substr($eb, $i, 1);
      printf "body differs at byte %d (lengths %d, %d)\n", $i, length($mb), length($eb) }' "$1" "$2"
}
# signed_form FILE: detached | opaque | unsigned, from a delivered message's top-level
# Content-Type (multipart/signed, application/pkcs7-mime, anything else).
signed_form() {
  local ct
  ct=$(awk 'BEGIN{IGNORECASE=1} /^\r?$/ {exit} /^Content-Type:/ {p=1; print; next} p && /^[ \t]/ {print; next} {p=0}' "$1" | tr -d '\r\n')
  case $ct in
    *multipart/signed*) echo detached ;;
    *application/pkcs7-mime*) echo opaque ;;
    *) echo unsigned ;;
  esac
}
# send_probe NAME PORT RCPT: one small message from alice@acme.example to RCPT through the
# Postfix listening on PORT; echoes the delivered message's signed_form, or smtp:REPLY,
# undelivered or missing.
send_probe() {
  local before; before=$(sink_count)
  printf 'From: <alice@acme.example>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@test.invalid>\r\n\r\nprobe\r\n' \
    "$3" "$1" "$1" >"$WORK/$1.eml"
  send_mail "$2" alice@acme.example "$3" "$WORK/$1.eml" || { echo "smtp:$SMTP_REPLY"; return; }
  wait_for_delivery $((before + 1)) 30 || { echo undelivered; return; }
  local f; f=$(grep -l "^Message-ID: <$1@test.invalid>" $(sink_files) 2>/dev/null | head -n 1)
  [ -n "$f" ] && signed_form "$f" || echo missing
}

# --- Postfix ---------------------------------------------------------------------------------
# start_postfix NAME SMTPD_PORT RELAY_PORT [MILTER_PORT] [main.cf line]...
# A private Postfix instance in $WORK/NAME (etc, queue, data, maillog), listening on
# 127.0.0.1:SMTPD_PORT and relaying everything to [127.0.0.1]:RELAY_PORT. With MILTER_PORT
# (non-empty) smtpd uses the milter with milter_default_action = tempfail. Sets PF_DIR (last).
# MILTER_PORT is a port number (milter_address: inet, or unix with MILTER_SOCKET_KIND=unix) or
# a whole Postfix milter address (anything with a colon, e.g. unix:/path).
# PF_MASTER_EXTRA (when set): lines appended to master.cf, e.g. more smtpd listeners each with
# its own milter: "127.0.0.1:PORT inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:MPORT".
start_postfix() {
  local name=$1 port=$2 relay=$3 mport=${4:-}
  shift 3; [ $# -gt 0 ] && shift
  local d=$WORK/$name
  mkdir -p "$d/etc" "$d/queue" "$d/data"
  chown root:root "$d/queue"; chmod 755 "$d/queue"
  chown postfix:postfix "$d/data"; chmod 700 "$d/data"
  cat >"$d/etc/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $d/etc
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $name.test.invalid
mydomain = test.invalid
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
relay_domains =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$relay
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file = $d/maillog
maillog_file_prefixes = $d
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
message_size_limit = 209715200
mailbox_size_limit = 0
in_flow_delay = 0
biff = no
EOF
  if [ -n "$mport" ]; then
    local maddr=$mport
    case $mport in *:*) ;; *) maddr=$(milter_address "$mport") || return 1 ;; esac
    cat >>"$d/etc/main.cf" <<EOF
smtpd_milters = $maddr
milter_default_action = tempfail
milter_protocol = 6
EOF
  fi
  local line
  for line in "$@"; do printf '%s\n' "$line" >>"$d/etc/main.cf"; done
  # master.cf written here (no chroot: the instance's queue is not a jail).
  cat >"$d/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  [ -z "${PF_MASTER_EXTRA:-}" ] || printf '%s\n' "$PF_MASTER_EXTRA" >>"$d/etc/master.cf"
  on_exit "_ssm_postfix_stop $d"
  local out attempt
  if ! out=$(script -qec "postfix -c $d/etc check" /dev/null 2>&1); then
    note "postfix check ($name): $out"; return 1
  fi
  for attempt in 1 2; do
    if ! out=$(timeout -k 2 30 script -qec "postfix -c $d/etc start" /dev/null 2>&1); then
      note "postfix start ($name): $out"; [ -f "$d/maillog" ] && tail -n 5 "$d/maillog" >&2; return 1
    fi
    wait_port "$port" 15 || { note "postfix ($name) does not listen on $port"; return 1; }
    _ssm_postlog_works "$d" && break
    # Postfix 3.7's postlogd can block for good sending its own message to its own socket when
    # the datagram queue is already full at start (Linux allows 10 by default; every daemon
    # logs at start); then everything that logs blocks behind it, `postfix stop` included.
    note "postfix ($name): postlogd does not log (attempt $attempt); restarting the instance"
    _ssm_postfix_stop "$d"
    [ "$attempt" = 2 ] && return 1
  done
  PF_DIR=$d
}
# _ssm_postlog_works PFDIR: a line sent through the instance's postlogd reaches its maillog.
_ssm_postlog_works() {
  local d=$1 mark i
  mark="ssm-test-probe-$$-$RANDOM"
  timeout -k 1 5 postlog -c "$d/etc" -t ssm-test "$mark" >/dev/null 2>&1 || return 1
  for i in $(seq 50); do grep -q -- "$mark" "$d/maillog" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# _ssm_pf_kill_all PFDIR: SIGKILL every process of the instance: its command line names the
# instance's folder, or its environment does (daemons get MAIL_CONFIG from their master).
_ssm_pf_kill_all() {
  local d=$1 f p
  for f in $(grep -lzxF "MAIL_CONFIG=$d/etc" /proc/[0-9]*/environ 2>/dev/null); do
    p=${f#/proc/}; p=${p%/environ}
    [ "$p" != "$$" ] && kill -KILL "$p" 2>/dev/null
  done
  for p in $(pgrep -f -- "$d/etc" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
}
_ssm_postfix_stop() {
  local d=$1 pid i
  pid=$(cat "$d/queue/pid/master.pid" 2>/dev/null | tr -d ' ')
  # Bounded: a daemon stuck on a full log socket must not hang the test's clean-up.
  timeout -k 2 15 script -qec "postfix -c $d/etc stop" /dev/null >/dev/null 2>&1
  for i in $(seq 50); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    timeout -k 2 10 script -qec "postfix -c $d/etc abort" /dev/null >/dev/null 2>&1
    kill -KILL "$pid" 2>/dev/null
  fi
  # children of an aborted master (smtpd, smtp, postlogd, ...) hold files under $d: end
  # exactly those.
  _ssm_pf_kill_all "$d"
}
# pf_log PFDIR: the instance's maillog.
pf_log() { cat "$1/maillog" 2>/dev/null; }
# pf_queue_count PFDIR: messages still in the instance's queue (incoming/active/deferred).
pf_queue_count() { find "$1/queue/incoming" "$1/queue/active" "$1/queue/deferred" "$1/queue/maildrop" -type f 2>/dev/null | wc -l; }
# pf_flush PFDIR: ask the queue manager to retry deferred mail now.
pf_flush() { script -qec "postqueue -c $1/etc -f" /dev/null >/dev/null 2>&1; }
# pf_wait_queue_empty PFDIR SECONDS: until the instance's queue is empty (every message it
# accepted delivered or bounced); 1 at the deadline. For "nothing more arrives" checks: mail
# accepted before the SMTP reply is in the queue already, so polling here replaces a fixed sleep.
pf_wait_queue_empty() {
  local deadline=$((SECONDS + $2))
  while [ "$(pf_queue_count "$1")" -gt 0 ]; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
  return 0
}

# --- [reinjection] (split-off copies, return notices, receipts) ------------------------------
# make_reinjection_secret: $WORK/reinject.secret, the secret reinjected mail is marked with.
make_reinjection_secret() {
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/reinject.secret" && chmod 600 "$WORK/reinject.secret"
}
# reinjection_toml PORT: the [reinjection] table for a listener on 127.0.0.1:PORT.
reinjection_toml() {
  printf '[reinjection]\naddress = "127.0.0.1:%s"\nsecret_file = "%s"\n' "$1" "$WORK/reinject.secret"
}
# static_directory_toml NAME: the [directory] table: certificates from $WORK/certs, the
# cache in $WORK/cache-NAME (one per configuration, so no run sees another's entries).
static_directory_toml() {
  printf '[directory]\ncache = "%s"\nstatic_certificates = "%s"\n' "$WORK/cache-$1" "$WORK/certs"
}
# reinjection_listener PORT [SMTPD_PARAMETER=VALUE...]: the master.cf line (PF_MASTER_EXTRA)
# of a reinjection listener on 127.0.0.1:PORT, an smtpd through the milter on $MILTER_PORT.
reinjection_listener() {
  local port=$1 p; shift
  printf '127.0.0.1:%s inet n - n - - smtpd -o smtpd_milters=%s' "$port" "$(milter_address "$MILTER_PORT")"
  for p in "$@"; do printf ' -o %s' "$p"; done
  printf '\n'
}

# --- SMTP client -----------------------------------------------------------------------------
# send_mail PORT FROM TO[,TO...] EML: a real SMTP transaction (swaks) with EML as DATA.
# Prints swaks' transcript to $WORK/swaks.log; sets SMTP_REPLY to the reply to the end of DATA
# (or the first failing reply) and returns 0 for 2xx, 4 for 4xx, 5 for 5xx, 1 otherwise.
send_mail() {
  local port=$1 from=$2 to=$3 eml=$4 out rc data
  # swaks --no-data-fixup sends the bytes as they are plus one CRLF (no dot-stuffing, no final
  # dot, no token replacement): make the SMTP DATA form ourselves: CRLF, dot-stuffed, ".".
  data=$(mktemp "$WORK/data.XXXXXX")
  perl -e 'binmode STDIN; binmode STDOUT; local $/ = "\n";
           my $n = 0; while (<STDIN>) { $n++; s/\r?\n\z//; s/^\./../; print "$_\r\n"; }
           # an empty message: a data argument without a newline would be taken as a file
           # name by swaks, so ".\r\n" (swaks adds a stray CRLF, answered after the DATA reply)
           print $n ? "." : ".\r\n";' <"$eml" >"$data"
  out=$(swaks --server 127.0.0.1 --port "$port" --helo client.test.invalid --from "$from" --to "$to" \
        --data "@$data" --no-data-fixup --suppress-data --timeout "${SMTP_TIMEOUT:-120}" 2>&1)
  rc=$?
  printf '=== %s %s -> %s (%s)\n%s\n' "$(date +%T)" "$from" "$to" "$eml" "$out" >>"$WORK/swaks.log"
  rm -f "$data"
  # the reply to the end of DATA (after " -> N lines sent"), or the first error reply.
  SMTP_REPLY=$(printf '%s\n' "$out" | awk '/^<\*\* / { sub(/^<\*\* +/, ""); print; exit }
      sent && /^<- / { sub(/^<- +/, ""); print; exit }  /^ -> [0-9]+ lines sent/ { sent = 1 }
      /^\*\*\* / && err == "" { err = $0 }  END { if (err != "") print err }' | head -n 1)
  case $rc in
    0) return 0 ;;
    *) case $SMTP_REPLY in 4*) return 4 ;; 5*) return 5 ;; *) return 1 ;; esac ;;
  esac
}
