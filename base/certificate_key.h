// A certificate's subjectPublicKeyInfo read from its DER with base/der_tlv.h, for the keys
// GnuTLS 3.7.9 will not describe: an id-RSASSA-PSS key whose parameters name MGF1 over another
// hash than theirs (RFC 4055 §3.1 allows it; gnutls_x509_crt_get_pk_algorithm and
// gnutls_x509_crt_get_key_id fail on it). The one reader of a certificate's RSA key numbers for
// our own RSASSA-PSS checks too. In base/ because pki/ (certificate facts, key ids, certificate
// signatures), hsm/ (token certificate facts) and smime/cms/ (signer keys) need it and none may
// include another. The DER is untrusted: the read is bounded and what does not read is nullopt
// or empty, never thrown.
#pragma once
#include <optional>
#include <string>

#include "base/bytes.h"

namespace ssm {

struct CertificateKey {
    std::string algorithm;          // the key's algorithm OID, dotted
    ByteView spki;                  // the whole SubjectPublicKeyInfo TLV, inside the certificate's DER
    ByteView parameters;            // the algorithm's parameters (their TLVs), inside it; empty: absent
    // rsaEncryption and id-RSASSA-PSS keys (RFC 8017 §A.1.1 RSAPublicKey): the modulus and the
    // public exponent, inside the certificate's DER, as unsigned big-endian magnitudes: the
    // INTEGER's contents without its sign octet (a leading 0x00 is stripped), so neither begins
    // with a zero octet and a 2048-bit modulus is 256 octets. Each must be a strict DER INTEGER
    // (minimal) and positive, the RSAPublicKey exactly those two; else all three stay empty / 0,
    // as for any other key.
    ByteView rsa_modulus;
    ByteView rsa_exponent;
    unsigned rsa_modulus_bits = 0;  // the modulus's bit length
};

// The key of the DER Certificate `cert_der` (RFC 5280 §4.1); `spki` points into `cert_der`,
// which must outlive it. nullopt when the certificate or its key's algorithm does not read.
std::optional<CertificateKey> certificate_key(ByteView cert_der);

}  // namespace ssm
