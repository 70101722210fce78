// ESS ReceiptRequest / Receipt codec and msgSigDigest; see receipt.h. Input is untrusted:
// libtasn1 parses it within a size bound, and every value is checked against the bounds and
// rules of RFC 2634 before it is copied out.
#include "smime/cms/receipt.h"

#include <gnutls/crypto.h>

#include <algorithm>
#include <ctime>

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/general_names.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"
#include "smime/cms/security_label.h"

namespace ssm::smime::cms {
namespace {

[[noreturn]] void malformed_receipt(const std::string& what)
{
    throw Error(Failure::MalformedMessage, what);
}

void check_address(const std::string& a, const char* where)
{
    check_rfc822_name(a, where);
}

void check_identifier(const Bytes& id)
{
    if (id.empty()) malformed_receipt("signedContentIdentifier is empty");
    if (id.size() > kMaxContentIdentifier)
        malformed_receipt("signedContentIdentifier over " + std::to_string(kMaxContentIdentifier) + " octets");
}

Asn1Node decode_bounded(const std::string& type, ByteView der)
{
    if (der.size() > kMaxReceiptDer) malformed_receipt(type + " over " + std::to_string(kMaxReceiptDer) + " octets");
    return Asn1Node::decode(type, der);
}

}  // namespace

Bytes encode_receipt_request(const ReceiptRequest& r)
{
    check_identifier(r.content_identifier);
    if (r.receipts_to.empty() || r.receipts_to.size() > kMaxReceiptsTo)
        malformed_receipt("receiptsTo must name 1 to " + std::to_string(kMaxReceiptsTo) + " addresses");
    if (r.from == ReceiptsFrom::List ? r.from_list.empty() || r.from_list.size() > kMaxReceiptList
                                     : !r.from_list.empty())
        malformed_receipt("a receiptList goes with ReceiptsFrom::List, and only with it");
    auto n = Asn1Node::create("ReceiptRequest");
    n.write_bytes("signedContentIdentifier", r.content_identifier);
    if (r.from == ReceiptsFrom::List) {
        n.write_text("receiptsFrom", "receiptList");
        for (const auto& a : r.from_list) {
            check_address(a, "receiptList");
            write_general_names(n, "receiptsFrom.receiptList", a);
        }
    } else {
        n.write_text("receiptsFrom", "allOrFirstTier");
        n.write_uint("receiptsFrom.allOrFirstTier", r.from == ReceiptsFrom::All ? 0 : 1);
    }
    for (const auto& a : r.receipts_to) {
        check_address(a, "receiptsTo");
        write_general_names(n, "receiptsTo", a);
    }
    return n.encode();
}

ReceiptRequest decode_receipt_request(ByteView der)
{
    const auto n = decode_bounded("ReceiptRequest", der);
    ReceiptRequest r;
    r.content_identifier = n.read_bytes("signedContentIdentifier");
    check_identifier(r.content_identifier);
    const std::string from = n.read_text("receiptsFrom");
    if (from == "allOrFirstTier") {
        const long v = n.read_small_int("receiptsFrom.allOrFirstTier");
        if (v != 0 && v != 1) malformed_receipt("allOrFirstTier is " + std::to_string(v) + ", not 0 or 1");
        r.from = v == 0 ? ReceiptsFrom::All : ReceiptsFrom::FirstTier;
    } else if (from == "receiptList") {
        r.from = ReceiptsFrom::List;
        r.from_list = read_general_names(n, "receiptsFrom.receiptList", kMaxReceiptList, "receiptList", r.other_names);
    } else {
        malformed_receipt("receiptsFrom is neither allOrFirstTier nor receiptList");
    }
    r.receipts_to = read_general_names(n, "receiptsTo", kMaxReceiptsTo, "receiptsTo", r.other_names);
    if (n.count("receiptsTo") < 1) malformed_receipt("receiptsTo is empty");
    return r;
}

Attribute receipt_request_attribute(const ReceiptRequest& request)
{
    return Attribute{oid::kReceiptRequest, {encode_receipt_request(request)}};
}

Bytes encode_receipt(const Receipt& r)
{
    if (!valid_oid_text(r.content_type)) malformed_receipt("receipt contentType is not an OID");
    check_identifier(r.content_identifier);
    if (r.originator_signature.empty() || r.originator_signature.size() > kMaxSignatureValue)
        malformed_receipt("receipt originatorSignatureValue is empty or too long");
    auto n = Asn1Node::create("Receipt");
    n.write_uint("version", 1);
    n.write_oid("contentType", r.content_type);
    n.write_bytes("signedContentIdentifier", r.content_identifier);
    n.write_bytes("originatorSignatureValue", r.originator_signature);
    return n.encode();
}

Receipt decode_receipt(ByteView der)
{
    const auto n = decode_bounded("Receipt", der);
    // ESSVersion ::= INTEGER { v1(1) }: another version is a format we do not know.
    if (const long v = n.read_small_int("version"); v != 1) malformed_receipt("receipt version " + std::to_string(v) + ", not 1");
    Receipt r;
    r.content_type = n.read_oid("contentType");
    r.content_identifier = n.read_bytes("signedContentIdentifier");
    check_identifier(r.content_identifier);
    r.originator_signature = n.read_bytes("originatorSignatureValue");
    if (r.originator_signature.empty() || r.originator_signature.size() > kMaxSignatureValue)
        malformed_receipt("receipt originatorSignatureValue is empty or too long");
    return r;
}

Bytes msg_sig_digest(DigestAlgorithm algorithm, ByteView signed_attributes_set_der)
{
    if (signed_attributes_set_der.empty() || signed_attributes_set_der[0] != 0x31)
        throw Error(Failure::MalformedMessage, "msgSigDigest needs the signed attributes as a DER SET OF");
    return digest_of(algorithm, signed_attributes_set_der);
}

Bytes msg_sig_digest_value(ByteView digest)
{
    auto n = Asn1Node::create("MsgSigDigest");
    n.write_bytes("", digest);
    return n.encode();
}

Bytes decode_msg_sig_digest_value(ByteView der)
{
    const auto n = decode_bounded("MsgSigDigest", der);
    Bytes d = n.read_bytes("");
    if (d.empty() || d.size() > 64) malformed_receipt("msgSigDigest is not a digest (" + std::to_string(d.size()) + " octets)");
    return d;
}

Bytes new_content_identifier()
{
    Bytes id(24);
    if (gnutls_rnd(GNUTLS_RND_NONCE, id.data(), 16) < 0)
        throw Error(Failure::Internal, "random generator failed (content identifier)");
    std::uint64_t t = static_cast<std::uint64_t>(std::time(nullptr));
    for (int i = 23; i >= 16; --i, t >>= 8) id[std::size_t(i)] = static_cast<std::uint8_t>(t & 0xff);
    return id;
}

}  // namespace ssm::smime::cms
