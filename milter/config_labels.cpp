// Loads [labels], [[security_label]], [[clearance]] and [[label_equivalence]] into
// policy::LabelPolicy (PRODUCT §4.1). Input is the administrator's file (trusted): every bad
// value is an error naming file:line:column, and every label is encoded once here, so a label
// that could not be signed never gets past `ssm-milter -n`.
#include <set>

#include "base/error.h"
#include "milter/config_loader.h"
#include "smime/cms/security_label.h"

namespace ssm::milter::config_detail {

namespace {

using smime::cms::SecurityLabel;

constexpr std::string_view kLabel = "security_label[]";
constexpr std::string_view kClearance = "clearance[]";
constexpr std::string_view kEquivalence = "label_equivalence[]";

std::vector<const toml::table*> entries(const toml::table& root, std::string_view key)
{
    std::vector<const toml::table*> out;
    if (const toml::node* n = root.get(key))
        for (auto& e : *n->as_array()) out.push_back(e.as_table());
    return out;
}

std::string policy_oid(Loader& L, const toml::table* t, std::string_view table)
{
    const std::string oid = L.str(t, table, "policy");
    if (!smime::cms::valid_oid_text(oid)) L.fail(L.region(t, "policy"), "'" + oid + "' is not a dotted OID");
    return oid;
}

std::optional<int> classification(Loader& L, const toml::table* t, std::string_view table)
{
    if (!t->contains("classification")) return std::nullopt;
    const std::int64_t v = L.integer(t, table, "classification");
    if (v < 0 || v > smime::cms::classification::kMax)
        L.fail(L.region(t, "classification"), "classification must be 0..256");
    return static_cast<int>(v);
}

std::vector<smime::cms::SecurityCategory> categories(Loader& L, const toml::table* t, std::string_view table)
{
    std::vector<smime::cms::SecurityCategory> out;
    for (const auto& s : L.strings(t, table, "categories")) {
        auto c = policy::parse_category_text(s);
        if (!c) L.fail(L.region(t, "categories"), "'" + s + "' is not \"TYPE-OID:HEX\"");
        out.push_back(std::move(*c));
    }
    return out;
}

bool printable(const std::string& s)
{
    for (const char c : s) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        std::string_view(" '()+,-./:=?").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return s.size() <= smime::cms::kMaxPrintableMark;
}

// RFC 4512 attributedescription: a name (letter, then letters, digits, '-') or a dotted OID,
// then ";option"s of the same characters.
bool attribute_description(const std::string& s)
{
    if (s.empty() || s.size() > 128 || s.front() == ';' || s.back() == ';') return false;
    bool start = true;
    for (const char c : s) {
        const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (c == ';') {
            if (start) return false;
            start = true;
            continue;
        }
        if (!alnum && c != '-' && c != '.') return false;
        start = false;
    }
    return true;
}

policy::NamedLabel load_label(Loader& L, const toml::table* t)
{
    policy::NamedLabel n;
    n.name = L.str(t, kLabel, "name");
    if (n.name.empty()) L.fail(L.region(t, "name"), "a security label needs a name");
    n.label.policy_id = policy_oid(L, t, kLabel);
    n.label.classification = classification(L, t, kLabel);
    if (t->contains("privacy_mark")) {
        const std::string mark = L.str(t, kLabel, "privacy_mark");
        using Kind = smime::cms::PrivacyMark::Kind;
        n.label.privacy_mark = smime::cms::PrivacyMark{printable(mark) ? Kind::Printable : Kind::Utf8, mark};
    }
    n.label.categories = categories(L, t, kLabel);
    try {
        n.label = smime::cms::decode_security_label(smime::cms::encode_security_label(n.label));
    } catch (const Error& e) {
        L.fail(t->source(), "security label '" + n.name + "' cannot be encoded: " + e.what());
    }
    n.marking = L.str(t, kLabel, "marking");
    if (n.marking.empty()) n.marking = n.label.privacy_mark ? n.label.privacy_mark->text : n.name;
    for (const unsigned char c : n.marking)
        if (c < 0x20 || c == 0x7f) L.fail(L.region(t, "marking"), "marking contains a control character");
    return n;
}

policy::Clearance load_clearance(Loader& L, const toml::table* t, const policy::AddressExtensions& extensions)
{
    policy::Clearance c;
    c.recipients.source = "clearance";
    for (const auto& s : L.strings(t, kClearance, "recipients")) {
        auto p = policy::AddressPattern::parse(s, extensions);
        if (!p) L.fail(L.region(t, "recipients"), "'" + s + "' is not an address pattern (addr, *@domain, *@*.domain or *)" +
                                                         refusal_suffix(policy::AddressPattern::domain_refusal(s)));
        c.recipients.patterns.push_back(std::move(*p));
    }
    if (c.recipients.patterns.empty()) L.fail(L.region(t, "recipients"), "recipients must name at least one pattern");
    c.policy_id = policy_oid(L, t, kClearance);
    for (auto& e : *t->get("classifications")->as_array()) {
        const std::int64_t v = *e.value<std::int64_t>();
        if (v < 0 || v > smime::cms::classification::kMax) L.fail(e.source(), "classifications must be 0..256");
        c.classifications.push_back(static_cast<int>(v));
    }
    for (const auto& cat : categories(L, t, kClearance)) c.categories.push_back(policy::category_text(cat));
    return c;
}

policy::LabelEquivalence load_equivalence(Loader& L, const toml::table* t, const std::vector<policy::NamedLabel>& labels)
{
    policy::LabelEquivalence e;
    e.policy_id = policy_oid(L, t, kEquivalence);
    e.classification = classification(L, t, kEquivalence);
    e.label = L.str(t, kEquivalence, "label");
    bool found = false;
    for (const auto& n : labels) found = found || n.name == e.label;
    if (!found) L.fail(L.region(t, "label"), "no [[security_label]] named '" + e.label + "'");
    for (const auto& s : L.strings(t, kEquivalence, "domains")) {
        auto d = Domain::parse(s);
        if (!d) L.fail(L.region(t, "domains"), "'" + s + "' is not a domain name" +
            refusal_suffix(Domain::refusal(s)));
        e.domains.push_back(*d);
    }
    return e;
}

}  // namespace

void load_labels(Loader& L, const toml::table& root, Config& c)
{
    const toml::table* settings = subtable(root, "labels");
    const std::string unknown = L.str(settings, "labels", "unknown_policy");
    policy::UnknownLabelPolicy u = policy::UnknownLabelPolicy::Reject;
    if (unknown == "accept") u = policy::UnknownLabelPolicy::Accept;
    else if (unknown != "reject") L.fail(L.region(settings, "unknown_policy"), "unknown_policy must be \"reject\" or \"accept\"");

    c.clearance_attribute = L.str(settings, "labels", "clearance_attribute");
    if (!c.clearance_attribute.empty()) {
        if (!attribute_description(c.clearance_attribute))
            L.fail(L.region(settings, "clearance_attribute"),
                   "'" + c.clearance_attribute + "' is not an LDAP attribute description (name or OID, ;options)");
        if (!c.directory.groups)
            L.fail(L.region(settings, "clearance_attribute"),
                   "clearance_attribute needs [directory.groups] (the directory of our people)");
    }

    c.clearance_from_certificate = L.boolean(settings, "labels", "clearance_from_certificate");
    std::vector<policy::NamedLabel> labels;
    std::set<std::string> names, markings;
    for (const toml::table* t : entries(root, "security_label")) {
        policy::NamedLabel n = load_label(L, t);
        if (!names.insert(n.name).second) L.fail(L.region(t, "name"), "a second security label named '" + n.name + "'");
        if (!markings.insert(n.marking).second)
            L.fail(L.region(t, t->contains("marking") ? "marking" : "name"),
                   "security label '" + n.name + "' has the marking '" + n.marking + "' of another label");
        labels.push_back(std::move(n));
    }
    std::vector<policy::Clearance> clearances;
    for (const toml::table* t : entries(root, "clearance")) clearances.push_back(load_clearance(L, t, c.address_extensions));
    std::vector<policy::LabelEquivalence> equivalences;
    for (const toml::table* t : entries(root, "label_equivalence")) equivalences.push_back(load_equivalence(L, t, labels));
    c.labels = policy::LabelPolicy(std::move(labels), std::move(clearances), std::move(equivalences), u);
}

}  // namespace ssm::milter::config_detail
