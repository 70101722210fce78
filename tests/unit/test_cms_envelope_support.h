// Fixtures of the EnvelopedData tests: extra OpenSSL-made certificates (X25519, DSA,
// secp256k1, RSA without SKI) next to make-pki.sh's, the encoder driven in uneven pieces,
// and the peers that check the output (openssl cms -decrypt). Test-only.
#pragma once
#include <cppunit/extensions/HelperMacros.h>

#include <fstream>
#include <string>
#include <vector>

#include "smime/cms/enveloped_decode.h"
#include "smime/cms/envelope.h"
#include "smime/cms/signed_attributes.h"
#include "tests/unit/test_cms_support.h"

namespace ssm::cmstest {

// Certificates make-pki.sh does not issue, made by OpenSSL from the same sub-CA. X25519
// keys cannot sign a CSR: the request is signed by a throwaway key and -force_pubkey
// puts the X25519 key in the certificate.
inline const fs::path& extra_pki()
{
    static const bool made = [] {
        const std::string d = pki().string();
        test::run("cd " + d + " && export OPENSSL_CONF=/dev/null && ( "
                  "issue() { openssl req -new -key $2 -subj \"/O=SSM Test/CN=$1@acme.example\" -out $1.csr && "
                  "  printf \"[ee]\\nbasicConstraints=critical,CA:false\\nkeyUsage=critical,$3\\n"
                  "subjectAltName=email:$1@acme.example\\n$4\\n\" > $1.ext && "
                  "  openssl x509 -req -in $1.csr $5 -CA sub-ca.cert.pem -CAkey sub-ca.key.pem -CAcreateserial "
                  "  -days 365 -extfile $1.ext -extensions ee -out $1.cert.pem && "
                  "  openssl x509 -in $1.cert.pem -outform DER -out $1.cert.der; } && "
                  "openssl genpkey -algorithm X25519 -out x25519.key.pem && "
                  "openssl pkey -in x25519.key.pem -pubout -out x25519.pub.pem && "
                  "openssl genpkey -algorithm ED25519 -out throwaway.key.pem && "
                  "issue x25519 throwaway.key.pem keyAgreement subjectKeyIdentifier=hash '-force_pubkey x25519.pub.pem' && "
                  "openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -out dsa.param && "
                  "openssl genpkey -paramfile dsa.param -out dsa.key.pem && "
                  "issue dsa dsa.key.pem digitalSignature subjectKeyIdentifier=hash '' && "
                  "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out k256.key.pem && "
                  "issue k256 k256.key.pem keyAgreement subjectKeyIdentifier=hash '' && "
                  "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out noski.key.pem && "
                  "issue noski noski.key.pem keyEncipherment "
                  "'subjectKeyIdentifier=none\\nauthorityKeyIdentifier=none' '' "
                  ") >/dev/null 2>&1");
        return true;
    }();
    (void)made;
    return pki();
}

inline Bytes cert_der(const std::string& id)
{
    return to_bytes(test::read_file(extra_pki() / (id + ".cert.der")));
}

inline RecipientSpec spec(const std::string& id, RsaKeyTransport rsa = RsaKeyTransport::Pkcs1v15,
                          bool ski = false)
{
    RecipientSpec s;
    s.certificate_der = cert_der(id);
    s.rsa = rsa;
    s.use_subject_key_identifier = ski;
    return s;
}

// Deterministic pseudo-random content (PatternSource) of n octets.
inline Bytes pattern(std::size_t n)
{
    Bytes b(n);
    PatternSource src(n);
    std::size_t got = 0;
    while (got < n) got += src.read(std::span<std::uint8_t>(b.data() + got, n - got));
    return b;
}

// Encrypts `content`, written in uneven pieces (1, 7, 100, 70000 octets ...) so that the
// encoder's buffering and chunking is exercised; checks total_size() against the output.
inline Bytes encrypt(const std::vector<RecipientSpec>& recipients, ContentCipher cipher, ByteView content)
{
    MemorySink out;
    EnvelopeEncoder enc(recipients, cipher, content.size(), out);
    const std::size_t pieces[] = {1, 7, 100, 70000, 16, 15, 65536};
    std::size_t pos = 0;
    for (std::size_t i = 0; pos < content.size(); ++i) {
        const std::size_t n = std::min(pieces[i % 7], content.size() - pos);
        enc.plaintext().write(content.subspan(pos, n));
        pos += n;
    }
    enc.finish();
    CPPUNIT_ASSERT_EQUAL(enc.total_size(), std::uint64_t(out.data().size()));
    return out.data();
}

// `openssl cms -decrypt` with the recipient's key and certificate; returns the plaintext.
inline std::string openssl_decrypt(const fs::path& dir, ByteView der, const std::string& id)
{
    test::write_file(dir / "env.der", str(der));
    const fs::path& d = extra_pki();
    shell("openssl cms -decrypt -binary -inform DER -in " + (dir / "env.der").string() + " -inkey " +
          (d / (id + ".key.pem")).string() + " -recip " + (d / (id + ".cert.pem")).string() + " -out " +
          (dir / "out.bin").string() + " 2>&1");
    return test::read_file(dir / "out.bin");
}

inline const char* cipher_name(ContentCipher c)
{
    switch (c) {
    case ContentCipher::Aes128Cbc: return "aes-128-cbc";
    case ContentCipher::Aes256Cbc: return "aes-256-cbc";
    case ContentCipher::Aes128Gcm: return "aes-128-gcm";
    case ContentCipher::Aes256Gcm: return "aes-256-gcm";
    case ContentCipher::ChaCha20Poly1305: return "chacha20-poly1305";  // not in kCiphers: OpenSSL 3.0 cms has none
    }
    return "?";
}

inline const ContentCipher kCiphers[] = {ContentCipher::Aes128Cbc, ContentCipher::Aes256Cbc,
                                         ContentCipher::Aes128Gcm, ContentCipher::Aes256Gcm};

struct RecipientCase {
    const char* name;
    const char* id;  // make-pki.sh identity
    RsaKeyTransport rsa;
    bool kari;
};
inline const RecipientCase kRecipients[] = {
    {"rsa-pkcs1v15", "alice", RsaKeyTransport::Pkcs1v15, false},
    {"rsa-oaep-sha256", "carol", RsaKeyTransport::OaepSha256, false},
    {"ecdh-p256", "bob", RsaKeyTransport::Pkcs1v15, true},
    {"ecdh-p384", "erin", RsaKeyTransport::Pkcs1v15, true},
};

// The certificate's SKI as OpenSSL prints it (lower-case hex, no colons).
inline std::string openssl_ski_hex(const std::string& id)
{
    std::string s = shell("openssl x509 -noout -ext subjectKeyIdentifier -in " +
                          (extra_pki() / (id + ".cert.pem")).string());
    std::string hex;
    for (char c : s.substr(s.find('\n') + 1))
        if (std::isxdigit(static_cast<unsigned char>(c))) hex += char(std::tolower(c));
    return hex;
}

// Writes to a file (the 50 MB test keeps the output out of memory).
class FileSink final : public ByteSink {
public:
    explicit FileSink(const fs::path& p) : m_out(p, std::ios::binary) {}
    using ByteSink::write;
    void write(ByteView d) override
    {
        m_out.write(reinterpret_cast<const char*>(d.data()), std::streamsize(d.size()));
        if (!m_out) throw std::runtime_error("FileSink write failed");
    }

private:
    std::ofstream m_out;
};

class NullSink final : public ByteSink {
public:
    using ByteSink::write;
    void write(ByteView d) override { m_count += d.size(); }
    std::uint64_t count() const { return m_count; }

private:
    std::uint64_t m_count = 0;
};

}  // namespace ssm::cmstest
