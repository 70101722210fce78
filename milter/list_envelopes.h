// The envelopes of one mail-list expansion (mail_list.h, PRODUCT §4.3): the members divided
// by the cipher outbound mail to each of them would get, and each envelope sealed (encrypted
// again for its own members only, RFC 2634 §4.2.3.2, then signed by the list with the
// history) into the received message or, for the others, a copy made in full that leaves
// through [reinjection]. The entity is what the list decrypted: attacker content, forwarded
// as it came and never parsed here.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/spool.h"
#include "milter/certificates.h"
#include "milter/config.h"
#include "milter/list_members.h"
#include "milter/message_processor.h"
#include "smime/mime/header.h"
#include "smime/sign.h"
#include "smime/signer.h"

namespace ssm::milter {

struct EnvelopePlan {
    std::vector<EnvelopeGroup> groups;     // empty: the list's mail is not encrypted
    std::optional<policy::Cipher> shared;  // set: one envelope for members whose ciphers differ
    policy::CipherFloor floor = policy::CipherFloor::None;  // with `shared`: the strictest
};

// The members' envelopes: one per cipher (group_by_cipher) when `apart` ([reinjection] can
// send the others); otherwise, when their ciphers differ, one for all in the strongest cipher
// their rules name that none of them cannot read (policy::shared_preference over
// `preferences` and `advertised`, member order) at the strictest `floor` (logged
// list-envelope-shared).
EnvelopePlan plan_envelopes(const std::string& list, const std::vector<MemberEnvelope>& members, bool apart,
                            const std::vector<policy::Cipher>& preferences,
                            const std::vector<policy::AdvertisedCiphers>& advertised, policy::CipherFloor floor);

// What the members get inside the envelopes.
struct ListEntity {
    const std::vector<smime::mime::HeaderField>& headers;  // the received message's fields
    std::vector<smime::mime::HeaderField> content;         // the entity's Content-* fields
    const Spool& body;
    std::string unprotected_cipher;  // CBC content nothing protected: marked (decrypted_mark.h)
};

// Seals `entity` once per group of `plan` (once, not encrypted, when it has none) with
// `signer` and `sign`, and puts it into `out`: the first as the rewrite of the received
// message (`edit` plus the signature's Content-* fields, the new body, `add_recipients` its
// members, or `members` when there is no group), the others as copies made in full
// (MessageOutcome::Copy::made). With [reinjection] a member that is one of our lists is
// alone in a copy, from the first envelope too, since it comes back as that list's message,
// which has no other recipient (`out.discard` when nobody is left for the received message).
// Logs list-envelope per
// group; returns "CIPHER:MEMBERS,..." for the message line ("" without groups).
std::string seal_envelopes(const Config& config, const Certificates& certificates, const std::string& list,
                           const ListEntity& entity, const EnvelopePlan& plan, smime::Signer& signer,
                           const smime::SignParameters& sign, const smime::HeaderEdit& edit,
                           const std::vector<std::string>& members, MessageOutcome& out);

}  // namespace ssm::milter
