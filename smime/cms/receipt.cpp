// ESS ReceiptRequest / Receipt codec and msgSigDigest; see receipt.h. Input is untrusted:
// libtasn1 parses it within a size bound, and every value is checked against the bounds and
// rules of RFC 2634 before it is copied out.
#include "smime/cms/receipt.h"

#include <gnutls/crypto.h>

#include <algorithm>
#include <ctime>

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"
#include "smime/cms/security_label.h"

namespace ssm::smime::cms {
namespace {

[[noreturn]] void malformed(const std::string& what)
{
    throw Error(Failure::MalformedMessage, what);
}

constexpr std::size_t kMaxAddress = 320;  // RFC 5321 path length bounds, generously

// An rfc822Name is IA5String; one we write or copy out must also be a plain mailbox we can
// log and send to: printable ASCII without spaces.
void check_address(const std::string& a, const char* where)
{
    if (a.empty() || a.size() > kMaxAddress) malformed(std::string(where) + " address is empty or too long");
    if (!std::all_of(a.begin(), a.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
        malformed(std::string(where) + " address has characters outside printable ASCII");
}

void check_identifier(const Bytes& id)
{
    if (id.empty()) malformed("signedContentIdentifier is empty");
    if (id.size() > kMaxContentIdentifier)
        malformed("signedContentIdentifier over " + std::to_string(kMaxContentIdentifier) + " octets");
}

// Writes one GeneralNames holding a single rfc822Name at `field` (a new SEQUENCE OF element).
void write_names(Asn1Node& n, const std::string& field, const std::string& address)
{
    n.append(field);
    n.append(field + ".?LAST");
    n.write_text(field + ".?LAST.?LAST", "rfc822Name");
    n.write_text(field + ".?LAST.?LAST.rfc822Name", address);
}

// Reads the SEQUENCE OF GeneralNames at `field`: the first rfc822Name of each, counting the
// GeneralNames that have none in `other`.
std::vector<std::string> read_names(const Asn1Node& n, const std::string& field, std::size_t limit,
                                    const char* what, std::size_t& other)
{
    const int count = n.count(field);
    if (count < 0 || std::size_t(count) > limit)
        malformed(std::string(what) + " has more than " + std::to_string(limit) + " entries");
    std::vector<std::string> out;
    for (int i = 1; i <= count; ++i) {
        const std::string names = field + ".?" + std::to_string(i);
        const int k = n.count(names);
        bool found = false;
        for (int j = 1; j <= k && !found; ++j) {
            const std::string name = names + ".?" + std::to_string(j);
            if (n.read_text(name) != "rfc822Name") continue;
            std::string address = n.read_text(name + ".rfc822Name");
            check_address(address, what);
            out.push_back(std::move(address));
            found = true;
        }
        if (!found) ++other;
    }
    return out;
}

Asn1Node decode_bounded(const std::string& type, ByteView der)
{
    if (der.size() > kMaxReceiptDer) malformed(type + " over " + std::to_string(kMaxReceiptDer) + " octets");
    return Asn1Node::decode(type, der);
}

}  // namespace

Bytes encode_receipt_request(const ReceiptRequest& r)
{
    check_identifier(r.content_identifier);
    if (r.receipts_to.empty() || r.receipts_to.size() > kMaxReceiptsTo)
        malformed("receiptsTo must name 1 to " + std::to_string(kMaxReceiptsTo) + " addresses");
    if (r.from == ReceiptsFrom::List ? r.from_list.empty() || r.from_list.size() > kMaxReceiptList
                                     : !r.from_list.empty())
        malformed("a receiptList goes with ReceiptsFrom::List, and only with it");
    auto n = Asn1Node::create("ReceiptRequest");
    n.write_bytes("signedContentIdentifier", r.content_identifier);
    if (r.from == ReceiptsFrom::List) {
        n.write_text("receiptsFrom", "receiptList");
        for (const auto& a : r.from_list) {
            check_address(a, "receiptList");
            write_names(n, "receiptsFrom.receiptList", a);
        }
    } else {
        n.write_text("receiptsFrom", "allOrFirstTier");
        n.write_uint("receiptsFrom.allOrFirstTier", r.from == ReceiptsFrom::All ? 0 : 1);
    }
    for (const auto& a : r.receipts_to) {
        check_address(a, "receiptsTo");
        write_names(n, "receiptsTo", a);
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
        if (v != 0 && v != 1) malformed("allOrFirstTier is " + std::to_string(v) + ", not 0 or 1");
        r.from = v == 0 ? ReceiptsFrom::All : ReceiptsFrom::FirstTier;
    } else if (from == "receiptList") {
        r.from = ReceiptsFrom::List;
        r.from_list = read_names(n, "receiptsFrom.receiptList", kMaxReceiptList, "receiptList", r.other_names);
    } else {
        malformed("receiptsFrom is neither allOrFirstTier nor receiptList");
    }
    r.receipts_to = read_names(n, "receiptsTo", kMaxReceiptsTo, "receiptsTo", r.other_names);
    if (n.count("receiptsTo") < 1) malformed("receiptsTo is empty");
    return r;
}

Attribute receipt_request_attribute(const ReceiptRequest& request)
{
    return Attribute{oid::kReceiptRequest, {encode_receipt_request(request)}};
}

Bytes encode_receipt(const Receipt& r)
{
    if (!valid_oid_text(r.content_type)) malformed("receipt contentType is not an OID");
    check_identifier(r.content_identifier);
    if (r.originator_signature.empty() || r.originator_signature.size() > kMaxSignatureValue)
        malformed("receipt originatorSignatureValue is empty or too long");
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
    if (const long v = n.read_small_int("version"); v != 1) malformed("receipt version " + std::to_string(v) + ", not 1");
    Receipt r;
    r.content_type = n.read_oid("contentType");
    r.content_identifier = n.read_bytes("signedContentIdentifier");
    check_identifier(r.content_identifier);
    r.originator_signature = n.read_bytes("originatorSignatureValue");
    if (r.originator_signature.empty() || r.originator_signature.size() > kMaxSignatureValue)
        malformed("receipt originatorSignatureValue is empty or too long");
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
    if (d.empty() || d.size() > 64) malformed("msgSigDigest is not a digest (" + std::to_string(d.size()) + " octets)");
    return d;
}

MlReceiptPolicy decode_ml_receipt_policy(ByteView der)
{
    const auto n = decode_bounded("MLExpansionHistory", der);
    const int count = n.count("");
    if (count < 1 || std::size_t(count) > kMaxMlHistory)
        malformed("mlExpansionHistory must hold 1 to " + std::to_string(kMaxMlHistory) + " entries");
    const std::string last = "?" + std::to_string(count);
    MlReceiptPolicy p;
    if (!n.has(last + ".mlReceiptPolicy")) return p;
    const std::string which = n.read_text(last + ".mlReceiptPolicy");
    if (which == "none") {
        p.kind = MlReceiptPolicy::Kind::None;
    } else if (which == "insteadOf" || which == "inAdditionTo") {
        p.kind = which == "insteadOf" ? MlReceiptPolicy::Kind::InsteadOf : MlReceiptPolicy::Kind::InAdditionTo;
        p.names = read_names(n, last + ".mlReceiptPolicy." + which, kMaxReceiptsTo, "mlReceiptPolicy", p.other_names);
    } else {
        malformed("mlReceiptPolicy is none of none, insteadOf, inAdditionTo");
    }
    return p;
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
