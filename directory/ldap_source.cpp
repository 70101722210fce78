// LDAP directories as a certificate source (see ldap_source.h), built on ldap_connection.h.
// SECURITY: attribute values are untrusted bytes: size-bounded by the client, parsed by GnuTLS,
// and a value that does not parse is skipped with a log line.
#include "directory/ldap_source.h"

#include <algorithm>
#include <optional>

#include "base/error.h"
#include "pki/pkcs7_bundle.h"
#include "base/log.h"
#include "base/secure_buffer.h"
#include "directory/ldap_connection.h"

namespace ssm::directory {

namespace {

// RFC 4523 attributes. userSMIMECertificate has no ;binary transfer in OpenLDAP's schema but
// other servers (Active Directory, some X.500 gateways) publish it so; asking both is harmless.
const std::vector<std::string> k_attributes = {"userSMIMECertificate",
                                               "userSMIMECertificate;binary",
                                               "userCertificate;binary"};

void skipped(const std::string& server, const ldap::Entry& entry, const char* attribute,
             const char* reason)
{
    log::warning("ldap_certificate_skipped", {{"server", server},
                                              {"dn", entry.dn},
                                              {"attribute", attribute},
                                              {"reason", reason}});
}

// An answer cut by the limits (LookupAnswer::cut): one line with the same fields wherever it
// is cut, so that one search of the log finds every cut with its server, address, the
// certificates it kept (none when too many entries matched) and why.
void log_cut(const std::string& server, const EmailAddress& address, std::size_t certificates,
             const std::string& reason)
{
    log::warning("ldap_answer_cut", {{"server", server},
                                     {"address", address.str()},
                                     {"certificates", std::to_string(certificates)},
                                     {"reason", reason}});
}

ldap::Client::Settings client_settings(const LdapSourceConfig& c)
{
    if (c.servers.empty()) throw LdapConfigError("LDAP directory without servers");
    if (c.filter.find("%s") == std::string::npos)
        throw LdapConfigError("LDAP filter without %s: " + c.filter);
    if (!c.bind_dn.empty() && c.bind_password_file.empty())
        throw LdapConfigError("LDAP bind_dn " + c.bind_dn + " without a password file");
    std::shared_ptr<const SecureString> password;
    if (!c.bind_password_file.empty()) {
        try {
            password = std::make_shared<const SecureString>(read_secret_file(c.bind_password_file));
        } catch (const std::exception& e) {
            throw LdapConfigError(e.what());  // names the file, never the content
        }
    }
    ldap::Client::Settings s;
    for (const auto& uri : c.servers)
        s.servers.push_back(ldap::ServerSettings{uri, c.starttls, c.ca_file, c.bind_dn, password,
                                                 c.timeout});
    s.connections_per_server = c.connections_per_server;
    s.retry_after = c.retry_after;
    s.limits.max_entries = c.max_entries;
    s.limits.max_value_bytes = c.max_value_bytes;
    s.limits.max_values = c.max_values;
    s.limits.max_pdu_bytes = c.max_entry_bytes;
    return s;
}

}  // namespace

struct LdapSource::Impl {
    LdapSourceConfig config;
    std::vector<Domain> domains;
    ldap::Client client;

    explicit Impl(LdapSourceConfig c) : config(std::move(c)), client(client_settings(config))
    {
        for (const auto& d : config.domains) {
            auto parsed = Domain::parse(d);
            if (!parsed) throw LdapConfigError("not a domain in an LDAP directory's domains: " + d);
            domains.push_back(std::move(*parsed));
        }
    }
};

LdapSource::LdapSource(LdapSourceConfig config)
{
    try {
        m_impl = std::make_unique<Impl>(std::move(config));
    } catch (const ldap::SettingsError& e) {
        throw LdapConfigError(e.what());
    }
}

LdapSource::~LdapSource() = default;

bool LdapSource::serves(const EmailAddress& address) const
{
    if (m_impl->domains.empty()) return true;
    return std::any_of(m_impl->domains.begin(), m_impl->domains.end(),
                       [&](const Domain& d) { return address.domain() == d; });
}

LookupAnswer LdapSource::answer(const EmailAddress& address)
{
    LookupAnswer result;
    if (!serves(address)) return result;
    auto& out = result.candidates;

    ldap::SearchRequest request{m_impl->config.base, ldap::make_filter(m_impl->config.filter, address.directory_form()),
                                k_attributes, ldap::Scope::Subtree};
    request.too_many_entries_is_answer = true;
    request.entry_too_large_is_answer = true;
    request.absent_base_is_failure = true;  // not "none": nothing under a base that is not there
    const auto answer = m_impl->client.search(request);
    const std::string source = "ldap:" + answer.server;
    const std::size_t max = m_impl->config.max_values;

    if (answer.too_many_entries) {
        result.cut = "more entries match the address than max_entries (" +
                     std::to_string(m_impl->config.max_entries) +
                     ") or the server's size limit allow: none used, which one is the recipient's is unknown";
        log_cut(answer.server, address, 0, result.cut);
        return result;
    }
    if (answer.entry_too_large) {
        result.cut = "an entry larger than " + std::to_string(m_impl->config.max_entry_bytes) +
                     " bytes (max_entry_bytes, the most one LDAP message may hold here): none used";
        log_cut(answer.server, address, 0, result.cut);
        return result;
    }

    std::size_t dropped = answer.dropped_values;  // by the client's limits, logged there
    std::vector<Bytes> seen;  // the same certificate may be published in both attributes
    auto add = [&](const Bytes& der, const ldap::Entry& entry, const char* attribute) {
        if (out.size() >= max) {
            ++dropped;
            return skipped(answer.server, entry, attribute, "too many certificates");
        }
        if (std::find(seen.begin(), seen.end(), der) != seen.end()) return;
        auto cert = pki::SharedCertificate::parse_der(der);
        if (!cert) return skipped(answer.server, entry, attribute, "not a DER certificate");
        seen.push_back(der);
        out.push_back(CertificateCandidate{std::move(*cert), source, std::nullopt, 0});
    };

    for (const auto& entry : answer.entries) {
        for (const Bytes* value : entry.values("userSMIMECertificate")) {
            // One more than fits: a bundle larger than the limit shows as a dropped certificate.
            const auto certs = pki::pkcs7_certificates(*value, pki::BundleEncoding::Der, max + 1);
            if (!certs) {
                skipped(answer.server, entry, "userSMIMECertificate", "not a PKCS#7 SignedData");
                continue;
            }
            for (const auto& der : *certs) add(der, entry, "userSMIMECertificate");
        }
        for (const Bytes* value : entry.values("userCertificate")) add(*value, entry, "userCertificate");
    }
    if (dropped > 0)
        result.cut = std::to_string(dropped) + " value(s) left out by the limits (" + std::to_string(max) +
                     " values or certificates, " + std::to_string(m_impl->config.max_value_bytes) +
                     " bytes each)";
    // Part of the subtree is on another server, not asked (referrals are not followed), and
    // nothing was found here: the recipient's entry may be there, so "none" is not the whole
    // answer (stored, it sent mail in clear under an opportunistic rule for negative_ttl).
    // With a certificate found the answer stands: Active Directory refers every search at a
    // domain root to its application partitions, and those answers must still be cached.
    if (answer.references > 0 && out.empty())
        result.cut += (result.cut.empty() ? "" : "; ") + std::to_string(answer.references) +
                      " search reference(s) to other servers not followed";
    if (!result.cut.empty()) log_cut(answer.server, address, out.size(), result.cut);
    log::debug("ldap_lookup", {{"server", answer.server},
                               {"address", address.str()},
                               {"entries", std::to_string(answer.entries.size())},
                               {"certificates", std::to_string(out.size())}});
    return result;
}

std::vector<CertificateCandidate> LdapSource::lookup(const EmailAddress& address)
{
    return answer(address).candidates;
}

std::string LdapSource::name() const
{
    return "ldap:" + m_impl->config.servers.front();
}

std::string LdapSource::cache_key() const
{
    // Each part with its length, so no two configurations make the same text. The domains
    // are not in it: they decide which addresses are asked, not what an address's answer is.
    // The limits are: they decide which of the directory's values an answer keeps.
    const auto& c = m_impl->config;
    std::vector<std::string> parts{std::to_string(c.servers.size())};
    parts.insert(parts.end(), c.servers.begin(), c.servers.end());
    for (const auto& v : {c.base, c.filter, c.bind_dn, std::to_string(c.max_entries),
                          std::to_string(c.max_value_bytes), std::to_string(c.max_values)})
        parts.push_back(v);
    return settings_cache_key(name(), "ldap-source-1", parts);
}

std::uint64_t LdapSource::searches_sent() const noexcept
{
    return m_impl->client.searches_sent();
}

}  // namespace ssm::directory
