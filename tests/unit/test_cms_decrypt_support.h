// Shared pieces of the decryption tests: a software smime::Decrypter over a real private key
// file (raw RSA with GMP, ECDH with nettle: the same contract as the token's), the fixture
// PKI made once per process by tests/fixtures/make-pki.sh, openssl runners, file sources.
#pragma once
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/cms/decrypt.h"
#include "smime/decrypter.h"

namespace ssm::test {

class SoftDecrypter final : public smime::Decrypter {
public:
    // key: PKCS#8 or PKCS#1, PEM or DER; cert: PEM or DER.
    static std::shared_ptr<SoftDecrypter> load(const std::filesystem::path& key,
                                               const std::filesystem::path& cert);
    SoftDecrypter();
    ~SoftDecrypter() override;
    const Bytes& certificate_der() const override { return m_cert; }
    smime::KeyType key_type() const override { return m_type; }
    Bytes rsa_raw_decrypt(ByteView block) override;
    Bytes ecdh_derive(ByteView peer_public) override;
    int raw_calls = 0;  // how often the private key was used

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    Bytes m_cert;
    smime::KeyType m_type = smime::KeyType::Rsa;
};

// The fixture PKI of this process (made on first use, removed at exit).
const std::filesystem::path& pki_dir();
// A scratch folder of this process (removed at exit).
const std::filesystem::path& scratch_dir();
std::shared_ptr<SoftDecrypter> soft_key(const std::string& identity);  // e.g. "alice"

Bytes read_bytes(const std::filesystem::path& p);
void write_bytes(const std::filesystem::path& p, ByteView data);
// Runs `openssl <args>` in pki_dir() with OPENSSL_CONF=/dev/null; throws on failure.
void openssl(const std::string& args);

// A sequential ByteSource over a file; reads in uneven pieces when `piece` is set.
class FileSource final : public ByteSource {
public:
    explicit FileSource(const std::filesystem::path& p, std::size_t piece = 0);
    ~FileSource() override;
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;
    std::size_t read(std::span<std::uint8_t> buf) override;
    void rewind() override;
    std::uint64_t size() const override { return m_size; }

private:
    std::FILE* m_f = nullptr;
    std::uint64_t m_size = 0;
    std::size_t m_piece = 0;
};

// decrypt_envelope over bytes in memory, returning the plaintext in `out`.
smime::cms::DecryptOutcome decrypt_bytes(ByteView der, const std::vector<std::shared_ptr<smime::Decrypter>>& keys,
                                         Bytes& out);

// Peak resident set size of this process, in KiB (VmHWM).
long peak_rss_kib();

}  // namespace ssm::test
