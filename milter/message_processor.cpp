// Per-message decisions and the end-of-message pipeline (PRODUCT §1, §2.1, §2.4).
#include "milter/message_processor.h"

#include <algorithm>
#include <ctime>

#include "base/error.h"
#include "base/log.h"

namespace ssm::milter {

namespace {

std::string_view strip_angles(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    return s;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

MessageProcessor::MessageProcessor(std::shared_ptr<const Config> config, KeySource& keys,
                                   ConnectionInfo conn)
    : m_config(std::move(config)), m_keys(keys), m_conn(std::move(conn))
{
}

Reply MessageProcessor::mail_from(std::string_view sender, std::string_view auth_authen)
{
    const auto& m = m_config->milter;
    bool outbound = !auth_authen.empty();
    for (const auto& d : m.originating_daemons)
        if (!m_conn.daemon_name.empty() && d == m_conn.daemon_name) outbound = true;
    if (m_conn.client_address)
        for (const auto& n : m.internal_networks)
            if (n.contains(reinterpret_cast<const sockaddr*>(&*m_conn.client_address))) outbound = true;
    m_direction = outbound ? policy::Direction::Outbound : policy::Direction::Inbound;
    if (m_conn.forced_direction) m_direction = *m_conn.forced_direction;

    const std::string_view addr = strip_angles(sender);
    m_sender = addr.empty() ? std::nullopt : EmailAddress::parse(addr);
    m_have_sender = true;
    m_recipients.clear();
    m_plan.reset();
    m_headers.clear();
    m_header_bytes = 0;
    m_too_large = false;
    m_body = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
    return Reply::proceed();
}

Reply MessageProcessor::rcpt_to(std::string_view recipient)
{
    if (!m_have_sender) return reply_for(Failure::Internal, "RCPT before MAIL");
    auto rcpt = EmailAddress::parse(strip_angles(recipient));
    if (!rcpt) return Reply::reject("553", "5.1.3", "recipient address not understood");
    const policy::RecipientPlan plan = m_config->policy.plan_recipient(m_direction, m_sender, *rcpt);

    if (plan.treatment.encrypt == policy::EncryptMode::Mandatory) {
        // This version has no certificate source yet, so no recipient certificate is ever
        // usable: fail closed rather than deliver in clear (PRODUCT §2.4).
        log::notice("rcpt-reject", {{"rcpt", rcpt->str()}, {"rule", plan.rule_name},
                                    {"reason", "encryption mandatory, no usable certificate"}});
        return Reply::reject("550", "5.7.1",
                             "encryption required for " + rcpt->str() +
                                 " but no usable certificate (rule \"" + plan.rule_name + "\")");
    }
    if (m_plan && !(m_plan->treatment == plan.treatment)) {
        // A milter cannot split a message: the client sends this one separately.
        return Reply::tempfail("452", "4.5.3",
                               "recipient needs a different security treatment; "
                               "send it in a separate transaction");
    }
    if (!m_plan) m_plan = plan;
    m_recipients.push_back(*rcpt);
    return Reply::proceed();
}

Reply MessageProcessor::header(std::string_view name, std::string_view value)
{
    const auto& m = m_config->milter;
    const std::uint64_t field = name.size() + 2 + value.size();
    if (field > m.max_header_field_size)
        return reply_for(Failure::MessageTooLarge, "header field " + std::string(name.substr(0, 64)) +
                                                       " longer than " +
                                                       std::to_string(m.max_header_field_size));
    m_header_bytes += field + 2;
    if (m_header_bytes > m.max_message_size)
        return reply_for(Failure::MessageTooLarge, "header larger than max_message_size");
    m_headers.push_back({std::string(name), std::string(value)});
    return Reply::proceed();
}

Reply MessageProcessor::body(ByteView chunk)
{
    if (!m_body) return reply_for(Failure::Internal, "body before MAIL");
    if (m_header_bytes + m_body->size() + chunk.size() > m_config->milter.max_message_size) {
        m_too_large = true;
        return reply_for(Failure::MessageTooLarge,
                         "larger than " + std::to_string(m_config->milter.max_message_size) + " bytes");
    }
    m_body->write(chunk);
    return Reply::proceed();
}

std::optional<EmailAddress> MessageProcessor::author() const
{
    for (const auto& h : m_headers) {
        if (!iequals(h.name, "From")) continue;
        // The first mailbox of the From field (a list is unusual; the first author signs).
        std::string_view v = h.value;
        if (const auto comma = v.find(','); comma != std::string_view::npos &&
                                            v.find('<') > comma)
            v = v.substr(0, comma);
        if (auto a = EmailAddress::parse(v)) return a;
        return std::nullopt;
    }
    return m_sender;
}

std::shared_ptr<smime::Signer> MessageProcessor::find_signer(policy::SignMode mode,
                                                             const EmailAddress& author,
                                                             std::string& identity)
{
    if (mode == policy::SignMode::Sender) {
        if (auto s = m_keys.signer_for(author)) {
            identity = author.str();
            return s;
        }
    }
    if (auto domain_id = m_config->policy.domain_identity(author)) {
        identity = domain_id->str();
        return m_keys.signer_for(*domain_id);
    }
    identity.clear();
    return nullptr;
}

MessageOutcome MessageProcessor::sign(const policy::Treatment& t)
{
    MessageOutcome out;
    const auto who = author();
    if (!who) {
        out.reply = reply_for(Failure::MalformedMessage, "no From address to choose a signing identity");
        out.action = "reject";
        return out;
    }
    std::string identity;
    auto signer = find_signer(t.sign, *who, identity);
    if (!signer) {
        if (t.sign == policy::SignMode::Sender && identity.empty()) {
            // "sender" means: the sender's key, else the domain's, when there is one.
            out.reply = Reply::accept();
            out.action = "none";
            out.detail = "no signing identity for " + who->str();
            return out;
        }
        out.reply = Reply::tempfail("451", "4.7.0",
                                    "no signing key for " + (identity.empty() ? who->str() : identity) +
                                        " on the token");
        out.action = "tempfail";
        return out;
    }

    const auto& m = m_config->milter;
    smime::SignParameters params;
    params.format = m_config->signing.format;
    params.digest = m_config->signing.digest;
    params.rsa_scheme = m_config->signing.rsa_scheme;
    params.include_chain = m_config->signing.include_chain;
    params.signing_time = std::time(nullptr);
    params.limits.max_header_field = m.max_header_field_size;
    params.limits.max_depth = m.max_mime_depth;

    Spool scratch(m.spool_dir, m.memory_spool_limit);
    auto new_body = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
    auto reader = m_body->reader();
    const smime::SignResult r =
        smime::sign_message(m_headers, *reader, *signer, params, scratch, *new_body);
    out.reply = Reply::accept();
    out.header_edit = r.headers;
    out.new_body = std::move(new_body);
    out.action = "sign";
    out.detail = std::string("identity=") + identity + " format=" +
                 (params.format == smime::SignatureFormat::Detached ? "detached" : "opaque") +
                 " alg=" + std::string(smime::scheme_name(r.scheme)) + "/" +
                 std::string(smime::digest_name(r.digest));
    return out;
}

MessageOutcome MessageProcessor::end_of_message()
{
    MessageOutcome out;
    try {
        if (m_too_large) {
            out.reply = reply_for(Failure::MessageTooLarge, "message too large");
            out.action = "reject";
            return out;
        }
        if (!m_plan || m_plan->treatment.sign == policy::SignMode::None ||
            m_direction != policy::Direction::Outbound) {
            out.reply = Reply::accept();
            out.action = "none";
            out.detail = m_plan ? "rule=" + m_plan->rule_name : "no recipients";
            return out;
        }
        out = sign(m_plan->treatment);
        out.detail += " rule=" + m_plan->rule_name;
        return out;
    } catch (const Error& e) {
        if (e.failure() == Failure::HsmUnavailable) m_keys.token_failed();
        out = MessageOutcome{};
        out.reply = reply_for(e.failure(), e.what());
        out.action = out.reply.verdict == Verdict::Reject ? "reject" : "tempfail";
        out.detail = std::string("failure=") + failure_name(e.failure()) + " error=" + e.what();
        return out;
    } catch (const std::exception& e) {
        out = MessageOutcome{};
        out.reply = reply_for(Failure::Internal, e.what());
        out.action = "tempfail";
        out.detail = std::string("failure=internal error=") + e.what();
        return out;
    }
}

}  // namespace ssm::milter
