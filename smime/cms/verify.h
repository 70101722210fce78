// Verification of received SignedData (RFC 5652 §5.4-5.6, RFC 8551 §2): each SignerInfo's
// signature, messageDigest and contentType, and the ESS signingCertificate(V2) binding
// (RFC 5035, checked by no library we use). Path validation is pki/'s job. Everything here
// is attacker input: structural damage throws ssm::Error(MalformedMessage); a signer that
// does not verify is a result (signature_valid false with a reason), never an exception.
#pragma once
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/algorithms.h"

namespace ssm::smime::cms {

// The failure of a signer whose certificate is neither in the SignedData nor among the extra
// certificates offered.
inline constexpr const char* kSignerCertificateNotFound = "signer certificate not in message";

struct SignerVerification {
    // The signature over signedAttrs (or, without them, over the content digest) verifies
    // AND messageDigest matches the content AND the contentType attribute matches
    // eContentType AND signingCertificate(V2), when present, names the signer certificate.
    bool signature_valid = false;
    // Why not valid: "message digest mismatch", "bad signature", "signer certificate not in
    // message", "unsupported algorithm X", "signingCertificateV2 does not match the signer
    // certificate", "duplicate signed attribute X", ... Empty when valid.
    std::string failure;
    // The failure is "unsupported algorithm ...": the signature could not be checked at all
    // (an algorithm, parameter or key type we do not implement), which proves nothing either way.
    bool unsupported = false;
    // Located by sid (issuerAndSerialNumber or subjectKeyIdentifier) among the message's
    // certificates and `extra_certificates`; empty when not found.
    Bytes signer_certificate_der;
    // SHA-2 digest of the SignerInfo; when weak_digest (SHA-1, legacy: verified but to be
    // flagged), `digest` holds no meaning because DigestAlgorithm has no SHA-1.
    DigestAlgorithm digest = DigestAlgorithm::Sha256;
    bool weak_digest = false;
    SignatureScheme scheme = SignatureScheme::RsaPkcs1v15;
    // Signed attributes. Read whether or not the signature verifies: callers use them (e.g.
    // for harvesting) only when signature_valid.
    std::optional<std::time_t> signing_time;
    std::optional<Bytes> smime_capabilities_der;         // SMIMECapabilities value
    std::optional<Bytes> encryption_key_preference_der;  // SMIMEEncryptionKeyPreference value
    std::optional<Bytes> microsoft_key_preference_der;   // Microsoft's: an IssuerAndSerialNumber
    std::vector<std::pair<std::string, Bytes>> signed_attributes;  // every (OID, DER value)
    // OIDs of hint attributes (SMIMECapabilities, the key preferences) left unread because
    // they did not hold exactly one value: for the log; they do not fail the signer.
    std::vector<std::string> ignored_hints;
    // Notes on the signer for the log and the verification's detail, as "key=value" words:
    // "signer-key-weak=rsa1024" for an RSA key below 2048 bits (SignerKey::weak in
    // verify_signature.h; RFC 8551 §4), noted once the signer certificate is found, whatever
    // the signature's outcome. They do not change signature_valid.
    std::vector<std::string> notes;
    // What a signed receipt for this signer names (RFC 2634 §2.7-§2.8): its signature value
    // and its signedAttrs as DER SET OF (empty when it has none).
    Bytes signature;
    Bytes signed_attributes_der;
};

struct VerifyResult {
    std::string econtent_type;  // OID
    std::vector<Bytes> certificates;  // every certificate the SignedData carries (path building)
    // One per SignerInfo, in message order. Empty for a certificates-only SignedData: the
    // caller must not read "no failed signer" as "signed".
    std::vector<SignerVerification> signers;
};

// Detached (multipart/signed): `signature_der` is the application/pkcs7-signature part
// (DER, after base64 decoding; it must not carry eContent); `content` yields the exact
// signed entity bytes (rewound, then read once). Ed25519 without signed attributes signs the
// content itself: for such a signer the content is kept in memory up to 64 MiB (beyond, the
// signer is reported unverifiable); otherwise only digests are computed.
VerifyResult verify_detached(ByteView signature_der, ByteSource& content,
                             std::span<const Bytes> extra_certificates = {});

// Opaque (application/pkcs7-mime; smime-type=signed-data): `der` is the whole ContentInfo,
// DER or BER (OpenSSL -stream). It is read as a stream: the encapsulated content goes to
// `content_out` while it is hashed and only the structures around it are held in memory
// (at most kMaxSignedDataStructure, else MessageTooLarge). On an exception `content_out`
// may hold partial content: discard it. For an Ed25519 signer without signed attributes
// (pure EdDSA over the content, RFC 8419) `der` is read a second time to collect the
// content, kept in memory up to 64 MiB (beyond, that signer is reported unverifiable).
VerifyResult verify_encapsulated(ByteSource& der, ByteSink& content_out,
                                 std::span<const Bytes> extra_certificates = {});

// The certificate among `certs` (the message's) that the signer asks to be encrypted to:
// the one RFC 8551's sMIMEEncryptionKeyPreference names; when that attribute is absent or
// names no certificate in `certs` (unreadable, or one the sender did not carry), the one
// Microsoft's attribute names (Outlook sends it, often alone, sometimes beside an RFC 8551
// attribute naming a certificate it left out). Nothing when neither names one. Both are
// the signer's word: use it only for a valid signature.
std::optional<Bytes> signer_preferred_encryption_certificate(const SignerVerification& signer,
                                                             std::span<const Bytes> certs) noexcept;

}  // namespace ssm::smime::cms
