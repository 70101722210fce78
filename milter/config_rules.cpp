// Loads [policy] (explicit defaults), [[domain]] (our domains and their signing identities)
// and [[rule]] (conditions and actions) into policy::Policy. Every bad value is an error
// naming file:line:column; list files are read here, at load time, and their errors name
// the list file and line.
#include "milter/config_rules.h"
#include "base/ascii.h"
#include "base/bounded_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

#include "smime/cms/receipt.h"

namespace ssm::milter {

namespace {

class NetworkCondition final : public policy::ClientNetwork {
public:
    explicit NetworkCondition(Network n) : m_net(std::move(n)) {}
    bool contains(const sockaddr* client) const override { return m_net.contains(client); }
    const std::string& text() const override { return m_net.text(); }

private:
    Network m_net;
};

}  // namespace

std::shared_ptr<const policy::ClientNetwork> client_network(const Network& n)
{
    return std::make_shared<NetworkCondition>(n);
}

namespace config_detail {

namespace {

constexpr std::string_view kRule = "rule[]";
constexpr std::string_view kPolicy = "policy";

std::vector<policy::OwnDomain> load_domains(Loader& L, const toml::node* node)
{
    std::vector<policy::OwnDomain> out;
    if (!node) return out;
    for (auto& e : *node->as_array()) {
        const toml::table* t = e.as_table();
        const std::string name = L.str(t, "domain[]", "name");
        auto dom = Domain::parse(name);
        if (!dom) L.fail(L.region(t, "name"), "'" + name + "' is not a domain name" +
            refusal_suffix(Domain::refusal(name)));
        std::string identity = L.str(t, "domain[]", "signing_identity");
        if (identity.empty()) identity = domain_signing_authority(dom->str());
        auto addr = EmailAddress::parse(identity);
        if (!addr) L.fail(L.region(t, "signing_identity"), "'" + identity + "' is not an address" +
            refusal_suffix(EmailAddress::domain_refusal(identity)));
        out.push_back({*dom, *addr});
    }
    return out;
}

// Reads the actions shared by [policy] and [[rule]]: a rule's own key, else [policy]'s,
// else the key table's default.
class Actions {
public:
    Actions(Loader& L, const toml::table* policy_table, const policy::LabelPolicy& labels, bool reinjection)
        : m_L(L), m_policy(policy_table), m_labels(labels), m_reinjection(reinjection)
    {
    }

    // Fills `t` from `rule` (null: the [policy] table itself).
    void load(const toml::table* rule, policy::Treatment& t)
    {
        auto sign = policy::parse_sign_mode(text(rule, "sign"));
        if (!sign) fail(rule, "sign", "sign must be \"sender\", \"domain\" or \"none\"");
        t.sign = *sign;
        auto enc = policy::parse_encrypt_mode(text(rule, "encrypt"));
        if (!enc) fail(rule, "encrypt", "encrypt must be \"mandatory\", \"opportunistic\" or \"never\"");
        t.encrypt = *enc;
        const std::string to = text(rule, "encrypt_to");
        if (auto target = policy::parse_encrypt_target(to)) {
            t.encrypt_to = *target;
        } else if (auto addr = EmailAddress::parse(to); addr && to.find('<') == std::string::npos) {
            t.encrypt_to = policy::EncryptTarget::Address;
            t.encrypt_to_address = addr->key();
        } else {
            fail(rule, "encrypt_to", "encrypt_to must be \"recipient\", \"domain\" or an address");
        }
        if (const std::string c = text(rule, "cipher"); !c.empty()) {
            auto cipher = policy::parse_cipher(c);
            if (!cipher)
                fail(rule, "cipher",
                     "cipher must be auto, aes256-gcm, aes128-gcm, aes256-cbc, aes128-cbc or chacha20-poly1305");
            t.cipher = *cipher;
        }
        auto floor = policy::parse_cipher_floor(text(rule, "minimum_cipher"));
        if (!floor)
            fail(rule, "minimum_cipher", "minimum_cipher must be none, aes128, aes256, aes128-gcm or aes256-gcm");
        t.minimum_cipher = *floor;
        if (t.cipher != policy::Cipher::Default && t.cipher != policy::Cipher::Auto &&
            !policy::meets_floor(t.cipher, t.minimum_cipher))
            fail(rule, "cipher", std::string("cipher ") + policy::cipher_name(t.cipher) +
                                     " is weaker than minimum_cipher " +
                                     policy::cipher_floor_name(t.minimum_cipher));
        if (const std::string rid = text(rule, "recipient_identifier"); !rid.empty()) {
            auto form = policy::parse_recipient_identifier(rid);
            if (!form) fail(rule, "recipient_identifier", "recipient_identifier must be \"issuer-serial\" or \"key-id\"");
            t.recipient_identifier = *form;
        }
        auto no_certificate = policy::parse_on_no_certificate(text(rule, "no_certificate"));
        if (!no_certificate) fail(rule, "no_certificate", "no_certificate must be \"reject\" or \"return\"");
        t.no_certificate = *no_certificate;
        // The explanation leaves as a message of its own, which only [reinjection] can send.
        if (t.no_certificate == policy::OnNoCertificate::Return && !m_reinjection)
            fail(rule, "no_certificate", "no_certificate = \"return\" needs [reinjection] address");
        if (auto hp = node(rule, "header_protection"); hp && hp.is_boolean())
            t.header_protection = hp.value_or(true);
        t.require_signature = node(rule, "require_signature").value_or(false);
        t.require_encryption = node(rule, "require_encryption").value_or(false);
        t.require_integrity = node(rule, "require_integrity").value_or(false);
        auto missing = policy::parse_on_missing(text(rule, "on_missing"));
        if (!missing) fail(rule, "on_missing", "on_missing must be \"reject\" or \"tag\"");
        t.on_missing = *missing;
        t.security_label = text(rule, "security_label");
        if (!t.security_label.empty() && !m_labels.by_name(t.security_label))
            fail(rule, "security_label", "no [[security_label]] named '" + t.security_label + "'");
        // A label lives in the signature: a rule that never signs cannot apply it (§4.1).
        // (Inherited from [policy] it is refused per message instead, for outbound mail.)
        if (rule && rule->contains("security_label") && t.sign == policy::SignMode::None)
            fail(rule, "security_label", "security_label needs sign = \"sender\" or \"domain\"");
        auto receipts = policy::parse_receipt_request(text(rule, "receipt_request"));
        if (!receipts) fail(rule, "receipt_request", "receipt_request must be \"none\", \"all\" or \"first-tier\"");
        t.receipt_request = *receipts;
        // The request lives in the signature, like a label (§4.2).
        if (rule && rule->contains("receipt_request") && t.receipt_request != policy::ReceiptRequest::None &&
            t.sign == policy::SignMode::None)
            fail(rule, "receipt_request", "receipt_request needs sign = \"sender\" or \"domain\"");
        if (auto to = node(rule, "receipts_to"); to && to.is_array()) {
            for (const auto& e : *to.as_array()) {
                const std::string a = e.value_or(std::string());
                const auto addr = EmailAddress::parse(a);
                if (!addr || a.find('<') != std::string::npos)
                    fail(rule, "receipts_to", "'" + a + "' is not an address" +
                        refusal_suffix(EmailAddress::domain_refusal(a)));
                t.receipts_to.push_back(addr->key());
            }
            if (t.receipts_to.size() > smime::cms::kMaxReceiptsTo)
                fail(rule, "receipts_to", "receipts_to names more than 16 addresses (RFC 2634 ub-receiptsTo)");
        }
        // Inbound: the gateway answers receipt requests itself (§4.2, RFC 2634 §2).
        t.answer_receipts = node(rule, "answer_receipts").value_or(false);
        if (const std::string id = text(rule, "receipt_identity"); !id.empty()) {
            const auto addr = EmailAddress::parse(id);
            if (!addr || id.find('<') != std::string::npos)
                fail(rule, "receipt_identity", "receipt_identity '" + id + "' is not an address" +
                    refusal_suffix(EmailAddress::domain_refusal(id)));
            t.receipt_identity = addr->key();
        }
    }

private:
    toml::node_view<const toml::node> node(const toml::table* rule, std::string_view key)
    {
        if (rule)
            if (const toml::node* n = rule->get(key)) return toml::node_view<const toml::node>(n);
        return m_L.get(m_policy, kPolicy, key);
    }
    std::string text(const toml::table* rule, std::string_view key)
    {
        return node(rule, key).value_or(std::string());
    }
    [[noreturn]] void fail(const toml::table* rule, std::string_view key, const std::string& msg)
    {
        if (rule && rule->contains(key)) m_L.fail(m_L.region(rule, key), msg);
        m_L.fail(m_L.region(m_policy, key), msg);
    }

    Loader& m_L;
    const toml::table* m_policy;
    const policy::LabelPolicy& m_labels;
    bool m_reinjection;
};

std::filesystem::path base_dir(const std::string& config_path)
{
    return std::filesystem::path(config_path).parent_path();
}

policy::AddressList read_list_file(Loader& L, const toml::table* t, std::string_view key,
                                   const std::filesystem::path& dir, const policy::AddressExtensions& extensions)
{
    std::filesystem::path path(L.str(t, kRule, key));
    if (path.is_relative()) path = dir / path;
    std::string why;
    const auto text = read_bounded_file(path.string(), kMaxListFileSize, why);
    if (!text) L.fail(L.region(t, key), "cannot read the list file " + path.string() + ": " + why);
    try {
        return policy::parse_address_list(*text, path.string(), extensions);
    } catch (const std::invalid_argument& e) {
        throw ConfigError(e.what());
    }
}

void load_conditions(Loader& L, const toml::table* t, policy::Rule& r, Config& c)
{
    policy::Conditions& w = r.when;
    if (t->contains("direction")) {
        auto d = policy::parse_direction(L.str(t, kRule, "direction"));
        if (!d) L.fail(L.region(t, "direction"), "direction must be \"inbound\" or \"outbound\"");
        w.direction = d;
    }
    const auto dir = base_dir(c.path);
    w.extensions = c.address_extensions;
    for (const char* key : {"from", "to"}) {
        auto& lists = std::string_view(key) == "from" ? w.from : w.to;
        if (t->contains(key)) {
            policy::AddressList inline_list{key, {}};
            for (const auto& s : L.strings(t, kRule, key)) {
                auto p = policy::AddressPattern::parse(s, c.address_extensions);
                if (!p)
                    L.fail(L.region(t, key), "'" + s + "' is not an address pattern (addr, *@domain, *@*.domain or *)" +
                                                 refusal_suffix(policy::AddressPattern::domain_refusal(s)));
                inline_list.patterns.push_back(std::move(*p));
            }
            lists.push_back(std::move(inline_list));
        }
        const std::string list_key = std::string(key) + "_list";
        if (t->contains(list_key)) lists.push_back(read_list_file(L, t, list_key, dir, c.address_extensions));
        const std::string group_key = std::string(key) + "_group";
        auto& groups = std::string_view(key) == "from" ? w.from_group : w.to_group;
        for (const auto& g : L.strings(t, kRule, group_key)) {
            if (g.empty()) L.fail(L.region(t, group_key), "a group name cannot be empty");
            groups.push_back(g);
        }
    }
    for (const auto& s : L.strings(t, kRule, "client")) {
        auto n = Network::parse(s);
        if (!n) L.fail(L.region(t, "client"), "'" + s + "' is not an address or CIDR network");
        w.client.push_back(client_network(*n));
    }
    if (t->contains("authenticated")) w.authenticated = L.boolean(t, kRule, "authenticated");
    w.authenticated_as = L.strings(t, kRule, "authenticated_as");
    if (!w.authenticated_as.empty() && w.authenticated == false)
        L.fail(L.region(t, "authenticated_as"), "authenticated_as contradicts authenticated = false");
    w.subject_tag = L.str(t, kRule, "subject_tag");
    if (t->contains("subject_tag") && w.subject_tag.find_first_not_of(" \t") == std::string::npos)
        L.fail(L.region(t, "subject_tag"), "subject_tag cannot be empty");
    for (const auto& s : L.strings(t, kRule, "header")) {
        auto h = policy::HeaderPattern::parse(s);
        if (!h) L.fail(L.region(t, "header"), "'" + s + "' is not \"Field-Name: value pattern\"");
        w.header.push_back(std::move(*h));
    }
}

policy::Rule load_rule(Loader& L, const toml::table* t, Actions& actions, Config& c)
{
    policy::Rule r;
    r.name = L.str(t, kRule, "name");
    auto scope = policy::parse_scope(L.str(t, kRule, "scope"));
    if (!scope) L.fail(L.region(t, "scope"), "scope must be \"user\", \"domain\" or \"global\"");
    r.scope = *scope;
    load_conditions(L, t, r, c);
    const auto& w = r.when;
    if (r.scope != policy::Scope::Global && w.from.empty() && w.to.empty() && w.from_group.empty() &&
        w.to_group.empty() && w.authenticated_as.empty() && !w.uses_headers())
        L.fail(L.region(t, "scope"), std::string("a ") + policy::scope_name(r.scope) +
                                         " rule needs a sender or recipient condition (from, to, "
                                         "their _list or _group, authenticated_as) or a header trigger");
    actions.load(t, r);
    if (t->contains("signing_identity")) {
        const std::string id = L.str(t, kRule, "signing_identity");
        auto addr = EmailAddress::parse(id);
        if (!addr || id.find('<') != std::string::npos)
            L.fail(L.region(t, "signing_identity"), "'" + id + "' is not an address" +
                refusal_suffix(EmailAddress::domain_refusal(id)));
        if (r.sign == policy::SignMode::None)
            L.fail(L.region(t, "signing_identity"), "signing_identity needs sign = \"sender\" or \"domain\"");
        r.signing_identity = addr->key();
    }
    r.strip_trigger = L.boolean(t, kRule, "strip_trigger");
    if (r.strip_trigger && w.subject_tag.empty())
        L.fail(L.region(t, "strip_trigger"), "strip_trigger needs a subject_tag");
    r.strip_signature = L.boolean(t, kRule, "strip_signature");
    if (t->contains("revocation")) {
        if (const auto mode = policy::parse_revocation_mode(L.str(t, kRule, "revocation"))) r.revocation = *mode;
        else L.fail(L.region(t, "revocation"), "revocation must be \"off\", \"soft-fail\" or \"hard-fail\"");
    }
    for (const auto& oid : L.strings(t, kRule, "required_policies")) {
        bool ok = !oid.empty() && oid.front() != '.' && oid.back() != '.' &&
                  oid.find("..") == std::string::npos;
        for (char ch : oid) ok = ok && (std::isdigit(static_cast<unsigned char>(ch)) || ch == '.');
        if (!ok) L.fail(L.region(t, "required_policies"), "'" + oid + "' is not a dotted OID");
        r.required_policies.push_back(oid);
    }
    return r;
}

const std::string kDelimiterCharacters = "printable ASCII characters other than space, @ \" \\ < > , and *";

// One delimiter set of [policy]: `key` names it in errors, `where` is its value's place.
policy::RecipientDelimiter delimiter(Loader& L, const std::string& chars, const std::string& key,
                                     const toml::source_region& where)
{
    auto d = policy::RecipientDelimiter::parse(chars);
    if (!d) L.fail(where, key + " '" + chars + "' must be " + kDelimiterCharacters);
    return std::move(*d);
}

// [policy] partner_recipient_delimiters: "domain" = "delimiters", each a partner's mail domain
// (not one of ours, whose delimiter is recipient_delimiter) named once.
std::vector<policy::AddressExtensions::Partner> partner_delimiters(Loader& L, const toml::table* policy_table,
                                                                   const std::vector<policy::OwnDomain>& own)
{
    std::vector<policy::AddressExtensions::Partner> out;
    const toml::node* node = policy_table ? policy_table->get("partner_recipient_delimiters") : nullptr;
    if (!node) return out;  // its type was checked with the [policy] keys
    // toml++ keeps a table's keys sorted; errors are told in file order.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [key, value] : *node->as_table()) entries.emplace_back(&key, &value);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const auto& x = a.first->source().begin;
        const auto& y = b.first->source().begin;
        return x.line != y.line ? x.line < y.line : x.column < y.column;
    });
    for (const auto& [key_ptr, value_ptr] : entries) {
        const toml::key& key = *key_ptr;
        const toml::node& value = *value_ptr;
        const std::string name(key.str());
        auto domain = Domain::parse(name);
        if (!domain) L.fail(key.source(), "partner_recipient_delimiters: '" + name + "' is not a domain name" +
            refusal_suffix(Domain::refusal(name)));
        for (const auto& d : own)
            if (domain->is_or_under(d.name))
                L.fail(key.source(), "partner_recipient_delimiters: " + name + " is one of our [[domain]]s (" +
                                         d.name.str() + "), whose delimiter is recipient_delimiter");
        for (const auto& p : out)
            if (p.domain == *domain) L.fail(key.source(), "partner_recipient_delimiters: " + name + " is named twice");
        const std::string chars = *value.value<std::string>();
        out.push_back({*domain, delimiter(L, chars, "partner_recipient_delimiters: " + name, value.source())});
    }
    return out;
}

}  // namespace

std::vector<policy::OwnDomain> load_address_extensions(Loader& L, const toml::table& root, Config& c)
{
    const toml::table* policy_table = subtable(root, kPolicy);
    const std::string own_chars = L.str(policy_table, kPolicy, "recipient_delimiter");
    auto own = delimiter(L, own_chars, "recipient_delimiter", L.region(policy_table, "recipient_delimiter"));
    // Domains nobody described: "+" (RFC 5233) or nothing. Any other character would be guessed
    // for every partner, and a guess like "-" cuts persons' names ("alice-smith") and encrypts to
    // another person's certificate; a partner that uses one is listed under its domain.
    const std::string other_chars = L.str(policy_table, kPolicy, "partner_recipient_delimiter");
    const auto other_where = L.region(policy_table, "partner_recipient_delimiter");
    auto other = delimiter(L, other_chars, "partner_recipient_delimiter", other_where);
    if (other_chars != "+" && !other_chars.empty())
        L.fail(other_where, "partner_recipient_delimiter must be \"+\" or \"\": a partner that cuts at '" + other_chars +
                                "' is listed in partner_recipient_delimiters under its domain");
    // Our domains, read here first: they decide which delimiter applies (load_policy takes them).
    std::vector<policy::OwnDomain> own_domains = load_domains(L, root.get("domain"));
    std::vector<Domain> names;
    for (const auto& d : own_domains) names.push_back(d.name);
    c.address_extensions = policy::AddressExtensions(std::move(names), std::move(own),
                                                     partner_delimiters(L, policy_table, own_domains), std::move(other));
    return own_domains;
}

void load_policy(Loader& L, const toml::table& root, Config& c, std::vector<policy::OwnDomain> own_domains)
{
    const toml::table* policy_table = subtable(root, kPolicy);
    Actions actions(L, policy_table, c.labels, c.reinjection.enabled());
    policy::Treatment defaults;
    actions.load(nullptr, defaults);

    std::vector<policy::Rule> rules;
    if (const toml::node* node = root.get("rule"))
        for (auto& e : *node->as_array()) rules.push_back(load_rule(L, e.as_table(), actions, c));
    c.policy = policy::Policy(std::move(rules), std::move(own_domains), std::move(defaults));
    // The group directory is loaded with [directory] (config_directory.cpp), after this.
}

}  // namespace config_detail

}  // namespace ssm::milter
