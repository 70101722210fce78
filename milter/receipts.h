// Signed receipts at the gateway (PRODUCT §4.2, RFC 2634 §2): the ReceiptRequest a rule asks
// for when we sign, the record kept once our signature exists, and the check of a signed
// receipt that comes back. The receipt's own signature is verified by the inbound path first;
// here its Receipt content (untrusted DER) is decoded and matched against our records.
#pragma once
#include <ctime>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "directory/harvest_store.h"
#include "directory/receipt_store.h"
#include "milter/auth_results.h"
#include "smime/cms/receipt.h"
#include "smime/cms/verify.h"
#include "smime/sign.h"

namespace ssm::milter {

// A request with a fresh signedContentIdentifier, asking `from` to send receipts to
// `receipts_to` (1..16 addresses; the caller bounds them).
smime::cms::ReceiptRequest make_receipt_request(smime::cms::ReceiptsFrom from, std::vector<std::string> receipts_to);

// What the store keeps for a message we signed with `request`.
directory::ReceiptRequestRecord receipt_record(const smime::cms::ReceiptRequest& request,
                                               const smime::SignResult& signed_result, const std::string& message_id,
                                               const std::string& sender, const std::vector<std::string>& recipients,
                                               std::time_t now);

struct ReceiptOutcome {
    directory::ReceiptMatch match = directory::ReceiptMatch::UnknownIdentifier;
    std::string identifier_hex;  // the receipt's signedContentIdentifier
    std::string detail;          // for the log: what did not match, or the original Message-ID
};

// A verified signed receipt: `verification` is its SignedData (eContentType id-ct-receipt),
// `receipt_der` its eContent, `signer` the index of a signer whose signature passed and
// `signer_address` that signer's address. The receipt is valid only from a signer the request
// asked: its certificate (the addresses it names; `signer_address` when it names none) must
// name a recipient of the message, and for a receiptList a listed address (receipt_store.h).
// Throws ssm::Error(MalformedMessage) when the Receipt or the signer's msgSigDigest attribute
// is missing or malformed.
ReceiptOutcome check_signed_receipt(directory::ReceiptStore& store, const smime::cms::VerifyResult& verification,
                                    ByteView receipt_der, std::size_t signer, const std::string& signer_address,
                                    std::time_t now);

// The log words for a signed receipt whose signature layer gave `results` (one per signer of
// `v`): receipt=valid|mismatch|unknown|unverified|malformed with the identifier and why,
// recording the outcome in the receipt store of `harvest`'s LMDB folder (null: no store,
// receipt=unmatched). The first signer that passed is the receipt's author.
std::string judge_signed_receipt(directory::HarvestStore* harvest, const smime::cms::VerifyResult& v,
                                 ByteView receipt_der, const std::vector<SmimeAuthResult>& results, std::time_t now);

}  // namespace ssm::milter
