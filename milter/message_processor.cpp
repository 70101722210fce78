// Per-message decisions and the end-of-message pipeline (PRODUCT §1, §2.1, §2.4).
#include "milter/message_processor.h"

#include <algorithm>
#include <ctime>

#include "base/error.h"
#include "base/log.h"
#include "smime/cms/envelope.h"
#include "smime/cms/signed_attributes.h"
#include "smime/protect.h"
#include "milter/inbound.h"

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

MessageProcessor::MessageProcessor(std::shared_ptr<const Config> config,
                                   std::shared_ptr<const Certificates> certificates,
                                   KeySource& keys, ConnectionInfo conn)
    : m_config(std::move(config)),
      m_certificates(std::move(certificates)),
      m_keys(keys),
      m_conn(std::move(conn))
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
    m_effective.reset();
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
    if (m_direction == policy::Direction::Inbound) {
        // Inbound recipients share a message when the partner requirements agree.
        const Effective effective{policy::SignMode::None, false, plan.treatment.require_signature,
                                  plan.treatment.require_encryption, plan.treatment.on_missing};
        if (m_effective && !(*m_effective == effective))
            return Reply::tempfail("452", "4.5.3",
                                   "recipient needs a different security treatment; "
                                   "send it in a separate transaction");
        if (!m_effective) m_effective = effective;
        m_recipients.push_back({*rcpt, plan, std::nullopt});
        return Reply::proceed();
    }

    Recipient accepted{*rcpt, plan, std::nullopt};
    const policy::EncryptMode mode = plan.treatment.encrypt;
    if (mode != policy::EncryptMode::Never && m_direction == policy::Direction::Outbound) {
        // Gateway-to-desktop: the recipient's own certificate; gateway-to-gateway: the
        // recipient domain's (RFC 3183).
        const EmailAddress key_owner =
            plan.treatment.encrypt_to == policy::EncryptTarget::Domain
                ? *EmailAddress::parse("domain-confidentiality-authority@" + rcpt->domain().str())
                : *rcpt;
        try {
            directory::Choice choice = m_certificates->find(key_owner, std::time(nullptr));
            if (choice.chosen) {
                accepted.certificate = std::move(choice.chosen);
            } else if (mode == policy::EncryptMode::Mandatory) {
                std::string why = choice.rejected_reasons.empty() ? "none found"
                                                                  : choice.rejected_reasons.front();
                log::notice("rcpt-reject", {{"rcpt", rcpt->str()}, {"rule", plan.rule_name},
                                            {"certificate_for", key_owner.str()},
                                            {"reason", why}});
                return Reply::reject("550", "5.7.1",
                                     "encryption required for " + rcpt->str() +
                                         " but no usable certificate for " + key_owner.str() +
                                         " (" + why + ")");
            }
        } catch (const Error& e) {
            if (e.failure() != Failure::DirectoryUnavailable) throw;
            if (mode == policy::EncryptMode::Mandatory)
                return reply_for(Failure::DirectoryUnavailable, e.what());
            log::warning("directory-unavailable", {{"rcpt", rcpt->str()}, {"error", e.what()}});
        }
    }

    const Effective effective{plan.treatment.sign, accepted.certificate.has_value(), false, false,
                              policy::OnMissing::Reject};
    if (effective.sign != policy::SignMode::None && m_direction == policy::Direction::Outbound) {
        try {
            m_keys.ensure_available();
        } catch (const Error& e) {
            if (e.failure() != Failure::HsmUnavailable) throw;
            return reply_for(Failure::HsmUnavailable, e.what());
        }
    }
    if (m_effective && !(*m_effective == effective)) {
        // A milter cannot split a message: the client sends this one separately.
        return Reply::tempfail("452", "4.5.3",
                               "recipient needs a different security treatment; "
                               "send it in a separate transaction");
    }
    if (!m_effective) m_effective = effective;
    m_recipients.push_back(std::move(accepted));
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

namespace {

// Mail the user already encrypted end to end is left alone (re-encrypting adds nothing).
bool already_encrypted(const std::vector<smime::mime::HeaderField>& headers)
{
    const auto* ct = smime::mime::find_field(headers, "Content-Type");
    if (!ct) return false;
    const auto parsed = smime::mime::parse_content_type(ct->value);
    if (!parsed || parsed->type != "application" ||
        (parsed->subtype != "pkcs7-mime" && parsed->subtype != "x-pkcs7-mime"))
        return false;
    const std::string type = parsed->param("smime-type").value_or("");
    return type.empty() || iequals(type, "enveloped-data") || iequals(type, "authEnveloped-data");
}

bool advertises(const directory::RecipientCertificate& c, std::string_view oid)
{
    if (!c.smime_capabilities_der) return false;
    for (const auto& o : smime::cms::parse_smime_capabilities(*c.smime_capabilities_der))
        if (o == oid) return true;
    return false;
}

constexpr std::string_view kAes256Gcm = "2.16.840.1.101.3.4.1.46";
constexpr std::string_view kAes128Gcm = "2.16.840.1.101.3.4.1.6";
constexpr std::string_view kRsaesOaep = "1.2.840.113549.1.1.7";

const char* cipher_name(smime::cms::ContentCipher c)
{
    switch (c) {
    case smime::cms::ContentCipher::Aes128Cbc: return "aes128-cbc";
    case smime::cms::ContentCipher::Aes256Cbc: return "aes256-cbc";
    case smime::cms::ContentCipher::Aes128Gcm: return "aes128-gcm";
    case smime::cms::ContentCipher::Aes256Gcm: return "aes256-gcm";
    }
    return "?";
}

}  // namespace

smime::EncryptParameters MessageProcessor::encryption_parameters() const
{
    const auto& settings = m_config->encryption;
    smime::EncryptParameters p;
    std::vector<const directory::RecipientCertificate*> certs;
    for (const auto& r : m_recipients) {
        if (!r.certificate) continue;
        bool seen = false;
        for (const auto* c : certs) seen = seen || c->der == r.certificate->der;
        if (!seen) certs.push_back(&*r.certificate);
    }
    // GCM only when every recipient has said it can read it (RFC 8551 §2.7).
    bool all_gcm = !certs.empty();
    for (const auto* c : certs)
        all_gcm = all_gcm && (advertises(*c, kAes256Gcm) || advertises(*c, kAes128Gcm));
    switch (settings.cipher) {
    case CipherChoice::Auto:
        p.cipher = all_gcm ? smime::cms::ContentCipher::Aes256Gcm : smime::cms::ContentCipher::Aes256Cbc;
        break;
    case CipherChoice::Aes256Gcm: p.cipher = smime::cms::ContentCipher::Aes256Gcm; break;
    case CipherChoice::Aes128Gcm: p.cipher = smime::cms::ContentCipher::Aes128Gcm; break;
    case CipherChoice::Aes256Cbc: p.cipher = smime::cms::ContentCipher::Aes256Cbc; break;
    case CipherChoice::Aes128Cbc: p.cipher = smime::cms::ContentCipher::Aes128Cbc; break;
    }
    for (const auto* c : certs) {
        smime::cms::RecipientSpec spec;
        spec.certificate_der = c->der;
        switch (settings.key_transport) {
        case KeyTransportChoice::Auto:
            spec.rsa = advertises(*c, kRsaesOaep) ? smime::cms::RsaKeyTransport::OaepSha256
                                                  : smime::cms::RsaKeyTransport::Pkcs1v15;
            break;
        case KeyTransportChoice::Pkcs1v15: spec.rsa = smime::cms::RsaKeyTransport::Pkcs1v15; break;
        case KeyTransportChoice::Oaep: spec.rsa = smime::cms::RsaKeyTransport::OaepSha256; break;
        }
        p.recipients.push_back(std::move(spec));
    }
    if (const auto& archive = m_certificates->archive_certificate()) {
        smime::cms::RecipientSpec spec;
        spec.certificate_der = *archive;
        p.recipients.push_back(std::move(spec));
    }
    return p;
}

MessageOutcome MessageProcessor::protect()
{
    MessageOutcome out;
    const Effective e = *m_effective;
    const auto& m = m_config->milter;

    smime::ProtectRequest request;
    request.spool_dir = m.spool_dir;
    request.memory_spool_limit = m.memory_spool_limit;
    request.header_protection = m_config->encryption.header_protection;
    request.obscure_subject = m_config->encryption.obscure_subject;
    request.sign.format = m_config->signing.format;
    request.sign.digest = m_config->signing.digest;
    request.sign.rsa_scheme = m_config->signing.rsa_scheme;
    request.sign.include_chain = m_config->signing.include_chain;
    request.sign.signing_time = std::time(nullptr);
    request.sign.limits.max_header_field = m.max_header_field_size;
    request.sign.limits.max_depth = m.max_mime_depth;

    if (e.encrypt) {
        if (already_encrypted(m_headers)) {
            out.reply = Reply::accept();
            out.action = "none";
            out.detail = "already encrypted by the sender";
            return out;
        }
        request.encrypt = encryption_parameters();
    }

    std::string identity;
    std::shared_ptr<smime::Signer> signer;
    if (e.sign != policy::SignMode::None) {
        const auto who = author();
        if (!who) {
            out.reply = reply_for(Failure::MalformedMessage, "no From address to choose a signing identity");
            out.action = "reject";
            return out;
        }
        signer = find_signer(e.sign, *who, identity);
        if (!signer && !(e.sign == policy::SignMode::Sender && identity.empty())) {
            out.reply = Reply::tempfail("451", "4.7.0",
                                        "no signing key for " + (identity.empty() ? who->str() : identity) +
                                            " on the token");
            out.action = "tempfail";
            return out;
        }
        // "sender" means: the sender's key, else the domain's, when there is one.
        if (!signer) out.detail = "no signing identity for " + who->str() + " ";
    }
    if (!signer && !request.encrypt) {
        out.reply = Reply::accept();
        out.action = "none";
        return out;
    }
    request.signer = signer.get();

    auto new_body = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
    auto reader = m_body->reader();
    const smime::ProtectResult r = smime::protect_message(m_headers, *reader, request, *new_body);
    out.reply = Reply::accept();
    out.header_edit = r.headers;
    out.new_body = std::move(new_body);
    out.action = signer && r.cipher ? "sign+encrypt" : signer ? "sign" : "encrypt";
    if (r.signature)
        out.detail += "identity=" + identity + " format=" +
                      (request.sign.format == smime::SignatureFormat::Detached ? "detached" : "opaque") +
                      " alg=" + std::string(smime::scheme_name(r.signature->scheme)) + "/" +
                      std::string(smime::digest_name(r.signature->digest)) + " ";
    if (r.cipher)
        out.detail += std::string("cipher=") + cipher_name(*r.cipher) +
                      " recipients=" + std::to_string(r.recipients) + " ";
    return out;
}

MessageOutcome MessageProcessor::inbound()
{
    InboundProcessor in(*m_config, *m_certificates, m_keys, m_certificates->harvest());
    policy::Treatment t;
    t.require_signature = m_effective->require_signature;
    t.require_encryption = m_effective->require_encryption;
    t.on_missing = m_effective->on_missing;
    InboundOutcome r = in.process(m_headers, *m_body, t, m_recipients.front().plan.required_policies);
    MessageOutcome out;
    out.reply = r.reply;
    out.action = r.action;
    out.detail = r.detail;
    const bool header_changes = !r.headers.remove.empty() || !r.headers.change.empty() ||
                                !r.headers.add.empty() || !r.headers.prepend.empty();
    if (r.reply.verdict == Verdict::Accept && (header_changes || r.new_body)) {
        out.header_edit = std::move(r.headers);
        out.new_body = std::move(r.new_body);
    }
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
        if (m_effective && m_direction == policy::Direction::Inbound) {
            out = inbound();
            out.detail += "rule=" + m_recipients.front().plan.rule_name;
            return out;
        }
        if (!m_effective || m_direction != policy::Direction::Outbound ||
            (m_effective->sign == policy::SignMode::None && !m_effective->encrypt)) {
            out.reply = Reply::accept();
            out.action = "none";
            out.detail = m_recipients.empty() ? "no recipients"
                                              : "rule=" + m_recipients.front().plan.rule_name;
            return out;
        }
        out = protect();
        out.detail += "rule=" + m_recipients.front().plan.rule_name;
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
