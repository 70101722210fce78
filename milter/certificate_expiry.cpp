// Token certificates' expiry as a gauge and log lines; see certificate_expiry.h.
#include "milter/certificate_expiry.h"

#include "base/bytes.h"
#include "base/log.h"
#include "pki/certificate.h"

namespace ssm::milter {

namespace {

std::string first_address(const hsm::Identity& id)
{
    return id.email_addresses.empty() ? std::string() : id.email_addresses.front();
}

}  // namespace

std::vector<metrics::GaugeSet::Sample> certificate_expiry_samples(const std::vector<hsm::Identity>& identities)
{
    std::vector<metrics::GaugeSet::Sample> out;
    for (const auto& id : identities) {
        if (!id.has_private_key) continue;  // a partner's or a CA's certificate: not ours to renew
        out.push_back({{id.label, first_address(id), to_hex(id.serial)}, static_cast<double>(id.not_after)});
    }
    return out;
}

void publish_certificate_expiry(const std::vector<hsm::Identity>& identities, std::time_t now)
{
    metrics::process().certificate_expiry.replace(certificate_expiry_samples(identities));
    const auto warning = std::chrono::duration_cast<std::chrono::seconds>(kExpiryWarning).count();
    for (const auto& id : identities) {
        if (!id.has_private_key) continue;
        log::Fields f{{"label", id.label}, {"address", first_address(id)}, {"not_after", pki::format_time(id.not_after)}};
        if (id.not_after < now) {
            log::warning("token-certificate-expired", std::move(f));
        } else if (id.not_after - now < warning) {
            f.emplace_back("days_left", std::to_string((id.not_after - now) / 86400));
            log::warning("token-certificate-expiring", std::move(f));
        }
    }
}

void publish_crl_next_update(const pki::TrustStore& trust)
{
    std::vector<metrics::GaugeSet::Sample> samples;
    for (const auto& crl : trust.crl_files())
        if (crl.next_update != -1) samples.push_back({{crl.issuer, crl.file}, static_cast<double>(crl.next_update)});
    metrics::process().crl_next_update.replace(std::move(samples));
}

}  // namespace ssm::milter
