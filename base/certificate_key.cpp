// A certificate's key read with base/der_tlv.h (see certificate_key.h). Untrusted DER: bounded.
#include "base/certificate_key.h"

#include "base/der_tlv.h"
#include "base/mpz.h"
#include "base/rsa_pss_params.h"

namespace ssm {
namespace {

// A strict DER INTEGER that is positive: its magnitude without the sign octet; nullopt for a
// negative, zero, empty or not minimally encoded one (X.690 §8.3.2).
std::optional<ByteView> positive_integer(const Tlv& t)
{
    if (t.tag != 0x02 || t.length == 0 || (t.value[0] & 0x80)) return std::nullopt;  // empty, negative
    if (t.value[0] != 0) return ByteView(t.value, t.length);
    if (t.length == 1 || !(t.value[1] & 0x80)) return std::nullopt;  // zero, or a needless 0x00
    return ByteView(t.value + 1, t.length - 1);
}

}  // namespace

std::optional<CertificateKey> certificate_key(ByteView cert_der)
{
    const auto cert = read_tlv(cert_der.data(), cert_der.size());
    if (!cert || cert->tag != 0x30) return std::nullopt;
    const auto tbs = read_tlv(cert->value, cert->length);
    if (!tbs || tbs->tag != 0x30) return std::nullopt;
    const auto spki = tbs_field(*tbs, TbsField::SubjectPublicKeyInfo);
    if (!spki || spki->tag != 0x30) return std::nullopt;
    const auto alg = read_tlv(spki->value, spki->length);  // AlgorithmIdentifier
    if (!alg || alg->tag != 0x30) return std::nullopt;
    const auto oid = read_tlv(alg->value, alg->length);
    const auto dotted = oid && oid->tag == 0x06 ? oid_text(*oid) : std::nullopt;
    if (!dotted) return std::nullopt;
    CertificateKey out;
    out.algorithm = *dotted;
    out.spki = ByteView(spki->begin(), spki->total);
    out.parameters = ByteView(oid->value + oid->length, alg->length - oid->total);

    // rsaEncryption or id-RSASSA-PSS: subjectPublicKey BIT STRING (no unused bits) holding an
    // RSAPublicKey { modulus, publicExponent } and nothing else. Other keys' octets are not DER
    // (an Ed25519 key could begin with 0x30 by chance), so they are not read as one.
    if (out.algorithm != "1.2.840.113549.1.1.1" && out.algorithm != kOidRsassaPss) return out;
    const auto bits = read_tlv(spki->value + alg->total, spki->length - alg->total);
    if (!bits || bits->tag != 0x03 || bits->length < 2 || bits->value[0] != 0) return out;
    const auto rsa = read_tlv(bits->value + 1, bits->length - 1);
    if (!rsa || rsa->tag != 0x30 || rsa->total != bits->length - 1) return out;
    const auto n = read_tlv(rsa->value, rsa->length);
    if (!n) return out;
    const auto e = read_tlv(rsa->value + n->total, rsa->length - n->total);
    if (!e || n->total + e->total != rsa->length) return out;
    const auto modulus = positive_integer(*n), exponent = positive_integer(*e);
    if (!modulus || !exponent) return out;
    out.rsa_modulus = *modulus;
    out.rsa_exponent = *exponent;
    out.rsa_modulus_bits = bit_length(*modulus);
    return out;
}

}  // namespace ssm
