#!/bin/bash
# Inbound S/MIME (PRODUCT §3) in the OUTER wrapper forms real MUAs and gateways write, generated
# by tests/integration/make_smime_wrappers.py around three entities (plain text, multipart/mixed
# with an attachment, 8-bit UTF-8 text): multipart/signed over parameter order, case of type,
# subtype, parameter names and values, quoting, folding, comments, x-pkcs7-signature, micalg
# forms, RFC 2231 boundaries, preamble and epilogue, transport padding, the signature part's
# encoding and labels; application/pkcs7-mime (opaque signed, enveloped) over x-pkcs7-mime,
# smime-type, name, Content-Disposition, application/octet-stream named *.p7m, base64 widths and
# line ends, binary. test_inbound_variants.sh hand-lists single label variants of one entity;
# this sweep combines them (see the generator for how). Every CMS object is made by a peer
# (openssl cms; gpgsm signs the multipart entity, NSS cmsutil encrypts the 8-bit one), never by
# our code; keys on a SoftHSM token; through `ssmctl process --direction in`.
# Expected per case (the generator's EXPECT): pass: smime=pass for dave and the body delivered
# as received; decrypted: the entity delivered in place of the encryption; other:none (a label
# RFC 8551 §3.2.1 or RFC 1847 does not make S/MIME: octet-stream without a .p7m name, a PGP
# protocol): delivered as received, no Authentication-Results of ours, nothing decrypted;
# other:permerror (a multipart/signed that cannot be split): smime=permerror, delivered as
# received; other:fail (the control, one octet of the signed entity changed): smime=fail.
# 21 s on this 2-core machine, shared (budget 45 s).
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
. "$SSM_SRCDIR/tests/interop/inbound.sh"
require_tools openssl perl python3 softhsm2-util pkcs11-tool gpgsm gpgconf cmsutil certutil pk12util
require_binaries
T0=$SECONDS
inbound_offline_setup "$WORK/keep.toml" wrappers alice
D=$WORK/w
mkdir -p "$D"
printf 'Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHello Alice,\r\nthe wrapper is all that differs.\r\n' >"$D/plain.entity"
{ printf 'Content-Type: multipart/mixed; boundary="mixed-inner"\r\n\r\n--mixed-inner\r\n'
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nThe figures are attached.\r\n--mixed-inner\r\n'
  printf 'Content-Type: application/pdf; name="q3.pdf"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="q3.pdf"\r\n\r\n'
  head -c 700 "$PKI/dave.cert.der" | openssl base64 -e | perl -pe 's/\n/\r\n/'
  printf -- '--mixed-inner--\r\n'; } >"$D/mixed.entity"
printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\303\274\303\237e aus M\303\274nchen,\r\n\342\202\254 100 \342\200\224 na\303\257ve caf\303\251.\r\n' >"$D/8bit.entity"
SIGN=(-signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" -certfile "$PKI/sub-ca.cert.pem")
o() { openssl cms "$@" >>"$WORK/openssl.log" 2>&1 || fatal wrappers-setup "openssl cms $*: $(tail -n 2 "$WORK/openssl.log")"; }
for e in plain mixed 8bit; do
  [ "$e" = mixed ] || o -sign -binary "${SIGN[@]}" -in "$D/$e.entity" -outform DER -out "$D/$e.det.der"
  o -sign -binary -nodetach "${SIGN[@]}" -in "$D/$e.entity" -outform DER -out "$D/$e.opq.der"
  [ "$e" = 8bit ] || o -encrypt -binary -aes-256-cbc -in "$D/$e.entity" -outform DER -out "$D/$e.env.der" "$PKI/alice.cert.pem"
done
sign_gpgsm "$D/mixed.entity" dave "$D/mixed.det.der" || fatal wrappers-setup "$PEER_DETAIL"
encrypt_cmsutil "$D/8bit.entity" alice "$D/8bit.env.der" || fatal wrappers-setup "$PEER_DETAIL"
python3 "$SSM_SRCDIR/tests/integration/make_smime_wrappers.py" "$D" "$FROM" "$RCPT" >"$D/cases.list" 2>"$D/gen.err" \
  || fatal wrappers-generate "$(tail -n 3 "$D/gen.err" | tr '\n' ' ')"

# run CASE: ssmctl process; RC, OUT (delivered message), LOG (decision line), AR (ours).
run() {
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/keep.toml" process --direction in --from "$FROM" --to "$RCPT" \
    <"$D/cases/$1.eml" >"$WORK/out/$1.out" 2>"$WORK/out/$1.err"
  RC=$? OUT=$WORK/out/$1.out
  LOG=$(grep -E '^(decision|reply):' "$WORK/out/$1.err" | tr '\n' ' ')
  AR=$(header_field "$OUT" Authentication-Results 2>/dev/null | tr '\n' ' ')
}
unchanged() { cmp -s <(entity_body "$D/cases/$1.eml" /dev/stdout) <(entity_body "$OUT" /dev/stdout); }
n=0
while read -r cn kind e expect; do
  n=$((n + 1))
  run "$cn"
  if [ "$RC" -ne 0 ]; then fail "$cn" "exit $RC: $LOG"; continue; fi
  case $expect in
    pass)
      if ! grep -q "^mx.acme.example; smime=pass body.smime-identifier=$FROM " <<<"$AR"; then fail "$cn" "A-R: $AR ($LOG)"
      elif ! unchanged "$cn"; then fail "$cn" "the signed body was changed ($LOG)"
      else pass "$cn"; fi ;;
    decrypted)
      why=$(same_entity "$OUT" "$D/$e.entity")
      if [ -n "$why" ]; then fail "$cn" "$why ($LOG)"
      elif ! grep -q 'action=decrypt ' <<<"$LOG"; then fail "$cn" "log: $LOG"
      else pass "$cn"; fi ;;
    other:none)
      if [ -n "$AR" ]; then fail "$cn" "A-R: $AR ($LOG)"
      elif ! grep -q 'action=none ' <<<"$LOG"; then fail "$cn" "log: $LOG (expected action=none)"
      elif ! unchanged "$cn"; then fail "$cn" "the body was changed ($LOG)"
      else pass "$cn"; fi ;;
    other:permerror|other:fail)
      if ! grep -q "^mx.acme.example; smime=${expect#other:} " <<<"$AR"; then fail "$cn" "A-R: $AR ($LOG)"
      elif ! unchanged "$cn"; then fail "$cn" "the body was changed ($LOG)"
      else pass "$cn"; fi ;;
    *) fail "$cn" "the generator's expectation '$expect' is unknown" ;;
  esac
done <"$D/cases.list"
[ "$n" -ge 90 ] || fail wrappers-count "$n cases generated, expected at least 90"
note "$n wrapper cases in $((SECONDS - T0)) s"
