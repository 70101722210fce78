// BER indefinite lengths rewritten as definite ones, for the CMS structures the streaming
// readers hand to libtasn1 (SignedData around its content, the (Auth)EnvelopedData prefix).
// libtasn1 4.19 refuses some legal indefinite forms (an AlgorithmIdentifier whose optional
// parameters are absent before its end-of-contents), and an issuer Name in indefinite form
// would never equal the DER Name of our certificate, although both are the same name.
// Input is untrusted: every header is checked against its parent and the input's end.
#pragma once
#include "base/bytes.h"

namespace ssm::smime::cms {

// `ber` (one or more TLVs) with every indefinite length replaced by the shortest definite
// length (X.690 §10.1), and every element that contains one given a definite length that fits;
// everything else — tags, other length octets, content octets, element order — as received,
// so DER input comes back unchanged. Throws Error(MalformedMessage) for truncated or
// inconsistent encodings, an indefinite length on a primitive element, a missing
// end-of-contents, or nesting deeper than kMaxBerDepth (ber_stream.h).
Bytes with_definite_lengths(ByteView ber);

}  // namespace ssm::smime::cms
