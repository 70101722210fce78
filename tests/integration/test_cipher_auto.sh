#!/bin/bash
# PRODUCT §2.2: cipher = "auto" (the default) encrypts AuthEnvelopedData AES-256-GCM when every
# recipient advertised AES-GCM in the SMIMECapabilities of its signed mail (harvested, §3.4),
# EnvelopedData AES-256-CBC otherwise. The capabilities come from peers, never from our code:
# gina signs with BouncyCastle (tests/interop/bouncycastle/BcSmime.java lists AES-256-GCM
# first), hugo with openssl cms (OpenSSL's standard list has no GCM). Offline through
# `ssmctl process` (the milter's own pipeline): the signed mail in (harvested), then alice's
# mail out to gina, to hugo, to both; each result decrypted by openssl with the partner's key.
#   auto-gcm-when-advertised   to gina: authEnveloped-data, aes256-gcm
#   auto-cbc-when-not          to hugo: enveloped-data, aes256-cbc
#   auto-cbc-when-one-lacks    to gina and hugo: one enveloped-data, aes256-cbc, both decrypt
. "$(dirname "$0")/lib.sh"
require_tools openssl softhsm2-util pkcs11-tool java javac
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
issue_cert hugo hugo@partner.example rsa "digitalSignature, keyEncipherment" || fatal auto-setup "issue hugo"

write_config "$WORK/ssm.toml" port=1 pki='revocation = "off"' rules='[[rule]]
name = "partners get encrypted mail"
direction = "outbound"
sign = "none"
encrypt = "mandatory"' extra="[directory]
cache = \"$WORK/cache\""
ssmctl() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" "$@"; }

# --- the partners' signed mail, harvested ------------------------------------------------------
M=$WORK/m
for who in gina hugo; do
  printf 'From: %s@partner.example\r\nTo: alice@acme.example\r\nSubject: hello\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nhello from %s\r\n' \
    "$who" "$who" >"$M/$who.plain.eml"
done
java -cp "$BC_CP" BcSmime sign gina in="$M/gina.plain.eml" out="$M/gina.signed.eml" cert="$XPKI/gina.cert.pem" \
  key="$XPKI/gina.key.pem" chain="$PKI/sub-ca.cert.pem" alg=rsa form=detached >"$WORK/bc.out" 2>&1 \
  && grep -q '^OK gina ' "$WORK/bc.out" || fatal auto-setup "BcSmime sign: $(head -n 3 "$WORK/bc.out" | tr '\n' ' ')"
printf 'Content-Type: text/plain\r\n\r\nhello from hugo\r\n' >"$M/hugo.inner"
{ printf 'From: hugo@partner.example\r\nTo: alice@acme.example\r\nSubject: hello\r\n'
  openssl cms -sign -in "$M/hugo.inner" -signer "$XPKI/hugo.cert.pem" -inkey "$XPKI/hugo.key.pem" \
    -certfile "$PKI/sub-ca.cert.pem"; } >"$M/hugo.signed.eml" 2>"$WORK/openssl.log" \
  || fatal auto-setup "openssl cms -sign: $(tail -n 2 "$WORK/openssl.log")"
for who in gina hugo; do
  ssmctl process --direction in --from "$who@partner.example" --to alice@acme.example <"$M/$who.signed.eml" \
    >"$WORK/$who.in.out" 2>"$WORK/$who.in.err" || fatal auto-setup "inbound $who: $(tail -n 2 "$WORK/$who.in.err")"
  grep -q 'smime=pass' "$WORK/$who.in.out" || fatal auto-setup "$who's signature did not pass: $(grep '^decision' "$WORK/$who.in.err")"
  ssmctl cert lookup "$who@partner.example" >"$WORK/$who.lookup" 2>&1
  grep -q '^chosen .*source="harvested"' "$WORK/$who.lookup" \
    || fatal auto-setup "$who not harvested: $(tail -n 2 "$WORK/$who.lookup" | tr '\n' ' ')"
done

# --- alice's mail out ---------------------------------------------------------------------------
# out CASE TYPE CIPHER RCPT...: exit 0, the decision names CIPHER, the body is TYPE, and each
# RCPT's key decrypts it (openssl cms) to the plaintext.
out() {
  local cn=$1 type=$2 cipher=$3 to=() r why= list=; shift 3
  for r in "$@"; do to+=(--to "$r@partner.example"); list+=${list:+, }$r@partner.example; done
  printf 'From: alice@acme.example\r\nTo: %s\r\nSubject: figures\r\n\r\nCONFIDENTIAL FIGURES\r\n' "$list" >"$M/$cn.eml"
  ssmctl process --direction out --from alice@acme.example "${to[@]}" <"$M/$cn.eml" >"$WORK/$cn.eml" 2>"$WORK/$cn.err"
  local rc=$? log; log=$(grep -E '^(decision|reply):' "$WORK/$cn.err" | tr '\n' ' ')
  [ "$rc" = 0 ] || why="exit $rc"
  [ -z "$why" ] && ! grep -q "cipher=$cipher " <<<"$log " && why="the decision names another cipher"
  [ -z "$why" ] && ! grep -qi "^Content-Type: application/pkcs7-mime; .*smime-type=$type" "$WORK/$cn.eml" && why="not $type"
  for r in "$@"; do
    [ -z "$why" ] || break
    openssl cms -decrypt -in "$WORK/$cn.eml" -recip "$XPKI/$r.cert.pem" -inkey "$XPKI/$r.key.pem" 2>"$WORK/$cn.$r.dec.err" \
      | grep -q 'CONFIDENTIAL FIGURES' || why="$r cannot decrypt it: $(tail -n 1 "$WORK/$cn.$r.dec.err")"
  done
  if [ -z "$why" ]; then pass "$cn"; else fail "$cn" "$why: $log"; fi
}
out auto-gcm-when-advertised authEnveloped-data aes256-gcm gina
out auto-cbc-when-not enveloped-data aes256-cbc hugo
out auto-cbc-when-one-lacks enveloped-data aes256-cbc gina hugo
