// Signed receipts at the gateway; see receipts.h. The Receipt and msgSigDigest come from a
// peer and are decoded by smime/cms/receipt's bounded decoders.
#include "milter/receipts.h"

#include <algorithm>

#include "base/error.h"
#include "base/log.h"
#include "base/metrics.h"
#include "pki/certificate.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"

namespace ssm::milter {

smime::cms::ReceiptRequest make_receipt_request(smime::cms::ReceiptsFrom from, std::vector<std::string> receipts_to)
{
    smime::cms::ReceiptRequest r;
    r.content_identifier = smime::cms::new_content_identifier();
    r.from = from;
    r.receipts_to = std::move(receipts_to);
    return r;
}

directory::ReceiptRequestRecord receipt_record(const smime::cms::ReceiptRequest& request,
                                               const smime::SignResult& signed_result, const std::string& message_id,
                                               const std::string& sender, const std::vector<std::string>& recipients,
                                               std::time_t now)
{
    if (signed_result.signed_attributes_der.empty() || signed_result.signature.empty())
        throw Error(Failure::Internal, "a receipt request needs the signature it was signed with");
    directory::ReceiptRequestRecord rec;
    rec.content_identifier = request.content_identifier;
    rec.requested_at = now;
    rec.digest = signed_result.digest;
    rec.msg_sig_digest = smime::cms::msg_sig_digest(signed_result.digest, signed_result.signed_attributes_der);
    rec.signature_sha256 = smime::cms::digest_of(smime::DigestAlgorithm::Sha256, signed_result.signature);
    rec.content_type = smime::cms::oid::kData;  // we sign MIME entities
    rec.message_id = message_id;
    rec.sender = sender;
    rec.recipients = recipients;
    rec.receipts_from = request.from;
    rec.receipt_list = request.from_list;
    return rec;
}

ReceiptOutcome check_signed_receipt(directory::ReceiptStore& store, const smime::cms::VerifyResult& verification,
                                    ByteView receipt_der, std::size_t signer, const std::string& signer_address,
                                    std::time_t now)
{
    if (verification.econtent_type != smime::cms::oid::kReceipt)
        throw Error(Failure::Internal, "check_signed_receipt on a SignedData that holds no receipt");
    if (signer >= verification.signers.size()) throw Error(Failure::Internal, "no such signer");
    const smime::cms::Receipt receipt = smime::cms::decode_receipt(receipt_der);
    const auto& attrs = verification.signers[signer].signed_attributes;
    const auto msd = std::find_if(attrs.begin(), attrs.end(),
                                  [](const auto& a) { return a.first == smime::cms::oid::kMsgSigDigest; });
    // RFC 2634 §2.8: a receipt's signer MUST include msgSigDigest.
    if (msd == attrs.end()) throw Error(Failure::MalformedMessage, "signed receipt without msgSigDigest");
    const Bytes digest = smime::cms::decode_msg_sig_digest_value(msd->second);
    // Who signed it, as its verified certificate says: the store accepts it only from someone
    // the request asked (RFC 2634 §2.2, §2.3).
    std::vector<std::string> names;
    if (auto cert = pki::SharedCertificate::parse_der(verification.signers[signer].signer_certificate_der))
        names = cert->facts().email_addresses;
    if (names.empty()) names.push_back(signer_address);
    const auto check = store.check_receipt(receipt, digest, signer_address, now, names);
    return {check.match, directory::identifier_hex(receipt.content_identifier), check.detail};
}

// A verified signed receipt against the receipt store: the first signer that passed is the
// receipt's author. Unverified, unknown or mismatched receipts are logged as such and the mail
// is delivered: the receipt is information for its recipient, not a reason to refuse it.
std::string judge_signed_receipt(directory::HarvestStore* harvest, const smime::cms::VerifyResult& v,
                                 ByteView receipt_der, const std::vector<SmimeAuthResult>& results, std::time_t now)
{
    std::size_t signer = 0;
    while (signer < results.size() && results[signer].result != SmimeResult::Pass) ++signer;
    if (signer >= results.size() || signer >= v.signers.size()) {
        metrics::count_receipt(metrics::ReceiptEvent::ReceivedUnverified);
        return "receipt=unverified";
    }
    if (!harvest) return "receipt=unmatched " + log::field("reason", "no receipt store");
    try {
        directory::ReceiptStore store(harvest->environment());
        const ReceiptOutcome o = check_signed_receipt(store, v, receipt_der, signer, results[signer].identifier, now);
        switch (o.match) {
        case directory::ReceiptMatch::Valid:
            metrics::count_receipt(metrics::ReceiptEvent::ReceivedValid);
            return "receipt=valid receipt_id=" + o.identifier_hex + " " + log::field("for", o.detail);
        case directory::ReceiptMatch::Mismatch:
            metrics::count_receipt(metrics::ReceiptEvent::ReceivedMismatch);
            return "receipt=mismatch receipt_id=" + o.identifier_hex + " " + log::field("reason", o.detail);
        case directory::ReceiptMatch::UnknownIdentifier:
            metrics::count_receipt(metrics::ReceiptEvent::ReceivedUnknown);
            return "receipt=unknown receipt_id=" + o.identifier_hex;
        }
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage && e.failure() != Failure::MessageTooLarge) throw;
        metrics::count_receipt(metrics::ReceiptEvent::ReceivedMalformed);
        return "receipt=malformed " + log::field("reason", e.what());
    }
    metrics::count_receipt(metrics::ReceiptEvent::ReceivedUnknown);
    return "receipt=unknown";
}

}  // namespace ssm::milter
