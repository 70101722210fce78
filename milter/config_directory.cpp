// Loads [directory], its [[directory.ldap]] entries, [directory.groups] and [directory.smimea]
// (PRODUCT §6, §8.1). Input is the administrator's TOML file: trusted, but every value is
// checked and every error names file:line:column; the files it names (password, CA, trust
// anchors) are read later by the sources.
#include <algorithm>

#include "base/email_address.h"
#include "directory/dns_resolver.h"
#include "milter/config_loader.h"

namespace ssm::milter::config_detail {

namespace {

constexpr std::string_view kLdap = "directory.ldap[]";
constexpr std::string_view kGroups = "directory.groups";
constexpr std::string_view kSmimea = "directory.smimea";

bool starts_with(const std::string& s, std::string_view prefix)
{
    return s.rfind(prefix, 0) == 0;
}

// The keys every directory connection has (servers, bind, TLS, timeout) in table `table`.
void load_connection(Loader& L, const toml::table* t, std::string_view table, const std::string& file,
                     LdapConnectionSettings& l)
{
    l.where = where(file, t->source());
    l.servers = L.strings(t, table, "servers");
    if (l.servers.empty()) L.fail(L.region(t, "servers"), "servers must name at least one LDAP URI");
    l.starttls = L.boolean(t, table, "starttls");
    for (const auto& uri : l.servers) {
        const bool plain = starts_with(uri, "ldap://") || starts_with(uri, "ldapi://");
        if (!plain && !starts_with(uri, "ldaps://"))
            L.fail(L.region(t, "servers"), "'" + uri + "' is not an ldap://, ldaps:// or ldapi:// URI");
        if (l.starttls && !starts_with(uri, "ldap://"))
            L.fail(L.region(t, "starttls"), "starttls applies to ldap:// servers only, not '" + uri + "'");
    }
    l.bind_dn = L.str(t, table, "bind_dn");
    l.bind_password_file = L.str(t, table, "bind_password_file");
    if (!l.bind_dn.empty() && l.bind_password_file.empty())
        L.fail(L.region(t, "bind_dn"), "bind_dn needs bind_password_file (an empty password would be "
                                       "an unauthenticated bind)");
    if (l.bind_dn.empty() && !l.bind_password_file.empty())
        L.fail(L.region(t, "bind_password_file"), "bind_password_file needs bind_dn");
    l.ca_file = L.str(t, table, "ca_file");
    l.timeout = L.duration(t, table, "timeout");
    if (l.timeout.count() < 1 || l.timeout.count() > 120)
        L.fail(L.region(t, "timeout"), "timeout must be between 1s and 120s");
}

// Whether `filter` is one parenthesised item whose parentheses balance, with no empty item.
// A value's own parentheses are escaped (\28, \29: RFC 4515 §3), so counting is exact. libldap
// finds the same mistakes only when it encodes a search, where the failure looks like a lost
// connection: the server marked down and every lookup a 451, instead of an error at load.
bool balanced_filter(std::string_view filter)
{
    int depth = 0;
    for (std::size_t i = 0; i < filter.size(); ++i) {
        if (filter[i] == '(') {
            if (i + 1 < filter.size() && filter[i + 1] == ')') return false;  // "()"
            ++depth;
        } else if (filter[i] == ')') {
            if (--depth < 0 || (depth == 0 && i + 1 != filter.size())) return false;
        }
    }
    return depth == 0;
}

void check_filter(Loader& L, const toml::table* t, std::string_view key, const std::string& filter)
{
    if (filter.find("%s") == std::string::npos || filter.front() != '(' || filter.back() != ')')
        L.fail(L.region(t, key), std::string(key) + " must be a parenthesised LDAP filter containing %s");
    else if (!balanced_filter(filter))
        L.fail(L.region(t, key), std::string(key) + " must be one LDAP filter whose parentheses balance, "
                                 "without empty items (a value's own are written \\28 and \\29)");
}

LdapDirectory load_ldap(Loader& L, const toml::table* t, const std::string& file)
{
    LdapDirectory l;
    for (const auto& name : L.strings(t, kLdap, "domains")) {
        auto d = Domain::parse(name);
        if (!d) L.fail(L.region(t, "domains"), "'" + name + "' is not a domain name" +
            refusal_suffix(Domain::refusal(name)));
        l.domains.push_back(d->str());
    }
    if (l.domains.empty()) L.fail(L.region(t, "domains"), "domains must name at least one domain");
    load_connection(L, t, kLdap, file, l);
    l.base = L.str(t, kLdap, "base");
    if (l.base.empty()) L.fail(L.region(t, "base"), "base must not be empty");
    l.filter = L.str(t, kLdap, "filter");
    check_filter(L, t, "filter", l.filter);
    const std::int64_t entries = L.integer(t, kLdap, "max_entries");
    if (entries < 1 || entries > kMaxLdapEntries)
        L.fail(L.region(t, "max_entries"), "max_entries must be 1.." + std::to_string(kMaxLdapEntries));
    l.max_entries = static_cast<int>(entries);
    const std::int64_t values = L.integer(t, kLdap, "max_values");
    if (values < 1 || static_cast<std::uint64_t>(values) > kMaxLdapValues)
        L.fail(L.region(t, "max_values"), "max_values must be 1.." + std::to_string(kMaxLdapValues));
    l.max_values = static_cast<std::size_t>(values);
    const std::uint64_t value_bytes = L.size(t, kLdap, "max_value_bytes");
    if (value_bytes < 1 || value_bytes > kMaxLdapValueBytes)
        L.fail(L.region(t, "max_value_bytes"), "max_value_bytes must be 1 to 1MiB");
    l.max_value_bytes = static_cast<std::size_t>(value_bytes);
    return l;
}

GroupDirectory load_groups(Loader& L, const toml::table* t, const std::string& file)
{
    GroupDirectory g;
    load_connection(L, t, kGroups, file, g);
    g.user_base = L.str(t, kGroups, "user_base");
    if (g.user_base.empty()) L.fail(L.region(t, "user_base"), "user_base must not be empty");
    g.user_filter = L.str(t, kGroups, "user_filter");
    check_filter(L, t, "user_filter", g.user_filter);
    g.group_base = L.str(t, kGroups, "group_base");
    g.nested = L.boolean(t, kGroups, "nested");
    g.cache_ttl = L.duration(t, kGroups, "cache_ttl");
    const std::string references = L.str(t, kGroups, "search_references");
    if (references != "fail" && references != "ignore")
        L.fail(L.region(t, "search_references"), "search_references must be \"fail\" or \"ignore\"");
    g.ignore_search_references = references == "ignore";
    return g;
}

// [directory.smimea]: nullopt when absent or not enabled. The trust anchor file is read when
// the source is built (milter/certificates.cpp), like the LDAP password files. The values are
// checked also while the section is disabled: switching it on must not be the moment a typo
// from months ago turns up.
std::optional<SmimeaDirectory> load_smimea(Loader& L, const toml::table* t, const std::string& file)
{
    SmimeaDirectory s;
    s.where = where(file, t->source());
    for (const auto& name : L.strings(t, kSmimea, "domains")) {
        auto d = Domain::parse(name);
        if (!d) L.fail(L.region(t, "domains"), "'" + name + "' is not a domain name" +
            refusal_suffix(Domain::refusal(name)));
        s.domains.push_back(d->str());
    }
    if (t->contains("domains") && s.domains.empty())
        L.fail(L.region(t, "domains"), "domains must name at least one domain (leave it out for all)");
    s.resolver = L.str(t, kSmimea, "resolver");
    if (t->contains("resolver") && !directory::is_valid_forwarder(s.resolver))
        L.fail(L.region(t, "resolver"), "resolver must be an IP address, optionally @PORT (\"127.0.0.1@5353\"), "
                                        "not '" + s.resolver + "'");
    s.trust_anchor_file = L.str(t, kSmimea, "trust_anchor_file");
    if (s.trust_anchor_file.empty()) L.fail(L.region(t, "trust_anchor_file"), "trust_anchor_file must not be empty");
    s.timeout = L.duration(t, kSmimea, "timeout");
    if (s.timeout.count() < 1 || s.timeout.count() > 120)
        L.fail(L.region(t, "timeout"), "timeout must be between 1s and 120s");
    s.trust_dane_ee = L.boolean(t, kSmimea, "trust_dane_ee");
    if (!L.boolean(t, kSmimea, "enabled")) return std::nullopt;
    return s;
}

}  // namespace

void load_directory(Loader& L, const toml::table* t, Config& c)
{
    auto& d = c.directory;
    d.cache = L.str(t, "directory", "cache");
    d.static_certificates = L.str(t, "directory", "static_certificates");
    d.positive_ttl = L.duration(t, "directory", "positive_ttl");
    d.negative_ttl = L.duration(t, "directory", "negative_ttl");
    d.stale_limit = L.duration(t, "directory", "stale_limit");
    if (d.positive_ttl.count() < 1) L.fail(L.region(t, "positive_ttl"), "positive_ttl must be at least 1s");
    const std::uint64_t entry_bytes = L.size(t, "directory", "max_entry_bytes");
    if (entry_bytes < kMinLdapEntryBytes || entry_bytes > kMaxLdapEntryBytes)
        L.fail(L.region(t, "max_entry_bytes"), "max_entry_bytes must be 64KiB to 256MiB");
    d.max_entry_bytes = static_cast<std::size_t>(entry_bytes);
    if (t && t->contains("source_order")) {
        const std::vector<std::string> defaults = d.source_order;
        std::vector<std::string> order;
        for (const auto& name : L.strings(t, "directory", "source_order")) {
            if (std::find(defaults.begin(), defaults.end(), name) == defaults.end())
                L.fail(L.region(t, "source_order"), "source_order: '" + name +
                                                        "' is not one of static, imported, ldap, harvested, smimea");
            else if (std::find(order.begin(), order.end(), name) != order.end())
                L.fail(L.region(t, "source_order"), "source_order names '" + name + "' twice");
            else
                order.push_back(name);
        }
        for (const auto& name : defaults)
            if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
        d.source_order = std::move(order);
    }
    if (const toml::node* groups = t ? t->get("groups") : nullptr)
        d.groups = load_groups(L, groups->as_table(), c.path);
    if (const toml::node* smimea = t ? t->get("smimea") : nullptr)
        d.smimea = load_smimea(L, smimea->as_table(), c.path);
    const toml::node* ldap = t ? t->get("ldap") : nullptr;
    if (!ldap) return;
    // Several entries may serve one domain (two directories, or two subtrees): they are asked
    // in order like all sources.
    for (auto& e : *ldap->as_array()) d.ldap.push_back(load_ldap(L, e.as_table(), c.path));
}

}  // namespace ssm::milter::config_detail
