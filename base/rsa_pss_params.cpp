// RSASSA-PSS-params through base/der_tlv.h (see rsa_pss_params.h). Untrusted input: every read
// is bounded, and the whole structure is read before any field is judged, so that a refused
// hash inside malformed DER is reported as malformed, as a full ASN.1 decode would.
#include "base/rsa_pss_params.h"

#include <array>
#include <string>
#include <utility>

#include "base/der_tlv.h"

namespace ssm {
namespace {

// The hash an AlgorithmIdentifier `alg` names, its parameters NULL or absent (RFC 4055 §2.1).
// nullopt with `oid` empty when it does not read, with `oid` set when it names another hash.
std::optional<gnutls_digest_algorithm_t> hash_of(const Tlv& alg, std::string& oid)
{
    oid.clear();
    if (alg.tag != 0x30) return std::nullopt;
    const auto id = read_tlv(alg.value, alg.length);
    if (!id || id->tag != 0x06) return std::nullopt;
    const std::size_t rest = alg.length - id->total;
    if (rest != 0 && !(rest == 2 && alg.value[id->total] == 0x05 && alg.value[id->total + 1] == 0))
        return std::nullopt;
    const auto text = oid_text(*id);
    if (!text) return std::nullopt;
    static const std::pair<const char*, gnutls_digest_algorithm_t> hashes[] = {
        {"1.3.14.3.2.26", GNUTLS_DIG_SHA1},
        {"2.16.840.1.101.3.4.2.1", GNUTLS_DIG_SHA256},
        {"2.16.840.1.101.3.4.2.2", GNUTLS_DIG_SHA384},
        {"2.16.840.1.101.3.4.2.3", GNUTLS_DIG_SHA512}};
    for (const auto& [dotted, hash] : hashes)
        if (*text == dotted) return hash;
    oid = *text;
    return std::nullopt;
}

// A small non-negative INTEGER (a salt length, a trailer field): at most two octets, minimal.
std::optional<unsigned> small_uint(const Tlv& t)
{
    if (t.tag != 0x02 || t.length == 0 || t.length > 2 || (t.value[0] & 0x80)) return std::nullopt;
    if (t.length == 2 && t.value[0] == 0 && !(t.value[1] & 0x80)) return std::nullopt;  // not minimal
    unsigned v = 0;
    for (std::size_t i = 0; i < t.length; ++i) v = (v << 8) | t.value[i];
    return v;
}

std::optional<RsaPssParams> refused(RsaPssRefusal& why, RsaPssRefusal::What what, std::string oid = {})
{
    why.what = what;
    why.oid = std::move(oid);
    return std::nullopt;
}

}  // namespace

std::optional<RsaPssParams> read_rsa_pss_params(ByteView der, RsaPssRefusal& why)
{
    using What = RsaPssRefusal::What;
    const auto params = read_tlv(der.data(), der.size());
    if (!params || params->tag != 0x30 || params->total != der.size()) return refused(why, What::Malformed);
    // The structure first: each field's one inner TLV, by its tag [0]..[3].
    std::array<std::optional<Tlv>, 4> fields;
    unsigned next_tag = 0xa0;
    for (std::size_t at = 0; at < params->length;) {
        const auto field = read_tlv(params->value + at, params->length - at);
        if (!field || field->tag < next_tag || field->tag > 0xa3) return refused(why, What::Malformed);
        next_tag = field->tag + 1;
        at += field->total;
        const auto inner = read_tlv(field->value, field->length);
        if (!inner || inner->total != field->length) return refused(why, What::Malformed);
        fields[field->tag - 0xa0] = inner;
    }

    RsaPssParams out;
    std::string oid;
    if (fields[0]) {
        const auto hash = hash_of(*fields[0], oid);
        if (!hash) return refused(why, oid.empty() ? What::Malformed : What::Hash, oid);
        out.hash = *hash;
    }
    // DER leaves out the default mgf1SHA1, so a SHA-256 signature whose mask uses SHA-1 (an
    // old Java default) arrives without maskGenAlgorithm. SHA-1 in the mask is not the
    // weak-digest problem: MGF1 needs no collision resistance.
    if (fields[1]) {  // AlgorithmIdentifier { id-mgf1, hash AlgorithmIdentifier }
        const Tlv& mgf_alg = *fields[1];
        if (mgf_alg.tag != 0x30) return refused(why, What::Malformed);
        const auto mgf = read_tlv(mgf_alg.value, mgf_alg.length);
        if (!mgf || mgf->tag != 0x06) return refused(why, What::Malformed);
        const auto mgf_oid = oid_text(*mgf);
        if (!mgf_oid) return refused(why, What::Malformed);
        if (*mgf_oid != kOidMgf1) return refused(why, What::Mask, *mgf_oid);
        const auto mgf_hash = read_tlv(mgf_alg.value + mgf->total, mgf_alg.length - mgf->total);
        if (!mgf_hash || mgf->total + mgf_hash->total != mgf_alg.length) return refused(why, What::Malformed);
        const auto hash = hash_of(*mgf_hash, oid);
        if (!hash) return refused(why, oid.empty() ? What::Malformed : What::MaskHash, oid);
        out.mask = *hash;
    }
    if (fields[2]) {
        const auto salt = small_uint(*fields[2]);
        if (!salt || *salt > 4096) return refused(why, What::Malformed);  // rsa_pss.h's bound
        out.salt = *salt;
    }
    if (fields[3] && small_uint(*fields[3]) != std::optional<unsigned>(1)) return refused(why, What::Malformed);
    return out;
}

std::string outside_pss_key_parameters(const RsaPssParams& key, const RsaPssParams& signature)
{
    const auto name = [](gnutls_digest_algorithm_t a) {
        const char* n = gnutls_digest_get_name(a);
        return std::string(n ? n : "unknown");
    };
    if (signature.hash != key.hash) return "hash " + name(signature.hash) + ", the key allows " + name(key.hash) + " only";
    if (signature.mask != key.mask)
        return "MGF1 over " + name(signature.mask) + ", the key allows MGF1 over " + name(key.mask) + " only";
    if (signature.salt < key.salt)
        return "salt of " + std::to_string(signature.salt) + " octets, the key requires at least " +
               std::to_string(key.salt);
    return "";
}

}  // namespace ssm
