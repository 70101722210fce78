// A certificate's subjectPublicKeyInfo read from its DER with base/der_tlv.h, for the keys
// GnuTLS 3.7.9 will not describe: an id-RSASSA-PSS key whose parameters name MGF1 over another
// hash than theirs (RFC 4055 §3.1 allows it; gnutls_x509_crt_get_pk_algorithm and
// gnutls_x509_crt_get_key_id fail on it). In base/ because pki/ (certificate facts, key ids) and
// hsm/ (token certificate facts) both need it and neither may include the other. The DER is
// untrusted: the read is bounded and what does not read is nullopt, never thrown.
#pragma once
#include <optional>
#include <string>

#include "base/bytes.h"

namespace ssm {

struct CertificateKey {
    std::string algorithm;          // the key's algorithm OID, dotted
    ByteView spki;                  // the whole SubjectPublicKeyInfo TLV, inside the certificate's DER
    ByteView parameters;            // the algorithm's parameters (their TLVs), inside it; empty: absent
    unsigned rsa_modulus_bits = 0;  // RSA and id-RSASSA-PSS keys: the modulus's bit length; else 0
};

// The key of the DER Certificate `cert_der` (RFC 5280 §4.1); `spki` points into `cert_der`,
// which must outlive it. nullopt when the certificate or its key's algorithm does not read.
std::optional<CertificateKey> certificate_key(ByteView cert_der);

}  // namespace ssm
