// AlgorithmIdentifiers the signer emits and the decoder reports: digests (RFC 5754),
// RSA PKCS#1 v1.5 and RSASSA-PSS (RFC 4055/4056), ECDSA (RFC 5758), Ed25519 (RFC 8419).
// Encoding only from our enums; read_algorithm_id takes decoded (untrusted) structures.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "smime/algorithms.h"
#include "smime/cms/asn1.h"

namespace ssm::smime::cms {

struct AlgorithmId {
    std::string oid;
    std::optional<Bytes> parameters;  // whole DER TLV of the parameters, when present
    bool operator==(const AlgorithmId&) const = default;
};

std::string_view digest_oid(DigestAlgorithm d);
std::optional<DigestAlgorithm> digest_from_oid(std::string_view oid);

// SHA-2 for digestAlgorithms / SignerInfo.digestAlgorithm: parameters absent, which
// RFC 5754 §2 requires of generators.
AlgorithmId digest_algorithm_id(DigestAlgorithm d);
// SHA-2 with NULL parameters: the sha*Identifier form RFC 4055 §2.1 uses inside PSS/OAEP.
AlgorithmId digest_algorithm_id_with_null(DigestAlgorithm d);

// The key type a scheme needs.
KeyType key_type_for(SignatureScheme s);
// SignerInfo.signatureAlgorithm. PKCS#1 v1.5 uses rsaEncryption with NULL parameters: RFC
// 5754 §3.2 (and RFC 3370 before it) makes rsaEncryption the one every CMS implementation
// MUST accept, sha*WithRSAEncryption only MAY; OpenSSL, NSS and GnuTLS emit it too.
AlgorithmId signature_algorithm_id(SignatureScheme s, DigestAlgorithm d);

// RSASSA-PSS-params: hash, MGF1 with the same hash, salt length = hash length, trailer
// field left to its default (RFC 4056 §3).
Bytes rsassa_pss_params(DigestAlgorithm d);
// RSAES-OAEP-params: hash and MGF1 hash, pSourceFunc left to its default (RFC 4055 §4.1).
Bytes rsaes_oaep_params(DigestAlgorithm d);

Bytes encode_algorithm_id(const AlgorithmId& id);
void write_algorithm_id(Asn1Node& node, const std::string& field, const AlgorithmId& id);
AlgorithmId read_algorithm_id(const Asn1Node& node, const std::string& field);

// The DER of ASN.1 NULL (a constant, not a computed length).
inline Bytes der_null() { return Bytes{0x05, 0x00}; }

}  // namespace ssm::smime::cms
