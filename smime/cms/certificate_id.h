// Identifying a certificate inside CMS: issuer Name (raw DER) and serial number, read from
// a certificate with GnuTLS. The certificates come from our token or from decoded messages
// (untrusted): GnuTLS parses them, and failures are MalformedMessage.
#pragma once
#include <string>

#include "base/bytes.h"
#include "smime/cms/asn1.h"

namespace ssm::smime::cms {

struct IssuerSerial {
    Bytes issuer_der;  // X.501 Name, exactly as in the certificate
    Bytes serial;      // INTEGER content octets (two's complement, big-endian)
    bool operator==(const IssuerSerial&) const = default;
};

IssuerSerial issuer_serial_of(ByteView cert_der);
// The subjectKeyIdentifier extension's value; empty when the certificate has none.
Bytes subject_key_id_of(ByteView cert_der);
bool same_certificate(ByteView a_der, ByteView b_der);

// Writes/reads an IssuerAndSerialNumber at `field` ("" for the root).
void write_issuer_serial(Asn1Node& node, const std::string& field, const IssuerSerial& id);
IssuerSerial read_issuer_serial(const Asn1Node& node, const std::string& field);

}  // namespace ssm::smime::cms
