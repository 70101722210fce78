// Security labels in the pipeline; see security_labels.h. Outbound the author's SIO-Label
// field is parsed strictly (smime/mime/sio_label); inbound only labels from signatures that
// passed grant anything (mapping, display), and what the gateway shows is made from them,
// never copied from a field; an unverified one the caller hands in only restricts.
#include "milter/security_labels.h"

#include <algorithm>

#include "base/ascii.h"
#include "base/error.h"
#include "smime/cms/oids.h"
#include "smime/mime/sio_label.h"

namespace ssm::milter {

namespace {

using smime::cms::SecurityLabel;

[[noreturn]] void refuse(const std::string& why)
{
    throw Error(Failure::PolicyViolation, why);
}

// Untrusted text quoted in a reply or log: printable ASCII only, bounded. (Not named quoted:
// with <iomanip> included, argument-dependent lookup prefers std::quoted for a std::string.)
std::string printable_quoted(std::string_view s)
{
    std::string out = with_unprintable_replaced(s.substr(0, 64));
    std::replace(out.begin(), out.end(), '"', '?');  // a quote would end the quoted text early
    return "\"" + out + "\"";
}

// A configured name as one log token (the log line is key=value, space separated).
std::string token(std::string_view s)
{
    std::string out;
    for (const char c : s.substr(0, 64)) out += (c > 0x20 && c < 0x7f && c != '"') ? c : '_';
    return out;
}

// "label_policy=OID label_class=N label_categories=N" (absent parts left out).
std::string log_fields(const SecurityLabel& l)
{
    std::string s = "label_policy=" + l.policy_id;
    if (l.classification) s += " label_class=" + std::to_string(*l.classification);
    if (!l.categories.empty()) s += " label_categories=" + std::to_string(l.categories.size());
    return s;
}

}  // namespace

std::vector<std::pair<std::string, Bytes>> OutboundLabel::attributes() const
{
    std::vector<std::pair<std::string, Bytes>> out;
    out.emplace_back(smime::cms::oid::kSecurityLabel, smime::cms::encode_security_label(label));
    if (!equivalents.empty())
        out.emplace_back(smime::cms::oid::kEquivalentLabels, smime::cms::encode_equivalent_labels(equivalents));
    return out;
}

std::string OutboundLabel::describe() const
{
    std::string s = log_fields(label) + " label_source=" + source;
    if (!name.empty()) s += " label_name=" + token(name);
    if (!equivalents.empty()) s += " equivalent_labels=" + std::to_string(equivalents.size());
    return s;
}

std::optional<OutboundLabel> outbound_label(const policy::LabelPolicy& labels,
                                            const std::vector<smime::mime::HeaderField>& headers,
                                            const std::string& rule_label,
                                            const std::vector<Domain>& recipient_domains)
{
    const smime::mime::HeaderField* field = nullptr;
    for (const auto& h : headers) {
        if (!iequals(h.name, kSioLabelField)) continue;
        // RFC 7444 allows one label per message; two would leave the choice to us.
        if (field) refuse("security label refused: more than one SIO-Label field");
        field = &h;
    }
    OutboundLabel out;
    const policy::NamedLabel* named = nullptr;
    if (field) {
        smime::mime::SioLabel sio;
        try {
            sio = smime::mime::parse_sio_label(field->value);
        } catch (const Error& e) {
            refuse(std::string("security label refused: malformed ") + e.what());
        }
        out.source = "header";
        if (sio.type && *sio.type != smime::mime::SioLabelType::Ess)
            refuse("security label refused: SIO-Label type " + std::string(smime::mime::sio_label_type_name(*sio.type)) +
                   " cannot be signed (only :ess labels can)");
        if (sio.ess) {
            out.label = *sio.ess;
            named = labels.by_label(out.label);
        } else {
            named = labels.by_marking(*sio.marking);
            if (!named) refuse("security label refused: unknown SIO-Label marking " + printable_quoted(*sio.marking));
            out.label = named->label;
        }
    } else if (!rule_label.empty()) {
        named = labels.by_name(rule_label);
        if (!named) refuse("security label refused: no [[security_label]] named " + printable_quoted(rule_label));
        out.source = "rule";
        out.label = named->label;
    } else {
        return std::nullopt;
    }
    if (named) {
        out.name = named->name;
        out.equivalents = labels.equivalents_for(*named, recipient_domains);
    }
    return out;
}

void collect_label(const smime::cms::SignerVerification& signer, const std::string& identity,
                   std::vector<SignedLabel>& out, bool verified)
{
    SignedLabel s;
    s.signer = identity;
    s.verified = verified;
    try {
        s.attributes = smime::cms::find_label_attributes(signer.signed_attributes);
    } catch (const Error& e) {
        s.error = e.what();
    }
    if (!s.error.empty() || s.attributes.security_label || s.attributes.equivalent_labels) out.push_back(std::move(s));
}

LabelVerdict judge_labels(const policy::LabelPolicy& labels, const std::vector<SignedLabel>& found,
                          const std::vector<EmailAddress>& recipients,
                          const std::optional<Domain>& author_domain,
                          const policy::ClearanceDirectory* directory)
{
    LabelVerdict v;
    std::vector<SecurityLabel> shown;
    for (const auto& s : found) {
        if (!s.error.empty()) {
            v.reply = Reply::reject("550", "5.7.1", "security label of " + s.signer + " cannot be read: " + s.error);
            v.detail = "label=unreadable ";
            return v;
        }
        // equivalentLabels alone (RFC 2634 §5.4 ties them to a securityLabel) labels nothing
        // we could check: refused rather than read as unlabelled.
        if (!s.attributes.security_label) {
            v.reply = Reply::reject("550", "5.7.1", "signature of " + s.signer + " has equivalentLabels without a securityLabel");
            v.detail = "label=equivalent-only ";
            return v;
        }
        const SecurityLabel& received = *s.attributes.security_label;
        const std::vector<SecurityLabel> equivalents =
            s.verified ? s.attributes.equivalent_labels.value_or(std::vector<SecurityLabel>{}) : std::vector<SecurityLabel>{};
        const policy::MappedLabel m = labels.map(received, equivalents, author_domain);
        v.detail += log_fields(received) + " label_via=" +
                    (m.known ? m.via : "unknown") + (s.verified ? "" : " label_signature=unverified") + " ";
        if (!m.known) {
            if (labels.unknown_policy() == policy::UnknownLabelPolicy::Reject) {
                v.reply = Reply::reject("550", "5.7.1", "security label of policy " + received.policy_id +
                                                            " is not known here and maps onto no label of ours");
                return v;
            }
        } else {
            for (const auto& rcpt : recipients) {
                std::optional<std::string> why;
                try {
                    why = labels.clearance_problem(rcpt, m.label, directory);
                } catch (const Error& e) {
                    if (e.failure() != Failure::DirectoryUnavailable) throw;
                    v.reply = Reply::tempfail("451", "4.7.1", "clearance of recipient " + rcpt.str() +
                                                                  " cannot be looked up: directory unavailable");
                    v.detail += "clearance=directory-unavailable ";
                    return v;
                }
                if (why) {
                    v.reply = Reply::reject("550", "5.7.1", "recipient " + rcpt.str() + " is not cleared for the message's security label: " + *why);
                    v.detail += "uncleared=" + rcpt.str() + " ";
                    return v;
                }
            }
        }
        if (!s.verified || std::find(shown.begin(), shown.end(), m.label) != shown.end()) continue;
        shown.push_back(m.label);
        std::optional<std::string> marking;
        if (std::string mk = m.known ? labels.marking_for(m.label) : std::string(); !mk.empty()) marking = mk;
        try {
            v.sio_labels.push_back(smime::mime::format_sio_label(smime::mime::sio_label_for(m.label, marking)));
        } catch (const Error&) {
            // A marking SIO-Label cannot carry (over its bound): the label alone still shows.
            v.sio_labels.push_back(smime::mime::format_sio_label(smime::mime::sio_label_for(m.label)));
        }
    }
    return v;
}

void replace_sio_labels(smime::HeaderEdit& edit, const std::vector<smime::mime::HeaderField>& received,
                        const std::vector<std::string>& ours)
{
    // Indexes among the received fields, as HeaderEdit counts them.
    int index = 0;
    for (const auto& h : received)
        if (iequals(h.name, kSioLabelField)) edit.remove.push_back({h.name, ++index});
    std::erase_if(edit.add, [](const smime::mime::HeaderField& f) { return iequals(f.name, kSioLabelField); });
    std::erase_if(edit.change, [](const smime::HeaderEdit::Change& c) { return iequals(c.name, kSioLabelField); });
    for (const auto& v : ours) edit.add.push_back({std::string(kSioLabelField), v});
}

}  // namespace ssm::milter
