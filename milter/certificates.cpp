// Building the certificate resolver from configuration: the sources in PRODUCT §6 order, the
// LDAP directories and DNS SMIMEA behind the persistent lookup cache. Input is the loaded
// configuration.
#include "milter/certificates.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "base/bounded_file.h"
#include "base/error.h"
#include "base/log.h"
#include "base/secure_buffer.h"
#include "directory/ldap_clearances.h"
#include "directory/ldap_group_members.h"
#include "directory/ldap_groups.h"
#include "directory/ldap_source.h"
#include "directory/lookup_cache.h"
#include "directory/smimea_source.h"
#include "directory/static_folder.h"
#include "pki/certificate.h"
#include "pki/trust_store.h"

namespace ssm::milter {

namespace {

using lmdb_env = directory::lmdb::Environment;

// Errors name the configuration file (where the administrator looks) and the certificate file.
Bytes read_archive_certificate(const std::string& config_path, const std::string& path)
{
    const std::string where = config_path + ": [encryption] archive_certificate " + path;
    std::string why;
    const auto read = read_bounded_file(path, pki::max_pem_file_size, why);
    if (!read) throw ConfigError(where + ": cannot be read: " + why);
    const std::string& text = *read;
    if (auto pem = pki::Certificate::from_pem(text); pem && !pem->empty()) return pem->front().der();
    if (auto der = pki::Certificate::parse_der(as_bytes(text))) return der->der();
    throw ConfigError(where + " is not a PEM or DER certificate");
}

std::shared_ptr<directory::CertificateSource> ldap_source(const LdapDirectory& l, const DirectorySettings& d,
                                                        const std::shared_ptr<lmdb_env>& env,
                                                        const std::shared_ptr<directory::CertificateMemo>& memo)
{
    directory::LdapSourceConfig lc;
    lc.domains = l.domains;
    lc.servers = l.servers;
    lc.base = l.base;
    lc.filter = l.filter;
    lc.bind_dn = l.bind_dn;
    lc.bind_password_file = l.bind_password_file;
    lc.starttls = l.starttls;
    lc.ca_file = l.ca_file;
    lc.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(l.timeout);
    lc.max_entries = l.max_entries;  // the limits are part of the source's cache key
    lc.max_values = l.max_values;
    lc.max_value_bytes = l.max_value_bytes;
    // Not part of the cache key: an entry over it is a cut answer, never cached, and a lowered
    // limit only makes a cached answer of a larger entry wait for its TTL.
    lc.max_entry_bytes = d.max_entry_bytes;
    std::shared_ptr<directory::LdapSource> ldap;
    try {
        ldap = std::make_shared<directory::LdapSource>(std::move(lc));
    } catch (const directory::LdapConfigError& e) {
        throw ConfigError(l.where + ": [[directory.ldap]]: " + e.what());
    }
    if (!env) return ldap;
    const directory::CacheSettings cs{d.positive_ttl, d.negative_ttl, d.stale_limit};
    return std::make_shared<directory::CachingSource>(
        env, ldap, cs, [ldap](const EmailAddress& a) { return ldap->serves(a); }, directory::CachingSource::Clock{},
        memo);
}

// [directory.smimea], behind the cache like LDAP: DNS answers are cached by libunbound for
// their TTL too, but only in memory and per process; the LMDB cache adds stale-if-error,
// single flight across the milter's threads, and survives restarts and reloads.
std::shared_ptr<directory::CertificateSource> smimea_source(const SmimeaDirectory& s, const DirectorySettings& d,
                                                            const std::shared_ptr<lmdb_env>& env,
                                                            const std::shared_ptr<directory::CertificateMemo>& memo)
{
    directory::SmimeaSourceConfig sc;
    sc.domains = s.domains;
    sc.resolver.forwarder = s.resolver;
    sc.resolver.trust_anchor_file = s.trust_anchor_file;
    sc.resolver.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s.timeout);
    std::shared_ptr<directory::SmimeaSource> smimea;
    try {
        smimea = std::make_shared<directory::SmimeaSource>(std::move(sc));
    } catch (const directory::ResolverConfigError& e) {
        throw ConfigError(s.where + ": [directory.smimea]: " + e.what());
    }
    if (!env) return smimea;
    const directory::CacheSettings cs{d.positive_ttl, d.negative_ttl, d.stale_limit};
    // The owner name hashes the local part as written: each spelling is its own question.
    return std::make_shared<directory::CachingSource>(
        env, smimea, cs, [smimea](const EmailAddress& a) { return smimea->serves(a); },
        directory::CachingSource::Clock{}, memo, true);
}

// The client settings of [directory.groups] with [directory] max_entry_bytes; the bind
// password is read now (a reload reads it again).
directory::ldap::Client::Settings group_client(const GroupDirectory& g, std::size_t max_entry_bytes)
{
    std::shared_ptr<const SecureString> password;
    if (!g.bind_password_file.empty()) {
        try {
            password = std::make_shared<const SecureString>(read_secret_file(g.bind_password_file));
        } catch (const std::runtime_error& e) {
            throw ConfigError(g.where + ": [directory.groups]: " + e.what());
        }
    }
    directory::ldap::Client::Settings client;
    for (const auto& uri : g.servers) {
        directory::ldap::ServerSettings server;
        server.uri = uri;
        server.starttls = g.starttls;
        server.ca_file = g.ca_file;
        server.bind_dn = g.bind_dn;
        server.bind_password = password;
        server.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(g.timeout);
        client.servers.push_back(std::move(server));
    }
    client.limits.max_pdu_bytes = max_entry_bytes;
    return client;
}

directory::ldap::References references(const GroupDirectory& g)
{
    return g.ignore_search_references ? directory::ldap::References::Ignore : directory::ldap::References::Fail;
}

// Builds a [directory.groups] user (LdapGroups, LdapClearances), turning its errors into
// configuration errors naming the table.
template <typename T, typename Settings>
std::shared_ptr<const T> directory_user(const GroupDirectory& g, Settings settings)
{
    try {
        return std::make_shared<const T>(std::move(settings));
    } catch (const Error& e) {
        throw ConfigError(g.where + ": [directory.groups]: " + e.what());
    } catch (const directory::ldap::SettingsError& e) {
        throw ConfigError(g.where + ": [directory.groups]: " + e.what());
    }
}

std::shared_ptr<const policy::GroupMembership> group_directory(const GroupDirectory& g, std::size_t max_entry_bytes)
{
    directory::GroupDirectorySettings settings;
    settings.client = group_client(g, max_entry_bytes);
    settings.user_base = g.user_base;
    settings.user_filter = g.user_filter;
    settings.group_base = g.group_base;
    settings.nested = g.nested;
    settings.cache_ttl = g.cache_ttl;
    settings.search_references = references(g);
    return directory_user<directory::LdapGroups>(g, std::move(settings));
}

// The members of mail lists' groups (members_group), from the same directory.
std::shared_ptr<const directory::GroupMemberDirectory> group_member_directory(const GroupDirectory& g,
                                                                             std::size_t max_entry_bytes)
{
    directory::GroupMembersSettings settings;
    settings.client = group_client(g, max_entry_bytes);
    settings.group_base = g.group_base;
    settings.nested = g.nested;
    settings.cache_ttl = g.cache_ttl;
    settings.max_members = MailList::kMaxMembers;
    settings.search_references = references(g);
    return directory_user<directory::LdapGroupMembers>(g, std::move(settings));
}

// Recipients' clearances ([labels] clearance_attribute) from the same directory.
std::shared_ptr<const policy::ClearanceDirectory> clearance_directory(const GroupDirectory& g,
                                                                      const std::string& attribute,
                                                                      std::size_t max_entry_bytes)
{
    directory::ClearanceDirectorySettings settings;
    settings.client = group_client(g, max_entry_bytes);
    settings.user_base = g.user_base;
    settings.user_filter = g.user_filter;
    settings.attribute = attribute;
    settings.cache_ttl = g.cache_ttl;
    settings.search_references = references(g);
    return directory_user<directory::LdapClearances>(g, std::move(settings));
}

// The imported or harvested certificates when the [directory] cache could not be opened:
// they may hold the recipient's certificate, so the answer is "cannot ask", not "none".
class UnavailableStore final : public directory::CertificateSource {
public:
    UnavailableStore(std::string name, std::string why) : m_name(std::move(name)), m_why(std::move(why)) {}
    std::vector<directory::CertificateCandidate> lookup(const EmailAddress&) override
    {
        throw Error(Failure::DirectoryUnavailable, "certificate store unavailable: " + m_why);
    }
    std::string name() const override { return m_name; }

private:
    std::string m_name;
    std::string m_why;
};

}  // namespace

std::shared_ptr<directory::HarvestStore> open_harvest_store(const Config& config, std::string* failure)
{
    try {
        // The store makes its folder, 0700 (lmdb::Environment::open): one made here first, by
        // the umask, stayed 0755 (its files are 0600, but the folder is meant to be private).
        return std::make_shared<directory::HarvestStore>(config.directory.cache);
    } catch (const std::exception& e) {
        log::warning("harvest-store-unavailable", {{"folder", config.directory.cache}, {"error", e.what()}});
        if (failure) *failure = config.directory.cache + ": " + e.what();
        return nullptr;
    }
}

std::shared_ptr<const Certificates> Certificates::load(const Config& config,
                                                       std::shared_ptr<directory::HarvestStore> harvest,
                                                       const std::string& harvest_failure,
                                                       const Certificates* replaces)
{
    auto c = std::shared_ptr<Certificates>(new Certificates());
    // Each kind's sources, then in [directory] source_order.
    std::map<std::string, std::vector<std::shared_ptr<directory::CertificateSource>>> by_kind;
    if (!config.directory.static_certificates.empty() &&
        std::filesystem::is_directory(config.directory.static_certificates))
        by_kind["static"].push_back(
            std::make_shared<directory::StaticFolderSource>(config.directory.static_certificates));
    const std::shared_ptr<lmdb_env> env = harvest ? harvest->environment() : nullptr;
    // One memo of parsed certificates for every LMDB-backed source, owned by the harvest store
    // (process lifetime), so a reload keeps it warm.
    const std::shared_ptr<directory::CertificateMemo> memo = harvest ? harvest->memo() : nullptr;
    // By default what the administrator put in deliberately (the static folder, `ssmctl cert
    // import`) comes before what the directories publish and before what was harvested from
    // mail; what partners publish in DNS is asked only when nothing closer knows the recipient.
    if (env)
        by_kind["imported"].push_back(
            std::make_shared<directory::HarvestStore>(env, directory::HarvestStore::Kind::Imported, memo));
    for (const auto& l : config.directory.ldap) by_kind["ldap"].push_back(ldap_source(l, config.directory, env, memo));
    c->m_harvest = harvest;
    if (harvest) by_kind["harvested"].push_back(std::move(harvest));
    if (!env && !harvest_failure.empty()) {
        by_kind["imported"].push_back(std::make_shared<UnavailableStore>("imported", harvest_failure));
        by_kind["harvested"].push_back(std::make_shared<UnavailableStore>("harvested", harvest_failure));
    }
    if (config.directory.smimea)
        by_kind["smimea"].push_back(smimea_source(*config.directory.smimea, config.directory, env, memo));
    std::vector<std::shared_ptr<directory::CertificateSource>> sources;
    for (const auto& kind : config.directory.source_order)
        for (auto& s : by_kind[kind]) sources.push_back(std::move(s));
    c->m_sources = sources;
    const std::size_t entry_bytes = config.directory.max_entry_bytes;
    if (config.directory.groups) c->m_groups = group_directory(*config.directory.groups, entry_bytes);
    const bool list_groups = std::any_of(config.mail_lists.begin(), config.mail_lists.end(),
                                         [](const MailList& l) { return !l.members_group.empty(); });
    if (config.directory.groups && list_groups)
        c->m_group_members = group_member_directory(*config.directory.groups, entry_bytes);
    if (config.directory.groups && !config.clearance_attribute.empty())
        c->m_clearances = clearance_directory(*config.directory.groups, config.clearance_attribute, entry_bytes);
    pki::TrustStoreConfig trust_config;
    trust_config.trust_anchors = config.pki.trust_anchors;
    trust_config.intermediates = config.pki.intermediates;
    trust_config.crls = config.pki.crls;
    trust_config.revocation = config.pki.revocation == "off"         ? pki::Revocation::Off
                              : config.pki.revocation == "hard-fail" ? pki::Revocation::HardFail
                                                                      : pki::Revocation::SoftFail;
    trust_config.online.ocsp = config.pki.ocsp;
    trust_config.online.crl_distribution_points = config.pki.crl_distribution_points;
    trust_config.online.limits.timeout = config.pki.fetch_timeout;
    trust_config.online.limits.max_bytes = config.pki.max_crl_size;
    trust_config.online.time_budget = config.pki.revocation_time_budget;
    for (const auto& b : config.pki.anchors) trust_config.scopes.anchors.push_back({b.certificate, b.domains});
    if (replaces) trust_config.replaces = replaces->m_trust;
    trust_config.scopes.unscoped =
        config.pki.unscoped_anchors_any_domain ? pki::UnscopedAnchors::AnyDomain : pki::UnscopedAnchors::None;
    try {
        c->m_trust = std::make_shared<const pki::TrustStore>(trust_config);
    } catch (const pki::AnchorScopeError& e) {
        throw ConfigError(config.pki.anchors.at(e.index()).where + ": [[pki.anchor]]: " + e.what());
    }
    const bool trust_dane_ee = config.directory.smimea && config.directory.smimea->trust_dane_ee;
    c->m_resolver = std::make_unique<directory::CertificateResolver>(std::move(sources), c->m_trust, trust_dane_ee);
    c->m_extensions = config.address_extensions;
    if (!config.encryption.archive_certificate.empty())
        c->m_archive = read_archive_certificate(config.path, config.encryption.archive_certificate);
    return c;
}

directory::Choice Certificates::find(const EmailAddress& address, std::time_t now,
                                     const directory::SharedBudget& budget) const
{
    return m_resolver->find(address, now, budget);
}

directory::Choice Certificates::find(const EmailAddress& address, std::time_t now,
                                     const directory::CertificateResolver::SourceAnswer& ask) const
{
    return m_resolver->find(address, now, ask);
}

directory::Choice Certificates::find_for_mailbox(const EmailAddress& address, std::time_t now,
                                                 const directory::SharedBudget& budget) const
{
    return find_for_mailbox(address, [&](const EmailAddress& a) { return m_resolver->find(a, now, budget); });
}

directory::Choice Certificates::find_for_mailbox(const EmailAddress& address, const Decide& decide) const
{
    directory::Choice choice = decide(address);
    // An address with a certificate of its own that cannot be used now is not encrypted to
    // another's: its owner may not read the mailbox's key (the extension may be a person of
    // its own: "jean-luc" with '-' a delimiter), and the refusal's reason must be seen.
    if (choice.chosen || choice.own_refused) return choice;
    const auto mailbox = m_extensions.base_of(address);
    if (!mailbox) return choice;
    directory::Choice second = decide(*mailbox);
    second.rejected_reasons.insert(second.rejected_reasons.begin(), choice.rejected_reasons.begin(),
                                   choice.rejected_reasons.end());
    if (second.chosen) {
        second.found_under = mailbox;
    } else {
        // A certificate for the address as written that may become usable (revocation
        // unknown) keeps the answer a temporary one.
        second.revocation_unknown = second.revocation_unknown || choice.revocation_unknown;
    }
    return second;
}

std::shared_ptr<const Certificates> Certificates::load(const Config& config)
{
    std::string harvest_failure;
    auto harvest = open_harvest_store(config, &harvest_failure);
    return load(config, std::move(harvest), harvest_failure);
}

}  // namespace ssm::milter
