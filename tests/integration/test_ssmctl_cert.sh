#!/bin/bash
# ssmctl cert lookup / cert import / cache flush (PRODUCT §6) against the real stores: the
# static folder, the LMDB "imported" store and the LMDB lookup cache in front of a real slapd
# (tests/fixtures/slapd.sh). Certificates are made by OpenSSL (make-pki.sh); PKCS#7 bundles by
# `openssl crl2pkcs7`. No Postfix or token is needed: ssmctl reads only the configuration.
. "$(dirname "$0")/lib.sh"
require_tools openssl slapd slapadd ldapsearch
require_binaries
make_pki
TOKEN=$WORK/no-token  # [hsm] pin_file is named in the configuration but never read here
CTL() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" "$@"; }
mkdir -p "$WORK/certs" "$WORK/ldif"

# dave is published in the partner's directory as userCertificate;binary, the partner's
# domain-confidentiality-authority only as userSMIMECertificate (PKCS#7).
GW=domain-confidentiality-authority@partner.example
sh "$SLAPD" entry dave@partner.example --cert "$PKI/dave.cert.der" >"$WORK/ldif/dave.ldif" \
  || fatal cert-setup "slapd.sh entry dave"
sh "$SLAPD" p7c "$WORK/pd.p7c" "$PKI/partner-domain.cert.pem" || fatal cert-setup "slapd.sh p7c"
sh "$SLAPD" entry "$GW" --smime "$WORK/pd.p7c" >"$WORK/ldif/gw.ldif" || fatal cert-setup "entry gw"
# kim's issuing CA (under the test root) is not in [pki] intermediates: only the PKCS#7 bundle
# the directory publishes carries it (PRODUCT §7: intermediates from the directory).
K=$WORK/kim
mkdir -p "$K"
printf '[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n[ee]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:kim@partner.example\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$K/ext"
( cd "$K" && export OPENSSL_CONF=/dev/null &&
  openssl req -new -newkey rsa:2048 -nodes -keyout ca.key -subj "/O=Partner/CN=Partner Issuing CA" -out ca.csr &&
  openssl x509 -req -in ca.csr -CA "$PKI/root-ca.cert.pem" -CAkey "$PKI/root-ca.key.pem" -set_serial 0x4b01 -days 365 \
    -extfile ext -extensions ca -out ca.pem &&
  openssl req -new -newkey rsa:2048 -nodes -keyout kim.key -subj "/CN=kim@partner.example" -out kim.csr &&
  openssl x509 -req -in kim.csr -CA ca.pem -CAkey ca.key -set_serial 0x4b02 -days 365 -extfile ext -extensions ee -out kim.pem
) >"$K/log" 2>&1 || fatal cert-setup "kim's PKI: $(tail -n 2 "$K/log" | tr '\n' ' ')"
sh "$SLAPD" p7c "$WORK/kim.p7c" "$K/kim.pem" "$K/ca.pem" || fatal cert-setup "slapd.sh p7c kim"
sh "$SLAPD" entry kim@partner.example --smime "$WORK/kim.p7c" >"$WORK/ldif/kim.ldif" || fatal cert-setup "entry kim"
# big@partner.example: a value over the 64 KiB limit beside a certificate (dave's, not big's).
head -c 70000 /dev/zero >"$WORK/big.bin"
sh "$SLAPD" entry big@partner.example --smime "$WORK/big.bin" --cert "$PKI/dave.cert.der" >"$WORK/ldif/big.ldif" \
  || fatal cert-setup "entry big"
start_slapd cert-setup "$WORK/ldif/dave.ldif" "$WORK/ldif/gw.ldif" "$WORK/ldif/kim.ldif" "$WORK/ldif/big.ldif"

cp "$PKI/alice.cert.pem" "$WORK/certs/"
write_config "$WORK/ssm.toml" port=1 extra="$(partner_directory 2s)" || fatal cert-setup "write_config"

# expect NAME WANT_RC OUTFILE COMMAND...: runs COMMAND with stdout in OUTFILE; checks the exit.
expect_rc() {
  local name=$1 want=$2 out=$3; shift 3
  "$@" >"$out" 2>"$out.err"
  local rc=$?
  [ "$rc" -eq "$want" ] && return 0
  fail "$name" "exit $rc, wanted $want: $(tail -n 2 "$out" "$out.err" | tr '\n' ' ')"
  return 1
}
has() { grep -q -- "$2" "$1" || { fail "$3" "missing '$2' in: $(tr '\n' ' ' <"$1")"; return 1; }; }

# --- lookup: static folder ----------------------------------------------------------------
alice_serial=$(openssl x509 -in "$PKI/alice.cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
if expect_rc lookup-static 0 "$WORK/l1" CTL cert lookup alice@acme.example &&
   has "$WORK/l1" "source=\"static:$WORK/certs\" candidates=1" lookup-static &&
   has "$WORK/l1" "candidate subject=.*alice.* serial=$alice_serial not_after=20[0-9-]*T.* usable=yes" lookup-static &&
   has "$WORK/l1" "asked=no reason=\"domain not served\"" lookup-static &&
   has "$WORK/l1" "^chosen subject=.* source=\"static:alice.cert.pem\"" lookup-static; then
  pass lookup-static
fi

# --- lookup: unknown address, no certificate anywhere --------------------------------------
if expect_rc lookup-none 1 "$WORK/l2" CTL cert lookup nobody@acme.example &&
   has "$WORK/l2" "^chosen none reason=" lookup-none; then pass lookup-none; fi
expect_rc lookup-bad-address 64 "$WORK/l3" CTL cert lookup "not an address" && pass lookup-bad-address
# An unknown command is a usage error even before any configuration is read.
expect_rc unknown-command-usage 64 "$WORK/u1" "$SSM_BUILDDIR/ssmctl" -c /nonexistent/ssm-milter.toml bogus \
  && pass unknown-command-usage

# --- lookup: LDAP through the cache (miss, then hit with an age) ---------------------------
if expect_rc lookup-ldap-miss 0 "$WORK/l4" CTL cert lookup dave@partner.example &&
   has "$WORK/l4" "source=\"ldap:ldap://127.0.0.1:$LDAP_PORT\" cache=miss candidates=1 age=0s" lookup-ldap-miss &&
   has "$WORK/l4" "^chosen .*source=\"ldap:ldap://127.0.0.1:$LDAP_PORT\"" lookup-ldap-miss; then
  pass lookup-ldap-miss
fi
searches=$(sh "$SLAPD" searches "$WORK/slapd")
sleep 1
if expect_rc lookup-ldap-hit 0 "$WORK/l5" CTL cert lookup dave@partner.example &&
   has "$WORK/l5" "cache=hit candidates=1 age=[1-9][0-9]*s" lookup-ldap-hit; then
  now=$(sh "$SLAPD" searches "$WORK/slapd")
  [ "$now" -eq "$searches" ] && pass lookup-ldap-hit || fail lookup-ldap-hit "slapd searched again ($searches -> $now)"
fi
# PKCS#7 from userSMIMECertificate, and a negative answer cached too.
if expect_rc lookup-ldap-p7 0 "$WORK/l6" CTL cert lookup "$GW" &&
   has "$WORK/l6" "candidate subject=.*partner.* usable=yes" lookup-ldap-p7; then pass lookup-ldap-p7; fi
# The bundle's CA completes kim's path; it is listed as an intermediate, not as a candidate.
if expect_rc lookup-ldap-bundle-chain 0 "$WORK/l6b" CTL cert lookup kim@partner.example &&
   has "$WORK/l6b" "candidate subject=.*Partner Issuing CA.* intermediate=yes" lookup-ldap-bundle-chain &&
   has "$WORK/l6b" "candidate subject=.*kim@partner.example.* usable=yes" lookup-ldap-bundle-chain &&
   has "$WORK/l6b" "^chosen subject=.*kim@partner.example" lookup-ldap-bundle-chain; then pass lookup-ldap-bundle-chain; fi
expect_rc lookup-ldap-negative 1 "$WORK/l7" CTL cert lookup ghost@partner.example &&
  has "$WORK/l7" "cache=miss candidates=0" lookup-ldap-negative && pass lookup-ldap-negative
# An answer the limits cut: shown with why, never stored, and the first reason of "none".
if expect_rc lookup-ldap-cut 1 "$WORK/l7c" CTL cert lookup big@partner.example &&
   has "$WORK/l7c" "cache=not-stored candidates=1 cut=\"1 value(s) left out by the limits" lookup-ldap-cut &&
   has "$WORK/l7c" "^chosen none reason=\"ldap:ldap://127.0.0.1:$LDAP_PORT: answer cut: 1 value(s) left out" lookup-ldap-cut &&
   expect_rc lookup-ldap-cut 1 "$WORK/l7d" CTL cert lookup big@partner.example &&
   has "$WORK/l7d" "cache=not-stored candidates=1 cut=" lookup-ldap-cut; then pass lookup-ldap-cut; fi

# --- cache flush -----------------------------------------------------------------------------
if expect_rc flush-one 0 "$WORK/f1" CTL cache flush Dave@Partner.Example &&
   has "$WORK/f1" 'flushed address="dave@partner.example" removed=1' flush-one &&
   expect_rc flush-one 0 "$WORK/f2" CTL cache flush dave@partner.example &&
   has "$WORK/f2" 'removed=0' flush-one &&
   expect_rc flush-one 0 "$WORK/l8" CTL cert lookup dave@partner.example &&
   has "$WORK/l8" "cache=miss" flush-one &&
   expect_rc flush-one 0 "$WORK/l9" CTL cert lookup "$GW" &&
   has "$WORK/l9" "cache=hit" flush-one; then
  pass flush-one
fi
expect_rc flush-one-bad 64 "$WORK/f3" CTL cache flush "x y" && pass flush-one-bad

# --- directory down: cached answers still serve, unknown addresses are "unavailable" -------
sh "$SLAPD" stop "$WORK/slapd" || fatal cert-ldap-stop "slapd did not stop"
if expect_rc down-cached 0 "$WORK/d1" CTL cert lookup dave@partner.example &&
   has "$WORK/d1" "cache=hit" down-cached; then pass down-cached; fi
if expect_rc down-unknown 2 "$WORK/d2" CTL cert lookup carol@partner.example &&
   has "$WORK/d2" "unavailable=" down-unknown &&
   has "$WORK/d2" "^chosen none unavailable=" down-unknown; then pass down-unknown; fi
# The decision is made over the answers printed per source: the server is asked once (until
# 2026-12-01 twice, so an unreachable server cost two timeouts).
n=$(grep -c 'ldap_server_failed' "$WORK/d2.err")
if [ "$n" = 1 ]; then pass down-asked-once; else fail down-asked-once "the LDAP server was tried $n times (want 1)"; fi

# --- cert import: PEM, DER, PKCS#7 DER and PEM; static and LDAP come first ------------------
if expect_rc import-pem 0 "$WORK/i1" CTL cert import "$PKI/carol.cert.pem" &&
   has "$WORK/i1" 'imported address="carol@acme.example" subject=.* usable=yes' import-pem &&
   expect_rc import-pem 0 "$WORK/i2" CTL cert lookup carol@acme.example &&
   has "$WORK/i2" 'source="imported" candidates=1' import-pem &&
   has "$WORK/i2" 'candidate .* source="imported" stored=20' import-pem &&
   has "$WORK/i2" '^chosen .*source="imported"' import-pem; then
  pass import-pem
fi
if expect_rc import-der 0 "$WORK/i3" CTL cert import "$PKI/erin.cert.der" &&
   has "$WORK/i3" 'imported address="erin@' import-der; then pass import-der; fi
openssl crl2pkcs7 -nocrl -certfile "$PKI/frank.cert.pem" -certfile "$PKI/sub-ca.cert.pem" -outform DER \
  -out "$WORK/frank.p7c" 2>/dev/null || fatal import-p7 "openssl crl2pkcs7"
# frank is in the LDAP domain but the directory is down: the import answers for him.
if expect_rc import-p7-der 0 "$WORK/i4" CTL cert import "$WORK/frank.p7c" &&
   has "$WORK/i4" 'imported address="frank@partner.example"' import-p7-der &&
   has "$WORK/i4" 'skipped subject=.* reason="no e-mail address"' import-p7-der &&
   expect_rc import-p7-der 0 "$WORK/i5" CTL cert lookup frank@partner.example &&
   has "$WORK/i5" '^chosen .*source="imported"' import-p7-der; then
  pass import-p7-der
fi
openssl crl2pkcs7 -nocrl -certfile "$PKI/bob.cert.pem" -out "$WORK/bob.p7b" 2>/dev/null || fatal import-p7 "crl2pkcs7 pem"
expect_rc import-p7-pem 0 "$WORK/i6" CTL cert import "$WORK/bob.p7b" &&
  has "$WORK/i6" 'imported address="bob@acme.example"' import-p7-pem && pass import-p7-pem
printf 'not a certificate\n' >"$WORK/junk.pem"
expect_rc import-junk 1 "$WORK/i7" CTL cert import "$WORK/junk.pem" && pass import-junk
# A file that cannot be read: 64 and the reason (ssmctl(8)); a folder is no empty file.
expect_rc import-missing-file 64 "$WORK/i12" CTL cert import "$WORK/no-such.pem" &&
  has "$WORK/i12.err" "cannot read $WORK/no-such.pem: No such file or directory" import-missing-file &&
  pass import-missing-file
expect_rc import-folder 64 "$WORK/i13" CTL cert import "$WORK/certs" &&
  has "$WORK/i13.err" "cannot read $WORK/certs: Is a directory" import-folder && pass import-folder
# The static folder wins over an imported certificate for the same address.
if expect_rc import-order 0 "$WORK/i8" CTL cert import "$PKI/alice.cert.pem" &&
   expect_rc import-order 0 "$WORK/i9" CTL cert lookup alice@acme.example &&
   has "$WORK/i9" '^chosen .*source="static:alice.cert.pem"' import-order; then pass import-order; fi

# [directory] source_order: the directory before the static folder (and the rest as before).
sed 's#^\[directory\]$#[directory]\nsource_order = ["ldap", "static"]#' "$WORK/ssm.toml" >"$WORK/order.toml"
if expect_rc source-order 0 "$WORK/o1" "$SSM_BUILDDIR/ssmctl" -c "$WORK/order.toml" cert lookup alice@acme.example &&
   [ "$(grep -o '^source="[a-z]*' "$WORK/o1" | tr '\n' ' ')" = 'source="ldap source="static source="imported source="harvested ' ]; then
  pass source-order
else fail source-order "$(grep '^source=' "$WORK/o1" | cut -c1-60 | tr '\n' '|')"; fi

# An imported bundle's CA completes its end entity's path (kept as chain material).
cat "$K/kim.pem" "$K/ca.pem" >"$WORK/kim-bundle.pem"
if expect_rc import-bundle-chain 0 "$WORK/i10" CTL cert import "$WORK/kim-bundle.pem" &&
   has "$WORK/i10" 'imported address="kim@partner.example" .* usable=yes' import-bundle-chain &&
   expect_rc import-bundle-chain 0 "$WORK/i11" CTL cert lookup kim@partner.example &&
   has "$WORK/i11" '^chosen .*source="imported"' import-bundle-chain; then pass import-bundle-chain; fi

# --- flush all: directory answers go, imported certificates stay -----------------------------
if expect_rc flush-all 0 "$WORK/f4" CTL cache flush &&
   has "$WORK/f4" 'flushed removed=[1-9]' flush-all &&
   expect_rc flush-all 2 "$WORK/f5" CTL cert lookup dave@partner.example &&
   expect_rc flush-all 0 "$WORK/f6" CTL cert lookup carol@acme.example; then
  pass flush-all
fi

# --- an unusable [[directory.ldap]] entry is a configuration error naming file:line:column ----
sed 's#^timeout = "2s"#bind_dn = "cn=reader,dc=partner,dc=example"\nbind_password_file = "'"$WORK"'/no-such.pw"#' \
  "$WORK/ssm.toml" >"$WORK/bad.toml"
line=$(grep -n '^\[\[directory.ldap\]\]' "$WORK/bad.toml" | cut -d: -f1)
if expect_rc config-ldap-error 78 "$WORK/c1" "$SSM_BUILDDIR/ssm-milter" -c "$WORK/bad.toml" -n &&
   has "$WORK/c1.err" "^$WORK/bad.toml:$line:1: \[\[directory.ldap\]\]: .*no-such.pw" config-ldap-error &&
   expect_rc config-ldap-error 78 "$WORK/c2" "$SSM_BUILDDIR/ssmctl" -c "$WORK/bad.toml" cert lookup dave@partner.example &&
   has "$WORK/c2.err" "^$WORK/bad.toml:$line:1: \[\[directory.ldap\]\]" config-ldap-error; then
  pass config-ldap-error
fi
