// Shared fixtures of the smime/cms unit tests: the OpenSSL-made PKI (plus an Ed25519
// signer), shell helpers, and the peers that check our output (openssl cms, pkeyutl, GnuTLS).
// Test-only; everything here trusts the files it generates itself.
#pragma once
#include <gnutls/pkcs7.h>
#include <gnutls/x509.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/decode.h"
#include "smime/cms/der_length.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"
#include "smime/cms/signed_data.h"
#include "tests/unit/soft_signer.h"
#include "tests/unit/test_support.h"

namespace ssm::cmstest {

using namespace ssm::smime;
using namespace ssm::smime::cms;
namespace fs = std::filesystem;

// The OpenSSL-made test PKI, generated once per process (plus an Ed25519 signer, which
// make-pki.sh does not issue, made here by OpenSSL from the same sub-CA).
inline const fs::path& pki()
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

inline std::string shell(const std::string& cmd)
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

inline std::string str(ByteView b) { return std::string(as_chars(b)); }
inline Bytes cat(const SignedDataParts& p, ByteView content)
{
    Bytes all = p.head;
    all.insert(all.end(), content.begin(), content.end());
    all.insert(all.end(), p.tail.begin(), p.tail.end());
    return all;
}

inline test::SoftSigner signer_for(const std::string& id)
{
    const fs::path& d = pki();
    return test::SoftSigner(d / (id + ".key.pem"), d / (id + ".cert.der"), {d / "sub-ca.cert.der"});
}

inline SignOptions options(SignatureScheme scheme, DigestAlgorithm digest)
{
    SignOptions o;
    o.scheme = scheme;
    o.digest = digest;
    o.signing_time = 1767225600;  // 2026-01-01
    return o;
}

// `openssl cms -verify` against the test root; returns the content it printed.
inline std::string openssl_verify(const fs::path& dir, ByteView cms, const std::string* detached_content)
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
inline std::string openssl_verify_ed25519(const fs::path& dir, ByteView cms, const std::string& content,
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
inline void gnutls_verify(ByteView cms, const Bytes& signer_cert, const std::string* detached_content)
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

inline std::string openssl_fingerprint_hex(const fs::path& cert_pem)
{
    std::string s = shell("openssl x509 -noout -fingerprint -sha256 -in " + cert_pem.string());
    std::string hex;
    for (char c : s.substr(s.find('=') + 1))
        if (std::isxdigit(static_cast<unsigned char>(c))) hex += char(std::tolower(c));
    return hex;
}

inline std::string openssl_serial_hex(const fs::path& cert_pem)
{
    std::string s = shell("openssl x509 -noout -serial -in " + cert_pem.string());
    std::string hex;
    for (char c : s.substr(s.find('=') + 1))
        if (std::isxdigit(static_cast<unsigned char>(c))) hex += char(std::tolower(c));
    return hex;
}

inline std::string serial_hex(const Bytes& serial)
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
inline std::vector<Bytes> elements(ByteView tlv)
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
inline const Case kCases[] = {
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
inline bool gnutls_can_verify(const Case& c)
{
    return c.scheme != SignatureScheme::RsaPss || c.digest == DigestAlgorithm::Sha256;
}

inline const std::string kMessage =
    "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from the gateway.\r\n";

inline std::string lower_hex(ByteView b)
{
    std::string h = to_hex(b);
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return h;
}

}  // namespace ssm::cmstest
