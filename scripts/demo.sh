#!/bin/bash
# The ssm-milter demo, run as root on a fresh Debian 12 from the repository root:
#   installs the packages, builds in ./build, makes a demo PKI and a SoftHSM token in
#   ./demo-run/, starts a private Postfix and ssm-milter on 127.0.0.1, sends one message,
#   shows the delivered signed message and what `openssl cms -verify` says about it, then sends
#   one to a partner whose certificate is in the static folder and shows it arriving signed and
#   encrypted, decrypted with the partner's key and verified with openssl, then stops everything (./demo-run stays for inspection). Exits non-zero if any step fails.
# Each step is a function named in STEPS; a later feature (encryption) adds its own step.
# Overrides for development: SSM_DEMO_BUILDDIR, SSM_DEMO_RUNDIR, SSM_DEMO_SKIP_DEPS=1.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${SSM_DEMO_BUILDDIR:-$top/build}
rundir=${SSM_DEMO_RUNDIR:-$top/demo-run}
STEPS="deps build pki services sign verify encrypt"

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run me as root (Postfix and smtp-sink need it)"

step_deps() {
  say "Installing the Debian packages (scripts/install-deps.sh)"
  [ "${SSM_DEMO_SKIP_DEPS:-0}" = 1 ] && { echo "skipped (SSM_DEMO_SKIP_DEPS=1)"; return 0; }
  "$top/scripts/install-deps.sh" || die "installing packages failed"
}

step_build() {
  say "Building ssm-milter in $builddir"
  if [ ! -x "$top/configure" ]; then
    (cd "$top" && autoreconf -fi) || die "autoreconf failed"
  fi
  mkdir -p "$builddir"
  if [ ! -f "$builddir/Makefile" ]; then
    (cd "$builddir" && "$top/configure" --enable-werror -q) || die "configure failed"
  fi
  (cd "$builddir" && make -j2 >"$builddir/demo-make.log" 2>&1) \
    || { tail -n 30 "$builddir/demo-make.log" >&2; die "build failed (log: $builddir/demo-make.log)"; }
  [ -x "$builddir/ssm-milter" ] && [ -x "$builddir/ssmctl" ] || die "ssm-milter/ssmctl not built"
  echo "built: $builddir/ssm-milter, $builddir/ssmctl"
}

# The rest runs inside the integration harness (private Postfix, smtp-sink, SoftHSM, cleanup on
# exit), with ./demo-run as its work dir, kept afterwards.
start_harness() {
  rm -rf "$rundir"
  export SSM_SRCDIR=$top SSM_BUILDDIR=$builddir SSM_WORK_DIR=$rundir
  unset SSM_TEST_TMP
  # shellcheck source=../tests/integration/lib.sh
  . "$top/tests/integration/lib.sh"
  # shellcheck source=../tests/interop/peers.sh
  . "$top/tests/interop/peers.sh"
}

step_pki() {
  say "Creating a demo PKI (OpenSSL: root CA -> issuing CA -> users) and a SoftHSM token"
  start_harness
  make_pki; make_token
  echo "PKI:   $PKI (root: $(openssl x509 -in "$PKI/root-ca.cert.pem" -noout -subject))"
  echo "token: $TOKEN (label ssm-test, SOFTHSM2_CONF=$SOFTHSM2_CONF)"
}

step_services() {
  say "Starting ssm-milter and a private Postfix on 127.0.0.1"
  MILTER_PORT=$(free_port); SMTPD_PORT=$(free_port)
  # partner.example mail is signed by its sender and must be encrypted (PRODUCT §2.2); the
  # partner's certificate comes from the static folder, checked against the demo root.
  mkdir -p "$WORK/partner-certs" "$WORK/crls"
  cp "$PKI/dave.cert.pem" "$WORK/partner-certs/"
  write_config "$WORK/ssm-milter.toml" port="$MILTER_PORT" rules='[[rule]]
name = "partner mail is signed and must be encrypted"
direction = "outbound"
to = ["*@partner.example"]
from = ["alice@acme.example"]
sign = "sender"
encrypt = "mandatory"

[[rule]]
name = "everything else is signed by the sender"
direction = "outbound"
sign = "sender"
encrypt = "never"' pki="crls = \"$WORK/crls\"
revocation = \"off\"" extra="[encryption]
cipher = \"aes256-cbc\"

[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/partner-certs\""
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm-milter.toml" hsm list | sed 's/^/  /' \
    || die "ssmctl hsm list failed"
  "$SSM_BUILDDIR/ssm-milter" -c "$WORK/ssm-milter.toml" -n || die "configuration check failed"
  start_milter "$WORK/ssm-milter.toml" || die "ssm-milter did not start (log: $WORK/milter.log)"
  echo "ssm-milter: pid $MILTER_PID, inet:$MILTER_PORT@127.0.0.1, config $WORK/ssm-milter.toml"
  start_sink || die "smtp-sink did not start"
  echo "receiving MTA (smtp-sink): 127.0.0.1:$SINK_PORT, messages in $SINK_DIR"
  start_postfix postfix "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || die "Postfix did not start"
  echo "Postfix: 127.0.0.1:$SMTPD_PORT, smtpd_milters = inet:127.0.0.1:$MILTER_PORT," \
       "milter_default_action = tempfail, config $PF_DIR/etc"
}

step_sign() {
  say "Sending a message from alice@acme.example through Postfix (SMTP, swaks)"
  cat >"$WORK/message.eml" <<'EOF'
From: Alice <alice@acme.example>
To: Someone <someone@elsewhere.example>
Subject: Quarterly figures
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hello Dave,

the figures are attached in spirit. Grüße aus dem Labor.

Alice
EOF
  send_mail "$SMTPD_PORT" alice@acme.example someone@elsewhere.example "$WORK/message.eml" \
    || die "Postfix refused the message: $SMTP_REPLY"
  echo "Postfix answered: $SMTP_REPLY"
  wait_for_delivery 1 30 || die "the message did not arrive at the receiving MTA (see $PF_DIR/maillog)"
  DELIVERED=$WORK/delivered.eml
  sink_message "$(sink_files | head -n 1)" "$DELIVERED"
  say "The message as delivered (signature shortened):"
  tr -d '\r' <"$DELIVERED" | awk '/^[A-Za-z0-9+\/=]+$/ && length($0) >= 60 { if (++b == 4) print "    [... base64 signature ...]"; if (b >= 4) next } { print "    " $0 }'
  echo
  grep -m1 'direction=outbound' "$WORK/milter.log" | sed 's/^/ssm-milter logged: /'
}

step_verify() {
  say "Checking the signature with OpenSSL (openssl cms -verify, trusting only the demo root CA)"
  OPENSSL_CONF=/dev/null openssl cms -verify -in "$DELIVERED" -CAfile "$PKI/root-ca.cert.pem" \
    -purpose smimesign -signer "$WORK/signer.pem" -out /dev/null 2>&1 | sed 's/^/openssl: /'
  verify_openssl "$DELIVERED" alice@acme.example || die "the signature does NOT verify: $PEER_DETAIL"
  echo
  echo "Result: the signature is VALID. The message was signed by"
  echo "  $(openssl x509 -in "$WORK/signer.pem" -noout -subject | sed 's/^subject=//')"
  echo "  issued by $(openssl x509 -in "$WORK/signer.pem" -noout -issuer | sed 's/^issuer=//'),"
  echo "  whose chain ends at the demo root CA; the private key never left the SoftHSM token."
}

step_encrypt() {
  say "Sending a message from alice@acme.example to dave@partner.example (policy: sign and encrypt)"
  echo "dave's certificate is in the static folder $WORK/partner-certs:"
  echo "  $(openssl x509 -in "$WORK/partner-certs/dave.cert.pem" -noout -subject)"
  cat >"$WORK/message-dave.eml" <<'EOF'
From: Alice <alice@acme.example>
To: Dave <dave@partner.example>
Subject: Contract draft (confidential)
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hello Dave,

here is the confidential draft we discussed. Only you can read this.

Alice
EOF
  local before; before=$(sink_count)
  send_mail "$SMTPD_PORT" alice@acme.example dave@partner.example "$WORK/message-dave.eml" \
    || die "Postfix refused the message: $SMTP_REPLY"
  echo "Postfix answered: $SMTP_REPLY"
  wait_for_delivery $((before + 1)) 30 || die "the message did not arrive (see $PF_DIR/maillog)"
  ENCRYPTED=$WORK/delivered-encrypted.eml
  sink_message "$(ls -t "$SINK_DIR"/* | head -n 1)" "$ENCRYPTED"
  say "The message as delivered (the Subject is hidden, the body is an encrypted CMS object):"
  tr -d '\r' <"$ENCRYPTED" | awk '/^[A-Za-z0-9+\/=]+$/ && length($0) >= 60 { if (++b == 4) print "    [... base64 enveloped data ...]"; if (b >= 4) next } { print "    " $0 }'
  echo
  grep 'direction=outbound' "$WORK/milter.log" | tail -n 1 | sed 's/^/ssm-milter logged: /'
  smime_envelope "$ENCRYPTED" "$WORK/encrypted.p7m" || die "not an S/MIME envelope: $PEER_DETAIL"
  echo "CMS: $(cms_envelope_summary "$WORK/encrypted.p7m")"

  say "Decrypting with dave's private key (openssl cms -decrypt), then checking the signature inside"
  OPENSSL_CONF=/dev/null openssl cms -decrypt -in "$ENCRYPTED" -inkey "$PKI/dave.key.pem" \
    -recip "$PKI/dave.cert.pem" -out "$WORK/decrypted.eml" 2>&1 | sed 's/^/openssl: /'
  [ -s "$WORK/decrypted.eml" ] || die "openssl could not decrypt the message"
  echo "The decrypted entity (headers protected inside, RFC 9788):"
  tr -d '\r' <"$WORK/decrypted.eml" | sed -n '1,/^$/p' | sed 's/^/    /'
  OPENSSL_CONF=/dev/null openssl cms -verify -in "$WORK/decrypted.eml" -CAfile "$PKI/root-ca.cert.pem" \
    -purpose smimesign -signer "$WORK/signer-dave.pem" -out "$WORK/decrypted-content.eml" 2>&1 | sed 's/^/openssl: /'
  verify_openssl "$WORK/decrypted.eml" alice@acme.example || die "the signature inside does NOT verify: $PEER_DETAIL"
  echo "The signed content as dave reads it:"
  tr -d '\r' <"$VERIFIED_CONTENT" | sed 's/^/    /'
  echo
  echo "Result: signed by $(openssl x509 -in "$WORK/signer-dave.pem" -noout -subject | sed 's/^subject=//'),"
  echo "  encrypted for dave@partner.example only, decrypted and VERIFIED."
}

for s in $STEPS; do "step_$s"; done
say "Stopping ssm-milter, Postfix and smtp-sink"
stop_milter
echo "Done. Everything is in $rundir (ssm-milter.toml, milter.log, postfix/maillog, delivered.eml,"
echo "delivered-encrypted.eml, decrypted.eml)."
