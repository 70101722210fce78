// Building the certificate resolver from configuration.
#include "milter/certificates.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/log.h"
#include "directory/static_folder.h"
#include "pki/certificate.h"
#include "pki/trust_store.h"

namespace ssm::milter {

namespace {

Bytes read_archive_certificate(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path + ":0:0: cannot read [encryption] archive_certificate");
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();
    if (auto pem = pki::Certificate::from_pem(text); pem && !pem->empty()) return pem->front().der();
    if (auto der = pki::Certificate::parse_der(as_bytes(text))) return der->der();
    throw ConfigError(path + ":0:0: [encryption] archive_certificate is not a PEM or DER certificate");
}

}  // namespace

std::shared_ptr<directory::HarvestStore> open_harvest_store(const Config& config)
{
    try {
        std::filesystem::create_directories(config.directory.cache);
        return std::make_shared<directory::HarvestStore>(config.directory.cache);
    } catch (const std::exception& e) {
        log::warning("harvest-store-unavailable", {{"folder", config.directory.cache}, {"error", e.what()}});
        return nullptr;
    }
}

std::shared_ptr<const Certificates> Certificates::load(const Config& config,
                                                       std::shared_ptr<directory::HarvestStore> harvest)
{
    auto c = std::shared_ptr<Certificates>(new Certificates());
    std::vector<std::shared_ptr<directory::CertificateSource>> sources;
    if (!config.directory.static_certificates.empty() &&
        std::filesystem::is_directory(config.directory.static_certificates))
        sources.push_back(
            std::make_shared<directory::StaticFolderSource>(config.directory.static_certificates));
    c->m_harvest = harvest;
    if (harvest) sources.push_back(std::move(harvest));
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
    c->m_trust = std::make_shared<const pki::TrustStore>(trust_config);
    c->m_resolver = std::make_unique<directory::CertificateResolver>(std::move(sources), c->m_trust);
    if (!config.encryption.archive_certificate.empty())
        c->m_archive = read_archive_certificate(config.encryption.archive_certificate);
    return c;
}

directory::Choice Certificates::find(const EmailAddress& address, std::time_t now) const
{
    return m_resolver->find(address, now);
}

}  // namespace ssm::milter
