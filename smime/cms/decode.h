// Decoders for received CMS: ContentInfo and SignedData, copied out of libtasn1 into plain
// structs for verification and tests. Input is untrusted DER or BER (OpenSSL's -stream
// output is BER); everything is bounds-checked by libtasn1 and Asn1Node, and failures are
// ssm::Error(MalformedMessage). The whole object sits in memory: callers bound its size.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/certificate_id.h"
#include "smime/cms/signed_attributes.h"

namespace ssm::smime::cms {

struct ContentInfo {
    std::string content_type;  // OID
    Bytes content;             // the TLV inside content [0] EXPLICIT (decode it by type)
};
ContentInfo decode_content_info(ByteView der);

struct SignerInfoView {
    int version = 0;
    std::optional<IssuerSerial> issuer_serial;  // sid, one of the two
    std::optional<Bytes> subject_key_id;
    AlgorithmId digest_algorithm;
    AlgorithmId signature_algorithm;
    std::vector<Attribute> signed_attributes;  // in encoded order
    // What the signature covers: signedAttrs re-tagged as SET OF (empty when absent).
    Bytes signed_attributes_der;
    Bytes signature;
    std::vector<Attribute> unsigned_attributes;

    // The values of the signed attribute `oid` (empty when absent).
    const Attribute* find_signed(const std::string& oid) const;
};

struct SignedDataView {
    int version = 0;
    std::vector<AlgorithmId> digest_algorithms;  // those listed_digest_algorithm reads
    std::string econtent_type;
    std::optional<Bytes> econtent;  // absent for detached signatures
    std::vector<Bytes> certificates;
    std::vector<SignerInfoView> signers;
};

// One entry of digestAlgorithms (its TLV): the AlgorithmIdentifier, or nullopt for a SEQUENCE
// that is none (no OID first, elements too many). The SET is a hint (RFC 5652 §5.1), and the
// SignerInfo's own digestAlgorithm decides, so such an entry is passed over. An entry that is
// not a SEQUENCE, or whose lengths do not parse, is no SET OF AlgorithmIdentifier at all:
// Error(MalformedMessage).
std::optional<AlgorithmId> listed_digest_algorithm(ByteView entry);

// `der` is the SignedData itself (ContentInfo.content of a signedData ContentInfo).
SignedDataView decode_signed_data(ByteView der);
// Convenience: ContentInfo → SignedData; MalformedMessage when it is another type.
SignedDataView decode_signed_content_info(ByteView der);

}  // namespace ssm::smime::cms
