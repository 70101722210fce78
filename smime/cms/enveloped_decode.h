// Decoder of received EnvelopedData / AuthEnvelopedData (RFC 5652 §6, RFC 5083) into plain
// structs: recipient identifiers, key-management and content-encryption algorithms, the
// ciphertext and mac. Input is untrusted DER/BER; failures are Error(MalformedMessage).
// The whole object sits in memory (libtasn1): callers bound its size.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/certificate_id.h"

namespace ssm::smime::cms {

struct RecipientIdView {
    std::optional<IssuerSerial> issuer_serial;  // exactly one of the two is set
    std::optional<Bytes> subject_key_id;        // KTRI [0] SKI, or KARI rKeyId's SKI
};

struct EncryptedKeyView {
    RecipientIdView rid;
    Bytes encrypted_key;
};

struct RecipientInfoView {
    std::string kind;  // "ktri", "kari", "kekri", "pwri" or "ori" (the last three not read)
    int version = 0;
    AlgorithmId key_encryption_algorithm;  // ktri, kari
    std::vector<EncryptedKeyView> keys;    // ktri: one; kari: recipientEncryptedKeys
    // kari only
    std::string originator_kind;  // "originatorKey", "issuerAndSerialNumber", ...
    std::optional<AlgorithmId> originator_algorithm;
    Bytes originator_public_key;  // BIT STRING octets of originatorKey
    std::optional<Bytes> ukm;
};

struct EnvelopedDataView {
    bool authenticated = false;  // AuthEnvelopedData
    int version = 0;
    bool has_originator_info = false;
    std::vector<RecipientInfoView> recipients;
    std::string content_type;
    AlgorithmId content_encryption_algorithm;
    std::optional<Bytes> encrypted_content;
    std::optional<Bytes> mac;        // AuthEnvelopedData
    bool has_attributes = false;     // unprotectedAttrs / authAttrs / unauthAttrs present
};

// `der` is a ContentInfo of type envelopedData or authEnvelopedData.
EnvelopedDataView decode_enveloped_content_info(ByteView der);
// The prefix EnvelopedStream::read_prefix() copies: a ContentInfo of type envelopedData
// whatever the message's type (the leading fields are the same); `authenticated` names
// AuthEnvelopedData in errors and in the view.
EnvelopedDataView decode_enveloped_prefix(ByteView content_info, bool authenticated);

}  // namespace ssm::smime::cms
