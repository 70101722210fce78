// The end-of-message pipeline (PRODUCT §2.1-§2.4, §3): sign, encrypt or check what the plan
// (message_planning.cpp) decided, strip trigger tags. The message is untrusted SMTP input.
#include "milter/message_processor.h"

#include <algorithm>
#include <ctime>

#include "base/ascii.h"
#include "base/error.h"
#include "base/joined.h"
#include "base/log.h"
#include "base/mailbox_list.h"
#include "base/metrics.h"
#include "directory/receipt_store.h"
#include "smime/cms/recipient_key.h"
#include "smime/cms/envelope.h"
#include "smime/cms/oids.h"
#include "smime/cms/receipt.h"
#include "smime/cms/signed_attributes.h"
#include "smime/protect.h"
#include "milter/certificate_clearances.h"
#include "milter/decrypted_mark.h"
#include "milter/inbound.h"
#include "milter/inbound_layers.h"
#include "milter/mail_list.h"
#include "milter/undecryptable.h"
#include "policy/blind_recipients.h"
#include "policy/match.h"

namespace ssm::milter {

Reply MessageProcessor::header(std::string_view name, std::string_view value)
{
    const auto& m = m_config->milter;
    const std::uint64_t field = name.size() + 2 + value.size();
    if (field > m.max_header_field_size)
        return reply_for(Failure::MessageTooLarge, "header field " + std::string(name.substr(0, 64)) +
                                                       " longer than " +
                                                       std::to_string(m.max_header_field_size));
    if (m_headers.size() >= kMaxHeaderFields)
        return reply_for(Failure::MessageTooLarge, "more than " + std::to_string(kMaxHeaderFields) + " header fields");
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
    // Outbound bodies may be encrypted: their line facts now, while the chunk is in cache,
    // spare a second read of a single-part body at the end (a direction that changes later
    // only loses the shortcut).
    // A first chunk starts afresh (the processor may see several messages); protect() uses
    // them only when they cover the whole spool.
    if (m_body->size() == chunk.size()) {
        m_body_facts.reset();
        if (m_direction == policy::Direction::Outbound) m_body_facts.emplace();
    }
    if (m_body_facts) m_body_facts->write(chunk);
    return Reply::proceed();
}

std::unique_ptr<ByteSource> MessageProcessor::body_source() const
{
    if (m_body) return m_body->reader();
    return std::make_unique<MemorySource>(ByteView());
}

std::optional<EmailAddress> MessageProcessor::author() const
{
    const smime::mime::HeaderField* from = smime::mime::find_field(m_headers, "From");
    if (!from) return m_context.from;
    MailboxList authors = parse_mailbox_list(from->value);
    if (authors.addresses.empty()) return std::nullopt;
    // RFC 5322 §3.6.2: with several authors the Sender field names the one who sent it; that
    // author signs. Otherwise the first author does. (A Sender who is no author does not:
    // receivers match the signer against the From field.)
    if (authors.addresses.size() > 1)
        if (const smime::mime::HeaderField* sender = smime::mime::find_field(m_headers, "Sender"))
            if (const auto s = first_mailbox(sender->value))
                for (auto& a : authors.addresses)
                    if (a.same_as(*s)) return std::move(a);
    return std::move(authors.addresses.front());
}

std::shared_ptr<smime::Signer> MessageProcessor::find_signer(const Effective& e,
                                                             const EmailAddress& author,
                                                             std::string& identity)
{
    if (!e.signing_identity.empty()) {
        // The rule names the identity; no fallback (the administrator asked for this key).
        identity = e.signing_identity;
        return m_keys.signer_for(*EmailAddress::parse(e.signing_identity));
    }
    if (e.sign == policy::SignMode::Sender && may_sign_as(author)) {
        if (auto s = m_keys.signer_for(author)) {
            identity = author.str();
            return s;
        }
    }
    // With from_must_match_sender, a sender who is none of the authors (RFC 5322 §3.6.2) gets
    // the signature of the domain it was shown to belong to, not one the authors name.
    const EmailAddress& owner = m_sender_check && m_sender_check->proven ? *m_sender_check->proven : author;
    if (auto domain_id = m_config->policy.domain_identity(owner)) {
        identity = domain_id->str();
        return m_keys.signer_for(*domain_id);
    }
    identity.clear();
    return nullptr;
}

bool MessageProcessor::may_sign_as(const EmailAddress& a) const
{
    if (!m_sender_check) return true;
    return m_sender_check->proven && m_sender_check->proven->same_as(a);
}

bool MessageProcessor::signs_for_a_recipient() const
{
    // A signed receipt is never signed again (protect()).
    if (is_signed_receipt(m_headers)) return false;
    for (const auto& r : m_recipients)
        if ((r.accepted() || r.split_off) && r.plan.treatment.sign != policy::SignMode::None) return true;
    return false;
}

std::optional<std::string> MessageProcessor::stripped_subject() const
{
    const auto* subject = policy::subject_field(m_headers);
    if (!subject) return std::nullopt;
    std::string value = subject->value;
    for (const auto& r : m_recipients)
        if (r.accepted() && !r.plan.strip_tag.empty()) value = policy::strip_tag(value, r.plan.strip_tag);
    if (value == subject->value) return std::nullopt;
    return value;
}

namespace {

bool advertises(const directory::RecipientCertificate& c, std::string_view oid)
{
    if (!c.smime_capabilities_der) return false;
    for (const auto& o : smime::cms::parse_smime_capabilities(*c.smime_capabilities_der))
        if (o == oid) return true;
    return false;
}

constexpr std::string_view kRsaesOaep = "1.2.840.113549.1.1.7";

const char* cipher_name(smime::cms::ContentCipher c)
{
    switch (c) {
    case smime::cms::ContentCipher::Aes128Cbc: return "aes128-cbc";
    case smime::cms::ContentCipher::Aes256Cbc: return "aes256-cbc";
    case smime::cms::ContentCipher::Aes128Gcm: return "aes128-gcm";
    case smime::cms::ContentCipher::Aes256Gcm: return "aes256-gcm";
    case smime::cms::ContentCipher::ChaCha20Poly1305: return "chacha20-poly1305";
    }
    return "?";
}

}  // namespace

policy::AdvertisedCiphers advertised_ciphers(const directory::RecipientCertificate& c)
{
    policy::AdvertisedCiphers a;
    if (!c.smime_capabilities_der) return a;
    a.known = true;
    for (const auto& o : smime::cms::parse_smime_capabilities(*c.smime_capabilities_der)) {
        if (o == smime::cms::oid::kAes256Gcm) a.ciphers.push_back(policy::Cipher::Aes256Gcm);
        if (o == smime::cms::oid::kAes128Gcm) a.ciphers.push_back(policy::Cipher::Aes128Gcm);
        if (o == smime::cms::oid::kAes256Cbc) a.ciphers.push_back(policy::Cipher::Aes256Cbc);
        if (o == smime::cms::oid::kAes128Cbc) a.ciphers.push_back(policy::Cipher::Aes128Cbc);
    }
    return a;
}

smime::EncryptParameters MessageProcessor::encryption_parameters(std::vector<std::string>& owners,
                                                                 policy::CipherReason& reason) const
{
    const auto rid = [this](const policy::Treatment& t) {
        return policy::resolved_identifier(t.recipient_identifier, m_config->encryption.recipient_identifier);
    };
    std::vector<EncryptionTarget> targets;
    owners.clear();
    for (const auto& r : m_recipients) {
        if (!r.accepted() || !r.certificate) continue;
        auto seen = std::find_if(targets.begin(), targets.end(),
                                 [&](const EncryptionTarget& t) { return t.certificate->der == r.certificate->der; });
        if (seen == targets.end()) {
            targets.push_back({&*r.certificate, rid(r.plan.treatment)});
            owners.push_back(r.certificate_for);
        } else if (rid(r.plan.treatment) == policy::RecipientIdentifier::KeyId) {
            // One certificate, rules that disagree (encrypt_to a shared gateway): the key id,
            // which a receiver of either kind reads (RFC 5652 §6.2.1 asks both of receivers),
            // while some read only it.
            seen->identifier = policy::RecipientIdentifier::KeyId;
        }
    }
    return milter::encryption_parameters(*m_config, *m_certificates, targets, m_effective->cipher,
                                         m_effective->minimum_cipher, &reason);
}

smime::EncryptParameters encryption_parameters(const Config& config, const Certificates& certificates,
                                               const std::vector<EncryptionTarget>& targets,
                                               policy::Cipher cipher, policy::CipherFloor minimum,
                                               policy::CipherReason* reason)
{
    const auto& settings = config.encryption;
    const auto key_id = [&settings](policy::RecipientIdentifier r) {
        return policy::resolved_identifier(r, settings.recipient_identifier) == policy::RecipientIdentifier::KeyId;
    };
    std::vector<const directory::RecipientCertificate*> certs;
    for (const auto& t : targets) certs.push_back(t.certificate);
    smime::EncryptParameters p;
    // A cipher every recipient can read (RFC 8551 §2.7.1): what they advertised, else the
    // §2.7.1.2 default; a rule's floor or named cipher overrides.
    std::vector<policy::AdvertisedCiphers> advertised;
    for (const auto* c : certs) advertised.push_back(advertised_ciphers(*c));
    const policy::CipherChoice choice = policy::choose_cipher(cipher, minimum, advertised);
    if (reason) *reason = choice.reason;
    switch (choice.cipher) {
    case policy::Cipher::Aes128Cbc: p.cipher = smime::cms::ContentCipher::Aes128Cbc; break;
    case policy::Cipher::Aes128Gcm: p.cipher = smime::cms::ContentCipher::Aes128Gcm; break;
    case policy::Cipher::Aes256Gcm: p.cipher = smime::cms::ContentCipher::Aes256Gcm; break;
    case policy::Cipher::ChaCha20Poly1305: p.cipher = smime::cms::ContentCipher::ChaCha20Poly1305; break;
    default: p.cipher = smime::cms::ContentCipher::Aes256Cbc; break;
    }
    for (const auto& t : targets) {
        const directory::RecipientCertificate* c = t.certificate;
        smime::cms::RecipientSpec spec;
        spec.certificate_der = c->der;
        spec.use_subject_key_identifier = key_id(t.identifier);
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
    // A recipient whose certificate is the archive's is encrypted to once: a second, identical
    // RecipientInfo would tell every reader that someone holding the archive key got it.
    const auto& archive = certificates.archive_certificate();
    if (archive && std::none_of(certs.begin(), certs.end(), [&](const auto* c) { return c->der == *archive; })) {
        smime::cms::RecipientSpec spec;
        spec.certificate_der = *archive;
        spec.use_subject_key_identifier = key_id(policy::RecipientIdentifier::Default);
        p.recipients.push_back(std::move(spec));
    }
    return p;
}


std::optional<OutboundLabel> MessageProcessor::outbound_label() const
{
    std::vector<Domain> domains;
    for (const auto& r : m_recipients)
        if (r.accepted() && std::find(domains.begin(), domains.end(), r.address->domain()) == domains.end())
            domains.push_back(r.address->domain());
    return milter::outbound_label(m_config->labels, m_headers, m_effective ? m_effective->security_label : "", domains);
}

MessageOutcome MessageProcessor::protect(const std::optional<OutboundLabel>& rule_label)
{
    std::optional<OutboundLabel> label = rule_label;
    MessageOutcome out;
    out.reply = Reply::accept();
    Effective e = *m_effective;
    // A signed receipt (ours through [reinjection], or a user's) is signed already: another
    // signature around it would hide it from the requester's receipt check (RFC 2634 §2.4).
    // It may still be encrypted; a label cannot be added to a signature that exists.
    if (is_signed_receipt(m_headers) && (e.sign != policy::SignMode::None || label)) {
        e.sign = policy::SignMode::None;
        e.signing_identity.clear();
        e.receipt_request = policy::ReceiptRequest::None;
        label.reset();
        out.detail = "signed-receipt=not-signed-again ";
    }
    // [outbound] from_must_match_sender with the null envelope sender: no one was shown to be
    // the author, so no identity its From chooses signs it, the From domain's no more than a
    // person's (a domain signature vouches for the From it carries, and MAIL FROM:<> is open to
    // every submitting user). Only a rule's own signing_identity, chosen by the administrator, does.
    if (m_sender_check && !m_sender_check->proven && e.signing_identity.empty() && e.sign != policy::SignMode::None) {
        e.sign = policy::SignMode::None;
        e.receipt_request = policy::ReceiptRequest::None;
        out.detail += "person_key=null-sender domain_key=null-sender ";
    }
    // A label lives in our signature: mail that would leave unsigned is refused, never sent
    // out without the label its author or the rule gave it (§4.1).
    const auto unlabelled = [&](const std::string& why) -> MessageOutcome {
        out.reply = Reply::reject("550", "5.7.1", "security label cannot be applied: " + why);
        out.action = "reject";
        out.detail = label->describe() + " ";
        return std::move(out);
    };
    const auto& m = m_config->milter;

    std::vector<std::string> certificate_owners;  // of request.encrypt's recipients, in order
    policy::CipherReason cipher_reason = policy::CipherReason::Configured;
    smime::ProtectRequest request;
    request.spool_dir = m.spool_dir;
    request.memory_spool_limit = m.memory_spool_limit;
    request.header_protection = e.header_protection;
    request.obscure_subject = m_config->encryption.obscure_subject && e.header_protection;
    request.sign.format = m_config->signing.format;
    request.sign.digest = m_config->signing.digest;
    request.sign.rsa_scheme = m_config->signing.rsa_scheme;
    request.sign.include_chain = m_config->signing.include_chain;
    request.sign.signing_time = std::time(nullptr);
    request.sign.limits.max_header_field = m.max_header_field_size;
    request.sign.limits.max_depth = m.max_mime_depth;

    if (label) request.sign.extra_signed_attributes = label->attributes();
    if (e.encrypt) {
        // Mail the user already encrypted end to end is left alone (re-encrypting adds
        // nothing) — when its body really is encrypted, not because its label says so.
        if (holds_encryption(m_headers, *m_body, m.spool_dir, m.memory_spool_limit)) {
            if (label) return unlabelled("the message is already encrypted by its author and would not be signed");
            out.action = "none";
            out.detail = "already encrypted by the sender ";
            return out;
        }
        request.encrypt = encryption_parameters(certificate_owners, cipher_reason);
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
        signer = find_signer(e, *who, identity);
        if (!signer && !(e.sign == policy::SignMode::Sender && identity.empty())) {
            out.reply = Reply::tempfail("451", "4.7.0",
                                        "no signing key for " + (identity.empty() ? who->str() : identity) +
                                            " on the token");
            out.action = "tempfail";
            return out;
        }
        // "sender" means: the sender's key, else the domain's, when there is one.
        if (!signer) out.detail = "no signing identity for " + who->str() + " ";
        if (e.sign == policy::SignMode::Sender && e.signing_identity.empty() && !may_sign_as(*who))
            out.detail += "person_key=not-the-sender ";  // (a null sender signs nothing: above)
    }
    if (label && !signer)
        return unlabelled(e.sign == policy::SignMode::None ? std::string("the rule does not sign")
                                                           : "no signing key for the author's address or domain");
    if (!signer && !request.encrypt) {
        out.action = "none";
        return out;
    }
    request.signer = signer.get();
    if (signer)
        if (auto id = EmailAddress::parse(identity))
            if (auto enc = m_keys.encryption_certificate_for(*id); enc && *enc != signer->certificate_der())
                request.sign.encryption_certificate_der = std::move(enc);
    // A receipt request lives in our signature (§4.2, RFC 2634 §2): made here, recorded below
    // once the signature exists, so that a receipt coming back can be matched.
    std::optional<smime::cms::ReceiptRequest> receipt;
    if (signer && e.receipt_request != policy::ReceiptRequest::None) {
        std::vector<std::string> to = e.receipts_to;
        if (to.empty())
            if (const auto who = author()) to.push_back(who->key());
        receipt = make_receipt_request(e.receipt_request == policy::ReceiptRequest::All ? smime::cms::ReceiptsFrom::All
                                                                                       : smime::cms::ReceiptsFrom::FirstTier,
                                       std::move(to));
        request.sign.extra_signed_attributes.emplace_back(smime::cms::oid::kReceiptRequest,
                                                          smime::cms::encode_receipt_request(*receipt));
    }

    // A stripped trigger tag is gone from the protected (inner) copy of the Subject too.
    std::vector<smime::mime::HeaderField> headers = m_headers;
    // Bcc fields a client left in (RFC 5322 §3.6.3, the first way: removed for every
    // recipient, blind copies included) would show the blind recipients inside the protected
    // header and outside it: out of both (the outer ones below).
    const auto blind_fields = std::erase_if(headers, [](const auto& f) { return policy::is_blind_copy_field(f.name); });
    if (const auto subject = stripped_subject())
        for (auto& h : headers)
            if (iequals(h.name, "Subject")) {
                h.value = *subject;
                break;
            }
    if (m_body_facts && m_body_facts->size() == m_body->size()) {
        m_body_facts->finish();
        request.body_facts = &*m_body_facts;
    }
    // A labelled message that is encrypted is triple-wrapped (RFC 2634 §1.1): an outer
    // signature with the same label around the encryption, readable by mail guards and the
    // partner's gateway; the inner signature keeps the label and any receipt request.
    if (label && signer && request.encrypt) {
        smime::SignParameters outer = request.sign;
        outer.extra_signed_attributes = label->attributes();
        outer.protected_fields.clear();
        request.outer_signature = std::move(outer);
    }
    auto new_body = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
    auto reader = m_body->reader();
    const smime::ProtectResult r = smime::protect_message(headers, *reader, request, *new_body);
    out.header_edit = r.headers;
    out.new_body = std::move(new_body);
    if (blind_fields > 0) {
        // The same fields from the outer header: each by its occurrence among fields of its name.
        for (auto& removal : policy::blind_copy_field_removals(m_headers))
            out.header_edit->remove.push_back(std::move(removal));
        out.detail += "removed=bcc ";
    }
    out.action = r.outer_signature ? "sign+encrypt+sign" : signer && r.cipher ? "sign+encrypt" : signer ? "sign" : "encrypt";
    if (r.signature)
        out.detail += "identity=" + identity + " format=" +
                      (request.sign.format == smime::SignatureFormat::Detached ? "detached" : "opaque") +
                      " alg=" + std::string(smime::scheme_name(r.signature->scheme)) + "/" +
                      std::string(smime::digest_name(r.signature->digest)) + " ";
    if (r.cipher)
        out.detail += std::string("cipher=") + cipher_name(*r.cipher) + " cipher_reason=" +
                      policy::cipher_reason_name(cipher_reason) + " recipients=" + std::to_string(r.recipients) +
                      " key_management=" + joined(r.key_management) + " ";
    if (!r.issuer_serial_fallbacks.empty()) {
        // A key id was asked for and the certificate has none: named by issuerAndSerialNumber.
        std::vector<std::string> who;
        for (std::size_t i : r.issuer_serial_fallbacks)
            who.push_back(i < certificate_owners.size() ? certificate_owners[i] : "archive");
        out.detail += log::field("rid_fallback", joined(who)) + " ";
    }
    if (label) out.detail += label->describe() + " ";
    if (receipt && r.signature) {
        record_receipt_request(*receipt, *r.signature);
        out.detail += "receipt_request=" + directory::identifier_hex(receipt->content_identifier) + " ";
    }
    return out;
}

// The record a returning receipt is matched against. Without the store (no usable [directory]
// cache folder) or when it cannot be written, the message is not sent: a request nobody can
// match would make every receipt for it look forged. The MTA retries (451).
void MessageProcessor::record_receipt_request(const smime::cms::ReceiptRequest& request, const smime::SignResult& signature)
{
    directory::HarvestStore* harvest = m_certificates ? m_certificates->harvest() : nullptr;
    if (!harvest) throw Error(Failure::Temporary, "receipt store unavailable ([directory] cache)");
    std::vector<std::string> recipients;
    for (const auto& r : m_recipients)
        if (r.accepted() && r.address) recipients.push_back(r.address->str());
    std::string message_id;
    if (const auto* id = smime::mime::find_field(m_headers, "Message-ID")) {
        const auto first = id->value.find_first_not_of(" \t\r\n");
        const auto last = id->value.find_last_not_of(" \t\r\n");
        if (first != std::string::npos) message_id = id->value.substr(first, last - first + 1);
    }
    directory::ReceiptStore store(harvest->environment());
    store.record_request(receipt_record(request, signature, message_id, m_sender_text, recipients, std::time(nullptr)));
    metrics::count_receipt(metrics::ReceiptEvent::Requested);
}

MessageOutcome MessageProcessor::inbound()
{
    InboundProcessor in(*m_config, *m_certificates, m_keys, m_certificates->harvest());
    in.report_key_match(m_key_matched);
    in.share_revocation_budget(revocation_budget());
    const policy::Treatment t = inbound_treatment(*m_effective);
    std::vector<EmailAddress> rcpts;
    for (const auto& rc : m_recipients)
        if (rc.accepted()) rcpts.push_back(*rc.address);
    InboundOutcome r = in.process(m_headers, *m_body, rcpts, t, t.required_policies);
    MessageOutcome out;
    out.reply = r.reply;
    out.action = r.action;
    out.detail = r.detail;
    if (r.reply.verdict == Verdict::Accept) {
        // Every recipient must be cleared for every verified label (§4.1); SIO-Label fields
        // that came from outside are claims anyone can make and never pass through.
        const auto who = author();
        const LabelVerdict lv = judge_labels_for(*m_config, *m_certificates, m_keys, r.labels, rcpts,
                                                 who ? std::optional<Domain>(who->domain()) : std::nullopt,
                                                 revocation_budget());
        out.detail += lv.detail;
        if (lv.reply.verdict != Verdict::Continue) {
            out.reply = lv.reply;
            out.action = lv.reply.verdict == Verdict::TempFail ? "tempfail" : "reject";
            return out;
        }
        replace_sio_labels(r.headers, m_headers, lv.sio_labels);
        std::vector<AnsweringRecipient> answering;
        for (const auto& rc : m_recipients)
            if (rc.accepted() && rc.plan.treatment.answer_receipts) answering.push_back({*rc.address, &rc.plan.treatment});
        ReceiptAnswers answers =
            answer_receipt_requests(*m_config, m_keys, r.receipts, answering, m_headers, std::time(nullptr));
        out.detail += answers.detail;
        out.receipts = std::move(answers.receipts);
    }
    // Decrypted text is marked, so that no notice returns it to whoever chose the envelope
    // sender (decrypted_mark.h); a mark from outside is removed.
    if (r.reply.verdict == Verdict::Accept)
        mark_decrypted(r.headers, m_headers, r.decrypted ? Delivered::Decrypted : Delivered::AsReceived,
                       m_config->milter.authserv_id, r.unprotected_cipher);
    const bool header_changes = !r.headers.remove.empty() || !r.headers.change.empty() ||
                                !r.headers.add.empty() || !r.headers.prepend.empty();
    if (r.reply.verdict == Verdict::Accept && (header_changes || r.new_body)) {
        out.header_edit = std::move(r.headers);
        out.new_body = std::move(r.new_body);
    }
    return out;
}

namespace {

// The outer Subject change for a stripped tag, unless the edit already rewrites it ("[...]").
void change_subject(MessageOutcome& out, const std::string& subject)
{
    if (!out.header_edit) out.header_edit.emplace();
    for (const auto& c : out.header_edit->change)
        if (iequals(c.name, "Subject")) return;
    out.header_edit->change.push_back({"Subject", 1, subject});
}

}  // namespace

MessageOutcome MessageProcessor::end_of_message()
{
    m_key_matched = false;
    std::optional<Failure> failure;
    MessageOutcome out = outcome_of_message(failure);
    // Once one of our keys was named, whether the content decrypted, and what it held, must
    // not show in the reply (undecryptable.h): one outcome for every failure from here on.
    if (m_key_matched && hides_undecryptable(out, failure)) {
        out = undecryptable_outcome(*m_config, m_headers, std::move(out));
        if (out.reply.verdict == Verdict::Accept) remove_markers(out);
    }
    // Only the gateway says a message could not be decrypted.
    if (out.reply.verdict == Verdict::Accept && out.quarantine.empty() && !out.discard) {
        smime::HeaderEdit forged;
        remove_undecryptable_marks(forged, m_headers);
        if (!forged.remove.empty()) {
            if (!out.header_edit) out.header_edit.emplace();
            out.header_edit->remove.insert(out.header_edit->remove.end(), forged.remove.begin(), forged.remove.end());
        }
    }
    return out;
}

MessageOutcome MessageProcessor::outcome_of_message(std::optional<Failure>& failure)
{
    MessageOutcome out;
    try {
        if (m_too_large) {
            out.reply = reply_for(Failure::MessageTooLarge, "message too large");
            out.action = "reject";
            return out;
        }
        if (Reply h = end_of_headers(); h.verdict != Verdict::Continue) {
            out.refuse_with(h);
            out.detail = "stage=headers";
            return out;
        }
        // A message the gateway made in full and reinjected (a mail list's copy for members
        // whose envelope differs, mail_list.h): delivered as made, its marker removed. Not
        // one for a list of ours (a member that is a list gets its copy alone,
        // list_envelopes.h): as made it would reach the list's address and never its members;
        // that list expands it below like any message to it.
        if (m_as_made && !m_list) {
            // The marker names the body it was made for: one taken from such a copy and put on
            // other content (the envelope alike) is an attempt to pass it by every rule.
            if (auto reader = m_body->reader(); as_made_body_digest(*reader) != m_as_made_body_digest) {
                log::warning("reinjection-marker-body-mismatch", {{"from", m_sender_text}});
                out.refuse_with(reply_for(Failure::PolicyViolation,
                                          "the reinjection marker was made for another body"));
                out.detail = "reinjected=as-made-body-mismatch";
                return out;
            }
            // Delivered once. Remembered only now, as the copy is accepted: a copy refused or
            // deferred before this point (or a session that ended) keeps its marker good for
            // the same copy again. Our accept is not yet the MTA's 250, but no sound retry
            // follows an accept the MTA then fails: the one client that sends these copies
            // (submit_all) never sends a copy twice; its failure defers the original, whose
            // retry makes new copies with new markers (new time and nonce).
            if (m_delivered_markers &&
                !m_delivered_markers->first_acceptance(m_as_made_marker.mac, m_as_made_marker.made,
                                                       m_config->reinjection.marker_lifetime,
                                                       std::time(nullptr))) {
                log::warning("reinjection-marker-replayed", {{"from", m_sender_text}});
                out.refuse_with(reply_for(Failure::PolicyViolation,
                                          "this copy made by the gateway was delivered already"));
                out.detail = "reinjected=as-made-replayed";
                return out;
            }
            out.reply = Reply::accept();
            out.action = "none";
            out.detail = "reinjected=as-made";
            remove_markers(out);
            return out;
        }
        // Blind recipients the shared encryption would show leave before anything is planned
        // on the recipients left (message_blind.cpp).
        if (Reply b = separate_blind_copies(); b.verdict != Verdict::Continue) {
            out.reply = b;
            out.action = "reject";
            out.detail = "reason=blind-copy-without-reinjection";
            return out;
        }
        const Recipient* first = nullptr;
        for (const auto& r : m_recipients)
            if (!first && r.accepted()) first = &r;
        // A notice (null envelope sender: a bounce, a DSN) quoting a message the gateway
        // decrypted would hand its plaintext to whoever sent the ciphertext (decrypted_mark.h):
        // refused whatever the direction, since it is the MTA's own mail either way, and before
        // a list address could carry it on to the members (the ciphertext's sender chose where
        // the notice goes: a list of ours too). The MTA keeps it, as it keeps a bounce that
        // policy cannot encrypt (ssm-milter(8), Bounces).
        if (m_sender_text.empty() && first)
            if (auto reader = m_body->reader(); quotes_decrypted_message(*reader)) {
                log::notice("notice-refused", {{"rcpt", first->text}, {"reason", "quotes decrypted mail"}});
                out.reply = Reply::reject("550", "5.7.1",
                                          "a notice quoting a message this gateway decrypted is not sent: it "
                                          "would return the plain text to whoever chose its envelope sender");
                out.action = "reject";
                out.detail = "reason=notice-quotes-decrypted";
                return out;
            }
        if (m_list && first) {
            // The partner's requirements for the list address (planned in end_of_headers).
            // Outbound the list sends as itself and no requirement applies (effective()).
            policy::Treatment requirements;
            if (m_direction == policy::Direction::Inbound) {
                requirements = inbound_treatment(effective(*first));
                // The members get the content as the list forwards it, the originator's
                // signature inside (RFC 2634 §4.2.3): a rule's stripping is for a person's client.
                requirements.strip_signature = false;
            }
            out = ListExpander(*m_config, *m_certificates, m_keys, revocation_budget())
                      .expand(*m_list, first->text, m_headers, *m_body, requirements,
                              m_direction == policy::Direction::Inbound ? &m_context : nullptr, &m_key_matched);
            if (out.reply.verdict == Verdict::Accept) {
                remove_markers(out);
                // The members in envelopes of their own leave in copies made in full.
                for (auto& copy : out.copies)
                    copy.marker = make_as_made_marker(m_config->reinjection, m_sender_text, copy.recipients,
                                                      std::time(nullptr), copy.made_body_digest);
            }
            return out;
        }
        const std::string rule = first ? "rule=" + first->plan.rule_name +
                                             (first->plan.trigger.empty() ? "" : " trigger=" + first->plan.trigger)
                                       : "no recipients";
        if (m_effective && m_direction == policy::Direction::Inbound) {
            out = inbound();
            out.detail += rule;
            if (out.reply.verdict == Verdict::Accept) remove_markers(out);
            return out;
        }
        // [outbound] from_must_match_sender: nothing is signed for an author the envelope
        // sender was not shown to be (copies split off are signed from the same fields).
        if (m_effective && m_direction == policy::Direction::Outbound && m_config->outbound.from_must_match_sender) {
            m_sender_check = policy::check_sender(m_headers, m_sender_text);
            if (!m_sender_check->matches && signs_for_a_recipient()) {
                out.reply = Reply::reject("550", "5.7.1", m_sender_check->reason);
                out.action = "reject";
                out.detail = "reason=from-mismatch " + rule;
                return out;
            }
        }
        std::optional<OutboundLabel> label;
        if (m_effective && m_direction == policy::Direction::Outbound) label = outbound_label();
        if (!m_effective || m_direction != policy::Direction::Outbound ||
            (m_effective->sign == policy::SignMode::None && !m_effective->encrypt && !label)) {
            out.reply = Reply::accept();
            out.action = "none";
        } else {
            out = protect(label);
        }
        out.detail += rule;
        if (out.reply.verdict == Verdict::Accept) {
            if (const auto subject = stripped_subject()) {
                change_subject(out, *subject);
                out.detail += " stripped=subject-tag";
            }
            out.copies = split_copies();
            if (!out.copies.empty()) out.detail += " split=" + std::to_string(out.copies.size());
            add_returned(out);
            remove_markers(out);
        }
        return out;
    } catch (const Error& e) {
        if (e.failure() == Failure::HsmUnavailable) m_keys.token_failed();
        failure = e.failure();
        out = MessageOutcome{};
        out.refuse_with(reply_for(e.failure(), e.what()));
        out.detail = std::string("failure=") + failure_name(e.failure()) + " " + log::field("error", e.what());
        if (const std::string cause = logged_cause(e); !cause.empty()) out.detail += " " + log::field("cause", cause);
        return out;
    } catch (const std::exception& e) {
        failure = Failure::Internal;
        out = MessageOutcome{};
        out.reply = reply_for(Failure::Internal, e.what());
        out.action = "tempfail";
        out.detail = "failure=internal " + log::field("error", e.what());
        return out;
    }
}

}  // namespace ssm::milter
