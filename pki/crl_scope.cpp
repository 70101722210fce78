// CRL scope (see crl_scope.h). The IssuingDistributionPoint and the certificate's
// cRLDistributionPoints are read with base/der_tlv.h: GnuTLS 3.7 has no parser for the CRL
// extension and gives neither nameRelativeToCRLIssuer nor cRLIssuer of the certificate's; their
// fields are context-tagged and only tags, booleans, bit strings and names are needed.
#include "pki/crl_scope.h"

#include <gnutls/gnutls.h>

#include <algorithm>
#include <cstring>

#include "pki/certificate.h"
#include "base/der_tlv.h"
#include "base/name_compare.h"

namespace ssm::pki {

namespace {

constexpr const char* kIssuingDistributionPoint = "2.5.29.28";
constexpr const char* kDeltaCrlIndicator = "2.5.29.27";
constexpr const char* kCrlNumber = "2.5.29.20";
constexpr const char* kCrlDistributionPoints = "2.5.29.31";
constexpr const char* kFreshestCrl = "2.5.29.46";
// Extensions whose meaning we apply or that do not narrow the CRL's scope.
constexpr const char* kKnownCritical[] = {kIssuingDistributionPoint, kDeltaCrlIndicator, kCrlNumber,
                                          "2.5.29.35" /* authorityKeyIdentifier */,
                                          kFreshestCrl};
constexpr std::size_t kMaxPoints = 64;  // distribution points, and names per point, read

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

// A Name as RFC 5280 §7.1 compares it (base/name_compare.h) with "dn:" in front: a CA that
// spells its name otherwise in a certificate's distribution point than in its CRL's (another
// string type, case, spacing) still names the same point. nullopt if it is no Name.
std::optional<std::string> name_key(const std::uint8_t* der, std::size_t size)
{
    const auto name = read_tlv(der, size);
    if (!name || name->tag != 0x30 || name->total != size) return std::nullopt;
    return "dn:" + comparable_name(ByteView(der, size));
}

// A GeneralName as distribution point names are kept: [6] URI, [4] EXPLICIT Name; other forms:
// none (nullopt).
std::optional<std::string> general_name_key(const Tlv& general)
{
    if (general.tag == 0x86) return "uri:" + std::string(reinterpret_cast<const char*>(general.value), general.length);
    if (general.tag != 0xa4) return std::nullopt;
    return name_key(general.value, general.length);
}

// nameRelativeToCRLIssuer ([1] IMPLICIT RelativeDistinguishedName) appended to `base` (a Name's
// DER): the RDN becomes a SET again, after the base's RDNs (RFC 5280 §4.2.1.13).
std::optional<std::string> relative_key(const Tlv& rdn, ByteView base)
{
    const auto name = read_tlv(base.data(), base.size());
    if (!name || name->tag != 0x30 || name->total != base.size() || rdn.length == 0) return std::nullopt;
    Bytes rdns(name->value, name->value + name->length);
    rdns.push_back(0x31);
    rdns.insert(rdns.end(), rdn.begin() + 1, rdn.begin() + rdn.total);  // its length and contents
    // The whole Name again (a SEQUENCE), so that it is compared as Names are.
    Bytes der = der_header(0x30, rdns.size());
    der.insert(der.end(), rdns.begin(), rdns.end());
    return name_key(der.data(), der.size());
}

// ReasonFlags ::= BIT STRING: bit n (from the first octet's most significant bit) is reason n.
std::optional<unsigned> reason_flags(const Tlv& bits)
{
    if (bits.length == 0 || bits.value[0] > 7) return std::nullopt;
    unsigned mask = 0;
    for (std::size_t n = 0; n < 9 && 1 + n / 8 < bits.length; ++n)
        if (bits.value[1 + n / 8] & (0x80 >> (n % 8))) mask |= 1u << n;
    return mask;
}

// An INTEGER that must not be negative (cRLNumber, BaseCRLNumber), as crl_number keeps it.
std::optional<Bytes> crl_number_of(const Bytes& der)
{
    const auto n = read_tlv(der.data(), der.size());
    if (!n || n->tag != 0x02 || n->total != der.size() || n->length == 0 || n->length > 32 || (n->value[0] & 0x80))
        return std::nullopt;
    std::size_t skip = 0;
    while (skip + 1 < n->length && n->value[skip] == 0) ++skip;
    return Bytes(n->value + skip, n->value + n->length);
}

// DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] RDN }
// (the outer [0] is explicit, the alternatives implicit). Adds the names to `out`; the relative
// form once per `bases` entry. False: unreadable.
bool read_point_name(const Tlv& point, const std::vector<ByteView>& bases, std::vector<std::string>& out)
{
    const auto name = read_tlv(point.value, point.length);
    if (!name || name->total != point.length) return false;
    if (name->tag == 0xa1) {
        for (const ByteView base : bases)
            if (auto key = relative_key(*name, base)) out.push_back(std::move(*key));
        return true;
    }
    if (name->tag != 0xa0) return false;
    for (std::size_t g = 0; g < name->length;) {
        const auto general = read_tlv(name->value + g, name->length - g);
        if (!general || out.size() >= kMaxPoints) return false;
        if (auto key = general_name_key(*general)) out.push_back(std::move(*key));
        g += general->total;
    }
    return true;
}

// IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL,
//   onlyContainsUserCerts [1] BOOLEAN DEFAULT FALSE, onlyContainsCACerts [2] BOOLEAN DEFAULT FALSE,
//   onlySomeReasons [3] ReasonFlags OPTIONAL, indirectCRL [4] BOOLEAN DEFAULT FALSE,
//   onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }   (implicit tags, RFC 5280 §5.2.5)
void read_idp(const Bytes& der, ByteView crl_issuer, CrlScope& s)
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
        case 0xa0:
            s.names_point = true;
            if (!read_point_name(*field, {crl_issuer}, s.distribution_point_names)) {
                return partial(s, "unreadable issuing distribution point name");
            }
            break;
        case 0x81: s.only_user = true_boolean(*field); break;
        case 0x82: s.only_ca = true_boolean(*field); break;
        case 0x83: {
            const auto reasons = reason_flags(*field);
            if (!reasons) {
                return partial(s, "unreadable onlySomeReasons");
            }
            s.reasons = *reasons;
            break;
        }
        case 0x84: s.indirect = true_boolean(*field); break;
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

// One of a certificate's distribution points, names as CrlScope keeps them.
struct Point {
    bool names_point = false;          // distributionPoint present
    std::vector<std::string> names;
    unsigned reasons = kAllReasons;
    bool has_crl_issuer = false;       // cRLIssuer present
    std::vector<Bytes> crl_issuers;    // its directoryNames (Name DER)
};

// DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL,
//   reasons [1] ReasonFlags OPTIONAL, cRLIssuer [2] GeneralNames OPTIONAL }
std::optional<Point> read_point(const Tlv& dp, ByteView cert_issuer)
{
    if (dp.tag != 0x30) return std::nullopt;
    Point p;
    std::optional<Tlv> name;
    for (std::size_t at = 0; at < dp.length;) {
        const auto field = read_tlv(dp.value + at, dp.length - at);
        if (!field) return std::nullopt;
        at += field->total;
        if (field->tag == 0xa0) {
            name = field;
        } else if (field->tag == 0x81) {
            const auto reasons = reason_flags(*field);
            if (!reasons) return std::nullopt;
            p.reasons = *reasons;
        } else if (field->tag == 0xa2) {
            p.has_crl_issuer = true;
            for (std::size_t g = 0; g < field->length;) {
                const auto general = read_tlv(field->value + g, field->length - g);
                if (!general || p.crl_issuers.size() >= kMaxPoints) return std::nullopt;
                if (general->tag == 0xa4 && name_key(general->value, general->length))
                    p.crl_issuers.emplace_back(general->value, general->value + general->length);
                g += general->total;
            }
        } else {
            return std::nullopt;
        }
    }
    if (name) {
        p.names_point = true;
        std::vector<ByteView> bases;
        if (p.has_crl_issuer)
            for (const Bytes& issuer : p.crl_issuers) bases.emplace_back(issuer);
        else
            bases.push_back(cert_issuer);
        if (!read_point_name(*name, bases, p.names)) return std::nullopt;
    }
    return p;
}

// The certificate's cRLDistributionPoints (none when it has no such extension), then the point
// every certificate has (RFC 5280 §6.3.3: named by the issuer, all reasons, no cRLIssuer).
// nullopt: the extension is unreadable.
std::optional<std::vector<Point>> points_of(const Certificate& cert, ByteView issuer)
{
    std::vector<Point> out;
    gnutls_datum_t ext{nullptr, 0};
    unsigned critical = 0;
    const int rc = gnutls_x509_crt_get_extension_by_oid2(cert.get(), kCrlDistributionPoints, 0, &ext, &critical);
    if (rc >= 0) {
        const Bytes der(ext.data, ext.data + ext.size);
        gnutls_free(ext.data);
        // A second cRLDistributionPoints extension (RFC 5280 §4.2 forbids it) is not read
        // past: the certificate then matches no CRL.
        gnutls_datum_t second{nullptr, 0};
        if (gnutls_x509_crt_get_extension_by_oid2(cert.get(), kCrlDistributionPoints, 1, &second, &critical) !=
            GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            gnutls_free(second.data);
            return std::nullopt;
        }
        const auto seq = read_tlv(der.data(), der.size());
        if (!seq || seq->tag != 0x30 || seq->total != der.size()) return std::nullopt;
        for (std::size_t at = 0; at < seq->length;) {
            const auto dp = read_tlv(seq->value + at, seq->length - at);
            if (!dp || out.size() >= kMaxPoints) return std::nullopt;
            auto point = read_point(*dp, issuer);
            if (!point) return std::nullopt;
            out.push_back(std::move(*point));
            at += dp->total;
        }
    } else if (rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        return std::nullopt;
    }
    Point by_issuer;
    by_issuer.names_point = true;
    if (auto key = name_key(issuer.data(), issuer.size())) by_issuer.names.push_back(std::move(*key));
    out.push_back(std::move(by_issuer));
    return out;
}

// RFC 5280 §6.3.3 (b)(1) and (b)(2)(i): the CRL's issuer and distribution point against one of
// the certificate's points.
bool point_matches(const Point& p, const CrlScope& scope, ByteView crl_issuer, ByteView cert_issuer)
{
    if (p.has_crl_issuer) {
        if (!scope.indirect || std::none_of(p.crl_issuers.begin(), p.crl_issuers.end(),
                                            [&](const Bytes& i) { return same_name(i, crl_issuer); }))
            return false;
    } else if (!same_name(crl_issuer, cert_issuer)) {
        return false;
    }
    if (!scope.names_point) return true;
    const auto named = [&](const std::string& key) {
        return std::find(scope.distribution_point_names.begin(), scope.distribution_point_names.end(), key) !=
               scope.distribution_point_names.end();
    };
    if (p.names_point) return std::any_of(p.names.begin(), p.names.end(), named);
    return std::any_of(p.crl_issuers.begin(), p.crl_issuers.end(), [&](const Bytes& i) {
        const auto key = name_key(i.data(), i.size());
        return key && named(*key);
    });
}

}  // namespace

bool CrlScope::same_scope_as(const CrlScope& o) const
{
    auto mine = distribution_point_names, theirs = o.distribution_point_names;
    std::sort(mine.begin(), mine.end());
    std::sort(theirs.begin(), theirs.end());
    return complete == o.complete && only_user == o.only_user && only_ca == o.only_ca && indirect == o.indirect &&
           reasons == o.reasons && names_point == o.names_point && mine == theirs;
}

CrlScope crl_scope_of(gnutls_x509_crl_t crl)
{
    CrlScope s;
    gnutls_datum_t issuer_dn{nullptr, 0};
    if (gnutls_x509_crl_get_raw_issuer_dn(crl, &issuer_dn) < 0) {
        partial(s, "unreadable issuer name");
        return s;
    }
    const Bytes issuer(issuer_dn.data, issuer_dn.data + issuer_dn.size);
    gnutls_free(issuer_dn.data);
    std::vector<std::string> seen;
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
        if (name == kFreshestCrl) {  // only where to look for deltas: no part of the scope
            gnutls_datum_t data{nullptr, 0};
            if (gnutls_x509_crl_get_extension_data2(crl, i, &data) >= 0)
                s.freshest_crl_uris = distribution_point_uris(ByteView(data.data, data.size));
            gnutls_free(data.data);
            continue;
        }
        const bool read = name == kIssuingDistributionPoint || name == kDeltaCrlIndicator || name == kCrlNumber;
        if (read) {
            // One of each (RFC 5280 §5.2): a second one could widen the scope the first set.
            if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
                partial(s, "CRL extension " + name + " twice");
                return s;
            }
            seen.push_back(name);
            gnutls_datum_t data{nullptr, 0};
            if (gnutls_x509_crl_get_extension_data2(crl, i, &data) < 0) {
                partial(s, "unreadable CRL extension " + name);
                return s;
            }
            const Bytes der(data.data, data.data + data.size);
            gnutls_free(data.data);
            if (name == kIssuingDistributionPoint) {
                read_idp(der, issuer, s);
                if (!s.complete) return s;
            } else if (name == kDeltaCrlIndicator) {
                s.delta = true;  // a delta whose base number is unreadable applies to no base
                s.delta_base = crl_number_of(der);
            } else {
                s.crl_number = crl_number_of(der);
            }
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

unsigned crl_covered_reasons(const CrlScope& scope, ByteView crl_issuer, const Certificate& cert)
{
    if (!scope.complete || scope.delta) return 0;
    if (scope.only_user || scope.only_ca) {
        unsigned ca = 0;
        const bool is_ca = gnutls_x509_crt_get_basic_constraints(cert.get(), nullptr, &ca, nullptr) >= 0 && ca;
        if (scope.only_user && is_ca) return 0;
        if (scope.only_ca && !is_ca) return 0;
    }
    gnutls_datum_t dn{nullptr, 0};
    if (gnutls_x509_crt_get_raw_issuer_dn(cert.get(), &dn) < 0) return 0;
    const Bytes issuer(dn.data, dn.data + dn.size);
    gnutls_free(dn.data);
    const auto points = points_of(cert, issuer);
    if (!points) return 0;
    unsigned reasons = 0;
    for (const Point& p : *points)
        if (point_matches(p, scope, crl_issuer, issuer)) reasons |= p.reasons & scope.reasons;
    return reasons;
}

std::vector<std::string> distribution_point_uris(ByteView der)
{
    std::vector<std::string> out;
    const auto seq = read_tlv(der.data(), der.size());
    if (!seq || seq->tag != 0x30 || seq->total != der.size()) return out;
    for (std::size_t at = 0; at < seq->length && out.size() < kMaxPoints;) {
        const auto dp = read_tlv(seq->value + at, seq->length - at);
        if (!dp || dp->tag != 0x30) return out;
        at += dp->total;
        const auto point = read_tlv(dp->value, dp->length);  // distributionPoint [0] comes first
        if (!point || point->tag != 0xa0) continue;
        const auto full = read_tlv(point->value, point->length);
        if (!full || full->tag != 0xa0) continue;  // nameRelativeToCRLIssuer: no URI
        for (std::size_t g = 0; g < full->length && out.size() < kMaxPoints;) {
            const auto general = read_tlv(full->value + g, full->length - g);
            if (!general) break;
            if (general->tag == 0x86)
                out.emplace_back(reinterpret_cast<const char*>(general->value), general->length);
            g += general->total;
        }
    }
    return out;
}

std::vector<std::string> freshest_crl_uris(const Certificate& cert)
{
    gnutls_datum_t ext{nullptr, 0};
    unsigned critical = 0;
    if (gnutls_x509_crt_get_extension_by_oid2(cert.get(), kFreshestCrl, 0, &ext, &critical) < 0) return {};
    auto out = distribution_point_uris(ByteView(ext.data, ext.size));
    gnutls_free(ext.data);
    return out;
}

int compare_crl_numbers(const Bytes& a, const Bytes& b)
{
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    const int c = std::memcmp(a.data(), b.data(), a.size());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

}  // namespace ssm::pki
