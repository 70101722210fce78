# Inbound test helpers: messages made by the peers (openssl cms, gpgsm, NSS cmsutil) as a
# partner's MUA or gateway would send them, and checks on what ssm-milter delivered.
# Sourced after tests/integration/lib.sh (needs WORK, PKI, XPKI). Every CMS object here is made
# by a peer, never by our code; delivered messages are parsed as untrusted text.
#
#   make_entity SRC.eml OUT           the MIME entity (Content-* fields + body) of a fixture, CRLF
#   wrap_enveloped DER OUT CASE FROM TO [SUBJECT]    application/pkcs7-mime enveloped-data mail
#   wrap_opaque DER OUT CASE FROM TO                 application/pkcs7-mime signed-data mail
#   wrap_detached ENTITY SIG.der OUT CASE FROM TO    multipart/signed mail (RFC 8551 §3.5.3)
#   encrypt_gpgsm ENTITY NAME OUT [CIPHER]   encrypt_cmsutil ENTITY NAME OUT
#   sign_gpgsm ENTITY NAME OUT               sign_cmsutil ENTITY NAME OUT
#   delivered CASE                  the sink dump of the message whose X-Case is CASE
#   held PF CASE                    the hold-queue file of that message in Postfix $WORK/PF
#   entity_body FILE OUT / header_field FILE NAME     body and unfolded header of a message
#   same_body A B                   the two messages' bodies are the same bytes
#   inbound_offline_setup FILE TAG TOKEN-NAME...   PKI, token, FROM/RCPT, an inbound config
# PEER_DETAIL says why a peer helper failed.

# _crlf: stdin to stdout with every line ending in CRLF.
_crlf() { perl -pe 's/\r?\n\z/\r\n/'; }

make_entity() {
  perl -e 'local $/; open(my $f, "<:raw", $ARGV[0]) or die; my $m = <$f>; $m =~ s/\r?\n/\n/g;
           my ($h, $b) = split(/\n\n/, $m, 2);
           my @keep; for (split /\n(?![ \t])/, $h) { push @keep, $_ if /^Content-/i }
           my $e = (@keep ? join("\n", @keep) . "\n" : "") . "\n" . $b; $e =~ s/\n/\r\n/g; print $e' "$1" >"$2"
}

# _outer CASE FROM TO SUBJECT: the partner's outer header fields (CRLF, without Content-*).
_outer() {
  printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\nMessage-ID: <%s@mua.partner.example>\r\nX-Case: %s\r\nMIME-Version: 1.0\r\n' \
    "$2" "$3" "$4" "$1" "$1"
}

_b64() { openssl base64 -e -in "$1" | _crlf; }

wrap_enveloped() {
  local der=$1 out=$2 case=$3 from=$4 to=$5 subject=${6:-Encrypted $3}
  local st=enveloped-data
  OPENSSL_CONF=/dev/null openssl cms -cmsout -print -inform DER -in "$der" 2>/dev/null \
    | grep -q 'contentType: id-smime-ct-authEnvelopedData' && st=authEnveloped-data
  { _outer "$case" "$from" "$to" "$subject"
    printf 'Content-Type: application/pkcs7-mime; smime-type=%s; name=smime.p7m\r\n' "$st"
    printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n'
    _b64 "$der"; } >"$out"
}

wrap_opaque() {
  { _outer "$3" "$4" "$5" "Opaque $3"
    printf 'Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n'
    printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n'
    _b64 "$1"; } >"$2"
}

wrap_detached() {
  local entity=$1 sig=$2 out=$3 case=$4 from=$5 to=$6 b="----=_signed_$4"
  { _outer "$case" "$from" "$to" "Signed $case"
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r\n\tboundary="%s"\r\n\r\n' "$b"
    printf 'This is a cryptographically signed message in MIME format.\r\n\r\n--%s\r\n' "$b"
    cat "$entity"
    printf '\r\n--%s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n' "$b"
    printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7s\r\n\r\n'
    _b64 "$sig"
    printf '\r\n--%s--\r\n' "$b"; } >"$out"
}

# _gpgsm_peer: a GNUPGHOME used to make messages (test root and sub-CA imported and trusted,
# no CRL checks); keys come in as PKCS#12 (_p12_for in lib.sh).
_gpgsm_peer() {
  GPEER=$WORK/gnupg-peer
  [ -f "$GPEER/ready" ] && return 0
  _gpgsm_new_home "$GPEER"
  printf '%s S relax\n' "$(_sha1_fpr "$PKI/root-ca.cert.pem")" >"$GPEER/trustlist.txt"
  GNUPGHOME=$GPEER gpgsm --batch --import "$PKI/root-ca.cert.pem" "$PKI/sub-ca.cert.pem" >"$GPEER/import.log" 2>&1 \
    || { PEER_DETAIL="gpgsm import CA: $(tail -n 2 "$GPEER/import.log" | tr '\n' ' ')"; return 1; }
  touch "$GPEER/ready"
}

# encrypt_gpgsm ENTITY NAME OUT [CIPHER]: gpgsm --encrypt (binary CMS) to NAME's certificate.
encrypt_gpgsm() {
  local entity=$1 name=$2 out=$3 cipher=${4:-AES128}
  _gpgsm_peer || return 1
  _key_files "$name" || return 1
  GNUPGHOME=$GPEER gpgsm --batch --import "$CERT_PEM" >/dev/null 2>&1
  local fpr; fpr=$(openssl x509 -in "$CERT_PEM" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
  rm -f "$out"
  GNUPGHOME=$GPEER gpgsm --batch --cipher-algo "$cipher" --recipient "0x$fpr" --output "$out" \
    --encrypt "$entity" >"$out.log" 2>&1 && [ -s "$out" ] \
    || { PEER_DETAIL="gpgsm --encrypt: $(tail -n 2 "$out.log" | tr '\n' ' ')"; return 1; }
}

# sign_gpgsm ENTITY NAME OUT: gpgsm --detach-sign with NAME's key (imported from PKCS#12).
sign_gpgsm() {
  local entity=$1 name=$2 out=$3
  _gpgsm_peer || return 1
  if [ ! -f "$GPEER/has-$name" ]; then
    if ! _gpgsm_import_p12 "$GPEER" "$name" "$GPEER/import-$name.log"; then
      # without the log there was no PKCS#12, and PEER_DETAIL already says why
      [ -f "$GPEER/import-$name.log" ] && PEER_DETAIL="gpgsm import $name: $(tail -n 2 "$GPEER/import-$name.log" | tr '\n' ' ')"
      return 1
    fi
    touch "$GPEER/has-$name"
  fi
  _key_files "$name" || return 1
  local fpr; fpr=$(openssl x509 -in "$CERT_PEM" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
  rm -f "$out"
  echo test | GNUPGHOME=$GPEER gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 --local-user "0x$fpr" \
    --include-certs -2 --output "$out" --detach-sign "$entity" >"$out.log" 2>&1 && [ -s "$out" ] \
    || { PEER_DETAIL="gpgsm --detach-sign: $(tail -n 2 "$out.log" | tr '\n' ' ')"; return 1; }
}

# _nss_peer: an NSS db to make messages (root C,C,C, sub-CA, keys from PKCS#12 as nickname NAME).
_nss_peer() {
  NPEER=$WORK/nssdb-peer
  [ -f "$NPEER/ready" ] && return 0
  mkdir -p "$NPEER"
  certutil -N --empty-password -d "sql:$NPEER" >"$NPEER/init.log" 2>&1 \
    && certutil -A -n ssm-test-root -t "C,C,C" -i "$PKI/root-ca.cert.der" -d "sql:$NPEER" >>"$NPEER/init.log" 2>&1 \
    && certutil -A -n ssm-test-sub -t ",," -i "$PKI/sub-ca.cert.der" -d "sql:$NPEER" >>"$NPEER/init.log" 2>&1 \
    || { PEER_DETAIL="certutil: $(tail -n 2 "$NPEER/init.log")"; return 1; }
  touch "$NPEER/ready"
}

# encrypt_cmsutil ENTITY NAME OUT: cmsutil -E to NAME's certificate (imported with -t ",,").
encrypt_cmsutil() {
  local entity=$1 name=$2 out=$3
  _nss_peer || return 1
  _key_files "$name" || return 1
  local email; email=$(openssl x509 -in "$CERT_PEM" -noout -ext subjectAltName | sed -n 's/^ *email://p' | head -n 1)
  certutil -A -n "$name" -t ",," -i "$CERT_PEM" -d "sql:$NPEER" >/dev/null 2>&1
  rm -f "$out"
  cmsutil -E -r "$email" -i "$entity" -d "sql:$NPEER" -o "$out" >"$out.log" 2>&1 && [ -s "$out" ] \
    || { PEER_DETAIL="cmsutil -E: $(tr '\n' ' ' <"$out.log" | cut -c1-300)"; return 1; }
}

# sign_cmsutil ENTITY NAME OUT: cmsutil -S detached (-T), signing time and S/MIME capabilities.
sign_cmsutil() {
  local entity=$1 name=$2 out=$3
  _nss_peer || return 1
  if [ ! -f "$NPEER/has-$name" ]; then
    _p12_for "$name" || return 1
    pk12util -i "$P12" -d "sql:$NPEER" -W test -K '' >"$NPEER/import-$name.log" 2>&1 \
      || { PEER_DETAIL="pk12util $name: $(tail -n 1 "$NPEER/import-$name.log")"; return 1; }
    touch "$NPEER/has-$name"
  fi
  rm -f "$out"
  cmsutil -S -T -G -P -N "$name" -H SHA256 -u 4 -i "$entity" -d "sql:$NPEER" -o "$out" >"$out.log" 2>&1 && [ -s "$out" ] \
    || { PEER_DETAIL="cmsutil -S: $(tr '\n' ' ' <"$out.log" | cut -c1-300)"; return 1; }
}

# delivered CASE: prints the sink dump holding "X-Case: CASE" (none: fails).
# held PF CASE: the queue file of the message whose X-Case is CASE in the hold queue of the
# Postfix instance $WORK/PF (milter quarantine).
held() {
  local f
  f=$(grep -l "X-Case: $2" "$WORK/$1/queue/hold"/* 2>/dev/null | head -n 1)
  [ -n "$f" ] && echo "$f"
}

delivered() {
  local f
  f=$(grep -lx "X-Case: $1" "$SINK_DIR"/* 2>/dev/null | head -n 1)
  [ -n "$f" ] && echo "$f"
}

# header_field FILE NAME: every NAME field of the message header, unfolded, one a line.
header_field() {
  perl -e 'local $/; open(my $f, "<:raw", $ARGV[0]) or exit 1; my $m = <$f>; $m =~ s/\r\n/\n/g;
           my ($h) = split(/\n\n/, $m, 2); $h =~ s/\n[ \t]+/ /g; my $found = 0;
           for (split /\n/, $h) { if (/^\Q$ARGV[1]\E:[ \t]*(.*)$/i) { print "$1\n"; $found = 1 } } exit !$found' "$1" "$2"
}

# inbound_outcome CASE KIND: what ssm-milter made of an inbound interop case whose SMTP reply is
# in $WORK/out/CASE.reply. KIND refuse (a message we must not decrypt) is settled here: accepted
# with 250 and held by the Postfix instance $WORK/pf ([inbound] on_undecryptable = "hold"),
# never delivered (PRODUCT §3.1); returns 1. Any other kind must be accepted and delivered
# (else a FAIL and 1): the delivery goes to $WORK/out/CASE.eml, AR gets our
# Authentication-Results field and RES its smime= result.
inbound_outcome() {
  local cn=$1 kind=$2 reply dump
  reply=$(cat "$WORK/out/$cn.reply")
  if [ "$kind" = refuse ]; then
    case $reply in
      "250 2.0.0 "*) if delivered "$cn" >/dev/null; then fail "$cn" "delivered"
                     elif ! held pf "$cn" >/dev/null; then fail "$cn" "not in Postfix's hold queue"
                     else pass "$cn"; note "$cn: $reply (held)"; fi ;;
      *) fail "$cn" "SMTP reply '$reply', expected 250 2.0.0 and a hold" ;;
    esac
    return 1
  fi
  if ! grep -q '^250 ' "$WORK/out/$cn.reply"; then fail "$cn" "SMTP: $reply"; return 1; fi
  dump=$(delivered "$cn") || { fail "$cn" "not delivered"; return 1; }
  sink_message "$dump" "$WORK/out/$cn.eml"
  AR=$(header_field "$WORK/out/$cn.eml" Authentication-Results | grep -i '^mx\.acme\.example[ ;]')
  RES=$(printf '%s' "$AR" | sed -n 's/.*smime=\([a-z]*\).*/\1/p')
}

# entity_body FILE OUT: the body (after the first empty line) with CRLF line ends.
entity_body() {
  perl -e 'local $/; open(my $f, "<:raw", $ARGV[0]) or exit 1; my $m = <$f>; $m =~ s/\r?\n/\n/g;
           my $b; if ($m =~ /\A\n/) { $b = substr($m, 1) } else { (undef, $b) = split(/\n\n/, $m, 2) }
           $b //= ""; $b =~ s/\n/\r\n/g; print $b' "$1" >"$2"
}

# same_body A B: the two messages' bodies are the same bytes (CRLF line ends).
same_body() { entity_body "$1" "$WORK/body.a" && entity_body "$2" "$WORK/body.b" && cmp -s "$WORK/body.a" "$WORK/body.b"; }

# inbound_config FILE MILTER_PORT RULES EXTRA [PKI_LINES]: write_config (lib.sh) for an inbound
# gateway: internal_networks holds only 192.0.2.0/24, so mail from 127.0.0.1 is inbound unless
# the smtpd listener names itself ORIGINATING (milter_macro_daemon_name).
inbound_config() {
  local file=$1 port=$2 rules=$3 extra=$4 pki=${5:-}
  write_config "$file" port="$port" rules="$rules" extra="$extra" pki="$pki" || return 1
  sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$file"
  grep -q '^internal_networks = \["192.0.2.0/24"\]' "$file"
}

# inbound_offline_setup FILE TAG TOKEN-NAME...: the set-up of a test that runs mail through
# `ssmctl process --direction in` (the milter's pipeline, no MTA): the test PKI, a fresh token
# with TOKEN-NAME's keys, OPENSSL_CONF=/dev/null (the openssl the test runs reads no host
# configuration), $WORK/m, $WORK/out and $WORK/certs, FROM (the partner, dave) and RCPT
# (alice, ours), and FILE: an inbound gateway's configuration (internal_networks holds only
# 192.0.2.0/24; revocation off; the certificate cache in $WORK/cache, static certificates in
# $WORK/certs, empty until the test puts some there). A configuration that does not write is
# "fatal TAG-setup".
inbound_offline_setup() {
  local file=$1 tag=$2; shift 2
  make_pki
  make_token "$@"
  export OPENSSL_CONF=/dev/null
  mkdir -p "$WORK/m" "$WORK/out" "$WORK/certs"
  FROM=dave@partner.example RCPT=alice@acme.example
  write_config "$file" socket="inet:1@127.0.0.1" pki='revocation = "off"' extra="[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"" || fatal "$tag-setup" "config"
  sed -i 's|^internal_networks = .*|internal_networks = ["192.0.2.0/24"]|' "$file"
}

# milter_message_lines FROM_BYTE LOG: the milter's "message" log lines written after FROM_BYTE.
# (format of base/log.cpp on stderr: "info: message queue_id=... direction=... ms=...").
milter_message_lines() { tail -c +"$(($1 + 1))" "$2" | grep -E '^[a-z]+: message ' ; }
# without_volatile: a log line without the fields that differ per message (queue id, time).
without_volatile() { sed -E 's/ queue_id=[^ ]*//; s/ ms=[0-9]+//'; }

# compare_plaintext DELIVERED ENTITY: prints why the delivered message (CRLF) is not the entity
# with the sender's outer fields (nothing when it is): the same Content-* fields in the same
# order, the body byte for byte, no pkcs7 Content-Type left. One perl run per message.
compare_plaintext() {
  perl -e '
    sub parse { my ($f) = @_; open(my $h, "<:raw", $f) or die "$f: $!\n"; local $/; my $m = <$h>;
      $m =~ s/\r?\n/\n/g; my ($hd, $b);
      if ($m =~ /\A\n/) { ($hd, $b) = ("", substr($m, 1)) } else { ($hd, $b) = split(/\n\n/, $m, 2) }
      $hd =~ s/\n[ \t]+/ /g; my @c = grep { /^Content-/i } split(/\n/, $hd); return (\@c, $b // "", $hd); }
    my ($dc, $db, $dh) = parse($ARGV[0]); my ($ec, $eb) = parse($ARGV[1]);
    my ($d, $e) = (join(" | ", @$dc), join(" | ", @$ec));
    if ($d ne $e) { print "Content-* fields [$d], expected [$e]\n"; exit }
    if ($dh =~ /^Content-Type:.*pkcs7/mi) { print "a pkcs7 Content-Type is left\n"; exit }
    if ($db ne $eb) { my $i = 0; $i++ while $i < length($db) && substr($db, $i, 1) eq substr($eb, $i, 1);
      printf "body differs from the plaintext at byte %d (lengths %d, %d)\n", $i, length($db), length($eb) }' "$1" "$2"
}

# tamper_signed NAME FORM [FROM RCPT]: one word of the signed text of case NAME changed after
# signing: in $WORK/m/NAME.eml (FORM detached), or inside the eContent octets of
# $WORK/m/NAME.p7m, then wrapped again from FROM to RCPT (opaque). FAIL NAME and return 1 when
# the alteration did not apply.
tamper_signed() {
  if [ "$2" = detached ]; then
    perl -i -pe 's/Please find the binary file attached\./Please find the binary file attacked./' "$WORK/m/$1.eml"
    grep -q 'file attacked\.' "$WORK/m/$1.eml" || { fail "$1" "the alteration did not apply"; return 1; }
  else
    perl -0777 -i -pe 's/binary file attached\./binary file attacked./' "$WORK/m/$1.p7m"
    grep -q 'file attacked\.' "$WORK/m/$1.p7m" || { fail "$1" "the alteration did not apply"; return 1; }
    wrap_opaque "$WORK/m/$1.p7m" "$WORK/m/$1.eml" "$1" "$3" "$4"
  fi
}
