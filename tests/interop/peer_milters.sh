# Shared set-up of the library-peer tests (test_interop_bouncycastle.sh, test_interop_gopkcs7.sh,
# test_interop_heimdal.sh, test_interop_wolfssl.sh):
# several ssm-milters, one per signing configuration, behind one private Postfix, each with an
# inbound listener (127.0.0.1 is not internal) and an ORIGINATING one; plus the fixture
# messages they send. Sourced after tests/integration/lib.sh; uses $PEER (a short name for
# FAIL lines and Message-IDs, e.g. "bc") and $msgdir.

# peer_rules CIPHER...: alice@acme.example signs and encrypts to *@partner.example; for each
# CIPHER, sender CIPHER-without-dashes@acme.example encrypts with it unsigned; everything
# else outbound is signed by the sender.
peer_rules() {
  local c rules='[[rule]]
name = "alice signs and encrypts"
direction = "outbound"
from = ["alice@acme.example"]
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"'
  for c in "$@"; do
    rules="$rules

[[rule]]
name = \"$c\"
direction = \"outbound\"
from = [\"${c//-/}@acme.example\"]
to = [\"*@partner.example\"]
sign = \"none\"
encrypt = \"mandatory\"
cipher = \"$c\""
  done
  printf '%s\n\n[[rule]]\nname = "everything else is signed by the sender"\ndirection = "outbound"\nsign = "sender"\nencrypt = "never"\n' "$rules"
}

# peer_configs RULES SPEC...: writes and checks $WORK/ssm-CFG.toml for each SPEC
# CFG:FORMAT:RSA_SCHEME[:KEY_TRANSPORT] (key transport default pkcs1); sets the arrays
# MPORT, IN_PORT, OUT_PORT (by CFG) and PEER_MASTER_EXTRA (the two smtpd listeners of each).
declare -A IN_PORT OUT_PORT MPORT
peer_configs() {
  local rules=$1 spec cfg format scheme kt
  shift
  PEER_MASTER_EXTRA=
  for spec in "$@"; do
    IFS=: read -r cfg format scheme kt <<<"$spec"
    IN_PORT[$cfg]=$(free_port); OUT_PORT[$cfg]=$(free_port); MPORT[$cfg]=$(free_port)
    write_config "$WORK/ssm-$cfg.toml" port="${MPORT[$cfg]}" format="$format" rsa_scheme="$scheme" rules="$rules" \
      pki='revocation = "off"' extra="[encryption]
cipher = \"aes256-cbc\"
key_transport = \"${kt:-pkcs1}\"

[inbound]
harvest = false

[directory]
cache = \"$WORK/cache-$cfg\"
static_certificates = \"$WORK/certs\"" || fatal "$PEER-setup" "config $cfg"
    sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$WORK/ssm-$cfg.toml"
    "$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-$cfg.toml" -n >"$WORK/check-$cfg.log" 2>&1 \
      || fatal "$PEER-config-$cfg" "ssm-milter -n: $(tr '\n' ' ' <"$WORK/check-$cfg.log")"
    PEER_MASTER_EXTRA="$PEER_MASTER_EXTRA
127.0.0.1:${IN_PORT[$cfg]} inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:${MPORT[$cfg]}
127.0.0.1:${OUT_PORT[$cfg]} inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:${MPORT[$cfg]} -o milter_macro_daemon_name=ORIGINATING"
  done
}

# peer_start SPEC...: starts the milters of peer_configs (pids in PEER_PIDS), waits for them,
# and starts Postfix "pf" relaying to the sink (SMTPD_PORT).
peer_start() {
  local spec cfg
  PEER_PIDS=()
  for spec in "$@"; do
    cfg=${spec%%:*}
    "$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-$cfg.toml" >>"$WORK/milter-$cfg.log" 2>&1 &
    PEER_PIDS+=($!); on_exit "kill -KILL $!"
  done
  for spec in "$@"; do
    cfg=${spec%%:*}
    wait_port "${MPORT[$cfg]}" 20 || fatal "$PEER-milter-$cfg" "ssm-milter did not start: $(tail -n 3 "$WORK/milter-$cfg.log" | tr '\n' ' ')"
  done
  SMTPD_PORT=$(free_port)
  PF_MASTER_EXTRA=$PEER_MASTER_EXTRA start_postfix pf "$SMTPD_PORT" "$SINK_PORT" || fatal "$PEER-setup" "Postfix did not start"
}

# fixture CASE MSG FROM TO OUT: a fixture message (tests/integration/messages, or big: made by
# peer_big_message) with its own Message-ID and "X-Case: CASE".
fixture() {
  local src=$msgdir/$2.eml
  [ "$2" = big ] && src=$WORK/m/big.eml
  sed "s/@SENDER@/$3/; s/@RCPT@/$4/; s/^Message-ID: .*/Message-ID: <$1@$PEER.test.invalid>\nX-Case: $1/" "$src" >"$5"
}

# peer_big_message: $WORK/m/big.eml, 1.5 MB of random attachment (beyond memory_spool_limit).
peer_big_message() {
  mkdir -p "$WORK/m"
  { printf 'From: @SENDER@\nTo: @RCPT@\nSubject: Big\nDate: Mon, 30 Nov 2026 10:00:00 +0000\nMessage-ID: <big@test.acme.example>\n'
    printf 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="big-b"\n\n--big-b\nContent-Type: text/plain; charset=us-ascii\n\n'
    printf 'Please find the big file attached.\n\n--big-b\nContent-Type: application/octet-stream; name="big.bin"\n'
    printf 'Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="big.bin"\n\n'
    head -c 1500000 /dev/urandom | base64 -w 76
    printf '\n--big-b--\n'; } >"$WORK/m/big.eml"
}

# submit CASE PORT FROM RCPT FILE: one SMTP transaction, its reply in $WORK/out/CASE.reply.
submit() {
  send_mail "$2" "$3" "$4" "$5"
  printf '%s\n' "$SMTP_REPLY" >"$WORK/out/$1.reply"
}

# same_leaves NAME GOT SRC: the MIME parts the peer got out (GOT) are the parts that were sent
# (SRC); otherwise FAIL NAME and return 1.
same_leaves() {
  if [ "$(mime_leaves "$2")" = "$(mime_leaves "$3")" ]; then return 0; fi
  fail "$1" "parts differ from the original: got [$(mime_leaves "$2" | tr '\n' ' ')] sent [$(mime_leaves "$3" | tr '\n' ' ')]"
  return 1
}
