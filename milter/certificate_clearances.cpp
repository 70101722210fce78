// Clearances in the recipient's certificate on the token; see certificate_clearances.h.
#include "milter/certificate_clearances.h"

#include <gnutls/gnutls.h>

#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"
#include "base/log.h"
#include "smime/cms/clearance.h"
#include "smime/signer.h"

namespace ssm::milter {

namespace {

constexpr const char* kSubjectDirectoryAttributes = "2.5.29.9";

}  // namespace

policy::DirectoryClearances CertificateClearances::clearances(const EmailAddress& recipient) const
{
    policy::DirectoryClearances out = m_directory ? m_directory->clearances(recipient) : policy::DirectoryClearances{};
    const auto signer = m_keys->signer_for(recipient);
    if (!signer) return out;
    const Bytes& der = signer->certificate_der();
    GnutlsCrt crt = new_gnutls_crt();
    const gnutls_datum_t in{const_cast<unsigned char*>(der.data()), static_cast<unsigned int>(der.size())};
    if (gnutls_x509_crt_import(crt.get(), &in, GNUTLS_X509_FMT_DER) < 0) return out;
    GnutlsDatum ext;
    unsigned int critical = 0;
    if (gnutls_x509_crt_get_extension_by_oid2(crt.get(), kSubjectDirectoryAttributes, 0, &ext.d, &critical) < 0)
        return out;  // no such extension
    const Bytes value = ext.bytes();
    try {
        smime::cms::ClearancesFound found = smime::cms::clearances_in_directory_attributes(value);
        for (auto& v : found.values) out.values.push_back(std::move(v));
        out.unreadable += found.unreadable;
        for (const auto& why : found.errors)
            log::warning("clearance-unreadable", {{"recipient", recipient.str()}, {"source", "certificate"}, {"error", why}});
    } catch (const Error& e) {
        ++out.unreadable;
        log::warning("clearance-unreadable", {{"recipient", recipient.str()}, {"source", "certificate"}, {"error", e.what()}});
    }
    return out;
}

}  // namespace ssm::milter
