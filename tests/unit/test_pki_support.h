// Fixtures shared by the pki and directory unit tests: the OpenSSL-made test PKI
// (tests/fixtures/make-pki.sh) plus certificates issued here by `openssl ca` under the same
// sub-CA for the cases make-pki.sh lacks (expired, revoked with a CRL, wrong usages, X25519...);
// and the shell functions with which the path, name-constraint, CRL and anchor-scope tests
// make PKIs of their own (openssl_pki below). Test-only; trusts the files it generates itself.
#pragma once
#include <cppunit/extensions/HelperMacros.h>

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "pki/certificate.h"
#include "pki/trust_store.h"
#include "tests/unit/test_support.h"

namespace ssm::test::pki_fixture {

namespace fs = std::filesystem;

// Issues extra certificates into DIR/extra, a sub-CA CRL revoking "revoked" and an empty root
// CRL (both valid 30 days) into DIR/crls.
// issue NAME SUBJECT KEY(rsa|p256|ed25519) STARTDATE ENDDATE EXTENSIONS(printf %b text)
inline const char* extra_script = R"SH(
set -eu
cd "$1"
export OPENSSL_CONF=/dev/null
mkdir -p extra/newcerts crls
: > extra/index.txt
echo 1000 > extra/serial
echo 1000 > extra/crlnumber
cat > extra/ca.cnf <<'X'
[ca]
default_ca = sub
[sub]
dir = extra
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = sub-ca.cert.pem
private_key = sub-ca.key.pem
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
policy = anything
unique_subject = no
default_crl_days = 30
[anything]
organizationName = optional
commonName = supplied
emailAddress = optional
X
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out extra/rsa.key.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out extra/p256.key.pem 2>/dev/null
openssl genpkey -algorithm ED25519 -out extra/ed25519.key.pem 2>/dev/null
issue() {
  name=$1 subj=$2 key=$3 start=$4 end=$5 ext=$6
  printf '[ee]\n%b\n' "$ext" > "extra/$name.ext"
  openssl req -new -key "extra/$key.key.pem" -subj "$subj" -out "extra/$name.csr" 2>/dev/null
  openssl ca -batch -config extra/ca.cnf -notext -in "extra/$name.csr" -out "extra/$name.cert.pem" \
    -extfile "extra/$name.ext" -extensions ee -startdate "$start" -enddate "$end" 2>>extra/openssl.log
}
ok='basicConstraints=critical,CA:false\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nextendedKeyUsage=emailProtection'
now=20240101000000Z end=20340101000000Z
issue expired "/CN=expired" rsa 20200101000000Z 20210101000000Z "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:expired@acme.example"
issue notyet "/CN=notyet" rsa 20400101000000Z 20410101000000Z "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:notyet@acme.example"
issue serveronly "/CN=serveronly" rsa $now $end "basicConstraints=critical,CA:false\nextendedKeyUsage=serverAuth\nkeyUsage=keyEncipherment\nsubjectAltName=email:serveronly@acme.example"
issue sigonly "/CN=sigonly" rsa $now $end "$ok\nkeyUsage=digitalSignature\nsubjectAltName=email:sigonly@acme.example"
issue ecsig "/CN=ecsig" p256 $now $end "$ok\nkeyUsage=digitalSignature\nsubjectAltName=email:ecsig@acme.example"
issue wrongaddr "/CN=wrongaddr" rsa $now $end "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:someone-else@acme.example"
issue caflag "/CN=caflag" rsa $now $end "basicConstraints=critical,CA:true\nkeyUsage=keyCertSign,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:ca-flag@acme.example"
issue twin-old "/CN=twin old" rsa 20240101000000Z $end "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:twin@acme.example"
issue twin-new "/CN=twin new" rsa 20250101000000Z $end "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:twin@acme.example"
issue revoked "/CN=revoked" rsa $now $end "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:revoked@acme.example"
issue noeku "/CN=noeku" rsa $now $end "basicConstraints=critical,CA:false\nsubjectAltName=email:noeku@acme.example"
issue anyeku "/CN=anyeku" p256 $now $end "basicConstraints=critical,CA:false\nkeyUsage=keyAgreement\nextendedKeyUsage=anyExtendedKeyUsage\nsubjectAltName=email:anyeku@acme.example"
issue ed "/CN=ed" ed25519 $now $end "$ok\nkeyUsage=digitalSignature\nsubjectAltName=email:ed@acme.example"
issue legacy "/CN=Legacy/emailAddress=Legacy@Acme.Example" rsa $now $end "$ok\nkeyUsage=keyEncipherment,dataEncipherment"
issue implausible "/CN=implausible/emailAddress=ceo@acme.example" rsa $now $end "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:dave partner@partner.example"
issue multi "/CN=multi" rsa $now $end "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:One@Acme.Example,DNS:mail.acme.example,email:two@acme.example"
for i in 1 2 3 4 5 6 7 8 9; do
  issue many$i "/CN=many $i" rsa $now $end "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:many@acme.example"
done
openssl ca -batch -config extra/ca.cnf -revoke extra/revoked.cert.pem 2>>extra/openssl.log
openssl ca -batch -config extra/ca.cnf -gencrl -out crls/sub-ca.crl.pem 2>>extra/openssl.log
# the root's (empty) CRL, so that hard-fail revocation can succeed for the whole path
mkdir -p extra/root
: > extra/root/index.txt
echo 1000 > extra/root/crlnumber
sed -e 's#^dir = extra#dir = extra/root#' -e 's#sub-ca#root-ca#g' extra/ca.cnf > extra/root.cnf
openssl ca -batch -config extra/root.cnf -gencrl -out crls/root-ca.crl.pem 2>>extra/openssl.log
# X25519 (openssl cannot self-sign a request with it: -force_pubkey on a request signed by another key)
openssl genpkey -algorithm X25519 -out extra/x25519.key.pem
openssl pkey -in extra/x25519.key.pem -pubout -out extra/x25519.pub.pem
openssl req -new -key extra/rsa.key.pem -subj "/CN=xavier" -out extra/x25519.csr
printf '[ee]\n%b\n' "$ok\nkeyUsage=critical,keyAgreement\nsubjectAltName=email:Xavier@Acme.Example" > extra/x25519.ext
openssl x509 -req -in extra/x25519.csr -force_pubkey extra/x25519.pub.pem -CA sub-ca.cert.pem -CAkey sub-ca.key.pem \
  -set_serial 0x7f01 -days 365 -extfile extra/x25519.ext -extensions ee -out extra/x25519.cert.pem 2>>extra/openssl.log
# self-signed, untrusted
openssl req -x509 -key extra/rsa.key.pem -subj "/CN=self" -days 365 -out extra/selfsigned.cert.pem \
  -addext "keyUsage=keyEncipherment" -addext "extendedKeyUsage=emailProtection" \
  -addext "subjectAltName=email:self@acme.example" 2>>extra/openssl.log
# an end entity (alice) acting as a CA: path is untrusted because the issuer is not a CA
openssl req -new -key extra/rsa.key.pem -subj "/CN=mallory" -out extra/mallory.csr
printf '[ee]\n%b\n' "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:mallory@acme.example" > extra/mallory.ext
openssl x509 -req -in extra/mallory.csr -CA alice.cert.pem -CAkey alice.key.pem -set_serial 0x7f02 -days 365 \
  -extfile extra/mallory.ext -extensions ee -out extra/mallory.cert.pem 2>>extra/openssl.log
# a re-keyed issuing CA: same name as the sub-CA, another key (alice's path must skip it)
printf '[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n' > extra/ca.ext
openssl req -new -key extra/rsa.key.pem -subj "/O=SSM Test/CN=SSM Test Issuing CA" -out extra/rekeyed.csr
openssl x509 -req -in extra/rekeyed.csr -CA root-ca.cert.pem -CAkey root-ca.key.pem -set_serial 0x7f03 -days 365 \
  -extfile extra/ca.ext -extensions ca -out extra/rekeyed-ca.cert.pem 2>>extra/openssl.log
# an issuing CA the store does not hold (not in intermediates) and an end entity below it: its
# path is built only when the CA comes with it (a directory's PKCS#7 bundle, a signed message)
printf '[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > extra/pca.ext
openssl req -new -key extra/p256.key.pem -subj "/O=Partner/CN=Partner CA" -out extra/partner-ca.csr
openssl x509 -req -in extra/partner-ca.csr -CA root-ca.cert.pem -CAkey root-ca.key.pem -set_serial 0x7f04 -days 365 \
  -extfile extra/pca.ext -extensions ca -out extra/partner-ca.cert.pem 2>>extra/openssl.log
openssl req -new -key extra/rsa.key.pem -subj "/CN=chained" -out extra/chained.csr
printf '[ee]\n%b\n' "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:chained@acme.example" > extra/chained.ext
openssl x509 -req -in extra/chained.csr -CA extra/partner-ca.cert.pem -CAkey extra/p256.key.pem -set_serial 0x7f05 \
  -days 365 -extfile extra/chained.ext -extensions ee -out extra/chained.cert.pem 2>>extra/openssl.log
# the same partner CA key under a second name in PrintableString (string_mask=default), and an
# end entity that names that CA in UTF8String, signed through a self-signed UTF8String twin of it
# that no store holds: the same Name by RFC 5280 §7.1 in other bytes (PKITS 4.3.10)
printf '[req]\ndistinguished_name=dn\nstring_mask=default\n[dn]\n' > extra/printable.cnf
openssl req -new -config extra/printable.cnf -key extra/p256.key.pem -subj "/O=Partner/CN=Partner CA 2" \
  -out extra/partner-ca2.csr
openssl x509 -req -in extra/partner-ca2.csr -CA root-ca.cert.pem -CAkey root-ca.key.pem -set_serial 0x7f06 -days 365 \
  -extfile extra/pca.ext -extensions ca -out extra/partner-ca2.cert.pem 2>>extra/openssl.log
openssl req -new -key extra/p256.key.pem -subj "/O=Partner/CN=Partner CA 2" -out extra/partner-ca2-utf8.csr
openssl x509 -req -in extra/partner-ca2-utf8.csr -key extra/p256.key.pem -days 365 \
  -extfile extra/pca.ext -extensions ca -out extra/partner-ca2-utf8.pem 2>>extra/openssl.log
openssl req -new -key extra/rsa.key.pem -subj "/CN=renamed" -out extra/renamed.csr
printf '[ee]\n%b\n' "$ok\nkeyUsage=keyEncipherment\nsubjectAltName=email:renamed@acme.example" > extra/renamed.ext
openssl x509 -req -in extra/renamed.csr -CA extra/partner-ca2-utf8.pem -CAkey extra/p256.key.pem -set_serial 0x7f07 \
  -days 365 -extfile extra/renamed.ext -extensions ee -out extra/renamed.cert.pem 2>>extra/openssl.log
for f in extra/*.cert.pem; do openssl x509 -in "$f" -outform DER -out "${f%.pem}.der"; done
)SH";

// The PKI, generated once per test program.
inline const fs::path& dir()
{
    static TempDir d;
    static const bool made = [] {
        const std::string p = d.path().string();
        run("sh '" + (source_dir() / "tests/fixtures/make-pki.sh").string() + "' '" + p + "' >/dev/null");
        write_file(d.path() / "extra.sh", extra_script);
        run("sh '" + p + "/extra.sh' '" + p + "' >/dev/null 2>&1 || (cat '" + p + "/extra/openssl.log'; false)");
        return true;
    }();
    (void)made;
    return d.path();
}

// NAME.cert.pem from make-pki.sh, or extra/NAME.cert.pem.
inline fs::path cert_path(const std::string& name)
{
    fs::path p = dir() / (name + ".cert.pem");
    if (fs::exists(p)) return p;
    return dir() / "extra" / (name + ".cert.pem");
}

inline pki::Certificate cert(const std::string& name)
{
    auto certs = pki::Certificate::load_file(cert_path(name));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::size_t{1}, certs.size());
    return std::move(certs.front());
}

inline Bytes der_of(const std::string& name)
{
    const std::string s = read_file(cert_path(name).replace_extension(".der"));
    return Bytes(s.begin(), s.end());
}

// The store a deployment would have: root as anchor, sub-CA as intermediate, both CAs' CRLs.
inline pki::TrustStoreConfig store_paths()
{
    return {dir() / "trust", dir() / "intermediates", dir() / "crls"};
}

}  // namespace ssm::test::pki_fixture

namespace ssm::test::openssl_pki {

namespace fs = std::filesystem;

// What every openssl-made PKI script of the pki tests begins with (run() below puts it in
// front): in folder $1, without the system's openssl.cnf, the usual extensions and
//   key NAME                      a P-256 key, NAME.key
//   csr NAME SUBJECT [KEY]        NAME.csr for KEY.key (default NAME.key)
//   req NAME SUBJECT              key and csr; the subject after $subject_prefix (if set)
//   self NAME EXT [SERIAL]        NAME.pem: NAME.csr self-signed (EXT: printf %b text)
//   cross OUT CSR ISSUER EXT [SERIAL]
//                                 OUT.pem: CSR.csr's key and name signed by ISSUER.pem/.key;
//                                 without SERIAL the next of $serial (from 100)
// All valid 3650 days; a certificate's extensions go to OUT.ext, section [x].
inline const char* preamble = R"SH(set -eu
cd "$1"
export OPENSSL_CONF=/dev/null
serial=100
ca='basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash'
caki="$ca\nauthorityKeyIdentifier=keyid"
ee='basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
csr() { openssl req -new -key "${3:-$1}.key" -subj "$2" -out "$1.csr" 2>/dev/null; }
req() { key "$1"; csr "$1" "${subject_prefix:-}$2"; }
self() {
  printf '[x]\n%b\n' "$2" > "$1.ext"
  openssl x509 -req -in "$1.csr" -signkey "$1.key" ${3:+-set_serial "$3"} -days 3650 -extfile "$1.ext" -extensions x \
    -out "$1.pem" 2>/dev/null
}
cross() {
  if [ $# -ge 5 ]; then this_serial=$5; else serial=$((serial+1)); this_serial=$serial; fi
  printf '[x]\n%b\n' "$4" > "$1.ext"
  openssl x509 -req -in "$2.csr" -CA "$3.pem" -CAkey "$3.key" -set_serial "$this_serial" -days 3650 \
    -extfile "$1.ext" -extensions x -out "$1.pem" 2>/dev/null
}
)SH";

// Runs preamble + `body` as DIR/NAME.sh in `dir`. Its output goes to DIR/NAME.log, printed
// (with DIR/openssl.log, where scripts send the chatter of openssl ca) when the script fails.
inline void run(const fs::path& dir, const std::string& name, const std::string& body)
{
    const std::string d = dir.string();
    write_file(dir / (name + ".sh"), std::string(preamble) + body);
    test::run("sh '" + d + "/" + name + ".sh' '" + d + "' >'" + d + "/" + name + ".log' 2>&1 || (cat '" + d + "/" +
              name + ".log'; cat '" + d + "/openssl.log' 2>/dev/null; false)");
}

// A PKI made by a script of run() once per test program, when a test first asks for it (a
// failing script fails that test; the next one tries again), and its certificates by name.
class ScriptedPki {
public:
    ScriptedPki(std::string name, std::string body) : m_name(std::move(name)), m_body(std::move(body)) {}
    const fs::path& dir()
    {
        if (!m_made) {
            run(m_dir.path(), m_name, m_body);
            m_made = true;
        }
        return m_dir.path();
    }
    // NAME.pem, which must hold exactly one certificate.
    pki::Certificate cert(const std::string& name)
    {
        auto v = pki::Certificate::load_file(dir() / (name + ".pem"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::size_t{1}, v.size());
        return std::move(v.front());
    }

private:
    std::string m_name;
    std::string m_body;
    TempDir m_dir;
    bool m_made = false;
};

}  // namespace ssm::test::openssl_pki
