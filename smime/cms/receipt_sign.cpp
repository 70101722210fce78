// Receipt duty and signed receipt encoding; see receipt_sign.h. The request's
// addresses are compared in their lookup keys and copied only after receipt.h's
// checks (printable ASCII, bounded); the receipt content is small
// (kMaxReceiptDer) and held in memory.
#include "smime/cms/receipt_sign.h"

#include <algorithm>

#include "base/ascii.h"
#include "base/email_address.h"
#include "base/error.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {
namespace {

// Addresses are compared and kept in address_comparison_key form (base/email_address.h), the
// form the milter keys recipients and identities in. The request's addresses (receiptsTo,
// receiptList, mlReceiptPolicy names) are rfc822Names, IA5String (RFC 2634 GeneralNames;
// receipt.h and ml_expansion.h refuse other octets), so they are ASCII; `names` may hold UTF-8
// mailboxes, which the key folds as every look-up does (ÜNAL@x is ünal@x).
void add_unique(std::vector<std::string>& to, const std::string& address)
{
    std::string a = address_comparison_key(address);
    if (std::find(to.begin(), to.end(), a) == to.end()) to.push_back(std::move(a));
}

bool names_one_of(const std::vector<std::string>& list, const std::vector<std::string>& names)
{
    for (const auto& l : list) {
        const std::string key = address_comparison_key(l);
        for (const auto& n : names)
            if (key == address_comparison_key(n)) return true;
    }
    return false;
}

}  // namespace

ReceiptDuty receipt_duty(const ReceiptRequest& request, const std::optional<MlData>& ml,
                         const std::vector<std::string>& names)
{
    ReceiptDuty d;
    using Kind = MlReceiptPolicyKind;
    // §2.3 step 3: the list's policy none supersedes the originator's request.
    if (ml && ml->policy == Kind::None) {
        d.reason = "the mail list's receipt policy is none";
        return d;
    }
    switch (request.from) {
    case ReceiptsFrom::All: break;
    case ReceiptsFrom::FirstTier:
        if (ml) {
            d.reason = "first-tier recipients only, and the message came through a mail list";
            return d;
        }
        break;
    case ReceiptsFrom::List:
        if (!names_one_of(request.from_list, names)) {
            d.reason = "the receiptList does not name the recipient";
            return d;
        }
        break;
    }
    if (!ml || ml->policy != Kind::InsteadOf)
        for (const auto& a : request.receipts_to) add_unique(d.to, a);
    if (ml && (ml->policy == Kind::InsteadOf || ml->policy == Kind::InAdditionTo))
        for (const auto& a : ml->names) add_unique(d.to, a);
    if (d.to.empty()) {
        d.reason = "the request names no mail address to send the receipt to";
        return d;
    }
    d.answer = true;
    return d;
}

SignedReceipt sign_receipt(Signer& signer, const ReceiptSubject& subject, SignOptions options)
{
    SignedReceipt out;
    out.receipt = {subject.content_type, subject.request.content_identifier, subject.signature};
    const Bytes content = encode_receipt(out.receipt);  // checks the values (MalformedMessage)
    // §2.8: the digest of the original signedAttrs, with the original signer's
    // algorithm (as OpenSSL's CMS_verify_receipt and our receipt store compute
    // it).
    out.msg_sig_digest = msg_sig_digest(subject.digest, subject.signed_attributes_der);
    options.content_type_oid = oid::kReceipt;
    options.encryption_certificate_der.reset();
    options.extra_signed_attributes.emplace_back(oid::kMsgSigDigest, msg_sig_digest_value(out.msg_sig_digest));
    if (subject.security_label) options.extra_signed_attributes.emplace_back(oid::kSecurityLabel, *subject.security_label);
    const SignedDataParts parts =
        encode_signed_data(signer, options, digest_of(options.digest, content), content.size());
    out.der.reserve(parts.head.size() + content.size() + parts.tail.size());
    out.der.insert(out.der.end(), parts.head.begin(), parts.head.end());
    out.der.insert(out.der.end(), content.begin(), content.end());
    out.der.insert(out.der.end(), parts.tail.begin(), parts.tail.end());
    return out;
}

}  // namespace ssm::smime::cms
