// RSASSA-PSS verification whose mask generation hashes with another function than the message
// digest (RFC 4055 §3.1 allows any pair; some Java and .NET producers sign SHA-256 with the
// default mgf1SHA1, and CAs sign certificates so with OpenSSL's -sigopt rsa_mgf1_md). The key,
// signature and digest come from received mail or certificates (untrusted). In base/ because smime/cms/ (SignedData
// signers) and pki/ (certificate signatures) both need it and neither may include the other.
#pragma once
#include <gnutls/gnutls.h>
#include <nettle/rsa.h>

#include <cstddef>

#include "base/bytes.h"

namespace ssm {

// A nettle RSA public key (public values: cleared, not wiped).
struct RsaPublicKey {
    RsaPublicKey() { rsa_public_key_init(&k); }
    ~RsaPublicKey() { rsa_public_key_clear(&k); }
    RsaPublicKey(const RsaPublicKey&) = delete;
    RsaPublicKey& operator=(const RsaPublicKey&) = delete;
    rsa_public_key k;
};

// True when `signature` is an EMSA-PSS encoding (RFC 8017 §8.1.2, §9.1.2) under `key` of
// `digest`, the message hashed with `message_hash`, the mask made by MGF1 over `mask_hash`,
// with a salt of `salt_length` octets. Hashes: SHA-1, SHA-256, SHA-384, SHA-512; any other
// gives false.
bool rsa_pss_verify_with_mask_hash(const rsa_public_key& key, const mpz_t signature,
                                   gnutls_digest_algorithm_t message_hash, gnutls_digest_algorithm_t mask_hash,
                                   std::size_t salt_length, ByteView digest);

}  // namespace ssm
