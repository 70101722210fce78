#!/bin/bash
# PRODUCT §2.2, RFC 8551 §2.7.1: cipher = "auto" (the default) encrypts with the best cipher every
# recipient advertised in the SMIMECapabilities of its signed mail (harvested, §3.4): GCM before
# CBC, then the larger key; a recipient with no list is taken to read AES-256-CBC and AES-128-CBC.
# The capabilities come from peers, never from our code: gina, ida and jon sign with
# BouncyCastle (tests/interop/bouncycastle/BcSmime.java: gina's default list starts with
# AES-256-GCM, ida's caps= lists only AES-128-GCM, jon's only AES-128-CBC), hugo with openssl
# cms (OpenSSL's standard list has no GCM), kim with openssl cms -nosmimecap (no list: unknown).
# Offline through `ssmctl process` (the milter's own pipeline): the signed mail in (harvested),
# then alice's mail out; each result's content cipher read by `openssl cms -cmsout -print` and
# decrypted by openssl with the partner's key. The last case goes through Postfix and the milter.
#   auto-gcm-when-advertised   to gina: authEnveloped-data, aes256-gcm
#   auto-cbc-when-not          to hugo: enveloped-data, aes256-cbc
#   auto-cbc-when-one-lacks    to gina and hugo: one enveloped-data, aes256-cbc, both decrypt
#   auto-aes128-gcm-only       to ida: aes128-gcm (not aes256-gcm, which ida did not list)
#   auto-aes128-cbc-only       to jon: aes128-cbc
#   auto-no-common-aes128-cbc  to gina (AES-256-GCM, AES-256-CBC, AES-128-CBC, 3DES) and ida
#                              (AES-128-GCM): no common cipher, aes128-cbc (every agent must read it)
#   auto-unknown-and-aes128-cbc to kim and jon: aes128-cbc (kim is taken to read it)
#   auto-unknown-alone         to kim: aes256-cbc (RFC 8551 §2.7.1.2)
#   auto-aes128-gcm-postfix    to ida through Postfix and ssm-milter: aes128-gcm, logged
#                              cipher_reason=advertised
. "$(dirname "$0")/lib.sh"
require_tools openssl softhsm2-util pkcs11-tool java javac postfix smtp-sink swaks
require_binaries
BC_CP=$WORK/bc
for j in bcprov bcpkix bcutil bcmail javax.mail javax.activation; do
  [ -f "/usr/share/java/$j.jar" ] || fatal auto-tools "/usr/share/java/$j.jar missing (run scripts/install-deps.sh)"
  BC_CP=$BC_CP:/usr/share/java/$j.jar
done
mkdir -p "$WORK/bc" "$WORK/m"
javac -Xlint:-path -cp "$BC_CP" -d "$WORK/bc" "$SSM_SRCDIR/tests/interop/bouncycastle/BcSmime.java" \
  >"$WORK/javac.log" 2>&1 || fatal auto-setup "javac: $(head -n 5 "$WORK/javac.log" | tr '\n' ' ')"
make_pki
make_token alice
export OPENSSL_CONF=/dev/null
issue_cert gina gina@partner.example rsa "digitalSignature, keyEncipherment" || fatal auto-setup "issue gina"
for who in hugo ida jon kim; do
  issue_cert $who $who@partner.example rsa "digitalSignature, keyEncipherment" || fatal auto-setup "issue $who"
done

MILTER_PORT=$(free_port) || fatal auto-setup "no free port"
for conf in ssm.toml:1 milter.toml:$MILTER_PORT; do
  write_config "$WORK/${conf%%:*}" port=${conf#*:} pki='revocation = "off"' rules='[[rule]]
name = "partners get encrypted mail"
direction = "outbound"
sign = "none"
encrypt = "mandatory"' extra="[directory]
cache = \"$WORK/cache\""
done
ssmctl() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" "$@"; }

# --- the partners' signed mail, harvested ------------------------------------------------------
M=$WORK/m
for who in gina hugo ida jon kim; do
  printf 'From: %s@partner.example\r\nTo: alice@acme.example\r\nSubject: hello\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello from %s\r\n' \
    "$who" "$who" >"$M/$who.plain.eml"
done
java -cp "$BC_CP" BcSmime sign gina in="$M/gina.plain.eml" out="$M/gina.signed.eml" cert="$XPKI/gina.cert.pem" \
  key="$XPKI/gina.key.pem" chain="$PKI/sub-ca.cert.pem" alg=rsa form=detached >"$WORK/bc.out" 2>&1 \
  && grep -q '^OK gina ' "$WORK/bc.out" || fatal auto-setup "BcSmime sign: $(head -n 3 "$WORK/bc.out" | tr '\n' ' ')"
for who in ida:aes128-gcm jon:aes128-cbc; do
  java -cp "$BC_CP" BcSmime sign "${who%:*}" in="$M/${who%:*}.plain.eml" out="$M/${who%:*}.signed.eml" \
    cert="$XPKI/${who%:*}.cert.pem" key="$XPKI/${who%:*}.key.pem" chain="$PKI/sub-ca.cert.pem" alg=rsa \
    form=detached caps="${who#*:}" >"$WORK/bc.out" 2>&1 \
    && grep -q "^OK ${who%:*} " "$WORK/bc.out" || fatal auto-setup "BcSmime sign: $(head -n 3 "$WORK/bc.out" | tr '\n' ' ')"
done
# hugo: OpenSSL's own SMIMECapabilities list; kim: none at all (-nosmimecap).
for who in hugo: kim:-nosmimecap; do
  printf 'Content-Type: text/plain\r\n\r\nhello from %s\r\n' "${who%:*}" >"$M/${who%:*}.inner"
  { printf 'From: %s@partner.example\r\nTo: alice@acme.example\r\nSubject: hello\r\n' "${who%:*}"
    openssl cms -sign ${who#*:} -in "$M/${who%:*}.inner" -signer "$XPKI/${who%:*}.cert.pem" \
      -inkey "$XPKI/${who%:*}.key.pem" -certfile "$PKI/sub-ca.cert.pem"; } >"$M/${who%:*}.signed.eml" \
    2>"$WORK/openssl.log" || fatal auto-setup "openssl cms -sign: $(tail -n 2 "$WORK/openssl.log")"
done
for who in gina hugo ida jon kim; do
  ssmctl process --direction in --from "$who@partner.example" --to alice@acme.example <"$M/$who.signed.eml" \
    >"$WORK/$who.in.out" 2>"$WORK/$who.in.err" || fatal auto-setup "inbound $who: $(tail -n 2 "$WORK/$who.in.err")"
  grep -q 'smime=pass' "$WORK/$who.in.out" || fatal auto-setup "$who's signature did not pass: $(grep '^decision' "$WORK/$who.in.err")"
  ssmctl cert lookup "$who@partner.example" >"$WORK/$who.lookup" 2>&1
  grep -q '^chosen .*source="harvested"' "$WORK/$who.lookup" \
    || fatal auto-setup "$who not harvested: $(tail -n 2 "$WORK/$who.lookup" | tr '\n' ' ')"
done

# content_cipher_differs FILE CIPHER: nothing when openssl reads CIPHER (aes128-gcm ...) as the
# envelope's content encryption algorithm, else why not.
content_cipher_differs() {
  local want=aes-${2#aes} got
  got=$(openssl cms -cmsout -print -in "$1" 2>&1 | sed -n '/contentEncryptionAlgorithm:/,/algorithm:/s/^ *algorithm: *\([^ ]*\).*/\1/p' | head -n 1)
  [ "$got" = "$want" ] || echo "openssl reads the content cipher as '${got:-nothing}', not $want"
}

# --- alice's mail out ---------------------------------------------------------------------------
# out CASE TYPE CIPHER REASON RCPT...: exit 0, the decision names CIPHER and cipher_reason=REASON,
# the body is TYPE, openssl reads CIPHER in it, and each RCPT's key decrypts it (openssl cms) to
# the plaintext.
out() {
  local cn=$1 type=$2 cipher=$3 reason=$4 to=() r why= list=; shift 4
  for r in "$@"; do to+=(--to "$r@partner.example"); list+=${list:+, }$r@partner.example; done
  printf 'From: alice@acme.example\r\nTo: %s\r\nSubject: figures\r\n\r\nCONFIDENTIAL FIGURES\r\n' "$list" >"$M/$cn.eml"
  ssmctl process --direction out --from alice@acme.example "${to[@]}" <"$M/$cn.eml" >"$WORK/$cn.eml" 2>"$WORK/$cn.err"
  local rc=$? log; log=$(grep -E '^(decision|reply):' "$WORK/$cn.err" | tr '\n' ' ')
  [ "$rc" = 0 ] || why="exit $rc"
  [ -z "$why" ] && ! grep -q "cipher=$cipher cipher_reason=$reason " <<<"$log " && why="the decision names another cipher or reason"
  [ -z "$why" ] && ! grep -qi "^Content-Type: application/pkcs7-mime; .*smime-type=$type" "$WORK/$cn.eml" && why="not $type"
  [ -z "$why" ] && why=$(content_cipher_differs "$WORK/$cn.eml" "$cipher")
  for r in "$@"; do
    [ -z "$why" ] || break
    openssl cms -decrypt -in "$WORK/$cn.eml" -recip "$XPKI/$r.cert.pem" -inkey "$XPKI/$r.key.pem" 2>"$WORK/$cn.$r.dec.err" \
      | grep -q 'CONFIDENTIAL FIGURES' || why="$r cannot decrypt it: $(tail -n 1 "$WORK/$cn.$r.dec.err")"
  done
  if [ -z "$why" ]; then pass "$cn"; else fail "$cn" "$why: $log"; fi
}
out auto-gcm-when-advertised authEnveloped-data aes256-gcm advertised gina
out auto-cbc-when-not enveloped-data aes256-cbc advertised hugo
out auto-cbc-when-one-lacks enveloped-data aes256-cbc advertised gina hugo
out auto-aes128-gcm-only authEnveloped-data aes128-gcm advertised ida
out auto-aes128-cbc-only enveloped-data aes128-cbc advertised jon
out auto-no-common-aes128-cbc enveloped-data aes128-cbc no-common gina ida
out auto-unknown-and-aes128-cbc enveloped-data aes128-cbc advertised kim jon
out auto-unknown-alone enveloped-data aes256-cbc default kim

# --- the same choice through Postfix and the milter ----------------------------------------------
postfix_case() {
  local cn=auto-aes128-gcm-postfix pf_port why=
  start_milter "$WORK/milter.toml" || { fail $cn "ssm-milter did not start"; return; }
  start_sink || { fail $cn "smtp-sink did not start"; return; }
  pf_port=$(free_port) || { fail $cn "no free port"; return; }
  start_postfix pf "$pf_port" "$SINK_PORT" "$MILTER_PORT" || { fail $cn "postfix did not start"; return; }
  printf 'From: alice@acme.example\r\nTo: ida@partner.example\r\nSubject: figures\r\n\r\nCONFIDENTIAL FIGURES\r\n' >"$M/$cn.eml"
  send_mail "$pf_port" alice@acme.example ida@partner.example "$M/$cn.eml" || { fail $cn "SMTP: $SMTP_REPLY"; return; }
  wait_for_delivery 1 30 || { fail $cn "not delivered within 30 s"; return; }
  sink_message "$(sink_files | head -n 1)" "$WORK/$cn.out.eml"
  why=$(content_cipher_differs "$WORK/$cn.out.eml" aes128-gcm)
  [ -z "$why" ] && ! grep -q 'cipher=aes128-gcm cipher_reason=advertised ' "$WORK/milter.log" \
    && why="no 'cipher=aes128-gcm cipher_reason=advertised' in the milter's log"
  if [ -z "$why" ]; then
    openssl cms -decrypt -in "$WORK/$cn.out.eml" -recip "$XPKI/ida.cert.pem" -inkey "$XPKI/ida.key.pem" 2>"$WORK/$cn.dec.err" \
      | grep -q 'CONFIDENTIAL FIGURES' || why="ida cannot decrypt it: $(tail -n 1 "$WORK/$cn.dec.err")"
  fi
  if [ -z "$why" ]; then pass $cn; else fail $cn "$why"; fi
}
postfix_case
