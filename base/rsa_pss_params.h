// RSASSA-PSS-params (RFC 4055 §3.1), the parameters of an id-RSASSA-PSS signature algorithm or
// key, read once for every layer: pki/ (certificate signatures GnuTLS refuses) and smime/cms/
// (SignerInfo signature algorithms, id-RSASSA-PSS signer keys) both call this; neither may
// include the other. The DER comes from received mail and certificates (untrusted): the read is
// bounded (base/der_tlv.h) and strict, and what it refuses it says why, never throws.
#pragma once
#include <gnutls/gnutls.h>

#include <cstddef>
#include <optional>
#include <string>

#include "base/bytes.h"

namespace ssm {

constexpr const char* kOidRsassaPss = "1.2.840.113549.1.1.10";
constexpr const char* kOidMgf1 = "1.2.840.113549.1.1.8";

// The parameters with their DEFAULTs filled in (SHA-1, MGF1 over SHA-1, a salt of 20 octets).
struct RsaPssParams {
    gnutls_digest_algorithm_t hash = GNUTLS_DIG_SHA1;
    gnutls_digest_algorithm_t mask = GNUTLS_DIG_SHA1;  // MGF1's hash
    std::size_t salt = 20;
};

// Why parameters were refused. `oid` (dotted) names the algorithm refused, for the caller's
// reason text; empty for Malformed.
struct RsaPssRefusal {
    enum class What {
        Malformed,  // not DER of RSASSA-PSS-params, a salt over 4096, a trailerField other than 1
        Hash,       // hashAlgorithm is not SHA-1 or SHA-2 (SHA-256, SHA-384, SHA-512)
        Mask,       // maskGenAlgorithm is not id-mgf1
        MaskHash,   // MGF1 over a hash other than those
    };
    What what = What::Malformed;
    std::string oid;
};

// `der`: one whole RSASSA-PSS-params SEQUENCE (the AlgorithmIdentifier's parameters TLV),
// nothing after it. [0] hashAlgorithm, [1] maskGenAlgorithm, [2] saltLength, [3] trailerField,
// each EXPLICIT, optional, at most once and in that order; the hashes' parameters NULL or
// absent. nullopt with `why` filled in when refused.
std::optional<RsaPssParams> read_rsa_pss_params(ByteView der, RsaPssRefusal& why);

// RFC 4055 §3.3 (and RFC 8017 §A.2.3): an id-RSASSA-PSS key whose parameters are `key` makes
// only signatures with that hash and MGF1 hash and a salt at least key.salt long; one outside
// them fails whatever its mathematics. (A key without parameters makes any: do not ask.) ""
// when `signature` keeps to them, else why not, as "hash SHA512, the key allows SHA256 only".
// The one rule for pki/ (issuer keys: certificates, CRLs, OCSP responses) and smime/cms/
// (SignerInfo keys).
std::string outside_pss_key_parameters(const RsaPssParams& key, const RsaPssParams& signature);

}  // namespace ssm
