# Interop peers: verify an S/MIME signed message with OpenSSL, GnuPG (gpgsm) and NSS (cmsutil).
# Sourced by tests after tests/integration/lib.sh (needs WORK and PKI). The message under test is
# untrusted: it is split by a strict parser here and each peer must report a real success.
#
#   verify_openssl FILE [SIGNER_EMAIL]   verify_gpgsm FILE [SIGNER_EMAIL]
#   verify_cmsutil FILE [SIGNER_EMAIL]   smime_split FILE DIR
# Each verify_* returns 0 only when the signature verifies, the chain ends at the test root
# (the only trust anchor; intermediates must come from the message) and, when SIGNER_EMAIL is
# given, the signer certificate is exactly the one of that identity in the test PKI.
# PEER_DETAIL holds a one-line reason after a failure. After verify_openssl succeeds,
# VERIFIED_CONTENT is the signed content as OpenSSL returned it and SIGNED_CMS the CMS object.
#   cms_signature_algorithm DER   mime_leaves FILE

PEER_DETAIL=

# _pki_cert_for EMAIL: the test PKI's certificate (PEM path) whose rfc822Name is EMAIL (its only
# subjectAltName). The names are read once per state of the PKI folder into $WORK/pki-emails
# (first line: a digest of the certificates' names, sizes and times; then PATH EMAIL lines),
# not once per call: the library-peer tests ask for about a hundred signers, and reading all
# certificates each time was an openssl run per certificate per signer.
_pki_cert_for() {
  local idx=$WORK/pki-emails state f
  state=$(stat -c '%n %s %Y' "$PKI"/*.cert.pem 2>/dev/null | md5sum)
  if [ "$(head -n 1 "$idx" 2>/dev/null)" != "$state" ]; then
    { printf '%s\n' "$state"
      for f in "$PKI"/*.cert.pem; do
        case $f in */root-ca.cert.pem|*/sub-ca.cert.pem) continue ;; esac
        openssl x509 -in "$f" -noout -ext subjectAltName 2>/dev/null | sed -n "s|^[[:space:]]*email:\(.*\)\$|$f \1|p"
      done; } >"$idx.tmp" && mv "$idx.tmp" "$idx"
  fi
  awk -v e="$1" 'NR > 1 && $2 == e { print $1; found = 1; exit } END { exit !found }' "$idx"
}
_sha1_fpr() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }

# smime_split FILE DIR: writes DIR/kind (detached|opaque), DIR/sig.der (the CMS object) and,
# for multipart/signed, DIR/content: the signed entity byte-exact (RFC 1847: from after the
# first delimiter line's CRLF to before the CRLF preceding the next delimiter), with all line
# ends in CRLF form as on the wire. Fails on anything that is not clean S/MIME signed data.
smime_split() {
  local file=$1 dir=$2
  mkdir -p "$dir"; rm -f "$dir/kind" "$dir/sig.der" "$dir/content"
  perl -MMIME::Base64 -e '
    use strict; use warnings;
    my ($file, $dir) = @ARGV;
    open(my $in, "<:raw", $file) or die "open $file: $!\n";
    local $/; my $msg = <$in>; close $in;
    $msg =~ s/\r?\n/\r\n/g;                       # wire form: every line ends in CRLF
    my ($head, $body) = split(/\r\n\r\n/, $msg, 2);
    die "no header/body separator\n" unless defined $body;
    (my $unfolded = $head) =~ s/\r\n([ \t])/$1/g;
    my ($ct) = $unfolded =~ /^Content-Type:[ \t]*(.*)$/mi or die "no Content-Type\n";
    my ($cte) = $unfolded =~ /^Content-Transfer-Encoding:[ \t]*(\S+)/mi;
    sub param { my ($v, $n) = @_; return $1 if $v =~ /;\s*\Q$n\E\s*=\s*"([^"]*)"/i;
                return $1 if $v =~ /;\s*\Q$n\E\s*=\s*([^\s;]+)/i; return undef; }
    sub out { my ($n, $d) = @_; open(my $o, ">:raw", "$dir/$n") or die "$n: $!\n"; print $o $d; close $o; }
    if ($ct =~ m{^multipart/signed\s*;}i) {
      my $b = param($ct, "boundary") // die "multipart/signed without boundary\n";
      my $proto = param($ct, "protocol") // "";
      $proto =~ m{^application/(x-)?pkcs7-signature$}i or die "protocol is \"$proto\"\n";
      my $text = "\r\n" . $body;
      my $delim = "\r\n--$b";
      my $p0 = index($text, "$delim\r\n"); die "no first delimiter\n" if $p0 < 0;
      my $start = $p0 + length("$delim\r\n");
      my $p1 = index($text, "$delim\r\n", $start); die "no second delimiter\n" if $p1 < 0;
      my $content = substr($text, $start, $p1 - $start);
      my $s2 = $p1 + length("$delim\r\n");
      my $p2 = index($text, "$delim--", $s2); die "no close delimiter\n" if $p2 < 0;
      my $part = substr($text, $s2, $p2 - $s2);
      my ($ph, $pb) = split(/\r\n\r\n/, $part, 2); die "signature part has no body\n" unless defined $pb;
      (my $phu = $ph) =~ s/\r\n([ \t])/$1/g;
      $phu =~ m{^Content-Type:[ \t]*application/(x-)?pkcs7-signature}mi or die "second part is not pkcs7-signature\n";
      $phu =~ /^Content-Transfer-Encoding:[ \t]*base64/mi or die "signature part is not base64\n";
      out("content", $content); out("sig.der", decode_base64($pb)); out("kind", "detached\n");
    } elsif ($ct =~ m{^application/(x-)?pkcs7-mime\s*;}i) {
      my $st = param($ct, "smime-type") // "";
      lc($st) eq "signed-data" or die "smime-type is \"$st\"\n";
      defined $cte && lc($cte) eq "base64" or die "opaque body is not base64\n";
      out("sig.der", decode_base64($body)); out("kind", "opaque\n");
    } else { die "not S/MIME signed: Content-Type $ct\n"; }
  ' "$file" "$dir" 2>"$dir/split.err" || { PEER_DETAIL="split: $(tr '\n' ' ' <"$dir/split.err")"; return 1; }
  [ -s "$dir/sig.der" ] || { PEER_DETAIL="split: empty CMS object"; return 1; }
}

# _check_signer_pem PEM EMAIL: the certificate in PEM is the test PKI certificate of EMAIL.
_check_signer_pem() {
  local want
  want=$(_pki_cert_for "$2") || { PEER_DETAIL="no test certificate for $2"; return 1; }
  [ "$(_sha1_fpr "$1")" = "$(_sha1_fpr "$want")" ] && return 0
  PEER_DETAIL="signer is $(openssl x509 -in "$1" -noout -subject 2>/dev/null), expected $2"
  return 1
}

_peer_dir() { local d; d=$(mktemp -d "$WORK/peer.XXXXXX"); echo "$d"; }

# verify_openssl FILE [SIGNER]: openssl cms -verify twice: as a MUA would (S/MIME input, text
# canonicalisation) and byte-exact (DER + -binary over the split content; no canonicalisation).
verify_openssl() {
  local file=$1 signer=${2:-} d
  d=$(_peer_dir)
  smime_split "$file" "$d" || return 1
  if ! OPENSSL_CONF=/dev/null openssl cms -verify -in "$file" -inform SMIME -CAfile "$PKI/root-ca.cert.pem" \
       -purpose smimesign -signer "$d/signer.pem" -out "$d/out.smime" >"$d/o1.log" 2>&1; then
    PEER_DETAIL="openssl (smime): $(tr '\n' ' ' <"$d/o1.log" | cut -c1-300)"; return 1
  fi
  local args=(-inform DER -in "$d/sig.der")
  [ "$(cat "$d/kind")" = detached ] && args+=(-content "$d/content")
  if ! OPENSSL_CONF=/dev/null openssl cms -verify "${args[@]}" -binary -CAfile "$PKI/root-ca.cert.pem" \
       -purpose smimesign -signer "$d/signer2.pem" -out "$d/out.bin" >"$d/o2.log" 2>&1; then
    PEER_DETAIL="openssl (binary): $(tr '\n' ' ' <"$d/o2.log" | cut -c1-300)"; return 1
  fi
  grep -q 'Verification successful' "$d/o1.log" "$d/o2.log" \
    || { PEER_DETAIL="openssl: no 'Verification successful'"; return 1; }
  [ -z "$signer" ] || _check_signer_pem "$d/signer.pem" "$signer" || return 1
  [ -z "$signer" ] || _check_signer_pem "$d/signer2.pem" "$signer" || return 1
  VERIFIED_CONTENT=$d/out.bin SIGNED_CMS=$d/sig.der
}

# _gpgsm_new_home DIR: a GNUPGHOME of the peers' gpgsm: no CRL checks, no dirmngr, no
# certificates but those imported; keys (from PKCS#12, passphrase "test") through loopback
# pinentry, protected at the cheapest s2k-count (calibrated: the default costs ~100 ms of CPU
# at each import and each use of a key). Its gpg-agent is killed at exit.
_gpgsm_new_home() {
  mkdir -p "$1"; chmod 700 "$1"
  printf 'disable-crl-checks\ndisable-dirmngr\nno-common-certs-import\n' >"$1/gpgsm.conf"
  printf 'allow-loopback-pinentry\ns2k-count 65536\n' >"$1/gpg-agent.conf"
  on_exit "gpgconf --homedir $1 --kill all"
}

# _gpgsm_home: one GNUPGHOME per work dir with the test root imported and trusted for S/MIME
# (trustlist.txt "<fpr> S relax"); no CRL checks, no dirmngr. gpg-agent is killed at exit.
_gpgsm_home() {
  GPGSM_HOME=$WORK/gnupg
  [ -f "$GPGSM_HOME/ready" ] && return 0
  _gpgsm_new_home "$GPGSM_HOME"
  : >"$GPGSM_HOME/trustlist.txt"
  # only the root is trusted and imported: the issuing CA must come with the message.
  printf '%s S relax\n' "$(_sha1_fpr "$PKI/root-ca.cert.pem")" >>"$GPGSM_HOME/trustlist.txt"
  GNUPGHOME=$GPGSM_HOME gpgsm --batch --import "$PKI/root-ca.cert.pem" \
    >"$GPGSM_HOME/import.log" 2>&1 || { PEER_DETAIL="gpgsm import: $(tail -n 2 "$GPGSM_HOME/import.log")"; return 1; }
  touch "$GPGSM_HOME/ready"
}

# verify_gpgsm FILE [SIGNER]: gpgsm --verify on the split CMS object (and content when
# detached). Success needs exit 0 and the status lines GOODSIG, VALIDSIG, TRUST_FULLY and no
# BADSIG/ERRSIG; the signer is VALIDSIG's certificate fingerprint.
verify_gpgsm() {
  local file=$1 signer=${2:-} d
  d=$(_peer_dir)
  smime_split "$file" "$d" || return 1
  _gpgsm_home || return 1
  local args=("$d/sig.der")
  [ "$(cat "$d/kind")" = detached ] && args+=("$d/content")
  # gpgsm keeps every certificate it sees in its keybox: a fresh copy per message, so an
  # issuing CA learnt from an earlier message cannot complete this message's chain.
  cp "$GPGSM_HOME/pubring.kbx" "$d/pubring.kbx"
  if ! GNUPGHOME=$GPGSM_HOME gpgsm --batch --no-default-keyring --keyring "$d/pubring.kbx" --status-fd 3 --output "$d/out.gpgsm" --verify "${args[@]}" \
        3>"$d/status" >"$d/g.log" 2>&1; then
    PEER_DETAIL="gpgsm: $(grep -E 'BADSIG|ERRSIG|ERROR|TRUST_' "$d/status" | tr '\n' ' ') $(tail -n 3 "$d/g.log" | tr '\n' ' ')"
    return 1
  fi
  local st
  for st in GOODSIG VALIDSIG TRUST_FULLY; do
    grep -q "^\[GNUPG:\] $st" "$d/status" || { PEER_DETAIL="gpgsm: no $st: $(tr '\n' ' ' <"$d/status")"; return 1; }
  done
  if grep -qE '^\[GNUPG:\] (BADSIG|ERRSIG|TRUST_NEVER|TRUST_UNDEFINED)' "$d/status"; then
    PEER_DETAIL="gpgsm: $(grep -E 'BADSIG|ERRSIG|TRUST_' "$d/status" | tr '\n' ' ')"; return 1
  fi
  if [ -n "$signer" ]; then
    local want got
    want=$(_pki_cert_for "$signer") || { PEER_DETAIL="no test certificate for $signer"; return 1; }
    got=$(awk '$2 == "VALIDSIG" { print $3; exit }' "$d/status")
    [ "$got" = "$(_sha1_fpr "$want")" ] || { PEER_DETAIL="gpgsm: signer $got is not $signer"; return 1; }
  fi
}

# _nss_db: an NSS database per work dir, the test root as the only trusted CA (C,C,C).
_nss_db() {
  NSS_DB=$WORK/nssdb
  [ -f "$NSS_DB/ready" ] && return 0
  mkdir -p "$NSS_DB"
  certutil -N --empty-password -d "sql:$NSS_DB" >"$NSS_DB/init.log" 2>&1 \
    && certutil -A -n ssm-test-root -t "C,C,C" -i "$PKI/root-ca.cert.der" -d "sql:$NSS_DB" >>"$NSS_DB/init.log" 2>&1 \
    || { PEER_DETAIL="certutil: $(tail -n 2 "$NSS_DB/init.log")"; return 1; }
  touch "$NSS_DB/ready"
}

# verify_cmsutil FILE [SIGNER]: cmsutil -D (certUsageEmailSigner) on the split CMS object.
verify_cmsutil() {
  local file=$1 signer=${2:-} d
  d=$(_peer_dir)
  smime_split "$file" "$d" || return 1
  _nss_db || return 1
  # cmsutil's exit status alone is not enough: with -h it prints the per-signer status as
  # headers and exits 0 even for DigestMismatch. Without -h it exits 1 on a bad signature or an
  # untrusted chain. So: exit 0 without -h, and exactly one GoodSignature with -h.
  local args=(-D -i "$d/sig.der" -d "sql:$NSS_DB" -u 4)
  [ "$(cat "$d/kind")" = detached ] && args+=(-c "$d/content")
  if ! cmsutil "${args[@]}" -o "$d/out.nss" >"$d/n.log" 2>&1; then
    PEER_DETAIL="cmsutil: $(tr '\n' ' ' <"$d/n.log" | cut -c1-300)"; return 1
  fi
  if ! cmsutil "${args[@]}" -h 1 -o "$d/out.h" >"$d/n2.log" 2>&1; then
    PEER_DETAIL="cmsutil -h: $(tr '\n' ' ' <"$d/n2.log" | cut -c1-300)"; return 1
  fi
  local hdr
  hdr=$(sed -n '/^SMIME:/,/^[^[:space:]S]/p' "$d/out.h" | tr -d '\t\n')
  case $hdr in
    *"type=signedData; nsigners=1;"*"signer0.status=GoodSignature;"*) ;;
    *) PEER_DETAIL="cmsutil: $hdr"; return 1 ;;
  esac
  case $hdr in *signer1.*) PEER_DETAIL="cmsutil: more than one signer: $hdr"; return 1 ;; esac
  if [ -n "$signer" ]; then
    case $hdr in
      *"signer0.id=\"$signer\";"*) ;;
      *) PEER_DETAIL="cmsutil: signer is not $signer: $hdr"; return 1 ;;
    esac
  fi
}

# cms_signature_algorithm DER: the first SignerInfo's signatureAlgorithm, as OpenSSL names it
# (e.g. sha256WithRSAEncryption, rsaEncryption, rsassaPss, ecdsa-with-SHA256), and for PSS the
# salt length: "rsassaPss salt=32".
cms_signature_algorithm() {
  # RSASSA-PSS-params: saltLength is [2] INTEGER (hex in the dump), default 20 (RFC 4055).
  OPENSSL_CONF=/dev/null openssl cms -cmsout -print -inform DER -in "$1" 2>/dev/null | awk '
    function hex(h,  i, v) { v = 0; h = tolower(h); for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
    /signatureAlgorithm:/ { grab = 1; next }
    grab && /algorithm:/ { alg = $2; grab = 0; if (alg != "rsassaPss") { print alg; done = 1; exit } pss = 1; salt = 20; next }
    pss && /cont \[ 2 \]/ { want = 1; next }
    pss && want && /INTEGER/ { sub(/.*:/, ""); salt = hex($0); want = 0; next }
    pss && /signature:/ { print "rsassaPss salt=" salt; done = 1; exit }'
}

# mime_leaves FILE: one line per leaf part of the MIME entity in FILE (a message or a signed
# inner entity): "<content-type> <sha256 of the decoded body>", text bodies compared with LF
# line ends and without trailing blank lines. Two files with the same leaves carry the same
# content whatever the transfer encodings (proves re-encoding lost nothing).
mime_leaves() {
  perl -MMIME::Base64 -MMIME::QuotedPrint -MDigest::SHA=sha256_hex -e '
    use strict; use warnings;
    local $/; open(my $in, "<:raw", $ARGV[0]) or die "$ARGV[0]: $!\n"; my $m = <$in>;
    $m =~ s/\r?\n/\n/g;
    sub param { my ($v, $n) = @_; return $1 if $v =~ /;\s*\Q$n\E\s*=\s*"([^"]*)"/i;
                return $1 if $v =~ /;\s*\Q$n\E\s*=\s*([^\s;]+)/i; return undef; }
    sub walk {
      my ($e, $depth) = @_; die "too deep\n" if $depth > 20;
      my ($h, $b);
      if ($e =~ /^\n/) { ($h, $b) = ("", substr($e, 1)); } else { ($h, $b) = split(/\n\n/, $e, 2); }
      $b //= ""; $h =~ s/\n([ \t])/$1/g;
      my ($ct) = $h =~ /^Content-Type:[ \t]*(.*)$/mi; $ct //= "text/plain";
      my ($cte) = $h =~ /^Content-Transfer-Encoding:[ \t]*(\S+)/mi; $cte = lc($cte // "7bit");
      my ($type) = lc($ct) =~ m{^([a-z0-9.+-]+/[a-z0-9.+-]+)}; $type //= "text/plain";
      if ($type =~ m{^multipart/}) {
        my $bd = param($ct, "boundary") // die "multipart without boundary\n";
        my @parts = split(/^--\Q$bd\E(?:--)?[ \t]*\n/m, "\n" . $b, -1);
        shift @parts; pop @parts if @parts > 1 && $b =~ /^--\Q$bd\E--/m;
        for my $p (@parts) { $p =~ s/\n\z//; walk($p, $depth + 1); }
        return;
      }
      my $body = $cte eq "base64" ? decode_base64($b) : $cte eq "quoted-printable" ? decode_qp($b) : $b;
      if ($type =~ m{^text/}) { $body =~ s/\r\n/\n/g; $body =~ s/\n+\z//; }
      print "$type ", sha256_hex($body), "\n";
    }
    walk($m, 0);' "$1"
}

# --- Decryption (outbound encryption tests) ---------------------------------------------------
#   smime_envelope FILE OUT.der        cms_envelope_summary DER
#   decrypt_openssl DER NAME OUT       decrypt_gpgsm DER NAME OUT       decrypt_cmsutil DER NAME OUT
# NAME is a key of the test PKI ($PKI/NAME.key.pem + NAME.cert.pem) or of $XPKI (keys a test
# issues itself). gpgsm and NSS get the private key the way a user's would: a PKCS#12 file
# imported into the peer's own store (a GNUPGHOME and an NSS db used only for decryption, so the
# verification stores above keep holding only the root). Each decrypt_* returns 0 only when the
# peer says it decrypted, and leaves the plaintext in OUT; PEER_DETAIL says why otherwise.

# smime_envelope FILE OUT: the CMS object of an application/pkcs7-mime enveloped-data or
# authEnveloped-data message (base64 body, decoded strictly). Sets ENVELOPE_SMIME_TYPE.
smime_envelope() {
  local file=$1 out=$2
  ENVELOPE_SMIME_TYPE=$(perl -MMIME::Base64 -e '
    use strict; use warnings;
    my ($file, $out) = @ARGV;
    open(my $in, "<:raw", $file) or die "open $file: $!\n";
    local $/; my $msg = <$in>; close $in;
    $msg =~ s/\r?\n/\n/g;
    my ($head, $body) = split(/\n\n/, $msg, 2);
    die "no header/body separator\n" unless defined $body;
    $head =~ s/\n([ \t])/$1/g;
    my @ct = $head =~ /^Content-Type:[ \t]*(.*)$/mig;
    die scalar(@ct) . " Content-Type fields\n" unless @ct == 1;
    $ct[0] =~ m{^application/(x-)?pkcs7-mime\s*;}i or die "Content-Type is $ct[0]\n";
    my ($st) = $ct[0] =~ /smime-type\s*=\s*"?([A-Za-z-]+)/i;
    defined $st && $st =~ /^(enveloped-data|authEnveloped-data)$/i or die "smime-type is " . ($st // "absent") . "\n";
    my ($cte) = $head =~ /^Content-Transfer-Encoding:[ \t]*(\S+)/mi;
    defined $cte && lc($cte) eq "base64" or die "body is not base64\n";
    $body =~ /^[A-Za-z0-9+\/=\n]*$/ or die "body is not clean base64\n";
    open(my $o, ">:raw", $out) or die "$out: $!\n"; print $o decode_base64($body); close $o;
    print "$st\n";' "$file" "$out" 2>"$out.err") || { PEER_DETAIL="envelope: $(tr '\n' ' ' <"$out.err")"; return 1; }
  [ -s "$out" ] || { PEER_DETAIL="envelope: empty CMS object"; return 1; }
}

# cms_envelope_summary DER: "<contentType> <content cipher> <kind>:<key encryption alg>..." as
# OpenSSL prints them, e.g. "id-smime-ct-authEnvelopedData aes-256-gcm ktri:rsaesOaep kari:...".
cms_envelope_summary() {
  OPENSSL_CONF=/dev/null openssl cms -cmsout -print -inform DER -in "$1" 2>/dev/null | awk '
    /^  contentType:/ { ct = $2 }
    /d\.ktri:/ { kind = "ktri" } /d\.kari:/ { kind = "kari" } /d\.kekri:|d\.pwri:|d\.ori:/ { kind = "other" }
    /keyEncryptionAlgorithm:/ { want = "ri"; next }
    /contentEncryptionAlgorithm:/ { want = "ce"; next }
    want != "" && /algorithm: [^ ]+ \(/ {
      sub(/.*algorithm: /, ""); sub(/ \(.*/, "")
      if (want == "ri") ris = ris " " kind ":" $0; else ce = $0
      want = ""
    }
    END { print ct " " ce ris }'
}

# _key_files NAME: sets KEY_PEM and CERT_PEM (test PKI first, then $XPKI).
_key_files() {
  local d
  for d in "$PKI" "${XPKI:-}"; do
    [ -n "$d" ] && [ -f "$d/$1.key.pem" ] && [ -f "$d/$1.cert.pem" ] || continue
    KEY_PEM=$d/$1.key.pem CERT_PEM=$d/$1.cert.pem; return 0
  done
  PEER_DETAIL="no key named $1"; return 1
}
# _p12_for NAME: $WORK/p12/NAME.p12, password "test", 3DES/SHA-1 (gpgsm 2.2.40 cannot read
# OpenSSL 3's default AES/PBKDF2 PKCS#12); the certificate only, no chain.
_p12_for() {
  P12=$WORK/p12/$1.p12
  [ -f "$P12" ] && return 0
  _key_files "$1" || return 1
  mkdir -p "$WORK/p12"
  OPENSSL_CONF=/dev/null openssl pkcs12 -export -in "$CERT_PEM" -inkey "$KEY_PEM" -name "$1" \
    -passout pass:test -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -out "$P12" 2>"$P12.err" \
    || { PEER_DETAIL="pkcs12 -export $1: $(tr '\n' ' ' <"$P12.err")"; rm -f "$P12"; return 1; }
}

# _gpgsm_import_p12 GNUPGHOME NAME LOG: imports NAME's key from _p12_for's PKCS#12 into
# GNUPGHOME, gpgsm's output in LOG; true when gpgsm reports the secret key imported. gpgsm 2.2.40
# fails to decrypt about one in 150 of these files ("error parsing or decrypting"; seen in CI):
# it depends on the export's random salt, not on the key (the same key exported again imports),
# so a fresh export is tried up to three times.
_gpgsm_import_p12() {
  local home=$1 name=$2 log=$3 attempt
  for attempt in 1 2 3; do
    [ "$attempt" -gt 1 ] && rm -f "$P12"  # set by the previous _p12_for
    _p12_for "$name" || return 1
    echo test | GNUPGHOME=$home gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 --import "$P12" \
      >"$log" 2>&1
    grep -q 'error parsing or decrypting the PKCS#12' "$log" || break
  done
  grep -q 'secret keys imported: 1' "$log"
}

decrypt_openssl() {
  local der=$1 name=$2 out=$3
  _key_files "$name" || return 1
  OPENSSL_CONF=/dev/null openssl cms -decrypt -binary -inform DER -in "$der" -inkey "$KEY_PEM" \
    -recip "$CERT_PEM" -out "$out" >"$out.log" 2>&1 \
    || { PEER_DETAIL="openssl cms -decrypt: $(tr '\n' ' ' <"$out.log" | cut -c1-300)"; return 1; }
}

# decrypt_gpgsm DER NAME OUT: gpgsm --decrypt in $WORK/gnupg-dec/NAME, the PKCS#12 imported
# once (key protected by "test"; loopback pinentry). One GNUPGHOME per key: gpgsm 2.2.40
# segfaults importing EC keys from PKCS#12 and leaves its dotlock files behind, which must not
# touch the keybox that other keys' decryptions use; a failed import is remembered, not retried.
decrypt_gpgsm() {
  local der=$1 name=$2 out=$3 home=$WORK/gnupg-dec/$2
  if [ -f "$home/import-failed" ]; then PEER_DETAIL=$(cat "$home/import-failed"); return 1; fi
  if [ ! -f "$home/ready" ]; then
    _gpgsm_new_home "$home"; chmod 700 "$WORK/gnupg-dec"
    GNUPGHOME=$home gpgsm --batch --import "$PKI/root-ca.cert.pem" "$PKI/sub-ca.cert.pem" >"$home/import.log" 2>&1 \
      || { PEER_DETAIL="gpgsm import CA: $(tail -n 2 "$home/import.log" | tr '\n' ' ')"; return 1; }
    if ! _gpgsm_import_p12 "$home" "$name" "$home/import-key.log"; then
      [ -f "$home/import-key.log" ] || return 1  # no PKCS#12 (PEER_DETAIL says why)
      PEER_DETAIL="gpgsm cannot import the PKCS#12 of $name: $(grep -v '^$' "$home/import-key.log" | tail -n 2 | tr '\n' ' ')"
      printf '%s' "$PEER_DETAIL" >"$home/import-failed"
      return 1
    fi
    touch "$home/ready"
  fi
  rm -f "$out"
  echo test | GNUPGHOME=$home gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 --status-fd 3 \
    --output "$out" --decrypt "$der" 3>"$out.status" >"$out.log" 2>&1
  # gpgsm exits 2 when it does not know the certificate of another RecipientInfo even though it
  # decrypted with ours: its status lines and the plaintext decide.
  [ -s "$out" ] && grep -q '^\[GNUPG:\] DECRYPTION_OKAY' "$out.status" && ! grep -q '^\[GNUPG:\] DECRYPTION_FAILED' "$out.status" \
    || { PEER_DETAIL="gpgsm --decrypt: $(grep -v '^$' "$out.log" | tail -n 2 | tr '\n' ' ')"; return 1; }
}

# decrypt_cmsutil DER NAME OUT: cmsutil -D with the PKCS#12 imported (pk12util) into
# $WORK/nssdb-dec.
decrypt_cmsutil() {
  local der=$1 name=$2 out=$3 db=$WORK/nssdb-dec
  if [ ! -f "$db/ready" ]; then
    mkdir -p "$db"
    certutil -N --empty-password -d "sql:$db" >"$db/init.log" 2>&1 \
      && certutil -A -n ssm-test-root -t "C,C,C" -i "$PKI/root-ca.cert.der" -d "sql:$db" >>"$db/init.log" 2>&1 \
      || { PEER_DETAIL="certutil: $(tail -n 2 "$db/init.log")"; return 1; }
    touch "$db/ready"
  fi
  if [ ! -f "$db/has-$name" ]; then
    _p12_for "$name" || return 1
    pk12util -i "$P12" -d "sql:$db" -W test -K '' >"$db/import-$name.log" 2>&1 \
      || { PEER_DETAIL="pk12util $name: $(tail -n 1 "$db/import-$name.log")"; return 1; }
    touch "$db/has-$name"
  fi
  rm -f "$out"
  cmsutil -D -i "$der" -d "sql:$db" -o "$out" >"$out.log" 2>&1 && [ -s "$out" ] \
    || { PEER_DETAIL="cmsutil -D: $(tr '\n' ' ' <"$out.log" | cut -c1-300)"; return 1; }
}

# --- Probes: what a library peer reads (tests/interop/heimdal.sh, wolfssl.sh) -----------------
#   peer_probe PEER LABEL CAP
# peer_probe PEER LABEL CAP: can the peer read what CAP names? Asked with an object OpenSSL
# makes (never ours), so that a "no" is the peer's and not a defect of ssm-milter. Prints
# "yes", or "no:" and the peer's words (_PEER_errors on its log). A signature is read by
# PEER_verify_der DER ANCHOR OUT (the test root), an envelope by PEER_decrypt DER NAME OUT.
# CAP: rsa, ecdsa, pss (signatures, SHA-256, opaque, the chain in the message); cbc, gcm,
# oaep (SHA-256), kari (ECDH P-256, X9.63 SHA-256 KDF, one recipient named by
# issuerAndSerialNumber, OpenSSL's default and ours), kari-keyid (the same named by rKeyId),
# mixed (an RSA and an EC recipient, read with the RSA key; mixed-oaep: the RSA one by
# RSA-OAEP SHA-256), two (two RSA recipients, read with the first one's key).
peer_probe() {
  local peer=$1 label=$2 cap=$3 d=$WORK/$1-probe/$3 e key=dave ok=0
  mkdir -p "$d"; e=$d/entity
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nprobe %s\r\n' "$cap" >"$e"
  local o=(openssl cms -binary -in "$e" -outform DER -out "$d/cms.der")
  local sign=("${o[@]}" -sign -nodetach -md sha256 -certfile "$PKI/sub-ca.cert.pem")
  case $cap in
    rsa) "${sign[@]}" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" ;;
    ecdsa) "${sign[@]}" -signer "$PKI/frank.cert.pem" -inkey "$PKI/frank.key.pem" ;;
    pss) "${sign[@]}" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" \
           -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:32 ;;
    cbc) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/dave.cert.pem" ;;
    gcm) "${o[@]}" -encrypt -aes-256-gcm -recip "$PKI/dave.cert.pem" ;;
    oaep) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/dave.cert.pem" -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 ;;
    kari) key=frank; "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/frank.cert.pem" -keyopt ecdh_kdf_md:sha256 ;;
    kari-keyid) key=frank; "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/frank.cert.pem" -keyopt ecdh_kdf_md:sha256 -keyid ;;
    mixed) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/frank.cert.pem" -keyopt ecdh_kdf_md:sha256 -recip "$PKI/dave.cert.pem" ;;
    mixed-oaep) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/frank.cert.pem" -keyopt ecdh_kdf_md:sha256 -recip "$PKI/dave.cert.pem" \
           -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 ;;
    two) "${o[@]}" -encrypt -aes-256-cbc -recip "$PKI/dave.cert.pem" -recip "$PKI/alice.cert.pem" ;;
    *) false ;;
  esac >"$d/openssl.log" 2>&1 || { echo "no: openssl could not make the probe $cap: $(tr '\n' ' ' <"$d/openssl.log")"; return; }
  case $cap in
    rsa|ecdsa|pss) "${peer}_verify_der" "$d/cms.der" "$PKI/root-ca.cert.pem" "$d/out" && ok=1 ;;
    *) "${peer}_decrypt" "$d/cms.der" "$key" "$d/out" && ok=1 ;;
  esac
  if [ "$ok" = 1 ] && cmp -s "$d/out" "$e"; then echo yes
  elif [ "$ok" = 1 ]; then echo "no: $label returned other content"
  else echo "no: $("_${peer}_errors" "$d/out.log")"; fi
}
