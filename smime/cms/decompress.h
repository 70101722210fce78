// Inbound CompressedData (RFC 3274; smime-type=compressed-data, RFC 8551 §3.6): the zlib
// stream inside is inflated into the caller's sink. Senders may compress before or after
// signing and before encrypting; most MUAs cannot open the layer, so the gateway takes it off.
//
// Input is untrusted BER of any size (through BerStream: every header checked, the
// structure around the content bounded); the compressed content streams through zlib, and
// the output is capped by the caller (a decompression bomb must not fill the spool).
// Failures: Error(MalformedMessage, "CompressedData: …") for bad structure, an algorithm
// other than zlib, an inner type other than id-data, a corrupt, truncated or over-long zlib
// stream; Error(MessageTooLarge) once the output would pass `max_output`. On any failure the
// sink holds partial data that the caller must discard.
#pragma once
#include <cstdint>

#include "base/stream.h"

namespace ssm::smime::cms {

// `der` is a ContentInfo holding CompressedData (DER or BER: indefinite lengths and
// constructed OCTET STRINGs). Returns the number of octets written to `out`.
std::uint64_t decompress_content(ByteSource& der, ByteSink& out, std::uint64_t max_output);

}  // namespace ssm::smime::cms
