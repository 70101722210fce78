// The abstract private key the inbound S/MIME engine decrypts with: the raw RSA operation
// and ECDH. hsm/ implements it over a PKCS#11 token; the engine never sees key bytes and
// this interface knows nothing of PKCS#11. Inputs come from untrusted RecipientInfos.
#pragma once
#include "base/bytes.h"
#include "smime/algorithms.h"

namespace ssm::smime {

class Decrypter {
public:
    virtual ~Decrypter() = default;
    // The recipient certificate, DER: match RecipientInfos (issuerAndSerialNumber or
    // subjectKeyIdentifier) against it.
    virtual const Bytes& certificate_der() const = 0;
    virtual KeyType key_type() const = 0;  // Rsa or Ec (P-256/P-384)
    // RSA: the raw RSA private operation (c^d mod n) on a modulus-sized block, returned
    // modulus-sized with leading zeros. No padding is checked here: callers remove PKCS#1
    // v1.5 or OAEP padding in constant time (RFC 3218). Does not fail on any input of the
    // right length; a block of another length or >= n gives Error(MalformedMessage) without
    // touching the token. Token failures: Error(HsmUnavailable).
    virtual Bytes rsa_raw_decrypt(ByteView block) = 0;
    // EC: the ECDH shared secret Z (x-coordinate, field-size bytes) with the peer's public
    // point (uncompressed 04||X||Y). The point is validated before it reaches the token;
    // an invalid one gives Error(MalformedMessage). Token failures: Error(HsmUnavailable).
    virtual Bytes ecdh_derive(ByteView peer_public) = 0;
};

}  // namespace ssm::smime
