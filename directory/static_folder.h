// The static certificate folder ([directory] static_certificates): correspondents' certificates
// placed by the administrator, indexed by their e-mail addresses when loaded.
// SECURITY: administrator input, loaded strictly (a corrupt file is a start-up error); the
// certificates themselves are still checked like any other candidate before use.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "directory/certificate_source.h"

namespace ssm::directory {

class StaticFolderSource final : public CertificateSource {
public:
    // Reads every *.pem, *.crt, *.cer and *.der file (PEM with one or many certificates, or one
    // DER certificate) of the folder, not recursively. The CA certificates of a file that also
    // holds certificates with addresses are handed out with those (chain material); other
    // certificates without an address are skipped with a warning. A missing folder is an empty
    // source with a warning; an unreadable or corrupt file throws pki::LoadError naming it.
    // Immutable afterwards: a reload builds a new object.
    explicit StaticFolderSource(std::filesystem::path folder);

    std::vector<CertificateCandidate> lookup(const EmailAddress& address) override;
    std::string name() const override;

    std::size_t certificate_count() const { return m_certificate_count; }

private:
    struct Entry {
        pki::SharedCertificate cert;  // immutable: every lookup hands out the same data
        std::string file;             // file name within the folder
    };
    std::filesystem::path m_folder;
    std::map<std::string, std::vector<Entry>> m_by_address;  // key: address_key form
    std::map<std::string, std::vector<pki::SharedCertificate>> m_chain_by_file;  // key: file name
    std::size_t m_certificate_count = 0;
};

}  // namespace ssm::directory
