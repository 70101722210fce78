// Identifying a certificate inside CMS: issuer Name (raw DER) and serial number, read from
// a certificate with GnuTLS. The certificates come from our token or from decoded messages
// (untrusted): GnuTLS parses them, and failures are MalformedMessage.
#pragma once
#include <string>

#include "base/bytes.h"
#include "smime/cms/asn1.h"
#include "base/name_compare.h"

namespace ssm::smime::cms {

// Serial numbers compare as values: an encoding with superfluous leading 00 or FF octets
// (BER allows it, some CAs and encoders write it; libtasn1 drops them when it writes one) names
// the same serial. Leading zeros are dropped even before an octet with its high bit set: some
// encoders forget the sign octet of a positive serial, and no CA issues negative ones.
bool same_serial(ByteView a, ByteView b) noexcept;

struct IssuerSerial {
    Bytes issuer_der;  // X.501 Name, exactly as in the certificate
    Bytes serial;      // INTEGER content octets (two's complement, big-endian)
    // The serial first (cheap, and it differs for nearly every other certificate), then the
    // issuer: byte for byte, else as RFC 5280 §7.1 compares Names (name_compare.h), since
    // senders re-encode the issuer they copy into a RecipientInfo or SignerInfo. Never throws.
    bool operator==(const IssuerSerial& o) const noexcept
    {
        return same_serial(serial, o.serial) && same_name(issuer_der, o.issuer_der);
    }
};

IssuerSerial issuer_serial_of(ByteView cert_der);
// The subjectKeyIdentifier extension's value; empty when the certificate has none.
Bytes subject_key_id_of(ByteView cert_der);
bool same_certificate(ByteView a_der, ByteView b_der);

// Writes/reads an IssuerAndSerialNumber at `field` ("" for the root).
void write_issuer_serial(Asn1Node& node, const std::string& field, const IssuerSerial& id);
IssuerSerial read_issuer_serial(const Asn1Node& node, const std::string& field);

}  // namespace ssm::smime::cms
