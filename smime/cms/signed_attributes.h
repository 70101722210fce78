// Values of the signed attributes we emit (RFC 5652 §11, RFC 8551 §2.5, RFC 5035) and the
// generic Attribute list codec. Writers take our own data; read_attributes takes decoded,
// untrusted structures and only copies them out (values stay DER for the caller to decode).
#pragma once
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "smime/cms/asn1.h"

namespace ssm::smime::cms {

struct Attribute {
    std::string oid;
    std::vector<Bytes> values;  // each the DER of one AttributeValue
    bool operator==(const Attribute&) const = default;
};

Bytes content_type_value(std::string_view content_type_oid);
// UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5652 §11.3).
Bytes signing_time_value(std::time_t t);
Bytes message_digest_value(ByteView digest);
// Our capabilities in order of preference (RFC 8551 §2.5.2): AES-256-GCM, AES-128-GCM,
// ChaCha20-Poly1305 (RFC 8103), AES-256-CBC, AES-128-CBC, RSAES-OAEP(SHA-256), then the
// signature algorithms we make.
Bytes smime_capabilities_value();
// The capabilityIDs of an SMIMECapabilities attribute value (RFC 8551 §2.5.2), in the
// sender's order of preference, for choosing GCM vs CBC and OAEP. The value comes from a
// peer's signed mail: malformed input yields an empty list and never throws, because an
// unreadable list says as much as an absent one (fall back to the defaults).
std::vector<std::string> parse_smime_capabilities(ByteView der) noexcept;
// SigningCertificateV2 { ESSCertIDv2 { certHash SHA-256(cert), issuerSerial } }; the hash
// algorithm is the DEFAULT (SHA-256) and therefore absent in DER (RFC 5035 §3).
Bytes signing_certificate_v2_value(ByteView cert_der);
// SMIMEEncryptionKeyPreference ::= issuerAndSerialNumber [0] of `cert_der` (RFC 8551 §2.5.3).
Bytes encryption_key_preference_value(ByteView cert_der);
// Microsoft's encryption key preference: the IssuerAndSerialNumber of `cert_der`.
Bytes microsoft_encryption_key_preference_value(ByteView cert_der);
// The certificate among `certs` that an SMIMEEncryptionKeyPreference value names (by issuer
// and serial, or by subjectKeyIdentifier in either of the other two forms); nullopt when the
// value does not read or names none of them. Untrusted input: never throws.
std::optional<Bytes> preferred_encryption_certificate(ByteView value, std::span<const Bytes> certs) noexcept;
// The same for Microsoft's encryption key preference attribute (oid::kMicrosoftEncrypKeyPref),
// whose value is a bare IssuerAndSerialNumber. Untrusted input: never throws.
std::optional<Bytes> microsoft_preferred_encryption_certificate(ByteView value,
                                                                std::span<const Bytes> certs) noexcept;

// Writes a SET OF Attribute at `field`; libtasn1 puts the SET OF into DER order on encoding.
void write_attributes(Asn1Node& node, const std::string& field, const std::vector<Attribute>& attrs);
// Reads a SET OF Attribute (absent → empty), in encoded order.
std::vector<Attribute> read_attributes(const Asn1Node& node, const std::string& field);

}  // namespace ssm::smime::cms
