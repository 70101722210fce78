// The abstract signing key the S/MIME engine uses. hsm/ implements it over a PKCS#11
// token; tests may implement it over a software key. The engine never sees key bytes.
#pragma once
#include <vector>

#include "base/bytes.h"
#include "smime/algorithms.h"

namespace ssm::smime {

class Signer {
public:
    virtual ~Signer() = default;
    // The signer's certificate, DER.
    virtual const Bytes& certificate_der() const = 0;
    // Certificates to attach after the signer's own (intermediates up to, not including,
    // the root), DER, nearest first.
    virtual std::vector<Bytes> chain_der() const = 0;
    virtual KeyType key_type() const = 0;
    // Signs an already computed digest. The result is what goes into SignerInfo.signature:
    // RSA: the raw signature block; ECDSA: DER Ecdsa-Sig-Value; Ed25519 is not a
    // pre-hash scheme and is signed through sign_message (throws here).
    // Throws ssm::Error(Failure::HsmUnavailable) when the key cannot be used now.
    virtual Bytes sign_digest(SignatureScheme scheme, DigestAlgorithm digest, ByteView hash) = 0;
    // For pure schemes (Ed25519): signs the DER of the signed attributes itself.
    virtual Bytes sign_message(SignatureScheme scheme, ByteView message) = 0;
};

}  // namespace ssm::smime
