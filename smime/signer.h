// The abstract signing key the S/MIME engine uses. hsm/ implements it over a PKCS#11
// token; tests may implement it over a software key. The engine never sees key bytes.
#pragma once
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "smime/algorithms.h"

namespace ssm::smime {

// What the SignedData encoder derives from a signer's certificate alone (Signer::facts()).
struct SignerFacts {
    Bytes issuer_der;              // sid: issuerAndSerialNumber.issuer (raw Name DER)
    Bytes serial;                  // sid: issuerAndSerialNumber.serialNumber (INTEGER content)
    Bytes signing_certificate_v2;  // DER of the signingCertificateV2 attribute value
};

// What a key allows beyond its type, when it restricts its own signatures: an id-RSASSA-PSS key
// (RFC 4055 §1.2) signs RSASSA-PSS only, and one with RSASSA-PSS-params only with their hash
// (RFC 4055 §3.1: a key with parameters MUST be used with them). Signing code follows it over
// the configured scheme and digest (scheme_for/digest_for in smime/sign.h): a signature outside
// it is refused by every verifier.
struct KeyRestriction {
    bool rsa_pss_only = false;
    std::optional<DigestAlgorithm> digest;  // the one hash (MGF1 over it, salt its length)
};

class Signer {
public:
    Signer() = default;
    virtual ~Signer() = default;
    Signer(const Signer&) = delete;
    Signer& operator=(const Signer&) = delete;

    // The signer's certificate, DER. Must not change during the signer's lifetime.
    virtual const Bytes& certificate_der() const = 0;
    // Certificates to attach after the signer's own (intermediates up to, not including,
    // the root), DER, nearest first.
    virtual std::vector<Bytes> chain_der() const = 0;
    virtual KeyType key_type() const = 0;
    // Nothing beyond the key type unless the key says so (see KeyRestriction).
    virtual KeyRestriction restriction() const { return {}; }
    // Signs an already computed digest. The result is what goes into SignerInfo.signature:
    // RSA: the raw signature block; ECDSA: DER Ecdsa-Sig-Value; Ed25519 is not a
    // pre-hash scheme and is signed through sign_message (throws here).
    // Throws ssm::Error(Failure::HsmUnavailable) when the key cannot be used now.
    virtual Bytes sign_digest(SignatureScheme scheme, DigestAlgorithm digest, ByteView hash) = 0;
    // For pure schemes (Ed25519): signs the DER of the signed attributes itself.
    virtual Bytes sign_message(SignatureScheme scheme, ByteView message) = 0;

    // What the SignedData encoder derives from certificate_der() alone (issuer and serial,
    // the signingCertificateV2 value), made on first use and kept as long as the signer, so
    // a long-lived signer parses its certificate once instead of twice per message.
    // Thread-safe; defined in smime/cms/signed_data.cpp.
    const SignerFacts& facts() const;

private:
    mutable std::mutex m_facts_mutex;
    mutable std::unique_ptr<const SignerFacts> m_facts;  // set once, then never changed
};

}  // namespace ssm::smime
