// Static certificate folder (see static_folder.h). Files are administrator input; the
// certificates are only indexed here, never judged.
#include "directory/static_folder.h"

#include <set>
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
        const std::string name = file.filename().string();
        std::vector<pki::SharedCertificate> without_address;
        bool has_end_entity = false;
        for (const auto& parsed : pki::Certificate::load_file(file)) {
            const pki::SharedCertificate cert(parsed);
            const auto& f = cert.facts();
            ++m_certificate_count;
            if (f.email_addresses.empty()) {
                without_address.push_back(cert);
                continue;
            }
            has_end_entity = true;
            for (const auto& address : f.email_addresses) m_by_address[address].push_back(Entry{cert, name});
        }
        // A file holding a correspondent's certificate with the CAs above it (a "full chain"
        // PEM, as partners send them): those CAs complete the paths of that file's certificates,
        // as a directory's bundle does (certificate_choice.h chain_certificates). Untrusted
        // like any candidate: the path must still end at one of our anchors.
        for (const auto& cert : without_address) {
            if (has_end_entity && cert.facts().is_ca) {
                m_chain_by_file[name].push_back(cert);
                continue;
            }
            // Not an error: a CA certificate dropped into the folder by mistake, say.
            log::warning("static_certificate_without_address",
                         {{"file", file.string()},
                          {"subject", log::sanitise(cert.facts().subject)},
                          {"hint", "a CA certificate is used beside the certificates of its own file, "
                                   "or from [pki] intermediates"}});
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
    std::set<std::string> files;
    for (const auto& e : it->second) {
        out.push_back(CertificateCandidate{e.cert, "static:" + e.file, std::nullopt, 0});
        files.insert(e.file);
    }
    for (const auto& file : files) {
        const auto chain = m_chain_by_file.find(file);
        if (chain == m_chain_by_file.end()) continue;
        for (const auto& ca : chain->second)
            out.push_back(CertificateCandidate{ca, "static:" + file, std::nullopt, 0});
    }
    return out;
}

std::string StaticFolderSource::name() const
{
    return "static:" + m_folder.string();
}

}  // namespace ssm::directory
