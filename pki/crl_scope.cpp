// CRL scope (see crl_scope.h). The IssuingDistributionPoint is read with pki/der_tlv.h: GnuTLS
// 3.7 has no parser for this CRL extension; its six fields are context-tagged and only their
// tags, booleans and the full names are needed.
#include "pki/crl_scope.h"

#include <gnutls/gnutls.h>

#include <cstring>
#include <optional>

#include "pki/certificate.h"
#include "pki/der_tlv.h"

namespace ssm::pki {

namespace {

constexpr const char* kIssuingDistributionPoint = "2.5.29.28";
constexpr const char* kDeltaCrlIndicator = "2.5.29.27";
// Extensions whose meaning we apply or that do not narrow the CRL's scope.
constexpr const char* kKnownCritical[] = {kIssuingDistributionPoint, "2.5.29.20" /* cRLNumber */,
                                          "2.5.29.35" /* authorityKeyIdentifier */,
                                          "2.5.29.46" /* freshestCRL */};

// The CRL speaks for no certificate completely, and why.
void partial(CrlScope& s, std::string why)
{
    s.complete = false;
    s.partial_why = std::move(why);
}

bool true_boolean(const Tlv& t)
{
    return t.length == 1 && t.value[0] != 0;
}

// A GeneralName as distribution_point_names holds it: [6] URI, [4] EXPLICIT Name (as the
// RFC 4514 string GnuTLS gives for certificates' distribution points); other forms: none.
std::optional<std::string> general_name_text(const Tlv& general)
{
    if (general.tag == 0x86) return "uri:" + std::string(reinterpret_cast<const char*>(general.value), general.length);
    if (general.tag != 0xa4) return std::nullopt;
    const gnutls_datum_t name{const_cast<unsigned char*>(general.value), static_cast<unsigned>(general.length)};
    gnutls_datum_t text{nullptr, 0};
    if (gnutls_x509_rdn_get2(&name, &text, 0) < 0) return std::nullopt;
    std::string out = "dn:" + std::string(reinterpret_cast<const char*>(text.data), text.size);
    gnutls_free(text.data);
    return out;
}

// IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL,
//   onlyContainsUserCerts [1] BOOLEAN DEFAULT FALSE, onlyContainsCACerts [2] BOOLEAN DEFAULT FALSE,
//   onlySomeReasons [3] ReasonFlags OPTIONAL, indirectCRL [4] BOOLEAN DEFAULT FALSE,
//   onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }   (implicit tags, RFC 5280 §5.2.5)
void read_idp(const Bytes& der, CrlScope& s)
{
    const auto seq = read_tlv(der.data(), der.size());
    if (!seq || seq->tag != 0x30 || seq->total != der.size()) {
        return partial(s, "unreadable issuing distribution point");
    }
    for (std::size_t at = 0; at < seq->length;) {
        const auto field = read_tlv(seq->value + at, seq->length - at);
        if (!field) {
            return partial(s, "unreadable issuing distribution point");
        }
        at += field->total;
        switch (field->tag) {
        case 0xa0: {  // distributionPoint: [0] fullName GeneralNames | [1] nameRelativeToCRLIssuer
            const auto name = read_tlv(field->value, field->length);
            if (!name || name->tag != 0xa0) {
                return partial(s, "issuing distribution point named relative to the CRL issuer");
            }
            for (std::size_t g = 0; g < name->length;) {
                const auto general = read_tlv(name->value + g, name->length - g);
                if (!general) {
                    return partial(s, "unreadable issuing distribution point name");
                }
                if (auto text = general_name_text(*general)) s.distribution_point_names.push_back(std::move(*text));
                g += general->total;
            }
            break;
        }
        case 0x81: s.only_user = true_boolean(*field); break;
        case 0x82: s.only_ca = true_boolean(*field); break;
        case 0x83:
            return partial(s, "CRL for some revocation reasons only");
        case 0x84:
            if (true_boolean(*field)) {
                return partial(s, "indirect CRL");
            }
            break;
        case 0x85:
            if (true_boolean(*field)) {
                return partial(s, "CRL for attribute certificates only");
            }
            break;
        default:
            return partial(s, "unreadable issuing distribution point");
        }
    }
}

// The certificate's cRLDistributionPoints full names, as distribution_point_names holds them
// (URI and directoryName, the forms CAs use).
std::vector<std::string> distribution_point_names_of(const Certificate& cert)
{
    std::vector<std::string> out;
    for (unsigned seq = 0; seq < 64; ++seq) {
        Bytes buf(4096);
        std::size_t size = buf.size();
        unsigned reasons = 0, critical = 0;
        const int type = gnutls_x509_crt_get_crl_dist_points(cert.get(), seq, buf.data(), &size, &reasons, &critical);
        if (type < 0) break;
        const std::string value(reinterpret_cast<const char*>(buf.data()), size);
        if (type == GNUTLS_SAN_URI) out.push_back("uri:" + value);
        else if (type == GNUTLS_SAN_DN) out.push_back("dn:" + value);
    }
    return out;
}

}  // namespace

CrlScope crl_scope_of(gnutls_x509_crl_t crl)
{
    CrlScope s;
    for (unsigned i = 0;; ++i) {
        char oid[128];
        std::size_t oid_size = sizeof oid;
        unsigned critical = 0;
        const int rc = gnutls_x509_crl_get_extension_info(crl, i, oid, &oid_size, &critical);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
        if (rc < 0) {
            partial(s, "unreadable CRL extensions");
            return s;
        }
        const std::string name(oid);
        if (name == kDeltaCrlIndicator) {
            partial(s, "delta CRL");
            return s;
        }
        if (name == kIssuingDistributionPoint) {
            gnutls_datum_t data{nullptr, 0};
            if (gnutls_x509_crl_get_extension_data2(crl, i, &data) < 0) {
                partial(s, "unreadable issuing distribution point");
                return s;
            }
            const Bytes der(data.data, data.data + data.size);
            gnutls_free(data.data);
            read_idp(der, s);
            if (!s.complete) return s;
            continue;
        }
        if (critical) {
            bool known = false;
            for (const char* k : kKnownCritical) known = known || name == k;
            if (!known) {
                partial(s, "unknown critical CRL extension " + name);
                return s;
            }
        }
    }
    return s;
}

bool crl_covers(const CrlScope& scope, const Certificate& cert)
{
    if (!scope.complete) return false;
    if (scope.only_user || scope.only_ca) {
        unsigned ca = 0;
        const bool is_ca = gnutls_x509_crt_get_basic_constraints(cert.get(), nullptr, &ca, nullptr) >= 0 && ca;
        if (scope.only_user && is_ca) return false;
        if (scope.only_ca && !is_ca) return false;
    }
    if (scope.distribution_point_names.empty()) return true;
    for (const auto& theirs : distribution_point_names_of(cert))
        for (const auto& ours : scope.distribution_point_names)
            if (theirs == ours) return true;
    return false;
}

}  // namespace ssm::pki
