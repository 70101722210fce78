// The DNS SMIMEA certificate source (see smimea_source.h).
// SECURITY: RDATA is parsed by smimea_record.h within its length; the certificate bytes by
// GnuTLS; a record that does not parse is skipped with a log line.
#include "directory/smimea_source.h"

#include <algorithm>

#include "base/error.h"
#include "base/log.h"
#include "base/metrics.h"
#include "directory/smimea_record.h"

namespace ssm::directory {

namespace {

constexpr std::size_t max_records = 32;  // more in one answer: the rest skipped (logged)
constexpr std::size_t max_reason = 200;  // of why_bogus, in the exception (the log has it all)
constexpr std::size_t kMaxDnsName = 253;  // presentation form without the final dot (RFC 1035)

}  // namespace

SmimeaSource::SmimeaSource(SmimeaSourceConfig config) : m_config(std::move(config))
{
    for (const auto& d : m_config.domains) {
        auto parsed = Domain::parse(d);
        if (!parsed) throw ResolverConfigError("not a domain in [directory.smimea] domains: " + d);
        m_domains.push_back(std::move(*parsed));
    }
    m_resolver = std::make_unique<ValidatingResolver>(m_config.resolver);
    // The anchors as the resolver read them: answers validated from other anchors are not
    // reused from the cache.
    m_cache_key = settings_cache_key(
        name(), "smimea-source-1",
        {m_config.resolver.forwarder,
         m_config.resolver.forwarder.empty() ? m_config.resolver.resolv_conf : std::string(),
         m_config.resolver.trust_anchor_file, m_resolver->trust_anchors()});
}

SmimeaSource::~SmimeaSource() = default;

bool SmimeaSource::serves(const EmailAddress& address) const
{
    if (m_domains.empty()) return true;
    return std::any_of(m_domains.begin(), m_domains.end(), [&](const Domain& d) { return address.domain() == d; });
}

std::string SmimeaSource::name() const
{
    return "smimea";
}

std::vector<CertificateCandidate> SmimeaSource::lookup(const EmailAddress& address)
{
    std::vector<CertificateCandidate> out;
    if (!serves(address)) return out;
    const std::string owner = smimea_owner_name(address);
    const log::Fields who = {{"address", address.str()}, {"name", owner}};
    // 68 octets of hash and "_smimecert" go before the domain: with a domain longer than 185
    // octets the name exceeds DNS's 253 (255 in wire form), so no record can exist. libunbound
    // refuses to ask (a syntax error), which would be "directory unavailable": a 451 at every
    // retry for a recipient that simply has no SMIMEA record.
    if (owner.size() > kMaxDnsName) {
        log::debug("smimea-name-too-long", who);
        return out;
    }
    auto fields = [&](log::Fields extra) {
        log::Fields f = who;
        f.insert(f.end(), extra.begin(), extra.end());
        return f;
    };

    DnsAnswer answer;
    try {
        answer = m_resolver->query(owner, smimea_rr_type);
    } catch (const Error& e) {
        metrics::count_directory_error(metrics::DirectorySource::Smimea);
        log::warning("smimea-lookup-failed", fields({{"error", e.what()}}));
        throw;
    }
    switch (answer.status) {
    case DnssecStatus::Bogus:
        metrics::count_directory_error(metrics::DirectorySource::Smimea);
        log::warning("smimea-bogus", fields({{"why", answer.why_bogus}}));
        // The reason goes into the 451 text too (bounded: libmilter limits a reply's length).
        throw Error(Failure::DirectoryUnavailable, "SMIMEA " + owner + ": DNSSEC validation failed (bogus): " +
                                                       answer.why_bogus.substr(0, max_reason));
    case DnssecStatus::Insecure:
        log::info("smimea-insecure", fields({{"records", std::to_string(answer.rdata.size())}}));
        return out;
    case DnssecStatus::Secure: break;
    }

    std::size_t skipped_usage = 0, malformed = 0, bad_certificate = 0, too_many = 0;
    for (const auto& rdata : answer.rdata) {
        const auto record = parse_smimea_rdata(rdata);
        if (!record) {
            ++malformed;
            continue;
        }
        if (!record->is_full_end_entity_certificate()) {
            ++skipped_usage;
            continue;
        }
        if (out.size() >= max_records) {
            ++too_many;
            continue;
        }
        auto cert = pki::SharedCertificate::parse_der(record->data);
        if (!cert) {
            ++bad_certificate;
            continue;
        }
        auto same = std::find_if(out.begin(), out.end(), [&](const CertificateCandidate& c) {
            return c.cert.der() == record->data;
        });
        if (same == out.end())
            same = out.insert(out.end(), CertificateCandidate{std::move(*cert), "smimea:" + owner, std::nullopt, 0});
        // Published as DANE-EE (also when the same certificate is there as PKIX-EE too): the
        // zone owner vouches for it.
        if (record->usage == kSmimeaDaneEe) same->dane_ee = true;
    }
    if (skipped_usage || malformed || bad_certificate || too_many)
        log::notice("smimea-records-skipped", fields({{"not_full_ee_certificate", std::to_string(skipped_usage)},
                                                      {"malformed", std::to_string(malformed)},
                                                      {"not_a_certificate", std::to_string(bad_certificate)},
                                                      {"too_many", std::to_string(too_many)}}));
    log::debug("smimea-lookup", fields({{"records", std::to_string(answer.rdata.size())},
                                        {"nxdomain", answer.nxdomain ? "yes" : "no"},
                                        {"certificates", std::to_string(out.size())}}));
    return out;
}

}  // namespace ssm::directory
