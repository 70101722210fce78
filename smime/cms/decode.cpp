// Decoding of ContentInfo and SignedData; see decode.h. Untrusted input.
#include "smime/cms/decode.h"

#include <libtasn1.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "base/c_free.h"
#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/definite_lengths.h"
#include "smime/cms/der_length.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {

const Attribute* SignerInfoView::find_signed(const std::string& oid) const
{
    for (const auto& a : signed_attributes)
        if (a.oid == oid) return &a;
    return nullptr;
}

ContentInfo decode_content_info(ByteView der)
{
    const auto ci = Asn1Node::decode("ContentInfo", der);
    return {ci.read_oid("contentType"), ci.read_bytes("content")};
}

namespace {

// eContent is held as ANY (see cms.asn): the OCTET STRING may be BER-constructed.
Bytes octet_string_value(ByteView tlv)
{
    if (tlv.size() > UINT_MAX) throw Error(Failure::MessageTooLarge, "eContent too large");
    if (!tlv.empty() && tlv[0] == 0x04) {  // primitive (DER): the content octets in place
        const DerHeader h = parse_der_header(tlv);
        if (h.header_size + h.length != tlv.size())
            throw Error(Failure::MalformedMessage, "eContent length mismatch");
        return Bytes(tlv.begin() + std::ptrdiff_t(h.header_size), tlv.end());
    }
    // Constructed (BER, e.g. OpenSSL -stream): libtasn1 joins the segments.
    unsigned char* raw = nullptr;
    unsigned int raw_len = 0, used = 0;
    int rc = asn1_decode_simple_ber(ASN1_ETYPE_OCTET_STRING, tlv.data(), unsigned(tlv.size()), &raw,
                                    &raw_len, &used);
    const std::unique_ptr<unsigned char, CFree> owner(raw);
    if (rc != ASN1_SUCCESS)
        throw Error(Failure::MalformedMessage, std::string("eContent is not an OCTET STRING: ") +
                                                   asn1_strerror(rc));
    if (used != tlv.size()) throw Error(Failure::MalformedMessage, "trailing bytes in eContent");
    return raw_len ? Bytes(raw, raw + raw_len) : Bytes{};
}

SignerInfoView read_signer(const Asn1Node& sd, ByteView der, const std::string& at)
{
    SignerInfoView s;
    s.version = int(sd.read_small_int(at + ".version"));
    const std::string sid = sd.read_text(at + ".sid");
    if (sid == "issuerAndSerialNumber")
        s.issuer_serial = read_issuer_serial(sd, at + ".sid.issuerAndSerialNumber");
    else if (sid == "subjectKeyIdentifier")
        s.subject_key_id = sd.read_bytes(at + ".sid.subjectKeyIdentifier");
    else
        throw Error(Failure::MalformedMessage, "unknown SignerIdentifier");
    s.digest_algorithm = read_algorithm_id(sd, at + ".digestAlgorithm");
    s.signature_algorithm = read_algorithm_id(sd, at + ".signatureAlgorithm");
    s.signature = sd.read_bytes(at + ".signature");
    if (sd.has(at + ".signedAttrs") && sd.count(at + ".signedAttrs") > 0) {
        s.signed_attributes = read_attributes(sd, at + ".signedAttrs");
        // The signature covers the received encoding (RFC 5652 §5.4), re-tagged.
        const auto [b, e] = sd.locate(der, at + ".signedAttrs");
        s.signed_attributes_der.assign(der.begin() + std::ptrdiff_t(b), der.begin() + std::ptrdiff_t(e));
        if (s.signed_attributes_der[0] != 0xA0)
            throw Error(Failure::MalformedMessage, "signedAttrs with an unexpected tag");
        s.signed_attributes_der[0] = 0x31;
    }
    if (sd.has(at + ".unsignedAttrs")) s.unsigned_attributes = read_attributes(sd, at + ".unsignedAttrs");
    return s;
}

}  // namespace

std::optional<AlgorithmId> listed_digest_algorithm(ByteView entry)
{
    if (entry.empty() || entry[0] != 0x30)
        throw Error(Failure::MalformedMessage, "digestAlgorithms entry is not a SEQUENCE");
    const Bytes tlv = with_definite_lengths(entry);  // throws when the lengths do not parse
    try {
        return read_algorithm_id(Asn1Node::decode("AlgorithmIdentifier", tlv), "");
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage) throw;
        return std::nullopt;
    }
}

SignedDataView decode_signed_data(ByteView der)
{
    const auto sd = Asn1Node::decode("SignedData", der);
    SignedDataView v;
    v.version = int(sd.read_small_int("version"));
    for (int i = 1, n = sd.count("digestAlgorithms"); i <= n; ++i)
        if (auto id = listed_digest_algorithm(sd.read_bytes("digestAlgorithms.?" + std::to_string(i))))
            v.digest_algorithms.push_back(std::move(*id));
    v.econtent_type = sd.read_oid("encapContentInfo.eContentType");
    if (sd.has("encapContentInfo.eContent"))
        if (auto tlv = sd.read_optional("encapContentInfo.eContent")) v.econtent = octet_string_value(*tlv);
    for (int i = 1, n = sd.count("certificates"); i <= n; ++i)
        v.certificates.push_back(sd.read_bytes("certificates.?" + std::to_string(i)));
    for (int i = 1, n = sd.count("signerInfos"); i <= n; ++i)
        v.signers.push_back(read_signer(sd, der, "signerInfos.?" + std::to_string(i)));
    return v;
}

SignedDataView decode_signed_content_info(ByteView der)
{
    const ContentInfo ci = decode_content_info(der);
    if (ci.content_type != oid::kSignedData)
        throw Error(Failure::MalformedMessage, "ContentInfo is not signedData: " + ci.content_type);
    return decode_signed_data(ci.content);
}

}  // namespace ssm::smime::cms
