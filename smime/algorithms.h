// Algorithm identifiers used across the S/MIME engine, independent of any library's enums.
#pragma once
#include <cstddef>
#include <optional>
#include <string_view>

namespace ssm::smime {

enum class DigestAlgorithm { Sha256, Sha384, Sha512 };

// How a signature is made; the key type follows from it.
enum class SignatureScheme {
    RsaPkcs1v15,  // RSASSA-PKCS1-v1_5 (RFC 8017)
    RsaPss,       // RSASSA-PSS, MGF1 with the same hash, salt length = hash length (RFC 4056)
    Ecdsa,        // ECDSA over P-256/P-384/P-521 (RFC 5753)
    Ed25519,      // pure EdDSA (RFC 8419)
};

enum class KeyType { Rsa, Ec, Ed25519 };

std::string_view digest_name(DigestAlgorithm d);           // "sha-256" (micalg form)
std::optional<DigestAlgorithm> parse_digest_name(std::string_view s);  // "sha256"/"sha-256"
std::string_view scheme_name(SignatureScheme s);           // "rsa-pkcs1", "rsa-pss", ...
std::optional<SignatureScheme> parse_scheme_name(std::string_view s);
// Octets of a digest. Inline so that cms/ and hsm/, which do not link against the smime/
// library, use this one table.
constexpr std::size_t digest_size(DigestAlgorithm d) noexcept
{
    switch (d) {
    case DigestAlgorithm::Sha256: return 32;
    case DigestAlgorithm::Sha384: return 48;
    case DigestAlgorithm::Sha512: return 64;
    }
    return 32;
}

}  // namespace ssm::smime
