// Public-key checks for SignedData verification: which digest and signature algorithm a
// SignerInfo names (RFC 5754, 4056, 5758, 8419; SHA-1 only as a weak legacy digest) and
// whether a signature made with a certificate's key verifies. Algorithm identifiers, keys
// and signatures all come from received mail (untrusted): unknown or malformed ones are
// reported as a reason string, never thrown.
#pragma once
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/algorithms.h"
#include "smime/cms/algorithm_ids.h"

namespace ssm::smime::cms {

// A digest the verifier can compute: SHA-2 plus SHA-1 (which DigestAlgorithm lacks on
// purpose: we never sign with it).
struct VerifyDigest {
    gnutls_digest_algorithm_t gnutls = GNUTLS_DIG_UNKNOWN;
    std::optional<DigestAlgorithm> sha2;  // empty for SHA-1
    bool weak() const { return !sha2; }
};
// The digest of a digestAlgorithm identifier, or a reason ("unsupported algorithm md5").
std::optional<VerifyDigest> verify_digest_from_id(const AlgorithmId& id, std::string& reason);

// The digest of `data` with `d`.
Bytes verify_digest_of(const VerifyDigest& d, ByteView data);

// Hashes one stream with several digests at once (content of unknown size, one pass),
// keyed by digest algorithm OID.
class DigestSet final : public ByteSink {
public:
    // Adds a digest (an OID already present is ignored).
    void add(const std::string& oid, const VerifyDigest& d);
    using ByteSink::write;
    void write(ByteView data) override;
    // The digests, in the order added; the set is empty afterwards.
    std::vector<std::pair<std::string, Bytes>> finish();

private:
    struct Deinit {
        void operator()(gnutls_hash_hd_t h) const noexcept { gnutls_hash_deinit(h, nullptr); }
    };
    using Handle = std::unique_ptr<std::remove_pointer_t<gnutls_hash_hd_t>, Deinit>;
    struct Entry {
        std::string oid;
        gnutls_digest_algorithm_t algorithm;
        Handle handle;
    };
    std::vector<Entry> m_entries;
};

// What a signatureAlgorithm identifier asks for, checked against the SignerInfo digest.
struct SignatureCheck {
    SignatureScheme scheme = SignatureScheme::RsaPkcs1v15;
    std::size_t pss_salt_length = 0;  // RSASSA-PSS only
    // RSASSA-PSS only: MGF1's hash when it is not the message digest's (RFC 4055 §3.1: the
    // default mgf1SHA1 beside SHA-256, which some Java and .NET signers keep); else UNKNOWN.
    gnutls_digest_algorithm_t pss_mask_digest = GNUTLS_DIG_UNKNOWN;
};
std::optional<SignatureCheck> signature_check_from_id(const AlgorithmId& id, const VerifyDigest& digest,
                                                      std::string& reason);

// The public key of a signer certificate, read once per signer: imported into GnuTLS and, for
// an id-RSASSA-PSS key, its parameters read from the certificate (RFC 4055 §3.3 binds its
// signatures to them). GnuTLS 3.7.9 refuses to import an id-RSASSA-PSS key whose parameters
// name MGF1 over another hash than theirs (GNUTLS_E_CONSTRAINT_ERROR; RFC 4055 §3.1 allows
// it): then the modulus and exponent are read from the subjectPublicKey here and its
// signatures verified with base/rsa_pss.h. Throws Error(Temporary) only when GnuTLS cannot
// allocate; a key that does not read is a reason given by verify().
class SignerKey {
public:
    explicit SignerKey(ByteView cert_der);
    ~SignerKey();
    SignerKey(SignerKey&&) noexcept;
    SignerKey& operator=(SignerKey&&) noexcept;
    SignerKey(const SignerKey&) = delete;
    SignerKey& operator=(const SignerKey&) = delete;

    // Verifies `signature` made with this key: for Ed25519 over `data` itself (pure EdDSA), for
    // the others over `digest` (= H(data) with `d`). Returns "" when it verifies, else the
    // reason ("bad signature", "signer certificate unusable: ...").
    std::string verify(const SignatureCheck& check, const VerifyDigest& d, ByteView data, ByteView digest,
                       ByteView signature) const;

    // RFC 8551 §4 lists RSA keys of 2047 bits or fewer as ones receiving agents SHOULD NOT
    // accept for signature verification (beside "Historic Mail Considerations" for older mail);
    // the RFC 4134 examples and much archived mail are signed with 1024-bit keys, so such a
    // signature is still verified and the key is named instead: "rsa1024" (RSA or RSASSA-PSS
    // keys, by modulus bits). nullopt for other keys, or a key that does not read.
    std::optional<std::string> weak() const;

private:
    struct State;
    std::unique_ptr<State> m;
};

}  // namespace ssm::smime::cms
