// Reading certificates' names and CAs' name subtrees from DER (see general_names.h). Input is
// untrusted: bounded counts, bounded reads through der_tlv, and anything malformed is reported.
#include "pki/general_names.h"

#include <array>

#include <gnutls/x509.h>

#include "base/ascii.h"
#include "base/email_address.h"
#include "base/der_tlv.h"
#include "base/gnutls_datum.h"
#include "base/name_compare.h"

namespace ssm::pki {

namespace {

constexpr std::size_t max_names = 256;  // names or subtrees in one extension; real ones have a few
constexpr const char* oid_san = "2.5.29.17";
constexpr const char* oid_name_constraints = "2.5.29.30";
constexpr const char* oid_email_address = "1.2.840.113549.1.9.1";

// A DER Name as GnuTLS writes it (the writer of gnutls_x509_crt_get_dn3), lower-cased, for
// messages (names are compared by their RDN keys, directory_name).
std::optional<std::string> dn_text(const std::uint8_t* der, std::size_t size)
{
    const gnutls_datum_t in{const_cast<unsigned char*>(der), static_cast<unsigned>(size)};
    GnutlsDatum text;
    if (gnutls_x509_rdn_get2(&in, &text.d, 0) < 0) return std::nullopt;
    const Bytes b = text.bytes();
    return ascii_lowercase(std::string(b.begin(), b.end()));
}

// One GeneralName (a context-tagged TLV). nullopt when the tag is none of the CHOICE's.
std::optional<GeneralName> general_name(const Tlv& t)
{
    if ((t.tag & 0xc0) != 0x80 || (t.tag & 0x1f) > 8) return std::nullopt;
    GeneralName n;
    n.form = static_cast<NameForm>(t.tag & 0x1f);
    const bool constructed = (t.tag & 0x20) != 0;
    switch (n.form) {
    case NameForm::Rfc822:
    case NameForm::Dns:
    case NameForm::Uri:
    case NameForm::IpAddress:
        if (constructed) return std::nullopt;  // DER: these are primitive strings
        n.value.assign(reinterpret_cast<const char*>(t.value), t.length);
        break;
    case NameForm::Directory: {  // [4] EXPLICIT Name: exactly one SEQUENCE inside
        const auto name = constructed ? read_tlv(t.value, t.length) : std::nullopt;
        if (name && name->tag == 0x30 && name->total == t.length) return directory_name(ByteView(t.value, t.length));
        n.readable = false;
        break;
    }
    case NameForm::OtherName: {  // [0] IMPLICIT SEQUENCE { type-id OBJECT IDENTIFIER, value [0] }
        const auto type_id = constructed ? read_tlv(t.value, t.length) : std::nullopt;
        n.readable = type_id && type_id->tag == 0x06;
        if (n.readable) n.value.assign(reinterpret_cast<const char*>(type_id->value), type_id->length);
        break;
    }
    default:
        break;  // forms we do not compare: their presence is what counts
    }
    return n;
}

// id-on-SmtpUTF8Mailbox (1.3.6.1.5.5.7.8.9) as OID content octets.
constexpr std::string_view smtp_utf8_mailbox_oid = "\x2b\x06\x01\x05\x05\x07\x08\x09";

// The rfc822Name a SmtpUTF8Mailbox otherName stands for in name constraints (RFC 9598 §6): its
// address with the domain in A-labels. `other` is the otherName's contents: type-id, then
// value [0] EXPLICIT UTF8String. Unreadable when that is not one address.
GeneralName smtp_utf8_rfc822(const std::uint8_t* p, std::size_t n)
{
    GeneralName out{NameForm::Rfc822, {}, false, true};
    const auto type_id = read_tlv(p, n);
    const auto value = type_id ? read_tlv(p + type_id->total, n - type_id->total) : std::nullopt;
    if (!value || value->tag != 0xa0 || type_id->total + value->total != n) return out;
    const auto text = read_tlv(value->value, value->length);
    if (!text || text->tag != 0x0c || text->total != value->length) return out;
    auto key = certificate_address_key(std::string_view(reinterpret_cast<const char*>(text->value), text->length), true);
    if (!key) return out;
    out.value = std::move(*key);
    out.readable = true;
    return out;
}

// The GeneralNames in [p, p + n) (the contents of a SEQUENCE OF GeneralName).
std::optional<std::vector<GeneralName>> general_names(const std::uint8_t* p, std::size_t n)
{
    std::vector<GeneralName> out;
    while (n > 0) {
        const auto t = read_tlv(p, n);
        if (!t || out.size() >= max_names) return std::nullopt;
        auto name = general_name(*t);
        if (!name) return std::nullopt;
        const bool smtp_utf8 = name->form == NameForm::OtherName && name->readable && name->value == smtp_utf8_mailbox_oid;
        out.push_back(std::move(*name));
        if (smtp_utf8) out.push_back(smtp_utf8_rfc822(t->value, t->length));
        p += t->total;
        n -= t->total;
    }
    return out;
}

// The value of the certificate's extension `oid`: nullopt (unreadable), an empty optional inside
// (absent) or its DER. A second extension of the same OID is unreadable (RFC 5280 §4.2).
std::optional<std::optional<Bytes>> extension(const Certificate& cert, const char* oid)
{
    std::array<GnutlsDatum, 2> ext;
    unsigned critical = 0;
    const int rc = gnutls_x509_crt_get_extension_by_oid2(cert.get(), oid, 0, &ext[0].d, &critical);
    if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return std::optional<Bytes>{};
    if (rc < 0 || ext[0].d.data == nullptr) return std::nullopt;
    if (gnutls_x509_crt_get_extension_by_oid2(cert.get(), oid, 1, &ext[1].d, &critical) !=
        GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        return std::nullopt;
    return std::optional<Bytes>{ext[0].bytes()};
}

// The contents of the SEQUENCE that makes up all of `der`.
std::optional<Tlv> whole_sequence(const Bytes& der)
{
    const auto t = read_tlv(der.data(), der.size());
    if (!t || t->tag != 0x30 || t->total != der.size()) return std::nullopt;
    return t;
}

// GeneralSubtrees: SEQUENCE OF GeneralSubtree { base, minimum [0] DEFAULT 0, maximum [1] }.
bool read_subtrees(const Tlv& subtrees, std::vector<GeneralName>& out)
{
    const std::uint8_t* p = subtrees.value;
    std::size_t n = subtrees.length;
    if (n == 0) return false;  // RFC 5280: present means at least one subtree
    while (n > 0) {
        const auto subtree = read_tlv(p, n);
        if (!subtree || subtree->tag != 0x30 || out.size() >= max_names) return false;
        const auto base = read_tlv(subtree->value, subtree->length);
        if (!base || base->total != subtree->length) return false;  // a minimum or maximum: not ours
        auto name = general_name(*base);
        if (!name) return false;
        out.push_back(std::move(*name));
        p += subtree->total;
        n -= subtree->total;
    }
    return true;
}

// The subject's emailAddress attributes, as rfc822Names; false when they do not read.
bool subject_emails(const Certificate& cert, std::vector<GeneralName>& out)
{
    for (unsigned i = 0; i < max_names; ++i) {
        std::array<char, 1024> buf{};
        std::size_t size = buf.size();
        const int rc = gnutls_x509_crt_get_dn_by_oid(cert.get(), oid_email_address, i, 0, buf.data(), &size);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return true;
        if (rc < 0 || size > buf.size()) return false;
        out.push_back(GeneralName{NameForm::Rfc822, std::string(buf.data(), size), true});
    }
    return false;
}

}  // namespace

GeneralName directory_name(ByteView der)
{
    GeneralName n;
    n.form = NameForm::Directory;
    auto keys = rdn_match_keys(der);
    // GnuTLS writes no text for the empty Name, the base of a subtree that holds every Name.
    auto text = keys && keys->empty() ? std::optional<std::string>("") : dn_text(der.data(), der.size());
    n.readable = text && keys;
    if (n.readable) {
        n.value = std::move(*text);
        n.rdn_keys = std::move(*keys);
    }
    return n;
}

std::string_view name_form_text(NameForm f)
{
    static constexpr std::array<std::string_view, 9> text{
        "otherName", "rfc822Name", "dNSName", "x400Address", "directoryName",
        "ediPartyName", "uniformResourceIdentifier", "iPAddress", "registeredID"};
    return text[static_cast<unsigned>(f)];
}

std::optional<std::vector<GeneralName>> certificate_names(const Certificate& cert)
{
    std::vector<GeneralName> out;
    GnutlsDatum subject;
    if (gnutls_x509_crt_get_raw_dn(cert.get(), &subject.d) < 0 || subject.d.data == nullptr) return std::nullopt;
    const auto name = read_tlv(subject.d.data, subject.d.size);
    if (!name || name->tag != 0x30) return std::nullopt;
    if (name->length > 0) {  // an empty subject names nothing (RFC 5280 §4.2.1.10)
        GeneralName directory = directory_name(subject.view());
        if (!directory.readable) return std::nullopt;
        out.push_back(std::move(directory));
    }
    if (!subject_emails(cert, out)) return std::nullopt;
    const auto san = extension(cert, oid_san);
    if (!san) return std::nullopt;
    if (*san) {
        const auto seq = whole_sequence(**san);
        if (!seq) return std::nullopt;
        auto names = general_names(seq->value, seq->length);
        if (!names) return std::nullopt;
        out.insert(out.end(), names->begin(), names->end());
    }
    return out;
}

std::optional<NameSubtrees> name_subtrees(const Certificate& ca)
{
    NameSubtrees out;
    const auto ext = extension(ca, oid_name_constraints);
    if (!ext) return std::nullopt;
    if (!*ext) return out;
    const auto seq = whole_sequence(**ext);
    if (!seq) return std::nullopt;
    const std::uint8_t* p = seq->value;
    std::size_t n = seq->length;
    unsigned last_tag = 0;
    while (n > 0) {
        const auto t = read_tlv(p, n);
        // [0] permittedSubtrees, then [1] excludedSubtrees, each at most once (IMPLICIT SEQUENCE)
        if (!t || (t->tag != 0xa0 && t->tag != 0xa1) || t->tag <= last_tag) return std::nullopt;
        if (!read_subtrees(*t, t->tag == 0xa0 ? out.permitted : out.excluded)) return std::nullopt;
        last_tag = t->tag;
        p += t->total;
        n -= t->total;
    }
    if (out.empty()) return std::nullopt;  // RFC 5280: at least one of the two is present
    return out;
}

}  // namespace ssm::pki
