// ESS signed receipts (RFC 2634 §2): the ReceiptRequest signed attribute a sender adds to ask
// for receipts, the Receipt content (id-ct-receipt) a recipient signs, the msgSigDigest that
// ties a receipt to the original signature, and fresh signedContentIdentifiers. Decoders take
// untrusted DER (a peer's signed attributes, a received receipt): every malformed or
// oversized input is ssm::Error(MalformedMessage), never a crash.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "smime/algorithms.h"
#include "smime/cms/signed_attributes.h"

namespace ssm::smime::cms {

// Bounds: RFC 2634 ub-receiptsTo (16); the others are ours, generous for real messages and
// small enough that a hostile request costs little.
inline constexpr std::size_t kMaxReceiptsTo = 16;          // RFC 2634 ub-receiptsTo
inline constexpr std::size_t kMaxReceiptList = 256;        // receiptsFrom receiptList entries
inline constexpr std::size_t kMaxContentIdentifier = 128;  // octets
inline constexpr std::size_t kMaxReceiptDer = 64 * 1024;   // one ReceiptRequest or Receipt
inline constexpr std::size_t kMaxSignatureValue = 2048;    // octets (RSA-16384 fits)

// Who is asked to return a receipt (ReceiptsFrom).
enum class ReceiptsFrom {
    All,        // allOrFirstTier allReceipts (0)
    FirstTier,  // allOrFirstTier firstTierRecipients (1): not recipients reached through a list
    List,       // receiptList: the addresses in ReceiptRequest::from_list
};

struct ReceiptRequest {
    Bytes content_identifier;  // signedContentIdentifier, 1..kMaxContentIdentifier octets
    ReceiptsFrom from = ReceiptsFrom::All;
    // Each entry is one GeneralNames of the request, reduced to its first rfc822Name; encode
    // writes one rfc822Name per entry. Entries without an rfc822Name are not kept: decode
    // counts them in `other_names` (an X.400 or directory name we cannot mail to).
    std::vector<std::string> from_list;    // ReceiptsFrom::List only
    std::vector<std::string> receipts_to;  // 1..kMaxReceiptsTo: where receipts are sent
    std::size_t other_names = 0;
    bool operator==(const ReceiptRequest&) const = default;
};

// DER of a ReceiptRequest; a request that could not be decoded back (identifier empty or too
// long, no receiptsTo or too many, an address that is not printable ASCII, a receiptList
// with From other than List) is refused with ssm::Error(MalformedMessage).
Bytes encode_receipt_request(const ReceiptRequest& request);
ReceiptRequest decode_receipt_request(ByteView der);

// The id-aa-receiptRequest signed attribute carrying `request`.
Attribute receipt_request_attribute(const ReceiptRequest& request);

struct Receipt {
    std::string content_type;        // the original's eContentType (id-data for mail), dotted
    Bytes content_identifier;        // the request's signedContentIdentifier
    Bytes originator_signature;      // the original SignerInfo's signature value
    bool operator==(const Receipt&) const = default;
};

// DER of a Receipt (version 1); decode refuses another version, an empty identifier or
// signature, and values over the bounds.
Bytes encode_receipt(const Receipt& receipt);
Receipt decode_receipt(ByteView der);

// msgSigDigest (RFC 2634 §2, the Message Signature Digest attribute): the digest, with the original
// signer's digest algorithm, of the DER of its signed attributes as a SET OF (tag 0x31, as
// SignerInfoView::signed_attributes_der holds them and as the signature covered them).
Bytes msg_sig_digest(DigestAlgorithm algorithm, ByteView signed_attributes_set_der);

// The value of a msgSigDigest attribute (an OCTET STRING) and back.
Bytes msg_sig_digest_value(ByteView digest);
Bytes decode_msg_sig_digest_value(ByteView der);

// A new signedContentIdentifier: 16 random octets and the time, so that identifiers made by
// different gateways, or by one gateway across restarts, do not collide (RFC 2634 asks
// for uniqueness; the random part carries it, the time helps people read logs).
Bytes new_content_identifier();

}  // namespace ssm::smime::cms
