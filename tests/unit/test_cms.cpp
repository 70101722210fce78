// Unit tests for smime/cms/: DER length helper, digests, SignedData output verified by
// `openssl cms -verify` (detached and streamed-encapsulated, RSA v1.5/PSS, ECDSA, Ed25519),
// signed attributes checked against OpenSSL's view, and OpenSSL-made SignedData decoded.
#include <cppunit/extensions/HelperMacros.h>

#include <gnutls/pkcs7.h>
#include <gnutls/x509.h>
#include <libtasn1.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/asn1.h"
#include "smime/cms/decode.h"
#include "smime/cms/der_length.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"
#include "smime/cms/signed_attributes.h"
#include "smime/cms/signed_data.h"
#include "tests/unit/soft_signer.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::smime;
using namespace ssm::smime::cms;
namespace fs = std::filesystem;

namespace {

// The OpenSSL-made test PKI, generated once per process (plus an Ed25519 signer, which
// make-pki.sh does not issue, made here by OpenSSL from the same sub-CA).
const fs::path& pki()
{
    static test::TempDir dir;
    static const bool made = [] {
        const std::string d = dir.path().string();
        test::run("sh " + (test::source_dir() / "tests/fixtures/make-pki.sh").string() + " " + d +
                  " >/dev/null");
        test::run("cd " + d + " && export OPENSSL_CONF=/dev/null && "
                  "openssl genpkey -algorithm ED25519 -out ed.key.pem && "
                  "openssl req -new -key ed.key.pem -subj '/O=SSM Test/CN=ed@acme.example' -out ed.csr && "
                  "printf '[ee]\\nbasicConstraints=critical,CA:false\\nkeyUsage=critical,digitalSignature\\n"
                  "extendedKeyUsage=emailProtection\\nsubjectAltName=email:ed@acme.example\\n' > ed.ext && "
                  "openssl x509 -req -in ed.csr -CA sub-ca.cert.pem -CAkey sub-ca.key.pem -CAcreateserial "
                  "-days 365 -extfile ed.ext -extensions ee -out ed.cert.pem 2>/dev/null && "
                  "openssl x509 -in ed.cert.pem -outform DER -out ed.cert.der");
        return true;
    }();
    (void)made;
    return dir.path();
}

std::string shell(const std::string& cmd)
{
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed");
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    if (pclose(p) != 0) throw std::runtime_error("command failed: " + cmd + "\n" + out);
    return out;
}

std::string str(ByteView b) { return std::string(as_chars(b)); }
Bytes cat(const SignedDataParts& p, ByteView content)
{
    Bytes all = p.head;
    all.insert(all.end(), content.begin(), content.end());
    all.insert(all.end(), p.tail.begin(), p.tail.end());
    return all;
}

test::SoftSigner signer_for(const std::string& id)
{
    const fs::path& d = pki();
    return test::SoftSigner(d / (id + ".key.pem"), d / (id + ".cert.der"), {d / "sub-ca.cert.der"});
}

SignOptions options(SignatureScheme scheme, DigestAlgorithm digest)
{
    SignOptions o;
    o.scheme = scheme;
    o.digest = digest;
    o.signing_time = 1767225600;  // 2026-01-01
    return o;
}

// `openssl cms -verify` against the test root; returns the content it printed.
std::string openssl_verify(const fs::path& dir, ByteView cms, const std::string* detached_content)
{
    test::write_file(dir / "sig.der", str(cms));
    std::string cmd = "openssl cms -verify -binary -inform DER -in " + (dir / "sig.der").string() +
                      " -CAfile " + (pki() / "root-ca.cert.pem").string() + " -out " +
                      (dir / "out.bin").string();
    if (detached_content) {
        test::write_file(dir / "content.bin", *detached_content);
        cmd += " -content " + (dir / "content.bin").string();
    }
    shell(cmd + " 2>&1");
    return test::read_file(dir / "out.bin");
}

// OpenSSL 3.0 cannot verify Ed25519 in CMS ("eddsa_digest_signverify_init: invalid digest",
// fixed in 3.2; it cannot sign it either). For Ed25519 OpenSSL checks the chain and
// structure (-nosigs), `openssl pkeyutl` checks the signature over the signed attributes,
// and the messageDigest attribute is compared with the content's SHA-512.
std::string openssl_verify_ed25519(const fs::path& dir, ByteView cms, const std::string& content,
                                   bool detached)
{
    test::write_file(dir / "sig.der", str(cms));
    std::string cmd = "openssl cms -verify -nosigs -binary -inform DER -in " + (dir / "sig.der").string() +
                      " -CAfile " + (pki() / "root-ca.cert.pem").string() + " -out " +
                      (dir / "out.bin").string();
    if (detached) {
        test::write_file(dir / "content.bin", content);
        cmd += " -content " + (dir / "content.bin").string();
    }
    shell(cmd + " 2>&1");
    const auto sd = decode_signed_content_info(cms);
    const auto& si = sd.signers.at(0);
    test::write_file(dir / "attrs.der", str(si.signed_attributes_der));
    test::write_file(dir / "sig.bin", str(si.signature));
    shell("openssl x509 -pubkey -noout -in " + (pki() / "ed.cert.pem").string() + " > " +
          (dir / "ed.pub.pem").string());
    shell("openssl pkeyutl -verify -pubin -inkey " + (dir / "ed.pub.pem").string() + " -rawin -in " +
          (dir / "attrs.der").string() + " -sigfile " + (dir / "sig.bin").string() + " 2>&1");
    const auto* md = si.find_signed(oid::kMessageDigest);
    if (!md || Asn1Node::decode("MessageDigest", md->values.at(0)).read_bytes("") !=
                   digest_of(DigestAlgorithm::Sha512, as_bytes(content)))
        throw std::runtime_error("messageDigest does not match the content");
    return test::read_file(dir / "out.bin");
}

// GnuTLS, the verifier of our own inbound path: the signature with the signer certificate.
void gnutls_verify(ByteView cms, const Bytes& signer_cert, const std::string* detached_content)
{
    gnutls_pkcs7_t p7 = nullptr;
    gnutls_x509_crt_t crt = nullptr;
    gnutls_pkcs7_init(&p7);
    gnutls_x509_crt_init(&crt);
    gnutls_datum_t der{const_cast<unsigned char*>(cms.data()), unsigned(cms.size())};
    gnutls_datum_t cert{const_cast<unsigned char*>(signer_cert.data()), unsigned(signer_cert.size())};
    int rc = gnutls_pkcs7_import(p7, &der, GNUTLS_X509_FMT_DER);
    if (rc >= 0) rc = gnutls_x509_crt_import(crt, &cert, GNUTLS_X509_FMT_DER);
    if (rc >= 0) {
        gnutls_datum_t data{nullptr, 0};
        if (detached_content)
            data = {reinterpret_cast<unsigned char*>(const_cast<char*>(detached_content->data())),
                    unsigned(detached_content->size())};
        rc = gnutls_pkcs7_verify_direct(p7, crt, 0, detached_content ? &data : nullptr, 0);
    }
    gnutls_x509_crt_deinit(crt);
    gnutls_pkcs7_deinit(p7);
    if (rc < 0) throw std::runtime_error(std::string("GnuTLS pkcs7 verify: ") + gnutls_strerror(rc));
}

std::string openssl_fingerprint_hex(const fs::path& cert_pem)
{
    std::string s = shell("openssl x509 -noout -fingerprint -sha256 -in " + cert_pem.string());
    std::string hex;
    for (char c : s.substr(s.find('=') + 1))
        if (std::isxdigit(static_cast<unsigned char>(c))) hex += char(std::tolower(c));
    return hex;
}

std::string openssl_serial_hex(const fs::path& cert_pem)
{
    std::string s = shell("openssl x509 -noout -serial -in " + cert_pem.string());
    std::string hex;
    for (char c : s.substr(s.find('=') + 1))
        if (std::isxdigit(static_cast<unsigned char>(c))) hex += char(std::tolower(c));
    return hex;
}

std::string serial_hex(const Bytes& serial)
{
    Bytes s = serial;
    while (s.size() > 1 && s[0] == 0) s.erase(s.begin());  // DER sign octet
    std::string h = to_hex(s);
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return h;
}

// Deterministic pseudo-random content of any length, produced on the fly.
class PatternSource final : public ByteSource {
public:
    explicit PatternSource(std::uint64_t size) : m_size(size) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        std::size_t n = std::size_t(std::min<std::uint64_t>(buf.size(), m_size - m_pos));
        for (std::size_t i = 0; i < n; ++i) {
            m_state ^= m_state << 13;
            m_state ^= m_state >> 7;
            m_state ^= m_state << 17;
            buf[i] = std::uint8_t(m_state);
        }
        m_pos += n;
        return n;
    }
    void rewind() override { m_pos = 0; m_state = 0x9E3779B97F4A7C15ull; }
    std::uint64_t size() const override { return m_size; }

private:
    std::uint64_t m_size;
    std::uint64_t m_pos = 0;
    std::uint64_t m_state = 0x9E3779B97F4A7C15ull;
};

// Splits a DER SET/SEQUENCE into its element encodings.
std::vector<Bytes> elements(ByteView tlv)
{
    DerHeader h = parse_der_header(tlv);
    ByteView body = tlv.subspan(h.header_size, std::size_t(h.length));
    std::vector<Bytes> out;
    while (!body.empty()) {
        DerHeader e = parse_der_header(body);
        std::size_t n = e.header_size + std::size_t(e.length);
        out.emplace_back(body.begin(), body.begin() + std::ptrdiff_t(n));
        body = body.subspan(n);
    }
    return out;
}

struct Case {
    const char* name;
    const char* id;
    SignatureScheme scheme;
    DigestAlgorithm digest;
};
const Case kCases[] = {
    {"rsa-pkcs1-sha256", "alice", SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256},
    {"rsa-pkcs1-sha512", "alice", SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha512},
    {"rsa-pss-sha256", "alice", SignatureScheme::RsaPss, DigestAlgorithm::Sha256},
    {"rsa-pss-sha384", "carol", SignatureScheme::RsaPss, DigestAlgorithm::Sha384},
    {"ecdsa-p256-sha256", "bob", SignatureScheme::Ecdsa, DigestAlgorithm::Sha256},
    {"ecdsa-p384-sha384", "erin", SignatureScheme::Ecdsa, DigestAlgorithm::Sha384},
    {"ed25519", "ed", SignatureScheme::Ed25519, DigestAlgorithm::Sha512},
};

// GnuTLS 3.7.9's PKCS#7 verifier maps id-RSASSA-PSS to RSA-PSS-SHA256 whatever the
// parameters say, so it rejects PSS with SHA-384/512 — OpenSSL's own output too (checked
// with `certtool --p7-verify`). OpenSSL verifies those cases.
bool gnutls_can_verify(const Case& c)
{
    return c.scheme != SignatureScheme::RsaPss || c.digest == DigestAlgorithm::Sha256;
}

const std::string kMessage =
    "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from the gateway.\r\n";

}  // namespace

class CmsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsTest);
    CPPUNIT_TEST(der_length_matches_libtasn1);
    CPPUNIT_TEST(der_header_parse_rejects);
    CPPUNIT_TEST(hasher_known_vectors_and_streaming);
    CPPUNIT_TEST(module_loads_every_type);
    CPPUNIT_TEST(detached_verifies_with_openssl);
    CPPUNIT_TEST(encapsulated_verifies_with_openssl);
    CPPUNIT_TEST(signed_attributes_as_openssl_sees_them);
    CPPUNIT_TEST(signed_attributes_der_order_and_ess_hash);
    CPPUNIT_TEST(algorithm_identifiers);
    CPPUNIT_TEST(encryption_key_preference);
    CPPUNIT_TEST(signing_time_switches_to_generalized_in_2050);
    CPPUNIT_TEST(encapsulated_length_boundaries);
    CPPUNIT_TEST(encapsulated_20mb_streamed);
    CPPUNIT_TEST(without_chain_and_other_content_type);
    CPPUNIT_TEST(option_mismatches_throw);
    CPPUNIT_TEST(decodes_openssl_detached);
    CPPUNIT_TEST(decodes_openssl_streamed_ber);
    CPPUNIT_TEST(decoder_rejects_garbage);
    CPPUNIT_TEST(module_decodes_openssl_enveloped_and_ess);
    CPPUNIT_TEST_SUITE_END();

public:
    void der_length_matches_libtasn1()
    {
        const std::uint64_t lengths[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 0xFFFFFF,
                                         0x1000000, 0xFFFFFFFFull, 0x100000000ull,
                                         0xFFFFFFFFFFFFFFFFull};
        for (auto len : lengths) {
            unsigned char ref[ASN1_MAX_LENGTH_SIZE];
            int ref_len = 0;
            asn1_length_der(static_cast<unsigned long>(len), ref, &ref_len);
            Bytes h = der_header(0x04, len);
            CPPUNIT_ASSERT_EQUAL(std::size_t(ref_len) + 1, h.size());
            CPPUNIT_ASSERT(std::equal(ref, ref + ref_len, h.begin() + 1));
            CPPUNIT_ASSERT_EQUAL(h.size(), der_header_size(len));
            DerHeader p = parse_der_header(h);
            CPPUNIT_ASSERT_EQUAL(std::uint8_t(0x04), p.tag);
            CPPUNIT_ASSERT_EQUAL(h.size(), p.header_size);
            CPPUNIT_ASSERT_EQUAL(len, p.length);
        }
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(130), der_tlv_size(127) + 1);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(131), der_tlv_size(128));
        CPPUNIT_ASSERT_THROW(der_tlv_size(0xFFFFFFFFFFFFFFF8ull), Error);
        CPPUNIT_ASSERT_THROW(checked_add(0xFFFFFFFFFFFFFFFFull, 1), Error);
    }

    void der_header_parse_rejects()
    {
        const std::vector<Bytes> bad = {
            {}, {0x30}, {0x30, 0x80}, {0x30, 0x81, 0x7f}, {0x30, 0x82, 0x00, 0x80},
            {0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0x30, 0x82, 0x01}, {0x1f, 0x01},
        };
        for (const auto& b : bad) CPPUNIT_ASSERT_THROW(parse_der_header(b), Error);
    }

    void hasher_known_vectors_and_streaming()
    {
        // FIPS 180-2 examples for "abc".
        CPPUNIT_ASSERT_EQUAL(std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
                             lower_hex(digest_of(DigestAlgorithm::Sha256, as_bytes("abc"))));
        CPPUNIT_ASSERT_EQUAL(std::string("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                                         "8086072ba1e7cc2358baeca134c825a7"),
                             lower_hex(digest_of(DigestAlgorithm::Sha384, as_bytes("abc"))));
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), digest_of(DigestAlgorithm::Sha512, as_bytes("")).size());
        Hasher h(DigestAlgorithm::Sha256);
        h.write(std::string_view("a"));
        h.write(ByteView{});
        h.write(std::string_view("bc"));
        CPPUNIT_ASSERT(h.finish() == digest_of(DigestAlgorithm::Sha256, as_bytes("abc")));
        CPPUNIT_ASSERT_THROW(h.finish(), Error);
    }

    void module_loads_every_type()
    {
        const char* types[] = {"ContentInfo", "SignedData", "SignerInfo", "Attribute",
                               "RSASSA-PSS-params", "RSAES-OAEP-params", "ECDSA-Sig-Value",
                               "IssuerAndSerialNumber", "SMIMECapabilities",
                               "SMIMEEncryptionKeyPreference", "SigningCertificateV2",
                               "ESSSecurityLabel", "ReceiptRequest", "Receipt",
                               "MLExpansionHistory", "EnvelopedData", "AuthEnvelopedData",
                               "RecipientInfo", "KeyAgreeRecipientInfo", "OriginatorPublicKey",
                               "KEKRecipientInfo", "PasswordRecipientInfo", "EncryptedContentInfo",
                               "GCMParameters", "ECC-CMS-SharedInfo", "Time"};
        for (auto t : types) CPPUNIT_ASSERT_NO_THROW_MESSAGE(t, Asn1Node::create(t));
        CPPUNIT_ASSERT_THROW(Asn1Node::create("NoSuchType"), Error);
    }

    void detached_verifies_with_openssl()
    {
        for (const auto& c : kCases) {
            test::TempDir dir;
            auto signer = signer_for(c.id);
            auto parts = encode_signed_data(signer, options(c.scheme, c.digest),
                                            digest_of(c.digest, as_bytes(kMessage)), std::nullopt);
            CPPUNIT_ASSERT_MESSAGE(c.name, parts.tail.empty());
            const std::string changed = kMessage + "x";
            if (c.scheme == SignatureScheme::Ed25519) {
                CPPUNIT_ASSERT_NO_THROW_MESSAGE(c.name, openssl_verify_ed25519(dir.path(), parts.head, kMessage, true));
                CPPUNIT_ASSERT_THROW_MESSAGE(c.name, openssl_verify_ed25519(dir.path(), parts.head, changed, true),
                                             std::runtime_error);
            } else {
                CPPUNIT_ASSERT_NO_THROW_MESSAGE(c.name, openssl_verify(dir.path(), parts.head, &kMessage));
                // A changed content must not verify.
                CPPUNIT_ASSERT_THROW_MESSAGE(c.name, openssl_verify(dir.path(), parts.head, &changed),
                                             std::runtime_error);
            }
            if (gnutls_can_verify(c)) {
                CPPUNIT_ASSERT_NO_THROW_MESSAGE(c.name, gnutls_verify(parts.head, signer.certificate_der(), &kMessage));
                CPPUNIT_ASSERT_THROW_MESSAGE(c.name, gnutls_verify(parts.head, signer.certificate_der(), &changed),
                                             std::runtime_error);
            }
            auto sd = decode_signed_content_info(parts.head);
            CPPUNIT_ASSERT_MESSAGE(c.name, !sd.econtent.has_value());
        }
    }

    void encapsulated_verifies_with_openssl()
    {
        for (const auto& c : kCases) {
            test::TempDir dir;
            auto signer = signer_for(c.id);
            auto parts = encode_signed_data(signer, options(c.scheme, c.digest),
                                            digest_of(c.digest, as_bytes(kMessage)), kMessage.size());
            Bytes all = cat(parts, as_bytes(kMessage));
            const std::string out = c.scheme == SignatureScheme::Ed25519
                                        ? openssl_verify_ed25519(dir.path(), all, kMessage, false)
                                        : openssl_verify(dir.path(), all, nullptr);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, kMessage, out);
            if (gnutls_can_verify(c))
                CPPUNIT_ASSERT_NO_THROW_MESSAGE(c.name, gnutls_verify(all, signer.certificate_der(), nullptr));
            auto sd = decode_signed_content_info(all);
            CPPUNIT_ASSERT_MESSAGE(c.name, sd.econtent && str(*sd.econtent) == kMessage);
        }
    }

    void signed_attributes_as_openssl_sees_them()
    {
        test::TempDir dir;
        auto signer = signer_for("alice");
        auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        o.encryption_certificate_der = signer_for("carol").certificate_der();
        auto parts = encode_signed_data(signer, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt);
        test::write_file(dir.path() / "sig.der", str(parts.head));
        const std::string printed =
            shell("openssl cms -cmsout -print -inform DER -in " + (dir.path() / "sig.der").string());
        for (const char* o : {oid::kContentType, oid::kSigningTime, oid::kMessageDigest,
                              oid::kSmimeCapabilities, oid::kSigningCertificateV2, oid::kEncrypKeyPref})
            CPPUNIT_ASSERT_MESSAGE(o, printed.find("(" + std::string(o) + ")") != std::string::npos);
        // Our capabilities, in our order of preference, as OpenSSL names them.
        std::size_t at = printed.find("S/MIME Capabilities");
        for (const char* name : {"aes-256-gcm", "aes-128-gcm", "aes-256-cbc", "aes-128-cbc", "rsaesOaep",
                                 "rsaEncryption", "ecdsa-with-SHA256", "rsassaPss", "ED25519"}) {
            at = printed.find(std::string(":") + name, at);
            CPPUNIT_ASSERT_MESSAGE(name, at != std::string::npos);
        }
        // The messageDigest OpenSSL prints (a hex dump) is the SHA-256 of the content.
        const std::size_t b = printed.find("messageDigest (");
        const std::size_t e = printed.find("object:", b);
        CPPUNIT_ASSERT(b != std::string::npos);
        std::istringstream lines(printed.substr(b, e - b));
        std::string line, dumped;
        while (std::getline(lines, line)) {
            const std::size_t dash = line.find(" - ");
            if (dash == std::string::npos) continue;
            std::string hex = line.substr(dash + 3);
            hex = hex.substr(0, hex.find("   "));  // the ASCII column follows three spaces
            for (char ch : hex)
                if (std::isxdigit(static_cast<unsigned char>(ch))) dumped += ch;
        }
        CPPUNIT_ASSERT_EQUAL(lower_hex(digest_of(DigestAlgorithm::Sha256, as_bytes(kMessage))), dumped);
    }

    void signed_attributes_der_order_and_ess_hash()
    {
        for (const char* id : {"alice", "bob"}) {
            auto signer = signer_for(id);
            auto o = options(std::string(id) == "bob" ? SignatureScheme::Ecdsa : SignatureScheme::RsaPss,
                             DigestAlgorithm::Sha256);
            auto parts = encode_signed_data(signer, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt);
            auto sd = decode_signed_content_info(parts.head);
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), sd.signers.size());
            const auto& si = sd.signers[0];
            std::vector<std::string> oids;
            for (const auto& a : si.signed_attributes) oids.push_back(a.oid);
            std::sort(oids.begin(), oids.end());
            std::vector<std::string> expected = {oid::kContentType, oid::kMessageDigest, oid::kSigningTime,
                                                 oid::kSmimeCapabilities, oid::kSigningCertificateV2};
            std::sort(expected.begin(), expected.end());
            CPPUNIT_ASSERT(oids == expected);

            // DER SET OF: element encodings in ascending order (X.690 §11.6).
            auto elems = elements(si.signed_attributes_der);
            CPPUNIT_ASSERT_EQUAL(std::size_t(5), elems.size());
            for (std::size_t i = 1; i < elems.size(); ++i)
                CPPUNIT_ASSERT(!std::lexicographical_compare(elems[i].begin(), elems[i].end(),
                                                             elems[i - 1].begin(), elems[i - 1].end()));

            // ESSCertIDv2: SHA-256 of the certificate (computed by OpenSSL), hashAlgorithm
            // absent (DEFAULT), issuerSerial naming the signer certificate.
            const auto* scv2 = si.find_signed(oid::kSigningCertificateV2);
            CPPUNIT_ASSERT(scv2 && scv2->values.size() == 1);
            auto v = Asn1Node::decode("SigningCertificateV2", scv2->values[0]);
            CPPUNIT_ASSERT_EQUAL(1, v.count("certs"));
            CPPUNIT_ASSERT(!v.read_optional("certs.?1.hashAlgorithm.algorithm"));
            CPPUNIT_ASSERT_EQUAL(openssl_fingerprint_hex(pki() / (std::string(id) + ".cert.pem")),
                                 lower_hex(v.read_bytes("certs.?1.certHash")));
            CPPUNIT_ASSERT_EQUAL(openssl_serial_hex(pki() / (std::string(id) + ".cert.pem")),
                                 serial_hex(v.read_bytes("certs.?1.issuerSerial.serialNumber")));
            CPPUNIT_ASSERT_EQUAL(std::string("directoryName"),
                                 v.read_text("certs.?1.issuerSerial.issuer.?1"));
            CPPUNIT_ASSERT(si.issuer_serial &&
                           v.read_bytes("certs.?1.issuerSerial.issuer.?1.directoryName") ==
                               si.issuer_serial->issuer_der);
            // messageDigest is the content digest.
            const auto* md = si.find_signed(oid::kMessageDigest);
            CPPUNIT_ASSERT(md && Asn1Node::decode("MessageDigest", md->values[0]).read_bytes("") ==
                                     digest_of(o.digest, as_bytes(kMessage)));
        }
    }

    void algorithm_identifiers()
    {
        auto check = [](const Case& c, const AlgorithmId& expect_sig) {
            auto signer = signer_for(c.id);
            auto parts = encode_signed_data(signer, options(c.scheme, c.digest),
                                            digest_of(c.digest, as_bytes(kMessage)), std::nullopt);
            auto sd = decode_signed_content_info(parts.head);
            const auto& si = sd.signers.at(0);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, 1, sd.version);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, 1, si.version);
            CPPUNIT_ASSERT_MESSAGE(c.name, sd.digest_algorithms.size() == 1 &&
                                               sd.digest_algorithms[0] == digest_algorithm_id(c.digest));
            CPPUNIT_ASSERT_MESSAGE(c.name, !si.digest_algorithm.parameters);  // RFC 5754 §2
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(digest_oid(c.digest)), si.digest_algorithm.oid);
            CPPUNIT_ASSERT_MESSAGE(c.name, si.signature_algorithm == expect_sig);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::size_t(2), sd.certificates.size());
        };
        check(kCases[0], {oid::kRsaEncryption, der_null()});
        check(kCases[4], {oid::kEcdsaSha256, std::nullopt});
        check(kCases[5], {oid::kEcdsaSha384, std::nullopt});
        check(kCases[6], {oid::kEd25519, std::nullopt});
        check(kCases[3], {oid::kRsassaPss, rsassa_pss_params(DigestAlgorithm::Sha384)});

        // PSS parameters as OpenSSL reads them: SHA-384, MGF1 SHA-384, salt 48 (0x30).
        test::TempDir dir;
        test::write_file(dir.path() / "p.der", str(rsassa_pss_params(DigestAlgorithm::Sha384)));
        const std::string parsed =
            shell("openssl asn1parse -inform DER -in " + (dir.path() / "p.der").string());
        CPPUNIT_ASSERT(parsed.find("sha384") != std::string::npos);
        CPPUNIT_ASSERT(parsed.find("mgf1") != std::string::npos);
        CPPUNIT_ASSERT(parsed.find(":30") != std::string::npos);  // INTEGER :30
        auto p = Asn1Node::decode("RSASSA-PSS-params", rsassa_pss_params(DigestAlgorithm::Sha384));
        CPPUNIT_ASSERT_EQUAL(48L, p.read_small_int("saltLength"));
    }

    void encryption_key_preference()
    {
        auto alice = signer_for("alice");
        auto carol = signer_for("carol");
        auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        o.encryption_certificate_der = carol.certificate_der();
        auto sd = decode_signed_content_info(
            encode_signed_data(alice, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt).head);
        const auto* pref = sd.signers[0].find_signed(oid::kEncrypKeyPref);
        CPPUNIT_ASSERT(pref && pref->values.size() == 1);
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0xA0), pref->values[0][0]);  // [0] issuerAndSerialNumber
        auto v = Asn1Node::decode("SMIMEEncryptionKeyPreference", pref->values[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("issuerAndSerialNumber"), v.read_text(""));
        CPPUNIT_ASSERT_EQUAL(openssl_serial_hex(pki() / "carol.cert.pem"),
                             serial_hex(v.read_bytes("issuerAndSerialNumber.serialNumber")));

        // The same certificate for both: no preference attribute.
        o.encryption_certificate_der = alice.certificate_der();
        sd = decode_signed_content_info(
            encode_signed_data(alice, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt).head);
        CPPUNIT_ASSERT(!sd.signers[0].find_signed(oid::kEncrypKeyPref));
    }

    void signing_time_switches_to_generalized_in_2050()
    {
        const Bytes before = signing_time_value(2524607999);  // 2049-12-31T23:59:59Z
        const Bytes after = signing_time_value(2524608000);   // 2050-01-01T00:00:00Z
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0x17), before[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("491231235959Z"), str(ByteView(before).subspan(2)));
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0x18), after[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("20500101000000Z"), str(ByteView(after).subspan(2)));
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0x18), signing_time_value(-631152001)[0]);  // 1949
    }

    void encapsulated_length_boundaries()
    {
        auto signer = signer_for("alice");
        const auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        for (std::uint64_t n : {0, 1, 127, 128, 255, 256, 65535, 65536}) {
            const std::string msg = "n=" + std::to_string(n);
            PatternSource src(n);
            Bytes content(n);
            std::size_t got = 0;
            while (got < n) got += src.read(std::span(content).subspan(got));
            auto parts = encode_signed_data(signer, o, digest_of(o.digest, content), n);
            Bytes all = cat(parts, content);
            // libtasn1 decodes it and re-encodes the very same bytes: every length is right
            // and the result is DER.
            auto ci = Asn1Node::decode("ContentInfo", all);
            CPPUNIT_ASSERT_MESSAGE(msg, ci.encode() == all);
            auto sd_der = ci.read_bytes("content");
            CPPUNIT_ASSERT_MESSAGE(msg, Asn1Node::decode("SignedData", sd_der).encode() == sd_der);
            auto sd = decode_signed_data(sd_der);
            CPPUNIT_ASSERT_MESSAGE(msg, sd.econtent && *sd.econtent == content);
            test::TempDir dir;
            CPPUNIT_ASSERT_MESSAGE(msg, openssl_verify(dir.path(), all, nullptr) == str(content));
        }
    }

    void encapsulated_20mb_streamed()
    {
        const std::uint64_t n = 20ull * 1024 * 1024;
        auto signer = signer_for("bob");
        const auto o = options(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256);
        PatternSource src(n);
        Hasher h(o.digest);
        copy_stream(src, h);
        const Bytes digest = h.finish();
        auto parts = encode_signed_data(signer, o, digest, n);
        CPPUNIT_ASSERT(parts.head.size() < 100);  // no content in memory, only headers
        test::TempDir dir;
        {
            std::ofstream out(dir.path() / "big.der", std::ios::binary);
            out.write(reinterpret_cast<const char*>(parts.head.data()), std::streamsize(parts.head.size()));
            src.rewind();
            std::array<std::uint8_t, 65536> buf;
            while (std::size_t k = src.read(buf))
                out.write(reinterpret_cast<const char*>(buf.data()), std::streamsize(k));
            out.write(reinterpret_cast<const char*>(parts.tail.data()), std::streamsize(parts.tail.size()));
            CPPUNIT_ASSERT(out.good());
        }
        CPPUNIT_ASSERT_EQUAL(parts.head.size() + n + parts.tail.size(),
                             std::size_t(fs::file_size(dir.path() / "big.der")));
        shell("openssl cms -verify -binary -inform DER -in " + (dir.path() / "big.der").string() +
              " -CAfile " + (pki() / "root-ca.cert.pem").string() + " -out " +
              (dir.path() / "big.out").string() + " 2>&1");
        CPPUNIT_ASSERT_EQUAL(std::uintmax_t(n), fs::file_size(dir.path() / "big.out"));
        const std::string sum = shell("openssl dgst -sha256 -r " + (dir.path() / "big.out").string());
        CPPUNIT_ASSERT_EQUAL(lower_hex(digest), sum.substr(0, 64));
    }

    void without_chain_and_other_content_type()
    {
        auto signer = signer_for("alice");
        auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        o.include_chain = false;
        o.content_type_oid = oid::kReceipt;
        auto parts = encode_signed_data(signer, o, digest_of(o.digest, as_bytes(kMessage)), kMessage.size());
        Bytes all = cat(parts, as_bytes(kMessage));
        auto sd = decode_signed_content_info(all);
        CPPUNIT_ASSERT_EQUAL(3, sd.version);  // RFC 5652 §5.1: eContentType other than id-data
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kReceipt), sd.econtent_type);
        CPPUNIT_ASSERT(sd.certificates.empty());
        const auto* ct = sd.signers[0].find_signed(oid::kContentType);
        CPPUNIT_ASSERT(ct && ct->values[0] == content_type_value(oid::kReceipt));
        // OpenSSL verifies it when given the certificates separately.
        test::TempDir dir;
        test::write_file(dir.path() / "sig.der", str(all));
        shell("openssl cms -verify -binary -inform DER -in " + (dir.path() / "sig.der").string() +
              " -certfile " + (pki() / "alice.cert.pem").string() + " -CAfile " +
              (pki() / "chain.pem").string() + " -out /dev/null 2>&1");
    }

    void option_mismatches_throw()
    {
        auto alice = signer_for("alice");
        auto ed = signer_for("ed");
        const Bytes d256 = digest_of(DigestAlgorithm::Sha256, as_bytes(kMessage));
        auto expect_internal = [](auto&& f) {
            try {
                f();
                CPPUNIT_FAIL("no exception");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::Internal);
            }
        };
        expect_internal([&] { encode_signed_data(alice, options(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256), d256, std::nullopt); });
        expect_internal([&] { encode_signed_data(alice, options(SignatureScheme::RsaPss, DigestAlgorithm::Sha384), d256, std::nullopt); });
        expect_internal([&] { encode_signed_data(ed, options(SignatureScheme::Ed25519, DigestAlgorithm::Sha256), d256, std::nullopt); });
        auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        o.extra_signed_attributes.push_back({oid::kSigningTime, signing_time_value(0)});
        expect_internal([&] { encode_signed_data(alice, o, d256, std::nullopt); });
        // An extra attribute that is new is carried, as given.
        o.extra_signed_attributes = {{oid::kContentIdentifier, message_digest_value(as_bytes("id-1"))}};
        auto sd = decode_signed_content_info(encode_signed_data(alice, o, d256, std::nullopt).head);
        const auto* cid = sd.signers[0].find_signed(oid::kContentIdentifier);
        CPPUNIT_ASSERT(cid && cid->values[0] == message_digest_value(as_bytes("id-1")));
    }

    void decodes_openssl_detached()
    {
        test::TempDir dir;
        test::write_file(dir.path() / "m.txt", kMessage);
        const fs::path& d = pki();
        shell("openssl cms -sign -binary -md sha384 -in " + (dir.path() / "m.txt").string() +
              " -signer " + (d / "alice.cert.pem").string() + " -inkey " + (d / "alice.key.pem").string() +
              " -certfile " + (d / "sub-ca.cert.pem").string() + " -outform DER -out " +
              (dir.path() / "o.der").string() + " 2>&1");
        const std::string der = test::read_file(dir.path() / "o.der");
        auto sd = decode_signed_content_info(as_bytes(der));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kData), sd.econtent_type);
        CPPUNIT_ASSERT(!sd.econtent);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), sd.certificates.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), sd.signers.size());
        const auto& si = sd.signers[0];
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kSha384), si.digest_algorithm.oid);
        CPPUNIT_ASSERT(digest_from_oid(si.digest_algorithm.oid) == DigestAlgorithm::Sha384);
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kRsaEncryption), si.signature_algorithm.oid);
        CPPUNIT_ASSERT(si.issuer_serial);
        CPPUNIT_ASSERT_EQUAL(openssl_serial_hex(d / "alice.cert.pem"), serial_hex(si.issuer_serial->serial));
        CPPUNIT_ASSERT(si.issuer_serial->issuer_der == issuer_serial_of(signer_for("alice").certificate_der()).issuer_der);
        for (const char* o : {oid::kContentType, oid::kSigningTime, oid::kMessageDigest, oid::kSmimeCapabilities})
            CPPUNIT_ASSERT_MESSAGE(o, si.find_signed(o) != nullptr);
        const auto* md = si.find_signed(oid::kMessageDigest);
        CPPUNIT_ASSERT(Asn1Node::decode("MessageDigest", md->values[0]).read_bytes("") ==
                       digest_of(DigestAlgorithm::Sha384, as_bytes(kMessage)));
        // signed_attributes_der is what OpenSSL signed: check it with GnuTLS-free means —
        // the sorted SET re-encoding of the attributes equals it.
        auto attrs = Asn1Node::create("Attributes");
        write_attributes(attrs, "", si.signed_attributes);
        CPPUNIT_ASSERT(attrs.encode() == si.signed_attributes_der);
        CPPUNIT_ASSERT(!si.signature.empty());
    }

    void decodes_openssl_streamed_ber()
    {
        test::TempDir dir;
        std::string big;
        for (int i = 0; i < 3000; ++i) big += "line " + std::to_string(i) + "\r\n";
        test::write_file(dir.path() / "m.txt", big);
        const fs::path& d = pki();
        shell("openssl cms -sign -binary -nodetach -stream -in " + (dir.path() / "m.txt").string() +
              " -signer " + (d / "bob.cert.pem").string() + " -inkey " + (d / "bob.key.pem").string() +
              " -outform DER -out " + (dir.path() / "o.ber").string() + " 2>&1");
        const std::string ber = test::read_file(dir.path() / "o.ber");
        CPPUNIT_ASSERT_EQUAL(char(0x80), ber[1]);  // indefinite length: really BER
        auto sd = decode_signed_content_info(as_bytes(ber));
        CPPUNIT_ASSERT(sd.econtent && str(*sd.econtent) == big);
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kEcdsaSha256), sd.signers.at(0).signature_algorithm.oid);
    }

    void decoder_rejects_garbage()
    {
        auto signer = signer_for("alice");
        const auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        Bytes good = encode_signed_data(signer, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt).head;
        auto expect_malformed = [](ByteView b) {
            try {
                decode_signed_content_info(b);
                CPPUNIT_FAIL("decoded garbage");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::MalformedMessage);
            }
        };
        expect_malformed(ByteView(good).first(good.size() - 1));
        Bytes trailing = good;
        trailing.push_back(0);
        expect_malformed(trailing);
        expect_malformed(as_bytes("not DER at all"));
        expect_malformed(ByteView{});
        // A ContentInfo of another type.
        auto ci = Asn1Node::create("ContentInfo");
        ci.write_oid("contentType", oid::kData);
        ci.write_bytes("content", message_digest_value(as_bytes("x")));
        expect_malformed(ci.encode());
    }

    // cms.asn covers what later work needs: OpenSSL's EnvelopedData (KTRI + KARI),
    // AuthEnvelopedData (GCM) and a ReceiptRequest decode field by field.
    void module_decodes_openssl_enveloped_and_ess()
    {
        test::TempDir dir;
        const fs::path& d = pki();
        const std::string m = (dir.path() / "m.txt").string();
        test::write_file(m, kMessage);
        shell("openssl cms -encrypt -aes256 -binary -in " + m + " -outform DER -out " +
              (dir.path() / "env.der").string() + " " + (d / "alice.cert.pem").string() + " " +
              (d / "bob.cert.pem").string() + " 2>&1");
        shell("openssl cms -encrypt -aes-256-gcm -binary -in " + m + " -outform DER -out " +
              (dir.path() / "aenv.der").string() + " " + (d / "alice.cert.pem").string() + " 2>&1");
        shell("openssl cms -sign -binary -in " + m + " -signer " + (d / "alice.cert.pem").string() +
              " -inkey " + (d / "alice.key.pem").string() +
              " -receipt_request_all -receipt_request_to bob@acme.example -outform DER -out " +
              (dir.path() / "rr.der").string() + " 2>&1");

        auto env_ci = decode_content_info(as_bytes(test::read_file(dir.path() / "env.der")));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kEnvelopedData), env_ci.content_type);
        auto env = Asn1Node::decode("EnvelopedData", env_ci.content);
        CPPUNIT_ASSERT_EQUAL(2, env.count("recipientInfos"));
        std::vector<std::string> kinds = {env.read_text("recipientInfos.?1"), env.read_text("recipientInfos.?2")};
        std::sort(kinds.begin(), kinds.end());
        CPPUNIT_ASSERT(kinds == (std::vector<std::string>{"kari", "ktri"}));
        const std::string kari = env.read_text("recipientInfos.?1") == "kari" ? "recipientInfos.?1.kari"
                                                                              : "recipientInfos.?2.kari";
        CPPUNIT_ASSERT_EQUAL(3L, env.read_small_int(kari + ".version"));
        CPPUNIT_ASSERT_EQUAL(std::string("originatorKey"), env.read_text(kari + ".originator"));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kEcPublicKey),
                             env.read_oid(kari + ".originator.originatorKey.algorithm.algorithm"));
        // OpenSSL 3.0's default KDF for ECDH key agreement is the SHA-1 X9.63 one.
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kEcdhStdSha1Kdf), env.read_oid(kari + ".keyEncryptionAlgorithm.algorithm"));
        auto wrap = Asn1Node::decode("AlgorithmIdentifier", env.read_bytes(kari + ".keyEncryptionAlgorithm.parameters"));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kAes256Wrap), wrap.read_oid("algorithm"));
        CPPUNIT_ASSERT_EQUAL(1, env.count(kari + ".recipientEncryptedKeys"));
        CPPUNIT_ASSERT_EQUAL(std::string("issuerAndSerialNumber"),
                             env.read_text(kari + ".recipientEncryptedKeys.?1.rid"));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kAes256Cbc),
                             env.read_oid("encryptedContentInfo.contentEncryptionAlgorithm.algorithm"));
        auto iv = Asn1Node::decode("AES-IV", env.read_bytes("encryptedContentInfo.contentEncryptionAlgorithm.parameters"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), iv.read_bytes("").size());
        // A ciphertext of whole blocks, longer than the content (PKCS#7 padding).
        const auto ct = env.read_bytes("encryptedContentInfo.encryptedContent");
        CPPUNIT_ASSERT(ct.size() % 16 == 0 && ct.size() > kMessage.size());

        auto aenv_ci = decode_content_info(as_bytes(test::read_file(dir.path() / "aenv.der")));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kAuthEnvelopedData), aenv_ci.content_type);
        auto aenv = Asn1Node::decode("AuthEnvelopedData", aenv_ci.content);
        CPPUNIT_ASSERT_EQUAL(std::string("ktri"), aenv.read_text("recipientInfos.?1"));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kAes256Gcm),
                             aenv.read_oid("authEncryptedContentInfo.contentEncryptionAlgorithm.algorithm"));
        auto gcm = Asn1Node::decode("GCMParameters",
                                    aenv.read_bytes("authEncryptedContentInfo.contentEncryptionAlgorithm.parameters"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(12), gcm.read_bytes("aes-nonce").size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), aenv.read_bytes("mac").size());

        auto sd = decode_signed_content_info(as_bytes(test::read_file(dir.path() / "rr.der")));
        const auto* rr_attr = sd.signers.at(0).find_signed(oid::kReceiptRequest);
        CPPUNIT_ASSERT(rr_attr && rr_attr->values.size() == 1);
        auto rr = Asn1Node::decode("ReceiptRequest", rr_attr->values[0]);
        CPPUNIT_ASSERT(!rr.read_bytes("signedContentIdentifier").empty());
        CPPUNIT_ASSERT_EQUAL(std::string("allOrFirstTier"), rr.read_text("receiptsFrom"));
        CPPUNIT_ASSERT_EQUAL(0L, rr.read_small_int("receiptsFrom.allOrFirstTier"));
        CPPUNIT_ASSERT_EQUAL(std::string("rfc822Name"), rr.read_text("receiptsTo.?1.?1"));
        CPPUNIT_ASSERT_EQUAL(std::string("bob@acme.example"), rr.read_text("receiptsTo.?1.?1.rfc822Name"));
    }

private:
    static std::string lower_hex(ByteView b)
    {
        std::string h = to_hex(b);
        std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return char(std::tolower(c)); });
        return h;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsTest);
