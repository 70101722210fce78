// Security labels in the pipeline (PRODUCT §4.1): outbound, the label to sign in (from the
// author's SIO-Label field, RFC 7444, or the rule's default); inbound, the labels of the
// signatures that passed (and, inside an encryption the gateway removed, of every signature),
// mapped onto our policy and checked against every recipient's clearance, those that passed
// shown as one gateway-made SIO-Label. SIO-Label fields and signed attributes are
// untrusted input; a label that cannot be read or honoured refuses the message (fail closed).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/email_address.h"
#include "milter/reply.h"
#include "policy/labels.h"
#include "smime/cms/security_label.h"
#include "smime/cms/verify.h"
#include "smime/mime/header.h"
#include "smime/sign.h"

namespace ssm::milter {

inline constexpr std::string_view kSioLabelField = "SIO-Label";

// The label an outbound message gets signed with.
struct OutboundLabel {
    smime::cms::SecurityLabel label;
    std::string name;    // the [[security_label]] it is, or ""
    std::string source;  // "header" or "rule"
    std::vector<smime::cms::SecurityLabel> equivalents;  // partner forms (equivalentLabels)
    // The signed attributes that carry it.
    std::vector<std::pair<std::string, Bytes>> attributes() const;
    std::string describe() const;  // for the log line
};

// The outbound label: the SIO-Label field when the author wrote one (type :ess: that label;
// marking only: the [[security_label]] with that marking), else the rule's default
// `rule_label` (a name; "" for none). `recipient_domains` select the equivalences announced.
// nullopt: no label. A second SIO-Label field, a malformed one, a label type other than :ess
// or an unknown marking: ssm::Error(PolicyViolation) saying why.
std::optional<OutboundLabel> outbound_label(const policy::LabelPolicy& labels,
                                            const std::vector<smime::mime::HeaderField>& headers,
                                            const std::string& rule_label,
                                            const std::vector<Domain>& recipient_domains);

// The label attributes of one signature (collected while judging signers).
struct SignedLabel {
    std::string signer;                 // the signer's identity, for logs and replies
    smime::cms::LabelAttributes attributes;
    std::string error;                  // set: the attributes could not be read
    // The signature passed. An unverified label still restricts (inside an encryption we
    // removed, where whoever presents the ciphertext need not be its author), but grants
    // nothing: its equivalentLabels are not read (RFC 2634 §5.4: only a trusted signer's)
    // and the gateway's SIO-Label does not show it.
    bool verified = true;
};

// Adds the labels of `signer` to `out`; nothing when it carries none. `verified`: it passed.
void collect_label(const smime::cms::SignerVerification& signer, const std::string& identity,
                   std::vector<SignedLabel>& out, bool verified = true);

// What the labels of an inbound message mean for its recipients.
struct LabelVerdict {
    Reply reply = Reply::proceed();          // Continue, or the 550 5.7.1 refusal
    std::vector<std::string> sio_labels;     // SIO-Label values to add (one per distinct label)
    std::string detail;                      // for the log line
};

// Every label must be readable and known (or mapped, or accepted by unknown_policy) and
// every recipient cleared for every known label; unverified ones count the same way, mapped
// without their equivalentLabels, and are not shown. `author_domain`: the From domain.
// `directory`: where recipients no [[clearance]] names find their clearance (may be null);
// when it cannot be asked the whole message waits: 451 4.7.1 (fail closed).
LabelVerdict judge_labels(const policy::LabelPolicy& labels, const std::vector<SignedLabel>& found,
                          const std::vector<EmailAddress>& recipients,
                          const std::optional<Domain>& author_domain,
                          const policy::ClearanceDirectory* directory = nullptr);

// The header edit of an accepted inbound message: every received SIO-Label field removed
// (and none restored from a protected header), the gateway's ones added.
void replace_sio_labels(smime::HeaderEdit& edit, const std::vector<smime::mime::HeaderField>& received,
                        const std::vector<std::string>& ours);

}  // namespace ssm::milter
