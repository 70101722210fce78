// Static certificate folder (see static_folder.h). Files are administrator input; the
// certificates are only indexed here, never judged.
#include "directory/static_folder.h"

#include <utility>

#include "base/log.h"

namespace ssm::directory {

StaticFolderSource::StaticFolderSource(std::filesystem::path folder) : m_folder(std::move(folder))
{
    std::error_code ec;
    if (!std::filesystem::exists(m_folder, ec)) {
        log::warning("directory_folder_missing",
                     {{"key", "[directory] static_certificates"}, {"path", m_folder.string()}});
        return;
    }
    for (const auto& file : pki::certificate_files(m_folder, "[directory] static_certificates")) {
        for (const auto& parsed : pki::Certificate::load_file(file)) {
            const pki::SharedCertificate cert(parsed);
            const auto& f = cert.facts();
            ++m_certificate_count;
            if (f.email_addresses.empty()) {
                // Not an error: a CA certificate dropped into the folder by mistake, say.
                log::warning("static_certificate_without_address",
                             {{"file", file.string()}, {"subject", log::sanitise(f.subject)}});
                continue;
            }
            for (const auto& address : f.email_addresses)
                m_by_address[address].push_back(Entry{cert, file.filename().string()});
        }
    }
    log::info("directory_static_loaded", {{"path", m_folder.string()},
                                          {"certificates", std::to_string(m_certificate_count)},
                                          {"addresses", std::to_string(m_by_address.size())}});
}

std::vector<CertificateCandidate> StaticFolderSource::lookup(const EmailAddress& address)
{
    std::vector<CertificateCandidate> out;
    auto it = m_by_address.find(address_key(address));
    if (it == m_by_address.end()) return out;
    for (const auto& e : it->second) out.push_back(CertificateCandidate{e.cert, "static:" + e.file, std::nullopt, 0});
    return out;
}

std::string StaticFolderSource::name() const
{
    return "static:" + m_folder.string();
}

}  // namespace ssm::directory
