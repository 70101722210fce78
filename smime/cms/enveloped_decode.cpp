// (Auth)EnvelopedData decoding; see enveloped_decode.h. Every read goes through Asn1Node,
// which checks presence and sizes; CHOICE alternatives we do not interpret are reported by
// name only.
#include "smime/cms/enveloped_decode.h"

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/decode.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {
namespace {

// A message with more recipients than this is not one we produced or expect to read.
constexpr int kMaxRecipients = 1024;

RecipientIdView read_rid(const Asn1Node& n, const std::string& f)
{
    RecipientIdView rid;
    const std::string kind = n.read_text(f);
    if (kind == "issuerAndSerialNumber")
        rid.issuer_serial = read_issuer_serial(n, f + ".issuerAndSerialNumber");
    else if (kind == "subjectKeyIdentifier")
        rid.subject_key_id = n.read_bytes(f + ".subjectKeyIdentifier");
    else if (kind == "rKeyId")
        rid.subject_key_id = n.read_bytes(f + ".rKeyId.subjectKeyIdentifier");
    else
        throw Error(Failure::MalformedMessage, "unknown recipient identifier " + kind);
    return rid;
}

RecipientInfoView read_recipient(const Asn1Node& n, const std::string& f)
{
    RecipientInfoView ri;
    ri.kind = n.read_text(f);
    const std::string k = f + "." + ri.kind;
    if (ri.kind != "ktri" && ri.kind != "kari") return ri;
    ri.version = int(n.read_small_int(k + ".version"));
    ri.key_encryption_algorithm = read_algorithm_id(n, k + ".keyEncryptionAlgorithm");
    if (ri.kind == "ktri") {
        ri.keys.push_back({read_rid(n, k + ".rid"), n.read_bytes(k + ".encryptedKey")});
        return ri;
    }
    ri.originator_kind = n.read_text(k + ".originator");
    if (ri.originator_kind == "originatorKey") {
        ri.originator_algorithm = read_algorithm_id(n, k + ".originator.originatorKey.algorithm");
        ri.originator_public_key = n.read_bits(k + ".originator.originatorKey.publicKey");
    }
    ri.ukm = n.read_optional(k + ".ukm");
    const int keys = n.count(k + ".recipientEncryptedKeys");
    if (keys > kMaxRecipients) throw Error(Failure::MalformedMessage, "too many recipientEncryptedKeys");
    for (int i = 1; i <= keys; ++i) {
        const std::string r = k + ".recipientEncryptedKeys.?" + std::to_string(i);
        ri.keys.push_back({read_rid(n, r + ".rid"), n.read_bytes(r + ".encryptedKey")});
    }
    return ri;
}

// The fields of a decoded (Auth)EnvelopedData.
EnvelopedDataView read_view(const Asn1Node& n, bool authenticated)
{
    EnvelopedDataView v;
    v.authenticated = authenticated;
    const std::string eci = v.authenticated ? "authEncryptedContentInfo" : "encryptedContentInfo";
    v.version = int(n.read_small_int("version"));
    v.has_originator_info = n.has("originatorInfo");  // absent OPTIONALs leave no node
    const int count = n.count("recipientInfos");
    if (count < 1 || count > kMaxRecipients)
        throw Error(Failure::MalformedMessage, "bad number of RecipientInfos");
    for (int i = 1; i <= count; ++i)
        v.recipients.push_back(read_recipient(n, "recipientInfos.?" + std::to_string(i)));
    v.content_type = n.read_oid(eci + ".contentType");
    v.content_encryption_algorithm = read_algorithm_id(n, eci + ".contentEncryptionAlgorithm");
    v.encrypted_content = n.read_optional(eci + ".encryptedContent");
    if (v.authenticated) {
        v.mac = n.read_bytes("mac");
        v.has_attributes = n.has("authAttrs") || n.has("unauthAttrs");
    } else {
        v.has_attributes = n.has("unprotectedAttrs");
    }
    return v;
}

}  // namespace

EnvelopedDataView decode_enveloped_prefix(ByteView content_info, bool authenticated)
{
    const ContentInfo ci = decode_content_info(content_info);
    if (ci.content_type != oid::kEnvelopedData)
        throw Error(Failure::Internal, "envelope prefix is not an envelopedData ContentInfo");
    const auto n = Asn1Node::decode("EnvelopedData", ci.content, authenticated ? "AuthEnvelopedData" : "");
    EnvelopedDataView v = read_view(n, false);
    v.authenticated = authenticated;
    return v;
}

EnvelopedDataView decode_enveloped_content_info(ByteView der)
{
    const ContentInfo ci = decode_content_info(der);
    bool authenticated = false;
    if (ci.content_type == oid::kAuthEnvelopedData)
        authenticated = true;
    else if (ci.content_type != oid::kEnvelopedData)
        throw Error(Failure::MalformedMessage, "ContentInfo is not (Auth)EnvelopedData: " + ci.content_type);
    const auto n = Asn1Node::decode(authenticated ? "AuthEnvelopedData" : "EnvelopedData", ci.content);
    return read_view(n, authenticated);
}

}  // namespace ssm::smime::cms
