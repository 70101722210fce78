# Shared set-up of the library-peer tests (test_interop_bouncycastle.sh, test_interop_gopkcs7.sh,
# test_interop_heimdal.sh, test_interop_wolfssl.sh, test_interop_pkijs.sh):
# several ssm-milters, one per signing configuration, behind one private Postfix, each with an
# inbound listener (127.0.0.1 is not internal) and an ORIGINATING one; plus the fixture
# messages they send, one batch of SMTP transactions at a time (smtp_batch.py), and the checks
# every peer makes the same way. Sourced after tests/integration/lib.sh (it sources peers.sh
# and inbound.sh); uses $PEER (a short name for FAIL lines and Message-IDs, e.g. "bc").
# A test reads: peer_begin TOOL...; make_pki, make_token, the peer's probes; peer_configs
# RULES SPEC...; peer_start SPEC...; its cases; peer_finish.
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"

# peer_begin TOOL...: what every peer test starts with: the tools of the shared set-up and the
# peer's own TOOLs (a missing one is a FAIL), the built binaries, the clock (T0), the work
# folders, no system OpenSSL configuration, and msgdir (the fixture messages).
peer_begin() {
  require_tools postfix smtp-sink openssl softhsm2-util pkcs11-tool perl script python3 "$@"
  require_binaries
  T0=$SECONDS
  mkdir -p "$WORK/m" "$WORK/out" "$WORK/certs" "$WORK/v"
  export OPENSSL_CONF=/dev/null
  msgdir=$SSM_SRCDIR/tests/integration/messages
}

# PEER_GW_RULE: gw@acme.example encrypts gateway-to-gateway (the partner domain's certificate,
# RFC 3183); put before peer_rules (first match wins).
PEER_GW_RULE='[[rule]]
name = "gateway to gateway"
direction = "outbound"
from = ["gw@acme.example"]
to = ["*@partner.example"]
sign = "none"
encrypt = "mandatory"
encrypt_to = "domain"'

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

# peer_start SPEC...: starts the sink (SINK_PORT, SINK_DIR) and the milters of peer_configs
# (pids in PEER_PIDS), waits for them, starts Postfix "pf" relaying to the sink (SMTPD_PORT)
# and makes the big message (peer_big_message).
peer_start() {
  local spec cfg
  start_sink || fatal "$PEER-setup" "smtp-sink did not start"
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
  note "set-up took $((SECONDS - T0)) s"
  peer_big_message
}

# peer_finish: the last case of every peer test, PEER-milters-still-running (no milter died
# on what the peer sent). The milters are not stopped here: the exit handler kills them, which
# saves libmilter's ~4 s shutdown per script (nothing checks how they exit).
peer_finish() {
  local p alive=0
  for p in "${PEER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
  [ "$alive" -eq "${#PEER_PIDS[@]}" ] && pass "$PEER-milters-still-running" \
    || fail "$PEER-milters-still-running" "$alive of ${#PEER_PIDS[@]} alive"
  note "runtime $((SECONDS - T0)) s"
}

# peer_probes ARRAY PEER LABEL CAP...: ARRAY[CAP] (an associative array) is what peer_probe
# says PEER reads of each CAP.
peer_probes() {
  local -n _can=$1
  local peer=$2 label=$3 cap
  shift 3
  for cap in "$@"; do _can[$cap]=$(peer_probe "$peer" "$label" "$cap"); note "$label reads $cap: ${_can[$cap]}"; done
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

# submit CASE PORT FROM RCPT[,RCPT...] FILE: queues one SMTP transaction; submit_flush sends
# the queue (smtp_batch.py: one process, SSM_SMTP_PARALLEL connections at a time, default 4;
# 1 sends one message after the other as swaks did) and leaves each reply in
# $WORK/out/CASE.reply (what lib.sh's send_mail calls SMTP_REPLY).
submit() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$WORK/submit.queue"; }
submit_flush() {
  [ -s "$WORK/submit.queue" ] || return 0
  python3 "$SSM_SRCDIR/tests/interop/smtp_batch.py" "$WORK/submit.queue" "$WORK/out" "$WORK/smtp.log" "${SSM_SMTP_PARALLEL:-4}" \
    2>"$WORK/smtp-batch.err" || note "smtp_batch.py: $(tail -n 3 "$WORK/smtp-batch.err" | tr '\n' ' ')"
  : >"$WORK/submit.queue"
}

# delivered_by_id CASE: the sink dump of the message whose Message-ID is <CASE@PEER.test.invalid>
# (encrypted mail keeps it outside; the X-Case field may be protected inside).
delivered_by_id() {
  local f; f=$(grep -l "^Message-ID: <$1@$PEER.test.invalid>" "$SINK_DIR"/* 2>/dev/null | head -n 1)
  [ -n "$f" ] && echo "$f"
}

# same_leaves NAME GOT SRC: the MIME parts the peer got out (GOT) are the parts that were sent
# (SRC); otherwise FAIL NAME and return 1.
same_leaves() {
  if [ "$(mime_leaves "$2")" = "$(mime_leaves "$3")" ]; then return 0; fi
  fail "$1" "parts differ from the original: got [$(mime_leaves "$2" | tr '\n' ' ')] sent [$(mime_leaves "$3" | tr '\n' ' ')]"
  return 1
}

# send_outbound_cases: sends every case of OUT (NAME~CONFIG~MESSAGE~FROM~RCPTS~CHECK) through
# its configuration's listener (OUT_PORT) and waits until each accepted message (less those
# Postfix holds) has been delivered.
send_outbound_cases() {
  local spec cn cfg msg from rcpts check expected held
  for spec in "${OUT[@]}"; do
    IFS='~' read -r cn cfg msg from rcpts check <<<"$spec"
    fixture "$cn" "$msg" "$from" "${rcpts//,/, }" "$WORK/m/$cn.src"
    submit "$cn" "${OUT_PORT[$cfg]}" "$from" "$rcpts" "$WORK/m/$cn.src"
  done
  submit_flush
  expected=$(cat "$WORK"/out/*.reply | grep -c '^250 ')   # what was accepted must arrive
  held=$(find "$WORK/pf/queue/hold" -type f 2>/dev/null | wc -l)
  wait_for_delivery "$((expected - held))" 60 || note "only $(sink_count) of $((expected - held)) messages delivered"
  # Anything that should not have been delivered has had its chance too once Postfix's queues
  # (but hold) are empty: all it accepted is delivered or held (instead of a fixed second).
  local deadline=$((SECONDS + 5))
  while [ "$(pf_queue_count "$WORK/pf")" -gt 0 ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  note "sent and delivered after $((SECONDS - T0)) s"
}

# peer_decrypted PEER LABEL NAME DER KEY SRC: PEER_decrypt DER KEY OUT opens DER with KEY to
# exactly what OpenSSL opens it to, and that carries the parts of SRC; else FAIL NAME.
peer_decrypted() {
  local peer=$1 label=$2; shift 2
  if ! "${peer}_decrypt" "$2" "$3" "$WORK/out/$1.$peer"; then fail "$1" "$PEER_DETAIL"; return 1; fi
  decrypt_openssl "$2" "$3" "$WORK/out/$1.ossl" || { fail "$1" "OpenSSL: $PEER_DETAIL"; return 1; }
  cmp -s "$WORK/out/$1.$peer" "$WORK/out/$1.ossl" || { fail "$1" "$label's plaintext differs from OpenSSL's"; return 1; }
  same_leaves "$1" "$WORK/out/$1.$peer" "$4" || return 1
}

# check_outbound_cases PEER LABEL: a command-line peer (LABEL in messages) checks each
# delivered case of OUT, found by the test's delivered_by_id NAME, through the peer's
# functions PEER_verify FILE DIR ANCHOR, PEER_verified NAME FILE SIGNER SRC and PEER_decrypt
# DER KEY OUT. CHECK is sign:SIGNER[:CAP], decrypt:KEY[:CAP] or signenc:KEY:SIGNER; any other
# word goes to the test's PEER_check_case NAME WHAT KEY CAP. A CAP the peer's probe (CAN) says
# it cannot read is a SKIP when the peer refuses ours as well, a FAIL when it reads it.
check_outbound_cases() {
  local peer=$1 label=$2 spec cn cfg msg from rcpts check dump what key cap want signer
  for spec in "${OUT[@]}"; do
    IFS='~' read -r cn cfg msg from rcpts check <<<"$spec"
    if ! grep -q '^250 ' "$WORK/out/$cn.reply"; then fail "$cn" "SMTP: $(cat "$WORK/out/$cn.reply")"; continue; fi
    dump=$(delivered_by_id "$cn") || { fail "$cn" "not delivered"; continue; }
    sink_message "$dump" "$WORK/out/$cn.eml"
    IFS=: read -r what key cap <<<"$check"
    case $what in
      sign)
        want=opaque; [ "${cfg%%-*}" = detached ] && want=detached
        [ "$(signed_form "$WORK/out/$cn.eml")" = "$want" ] || { fail "$cn" "not $want signed: $(signed_form "$WORK/out/$cn.eml")"; continue; }
        if [ -n "$cap" ] && [ "${CAN[$cap]}" != yes ]; then
          # The peer cannot: it must refuse ours as it refuses OpenSSL's, never pass it.
          if "${peer}_verify" "$WORK/out/$cn.eml" "$WORK/v/$cn" "$PKI/root-ca.cert.pem"; then
            fail "$cn" "$label verified what its probe says it cannot ($cap)"
          else skip "$cn" "$label verifies no $cap signature: ${CAN[$cap]#no: }"; fi
          continue
        fi
        "${peer}_verified" "$cn" "$WORK/out/$cn.eml" "$key" "$WORK/m/$cn.src" ;;
      decrypt)
        smime_envelope "$WORK/out/$cn.eml" "$WORK/out/$cn.p7m" || { fail "$cn" "$PEER_DETAIL"; continue; }
        if [ -n "$cap" ] && [ "${CAN[$cap]}" != yes ]; then
          if "${peer}_decrypt" "$WORK/out/$cn.p7m" "$key" "$WORK/out/$cn.$peer"; then
            fail "$cn" "$label decrypted what its probe says it cannot ($cap)"
          else skip "$cn" "$label reads no $cap envelope: ${CAN[$cap]#no: }"; fi
          continue
        fi
        peer_decrypted "$peer" "$label" "$cn" "$WORK/out/$cn.p7m" "$key" "$WORK/m/$cn.src" \
          && { pass "$cn"; note "$cn: $(cms_envelope_summary "$WORK/out/$cn.p7m")"; } ;;
      signenc)
        signer=$cap
        smime_envelope "$WORK/out/$cn.eml" "$WORK/out/$cn.p7m" || { fail "$cn/decrypt" "$PEER_DETAIL"; continue; }
        "${peer}_decrypt" "$WORK/out/$cn.p7m" "$key" "$WORK/out/$cn.inner" || { fail "$cn/decrypt" "$PEER_DETAIL"; continue; }
        pass "$cn/decrypt"
        "${peer}_verified" "$cn/verify" "$WORK/out/$cn.inner" "$signer" "$WORK/m/$cn.src" ;;
      *) "${peer}_check_case" "$cn" "$what" "$key" "$cap" ;;
    esac
  done
}

# peer_negative_controls PEER LABEL [ENVELOPE_CASE]: after check_outbound_cases, the controls without which its
# passes prove nothing; the peer must refuse each. Altered content: the detached signature of
# out-sign-detached-rsa-attachment over its content with one word changed (PEER_verify_der DER
# ANCHOR OUT CONTENT). Another anchor: that message verified against a root that did not issue
# the chain (PEER_verify FILE DIR ANCHOR). Wrong key: dave's envelope ENVELOPE_CASE (default
# out-enc-aes256cbc-v15-dave; one the peer opens with dave's key) opened with the partner domain
# key (PEER_decrypt DER NAME OUT).
peer_negative_controls() {
  local peer=$1 label=$2 c=$WORK/v/out-sign-detached-rsa-attachment envelope=$WORK/out/${3:-out-enc-aes256cbc-v15-dave}.p7m
  if [ -f "$c/content" ]; then
    sed 's/Please find the binary file attached\./Please find the binary file attacked./' "$c/content" >"$WORK/v/altered.content"
    if cmp -s "$c/content" "$WORK/v/altered.content"; then fail out-neg-altered-content "the alteration did not apply"
    elif "${peer}_verify_der" "$c/sig.der" "$PKI/root-ca.cert.pem" "$WORK/v/altered.out" "$WORK/v/altered.content"; then
      fail out-neg-altered-content "$label verified altered content"
    else pass out-neg-altered-content; note "out-neg-altered-content: $PEER_DETAIL"; fi
    # rogue: a root nobody trusts
    if ! openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/rogue.key.pem" -out "$WORK/rogue.cert.pem" -days 30 \
         -subj "/O=Rogue/CN=Rogue Root" >"$WORK/rogue.log" 2>&1; then
      fail out-neg-other-anchor "rogue root: $(tail -n 2 "$WORK/rogue.log" | tr '\n' ' ')"
    elif "${peer}_verify" "$WORK/out/out-sign-detached-rsa-attachment.eml" "$WORK/v/rogue" "$WORK/rogue.cert.pem"; then
      fail out-neg-other-anchor "$label verified with an anchor that did not issue the chain"
    else pass out-neg-other-anchor; note "out-neg-other-anchor: $PEER_DETAIL"; fi
  else fail out-neg-altered-content "no verified detached message to alter"; fail out-neg-other-anchor "no message"; fi
  if [ -f "$envelope" ]; then
    if "${peer}_decrypt" "$envelope" partner-domain "$WORK/out/wrong-key.$peer"; then
      fail out-neg-wrong-key "$label decrypted dave's envelope with the domain key"
    else pass out-neg-wrong-key; note "out-neg-wrong-key: $PEER_DETAIL"; fi
  else fail out-neg-wrong-key "no envelope for dave"; fi
}

# inbound_verdict NAME KIND FROM FORM HOST [SIGNED]: the verdict on an inbound case that
# inbound_outcome found delivered (AR, RES), for the kinds every peer has. sign: smime=pass
# with FROM as the identifier; signenc, signenc-opaque, triple: the same, after decryption
# to an entity signed in FORM (detached or opaque) and, with the file SIGNED, whose body is
# SIGNED's; sign2 (RFC 7281, one result per signature): a pass for FROM and a From mismatch
# for the second signer, frank; tamper, badalg: smime=fail; encrypt: the plaintext byte for
# byte with the outer fields (Message-ID <NAME@HOST>). Returns 2 for any other KIND.
inbound_verdict() {
  local cn=$1 kind=$2 from=$3 form=$4 host=$5 signed=${6:-} why
  case $kind in
    sign|signenc|signenc-opaque|triple)
      if [ "$kind" != sign ] && [ "$(signed_form "$WORK/out/$cn.eml")" != "$form" ]; then
        fail "$cn" "not decrypted to the signed entity: $(header_field "$WORK/out/$cn.eml" Content-Type)"
      elif [ "$RES" != pass ] || printf '%s' "$AR" | grep -q 'smime=[^p]'; then fail "$cn" "smime=$RES, expected pass: $AR"
      elif ! printf '%s' "$AR" | grep -q "body.smime-identifier=$from"; then fail "$cn" "identifier is not $from: $AR"
      elif [ "$kind" != sign ] && [ -n "$signed" ] && ! same_body "$WORK/out/$cn.eml" "$signed"; then
        fail "$cn" "the body is not the signed message the peer enveloped"
      else pass "$cn"; note "$cn: $AR"; fi ;;
    sign2)
      if ! printf '%s' "$AR" | grep -q "smime=pass body.smime-identifier=$from "; then fail "$cn" "no pass for $from: $AR"
      elif ! printf '%s' "$AR" | grep -q 'smime=fail reason="From address does not match[^"]*" body.smime-identifier=frank@partner.example '; then
        fail "$cn" "the second signer (frank, not the From) is not reported as a From mismatch: $AR"
      else pass "$cn"; note "$cn: $AR"; fi ;;
    tamper|badalg)
      if [ "$RES" != fail ]; then fail "$cn" "smime=$RES, expected fail: $AR"
      else pass "$cn"; note "$cn: $AR"; fi ;;
    encrypt)
      why=$(compare_plaintext "$WORK/out/$cn.eml" "$WORK/m/$cn.entity")
      if [ -n "$why" ]; then fail "$cn" "$why"
      elif ! grep -q "^Message-ID: <$cn@$host>" "$WORK/out/$cn.eml"; then fail "$cn" "outer header fields lost"
      else pass "$cn"; fi ;;
    *) return 2 ;;
  esac
  return 0
}

# peer_inbound_verdicts ARRAY: inbound_verdict on each sent case (SENT[CASE]) of ARRAY
# (CASE~KIND~MSG~FROM~RCPT~HOW; HOW begins with the signed FORM) of a peer that makes one
# message per run (Heimdal, PKI.js, wolfSSL: Message-ID <CASE@mua.partner.example>; signenc
# bodies $WORK/m/CASE.signed-entity); refuse: held (inbound_outcome). Any other KIND goes to
# the test's PEER_inbound_case NAME KIND FROM HOW.
peer_inbound_verdicts() {
  local -n _in=$1
  local spec cn kind msg from rcpt how h
  for spec in "${_in[@]}"; do
    IFS='~' read -r cn kind msg from rcpt how <<<"$spec"
    [ -n "${SENT[$cn]:-}" ] || continue
    case $kind in
      sign|signenc|tamper|badalg|encrypt|refuse) ;;
      *) "${PEER}_inbound_case" "$cn" "$kind" "$from" "$how"; continue ;;
    esac
    inbound_outcome "$cn" "$kind" || continue
    read -r -a h <<<"$how"
    inbound_verdict "$cn" "$kind" "$from" "${h[0]}" mua.partner.example "$WORK/m/$cn.signed-entity"
  done
}

# batch_result FILE ID: the result line of operation ID in the output FILE of a peer that runs
# a whole batch in one process (BouncyCastle, Go): "OK ..." or "FAIL ..."; none is a FAIL
# naming the first lines the run wrote to FILE.err.
batch_result() { grep -m1 -E "^(OK|FAIL) $2 " "$1" || echo "FAIL $2 no result ($(head -n 2 "$1.err" | tr '\n' ' '))"; }

# submit_made ARRAY LABEL: after such a batch made the inbound messages of ARRAY
# (CASE~KIND~MSG~FROM~RCPT~...; results in $WORK/make.result, messages $WORK/m/CASE.eml),
# sends each one it made to the inbound listener (KIND tamper: altered first, detached) and
# marks it in SENT; one it could not make is a FAIL.
submit_made() {
  local -n _made=$1
  local label=$2 spec cn kind msg from rcpt op r
  for spec in "${_made[@]}"; do
    IFS='~' read -r cn kind msg from rcpt op <<<"$spec"
    r=$(batch_result "$WORK/make.result" "$cn")
    case $r in OK*) ;; *) fail "$cn" "$label could not make it: $r"; continue ;; esac
    if [ "$kind" = tamper ]; then tamper_signed "$cn" detached || continue; fi
    submit "$cn" "${IN_PORT[detached-pkcs1]}" "$from" "$rcpt" "$WORK/m/$cn.eml"
    SENT[$cn]=1
  done
  submit_flush
}
