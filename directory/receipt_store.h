// Signed receipts (PRODUCT §4.2, RFC 2634 §2): what the gateway must remember of each message
// it signed with a ReceiptRequest — its signedContentIdentifier, the msgSigDigest and a digest
// of the signature value a receipt must name — and what receipts came back, in LMDB beside the
// directory's other stores (database "receipts" of the [directory] cache folder), so every
// worker, `ssmctl receipts` and a restarted daemon see the same records.
// SECURITY: a receipt is matched only after its own signature verified (the caller's job); the
// store then checks it names this message, and reads its records defensively (a corrupt one
// reads as absent).
//
// Record format: key = the signedContentIdentifier octets (1..128); value = version byte 0x01,
//   requested_at 8 bytes (seconds, two's complement), signature_sha256 32 bytes,
//   then length-prefixed strings (2-byte big-endian length): digest algorithm OID, msgSigDigest
//   octets, content type OID, Message-ID, sender; a 1-byte recipient count and that many
//   strings; (version 0x02 only) a receiptsFrom byte (0 allReceipts, 1 firstTierRecipients,
//   2 receiptList) and a 2-byte count of receiptList addresses and that many strings; a 1-byte
//   count of receipts received, each: received_at 8 bytes, result byte (0 valid, 1 mismatch),
//   from, detail. Records are written as version 0x02; a version 0x01 record (written before
//   receiptsFrom was kept) reads as allReceipts.
//
// Who may answer (RFC 2634 §2.2, §2.3): a receipt counts as valid only when its verified
// signer's certificate names one of the message's recipients (those we signed it for: for
// allReceipts and firstTierRecipients the ones asked, as far as this gateway knows them)
// and, for a receiptList, one of the listed addresses; the signing authority of such an
// address's domain (domain-signing-authority@domain, RFC 3183: a gateway answering for its
// recipients) names it too. A receipt from anyone else is a mismatch ("not asked"), whatever
// its signature and digests.
#pragma once
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "directory/lmdb.h"
#include "smime/algorithms.h"
#include "smime/cms/receipt.h"

namespace ssm::directory {

struct ReceivedReceipt {
    std::string from;  // the receipt's verified signer (an address)
    std::time_t received_at = 0;
    bool valid = false;
    std::string detail;  // why it did not match, for a mismatch
    bool operator==(const ReceivedReceipt&) const = default;
};

struct ReceiptRequestRecord {
    Bytes content_identifier;
    std::time_t requested_at = 0;
    smime::DigestAlgorithm digest = smime::DigestAlgorithm::Sha256;  // the original signer's
    Bytes msg_sig_digest;      // over the original signed attributes (cms::msg_sig_digest)
    Bytes signature_sha256;    // SHA-256 of the original signature value
    std::string content_type;  // the original eContentType (id-data for mail)
    std::string message_id;    // for people reading `ssmctl receipts`
    std::string sender;
    std::vector<std::string> recipients;
    // Who the request asked for receipts (ReceiptRequest::from, ::from_list).
    smime::cms::ReceiptsFrom receipts_from = smime::cms::ReceiptsFrom::All;
    std::vector<std::string> receipt_list;  // receiptList only; at most smime::cms::kMaxReceiptList
    std::vector<ReceivedReceipt> received;
    bool operator==(const ReceiptRequestRecord&) const = default;
};

// Bounds that keep a record small whatever a message held.
inline constexpr std::size_t kMaxStoredRecipients = 100;
inline constexpr std::size_t kMaxStoredReceipts = 32;
inline constexpr std::size_t kMaxStoredText = 998;

enum class ReceiptMatch {
    Valid,              // names a message we asked a receipt for, and its signature and digest
    UnknownIdentifier,  // no request with this signedContentIdentifier (expired, or not ours)
    Mismatch,           // the identifier is ours but the content type, signature or digest is
                        // not, or its signer was not asked (see above)
};

struct ReceiptCheck {
    ReceiptMatch match = ReceiptMatch::UnknownIdentifier;
    std::string detail;  // what did not match, or the request's Message-ID when valid
    std::optional<ReceiptRequestRecord> request;  // the request after recording this receipt
};

class ReceiptStore {
public:
    explicit ReceiptStore(std::shared_ptr<lmdb::Environment> env);

    // The record of a signed message that asks for receipts: called once the signature exists.
    // Texts longer than kMaxStoredText are cut, recipients beyond kMaxStoredRecipients dropped.
    void record_request(const ReceiptRequestRecord& record);

    std::optional<ReceiptRequestRecord> find(ByteView content_identifier) const;

    // Matches a received Receipt (already decoded, its signature verified, `msg_sig_digest`
    // read from the receipt signer's msgSigDigest attribute) against the request it names,
    // RFC 2634 §2.6: same content type, same original signature value, same msgSigDigest; and
    // from a signer who was asked (see above): `signer_addresses` are the addresses the receipt
    // signer's verified certificate names (empty: `from` alone). A known identifier gets the
    // outcome recorded (one entry per `from`: the latest, except that a mismatching receipt
    // does not replace a valid one).
    ReceiptCheck check_receipt(const smime::cms::Receipt& receipt, ByteView msg_sig_digest, const std::string& from,
                               std::time_t received_at = std::time(nullptr),
                               const std::vector<std::string>& signer_addresses = {});

    // Every request, oldest first.
    std::vector<ReceiptRequestRecord> list() const;

    // Drops requests made before `before`; returns how many.
    std::size_t expire(std::time_t before);

private:
    std::shared_ptr<lmdb::Environment> m_env;
    MDB_dbi m_dbi;
};

// Lower-case hex of a content identifier, as logs and ssmctl show it.
std::string identifier_hex(ByteView id);
// The identifier of a hex string (either case); nullopt when it is not even-length hex.
std::optional<Bytes> identifier_from_hex(std::string_view hex);

}  // namespace ssm::directory
