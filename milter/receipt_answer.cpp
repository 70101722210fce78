// Receipts the gateway answers itself; see receipt_answer.h. Inputs are a
// peer's signed attributes (decoded by smime/cms/receipt's bounded decoders)
// and header fields; only values that pass plain_printable() reach the receipt's
// header.
#include "milter/receipt_answer.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "base/ascii.h"
#include "base/error.h"
#include "base/joined.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/utc_time.h"
#include "directory/receipt_store.h"
#include "milter/config.h"
#include "smime/cms/ml_expansion.h"
#include "smime/cms/oids.h"
#include "smime/cms/receipt.h"
#include "smime/mime/content_type.h"
#include "smime/mime/encoders.h"

namespace ssm::milter {
namespace {

const Bytes* attribute(const smime::cms::SignerVerification& s, const char* oid)
{
    for (const auto& [o, v] : s.signed_attributes)
        if (o == oid) return &v;
    return nullptr;
}

std::string trimmed(std::string s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

std::string field_value(const std::vector<smime::mime::HeaderField>& headers, const char* name)
{
    const auto* f = smime::mime::find_field(headers, name);
    return f ? trimmed(f->value) : std::string();
}

// An address a receipt may be sent to: the request's rfc822Names are printable
// ASCII, but only a plain addr-spec goes into an SMTP RCPT and a To field.
bool mailable(const std::string& a)
{
    static constexpr std::string_view kAllowed = ".!#$%&'*+/=?^_`{|}~@-";
    return EmailAddress::parse(a).has_value() && std::count(a.begin(), a.end(), '@') == 1 &&
           std::all_of(a.begin(), a.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      kAllowed.find(c) != std::string_view::npos;
           });
}

// The identity answering for `r`: the rule's receipt_identity, else the signing
// identity of the recipient's own domain.
std::optional<EmailAddress> answering_identity(const Config& config, const AnsweringRecipient& r)
{
    if (!r.treatment->receipt_identity.empty()) return EmailAddress::parse(r.treatment->receipt_identity);
    return config.policy.domain_identity(r.address);
}

smime::cms::SignOptions receipt_sign_options(const Config& config, const smime::Signer& signer, std::time_t now)
{
    smime::cms::SignOptions o;
    o.scheme = smime::scheme_for(signer, config.signing.rsa_scheme);
    o.digest = smime::digest_for(signer, o.scheme, config.signing.digest);
    o.include_chain = config.signing.include_chain;
    o.signing_time = now;
    return o;
}

}  // namespace

void collect_receipt_requests(const smime::cms::VerifyResult& v, const std::vector<SmimeAuthResult>& results,
                              InboundReceiptRequests& found)
{
    const bool outermost = !found.outer_layer_seen;
    found.outer_layer_seen = true;
    bool asked = false;
    for (std::size_t i = 0; i < v.signers.size() && i < results.size(); ++i) {
        const bool passed = results[i].result == SmimeResult::Pass;
        // A mail-list agent signs with the list's key around the originator's From, so its
        // signature validates but never passes; its history (and mlReceiptPolicy) counts when
        // it validates, as the mail-list path reads it (mail_list.cpp).
        if (!passed && !results[i].validated) continue;
        const auto& s = v.signers[i];
        try {
            if (const Bytes* ml = attribute(s, smime::cms::oid::kMlExpandHistory); ml && outermost && !found.ml_policy)
                found.ml_policy = smime::cms::decode_ml_expansion_history(*ml).back();  // §2.3: the last MLA decides
            const Bytes* rr = attribute(s, smime::cms::oid::kReceiptRequest);
            if (!rr || asked || !passed) continue;  // only a signer that passed asks for receipts
            ReceiptAsk ask;
            ask.subject.request = smime::cms::decode_receipt_request(*rr);
            ask.subject.content_type = v.econtent_type;
            ask.subject.signature = s.signature;
            ask.subject.signed_attributes_der = s.signed_attributes_der;
            ask.subject.digest = s.digest;
            if (const Bytes* label = attribute(s, smime::cms::oid::kSecurityLabel)) ask.subject.security_label = *label;
            ask.signer = results[i].identifier;
            found.asks.push_back(std::move(ask));
            asked = true;  // RFC 2634 §2.3: all signers of one layer ask alike; one answer
        } catch (const Error& e) {
            if (e.failure() != Failure::MalformedMessage && e.failure() != Failure::MessageTooLarge) throw;
            found.note = "receipt-request=malformed " + log::field("reason", e.what());
        }
    }
}

Bytes receipt_message(const std::string& identity, const std::vector<std::string>& to, ByteView der,
                      const std::string& original_message_id, const std::string& original_subject,
                      const std::string& marker, std::time_t now)
{
    std::string h;
    const auto field = [&h](const std::string& name, const std::string& value) { h += name + ": " + value + "\r\n"; };
    if (!marker.empty()) field(std::string(kReinjectionHeader), marker);
    field("From", identity);
    std::string to_field;
    for (const auto& a : to) to_field += (to_field.empty() ? "" : ", ") + a;
    field("To", to_field);
    field("Subject", plain_printable(original_subject, 200) ? "Signed receipt: " + original_subject : "Signed receipt");
    field("Date", utc_time(now, "%a, %d %b %Y %H:%M:%S +0000"));  // RFC 5322 §3.3
    const Bytes nonce = smime::cms::new_content_identifier();
    const auto at = identity.rfind('@');
    field("Message-ID", "<receipt." + to_hex(ByteView(nonce).first(16)) + "@" + identity.substr(at + 1) + ">");
    // Only a well-formed msg-id ("<...>", one token) is repeated: it is the
    // peer's text.
    if (plain_printable(original_message_id, 250) && original_message_id.front() == '<' && original_message_id.back() == '>' &&
        original_message_id.find(' ') == std::string::npos) {
        field("In-Reply-To", original_message_id);
        field("References", original_message_id);
    }
    field("Auto-Submitted", "auto-replied");  // RFC 3834: an automatic answer
    field("MIME-Version", "1.0");
    field("Content-Type", "application/pkcs7-mime; smime-type=signed-receipt; name=smime.p7m");
    field("Content-Transfer-Encoding", "base64");
    field("Content-Disposition", "attachment; filename=smime.p7m");
    h += "\r\n";
    MemorySink out;
    out.write(ByteView(reinterpret_cast<const std::uint8_t*>(h.data()), h.size()));
    {
        smime::mime::Base64Encoder b64(out);
        b64.write(der);
        b64.finish();
    }
    return out.data();
}

namespace {

ReceiptAnswers answer(const Config& config, KeySource& keys, const InboundReceiptRequests& found,
                      const std::vector<AnsweringRecipient>& recipients,
                      const std::vector<smime::mime::HeaderField>& headers, std::time_t now)
{
    ReceiptAnswers out;
    if (!found.note.empty()) out.detail += found.note + " ";
    if (found.asks.empty() || recipients.empty()) return out;
    const ReceiptAsk& ask = found.asks.back();  // RFC 2634 §2.3: the innermost signature's request
    const std::string id = directory::identifier_hex(ask.subject.request.content_identifier);
    const auto not_sent = [&](const std::string& why) {
        metrics::count_receipt(metrics::ReceiptEvent::AnswerNotSent);
        out.detail += "receipt-not-sent=" + id + " " + log::field("reason", why) + " ";
    };
    if (found.is_receipt) {
        not_sent("the message is a signed receipt");
        return out;
    }
    // One receipt per answering identity, covering the recipients it answers for.
    std::map<std::string, std::vector<std::string>> by_identity;
    for (const auto& r : recipients) {
        const auto identity = answering_identity(config, r);
        if (!identity) {
            not_sent("no answering identity for " + r.address.str());
            continue;
        }
        by_identity[identity->key()].push_back(r.address.key());
    }
    for (auto& [identity, names] : by_identity) {
        try {
            names.push_back(identity);
            const smime::cms::ReceiptDuty duty = smime::cms::receipt_duty(ask.subject.request, found.ml_policy, names);
            if (!duty.answer) {
                not_sent(duty.reason);
                continue;
            }
            std::vector<std::string> to;
            for (const auto& a : duty.to)
                if (mailable(a)) to.push_back(a);
            if (to.empty()) {
                not_sent("no plain mail address among the receipt's addresses");
                continue;
            }
            if (!config.reinjection.enabled()) {
                not_sent("[reinjection] not configured");
                continue;
            }
            const auto address = EmailAddress::parse(identity);
            std::shared_ptr<smime::Signer> signer = address ? keys.signer_for(*address) : nullptr;
            if (!signer) {
                not_sent("no key for " + identity + " on the token");
                continue;
            }
            const smime::cms::SignedReceipt sr =
                smime::cms::sign_receipt(*signer, ask.subject, receipt_sign_options(config, *signer, now));
            GeneratedReceipt g;
            g.identifier_hex = id;
            g.identity = identity;
            g.to = std::move(to);
            g.message = receipt_message(identity, g.to, sr.der, field_value(headers, "Message-ID"),
                                        field_value(headers, "Subject"),
                                        make_reinjection_marker(config.reinjection, "", g.to, now), now);
            out.detail += "receipt-answer=" + id + " " + log::field("to", joined(g.to)) + " ";
            out.receipts.push_back(std::move(g));
        } catch (const Error& e) {
            if (e.failure() == Failure::HsmUnavailable) keys.token_failed();
            not_sent(e.what());
        } catch (const std::exception& e) {
            not_sent(e.what());
        }
    }
    return out;
}

}  // namespace

ReceiptAnswers answer_receipt_requests(const Config& config, KeySource& keys, const InboundReceiptRequests& found,
                                       const std::vector<AnsweringRecipient>& recipients,
                                       const std::vector<smime::mime::HeaderField>& headers, std::time_t now) noexcept
{
    try {
        return answer(config, keys, found, recipients, headers, now);
    } catch (...) {  // out of memory: no receipt, and the message goes on as it would
        return {};
    }
}

std::vector<std::string> receipt_answer_warnings(const Config& config)
{
    std::vector<std::string> w;
    if (config.reinjection.enabled()) return w;
    for (const auto& rule : config.policy.rules())
        if (rule.answer_receipts)
            w.push_back("rule '" + rule.name + "' has answer_receipts but [reinjection] is not configured: " +
                        "its receipts cannot be sent (logged as receipt-not-sent)");
    if (config.policy.defaults().answer_receipts)
        w.push_back("[policy] answer_receipts is set but [reinjection] is not configured: "
                    "receipts cannot be sent (logged as receipt-not-sent)");
    return w;
}

bool is_signed_receipt(const std::vector<smime::mime::HeaderField>& headers)
{
    const auto* ct = smime::mime::find_field(headers, "Content-Type");
    const auto parsed = ct ? smime::mime::parse_content_type(ct->value) : std::nullopt;
    return parsed && parsed->type == "application" &&
           (parsed->subtype == "pkcs7-mime" || parsed->subtype == "x-pkcs7-mime") &&
           iequals(parsed->param("smime-type").value_or(""), "signed-receipt");
}

void send_receipts(const ReinjectionSettings& settings, const std::vector<GeneratedReceipt>& receipts,
                   const std::string& queue_id) noexcept
{
    for (const auto& r : receipts) {
        try {
            MemorySource source(r.message);
            submit_copy(settings, "", r.to, source);
            log::info("receipt-sent", {{"queue_id", queue_id},
                                       {"receipt", r.identifier_hex},
                                       {"identity", r.identity},
                                       {"to", joined(r.to)}});
            metrics::count_receipt(metrics::ReceiptEvent::AnswerSent);
        } catch (const std::exception& e) {
            metrics::count_receipt(metrics::ReceiptEvent::AnswerNotSent);
            try {
                log::warning("receipt-not-sent", {{"queue_id", queue_id},
                                                  {"receipt", r.identifier_hex},
                                                  {"to", joined(r.to)},
                                                  {"reason", e.what()}});
            } catch (...) {  // out of memory while logging: the message itself is
                             // unaffected
            }
        }
    }
}

}  // namespace ssm::milter
