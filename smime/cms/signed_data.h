// Encoder of CMS SignedData (RFC 5652 §5) with one signer, for detached and encapsulated
// (streamed) content. The signature comes from an abstract Signer (hsm/ or tests); the
// content itself never passes through here, only its digest and, when encapsulated, its
// length. Inputs are our own configuration and certificates: mismatches are Internal.
#pragma once
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "smime/algorithms.h"
#include "smime/cms/oids.h"
#include "smime/signer.h"

namespace ssm::smime::cms {

struct SignOptions {
    DigestAlgorithm digest = DigestAlgorithm::Sha256;  // Ed25519 requires Sha512 (RFC 8419)
    SignatureScheme scheme = SignatureScheme::RsaPkcs1v15;  // must fit signer.key_type()
    bool include_chain = true;  // signer certificate + signer.chain_der()
    std::time_t signing_time = 0;
    // Adds sMIMEEncryptionKeyPreference (issuerAndSerialNumber) when it differs from the
    // signing certificate.
    std::optional<Bytes> encryption_certificate_der;
    // (attribute OID, DER of its single value), e.g. ESS security label, receipt request.
    std::vector<std::pair<std::string, Bytes>> extra_signed_attributes;
    std::string content_type_oid = oid::kData;
};

struct SignedDataParts {
    Bytes head;
    Bytes tail;
    // What a signed receipt will name (RFC 2634 §2): the signed attributes as the signature
    // covered them (SET OF, for msgSigDigest) and the signature value. Filled by
    // encode_signed_data; empty from splice_encapsulated alone.
    Bytes signed_attributes_der;
    Bytes signature;
};

// Returns the DER of ContentInfo{ signedData }.
// Detached (encapsulated_length == nullopt): head + tail is the whole object (tail empty).
// Encapsulated: the caller writes head, then exactly *encapsulated_length content octets
// (those whose digest is content_digest), then tail.
// content_digest is the digest of the content with options.digest.
// Throws ssm::Error: Internal for inconsistent options, HsmUnavailable from the signer.
SignedDataParts encode_signed_data(Signer& signer, const SignOptions& options,
                                   ByteView content_digest,
                                   std::optional<std::uint64_t> encapsulated_length);

// Inserts eContent [0] EXPLICIT OCTET STRING of `content_length` octets into a DER
// ContentInfo{SignedData} whose encapContentInfo has no eContent, fixing every enclosing
// length. Exposed for tests; encode_signed_data uses it.
SignedDataParts splice_encapsulated(ByteView content_info_der, std::uint64_t content_length);

}  // namespace ssm::smime::cms
