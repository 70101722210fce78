// A small DER reader for the few certificate and CRL extensions GnuTLS 3.7 has no parser for
// (IssuingDistributionPoint, policyMappings, policyConstraints), and for the certificate fields
// it will not give for an RSASSA-PSS key or signature it refuses (the signature algorithm, the
// modulus, RSASSA-PSS-params; pki/certificate.cpp, certificate_signature.cpp, base/rsa_pss_params.h).
// pki/ has no ASN.1 module and these structures are a handful of tags; the input is untrusted,
// so every read is bounded and a malformed value is reported (nullopt), never thrown. In base/
// (it needs nothing above the standard library) so that the one RSASSA-PSS-params reader, which
// pki/ and smime/cms/ share, can use it. Also Names (base/name_compare.h), and the one writer of
// a DER header (der_header).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ssm {

struct Tlv {
    unsigned tag = 0;
    const std::uint8_t* value = nullptr;
    std::size_t length = 0;
    std::size_t total = 0;  // header and value
    const std::uint8_t* begin() const { return value - (total - length); }  // its first octet
};

// One DER TLV at the start of [p, p + n): single-octet tags, definite lengths up to 4 octets.
std::optional<Tlv> read_tlv(const std::uint8_t* p, std::size_t n);

// The dotted form of an OBJECT IDENTIFIER's contents octets (X.690 §8.19); nullopt when they
// are not minimally encoded, end inside an arc, or an arc exceeds 32 bits.
std::optional<std::string> oid_text(const Tlv& oid);

// Size of a one-byte tag plus the definite length octets for `length`.
std::size_t der_header_size(std::uint64_t length);
// One-byte tag followed by the shortest definite length encoding (X.690 §10.1): the header of a
// TLV written by hand (smime/cms's streaming writer, a Name put together in pki/crl_scope.cpp).
std::vector<std::uint8_t> der_header(std::uint8_t tag, std::uint64_t length);

// The fields of a TBSCertificate (RFC 5280 §4.1) after its optional [0] version.
enum class TbsField { SerialNumber, Signature, Issuer, Validity, Subject, SubjectPublicKeyInfo };

// That field of the TBSCertificate `tbs` (a SEQUENCE read with read_tlv); nullopt when it, or a
// field before it, does not read. Only positions are checked: the caller checks the tag.
std::optional<Tlv> tbs_field(const Tlv& tbs, TbsField which);

}  // namespace ssm
