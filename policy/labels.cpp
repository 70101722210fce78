// Label mapping and clearance decisions; see labels.h. Pure functions over the configured
// tables: every answer that is not an explicit grant is a refusal (fail closed).
#include "policy/labels.h"

#include <algorithm>

namespace ssm::policy {

namespace {

int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool domain_listed(const std::vector<Domain>& list, const Domain& d)
{
    return std::any_of(list.begin(), list.end(), [&](const Domain& x) { return x == d; });
}

}  // namespace

std::string category_text(const smime::cms::SecurityCategory& c)
{
    return c.type + ":" + to_hex(c.value);
}

std::optional<smime::cms::SecurityCategory> parse_category_text(std::string_view text)
{
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    smime::cms::SecurityCategory c;
    c.type = std::string(text.substr(0, colon));
    if (!smime::cms::valid_oid_text(c.type)) return std::nullopt;
    const std::string_view hex = text.substr(colon + 1);
    if (hex.empty() || hex.size() % 2 != 0 || hex.size() > 2 * smime::cms::kMaxCategoryValue) return std::nullopt;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        c.value.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    return c;
}

std::string describe_label(const SecurityLabel& l)
{
    std::string out = "policy=" + l.policy_id;
    if (l.classification) out += " class=" + std::to_string(*l.classification);
    if (!l.categories.empty()) out += " categories=" + std::to_string(l.categories.size());
    return out;
}

LabelPolicy::LabelPolicy(std::vector<NamedLabel> labels, std::vector<Clearance> clearances,
                         std::vector<LabelEquivalence> equivalences, UnknownLabelPolicy unknown)
    : m_labels(std::move(labels)),
      m_clearances(std::move(clearances)),
      m_equivalences(std::move(equivalences)),
      m_unknown(unknown)
{
}

const NamedLabel* LabelPolicy::by_name(std::string_view name) const
{
    for (const auto& l : m_labels)
        if (l.name == name) return &l;
    return nullptr;
}

const NamedLabel* LabelPolicy::by_marking(std::string_view marking) const
{
    for (const auto& l : m_labels)
        if (l.marking == marking) return &l;
    return nullptr;
}

const NamedLabel* LabelPolicy::by_label(const SecurityLabel& label) const
{
    // Categories compare as sets: the decoder keeps DER order, a configured label file order.
    auto sorted = [](SecurityLabel l) {
        std::sort(l.categories.begin(), l.categories.end(),
                  [](const auto& a, const auto& b) { return category_text(a) < category_text(b); });
        return l;
    };
    const SecurityLabel want = sorted(label);
    for (const auto& l : m_labels)
        if (sorted(l.label) == want) return &l;
    return nullptr;
}

bool LabelPolicy::knows_policy(std::string_view policy_id) const
{
    return std::any_of(m_labels.begin(), m_labels.end(), [&](const NamedLabel& l) { return l.label.policy_id == policy_id; }) ||
           std::any_of(m_clearances.begin(), m_clearances.end(), [&](const Clearance& c) { return c.policy_id == policy_id; });
}

std::optional<SecurityLabel> LabelPolicy::configured(const SecurityLabel& partner,
                                                     const std::optional<Domain>& author_domain) const
{
    if (!partner.categories.empty()) return std::nullopt;
    for (const auto& e : m_equivalences) {
        if (e.policy_id != partner.policy_id || e.classification != partner.classification) continue;
        if (!e.domains.empty() && !(author_domain && domain_listed(e.domains, *author_domain))) continue;
        if (const NamedLabel* n = by_name(e.label)) return n->label;
    }
    return std::nullopt;
}

MappedLabel LabelPolicy::map(const SecurityLabel& received, const std::vector<SecurityLabel>& equivalents,
                             const std::optional<Domain>& author_domain) const
{
    if (knows_policy(received.policy_id)) return {true, received, "own-policy"};
    if (auto ours = configured(received, author_domain)) return {true, *ours, "label_equivalence"};
    for (const auto& e : equivalents) {
        if (knows_policy(e.policy_id)) return {true, e, "equivalentLabels"};
        if (auto ours = configured(e, author_domain)) return {true, *ours, "equivalentLabels+label_equivalence"};
    }
    return {false, received, "unknown-policy"};
}

namespace {

// Why a holder of clearance `c` (of the label's policy) may not see `ours`; nullopt: may.
std::optional<std::string> not_allowed(const Clearance& c, const SecurityLabel& ours)
{
    const int cls = ours.classification.value_or(0);
    if (std::find(c.classifications.begin(), c.classifications.end(), cls) == c.classifications.end())
        return "classification " + std::to_string(cls) + " of policy " + ours.policy_id + " is not in its clearance";
    for (const auto& cat : ours.categories)
        if (std::find(c.categories.begin(), c.categories.end(), category_text(cat)) == c.categories.end())
            return "security category " + cat.type + " of policy " + ours.policy_id + " is not in its clearance";
    return std::nullopt;
}

}  // namespace

Clearance clearance_from(const smime::cms::ClearanceValue& value)
{
    Clearance c;
    c.recipients.source = "directory";
    c.policy_id = value.policy_id;
    c.classifications = value.classes;
    for (const auto& cat : value.categories) c.categories.push_back(category_text(cat));
    return c;
}

std::optional<std::string> LabelPolicy::clearance_problem(const EmailAddress& rcpt, const SecurityLabel& ours) const
{
    return clearance_problem(rcpt, ours, nullptr);
}

std::optional<std::string> LabelPolicy::clearance_problem(const EmailAddress& rcpt, const SecurityLabel& ours,
                                                          const ClearanceDirectory* directory) const
{
    const std::optional<EmailAddress> who = rcpt;
    for (const auto& c : m_clearances)
        if (c.policy_id == ours.policy_id && c.recipients.matches(who)) return not_allowed(c, ours);
    if (!directory) return "no [[clearance]] for policy " + ours.policy_id + " names it";
    const DirectoryClearances found = directory->clearances(rcpt);
    std::optional<std::string> why;
    for (const auto& value : found.values) {
        if (value.policy_id != ours.policy_id) continue;
        const Clearance c = clearance_from(value);
        // Each value is a grant of its own: one that allows the label is enough.
        why = not_allowed(c, ours);
        if (!why) return std::nullopt;
    }
    if (why) return "directory: " + *why;
    if (found.entry_too_large)
        return "no [[clearance]] names it and its directory entry is too large to read (over [directory] "
               "max_entry_bytes)";
    if (found.unreadable > 0)
        return "no [[clearance]] names it and its directory clearance cannot be read";
    return "neither a [[clearance]] nor its directory entry clears it for policy " + ours.policy_id;
}

std::vector<SecurityLabel> LabelPolicy::equivalents_for(const NamedLabel& named,
                                                        const std::vector<Domain>& recipient_domains) const
{
    std::vector<SecurityLabel> out;
    for (const auto& e : m_equivalences) {
        if (e.label != named.name || e.domains.empty()) continue;
        const bool applies = std::any_of(recipient_domains.begin(), recipient_domains.end(),
                                         [&](const Domain& d) { return domain_listed(e.domains, d); });
        if (!applies) continue;
        SecurityLabel partner;
        partner.policy_id = e.policy_id;
        partner.classification = e.classification;
        if (std::find(out.begin(), out.end(), partner) == out.end()) out.push_back(std::move(partner));
    }
    return out;
}

std::string LabelPolicy::marking_for(const SecurityLabel& l) const
{
    if (const NamedLabel* n = by_label(l)) return n->marking;
    for (const auto& n : m_labels)
        if (n.label.policy_id == l.policy_id && n.label.classification == l.classification) return n.marking;
    if (l.privacy_mark) return l.privacy_mark->text;
    return {};
}

}  // namespace ssm::policy
