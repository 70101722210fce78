// Streaming reader for opaque (encapsulated) SignedData: walks the BER of ContentInfo →
// SignedData up to eContent, sends the content octets to a sink while hashing them, and
// keeps only the small structures around them (certificates, SignerInfos) in memory, so a
// 50 MB signed message never sits in memory whole. Input is untrusted BER (OpenSSL -stream
// output is indefinite-length): every length is checked against its parent and a budget,
// nesting is bounded, and malformed input is ssm::Error(MalformedMessage).
#pragma once
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/cms/algorithm_ids.h"

namespace ssm::smime::cms {

struct StreamedSignedData {
    // The SignedData with eContent left out (DER header, the received BER elements inside):
    // what decode_signed_data takes. The signerInfos bytes are the received ones, so the
    // signed attributes located in it are exactly what was signed.
    Bytes signed_data;
    bool had_content = false;
    // Digest of the content octets for each digestAlgorithms entry we can compute (on a
    // second pass: for each of `second_pass_digests`), keyed by the algorithm OID.
    std::vector<std::pair<std::string, Bytes>> content_digests;
};

// Bytes of everything but eContent that we hold in memory (certificates, SignerInfos).
inline constexpr std::size_t kMaxSignedDataStructure = 16 * 1024 * 1024;

// Reads a whole ContentInfo of type signedData from `der`; the eContent octets go to
// `content_out` as they are read, hashed with the digests digestAlgorithms lists, or, on a
// second pass, with `second_pass_digests` alone (those the SignerInfos name and the first did
// not list: the first pass's digests are known already).
// Throws MalformedMessage (and MessageTooLarge when the structures exceed
// kMaxSignedDataStructure); `content_out` may then hold partial content.
StreamedSignedData read_signed_data_stream(
    ByteSource& der, ByteSink& content_out,
    std::optional<std::span<const AlgorithmId>> second_pass_digests = std::nullopt);

}  // namespace ssm::smime::cms
