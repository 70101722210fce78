// A list expansion's envelopes (see list_envelopes.h): grouping, sealing, and the copies
// made in full for the members whose envelope is not the received message's.
#include "milter/list_envelopes.h"

#include <algorithm>
#include <memory>

#include "base/joined.h"
#include "base/log.h"
#include "milter/decrypted_mark.h"
#include "milter/message_writer.h"
#include "milter/reinjection.h"
#include "smime/protect.h"

namespace ssm::milter {

namespace {

using smime::mime::HeaderField;

std::vector<HeaderField> content_fields(const std::vector<HeaderField>& fields)
{
    std::vector<HeaderField> out;
    for (const auto& f : fields)
        if (smime::mime::is_content_field(f.name)) out.push_back(f);
    return out;
}

// The top-level fields with the Content-* ones replaced by `content`.
std::vector<HeaderField> with_content(const std::vector<HeaderField>& headers, const std::vector<HeaderField>& content)
{
    std::vector<HeaderField> out;
    for (const auto& f : headers)
        if (!smime::mime::is_content_field(f.name)) out.push_back(f);
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

// Encrypts the entity again for `group` (null: list mail that was not encrypted), then the
// outer signature with the history, into `signed_body`. Returns its Content-* fields.
std::vector<HeaderField> seal(const Config& config, const Certificates& certificates, const ListEntity& entity,
                              const EnvelopePlan& plan, const EnvelopeGroup* group, smime::Signer& signer,
                              const smime::SignParameters& sign, Spool& signed_body)
{
    const auto& m = config.milter;
    std::vector<HeaderField> content = entity.content;
    const Spool* sealed = &entity.body;
    std::unique_ptr<Spool> encrypted;
    if (group) {
        std::vector<EncryptionTarget> targets;  // members: named as their rules say
        for (const auto& [certificate, identifier] : group->certificates) targets.push_back({certificate, identifier});
        smime::ProtectRequest request;
        request.spool_dir = m.spool_dir;
        request.memory_spool_limit = m.memory_spool_limit;
        request.header_protection = false;  // the entity is forwarded as it came to the list
        // Content nothing protected (EFAIL, decrypted_mark.h) gets the inbound path's mark
        // inside the new envelope, under the list's signature: the members must not take
        // that signature for the content's integrity, and a member's gateway removes the
        // copy on the outside as forged.
        if (!entity.unprotected_cipher.empty()) request.inner_fields.push_back(integrity_mark(entity.unprotected_cipher));
        // The group's cipher is already each member's, floor applied (plan_envelopes).
        request.encrypt = plan.shared ? encryption_parameters(config, certificates, targets, *plan.shared, plan.floor)
                                      : encryption_parameters(config, certificates, targets, group->cipher,
                                                              policy::CipherFloor::None);
        encrypted = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
        auto reader = entity.body.reader();
        const auto e = smime::protect_message(with_content(entity.headers, content), *reader, request, *encrypted);
        content = content_fields(e.headers.add);
        sealed = encrypted.get();
    }
    Spool scratch(m.spool_dir, m.memory_spool_limit);
    auto reader = sealed->reader();
    const smime::SignResult s =
        smime::sign_message(with_content(entity.headers, content), *reader, signer, sign, scratch, signed_body);
    return content_fields(s.headers.add);
}

}  // namespace

EnvelopePlan plan_envelopes(const std::string& list, const std::vector<MemberEnvelope>& members, bool apart,
                            const std::vector<policy::Cipher>& preferences,
                            const std::vector<policy::AdvertisedCiphers>& advertised, policy::CipherFloor floor)
{
    EnvelopePlan plan;
    plan.groups = group_by_cipher(members);
    if (plan.groups.size() <= 1 || apart) return plan;
    log::notice("list-envelope-shared", {{"list", list},
                                         {"ciphers", std::to_string(plan.groups.size())},
                                         {"reason", "no [reinjection] to send envelopes of their own"}});
    EnvelopeGroup all = plan.groups.front();
    for (std::size_t i = 1; i < plan.groups.size(); ++i) {
        const EnvelopeGroup& g = plan.groups[i];
        all.members.insert(all.members.end(), g.members.begin(), g.members.end());
        for (const auto& c : g.certificates)
            if (std::none_of(all.certificates.begin(), all.certificates.end(),
                             [&](const auto& a) { return a.first->der == c.first->der; }))
                all.certificates.push_back(c);
    }
    plan.groups = {std::move(all)};
    plan.shared = policy::shared_preference(preferences, advertised);
    plan.floor = floor;
    return plan;
}

std::string seal_envelopes(const Config& config, const Certificates& certificates, const std::string& list,
                           const ListEntity& entity, const EnvelopePlan& plan, smime::Signer& signer,
                           const smime::SignParameters& sign, const smime::HeaderEdit& edit,
                           const std::vector<std::string>& members, MessageOutcome& out)
{
    const auto& m = config.milter;
    std::string detail;
    for (std::size_t i = 0; i < std::max<std::size_t>(plan.groups.size(), 1); ++i) {
        const EnvelopeGroup* group = plan.groups.empty() ? nullptr : &plan.groups[i];
        auto signed_body = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
        smime::HeaderEdit sealed_edit = edit;
        for (auto& f : seal(config, certificates, entity, plan, group, signer, sign, *signed_body))
            sealed_edit.add.push_back(std::move(f));
        if (group) {
            const std::string cipher = plan.shared ? "shared" : policy::cipher_name(group->cipher);
            log::info("list-envelope", {{"list", list},
                                        {"cipher", cipher},
                                        {"members", joined(group->members, "")},
                                        {"certificates", std::to_string(group->certificates.size())},
                                        {"delivery", i == 0 ? "message" : "reinjected"}});
            detail += (detail.empty() ? "" : ",") + cipher + ":" + std::to_string(group->members.size());
        }
        // A member that is one of our lists travels alone in a copy (when [reinjection] can
        // send one), in the first envelope too: that copy comes back as that list's message and
        // is expanded for its members, while a recipient added to this message would reach the
        // list's address as it is and none of its members.
        std::vector<std::string> here, alone;
        for (const auto& member : group ? group->members : members) {
            const auto address = EmailAddress::parse(member);
            (config.reinjection.enabled() && address && config.mail_list(*address) ? alone : here).push_back(member);
        }
        // The copy as the MTA would deliver this message with the edit (message_writer.h).
        std::shared_ptr<Spool> made;
        std::string made_digest;
        if (!alone.empty() || (i > 0 && !here.empty())) {
            made = std::make_shared<Spool>(m.spool_dir, m.memory_spool_limit);
            auto reader = signed_body->reader();
            write_rewritten_message(entity.headers, sealed_edit, *reader, *made);
            reader = signed_body->reader();
            made_digest = as_made_body_digest(*reader);
        }
        for (const auto& list_member : alone) out.copies.push_back({{list_member}, "", made, made_digest});
        if (i == 0) {
            out.header_edit = std::move(sealed_edit);
            out.new_body = std::move(signed_body);
            out.add_recipients = std::move(here);
            // Every member of this envelope is a list: nobody is left for this message.
            if (out.add_recipients.empty()) out.discard = true;
            continue;
        }
        if (!here.empty()) out.copies.push_back({std::move(here), "", made, made_digest});
    }
    return detail;
}

}  // namespace ssm::milter
