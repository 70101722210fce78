// The mail-list agent (PRODUCT §4.3, RFC 2634 §4): a message to a configured list address
// is unwrapped as the inbound path does it (outer signatures verified, what was encrypted to
// the list key decrypted on the token), checked against its mlExpansionHistory (loops, 64
// entries), encrypted again to each member as outbound mail to that member would be (its
// rule's encrypt_to and cipher) and signed by the list key with the history extended; the
// envelope then names the members instead of the list, and members whose cipher differs get
// messages of their own (MessageOutcome::copies, made in full). The message and every CMS
// attribute in it are attacker input.
#pragma once
#include <string>
#include <vector>

#include "base/spool.h"
#include "milter/certificates.h"
#include "milter/config.h"
#include "milter/key_source.h"
#include "milter/message_processor.h"
#include "smime/mime/header.h"

namespace ssm::milter {

class ListExpander {
public:
    // `budget`: the SMTP transaction's [pki] revocation_time_budget, spent by every validation
    // of the expansion (signers, members' certificates, clearances); null: each starts its own.
    ListExpander(const Config& config, const Certificates& certificates, KeySource& keys,
                 directory::SharedBudget budget = nullptr)
        : m_config(config), m_certificates(certificates), m_keys(keys), m_budget(std::move(budget)) {}

    // Expands `headers` + `body`, sent to `list` (RCPT TO text `list_rcpt`). `requirements`:
    // the rules' treatment of the sender and the list address (inbound: the partner's
    // require_signature/encryption/integrity, on_missing, required policies, revocation),
    // checked by the inbound step as for any recipient; its 550 or X-SSM-Policy tag is the
    // inbound path's. `inbound`: the received message's context (sender, client, header
    // fields), in which each member is planned as a recipient of its own: its rule's
    // requirements hold for that member beside the list's (a member whose rule refuses the
    // message is skipped, one whose rule tags adds its tag); null: the message comes from a
    // trusted origin (outbound), so an SIO-Label field is its author's request, not an
    // outsider's claim, and no inbound rule applies. The outcome
    // rewrites the message and the envelope (remove_recipients/add_recipients) on Accept, and
    // with [reinjection] carries one made copy per further cipher (its marker left to the
    // caller, which knows the envelope sender: make_as_made_marker);
    // a loop, a full or malformed history, or nothing left to deliver is a 550 5.7.1, a
    // directory outage 451 4.7.1.
    // Throws ssm::Error for token and spool failures. `key_matched` (when given) is set once
    // the list's key was named by a RecipientInfo: the caller then hides every failure
    // (undecryptable.h), thrown or returned.
    MessageOutcome expand(const MailList& list, const std::string& list_rcpt,
                          const std::vector<smime::mime::HeaderField>& headers, const Spool& body,
                          const policy::Treatment& requirements, const policy::MessageContext* inbound,
                          bool* key_matched = nullptr);

private:
    const Config& m_config;
    const Certificates& m_certificates;
    KeySource& m_keys;
    directory::SharedBudget m_budget;
};

}  // namespace ssm::milter
