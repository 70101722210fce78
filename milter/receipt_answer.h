// The gateway answering receipt requests for its own recipients (PRODUCT §4.2,
// RFC 2634 §2): the requests found in signatures that passed, the RFC 2634 §2.3
// decision per answering identity, and the signed receipt as an S/MIME message
// (smime-type=signed-receipt) handed to the reinjection listener. Requests,
// addresses and the Message-ID come from a peer's message: only what a passing
// signature covers is used, and every header value we copy is checked to be a
// plain printable token first. Failures never touch the original message.
#pragma once
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/email_address.h"
#include "milter/auth_results.h"
#include "milter/key_source.h"
#include "milter/reinjection.h"
#include "policy/treatment.h"
#include "smime/cms/receipt_sign.h"
#include "smime/cms/verify.h"
#include "smime/mime/header.h"

namespace ssm::milter {

struct Config;

// One passing signer's ReceiptRequest and what a receipt for it must name.
struct ReceiptAsk {
    smime::cms::ReceiptSubject subject;
    std::string signer;  // the signer's address, for the log
};

// What the inbound pass found for receipts across the message's signature
// layers.
struct InboundReceiptRequests {
    std::vector<ReceiptAsk> asks;                          // outermost layer first
    std::optional<smime::cms::MlData> ml_policy;  // the outermost signature's mlExpansionHistory
    bool outer_layer_seen = false;
    bool is_receipt = false;  // the message is itself a signed receipt (never answered)
    std::string note;         // malformed request or history, for the log
};

// Adds one signature layer (`v`, with `results` one per signer as judge_signer
// gave them). Only signers that passed ask for receipts; the mlExpansionHistory is
// taken from the first (outermost) layer only (RFC 2634 §2.3), from a signer that
// passed or validated (a list agent's signature never matches the From). Malformed attribute
// values are noted, never thrown.
void collect_receipt_requests(const smime::cms::VerifyResult& v, const std::vector<SmimeAuthResult>& results,
                              InboundReceiptRequests& found);

// A signed receipt ready for the reinjection listener.
struct GeneratedReceipt {
    std::string identifier_hex;   // the answered signedContentIdentifier
    std::string identity;         // who signed it (From)
    std::vector<std::string> to;  // the envelope recipients (receiptsTo)
    Bytes message;                // the whole message, CRLF lines, starting with the marker field
};

// One of our recipients whose rule answers receipts.
struct AnsweringRecipient {
    EmailAddress address;
    const policy::Treatment* treatment;
};

struct ReceiptAnswers {
    std::vector<GeneratedReceipt> receipts;
    std::string detail;  // log words: receipt-answer=ID to=... or receipt-not-sent
                         // reason=...
};

// Decides and builds the receipts for `found`: one per answering identity (the
// rule's receipt_identity, else the recipient domain's signing identity), none
// when the request does not cover us, the message is a receipt, [reinjection]
// is off or no key signs. Never throws: every failure becomes a
// receipt-not-sent word in `detail`.
ReceiptAnswers answer_receipt_requests(const Config& config, KeySource& keys, const InboundReceiptRequests& found,
                                       const std::vector<AnsweringRecipient>& recipients,
                                       const std::vector<smime::mime::HeaderField>& headers, std::time_t now) noexcept;

// The receipt message: From the identity, To the receipt's addresses, Subject,
// Date, Message-ID, In-Reply-To/References the original's Message-ID when it is
// well formed, Auto-Submitted (RFC 3834), and the signed receipt as
// application/pkcs7-mime; smime-type=signed-receipt in base64. `marker`
// (non-empty) is written as the first field.
Bytes receipt_message(const std::string& identity, const std::vector<std::string>& to, ByteView signed_receipt_der,
                      const std::string& original_message_id, const std::string& original_subject,
                      const std::string& marker, std::time_t now);

// Configuration problems of answer_receipts that do not stop the daemon
// (`ssm-milter -n` and start-up print them): rules that answer receipts while
// [reinjection] is off.
std::vector<std::string> receipt_answer_warnings(const Config& config);

// Whether the top-level Content-Type is application/pkcs7-mime;
// smime-type=signed-receipt.
bool is_signed_receipt(const std::vector<smime::mime::HeaderField>& headers);

// Submits each receipt with the null sender (RFC 3834 §3.3: no bounce loops)
// and logs one receipt-sent or receipt-not-sent line per receipt; a failure is
// never thrown.
void send_receipts(const ReinjectionSettings& settings, const std::vector<GeneratedReceipt>& receipts,
                   const std::string& queue_id) noexcept;

}  // namespace ssm::milter
