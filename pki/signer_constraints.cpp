// Our own checks behind GnuTLS's signer-constraints bit (see signer_constraints.h). Input is
// untrusted: names and subtrees are read through general_names.h, bounded.
#include "pki/signer_constraints.h"

#include <algorithm>
#include <memory>
#include <string_view>

#include <gnutls/x509.h>

#include "pki/general_names.h"
#include "pki/name_match.h"

namespace ssm::pki {

namespace {

struct FeaturesDeleter {
    void operator()(gnutls_x509_tlsfeatures_st* f) const noexcept { gnutls_x509_tlsfeatures_deinit(f); }
};

// Microsoft's user principal name (1.3.6.1.4.1.311.20.2.3), the one otherName GnuTLS 3.7.9
// reads in name constraints (lib/x509/virt-san.c, name_constraints.c).
constexpr std::string_view kUpnOid = "\x2b\x06\x01\x04\x01\x82\x37\x14\x02\x03";

// Whether GnuTLS 3.7.9's validate_name_constraints_node accepts this subtree.
bool gnutls_reads(const GeneralName& subtree)
{
    switch (subtree.form) {
    case NameForm::Rfc822:
    case NameForm::Dns:
    case NameForm::Directory:
    case NameForm::Uri:
        return subtree.readable;
    case NameForm::OtherName:
        return subtree.readable && subtree.value == kUpnOid;
    case NameForm::IpAddress: {
        const std::string_view v = subtree.value;
        return (v.size() == 8 || v.size() == 32) && contiguous_mask(v.substr(v.size() / 2));
    }
    default:
        return false;
    }
}

}  // namespace

std::optional<std::string> gnutls_cannot_read_name_constraints_of(const Certificate& ca)
{
    const auto subtrees = name_subtrees(ca);
    const auto unread = [](const std::vector<GeneralName>& list) {
        return std::find_if(list.begin(), list.end(), [](const GeneralName& s) { return !gnutls_reads(s); });
    };
    std::string why;
    if (!subtrees) {
        why = "do not read";
    } else if (auto p = unread(subtrees->permitted); p != subtrees->permitted.end()) {
        why = "have a permitted " + std::string(name_form_text(p->form)) + " subtree GnuTLS cannot read";
    } else if (auto e = unread(subtrees->excluded); e != subtrees->excluded.end()) {
        why = "have an excluded " + std::string(name_form_text(e->form)) + " subtree GnuTLS cannot read";
    } else {
        return std::nullopt;
    }
    return "the name constraints of CA certificate '" + printable(facts(ca).subject) + "' " + why;
}

std::optional<std::string> gnutls_cannot_read_name_constraints(const std::vector<const Certificate*>& path)
{
    for (std::size_t i = 1; i < path.size(); ++i)
        if (auto why = gnutls_cannot_read_name_constraints_of(*path[i])) return why;
    return std::nullopt;
}

std::optional<std::string> tls_features_hold(const std::vector<const Certificate*>& path)
{
    gnutls_x509_tlsfeatures_t raw = nullptr;
    if (gnutls_x509_tlsfeatures_init(&raw) < 0) return "TLS features cannot be read (out of memory)";
    const std::unique_ptr<gnutls_x509_tlsfeatures_st, FeaturesDeleter> features(raw);
    for (std::size_t i = path.size(); i-- > 1;) {
        const int rc = gnutls_x509_crt_get_tlsfeatures(path[i]->get(), features.get(), GNUTLS_EXT_FLAG_APPEND, nullptr);
        if (rc < 0 && rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return "TLS features of an issuer do not read";
        if (gnutls_x509_tlsfeatures_check_crt(features.get(), path[i - 1]->get()) == 0)
            return "a certificate lacks TLS features its issuers require (RFC 7633)";
    }
    return std::nullopt;
}

}  // namespace ssm::pki
