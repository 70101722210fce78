// X.501 Name comparison (RFC 5280 §7.1, RFC 4518); see name_compare.h. The Names are read with
// base/der_tlv.h (Name ::= SEQUENCE OF RelativeDistinguishedName, RDN ::= SET OF
// AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }): a handful of tags,
// which pki/ (no ASN.1 module) can share with smime/cms/. Both Names may be attacker-controlled.
#include "base/name_compare.h"

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "base/c_free.h"
#include "base/der_tlv.h"
#include "base/utf8.h"

namespace ssm {
namespace {

// One code point (checked: at most U+10FFFF, no surrogate) appended as UTF-8, by libunistring.
void append_utf8(std::uint32_t cp, std::string& out)
{
    std::uint8_t octets[6];
    const int n = u8_uctomb(octets, cp, sizeof octets);
    if (n > 0) out.append(reinterpret_cast<const char*>(octets), static_cast<std::size_t>(n));
}

// DirectoryString (RFC 5280 §4.1.2.4) alternatives, by their universal tags, and the two ASCII
// string types some encoders put in their place (IA5String, VisibleString).
constexpr unsigned kTeletexString = 0x14, kPrintableString = 0x13, kUniversalString = 0x1c, kUtf8String = 0x0c,
                   kBmpString = 0x1e, kIa5String = 0x16, kVisibleString = 0x1a;

// The characters of a string value as UTF-8; nullopt when it is of another type or its octets
// are not characters of its type (then the value compares by its DER). TeletexString (T.61)
// agrees with ASCII only, so only ASCII ones are text. IA5String and VisibleString (ASCII) are
// text as OpenSSL's name comparison has them: an organizationName written as IA5String "Bad"
// is the organisation "bad" of a directoryName constraint, not a way around its exclusion, and
// a domainComponent or emailAddress attribute compares without case, as LDAP matches them.
std::optional<std::string> utf8_of(const Tlv& value)
{
    const std::string octets(reinterpret_cast<const char*>(value.value), value.length);
    const bool ascii_only = value.tag == kTeletexString || value.tag == kIa5String || value.tag == kVisibleString;
    if (value.tag == kUtf8String || value.tag == kPrintableString || ascii_only) {
        if (ascii_only && std::any_of(octets.begin(), octets.end(), [](char c) { return c & 0x80; }))
            return std::nullopt;
        if (!valid_utf8(octets)) return std::nullopt;
        return octets;
    }
    const std::size_t width = value.tag == kBmpString ? 2 : value.tag == kUniversalString ? 4 : 0;
    if (width == 0 || octets.size() % width != 0) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < octets.size(); i += width) {
        std::uint32_t cp = 0;
        for (std::size_t k = 0; k < width; ++k) cp = (cp << 8) | static_cast<unsigned char>(octets[i + k]);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;  // UCS-2/UCS-4: no surrogates
        append_utf8(cp, out);
    }
    return out;
}

// RFC 4518 §2.2 Map, for one value's characters (valid UTF-8): TAB, LF, VT, FF, CR, NEL and the
// other separators (Zs, Zl, Zp) to SPACE; soft hyphens, the combining grapheme joiner, variation
// selectors, OBJECT REPLACEMENT CHARACTER, ZERO WIDTH SPACE and the other control and format
// code points (Cc, Cf) to nothing.
std::string mapped(const std::string& text)
{
    std::string out;
    const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
    std::size_t left = text.size();
    while (left > 0) {
        ucs4_t c = 0;
        const int n = u8_mbtouc(&c, p, left);
        p += n;
        left -= static_cast<std::size_t>(n);
        if (c == 0x85 || (c >= '\t' && c <= '\r')) {
            out.push_back(' ');
        } else if (c == 0xad || c == 0x34f || c == 0x1806 || (c >= 0x180b && c <= 0x180d) || (c >= 0xfe00 && c <= 0xfe0f) ||
                   c == 0xfffc || c == 0x200b || uc_is_general_category_withtable(c, UC_CATEGORY_MASK_Cc | UC_CATEGORY_MASK_Cf)) {
            continue;
        } else if (c == ' ' || uc_is_general_category_withtable(c, UC_CATEGORY_MASK_Zs | UC_CATEGORY_MASK_Zl | UC_CATEGORY_MASK_Zp)) {
            out.push_back(' ');
        } else {
            append_utf8(c, out);
        }
    }
    return out;
}

// `part` with its length in front, so that no two sequences of parts join to the same key.
void append_part(std::string& key, std::string_view part)
{
    key += std::to_string(part.size());
    key += ':';
    key += part;
}

// RFC 4518 string preparation of one value (valid UTF-8): Map (above), case folding and NFKC
// (§2.3, §2.4: libunistring's u8_casefold, full case folding without language tailoring, so
// that "MÜLLER" is "müller" and "STRASSE" "strasse" as "Straße" is), then §2.6.1 insignificant
// space handling: no space at either end, one for a run. Prohibited and unassigned code points
// (§2.5) are not refused: they only make values unequal to others. ASCII values are lower-cased
// without libunistring (what its folding does to them).
std::string prepared_directory_string(const std::string& text)
{
    std::string folded = mapped(text);
    if (std::any_of(folded.begin(), folded.end(), [](char c) { return c & 0x80; })) {
        std::size_t len = 0;
        const std::unique_ptr<std::uint8_t, CFree> out(u8_casefold(reinterpret_cast<const std::uint8_t*>(folded.data()),
                                                                   folded.size(), "", UNINORM_NFKC, nullptr, &len));
        if (!out) throw std::bad_alloc();  // valid UTF-8: only memory can fail
        folded.assign(reinterpret_cast<const char*>(out.get()), len);
    } else {
        for (char& c : folded)
            if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    }
    std::string out;
    bool space = false;
    for (const char c : folded) {
        if (c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    // A value of spaces only is not the empty string (§2.6.1 gives it two spaces).
    if (out.empty() && !text.empty()) out.push_back(' ');
    return out;
}

// One AttributeTypeAndValue's part of the key: its type's OID octets, then 't' and the prepared
// text of a string utf8_of reads, or 'd' and the value's DER; nullopt when it is no such SEQUENCE.
std::optional<std::string> attribute_key(const Tlv& ava)
{
    if (ava.tag != 0x30) return std::nullopt;
    const auto type = read_tlv(ava.value, ava.length);
    if (!type || type->tag != 0x06 || type->length == 0) return std::nullopt;
    const auto value = read_tlv(ava.value + type->total, ava.length - type->total);
    if (!value || type->total + value->total != ava.length) return std::nullopt;
    std::string key;
    append_part(key, std::string_view(reinterpret_cast<const char*>(type->value), type->length));
    if (auto text = utf8_of(*value)) {
        key += 't';
        append_part(key, prepared_directory_string(*text));
    } else {
        key += 'd';
        append_part(key, std::string_view(reinterpret_cast<const char*>(value->begin()), value->total));
    }
    return key;
}

}  // namespace

std::optional<std::vector<std::string>> rdn_match_keys(ByteView der)
{
    if (der.size() > kMaxComparedNameBytes) return std::nullopt;
    const auto name = read_tlv(der.data(), der.size());
    if (!name || name->tag != 0x30 || name->total != der.size()) return std::nullopt;
    std::vector<std::string> keys;
    for (std::size_t at = 0; at < name->length;) {
        const auto rdn = read_tlv(name->value + at, name->length - at);
        if (!rdn || rdn->tag != 0x31 || static_cast<int>(keys.size()) >= kMaxComparedRdns) return std::nullopt;
        at += rdn->total;
        // A SET OF: the attributes in any order are one RDN, so their keys are sorted.
        std::vector<std::string> attributes;
        for (std::size_t in = 0; in < rdn->length;) {
            const auto ava = read_tlv(rdn->value + in, rdn->length - in);
            if (!ava || static_cast<int>(attributes.size()) >= kMaxComparedRdnAttributes) return std::nullopt;
            auto attribute = attribute_key(*ava);
            if (!attribute) return std::nullopt;
            attributes.push_back(std::move(*attribute));
            in += ava->total;
        }
        if (attributes.empty()) return std::nullopt;
        std::sort(attributes.begin(), attributes.end());
        std::string key = "R" + std::to_string(attributes.size()) + ":";
        for (const auto& a : attributes) append_part(key, a);
        keys.push_back(std::move(key));
    }
    return keys;
}

std::optional<std::string> name_match_key(ByteView der)
{
    const auto rdns = rdn_match_keys(der);
    if (!rdns) return std::nullopt;
    std::string key;
    for (const auto& rdn : *rdns) key += rdn;
    return key;
}

std::string comparable_name(ByteView der)
{
    if (auto key = name_match_key(der)) return "k" + *key;
    return "b" + std::string(reinterpret_cast<const char*>(der.data()), der.size());
}

bool same_name(ByteView a, ByteView b) noexcept
{
    if (std::equal(a.begin(), a.end(), b.begin(), b.end())) return true;
    try {
        const auto x = name_match_key(a);
        if (!x) return false;
        const auto y = name_match_key(b);
        return y && *x == *y;
    } catch (...) {
        return false;  // out of memory: no match, as for a Name that does not decode
    }
}

}  // namespace ssm
