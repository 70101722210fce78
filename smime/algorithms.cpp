// Names of algorithms as they appear in configuration and in micalg parameters.
#include "smime/algorithms.h"

namespace ssm::smime {

std::string_view digest_name(DigestAlgorithm d)
{
    switch (d) {
    case DigestAlgorithm::Sha256: return "sha-256";
    case DigestAlgorithm::Sha384: return "sha-384";
    case DigestAlgorithm::Sha512: return "sha-512";
    }
    return "sha-256";
}

std::optional<DigestAlgorithm> parse_digest_name(std::string_view s)
{
    if (s == "sha256" || s == "sha-256") return DigestAlgorithm::Sha256;
    if (s == "sha384" || s == "sha-384") return DigestAlgorithm::Sha384;
    if (s == "sha512" || s == "sha-512") return DigestAlgorithm::Sha512;
    return std::nullopt;
}

std::string_view scheme_name(SignatureScheme s)
{
    switch (s) {
    case SignatureScheme::RsaPkcs1v15: return "rsa-pkcs1";
    case SignatureScheme::RsaPss: return "rsa-pss";
    case SignatureScheme::Ecdsa: return "ecdsa";
    case SignatureScheme::Ed25519: return "ed25519";
    }
    return "rsa-pkcs1";
}

std::optional<SignatureScheme> parse_scheme_name(std::string_view s)
{
    if (s == "rsa-pkcs1" || s == "pkcs1") return SignatureScheme::RsaPkcs1v15;
    if (s == "rsa-pss" || s == "pss") return SignatureScheme::RsaPss;
    if (s == "ecdsa") return SignatureScheme::Ecdsa;
    if (s == "ed25519") return SignatureScheme::Ed25519;
    return std::nullopt;
}

}  // namespace ssm::smime
