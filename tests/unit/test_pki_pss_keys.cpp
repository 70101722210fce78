// Unit tests for issuers whose own key is id-RSASSA-PSS (RFC 4055 §3.1): certificate and CRL
// signatures GnuTLS 3.7.9 refuses although they are right (OpenSSL's "max" salt; a key whose
// parameters name MGF1 over another hash, which GnuTLS does not import at all), checked by
// pki/certificate_signature.h within the key's parameters (RFC 4055 §3.3).
// Every certificate and CRL is made here by openssl (one key re-exported by Python
// cryptography); nothing is made by our code.
#include <cppunit/extensions/HelperMacros.h>

#include <gnutls/x509.h>

#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pki/certificate.h"
#include "pki/certificate_signature.h"
#include "pki/crl_set.h"
#include "pki/trust_store.h"
#include "tests/unit/test_pki_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::pki;
namespace fs = std::filesystem;

namespace {

// pkroot (P-256) certifies two CAs with id-RSASSA-PSS keys, both SHA-256 and a salt of at
// least 32 octets: ppk with MGF1 over SHA-256, ppk512 with MGF1 over SHA-512 (GnuTLS 3.7.9
// refuses to import that key). ppk-plain is ppk's key as plain RSA under a twin rsaEncryption
// certificate with ppk's name: OpenSSL will not sign outside a PSS key's parameters with the
// key itself, so what ppk must refuse is signed as ppk-plain (and verifies under the twin).
const char* pss_keys_script = R"SH(
key pkroot; csr pkroot "/O=PK/CN=PK-Root"; self pkroot "$ca"
pss_key_ca() {  # OUT SUBJECT MGF1-HASH
  openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha256 \
    -pkeyopt rsa_pss_keygen_mgf1_md:$3 -pkeyopt rsa_pss_keygen_saltlen:32 -out "$1.key" 2>/dev/null
  csr "$1" "$2"; cross "$1" "$1" pkroot "$caki"
}
pss_key_ca ppk "/O=PK/CN=PSS-Key-CA" sha256
pss_key_ca ppk512 "/O=PK/CN=PSS-Key-CA-MGF1-SHA512" sha512
pss_key_ca ppk1 "/O=PK/CN=PSS-Key-CA-MGF1-SHA1" sha1
python3 -c 'from cryptography.hazmat.primitives import serialization as s
for n in ("ppk", "ppk1"):
    k = s.load_pem_private_key(open(n + ".key", "rb").read(), None)
    open(n + "-plain.key", "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()))'
csr ppk-plain "/O=PK/CN=PSS-Key-CA"; cross ppk-plain ppk-plain pkroot "$caki"
csr ppk1-plain "/O=PK/CN=PSS-Key-CA-MGF1-SHA1"; cross ppk1-plain ppk1-plain pkroot "$caki"
pss_ee() {  # OUT SUBJECT ISSUER [SIGOPT...]: a P-256 end entity ISSUER signs with RSA-PSS
  out=$1 subject=$2 issuer=$3; shift 3
  key "$out"; csr "$out" "$subject"; serial=$((serial+1))
  printf '[x]\n%b\n' "$ee\nsubjectAltName=email:ee@example.com" > "$out.ext"
  openssl x509 -req -in "$out.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -set_serial $serial -days 3650 \
    -sigopt rsa_padding_mode:pss "$@" -extfile "$out.ext" -extensions x -out "$out.pem" 2>/dev/null
}
# Within the keys' parameters: OpenSSL's default for the key (GnuTLS verifies it) and the
# maximum salt (GnuTLS refuses it); a salt of 64 made as ppk-plain.
pss_ee ppk-own-ee "/O=PK/CN=ee" ppk
pss_ee ppk-max-ee "/O=PK/CN=ee" ppk -sigopt rsa_pss_saltlen:max
pss_ee ppk-revoked "/O=PK/CN=revoked" ppk -sigopt rsa_pss_saltlen:max
pss_ee ppk-twin-salt64-ee "/O=PK/CN=ee" ppk-plain -sigopt rsa_pss_saltlen:64
pss_ee ppk512-own-ee "/O=PK/CN=ee" ppk512
pss_ee ppk512-max-ee "/O=PK/CN=ee" ppk512 -sigopt rsa_pss_saltlen:max
pss_ee ppk512-revoked "/O=PK/CN=revoked" ppk512
pss_ee ppk1-own-ee "/O=PK/CN=ee" ppk1
pss_ee ppk1-max-ee "/O=PK/CN=ee" ppk1 -sigopt rsa_pss_saltlen:max
# Outside ppk's parameters: a salt below 32, another hash, MGF1 over another hash.
pss_ee ppk-twin-salt20-ee "/O=PK/CN=ee" ppk-plain -sigopt rsa_pss_saltlen:20
pss_ee ppk-twin-sha512-ee "/O=PK/CN=ee" ppk-plain -sha512 -sigopt rsa_pss_saltlen:64
pss_ee ppk-twin-mgf1sha1-ee "/O=PK/CN=ee" ppk-plain -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha1
# Outside ppk1's: MGF1 over SHA-256 (GnuTLS verifies any RSASSA-PSS signature so).
pss_ee ppk1-twin-mgf256-ee "/O=PK/CN=ee" ppk1-plain -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256
# ... and PKCS#1 v1.5, which an id-RSASSA-PSS key must not make (RFC 4055 §1.2).
key ppk-twin-pkcs1-ee; csr ppk-twin-pkcs1-ee "/O=PK/CN=ee"
cross ppk-twin-pkcs1-ee ppk-twin-pkcs1-ee ppk-plain "$ee\nsubjectAltName=email:ee@example.com"
# CRLs of the PSS-key CAs (the maximum salt for ppk's: GnuTLS refuses it), each revoking one end entity.
crl() {  # CA CERT|- [SIGOPT...]: CA's CRL (valid 30 days) listing CERT, or none
  c=$1 r=$2; shift 2; : > $c.idx; echo 01 > $c.crlnum
  printf '[ca]\ndefault_ca=x\n[x]\ndatabase=%s\ncertificate=%s.pem\nprivate_key=%s.key\ncrlnumber=%s\ndefault_md=sha256\ndefault_crl_days=30\n' \
    $c.idx $c $c $c.crlnum > $c.crl.cnf
  [ "$r" = - ] || openssl ca -batch -config $c.crl.cnf -revoke $r.pem >>openssl.log 2>&1
  mkdir -p crls; openssl ca -batch -config $c.crl.cnf -gencrl "$@" -out crls/$c.crl.pem >>openssl.log 2>&1
}
# ppk's own default (salt 32, GnuTLS verifies it) and, in ppk's name as ppk-plain, outside its
# key's parameters (a salt below 32; PKCS#1 v1.5): kept out of crls/.
crl ppk ppk-revoked; mv crls/ppk.crl.pem ppk-own.crl.pem
crl ppk-plain - -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20; mv crls/ppk-plain.crl.pem ppk-twin-salt20.crl.pem
crl ppk-plain -; mv crls/ppk-plain.crl.pem ppk-twin-pkcs1.crl.pem
# ... and in ppk1's name as ppk1-plain, MGF1 over SHA-256 where ppk1's key allows SHA-1 only.
crl ppk1-plain - -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256
mv crls/ppk1-plain.crl.pem ppk1-twin-mgf256.crl.pem
crl ppk ppk-revoked -sigopt rsa_pss_saltlen:max
crl ppk512 ppk512-revoked
crl pkroot -
mkdir -p trust int; cp pkroot.pem trust/; cp ppk.pem ppk512.pem ppk1.pem int/
)SH";

test::openssl_pki::ScriptedPki& made_pki()
{
    static test::openssl_pki::ScriptedPki pki("pssk", pss_keys_script);
    return pki;
}

Certificate cert(const std::string& name) { return made_pki().cert(name); }

// A store of pkroot as anchor and `intermediates`, without revocation.
TrustStore store_of(const std::vector<const char*>& intermediates)
{
    std::vector<Certificate> anchors, ints;
    anchors.push_back(cert("pkroot"));
    for (const char* i : intermediates) ints.push_back(cert(i));
    return TrustStore(std::move(anchors), std::move(ints), Revocation::Off);
}

// Whether the PEM CRL file `name` (in the made PKI's folder) is signed by `signer`'s key.
bool crl_file_signed_by(const std::string& name, const Certificate& signer)
{
    const std::string pem = test::read_file(made_pki().dir() / name);
    gnutls_x509_crl_t raw = nullptr;
    CPPUNIT_ASSERT(gnutls_x509_crl_init(&raw) >= 0);
    const std::unique_ptr<gnutls_x509_crl_int, void (*)(gnutls_x509_crl_t)> crl(raw, gnutls_x509_crl_deinit);
    const gnutls_datum_t d{reinterpret_cast<unsigned char*>(const_cast<char*>(pem.data())), static_cast<unsigned>(pem.size())};
    CPPUNIT_ASSERT_MESSAGE(name, gnutls_x509_crl_import(crl.get(), &d, GNUTLS_X509_FMT_PEM) >= 0);
    return crl_signed_by(crl.get(), signer);
}

}  // namespace

class PkiPssKeysTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PkiPssKeysTest);
    CPPUNIT_TEST(signatures_within_the_key_parameters);
    CPPUNIT_TEST(signatures_outside_the_key_parameters);
    CPPUNIT_TEST(paths_through_pss_key_cas);
    CPPUNIT_TEST(crls_of_pss_key_cas);
    CPPUNIT_TEST(crl_signatures_outside_the_key_parameters);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { (void)made_pki().dir(); }

    // Until 2026-12-05 pss_signature_verifies took plain RSA issuer keys only: signature_verifies
    // refused ppk's signatures with a salt other than 32 (GnuTLS verifies with the key's own),
    // and ppk512's key, which GnuTLS does not import, verified nothing. signed_by then took
    // every certificate naming ppk512 as its issuer, a changed signature too (GnuTLS marks
    // such a link GNUTLS_CERT_INVALID alone, which signed_by did not count as refused).
    void signatures_within_the_key_parameters()
    {
        const struct {
            const char* ee;
            const char* ca;
            bool beyond_gnutls;
        } cases[] = {
            {"ppk-own-ee", "ppk", false},          {"ppk-max-ee", "ppk", false},
            {"ppk-twin-salt64-ee", "ppk", false},  {"ppk512-own-ee", "ppk512", true},
            {"ppk512-max-ee", "ppk512", true},     {"ppk1-own-ee", "ppk1", true},
            {"ppk1-max-ee", "ppk1", true},
        };
        for (const auto& c : cases) {
            const Certificate ee = cert(c.ee), ca = cert(c.ca);
            CPPUNIT_ASSERT_MESSAGE(c.ee, signed_by(ee, ca));
            CPPUNIT_ASSERT_MESSAGE(c.ee, signature_verifies(ee, ca));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.ee, c.beyond_gnutls, signed_beyond_gnutls(ee, ca));
            const char* other = std::string(c.ca) == "ppk" ? "ppk512" : "ppk";  // another CA's key
            CPPUNIT_ASSERT_MESSAGE(c.ee, !signature_verifies(ee, cert(other)));
            Bytes der = ee.der();
            der.back() ^= 0x01;  // the signature's last octet
            const auto changed = Certificate::parse_der(der);
            CPPUNIT_ASSERT_MESSAGE(c.ee, changed && !signed_by(*changed, ca) && !signature_verifies(*changed, ca));
        }
    }

    // RFC 4055 §3.3: ppk's key makes only SHA-256 signatures with MGF1 over SHA-256 and a salt
    // of 32 octets or more (and no PKCS#1 v1.5 ones, §1.2). These are right under the twin
    // rsaEncryption certificate of the same key and must fail under ppk. Until 2026-12-05
    // signed_by took the shorter salt and SHA-512 under ppk: GnuTLS 3.7.9 refuses them only with
    // its signer-constraints bit, which signed_by set aside (names are judged by pki/).
    void signatures_outside_the_key_parameters()
    {
        for (const char* name :
             {"ppk-twin-salt20-ee", "ppk-twin-sha512-ee", "ppk-twin-mgf1sha1-ee", "ppk-twin-pkcs1-ee"}) {
            const Certificate ee = cert(name);
            CPPUNIT_ASSERT_MESSAGE(name, signed_by(ee, cert("ppk-plain")) && signature_verifies(ee, cert("ppk-plain")));
            CPPUNIT_ASSERT_MESSAGE(name, !signed_by(ee, cert("ppk")));
            CPPUNIT_ASSERT_MESSAGE(name, !signature_verifies(ee, cert("ppk")));
            CPPUNIT_ASSERT_MESSAGE(name, !signed_beyond_gnutls(ee, cert("ppk")));
            const auto r = store_of({"ppk"}).validate(ee, {}, std::time(nullptr), Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + r.describe(), !r.valid());
        }
        // ppk1's key allows MGF1 over SHA-1 only; gnutls_pubkey_verify_data2 takes MGF1 over
        // SHA-256, the signature's hash, whatever the key allows. Until 2026-12-05
        // signature_verifies took this signature under ppk1 (its GnuTLS answer stood);
        // signed_by and so the path refused it already.
        const Certificate ee = cert("ppk1-twin-mgf256-ee");
        CPPUNIT_ASSERT(signed_by(ee, cert("ppk1-plain")) && signature_verifies(ee, cert("ppk1-plain")));
        CPPUNIT_ASSERT(!signed_by(ee, cert("ppk1")) && !signed_beyond_gnutls(ee, cert("ppk1")));
        CPPUNIT_ASSERT(!signature_verifies(ee, cert("ppk1")));
        const auto r = store_of({"ppk1"}).validate(ee, {}, std::time(nullptr), Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(r.describe(), !r.valid());
    }

    // Until 2026-12-05 paths through ppk512 were refused (GnuTLS: GNUTLS_CERT_INVALID alone, no
    // cut at that link); those through ppk GnuTLS accepts itself.
    void paths_through_pss_key_cas()
    {
        const std::time_t now = std::time(nullptr);
        for (const char* name : {"ppk-own-ee", "ppk-max-ee", "ppk-twin-salt64-ee"}) {
            const auto r = store_of({"ppk"}).validate(cert(name), {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + r.describe(), r.valid());
        }
        for (const char* name : {"ppk512-own-ee", "ppk512-max-ee"}) {
            const auto r = store_of({"ppk512"}).validate(cert(name), {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + r.describe(), r.valid());
        }
        for (const char* name : {"ppk1-own-ee", "ppk1-max-ee"}) {
            const auto r = store_of({"ppk1"}).validate(cert(name), {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + r.describe(), r.valid());
        }
        // A changed signature below such a CA is still a bad signature.
        Bytes der = cert("ppk-max-ee").der();
        der.back() ^= 0x01;
        const auto changed = Certificate::parse_der(der);
        CPPUNIT_ASSERT(changed);
        const auto r = store_of({"ppk"}).validate(*changed, {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(r.describe(), !r.valid() && r.has(Problem::BadSignature));
    }

    // A PSS-key CA's CRL (ppk's with the maximum salt, GnuTLS refuses it; ppk512's by a key
    // GnuTLS does not import) revokes what it lists, also when every certificate needs an answer.
    // Until 2026-12-05 both were ignored ("its signature does not verify with its issuer"), and
    // then below ppk512 the plain CRLs were taken as applied by GnuTLS, which had refused the path.
    void crls_of_pss_key_cas()
    {
        OnlineRevocationConfig offline;
        offline.ocsp = false;
        offline.crl_distribution_points = false;
        const std::time_t now = std::time(nullptr);
        const fs::path dir = made_pki().dir();
        for (const Revocation mode : {Revocation::SoftFail, Revocation::HardFail}) {
            const TrustStore store(TrustStoreConfig{dir / "trust", dir / "int", dir / "crls", mode, offline});
            for (const char* name : {"ppk-revoked", "ppk512-revoked"}) {
                const auto r = store.validate(cert(name), {}, now, Purpose::EmailProtection);
                CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + r.describe(), !r.valid() && r.has(Problem::Revoked));
            }
            for (const char* name : {"ppk-max-ee", "ppk512-own-ee"}) {
                const auto r = store.validate(cert(name), {}, now, Purpose::EmailProtection);
                CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + r.describe(), r.valid());
            }
        }
    }

    // RFC 4055 §3.3 for CRLs as for certificates: in ppk's name, made with its key, but a salt
    // below its minimum or PKCS#1 v1.5: not ppk's CRL (each verifies under the twin
    // rsaEncryption certificate, so only the key's parameters refuse it). So for ppk1's with
    // MGF1 over SHA-256: until 2026-12-05 crl_signed_by took it, as GnuTLS 3.7.9 accepts it
    // (its RSASSA-PSS check ran only on CRLs GnuTLS refused); the other two GnuTLS refuses.
    void crl_signatures_outside_the_key_parameters()
    {
        CPPUNIT_ASSERT(crl_file_signed_by("ppk-own.crl.pem", cert("ppk")));
        CPPUNIT_ASSERT(crl_file_signed_by("crls/ppk.crl.pem", cert("ppk")));
        for (const char* name : {"ppk-twin-salt20.crl.pem", "ppk-twin-pkcs1.crl.pem"}) {
            CPPUNIT_ASSERT_MESSAGE(name, crl_file_signed_by(name, cert("ppk-plain")));
            CPPUNIT_ASSERT_MESSAGE(name, !crl_file_signed_by(name, cert("ppk")));
        }
        CPPUNIT_ASSERT(crl_file_signed_by("ppk1-twin-mgf256.crl.pem", cert("ppk1-plain")));
        CPPUNIT_ASSERT(!crl_file_signed_by("ppk1-twin-mgf256.crl.pem", cert("ppk1")));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PkiPssKeysTest);
