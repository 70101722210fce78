// Inbound S/MIME (PRODUCT §3): decrypt what is addressed to our keys, verify signatures
// over the exact received bytes, validate signers, report in Authentication-Results
// (removing forged ones first), harvest valid signers' certificates and apply the
// partner's inbound requirements. Everything here is attacker input.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "base/spool.h"
#include "directory/harvest_store.h"
#include "milter/auth_results.h"
#include "milter/certificates.h"
#include "milter/config.h"
#include "milter/inbound_layers.h"
#include "milter/key_source.h"
#include "milter/receipt_answer.h"
#include "milter/reply.h"
#include "milter/security_labels.h"
#include "policy/policy.h"
#include "smime/mime/header.h"
#include "smime/cms/verify.h"
#include "smime/sign.h"

namespace ssm::milter {

struct InboundOutcome {
    Reply reply;                       // Accept or Reject/TempFail
    smime::HeaderEdit headers;         // always applied on Accept (A-R, forged A-R removal)
    std::unique_ptr<Spool> new_body;   // set when the body changes (decrypted, stripped)
    std::string action;                // "decrypt", "verify", "decrypt+verify", "none"
    std::string detail;                // for the log line
    // Security labels (§4.1) of the signatures that passed; when `decrypted`, of every
    // signature (the unverified ones marked so: they restrict, grant nothing).
    std::vector<SignedLabel> labels;
    InboundReceiptRequests receipts;   // receipt requests of the signatures that passed (§4.2)
    // Each signature layer verified at the top, outermost first: whether a signer passed and
    // the signed attributes of every signer (the mail-list agent reads mlExpansionHistory
    // and the label to copy from them, PRODUCT §4.3).
    struct SignedLayer {
        bool passed = false;     // a signer passed (From address included)
        bool validated = false;  // a signer's signature and chain are valid (From aside)
        std::vector<std::vector<std::pair<std::string, Bytes>>> signer_attributes;
    };
    std::vector<SignedLayer> signed_layers;
    bool decrypted = false;  // a layer addressed to a key of every recipient was decrypted
    bool signature_passed = false;  // a signer of some signature layer passed (require_signature)
    // When decrypted: the content cipher's name when the content is neither authenticated
    // (AuthEnvelopedData) nor signed inside the encryption by a signer that passed (CBC is
    // malleable: decrypted_mark.h); empty otherwise.
    std::string unprotected_cipher;
};

// The field that tags inbound mail lacking what a rule requires (on_missing = "tag"):
// "X-SSM-Policy: missing <missing>" (policy::check_requirements words `missing`).
smime::mime::HeaderField policy_tag(const std::string& missing);

class InboundProcessor {
public:
    InboundProcessor(const Config& config, const Certificates& certificates, KeySource& keys,
                     directory::HarvestStore* harvest)
        : m_config(config), m_certificates(certificates), m_keys(keys), m_harvest(harvest) {}

    // The outermost signature is taken off when its signer validates even if it does not
    // match the From address: a previous mail-list agent's, which the next one replaces
    // (PRODUCT §4.3). Off for ordinary inbound mail.
    void strip_validated_signature() { m_strip_validated = true; }

    // `flag` is set once a RecipientInfo named one of the keys offered (decrypted or not):
    // whatever happens after that depends on the plaintext or on the key (undecryptable.h).
    void report_key_match(bool& flag) { m_key_matched = &flag; }

    // The SMTP transaction's [pki] revocation_time_budget, shared with its other validations
    // (recipient certificates, clearances); without one, process() starts one of its own.
    void share_revocation_budget(std::shared_ptr<const pki::RevocationBudget> budget)
    {
        m_shared_budget = std::move(budget);
    }

    // `treatment` carries the partner's requirements (require_signature/encryption).
    // `recipients`: the message's envelope recipients (the RCPT TOs accepted for it). An
    // encryption is removed only with a key that belongs to every one of them
    // (decryption_scope.h); otherwise it stays on, as for mail not addressed to our keys.
    InboundOutcome process(const std::vector<smime::mime::HeaderField>& headers, const Spool& body,
                           const std::vector<EmailAddress>& recipients, const policy::Treatment& treatment,
                           const std::vector<std::string>& required_policies = {});

private:
    struct Layer {
        std::vector<SmimeAuthResult> results;
        std::vector<smime::mime::HeaderField> entity_fields;  // the signed entity's header block
        std::unique_ptr<Spool> entity_body;                  // its body, when it may be unwrapped
        std::string receipt_detail;  // a signed receipt (§4.2): how it matched, for the log
        std::string log_detail;      // for the log: signer hints left unread, text after the signature part
        std::vector<std::vector<std::pair<std::string, Bytes>>> signer_attributes;  // per signer
    };
    Layer verify_layer(SmimeKind kind, const std::vector<smime::mime::HeaderField>& fields, const Spool& body,
                       const Spool* der, const smime::mime::Limits& limits);
    // `authors`: the From addresses every passing signer must be named for.
    void judge_signers(const smime::cms::VerifyResult& v, const std::vector<EmailAddress>& authors,
                       const char* no_signer_reason, Layer& layer);
    // `detail`: the log notes of each signature found, with its part (as the top level's go to
    // the decision line's detail).
    void verify_nested(const std::vector<smime::mime::HeaderField>& fields, const Spool& body,
                       const smime::mime::Limits& limits, std::vector<SmimeAuthResult>& results,
                       std::string& detail);
    std::vector<Bytes> known_signer_certificates(const smime::cms::VerifyResult& v,
                                                 const std::vector<smime::mime::HeaderField>& fields) const;
    SmimeAuthResult judge_signer(const smime::cms::SignerVerification& signer,
                                 const std::vector<Bytes>& message_certificates,
                                 const std::vector<EmailAddress>& authors,
                                 const std::string& part);
    // Stores the signer's certificates for `address`, the From address the signer was matched
    // to (lower case).
    void harvest(const smime::cms::SignerVerification& signer, const std::string& address,
                 const std::vector<Bytes>& message_certificates, const std::vector<Bytes>& path);

    const Config& m_config;
    const Certificates& m_certificates;
    std::vector<std::string> m_required_policies;
    std::optional<pki::Revocation> m_revocation;  // the partner rule's, else [pki] revocation
    // [pki] revocation_time_budget, one for the whole message: every signer's validation.
    std::shared_ptr<const pki::RevocationBudget> m_revocation_budget;
    std::shared_ptr<const pki::RevocationBudget> m_shared_budget;  // share_revocation_budget
    bool m_strip_signature = false;               // [inbound] strip_signature or the rule's
    std::vector<SignedLabel> m_labels;
    InboundReceiptRequests* m_receipts = nullptr;  // the whole-body layers' requests, during process()
    KeySource& m_keys;
    directory::HarvestStore* m_harvest;
    bool m_strip_validated = false;
    bool* m_key_matched = nullptr;
};

}  // namespace ssm::milter
