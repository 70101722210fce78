// BER indefinite lengths rewritten as definite ones, for the CMS structures the streaming
// readers hand to libtasn1 (SignedData around its content, the (Auth)EnvelopedData prefix);
// and BER in DER form as far as the encoding tells, for attributes signed or MACed as DER.
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

// `ber` re-encoded as DER as far as the encoding alone determines it, without the ASN.1 type:
// shortest definite lengths everywhere (X.690 §10.1), universal strings (OCTET STRING, BIT
// STRING, the character strings and times) primitive with their segments joined (§10.2),
// BOOLEAN TRUE as FF (§11.1). What needs the type is left as received: SET OF order (libtasn1's
// encoder sorts a decoded SET OF), DEFAULT values, a string under an IMPLICIT context tag.
// For signed and authenticated attributes, which the sender signs or MACs in DER (RFC 5652
// §5.4, RFC 5083 §2.1) and a BER encoder may send otherwise. Throws as with_definite_lengths,
// and for a string segment of another type or a BIT STRING segment with unused bits before
// the last.
Bytes in_der_form(ByteView ber);

}  // namespace ssm::smime::cms
