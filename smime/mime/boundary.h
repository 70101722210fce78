// Multipart boundaries for the entities we create (multipart/signed and the like).
// No input: the boundary comes from the GnuTLS random generator.
#pragma once
#include <string>

namespace ssm::smime::mime {

// "=_ssm_" followed by 32 hex digits (128 random bits): 38 characters, within RFC 2046's
// 70. It has to be sent quoted (boundary="...") because '=' is a tspecial.
// Why it cannot collide with content we emit: "=_" can occur in neither transfer encoding
// we produce. Base64 output uses A-Z a-z 0-9 + / and '=' only as padding at the end of a
// line, never followed by '_'; quoted-printable writes '=' only as "=XX" with two hex
// digits or as a soft break "=" CRLF. Parts we copy unencoded are 7-bit text that
// could in principle hold anything, and there the 128 random bits make a match
// practically impossible. Throws ssm::Error(Failure::Internal) if the generator fails.
std::string make_boundary();

}  // namespace ssm::smime::mime
