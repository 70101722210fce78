// Planning one message (PRODUCT §1, §2.4, §3.5): direction and its evidence at MAIL, a plan
// and certificate per recipient at RCPT, and the plan again once the header fields are
// known (header triggers). Envelope and header values are untrusted SMTP input.
#include <algorithm>
#include <ctime>

#include "base/ascii.h"
#include "base/error.h"
#include "base/log.h"
#include "milter/message_processor.h"
#include "milter/network.h"
#include "policy/inbound_requirements.h"

namespace ssm::milter {

namespace {

std::string_view strip_angles(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    return s;
}

// RFC 5321 §4.5.1: RCPT TO:<postmaster> without a domain (the name in any case) MUST be
// accepted. The MTA delivers it to its own postmaster (Postfix appends $myorigin), so it is
// planned as the postmaster of our first [[domain]], a local recipient like any other of ours
// (inbound its mail is decrypted and verified, outbound that domain's rules apply); with no
// [[domain]], of this host's name. nullopt for any other text.
std::optional<EmailAddress> bare_postmaster(std::string_view text, const policy::Policy& policy)
{
    if (!iequals(text, "postmaster")) return std::nullopt;
    const auto& own = policy.domains();
    return EmailAddress::parse("postmaster@" + (own.empty() ? local_host_name() : own.front().name.str()));
}

const Reply kMixed = Reply::tempfail("452", "4.5.3",
                                     "recipient needs a different security treatment; "
                                     "send it in a separate transaction");

}  // namespace

policy::Cipher configured_cipher(CipherChoice c)
{
    switch (c) {
    case CipherChoice::Auto: return policy::Cipher::Auto;
    case CipherChoice::Aes256Gcm: return policy::Cipher::Aes256Gcm;
    case CipherChoice::Aes128Gcm: return policy::Cipher::Aes128Gcm;
    case CipherChoice::Aes256Cbc: return policy::Cipher::Aes256Cbc;
    case CipherChoice::Aes128Cbc: return policy::Cipher::Aes128Cbc;
    case CipherChoice::ChaCha20Poly1305: return policy::Cipher::ChaCha20Poly1305;
    }
    return policy::Cipher::Auto;
}

MessageProcessor::MessageProcessor(std::shared_ptr<const Config> config,
                                   std::shared_ptr<const Certificates> certificates,
                                   KeySource& keys, ConnectionInfo conn,
                                   const policy::GroupMembership* groups)
    : m_config(std::move(config)),
      m_certificates(std::move(certificates)),
      m_keys(keys),
      m_conn(std::move(conn)),
      m_groups(groups)
{
}

std::size_t MessageProcessor::recipient_count() const
{
    return static_cast<std::size_t>(std::count_if(m_recipients.begin(), m_recipients.end(),
                                                  [](const Recipient& r) { return r.accepted(); }));
}

Reply MessageProcessor::mail_from(std::string_view sender, std::string_view auth_authen)
{
    const auto& m = m_config->milter;
    policy::Origin origin;
    origin.authenticated = !auth_authen.empty();
    for (const auto& d : m.originating_daemons)
        if (!m_conn.daemon_name.empty() && d == m_conn.daemon_name) origin.originating_daemon = true;
    if (m_conn.client_address)
        for (const auto& n : m.internal_networks)
            if (n.contains(reinterpret_cast<const sockaddr*>(&*m_conn.client_address)))
                origin.internal_network = true;
    m_direction = origin.outbound() ? policy::Direction::Outbound : policy::Direction::Inbound;
    if (m_conn.forced_direction) {
        m_direction = *m_conn.forced_direction;
        origin.administrator = m_direction == policy::Direction::Outbound;
    }
    // Mail that nothing else shows to be outbound may come from an originating daemon whose
    // name the MTA did not send: taken for inbound it would leave neither signed nor
    // encrypted. Deferred (the administrator fixes the MTA's macros) rather than guessed.
    if (m_direction == policy::Direction::Inbound && !m_conn.forced_direction && !m_conn.daemon_name_sent &&
        !m.originating_daemons.empty()) {
        log::error("direction-unknown", {{"error", "the MTA sends no {daemon_name} macro at connect (Postfix: "
                                                   "milter_connect_macros); originating_daemons cannot be told"}});
        return reply_for(Failure::Temporary, "the direction of this mail cannot be told");
    }

    const std::string_view addr = strip_angles(sender);
    m_sender_text = std::string(addr);
    m_reinjected = false;
    m_as_made = false;
    m_origin_restored = false;
    m_marker_fields = 0;
    m_context = policy::MessageContext{};
    m_context.direction = m_direction;
    m_context.origin = origin;
    m_context.from = addr.empty() ? std::nullopt : EmailAddress::parse(addr);
    m_context.client = m_conn.client_address;
    m_context.auth_user = std::string(auth_authen);
    m_have_sender = true;
    m_arrival = std::time(nullptr);
    m_revocation_budget.reset();  // a new transaction: its own budget, started when first needed
    m_recipients.clear();
    m_effective.reset();
    m_sender_check.reset();
    m_list = nullptr;
    m_headers_reply.reset();
    m_headers.clear();
    m_header_bytes = 0;
    m_too_large = false;
    m_body = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
    return Reply::proceed();
}

namespace {

// The inbound fields MessageProcessor::Effective shares with policy::Treatment (same names),
// copied either way: a rule's treatment into what one message gets (effective), and that back
// into the treatment the inbound step reads (inbound_treatment). One list for both directions.
template <class From, class To>
void copy_inbound_fields(const From& from, To& to)
{
    to.require_signature = from.require_signature;
    to.require_encryption = from.require_encryption;
    to.require_integrity = from.require_integrity;
    to.on_missing = from.on_missing;
    to.required_policies = from.required_policies;
    to.revocation = from.revocation;
    to.strip_signature = from.strip_signature;
}

}  // namespace

policy::Treatment MessageProcessor::inbound_treatment(const Effective& e)
{
    policy::Treatment t;
    copy_inbound_fields(e, t);
    return t;
}

MessageProcessor::Effective MessageProcessor::effective(const Recipient& r) const
{
    const policy::Treatment& t = r.plan.treatment;
    Effective e;
    if (m_direction == policy::Direction::Inbound) {
        copy_inbound_fields(t, e);
        return e;
    }
    e.sign = t.sign;
    e.signing_identity = t.signing_identity;
    e.security_label = t.security_label;
    e.receipt_request = t.receipt_request;
    e.receipts_to = t.receipts_to;
    e.encrypt = r.certificate.has_value();
    if (e.encrypt) {
        e.encrypt_to = t.encrypt_to;
        // Only what changes the one CMS object matters; unencrypted recipients ignore it.
        e.cipher = t.cipher == policy::Cipher::Default ? configured_cipher(m_config->encryption.cipher)
                                                        : t.cipher;
        e.minimum_cipher = t.minimum_cipher;
        e.header_protection = t.header_protection.value_or(m_config->encryption.header_protection);
    }
    return e;
}

// A remote MTA cannot send the recipients separately once the header is in (the RCPT-time
// 452 is past), and refusing the whole message would bounce valid signed mail; so inbound the
// differing requirements are combined, each the stricter: a signature, encryption or
// integrity any recipient's rule requires is required of the message; a refusal beats a tag
// among the rules that require something; every required policy counts; the stricter revocation checking
// ([pki] revocation standing for a rule that sets none); the signature is stripped only
// when every rule strips it (the others' readers keep it).
MessageProcessor::Effective MessageProcessor::strictest_inbound(const Effective& a, const Effective& b) const
{
    Effective e = a;
    const bool a_requires = a.require_signature || a.require_encryption || a.require_integrity;
    const bool b_requires = b.require_signature || b.require_encryption || b.require_integrity;
    e.require_signature = a.require_signature || b.require_signature;
    e.require_encryption = a.require_encryption || b.require_encryption;
    e.require_integrity = a.require_integrity || b.require_integrity;
    if (a_requires && b_requires)
        e.on_missing = a.on_missing == policy::OnMissing::Reject || b.on_missing == policy::OnMissing::Reject
                           ? policy::OnMissing::Reject
                           : policy::OnMissing::Tag;
    else if (b_requires)
        e.on_missing = b.on_missing;
    for (const auto& p : b.required_policies)
        if (std::find(e.required_policies.begin(), e.required_policies.end(), p) == e.required_policies.end())
            e.required_policies.push_back(p);
    e.revocation = policy::stricter_revocation(a.revocation, b.revocation, m_config->pki.revocation_mode());
    e.strip_signature = a.strip_signature && b.strip_signature;
    return e;
}

std::shared_ptr<const pki::RevocationBudget> MessageProcessor::revocation_budget()
{
    if (!m_revocation_budget)
        m_revocation_budget = std::make_shared<const pki::RevocationBudget>(
            std::chrono::duration_cast<std::chrono::milliseconds>(m_config->pki.revocation_time_budget));
    return m_revocation_budget;
}

Reply MessageProcessor::look_up(Recipient& r, bool at_rcpt)
{
    r.certificate.reset();
    r.rejected_reasons.clear();
    r.lookup_error.clear();
    r.certificate_for.clear();
    const policy::EncryptMode mode = r.plan.treatment.encrypt;
    if (mode == policy::EncryptMode::Never || m_direction != policy::Direction::Outbound)
        return Reply::proceed();
    const auto owner = policy::key_owner(r.plan.treatment, *r.address);
    if (!owner) return reply_for(Failure::Internal, "unusable encrypt_to address");
    r.certificate_for = owner->str();
    bool revocation_unknown = false;
    try {
        // The recipient's own certificate may be its mailbox's, without the address extension;
        // a configured key owner (encrypt_to) is taken as written.
        directory::Choice choice =
            r.plan.treatment.encrypt_to == policy::EncryptTarget::Recipient
                ? m_certificates->find_for_mailbox(*owner, std::time(nullptr), revocation_budget())
                : m_certificates->find(*owner, std::time(nullptr), revocation_budget());
        r.rejected_reasons = std::move(choice.rejected_reasons);
        revocation_unknown = choice.revocation_unknown;
        if (choice.chosen) {
            r.certificate = std::move(choice.chosen);
            if (choice.found_under) {
                r.certificate_for = choice.found_under->str();
                log::info("certificate-found-under", {{"rcpt", r.address->str()},
                                                      {"looked_up", owner->str()},
                                                      {"certificate_for", r.certificate_for},
                                                      {"source", r.certificate->source}});
            }
            return Reply::proceed();
        }
    } catch (const Error& e) {
        if (e.failure() != Failure::DirectoryUnavailable) throw;
        r.lookup_error = e.what();
        if (mode == policy::EncryptMode::Mandatory) return reply_for(Failure::DirectoryUnavailable, e.what());
        log::warning("directory-unavailable", {{"rcpt", r.address->str()}, {"error", e.what()}});
        return Reply::proceed();
    }
    if (mode != policy::EncryptMode::Mandatory) return Reply::proceed();
    const std::string why = r.rejected_reasons.empty() ? "none found" : r.rejected_reasons.front();
    // Hard-fail, and a certificate refused only because no revocation answer came (its
    // responders silent, or the transaction's revocation_time_budget spent): it may be usable
    // at the next attempt, as after a directory outage (PRODUCT §2.4: 451 4.7.1), not a 550
    // that bounces the mail for a slow responder. The reason stays in our log only.
    if (revocation_unknown) {
        if (!at_rcpt)
            log::notice("message-tempfail", {{"rcpt", r.address->str()}, {"rule", r.plan.rule_name},
                                             {"certificate_for", owner->str()}, {"reason", why}});
        return Reply::tempfail("451", "4.7.1",
                               "revocation status of the certificate for " + owner->str() +
                                   " unknown; try again later",
                               why);
    }
    Reply refusal = Reply::reject("550", "5.7.1",
                                  "encryption required for " + r.address->str() +
                                      (at_rcpt ? std::string() : " by " + r.plan.trigger) +
                                      " but no usable certificate for " + owner->str() + " (" + why + ")");
    // Returned to the sender instead (PRODUCT §2.4) — never a message from the null sender (a
    // notice itself: no loop); the configuration refuses "return" without [reinjection].
    if (r.plan.treatment.no_certificate == policy::OnNoCertificate::Return && !m_sender_text.empty() &&
        m_config->reinjection.enabled()) {
        r.returned = refusal.str();
        log::Fields fields = {{"rcpt", r.address->str()}, {"rule", r.plan.rule_name}};
        if (!r.plan.trigger.empty()) fields.emplace_back("trigger", r.plan.trigger);
        fields.emplace_back("certificate_for", owner->str());
        fields.emplace_back("reason", why);
        log::notice("rcpt-returned", fields);
        return Reply::proceed();
    }
    if (!at_rcpt)  // at RCPT, rcpt_to logs the refusal (rcpt-refused) with this reason in it
        log::notice("message-reject", {{"rcpt", r.address->str()}, {"rule", r.plan.rule_name}, {"trigger", r.plan.trigger},
                                       {"certificate_for", owner->str()}, {"reason", why}});
    return refusal;
}

Reply MessageProcessor::check_token(const Recipient& r)
{
    if (r.plan.treatment.sign == policy::SignMode::None) return Reply::proceed();
    try {
        m_keys.ensure_available();
    } catch (const Error& e) {
        if (e.failure() != Failure::HsmUnavailable) throw;
        return reply_for(Failure::HsmUnavailable, e.what());
    }
    return Reply::proceed();
}

Reply MessageProcessor::rcpt_to(std::string_view recipient)
{
    if (!m_have_sender) return reply_for(Failure::Internal, "RCPT before MAIL");
    Recipient r;
    r.text = std::string(strip_angles(recipient));
    r.address = EmailAddress::parse(r.text);
    if (!r.address) r.address = bare_postmaster(r.text, m_config->policy);
    // Whether a refusal is the rules' answer for this recipient (set once it is planned): only
    // that answer may wait for a made copy's marker (may_await_marker). What is refused before
    // (an address not understood or routing through its local part, one of our lists that
    // cannot be expanded now or not alone) no marker overrides.
    bool judged_by_rules = false;
    auto decide = [&]() -> Reply {
        if (!r.address) {
            // An address literal (user@[192.0.2.1]) is valid RFC 5321 syntax, so no "not
            // understood": it is refused for what it is. Rules, [[domain]]s, directories and
            // certificates are for domain names; none can be found for it, and encryption
            // could not be decided.
            if (EmailAddress::names_address_literal(r.text))
                return Reply::reject("550", "5.7.1",
                                     "recipient address literals (user@[IP address]) are not accepted: "
                                     "rules and certificates here are for domain names");
            return Reply::reject("553", "5.1.3", "recipient address not understood");
        }
        // '%', '!' and '@' in a local part route mail on: Postfix (allow_percent_hack,
        // swap_bangpath, on by default) delivers dave%partner.example@HOST and
        // partner.example!dave@HOST to dave@partner.example when HOST is one of its own
        // destinations ($myhostname and localhost by default), which the milter cannot know; it
        // strips HOST from dave@partner.example@HOST the same way, and looks inside quotes to do
        // all of it ("dave@partner.example"@HOST: resolve_dequoted_address, on by default).
        // Planned for HOST, such a recipient would escape the rules for the domain it reaches,
        // encryption included (reproduced through Postfix 3.7): refused outbound.
        if (m_direction == policy::Direction::Outbound &&
            r.address->local_part().find_first_of("%!@") != std::string::npos)
            return Reply::reject("553", "5.1.3",
                                 "recipient address routes through its local part (percent hack, "
                                 "bang path or a second '@'); give the recipient's own address");
        // A list address (PRODUCT §4.3) travels alone: its message is rewritten for the
        // members, which a milter cannot do for some recipients of a message only.
        if (const MailList* list = m_config->mail_list(*r.address)) {
            if (m_list || recipient_count() > 0) return kMixed;
            try {
                m_keys.ensure_available();
            } catch (const Error& e) {
                if (e.failure() != Failure::HsmUnavailable) throw;
                return reply_for(Failure::HsmUnavailable, e.what());
            }
            m_list = list;
            return Reply::proceed();
        }
        if (m_list) return kMixed;
        judged_by_rules = true;
        try {
            r.plan = m_config->policy.plan(m_context, *r.address, m_groups);
        } catch (const Error& e) {
            if (e.failure() != Failure::DirectoryUnavailable) throw;
            return reply_for(e.failure(), e.what());
        }
        if (Reply l = look_up(r, true); l.verdict != Verdict::Continue) return l;
        if (!r.returned.empty()) return Reply::proceed();  // not part of this message
        if (Reply t = check_token(r); t.verdict != Verdict::Continue) return t;
        const Effective e = effective(r);
        if (m_effective && !(*m_effective == e)) {
            // A milter cannot split a message: the recipient leaves in a reinjected copy of
            // its own at end of message, or the client sends it separately (452 4.5.3).
            // Outbound only: inbound copies would need the MX's view of the client.
            if (!m_config->reinjection.enabled() || m_direction != policy::Direction::Outbound) return kMixed;
            r.split_off = true;
            return Reply::proceed();
        }
        if (!m_effective) m_effective = e;
        return Reply::proceed();
    };
    r.reply = decide();
    // A copy the gateway made in full comes back with an envelope nobody judged at RCPT (a
    // list's members planned as the list's mail, made_copies.h): its answer waits for the
    // marker at the end of the header (awaited_refusal), where it is given to the whole
    // message unless the marker is a valid v=3 one.
    if (judged_by_rules && may_await_marker(r)) {
        r.awaits_marker = true;
        log::info("rcpt-awaits-marker", {{"rcpt", r.text}, {"rule", r.plan.rule_name}, {"reply", r.reply.str()}});
        m_recipients.push_back(std::move(r));
        return Reply::proceed();
    }
    // Every recipient refused here gets a log line naming it (the message line at end of DATA
    // only counts those accepted); the MTA's log has the reply, ours what lay behind it.
    if (r.reply.verdict == Verdict::Reject || r.reply.verdict == Verdict::TempFail)
        log::notice("rcpt-refused", {{"rcpt", r.text},
                                     {"direction", policy::direction_name(m_direction)},
                                     {"rule", r.plan.rule_name},
                                     {"reply", r.reply.str()}});
    m_recipients.push_back(std::move(r));
    return m_recipients.back().reply;
}

Reply MessageProcessor::end_of_headers()
{
    if (m_headers_reply) return *m_headers_reply;
    m_headers_reply = Reply::proceed();
    const bool was_outbound = m_direction == policy::Direction::Outbound;
    recognise_reinjected_copy();
    if (Reply refused = awaited_refusal(); refused.verdict != Verdict::Continue) return *m_headers_reply = refused;
    // A message the gateway made in full (a list's copy) is not planned again, unless it is
    // for one of our lists (a member that is a list, alone in its copy): that list expands it.
    if (m_as_made && !m_list) return *m_headers_reply;
    // A list's message is planned by the expansion, under the list address's requirements.
    if (m_list) return *m_headers_reply = plan_list_address();
    // A copy planned at RCPT for the reinjection listener is planned again for the original
    // client (restore_origin), as it is when the marker changed its direction.
    const bool direction_changed =
        was_outbound != (m_direction == policy::Direction::Outbound) || m_origin_restored;
    if ((!m_config->policy.uses_headers() && !direction_changed) || recipient_count() == 0)
        return *m_headers_reply;
    m_context.headers = &m_headers;
    std::optional<Effective> shared;
    const Recipient* first = nullptr;
    for (auto& r : m_recipients) {
        if (!r.accepted()) continue;
        policy::RecipientPlan plan;
        try {
            plan = m_config->policy.plan(m_context, *r.address, m_groups);
        } catch (const Error& e) {
            if (e.failure() != Failure::DirectoryUnavailable) throw;
            return *m_headers_reply = reply_for(e.failure(), e.what());
        }
        const bool changed = direction_changed || !(plan.treatment == r.plan.treatment);
        r.plan = std::move(plan);
        if (changed) {
            log::info("replan", {{"rcpt", r.address->str()}, {"rule", r.plan.rule_name},
                                 {"trigger", r.plan.trigger}});
            if (Reply l = look_up(r, false); l.verdict != Verdict::Continue) return *m_headers_reply = l;
            if (!r.returned.empty()) continue;  // leaves the message: returned to the sender
            if (Reply t = check_token(r); t.verdict != Verdict::Continue) return *m_headers_reply = t;
        }
        const Effective e = effective(r);
        if (shared && !(*shared == e) && m_config->reinjection.enabled() &&
            m_direction == policy::Direction::Outbound) {
            // The header fields split the recipients: this one leaves in its own copy, which
            // the milter plans again with the same fields.
            r.split_off = true;
            continue;
        }
        if (shared && !(*shared == e) && m_direction == policy::Direction::Inbound) {
            log::info("inbound-treatments-combined", {{"rcpt", r.address->str()}, {"rule", r.plan.rule_name},
                                                      {"with", first->plan.rule_name}});
            shared = strictest_inbound(*shared, e);
            continue;
        }
        if (shared && !(*shared == e))
            return *m_headers_reply = Reply::reject(
                       "550", "5.7.1",
                       "the message's header fields give " + first->address->str() + " (rule " +
                           first->plan.rule_name + ") and " + r.address->str() + " (rule " +
                           r.plan.rule_name + ") treatments one message cannot carry; "
                           "send them separately");
        if (!shared) {
            shared = e;
            first = &r;
        }
    }
    m_effective = shared;
    return *m_headers_reply;
}

// Planned like any inbound recipient at the end of the header (the header fields included,
// as end_of_headers plans the others), so that a partner rule's require_signature,
// require_encryption and require_integrity hold whether the recipient is a person or a list;
// at RCPT the list address was only recognised. Outbound the list sends as itself and the
// members are planned by the expansion (mail_list.cpp).
Reply MessageProcessor::plan_list_address()
{
    if (m_direction != policy::Direction::Inbound) return Reply::proceed();
    m_context.headers = &m_headers;
    for (auto& r : m_recipients) {
        if (!r.accepted()) continue;
        try {
            r.plan = m_config->policy.plan(m_context, *r.address, m_groups);
        } catch (const Error& e) {
            if (e.failure() != Failure::DirectoryUnavailable) throw;
            return reply_for(e.failure(), e.what());
        }
    }
    return Reply::proceed();
}

}  // namespace ssm::milter
