// AlgorithmIdentifier encoding and decoding; see algorithm_ids.h for the choices made.
#include "smime/cms/algorithm_ids.h"

#include "base/error.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {

std::string_view digest_oid(DigestAlgorithm d)
{
    switch (d) {
    case DigestAlgorithm::Sha256: return oid::kSha256;
    case DigestAlgorithm::Sha384: return oid::kSha384;
    case DigestAlgorithm::Sha512: return oid::kSha512;
    }
    throw Error(Failure::Internal, "unknown digest algorithm");
}

std::optional<DigestAlgorithm> digest_from_oid(std::string_view o)
{
    for (auto d : {DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512})
        if (digest_oid(d) == o) return d;
    return std::nullopt;
}

AlgorithmId digest_algorithm_id(DigestAlgorithm d)
{
    return {std::string(digest_oid(d)), std::nullopt};
}

AlgorithmId digest_algorithm_id_with_null(DigestAlgorithm d)
{
    return {std::string(digest_oid(d)), der_null()};
}

KeyType key_type_for(SignatureScheme s)
{
    switch (s) {
    case SignatureScheme::RsaPkcs1v15:
    case SignatureScheme::RsaPss: return KeyType::Rsa;
    case SignatureScheme::Ecdsa: return KeyType::Ec;
    case SignatureScheme::Ed25519: return KeyType::Ed25519;
    }
    throw Error(Failure::Internal, "unknown signature scheme");
}

namespace {
const char* ecdsa_oid(DigestAlgorithm d)
{
    switch (d) {
    case DigestAlgorithm::Sha256: return oid::kEcdsaSha256;
    case DigestAlgorithm::Sha384: return oid::kEcdsaSha384;
    case DigestAlgorithm::Sha512: return oid::kEcdsaSha512;
    }
    throw Error(Failure::Internal, "unknown digest algorithm");
}
}  // namespace

AlgorithmId signature_algorithm_id(SignatureScheme s, DigestAlgorithm d)
{
    switch (s) {
    case SignatureScheme::RsaPkcs1v15: return {oid::kRsaEncryption, der_null()};
    case SignatureScheme::RsaPss: return {oid::kRsassaPss, rsassa_pss_params(d)};
    case SignatureScheme::Ecdsa: return {ecdsa_oid(d), std::nullopt};  // RFC 5758 §3.2
    case SignatureScheme::Ed25519: return {oid::kEd25519, std::nullopt};  // RFC 8410 §3
    }
    throw Error(Failure::Internal, "unknown signature scheme");
}

Bytes rsassa_pss_params(DigestAlgorithm d)
{
    auto p = Asn1Node::create("RSASSA-PSS-params");
    write_algorithm_id(p, "hashAlgorithm", digest_algorithm_id_with_null(d));
    p.write_oid("maskGenAlgorithm.algorithm", oid::kMgf1);
    p.write_bytes("maskGenAlgorithm.parameters",
                  encode_algorithm_id(digest_algorithm_id_with_null(d)));
    p.write_uint("saltLength", digest_size(d));
    // trailerField stays unwritten: DEFAULT 1 (trailerFieldBC), which DER leaves out.
    return p.encode();
}

Bytes rsaes_oaep_params(DigestAlgorithm d)
{
    auto p = Asn1Node::create("RSAES-OAEP-params");
    write_algorithm_id(p, "hashFunc", digest_algorithm_id_with_null(d));
    p.write_oid("maskGenFunc.algorithm", oid::kMgf1);
    p.write_bytes("maskGenFunc.parameters", encode_algorithm_id(digest_algorithm_id_with_null(d)));
    p.remove("pSourceFunc");
    return p.encode();
}

Bytes encode_algorithm_id(const AlgorithmId& id)
{
    auto n = Asn1Node::create("AlgorithmIdentifier");
    write_algorithm_id(n, "", id);
    return n.encode();
}

void write_algorithm_id(Asn1Node& node, const std::string& field, const AlgorithmId& id)
{
    const std::string prefix = field.empty() ? "" : field + ".";
    node.write_oid(prefix + "algorithm", id.oid);
    if (id.parameters)
        node.write_bytes(prefix + "parameters", *id.parameters);
    else
        node.remove(prefix + "parameters");
}

AlgorithmId read_algorithm_id(const Asn1Node& node, const std::string& field)
{
    const std::string prefix = field.empty() ? "" : field + ".";
    return {node.read_oid(prefix + "algorithm"), node.read_optional(prefix + "parameters")};
}

}  // namespace ssm::smime::cms
