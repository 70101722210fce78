// The public key and identifiers of an encryption recipient, read from its X.509
// certificate with GnuTLS. Certificates come from directories and harvested mail
// (untrusted): unusable ones (garbage DER, DSA, signature-only keys, curves we do not
// implement, invalid points) are refused with Error(PolicyViolation) saying why.
#pragma once
#include <optional>

#include "base/bytes.h"
#include "smime/cms/certificate_id.h"

namespace ssm::smime::cms {

enum class RecipientKeyType { Rsa, EcP256, EcP384, EcP521, X25519 };

struct RecipientKey {
    RecipientKeyType type = RecipientKeyType::Rsa;
    Bytes rsa_modulus;   // big-endian, no leading zero (RSA)
    Bytes rsa_exponent;
    Bytes ec_x;          // affine coordinates, field-size octets (EC); the u-coordinate (X25519)
    Bytes ec_y;
    IssuerSerial issuer_serial;
    std::optional<Bytes> subject_key_id;  // the certificate's SKI extension, when present
};

RecipientKey recipient_key_of(ByteView cert_der);

// How logs name a RecipientInfo's key management, the same for what we encrypt and what we
// decrypt: "ktri-rsa-pkcs1", "ktri-rsa-oaep", "kari-ecdh-p256", "kari-ecdh-p384",
// "kari-ecdh-p521", "kari-x25519". `rsa_oaep` matters for RSA only.
const char* key_management_name(RecipientKeyType type, bool rsa_oaep = false);

}  // namespace ssm::smime::cms
