// Answering a receipt request (RFC 2634 §2.2-§2.3, §2.7-§2.8): whether a
// request covers a recipient, where the receipt goes, and the signed receipt
// itself (SignedData, eContentType id-ct-receipt, with msgSigDigest). The
// request and the original signature come from a peer's message whose signature
// already verified; the addresses in them are still only claims and are bounded
// and checked by the receipt.h decoders.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "smime/algorithms.h"
#include "smime/cms/ml_expansion.h"
#include "smime/cms/receipt.h"
#include "smime/cms/signed_data.h"
#include "smime/signer.h"

namespace ssm::smime::cms {

// What a receipt names of the signed message it answers.
struct ReceiptSubject {
    std::string content_type;                          // the original eContentType (dotted OID)
    Bytes signature;                                   // the original SignerInfo's signature value
    Bytes signed_attributes_der;                       // its signedAttrs as DER SET OF (what
                                                       // msgSigDigest digests)
    DigestAlgorithm digest = DigestAlgorithm::Sha256;  // its digest algorithm
    ReceiptRequest request;
    // Its securityLabel attribute value (DER), if it has one: the receipt carries the same
    // label (RFC 2634 §2.4), a receipt for labelled content being as sensitive as it.
    std::optional<Bytes> security_label;
};

struct ReceiptDuty {
    bool answer = false;
    std::vector<std::string> to;  // where the receipt goes (address keys, no duplicates)
    std::string reason;           // why not, when !answer
};

// RFC 2634 §2.3 for a request received by the entities `names` (addresses, any
// case, compared by EmailAddress::key()): `ml` is the last mail list agent's receipt policy when the outermost
// signature carries mlExpansionHistory (nullopt: no mail list on the way). A
// list policy of none forbids the receipt; firstTierRecipients excludes mail
// that came through a list; a receiptList must name one of `names`; insteadOf
// replaces receiptsTo, inAdditionTo adds to it.
ReceiptDuty receipt_duty(const ReceiptRequest& request, const std::optional<MlData>& ml,
                         const std::vector<std::string>& names);

struct SignedReceipt {
    Bytes der;             // ContentInfo{SignedData{id-ct-receipt}}, DER
    Receipt receipt;       // what it holds
    Bytes msg_sig_digest;  // the digest in its msgSigDigest attribute
};

// Signs the Receipt for `subject` with `signer`: version 1, the original
// content type, signedContentIdentifier and signature value; signed attributes
// contentType (id-ct-receipt), messageDigest, signingTime
// (options.signing_time), msgSigDigest and what `options` adds
// (signingCertificateV2, capabilities). options.content_type_oid is set here.
// Throws ssm::Error: MalformedMessage when the subject's values cannot make a
// Receipt, HsmUnavailable from the signer.
SignedReceipt sign_receipt(Signer& signer, const ReceiptSubject& subject, SignOptions options);

}  // namespace ssm::smime::cms
