// CRL entries (see crl_entries.h), read with base/der_tlv.h from the CRL's DER:
//   TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature AlgorithmIdentifier,
//     issuer Name, thisUpdate Time, nextUpdate Time OPTIONAL,
//     revokedCertificates SEQUENCE OF SEQUENCE { userCertificate INTEGER, revocationDate Time,
//       crlEntryExtensions Extensions OPTIONAL } OPTIONAL, crlExtensions [0] Extensions OPTIONAL }
#include "pki/crl_entries.h"

#include <gnutls/gnutls.h>

#include <algorithm>

#include "base/ascii.h"
#include "base/gnutls_datum.h"
#include "pki/certificate.h"
#include "base/der_tlv.h"
#include "base/name_compare.h"

namespace ssm::pki {

namespace {

constexpr const char* kReasonCode = "2.5.29.21";
constexpr const char* kCertificateIssuer = "2.5.29.29";
// Entry extensions that do not change what the entry means to us.
constexpr const char* kKnownEntryExtensions[] = {"2.5.29.24" /* invalidityDate */,
                                                 "2.5.29.23" /* holdInstructionCode */};
// More entries than any CRL file the store accepts (4 MiB) can hold: a bound of its own all the same.
constexpr std::size_t kMaxEntries = std::size_t{1} << 20;

bool is_time(const Tlv& t)
{
    return t.tag == 0x17 || t.tag == 0x18;
}

Bytes without_leading_zeros(const std::uint8_t* p, std::size_t n)
{
    while (n > 1 && *p == 0) ++p, --n;
    return Bytes(p, p + n);
}

std::string name_text(ByteView der)
{
    const gnutls_datum_t d = datum_view(der);
    gnutls_datum_t text{nullptr, 0};
    if (gnutls_x509_rdn_get2(&d, &text, 0) < 0) return {};
    std::string out = ascii_lowercase(std::string(reinterpret_cast<const char*>(text.data), text.size));
    gnutls_free(text.data);
    return out;
}

// The first directoryName of a certificateIssuer's GeneralNames (the extension's OCTET STRING
// contents); nullopt when it names none.
std::optional<Bytes> certificate_issuer(const Tlv& octets)
{
    const auto names = read_tlv(octets.value, octets.length);
    if (!names || names->tag != 0x30 || names->total != octets.length) return std::nullopt;
    for (std::size_t at = 0; at < names->length;) {
        const auto general = read_tlv(names->value + at, names->length - at);
        if (!general) return std::nullopt;
        if (general->tag == 0xa4) {
            const auto name = read_tlv(general->value, general->length);
            if (name && name->tag == 0x30 && name->total == general->length)
                return Bytes(general->value, general->value + general->length);
            return std::nullopt;
        }
        at += general->total;
    }
    return std::nullopt;
}

// One entry's extensions: its reason, the issuer it names (when it has certificateIssuer).
// False: unreadable.
bool read_entry_extensions(const Tlv& exts, CrlEntries& out, int& reason, std::optional<Bytes>& issuer)
{
    if (exts.tag != 0x30) return false;
    for (std::size_t at = 0; at < exts.length;) {
        const auto ext = read_tlv(exts.value + at, exts.length - at);
        if (!ext || ext->tag != 0x30) return false;
        at += ext->total;
        const auto oid = read_tlv(ext->value, ext->length);
        if (!oid) return false;
        const auto name = oid_text(*oid);
        if (!name) return false;
        std::size_t f = oid->total;
        bool critical = false;
        auto field = read_tlv(ext->value + f, ext->length - f);
        if (field && field->tag == 0x01) {
            critical = field->length == 1 && field->value[0] != 0;
            f += field->total;
            field = read_tlv(ext->value + f, ext->length - f);
        }
        if (!field || field->tag != 0x04 || f + field->total != ext->length) return false;
        if (*name == kReasonCode) {
            const auto e = read_tlv(field->value, field->length);
            if (!e || e->tag != 0x0a || e->length != 1 || e->total != field->length) return false;
            reason = e->value[0];
        } else if (*name == kCertificateIssuer) {
            issuer = certificate_issuer(*field);  // none: the entries that follow are for nobody we know
            out.names_other_issuers = true;
            if (!issuer) return false;
        } else if (critical && std::none_of(std::begin(kKnownEntryExtensions), std::end(kKnownEntryExtensions),
                                            [&](const char* k) { return *name == k; })) {
            if (out.unusable.empty()) out.unusable = "unknown critical CRL entry extension " + *name;
        }
    }
    return true;
}

bool read_entries(const Tlv& list, CrlEntries& out)
{
    std::uint32_t current = 0;
    for (std::size_t at = 0; at < list.length;) {
        const auto entry = read_tlv(list.value + at, list.length - at);
        if (!entry || entry->tag != 0x30 || out.entries.size() >= kMaxEntries) return false;
        at += entry->total;
        const auto serial = read_tlv(entry->value, entry->length);
        if (!serial || serial->tag != 0x02 || serial->length == 0) return false;
        std::size_t f = serial->total;
        const auto date = read_tlv(entry->value + f, entry->length - f);
        if (!date || !is_time(*date)) return false;
        f += date->total;
        int reason = kReasonNone;
        if (f < entry->length) {
            const auto exts = read_tlv(entry->value + f, entry->length - f);
            std::optional<Bytes> issuer;
            if (!exts || f + exts->total != entry->length || !read_entry_extensions(*exts, out, reason, issuer))
                return false;
            if (issuer && *issuer != out.issuers[current].der) {
                out.issuers.push_back({*issuer, name_text(*issuer)});
                current = static_cast<std::uint32_t>(out.issuers.size() - 1);
            }
        }
        out.entries.push_back({without_leading_zeros(serial->value, serial->length), reason, current});
    }
    return true;
}

}  // namespace

std::optional<CrlEntries> read_crl_entries(gnutls_x509_crl_t crl)
{
    gnutls_datum_t der{nullptr, 0};
    if (gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_DER, &der) < 0) return std::nullopt;
    const Bytes bytes(der.data, der.data + der.size);
    gnutls_free(der.data);
    const auto list = read_tlv(bytes.data(), bytes.size());
    if (!list || list->tag != 0x30 || list->total != bytes.size()) return std::nullopt;
    const auto tbs = read_tlv(list->value, list->length);
    if (!tbs || tbs->tag != 0x30) return std::nullopt;
    CrlEntries out;
    std::size_t at = 0;
    const auto next = [&]() -> std::optional<Tlv> {
        if (at >= tbs->length) return std::nullopt;
        return read_tlv(tbs->value + at, tbs->length - at);
    };
    auto field = next();
    if (field && field->tag == 0x02) at += field->total, field = next();  // version
    if (!field || field->tag != 0x30) return std::nullopt;               // signature
    at += field->total;
    field = next();
    if (!field || field->tag != 0x30) return std::nullopt;  // issuer
    const std::uint8_t* issuer = tbs->value + at;
    out.issuers.push_back({Bytes(issuer, issuer + field->total), name_text(ByteView(issuer, field->total))});
    at += field->total;
    field = next();
    if (!field || !is_time(*field)) return std::nullopt;  // thisUpdate
    at += field->total;
    field = next();
    if (field && is_time(*field)) at += field->total, field = next();  // nextUpdate
    if (field && field->tag == 0x30 && !read_entries(*field, out)) return std::nullopt;
    std::stable_sort(out.entries.begin(), out.entries.end(),
                     [](const CrlEntries::Entry& a, const CrlEntries::Entry& b) { return a.serial < b.serial; });
    return out;
}

std::optional<std::vector<const CrlEntries::Entry*>> CrlEntries::find(const Certificate& cert) const
{
    std::vector<const Entry*> out;
    std::uint8_t buf[64];
    std::size_t size = sizeof buf;
    if (gnutls_x509_crt_get_serial(cert.get(), buf, &size) < 0 || size == 0) return std::nullopt;
    const Bytes serial = without_leading_zeros(buf, size);
    const auto range = std::equal_range(entries.begin(), entries.end(), Entry{serial, kReasonNone, 0},
                                        [](const Entry& a, const Entry& b) { return a.serial < b.serial; });
    if (range.first == range.second) return out;
    gnutls_datum_t dn{nullptr, 0};
    if (gnutls_x509_crt_get_raw_issuer_dn(cert.get(), &dn) < 0) return std::nullopt;
    const Bytes issuer(dn.data, dn.data + dn.size);
    gnutls_free(dn.data);
    const std::string text = name_text(issuer);
    for (auto it = range.first; it != range.second; ++it) {
        const Issuer& i = issuers[it->issuer];
        if (same_name(i.der, issuer) || (!text.empty() && i.text == text)) out.push_back(&*it);
    }
    return out;
}

}  // namespace ssm::pki
