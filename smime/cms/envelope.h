// Outbound encryption: one CMS EnvelopedData (AES-CBC) or AuthEnvelopedData (AES-GCM,
// RFC 5083/5084) ContentInfo for all recipients of a message, streamed (RFC 5652 §6).
// Recipient certificates are untrusted input (directories, harvested mail): unusable ones
// raise Error(PolicyViolation) naming the reason. The plaintext is our own outgoing body.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/cms/content_cipher.h"

namespace ssm::smime::cms {

enum class RsaKeyTransport { Pkcs1v15, OaepSha256 };

struct RecipientSpec {
    // RSA -> KeyTransRecipientInfo; EC P-256/P-384 -> KeyAgreeRecipientInfo (ECDH
    // ephemeral-static, X9.63 KDF with SHA-256/SHA-384, AES wrap as strong as the content
    // cipher); X25519 -> KeyAgreeRecipientInfo with HKDF-SHA256 (RFC 8418).
    Bytes certificate_der;
    RsaKeyTransport rsa = RsaKeyTransport::Pkcs1v15;  // ignored for EC/X25519
    // rid as [0] subjectKeyIdentifier (KTRI, version 2) / rKeyId (KARI) instead of
    // issuerAndSerialNumber. A certificate without the SKI extension is still named by
    // issuerAndSerialNumber (RFC 5652 §6.2.1: the key id is the extension's value, never one
    // we compute), and the encoder reports it (issuer_serial_fallbacks()).
    bool use_subject_key_identifier = false;
};

// The constructor writes everything up to the encrypted content (all RecipientInfos are
// computed there, so certificate problems surface before any output); plaintext() takes
// exactly content_length octets, encrypted on the fly in 64 KiB chunks; finish() writes
// the last block (CBC padding) and the rest (the GCM tag as AuthEnvelopedData.mac).
// A fresh random CEK per object, wiped as soon as the cipher and the RecipientInfos have
// it. Output is DER. Not thread-safe; one encoder per message.
class EnvelopeEncoder {
public:
    EnvelopeEncoder(const std::vector<RecipientSpec>& recipients, ContentCipher cipher,
                    std::uint64_t content_length, ByteSink& out);
    ~EnvelopeEncoder();
    EnvelopeEncoder(const EnvelopeEncoder&) = delete;
    EnvelopeEncoder& operator=(const EnvelopeEncoder&) = delete;

    ByteSink& plaintext();
    // Error(Internal) if the byte count differs from content_length.
    void finish();

    // Total DER size for these parameters (for callers that need it before streaming).
    std::uint64_t total_size() const { return m_total_size; }
    // The key management of the RecipientInfos written, each kind once in order, named as
    // decryption names them (cms::key_management_name): "ktri-rsa-oaep", "kari-ecdh-p256".
    const std::vector<std::string>& key_management() const { return m_key_management; }
    // Positions in `recipients` of those that asked for a subjectKeyIdentifier rid and were
    // named by issuerAndSerialNumber, their certificate having no SKI extension.
    const std::vector<std::size_t>& issuer_serial_fallbacks() const { return m_issuer_serial_fallbacks; }

private:
    ByteSink& m_out;
    std::unique_ptr<ContentEncryptor> m_encryptor;
    Bytes m_tail;
    std::size_t m_mac_offset = 0;  // where the GCM tag goes in m_tail
    bool m_aead = false;
    bool m_finished = false;
    std::uint64_t m_total_size = 0;
    std::vector<std::string> m_key_management;
    std::vector<std::size_t> m_issuer_serial_fallbacks;
};

}  // namespace ssm::smime::cms
