// The hand-written EMSA-PSS verification (base/rsa_pss.h, RFC 8017 §9.1.2) against
// encodings made by Python (hashlib, and the cryptography package's own PSS signer, OpenSSL
// underneath) with keys OpenSSL generated: moduli whose bit length is and is not a multiple of
// 8, e = 3 and 65537. Each encoding rule broken once must be refused; the RSASSA-PSS
// parameters (RFC 4055 §3.1) are checked against hand-assembled DER.
#include <cppunit/extensions/HelperMacros.h>
#include <gmp.h>
#include <nettle/rsa.h>

#include <sstream>

#include "smime/cms/oids.h"
#include "base/rsa_pss.h"
#include "smime/cms/verify_signature.h"
#include "tests/unit/test_cms_verify_support.h"

using namespace ssm;
using namespace ssm::smime;
using namespace ssm::smime::cms;
using namespace ssm::verifytest;

namespace {

// One line per case: name expect message-hash mask-hash salt-length n e s digest (hex).
const char* const kCaseScript = R"PY(
import hashlib, os
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

H = {'sha1': hashlib.sha1, 'sha256': hashlib.sha256, 'sha384': hashlib.sha384, 'sha512': hashlib.sha512}
C = {'sha1': hashes.SHA1, 'sha256': hashes.SHA256, 'sha384': hashes.SHA384, 'sha512': hashes.SHA512}

def mgf1(name, seed, length):
    out, counter = b'', 0
    while len(out) < length:
        out += H[name](seed + counter.to_bytes(4, 'big')).digest()
        counter += 1
    return out[:length]

# RFC 8017 9.1.1, with one rule broken on request.
def encode(mhash, hname, mgfname, salt, em_bits, broken=None):
    em_len = (em_bits + 7) // 8
    h = H[hname](b'\0' * 8 + mhash + salt).digest()
    ps_len = em_len - len(salt) - len(h) - 2
    db = bytearray(b'\0' * ps_len + b'\1' + salt)
    if broken == 'ps': db[ps_len // 2] = 1
    if broken == 'separator': db[ps_len] = 2
    masked = bytearray(a ^ b for a, b in zip(db, mgf1(mgfname, h, len(db))))
    masked[0] &= 0xff >> (8 * em_len - em_bits)
    if broken == 'hash': h = bytes([h[0] ^ 1]) + h[1:]
    em = int.from_bytes(bytes(masked) + h + (b'\xbd' if broken == 'trailer' else b'\xbc'), 'big')
    if broken == 'top-bit': em |= 1 << em_bits  # the first bit above emBits
    return em

def out(name, expect, hname, mgfname, salt_len, key, s, mhash):
    pub = key.public_key().public_numbers()
    print(name, expect, hname, mgfname, salt_len, '%x' % pub.n, '%x' % pub.e, '%x' % s, mhash.hex())

for e, bits in ((65537, 2048), (65537, 2049), (65537, 2047), (3, 2048)):
    key = rsa.generate_private_key(public_exponent=e, key_size=bits)
    n, d = key.public_key().public_numbers().n, key.private_numbers().d
    em_bits = n.bit_length() - 1
    tag = '%d/e=%d' % (bits, e)
    mhash = hashlib.sha256(b'content').digest()
    def sign(broken=None, hname='sha256', mgfname='sha1', salt_len=20, digest=mhash):
        # 'top-bit' needs em < n: try other salts. Each try succeeds with (n - 2^emBits) / 2^emBits,
        # at least 1/8 for these keys (two top bits set in p and q); 64 tries failed once in a CI
        # run (odds about 1 in 5000 per key), 4096 never will (about 1 in 10^237).
        for _ in range(4096):
            em = encode(digest, hname, mgfname, os.urandom(salt_len), em_bits, broken)
            if em < n: return pow(em, d, n)
        raise SystemExit('no encoding below n')
    good = sign()
    out(tag + ':good', 1, 'sha256', 'sha1', 20, key, good, mhash)
    h512 = hashlib.sha512(b'content').digest()
    out(tag + ':good-sha512-mgf1sha256-salt64', 1, 'sha512', 'sha256', 64, key,
        sign(hname='sha512', mgfname='sha256', salt_len=64, digest=h512), h512)
    out(tag + ':good-salt0', 1, 'sha256', 'sha1', 0, key, sign(salt_len=0), mhash)
    h1 = hashlib.sha1(b'content').digest()
    out(tag + ':good-sha1-defaults', 1, 'sha1', 'sha1', 20, key, sign(hname='sha1', digest=h1), h1)
    third = int.from_bytes(key.sign(mhash, padding.PSS(mgf=padding.MGF1(hashes.SHA1()), salt_length=32),
                                    utils.Prehashed(hashes.SHA256())), 'big')
    out(tag + ':good-cryptography-signer', 1, 'sha256', 'sha1', 32, key, third, mhash)
    out(tag + ':cryptography-signer-salt-claimed-20', 0, 'sha256', 'sha1', 20, key, third, mhash)
    h384 = hashlib.sha384(b'content').digest()
    third = int.from_bytes(key.sign(h384, padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=48),
                                    utils.Prehashed(hashes.SHA384())), 'big')
    out(tag + ':good-cryptography-sha384-mgf1sha512', 1, 'sha384', 'sha512', 48, key, third, h384)
    for broken in ('trailer', 'ps', 'separator', 'hash', 'top-bit'):
        out(tag + ':broken-' + broken, 0, 'sha256', 'sha1', 20, key, sign(broken), mhash)
    out(tag + ':salt-shorter-than-claimed', 0, 'sha256', 'sha1', 20, key, sign(salt_len=19), mhash)
    out(tag + ':salt-longer-than-claimed', 0, 'sha256', 'sha1', 20, key, sign(salt_len=21), mhash)
    out(tag + ':mask-over-another-hash', 0, 'sha256', 'sha1', 20, key, sign(mgfname='sha256'), mhash)
    out(tag + ':mask-claimed-sha256', 0, 'sha256', 'sha256', 20, key, good, mhash)
    out(tag + ':message-hash-claimed-sha512', 0, 'sha512', 'sha1', 20, key, good, h512)
    out(tag + ':other-digest', 0, 'sha256', 'sha1', 20, key, good, hashlib.sha256(b'other').digest())
    out(tag + ':digest-one-octet-short', 0, 'sha256', 'sha1', 20, key, good, mhash[:-1])
    out(tag + ':salt-too-long-for-the-key', 0, 'sha256', 'sha1', 4096, key, good, mhash)
    out(tag + ':signature-n', 0, 'sha256', 'sha1', 20, key, n, mhash)
    out(tag + ':signature-plus-n', 0, 'sha256', 'sha1', 20, key, good + n, mhash)
    out(tag + ':signature-0', 0, 'sha256', 'sha1', 20, key, 0, mhash)
    out(tag + ':signature-1', 0, 'sha256', 'sha1', 20, key, 1, mhash)
    out(tag + ':signature-n-minus-1', 0, 'sha256', 'sha1', 20, key, n - 1, mhash)
    out(tag + ':hash-md5', 0, 'md5', 'sha1', 20, key, good, hashlib.md5(b'content').digest())
    out(tag + ':mask-sha224', 0, 'sha256', 'sha224', 20, key, good, mhash)
    if e == 3:
        # No reduction mod n: the cube root of a well-formed encoding (rounded up), as a
        # forger without the key would try; PSS leaves no octets unchecked to absorb it.
        em = encode(mhash, 'sha256', 'sha1', os.urandom(20), em_bits)
        lo, hi = 0, 1 << (em_bits // 3 + 2)
        while lo < hi:
            mid = (lo + hi) // 2
            if mid ** 3 < em: lo = mid + 1
            else: hi = mid
        out(tag + ':cube-root-forgery', 0, 'sha256', 'sha1', 20, key, lo, mhash)
)PY";

gnutls_digest_algorithm_t digest_named(const std::string& name)
{
    if (name == "sha1") return GNUTLS_DIG_SHA1;
    if (name == "sha256") return GNUTLS_DIG_SHA256;
    if (name == "sha384") return GNUTLS_DIG_SHA384;
    if (name == "sha512") return GNUTLS_DIG_SHA512;
    if (name == "sha224") return GNUTLS_DIG_SHA224;
    if (name == "md5") return GNUTLS_DIG_MD5;
    throw std::runtime_error("unknown hash in a case: " + name);
}

Bytes from_hex(const std::string& hex)
{
    Bytes b;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) b.push_back(std::uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return b;
}

struct PublicKey {
    PublicKey(const std::string& n, const std::string& e)
    {
        rsa_public_key_init(&k);
        mpz_set_str(k.n, n.c_str(), 16);
        mpz_set_str(k.e, e.c_str(), 16);
        ok = rsa_public_key_prepare(&k) != 0;
    }
    ~PublicKey() { rsa_public_key_clear(&k); }
    PublicKey(const PublicKey&) = delete;
    PublicKey& operator=(const PublicKey&) = delete;
    rsa_public_key k;
    bool ok = false;
};

struct Integer {
    explicit Integer(const std::string& hex) { mpz_init_set_str(v, hex.c_str(), 16); }
    ~Integer() { mpz_clear(v); }
    Integer(const Integer&) = delete;
    Integer& operator=(const Integer&) = delete;
    mpz_t v;
};

// DER pieces of RSASSA-PSS-params (RFC 4055 §3.1).
const std::string kSha256Id = "300d06096086480165030402010500";
const std::string kSha1Id = "300906052b0e03021a0500";
const std::string kMgf1Sha256 = "a11c301a06092a864886f70d010108" + kSha256Id;

}  // namespace

class CmsVerifyPssTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsVerifyPssTest);
    CPPUNIT_TEST(encodings_and_their_mutations);
    CPPUNIT_TEST(parameters);
    CPPUNIT_TEST(key_restrictions);
    CPPUNIT_TEST(key_mask_other_than_its_hash);
    CPPUNIT_TEST_SUITE_END();

public:
    void encodings_and_their_mutations()
    {
        test::TempDir d;
        test::write_file(d.path() / "cases.py", kCaseScript);
        std::istringstream lines(cmsverify_shell("python3 '" + (d.path() / "cases.py").string() + "'"));
        std::string line;
        int good = 0, refused = 0;
        while (std::getline(lines, line)) {
            std::istringstream f(line);
            std::string name, hash, mask, n, e, s, digest;
            int expect = 0;
            std::size_t salt = 0;
            CPPUNIT_ASSERT_MESSAGE(line, bool(f >> name >> expect >> hash >> mask >> salt >> n >> e >> s >> digest));
            const PublicKey key(n, e);
            CPPUNIT_ASSERT_MESSAGE(name, key.ok);
            const Integer signature(s);
            const Bytes mhash = from_hex(digest);
            const bool verified = rsa_pss_verify_with_mask_hash(key.k, signature.v, digest_named(hash), digest_named(mask),
                                                                salt, mhash);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, expect == 1, verified);
            ++(expect ? good : refused);
        }
        // Four keys; six good encodings and 21 refused ones each, one forgery for e = 3.
        CPPUNIT_ASSERT_EQUAL(4 * 6, good);
        CPPUNIT_ASSERT_EQUAL(4 * 21 + 1, refused);
    }

    void parameters()
    {
        struct Case {
            const char* what;
            std::string digest_oid;
            std::optional<std::string> params_hex;
            const char* reason;  // empty: accepted
            gnutls_digest_algorithm_t mask;
            std::size_t salt;
        };
        const std::string sha1 = "1.3.14.3.2.26";
        const Case cases[] = {
            {"SHA-256, MGF1-SHA-256, salt 32", oid::kSha256, "3034a00f" + kSha256Id + kMgf1Sha256 + "a203020120", "",
             GNUTLS_DIG_SHA256, 32},
            {"SHA-256, default mask (MGF1-SHA-1) and salt (20)", oid::kSha256, "3011a00f" + kSha256Id, "",
             GNUTLS_DIG_SHA1, 20},
            {"all defaults: SHA-1", sha1, "3000", "", GNUTLS_DIG_SHA1, 20},
            {"explicit SHA-1 and MGF1-SHA-1", sha1,
             "302ca00b" + kSha1Id + "a118301606092a864886f70d010108" + kSha1Id + "a203020114", "", GNUTLS_DIG_SHA1, 20},
            {"trailerField 1 written out", oid::kSha256, "3016a00f" + kSha256Id + "a303020101", "", GNUTLS_DIG_SHA1, 20},
            {"all defaults beside a SHA-256 digest", oid::kSha256, "3000", "", GNUTLS_DIG_UNKNOWN, 0},
            {"parameters absent", oid::kSha256, std::nullopt, "RSASSA-PSS without parameters", GNUTLS_DIG_UNKNOWN, 0},
            {"parameters NULL", oid::kSha256, "0500", "malformed RSASSA-PSS parameters", GNUTLS_DIG_UNKNOWN, 0},
            {"trailerField 2", oid::kSha256, "3016a00f" + kSha256Id + "a303020102", "malformed RSASSA-PSS parameters",
             GNUTLS_DIG_UNKNOWN, 0},
            {"salt -1", oid::kSha256, "3016a00f" + kSha256Id + "a2030201ff", "malformed RSASSA-PSS parameters",
             GNUTLS_DIG_UNKNOWN, 0},
            {"salt 4097", oid::kSha256, "3017a00f" + kSha256Id + "a20402021001", "malformed RSASSA-PSS parameters",
             GNUTLS_DIG_UNKNOWN, 0},
            {"mask generation not MGF1", oid::kSha256, "301aa00f" + kSha256Id + "a10730050603" "2a0304",
             "unsupported algorithm RSASSA-PSS mask", GNUTLS_DIG_UNKNOWN, 0},
            {"MGF1 over MD5", oid::kSha256,
             "302ea00f" + kSha256Id + "a11b301906092a864886f70d010108300c06082a864886f70d02050500",
             "unsupported algorithm RSASSA-PSS with MGF1 over", GNUTLS_DIG_UNKNOWN, 0},
            {"MGF1 without its hash", oid::kSha256, "3020a00f" + kSha256Id + "a10d300b06092a864886f70d010108",
             "malformed RSASSA-PSS parameters", GNUTLS_DIG_UNKNOWN, 0},
            {"hash MD5", oid::kSha256, "3010a00e300c06082a864886f70d02050500", "unsupported algorithm RSASSA-PSS hash",
             GNUTLS_DIG_UNKNOWN, 0},
            {"not DER of the parameters", oid::kSha256, "3005a00f", "malformed RSASSA-PSS parameters",
             GNUTLS_DIG_UNKNOWN, 0},
        };
        for (const auto& c : cases) {
            std::string reason;
            const auto digest = verify_digest_from_id(AlgorithmId{c.digest_oid, std::nullopt}, reason);
            CPPUNIT_ASSERT_MESSAGE(c.what, digest.has_value());
            AlgorithmId id{oid::kRsassaPss, std::nullopt};
            if (c.params_hex) id.parameters = from_hex(*c.params_hex);
            const auto check = signature_check_from_id(id, *digest, reason);
            if (c.mask == GNUTLS_DIG_UNKNOWN) {
                CPPUNIT_ASSERT_MESSAGE(c.what, !check);
                if (*c.reason) CPPUNIT_ASSERT_MESSAGE(std::string(c.what) + ": " + reason, reason.find(c.reason) == 0);
                continue;
            }
            CPPUNIT_ASSERT_MESSAGE(std::string(c.what) + ": " + reason, check.has_value());
            CPPUNIT_ASSERT_MESSAGE(c.what, check->scheme == SignatureScheme::RsaPss);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.what, int(c.mask), int(check->pss_mask_digest));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.what, c.salt, check->pss_salt_length);
        }
    }

    // RFC 4055 §3.3: a certificate whose key is id-RSASSA-PSS with parameters (OpenSSL's
    // rsa_pss_keygen_md:sha256, saltlen:32) vouches only for signatures with SHA-256, MGF1 over
    // SHA-256 and a salt of 32 octets or more. OpenSSL refuses to sign outside them with that
    // key, so those signatures are made with the same key as plain RSA (Python cryptography
    // re-exports it) under a twin rsaEncryption certificate with the same issuer and serial;
    // the restricted certificate is then the only one in the SignedData. Each such signature
    // verifies under the twin (its mathematics is right) and fails under the restricted one.
    void key_restrictions()
    {
        test::TempDir d;
        const std::string dir = d.path().string(), pki = (fixtures() / "pki").string();
        test::run("cd " + dir + R"( && export OPENSSL_CONF=/dev/null && {
          openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha256 \
            -pkeyopt rsa_pss_keygen_mgf1_md:sha256 -pkeyopt rsa_pss_keygen_saltlen:32 -out pss.key
          python3 -c 'from cryptography.hazmat.primitives import serialization as s
k = s.load_pem_private_key(open("pss.key", "rb").read(), None)
open("plain.key", "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()))'
          printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectAltName=email:alice@acme.example\n' >ee.ext
          for k in pss plain; do
            openssl req -new -key $k.key -subj "/O=SSM Test/CN=alice pss" -out $k.csr
            openssl x509 -req -in $k.csr -CA )" + pki + "/sub-ca.cert.pem -CAkey " + pki + R"(/sub-ca.key.pem -set_serial 0x5a0155 \
              -days 30 -extfile ee.ext -out $k.cert.pem
          done
          printf 'Content-Type: text/plain\r\n\r\nrestricted\r\n' >content.txt
          s() {  # OUT MD CERT KEY [OPTION...]: the -keyopt options come after the padding mode
            out=$1 md=$2 cert=$3 key=$4; shift 4
            openssl cms -sign -binary -md $md -signer $cert -inkey $key -keyopt rsa_padding_mode:pss "$@" \
              -in content.txt -outform DER -out $out
          }
          s inside.p7s sha256 pss.cert.pem pss.key
          s inside-salt64.p7s sha256 pss.cert.pem pss.key -keyopt rsa_pss_saltlen:64
          for t in sha512:sha512:64 salt20:sha256:20 mgf1sha1:sha256:32; do
            IFS=: read -r name md salt <<EOT
$t
EOT
            mask=$md; [ $name = mgf1sha1 ] && mask=sha1
            s $name-twin.p7s $md plain.cert.pem plain.key -keyopt rsa_mgf1_md:$mask -keyopt rsa_pss_saltlen:$salt
            s $name.p7s $md plain.cert.pem plain.key -keyopt rsa_mgf1_md:$mask -keyopt rsa_pss_saltlen:$salt \
              -nocerts -certfile pss.cert.pem
          done
          openssl cms -sign -binary -md sha256 -signer plain.cert.pem -inkey plain.key -in content.txt \
            -outform DER -out v15-twin.p7s
          openssl cms -sign -binary -md sha256 -signer plain.cert.pem -inkey plain.key -nocerts \
            -certfile pss.cert.pem -in content.txt -outform DER -out v15.p7s; } >make.log 2>&1)");
        const Bytes content = file_bytes(d.path() / "content.txt");
        const std::string prefix = "signature outside the signer key's RSASSA-PSS parameters: ";
        const std::pair<const char*, std::string> cases[] = {
            {"inside.p7s", ""},
            {"inside-salt64.p7s", ""},
            {"sha512-twin.p7s", ""},
            {"salt20-twin.p7s", ""},
            {"mgf1sha1-twin.p7s", ""},
            {"sha512.p7s", prefix + "hash SHA512, the key allows SHA256 only"},
            {"salt20.p7s", prefix + "salt of 20 octets, the key requires at least 32"},
            {"mgf1sha1.p7s", prefix + "MGF1 over SHA1, the key allows MGF1 over SHA256 only"},
        };
        for (const auto& [file, reason] : cases) {
            const VerifyResult r = detached(file_bytes(d.path() / file), content);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(file, std::size_t(1), r.signers.size());
            const auto& s = r.signers[0];
            CPPUNIT_ASSERT_EQUAL_MESSAGE(file, reason, s.failure);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(file, reason.empty(), s.signature_valid);
            CPPUNIT_ASSERT_MESSAGE(file, !s.unsupported && s.scheme == SignatureScheme::RsaPss);
        }
        // RFC 4055 §1.2: an id-RSASSA-PSS key is used for RSASSA-PSS only, so a PKCS#1 v1.5
        // signature by the same key (right under the twin) fails under the restricted one.
        for (const auto& [file, reason] : {std::pair<const char*, std::string>{"v15-twin.p7s", ""},
                                           {"v15.p7s", "signer key does not match the signature algorithm"}}) {
            const VerifyResult r = detached(file_bytes(d.path() / file), content);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(file, std::size_t(1), r.signers.size());
            const auto& s = r.signers[0];
            CPPUNIT_ASSERT_EQUAL_MESSAGE(file, reason, s.failure);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(file, reason.empty(), s.signature_valid);
            CPPUNIT_ASSERT_MESSAGE(file, s.scheme == SignatureScheme::RsaPkcs1v15);
        }
    }

    // RFC 4055 §3.1 lets an id-RSASSA-PSS key's parameters name MGF1 over another hash than
    // theirs. SHA-256 with the default mgf1SHA1 (absent in DER): GnuTLS 3.7.9 reads that key as
    // MGF1-SHA-256, and until 2026-12-04 its own signatures (made by openssl with the key's
    // parameters) failed as "outside the key's parameters" while MGF1-SHA-256 ones by the same
    // key passed as valid. Now the parameters are read from the certificate. SHA-256 with an
    // explicit MGF1-SHA-512: GnuTLS refuses the key itself (GNUTLS_E_CONSTRAINT_ERROR), and until
    // 2026-12-04 its signatures were "unsupported algorithm" (neutral); now the modulus and
    // exponent are read from the certificate and the signature verified with rsa_pss.h,
    // bound to the key's parameters as for keys GnuTLS imports: its own signatures verify (a
    // 1024-bit one noted as weak, its bits from that modulus), a changed one is bad, and ones
    // by the same key with another mask hash or a shorter salt are outside its parameters.
    void key_mask_other_than_its_hash()
    {
        test::TempDir d;
        const std::string dir = d.path().string(), pki = (fixtures() / "pki").string();
        test::run("cd " + dir + R"( && export OPENSSL_CONF=/dev/null && {
          for m in sha1 sha512; do
            openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha256 \
              -pkeyopt rsa_pss_keygen_mgf1_md:$m -pkeyopt rsa_pss_keygen_saltlen:32 -out pss-$m.key
          done
          openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:1024 -pkeyopt rsa_pss_keygen_md:sha256 \
            -pkeyopt rsa_pss_keygen_mgf1_md:sha512 -pkeyopt rsa_pss_keygen_saltlen:32 -out pss-sha512-1024.key
          python3 -c 'from cryptography.hazmat.primitives import serialization as s
for src, dst in (("pss-sha1.key", "plain.key"), ("pss-sha512.key", "plain512.key")):
    k = s.load_pem_private_key(open(src, "rb").read(), None)
    open(dst, "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()))'
          printf 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectAltName=email:alice@acme.example\n' >ee.ext
          for k in pss-sha1 pss-sha512 pss-sha512-1024 plain plain512; do
            openssl req -new -key $k.key -subj "/O=SSM Test/CN=alice $k" -out $k.csr
            openssl x509 -req -in $k.csr -CA )" + pki + "/sub-ca.cert.pem -CAkey " + pki + R"(/sub-ca.key.pem \
              -set_serial 0x5a0156 -days 30 -extfile ee.ext -out $k.cert.pem
          done
          printf 'Content-Type: text/plain\r\n\r\nmask\r\n' >content.txt
          s() { out=$1 cert=$2 key=$3; shift 3
            openssl cms -sign -binary -md sha256 -signer $cert -inkey $key -keyopt rsa_padding_mode:pss "$@" \
              -in content.txt -outform DER -out $out; }
          s own-sha1.p7s pss-sha1.cert.pem pss-sha1.key
          s own-sha512.p7s pss-sha512.cert.pem pss-sha512.key
          s mgf1sha256.p7s plain.cert.pem plain.key -keyopt rsa_mgf1_md:sha256 -keyopt rsa_pss_saltlen:32 \
            -nocerts -certfile pss-sha1.cert.pem
          s mgf1sha256-twin.p7s plain.cert.pem plain.key -keyopt rsa_mgf1_md:sha256 -keyopt rsa_pss_saltlen:32
          s own-sha512-1024.p7s pss-sha512-1024.cert.pem pss-sha512-1024.key
          for t in mgf1sha256:sha256:32 salt20:sha512:20; do
            IFS=: read -r name mask salt <<EOT
$t
EOT
            s key512-$name-twin.p7s plain512.cert.pem plain512.key -keyopt rsa_mgf1_md:$mask -keyopt rsa_pss_saltlen:$salt
            s key512-$name.p7s plain512.cert.pem plain512.key -keyopt rsa_mgf1_md:$mask -keyopt rsa_pss_saltlen:$salt \
              -nocerts -certfile pss-sha512.cert.pem
          done
        } >make.log 2>&1)");
        // own-sha512.p7s with the last octet of its signature (the SignerInfo's last field) changed.
        Bytes tampered = file_bytes(d.path() / "own-sha512.p7s");
        tampered.back() ^= 0x01;
        test::write_file(d.path() / "own-sha512-tampered.p7s", std::string(tampered.begin(), tampered.end()));
        const Bytes content = file_bytes(d.path() / "content.txt");
        const std::string prefix = "signature outside the signer key's RSASSA-PSS parameters: ";
        struct Case {
            const char* file;
            std::string reason;
            bool unsupported;
            std::vector<std::string> notes = {};
        };
        const Case cases[] = {
            {"own-sha1.p7s", "", false},
            {"mgf1sha256-twin.p7s", "", false},
            {"mgf1sha256.p7s", prefix + "MGF1 over SHA256, the key allows MGF1 over SHA1 only", false},
            {"own-sha512.p7s", "", false},
            {"own-sha512-1024.p7s", "", false, {"signer-key-weak=rsa1024"}},
            {"own-sha512-tampered.p7s", "bad signature", false},
            {"key512-mgf1sha256-twin.p7s", "", false},
            {"key512-salt20-twin.p7s", "", false},
            {"key512-mgf1sha256.p7s", prefix + "MGF1 over SHA256, the key allows MGF1 over SHA512 only", false},
            {"key512-salt20.p7s", prefix + "salt of 20 octets, the key requires at least 32", false},
        };
        for (const auto& c : cases) {
            const VerifyResult r = detached(file_bytes(d.path() / c.file), content);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.file, std::size_t(1), r.signers.size());
            const auto& s = r.signers[0];
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.file, c.reason, s.failure);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.file, c.reason.empty(), s.signature_valid);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.file, c.unsupported, s.unsupported);
            CPPUNIT_ASSERT_MESSAGE(c.file, s.scheme == SignatureScheme::RsaPss);
            CPPUNIT_ASSERT_MESSAGE(c.file, s.notes == c.notes);
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsVerifyPssTest);
