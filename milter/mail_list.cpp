// Mail-list expansion (see mail_list.h). Order of RFC 2634 §4.2.3: the history of the outer
// signature is checked before anything is decrypted or signed, so a loop costs one
// verification; members without a usable certificate, and members whose rule makes
// encryption mandatory when the list's mail is not encrypted, never get the content in clear;
// inbound, a member whose own rule for the sender refuses the message does not get it.
#include "milter/mail_list.h"

#include <algorithm>
#include <ctime>
#include <list>
#include <map>
#include <optional>

#include "base/error.h"
#include "base/log.h"
#include "base/mailbox_list.h"
#include "milter/certificate_clearances.h"
#include "milter/decrypted_mark.h"
#include "milter/inbound.h"
#include "milter/inbound_layers.h"
#include "milter/list_envelopes.h"
#include "milter/list_members.h"
#include "policy/blind_recipients.h"
#include "policy/cipher_choice.h"
#include "policy/inbound_requirements.h"
#include "smime/cms/ml_expansion.h"
#include "smime/cms/oids.h"
#include "smime/decrypter.h"
#include "smime/protect.h"
#include "smime/sign.h"

namespace ssm::milter {

namespace {

using smime::mime::HeaderField;
using Attributes = std::vector<std::pair<std::string, Bytes>>;

const Bytes* find_attribute(const Attributes& attrs, std::string_view oid)
{
    for (const auto& [o, v] : attrs)
        if (o == oid) return &v;
    return nullptr;
}

// The first signer's `oid` attribute in the outermost layer that has one; `validated` tells
// whether a signer of that layer has a valid signature and chain (an MLA signs as the list,
// so the From address is not its own).
const Bytes* outermost(const InboundOutcome& r, std::string_view oid, bool& validated)
{
    for (const auto& layer : r.signed_layers)
        for (const auto& attrs : layer.signer_attributes)
            if (const Bytes* v = find_attribute(attrs, oid)) {
                validated = layer.validated;
                return v;
            }
    return nullptr;
}

// The originator's security label: from the first verified layer that is no MLA's (no
// history); RFC 2634 §5.2 (list expansion keeps the label of the inner signature).
const Bytes* originator_label(const InboundOutcome& r)
{
    for (const auto& layer : r.signed_layers) {
        if (!layer.passed) continue;
        for (const auto& attrs : layer.signer_attributes) {
            if (find_attribute(attrs, smime::cms::oid::kMlExpandHistory)) break;
            if (const Bytes* v = find_attribute(attrs, smime::cms::oid::kSecurityLabel)) return v;
        }
    }
    return nullptr;
}

// The token seen through a list: only the list's own key decrypts. Mail that was encrypted
// to another key on the token (a user's, the domain's) and sent to a list address must not
// be opened and passed on to the members.
class ListKeys final : public KeySource {
public:
    ListKeys(KeySource& keys, const Bytes& list_certificate) : m_keys(keys), m_certificate(list_certificate) {}
    std::shared_ptr<smime::Signer> signer_for(const EmailAddress& address) override
    {
        return m_keys.signer_for(address);
    }
    void token_failed() override { m_keys.token_failed(); }
    void ensure_available() override { m_keys.ensure_available(); }
    std::vector<std::shared_ptr<smime::Decrypter>> decrypters() override
    {
        std::vector<std::shared_ptr<smime::Decrypter>> out;
        for (auto& d : m_keys.decrypters())
            if (d->certificate_der() == m_certificate) out.push_back(std::move(d));
        return out;
    }

private:
    KeySource& m_keys;
    const Bytes& m_certificate;
};

MessageOutcome refuse(const MailList& list, const std::string& why, std::string detail = "")
{
    log::notice("list-refused", {{"list", list.address.str()}, {"reason", why}});
    MessageOutcome out;
    out.reply = Reply::reject("550", "5.7.1", "mail list " + list.address.str() + ": " + why);
    out.action = "reject";
    out.detail = "list=" + list.address.str() + " " + detail;
    return out;
}

// The whole list message waits with `reply` for `member` (a temporary failure).
MessageOutcome member_waits(const std::string& list, const EmailAddress& member, Reply reply)
{
    MessageOutcome out;
    out.reply = std::move(reply);
    out.action = "tempfail";
    out.detail = "list=" + list + " member=" + member.str() + " ";
    return out;
}

// A member whose certificate was refused for unknown revocation statuses alone: the list
// message waits for it as a mandatory recipient's message does (message_planning.cpp), the
// reasons in the log only. Revoked, expired or untrusted: nothing (the member is skipped).
std::optional<MessageOutcome> revocation_wait(const std::string& list, const EmailAddress& member,
                                              const directory::Choice& choice)
{
    if (choice.chosen || !choice.revocation_unknown) return std::nullopt;
    const std::string why = choice.rejected_reasons.empty() ? "revocation unknown" : choice.rejected_reasons.front();
    log::notice("list-member-tempfail", {{"list", list}, {"member", member.str()}, {"reason", why}});
    MessageOutcome out = member_waits(
        list, member,
        Reply::tempfail("451", "4.7.1",
                        "revocation status of the certificate for list member " + member.str() +
                            " unknown; try again later",
                        why));
    out.detail += "reason=revocation-unknown ";
    return out;
}

std::vector<HeaderField> content_of(const std::vector<HeaderField>& fields)
{
    std::vector<HeaderField> out;
    for (const auto& f : fields)
        if (smime::mime::is_content_field(f.name)) out.push_back(f);
    return out;
}

}  // namespace

MessageOutcome ListExpander::expand(const MailList& list, const std::string& list_rcpt,
                                    const std::vector<HeaderField>& headers, const Spool& body,
                                    const policy::Treatment& requirements, const policy::MessageContext* inbound,
                                    bool* key_matched)
{
    const bool own_author = !inbound;
    const auto& m = m_config.milter;
    const std::time_t now = std::time(nullptr);
    const std::string name = list.address.str();
    auto signer = m_keys.signer_for(list.identity);
    if (!signer) {
        MessageOutcome out;
        out.reply = Reply::tempfail("451", "4.7.0", "no key for the list identity " + list.identity.str() + " on the token");
        out.action = "tempfail";
        out.detail = "list=" + name + " ";
        return out;
    }

    // 0. Members: the configured ones and the group's as the directory lists them now (a
    // directory outage waits like a certificate lookup does). Asked before anything is
    // decrypted: the outage must get its 451 whether or not the content decrypts, or the
    // reply would tell (undecryptable.h).
    ListMembers resolved;
    try {
        resolved = resolve_members(list, m_certificates.group_members());
    } catch (const Error& e) {
        if (e.failure() != Failure::DirectoryUnavailable) throw;
        MessageOutcome out;
        out.reply = reply_for(e.failure(), e.what());
        out.action = "tempfail";
        out.detail = "list=" + name + " group=" + list.members_group + " ";
        return out;
    }
    // The group alone leaves nobody (or too many): refused whatever the message holds.
    if (resolved.too_deep)
        return refuse(list, "group " + list.members_group + " nests groups more than " +
                                std::to_string(directory::kMaxGroupNesting) + " levels deep");
    if (resolved.too_many)
        return refuse(list, "more than " + std::to_string(MailList::kMaxMembers) +
                                " members, or a group entry over [directory] max_entry_bytes");
    if (resolved.members.empty())
        return refuse(list, "no member left (group " + list.members_group + " lists none with a usable mail address)");

    // 0a. Each member's rule for the list's mail (as the list sends it; 4. below): what it asks
    // of the message, and whose certificate outbound mail to the member is encrypted to.
    // A member's rule or certificate cannot be known while the directory is down: the whole
    // message waits (451), no member is left out for it.
    policy::MessageContext as_list;
    as_list.direction = policy::Direction::Outbound;
    as_list.origin.administrator = true;  // the gateway itself sends, as the list
    as_list.from = list.address;
    as_list.headers = &headers;
    std::map<std::string, policy::RecipientPlan> list_plans;  // by member address
    for (const auto& resolved_member : resolved.members) {
        try {
            list_plans.emplace(resolved_member.address.str(),
                               m_config.policy.plan(as_list, resolved_member.address, m_certificates.groups()));
        } catch (const Error& e) {
            if (e.failure() != Failure::DirectoryUnavailable) throw;
            return member_waits(name, resolved_member.address, reply_for(e.failure(), e.what()));
        }
    }

    // 0b. The members' certificates (as outbound mail to the member is encrypted: its rule's
    // encrypt_to names whose; its own is, for an address with an extension and none of its
    // own, its mailbox's, Certificates::find_for_mailbox), when the message
    // is encrypted at the top or under signatures only (what its structure shows, not what
    // it decrypts to): asked before
    // anything is decrypted, so that a member whose certificate lacks only revocation answers
    // (hard-fail: responders silent, or the transaction's revocation budget spent) makes the
    // list message wait (451 4.7.1, retried with a budget of its own) rather than lose that
    // member. Once the content decrypted, a 451 would tell the padding was right
    // (undecryptable.h) and is hidden. Mail that is not encrypted needs no certificate.
    std::map<std::string, directory::Choice> looked_up;  // by key owner, each asked once
    const auto certificate_for = [&](const EmailAddress& member, const EmailAddress& owner) {
        const policy::Treatment& t = list_plans.at(member.str()).treatment;
        const std::string key = (t.encrypt_to == policy::EncryptTarget::Recipient ? "mailbox:" : "address:") + owner.str();
        if (auto it = looked_up.find(key); it != looked_up.end()) return it->second;
        directory::Choice choice = t.encrypt_to == policy::EncryptTarget::Recipient
                                       ? m_certificates.find_for_mailbox(owner, now, m_budget)
                                       : m_certificates.find(owner, now, m_budget);
        looked_up.emplace(key, choice);
        return choice;
    };
    // The member's certificate into `choice`, or the whole list message's wait: the directory
    // is down, or only revocation answers are missing (revocation_wait).
    const auto member_certificate = [&](const EmailAddress& member, const EmailAddress& owner,
                                        directory::Choice& choice) -> std::optional<MessageOutcome> {
        try {
            choice = certificate_for(member, owner);
        } catch (const Error& e) {
            if (e.failure() != Failure::DirectoryUnavailable) throw;
            return member_waits(name, member, reply_for(e.failure(), e.what()));
        }
        return revocation_wait(name, member, choice);
    };
    std::map<std::string, directory::Choice> checked;  // by member address
    smime::mime::Limits limits;
    limits.max_header_field = m.max_header_field_size;
    limits.max_depth = m.max_mime_depth;
    if (encrypted_under_signatures(content_of(headers), body, limits, m.spool_dir, m.memory_spool_limit, kMaxLayers))
        for (const auto& resolved_member : resolved.members) {
            const EmailAddress& member = resolved_member.address;
            const auto owner = policy::key_owner(list_plans.at(member.str()).treatment, member);
            if (!owner) continue;  // skipped in 4.
            directory::Choice choice;
            if (auto wait = member_certificate(member, *owner, choice)) return std::move(*wait);
            checked.emplace(member.str(), std::move(choice));
        }

    // 0c. Inbound, each member's own rule, as if the member were the message's recipient (the
    // sender, the client and the header fields as received): its requirements hold for that
    // member beside the list's (4. below), and the signers are validated once for the list
    // and all of them (every required policy, the stricter revocation checking), as for one
    // message to several recipients. Planned before anything is decrypted, so a directory
    // outage is answered 451 as such.
    std::map<std::string, policy::RecipientPlan> inbound_plans;  // by member address
    policy::Treatment validation = requirements;
    if (inbound) {
        const policy::RevocationMode configured_revocation = m_config.pki.revocation_mode();
        for (const auto& resolved_member : resolved.members) {
            policy::RecipientPlan plan;
            try {
                plan = m_config.policy.plan(*inbound, resolved_member.address, m_certificates.groups());
            } catch (const Error& e) {
                if (e.failure() != Failure::DirectoryUnavailable) throw;
                return member_waits(name, resolved_member.address, reply_for(e.failure(), e.what()));
            }
            policy::widen_signer_validation(validation, plan.treatment, configured_revocation);
            inbound_plans.emplace(resolved_member.address.str(), std::move(plan));
        }
    }

    // 1. As the inbound path sees it: signatures verified, the list's encryption removed, and
    // the partner's requirements checked as for a person (PRODUCT §3.5): a list address is no
    // way around them. A refusal after the list's key was named goes the on_undecryptable way
    // (the caller hides it, undecryptable.h), as on the inbound path.
    ListKeys list_keys(m_keys, signer->certificate_der());
    InboundProcessor in(m_config, m_certificates, list_keys, m_certificates.harvest());
    if (key_matched) in.report_key_match(*key_matched);
    in.share_revocation_budget(m_budget);
    InboundOutcome r = in.process(headers, body, {list.address}, validation, validation.required_policies);
    const policy::ReceivedProtection received{r.signature_passed, r.decrypted, !r.unprotected_cipher.empty()};
    if (r.reply.verdict != Verdict::Accept) {
        MessageOutcome out;
        out.reply = r.reply;
        out.action = r.action;
        out.detail = "list=" + name + " " + r.detail;
        return out;
    }

    // 1b. Our own author's SIO-Label asks for a label the list does not sign (it copies only
    // a label its originator signed): expanded, the mail would reach the members without it.
    // Refused, as outbound mail that would leave without its label is (§4.1).
    const bool labelled = std::any_of(r.labels.begin(), r.labels.end(), [](const SignedLabel& l) { return l.verified; });
    if (own_author && smime::mime::find_field(headers, kSioLabelField) && !labelled) {
        log::notice("list-refused", {{"list", name}, {"reason", "author's SIO-Label not signed"}});
        MessageOutcome out;
        out.reply = Reply::reject("550", "5.7.1",
                                  "security label cannot be applied: mail list " + name +
                                      " signs no label of its own; sign the message with its label");
        out.action = "reject";
        out.detail = "list=" + name + " label=author-unsigned " + r.detail;
        return out;
    }

    // 2. RFC 2634 §4.2.3.1: the history of the outer signature decides before anything else.
    smime::cms::MlExpansionHistory history;
    bool history_passed = false;
    if (const Bytes* der = outermost(r, smime::cms::oid::kMlExpandHistory, history_passed)) {
        try {
            history = smime::cms::decode_ml_expansion_history(*der);
        } catch (const Error& e) {
            if (e.failure() != Failure::MalformedMessage) throw;
            return refuse(list, std::string("malformed mlExpansionHistory (") + e.what() + ")", r.detail);
        }
        for (const auto& entry : history)
            if (smime::cms::identifies(entry.identifier, signer->certificate_der()))
                return refuse(list, "mail-list loop: this list already expanded the message",
                              "history=" + std::to_string(history.size()) + " " + r.detail);
        if (history.size() >= smime::cms::kMaxMlExpansionHistory)
            return refuse(list, "mlExpansionHistory already holds 64 entries", r.detail);
        if (!history_passed)
            return refuse(list, "the signature carrying the mlExpansionHistory does not verify", r.detail);
    }
    if (!r.decrypted && r.detail.find("encrypted-not-for-us") != std::string::npos)
        return refuse(list, "encrypted, but not to the list's key (" + list.identity.str() + ")", r.detail);

    // 3. The entity the members get: the decrypted one, or the received one without a
    // previous list's signature (its history moves into ours), or the received one as is.
    std::vector<HeaderField> content = content_of(headers);
    const Spool* entity = &body;
    std::unique_ptr<Spool> unwrapped;
    if (r.decrypted || (!history.empty())) {
        InboundOutcome stripped;
        if (!r.decrypted) {
            InboundProcessor again(m_config, m_certificates, list_keys, nullptr);
            again.strip_validated_signature();
            again.share_revocation_budget(m_budget);
            // Only the unwrapping: the requirements were checked in 1.
            stripped = again.process(headers, body, {list.address}, policy::Treatment{});
        }
        InboundOutcome& u = r.decrypted ? r : stripped;
        if (!u.new_body) throw Error(Failure::Internal, "list expansion: no unwrapped body");
        content = content_of(u.headers.add);
        unwrapped = std::move(u.new_body);
        entity = unwrapped.get();
    }

    // 4. Members (resolved in 0. above); encrypted content only to those we can encrypt to
    // (never in clear).
    std::string group_detail;
    if (!list.members_group.empty()) {
        group_detail = " group_members=" + std::to_string(resolved.from_group) +
                       " group_without_mail=" + std::to_string(resolved.group_without_mail);
        if (!resolved.group_found)
            log::warning("list-group-missing", {{"list", name}, {"group", list.members_group}});
    }
    std::vector<std::string> members;
    // Encrypted list mail: each member as outbound mail to it alone would be encrypted (its
    // rule's encrypt_to, cipher, minimum_cipher and recipient_identifier, its certificate's
    // SMIMECapabilities); members whose ciphers differ get envelopes of their own (5.).
    std::list<directory::RecipientCertificate> certs;  // stable: envelopes point into it
    std::vector<MemberEnvelope> envelopes;
    // Without [reinjection] the members share one envelope, as strong as the strictest of
    // their rules asks (stronger_floor) in the cipher they name (shared_preference).
    policy::CipherFloor floor = policy::CipherFloor::None;
    std::vector<policy::Cipher> ciphers;
    std::vector<policy::AdvertisedCiphers> advertised;  // per member with a certificate
    // What the message is tagged for: the list's requirements and those of every member who
    // gets it (a member's rule that refuses what is missing has skipped the member).
    policy::Treatment tagged = requirements;
    std::size_t skipped = 0;
    // The expanded message leaves as the list's outbound mail, and no rule is applied to it
    // again: a member whose rule makes encryption mandatory must not get what the list does
    // not encrypt (PRODUCT §2: never in clear what policy says must be encrypted), and one
    // whose rule labels its mail must not get it without a label (§4.1: the list signs only
    // a label its originator signed).
    for (const auto& resolved_member : resolved.members) {
        const EmailAddress& member = resolved_member.address;
        const policy::RecipientPlan& plan = list_plans.at(member.str());
        // The member's own inbound rule judges the message as it would judge it sent to the
        // member alone: what that rule refuses never reaches the member; what it tags, every
        // member sees tagged (every envelope carries the one tag).
        const policy::RecipientPlan* own = nullptr;
        policy::RequirementCheck own_check;
        if (const auto it = inbound_plans.find(member.str()); it != inbound_plans.end()) {
            own = &it->second;
            own_check = policy::check_requirements(own->treatment, received);
        }
        std::string why;
        // '%', '!' and a second '@' route mail on (Postfix's percent hack, bang paths): planned
        // for the domain after the last '@', the member would get the list's mail under that
        // domain's rules and Postfix would deliver it to another; RCPT refuses such an
        // address outbound (MessageProcessor::rcpt_to), and so does the list.
        if (member.local_part().find_first_of("%!@") != std::string::npos)
            why = "its address routes through its local part (percent hack, bang path or a second '@')";
        else if (own_check.refuse)
            why = "its inbound rule requires " + own_check.missing;
        else if (!r.decrypted && plan.treatment.encrypt == policy::EncryptMode::Mandatory)
            why = "its rule makes encryption mandatory and the list's mail is not encrypted";
        else if (!labelled && !plan.treatment.security_label.empty())
            why = "its rule labels mail and the list's mail carries no signed label";
        if (!why.empty()) {
            ++skipped;
            log::notice("list-member-skipped", {{"list", name},
                                                {"member", member.str()},
                                                {"rule", own_check.refuse ? own->rule_name : plan.rule_name},
                                                {"reason", why}});
            continue;
        }
        // The member gets the message: its rule's tag (if any) is the message's.
        const auto deliver = [&] {
            members.push_back(member.str());
            if (own_check.missing.empty()) return;
            tagged.require_signature = tagged.require_signature || own->treatment.require_signature;
            tagged.require_encryption = tagged.require_encryption || own->treatment.require_encryption;
            tagged.require_integrity = tagged.require_integrity || own->treatment.require_integrity;
        };
        if (!r.decrypted) {
            deliver();
            continue;
        }
        const auto owner = policy::key_owner(plan.treatment, member);
        directory::Choice choice;
        if (auto it = checked.find(member.str()); it != checked.end()) {
            choice = std::move(it->second);
        } else if (owner) {  // encrypted below what 0b. looks into (a compressed layer, say)
            // Waits too, though hidden as undecryptable (see 0b.): never left out for it.
            if (auto wait = member_certificate(member, *owner, choice)) return std::move(*wait);
        }
        // Whose certificate, when not the member's own (encrypt_to), in the member's lines.
        log::Fields fields = {{"list", name}, {"member", member.str()}};
        if (owner && !owner->same_as(member)) fields.emplace_back("certificate_for", owner->str());
        if (!choice.chosen) {
            ++skipped;
            fields.emplace_back("rule", plan.rule_name);
            fields.emplace_back("reason", !owner                           ? "unusable encrypt_to address"
                                          : choice.rejected_reasons.empty() ? "no certificate"
                                                                            : choice.rejected_reasons.front());
            log::notice("list-member-skipped", fields);
            continue;
        }
        deliver();
        certs.push_back(std::move(*choice.chosen));
        // As outbound mail to the member would be encrypted: its rule's cipher ([encryption]
        // cipher when it names none) for its certificate, raised to its floor.
        const policy::Cipher preference = plan.treatment.cipher == policy::Cipher::Default
                                              ? configured_cipher(m_config.encryption.cipher)
                                              : plan.treatment.cipher;
        const policy::CipherChoice alone =
            policy::choose_cipher(preference, plan.treatment.minimum_cipher, {advertised_ciphers(certs.back())});
        envelopes.push_back({member.str(), &certs.back(), plan.treatment.recipient_identifier, alone.cipher});
        floor = policy::stronger_floor(floor, plan.treatment.minimum_cipher);
        ciphers.push_back(preference);
        advertised.push_back(advertised_ciphers(certs.back()));
        fields.emplace_back("cipher", policy::cipher_name(alone.cipher));
        fields.emplace_back("cipher_reason", policy::cipher_reason_name(alone.reason));
        log::info("list-member-encrypted", fields);
    }
    if (members.empty())
        return refuse(list,
                      r.decrypted ? "no member has a usable certificate"
                                  : "no member left (their rules refuse this mail, or ask for encryption or a label "
                                    "it lacks)",
                      r.detail);

    // 4b. The members are the recipients: each must be cleared for every verified label, as
    // anyone's recipients are (§4.1), or nobody gets the message; SIO-Label fields from
    // outside never pass, ours replace them.
    std::vector<EmailAddress> member_addresses;
    for (const auto& a : members)
        if (auto parsed = EmailAddress::parse(a)) member_addresses.push_back(std::move(*parsed));
    std::optional<Domain> author_domain;
    if (const HeaderField* from = smime::mime::find_field(headers, "From"))
        if (const auto first = first_mailbox(from->value)) author_domain = first->domain();
    const LabelVerdict labels = judge_labels_for(m_config, m_certificates, m_keys, r.labels, member_addresses,
                                                 author_domain, m_budget);
    if (labels.reply.verdict != Verdict::Continue) {
        MessageOutcome out;
        out.reply = labels.reply;
        out.action = labels.reply.verdict == Verdict::TempFail ? "tempfail" : "reject";
        out.detail = "list=" + name + " " + labels.detail + r.detail;
        return out;
    }

    // 5. The envelopes (list_envelopes.h): one per cipher the members' rules and certificates
    // give, each with only its members' RecipientInfos (the archive certificate added as
    // outbound), the first in this message, the others in copies the gateway makes in full
    // and reinjects with the split-off copies' all-or-nothing hand-over (reinjection.h).
    // Without [reinjection] a milter cannot send them: one envelope for all (logged).
    const EnvelopePlan plan =
        plan_envelopes(name, envelopes, m_config.reinjection.enabled(), ciphers, advertised, floor);
    smime::cms::MlData ours;
    ours.identifier = smime::cms::ml_identifier_of(signer->certificate_der());
    ours.expansion_time = now;
    ours.policy = list.receipt_policy;
    ours.names = list.receipts_to;
    history.push_back(std::move(ours));

    smime::SignParameters sign;
    sign.format = m_config.signing.format;
    sign.digest = m_config.signing.digest;
    sign.rsa_scheme = m_config.signing.rsa_scheme;
    sign.include_chain = m_config.signing.include_chain;
    sign.signing_time = now;
    sign.limits.max_header_field = m.max_header_field_size;
    sign.limits.max_depth = m.max_mime_depth;
    sign.extra_signed_attributes.emplace_back(smime::cms::oid::kMlExpandHistory,
                                              smime::cms::encode_ml_expansion_history(history));
    const Bytes* label = originator_label(r);
    if (label) sign.extra_signed_attributes.emplace_back(smime::cms::oid::kSecurityLabel, *label);

    // 6. The edit against the received header: its Content-* fields give way to ours; the
    // inbound edit's own changes (forged A-R removed, our A-R on top) come along.
    MessageOutcome out;
    out.reply = Reply::accept();
    out.action = "expand";
    smime::HeaderEdit edit = smime::content_fields_moved_inside(headers);
    // The partner's tag (on_missing = "tag") reaches the members as the inbound path's does:
    // one field naming what the list's rule and the rules of the members who get the message
    // found missing (r's own tag names the list's only).
    if (const policy::RequirementCheck t = policy::check_requirements(tagged, received); !t.missing.empty()) {
        edit.add.push_back(policy_tag(t.missing));
        out.action = "expand+tag";
    }
    for (const auto& rm : r.headers.remove)
        if (!smime::mime::is_content_field(rm.name)) edit.remove.push_back(rm);
    // Bcc fields a client left in (Postfix removes them before the milter, other MTAs may
    // not) would tell every member who else got the message blind: out, as from every message
    // the gateway signs (RFC 5322 §3.6.3, the first way; message_processor.cpp).
    for (auto& removal : policy::blind_copy_field_removals(headers)) edit.remove.push_back(std::move(removal));
    edit.prepend = r.headers.prepend;
    // Only the gateway writes X-SSM-Decrypted and X-SSM-Integrity: copies from outside go,
    // as on the inbound path. The expanded message is encrypted again (never decrypted text,
    // so no X-SSM-Decrypted); our integrity mark is repeated outside for delivery rules.
    mark_decrypted(edit, headers, r.decrypted ? Delivered::EncryptedAgain : Delivered::AsReceived, m.authserv_id,
                   r.unprotected_cipher);
    replace_sio_labels(edit, headers, labels.sio_labels);

    const std::string envelope_detail =
        seal_envelopes(m_config, m_certificates, name, {headers, content, *entity, r.unprotected_cipher}, plan,
                       *signer, sign, edit, members, out);
    out.remove_recipients.push_back(list_rcpt);
    out.detail = "list=" + name + " members=" + std::to_string(members.size()) +
                 " skipped=" + std::to_string(skipped) + " history=" + std::to_string(history.size()) +
                 " encrypted=" + (r.decrypted ? "yes" : "no") + group_detail +
                 (envelope_detail.empty() ? "" : " envelopes=" + envelope_detail) +
                 (label ? " label=copied" : "") + " " + labels.detail + r.detail;
    log::info("list-expanded", {{"list", name}, {"members", std::to_string(members.size())},
                                {"skipped", std::to_string(skipped)}, {"history", std::to_string(history.size())},
                                {"envelopes", std::to_string(std::max<std::size_t>(plan.groups.size(), 1))},
                                {"group_members", std::to_string(resolved.from_group)},
                                {"group_without_mail", std::to_string(resolved.group_without_mail)}});
    return out;
}

}  // namespace ssm::milter
