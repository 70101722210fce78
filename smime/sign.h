// Signing a whole message (RFC 8551 §3.5): the Content-* header fields and body become
// the signed inner entity; the result is multipart/signed (detached) or
// application/pkcs7-mime signed-data (opaque). Input is a message our own users sent
// (outbound), still handled as untrusted bytes: limits apply and malformed MIME gives
// a typed ssm::Error, never undefined behaviour.
#pragma once
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/spool.h"
#include "base/stream.h"
#include "smime/algorithms.h"
#include "smime/mime/header.h"
#include "smime/mime/limits.h"
#include "smime/signer.h"

namespace ssm::smime {

enum class SignatureFormat { Detached, Opaque };

struct SignParameters {
    SignatureFormat format = SignatureFormat::Detached;
    DigestAlgorithm digest = DigestAlgorithm::Sha256;  // SHA-512 for Ed25519 keys whatever this says
    SignatureScheme rsa_scheme = SignatureScheme::RsaPkcs1v15;  // for RSA keys
    bool include_chain = true;
    std::time_t signing_time = 0;
    mime::Limits limits;
    // Header fields written at the top of the signed entity, before its Content-* fields
    // (RFC 9788 header protection: the Cryptographic Payload carries the message's fields).
    std::vector<mime::HeaderField> protected_fields;
    // Further signed attributes (OID, DER of the single value): ESS securityLabel and
    // equivalentLabels (RFC 2634 §5.4), receipt requests. Each OID at most once.
    std::vector<std::pair<std::string, Bytes>> extra_signed_attributes;
    // The signer's own encryption certificate when it is another one than the signing
    // certificate: named in sMIMEEncryptionKeyPreference and carried in the SignedData
    // (RFC 8551 §2.5.3), so that correspondents encrypt to it.
    std::optional<Bytes> encryption_certificate_der;
};

// Changes to the top-level header: fields to delete or to give a new value (name and
// 1-based index among the fields of that name, as smfi_chgheader counts) and fields to
// append.
struct HeaderEdit {
    struct Removal {
        std::string name;
        int index;
    };
    struct Change {
        std::string name;
        int index;
        std::string value;
    };
    std::vector<Removal> remove;
    std::vector<Change> change;
    std::vector<mime::HeaderField> add;
    std::vector<mime::HeaderField> prepend;  // inserted at the top (trace-like fields: A-R)
};

// The removals that move every top-level Content-* field into the protected entity, and
// MIME-Version when the message has none.
HeaderEdit content_fields_moved_inside(const std::vector<mime::HeaderField>& headers);

struct SignResult {
    HeaderEdit headers;
    SignatureScheme scheme;
    DigestAlgorithm digest;
    std::uint64_t signed_bytes = 0;  // size of the canonical inner entity
    // For signed receipts (RFC 2634 §2): our SignerInfo's signed attributes as a DER SET OF
    // (msgSigDigest is their digest) and its signature value.
    Bytes signed_attributes_der;
    Bytes signature;
};

// The scheme used for a key type under the given preferences.
SignatureScheme scheme_for(KeyType key, SignatureScheme rsa_scheme);
// The digest a signature in `scheme` uses: the configured one, except SHA-512 for Ed25519
// (RFC 8419 §3.1), which the configured digest applies to the RSA and ECDSA keys only.
DigestAlgorithm digest_for(SignatureScheme scheme, DigestAlgorithm configured);
// The same for a given signer, whose key's restriction wins over the configuration: an
// id-RSASSA-PSS key signs rsa-pss whatever rsa_scheme says, and with its parameters' hash
// whatever the configured digest is (KeyRestriction in smime/signer.h).
SignatureScheme scheme_for(const Signer& signer, SignatureScheme rsa_scheme);
DigestAlgorithm digest_for(const Signer& signer, SignatureScheme scheme, DigestAlgorithm configured);

// Signs the message made of `headers` and `body`. The new body is written to `out`;
// `scratch` receives the canonical inner entity (it must be empty). Throws ssm::Error.
SignResult sign_message(const std::vector<mime::HeaderField>& headers, ByteSource& body,
                        Signer& signer, const SignParameters& params, Spool& scratch,
                        ByteSink& out);

}  // namespace ssm::smime
