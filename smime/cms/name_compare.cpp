// X.501 Name comparison (RFC 5280 §7.1, RFC 4518); see name_compare.h. The Names are decoded
// with the cms.asn module (RDNSequence, DirectoryString); both may be attacker-controlled.
#include "smime/cms/name_compare.h"

#include <unistr.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/utf8.h"
#include "smime/cms/asn1.h"

namespace ssm::smime::cms {
namespace {

struct NameAttribute {
    std::string type;                // dotted OID
    std::optional<std::string> text;  // a DirectoryString value, prepared for comparison
    Bytes der;                        // otherwise the value's whole DER
};
using Rdn = std::vector<NameAttribute>;

// One code point (checked: at most U+10FFFF, no surrogate) appended as UTF-8, by libunistring.
void append_utf8(std::uint32_t cp, std::string& out)
{
    std::uint8_t octets[6];
    const int n = u8_uctomb(octets, cp, sizeof octets);
    if (n > 0) out.append(reinterpret_cast<const char*>(octets), static_cast<std::size_t>(n));
}

// The characters of a DirectoryString alternative as UTF-8; nullopt when they are not
// characters of that type (then the value compares by its bytes). TeletexString (T.61) agrees
// with ASCII only, so only ASCII ones are text.
std::optional<std::string> utf8_of(const std::string& which, const Bytes& octets)
{
    std::string out;
    if (which == "utf8String" || which == "printableString" || which == "teletexString") {
        out.assign(octets.begin(), octets.end());
        if (which == "teletexString" && std::any_of(out.begin(), out.end(), [](char c) { return c & 0x80; }))
            return std::nullopt;
        if (!valid_utf8(out)) return std::nullopt;
        return out;
    }
    const std::size_t width = which == "bmpString" ? 2 : which == "universalString" ? 4 : 0;
    if (width == 0 || octets.size() % width != 0) return std::nullopt;
    for (std::size_t i = 0; i < octets.size(); i += width) {
        std::uint32_t cp = 0;
        for (std::size_t k = 0; k < width; ++k) cp = (cp << 8) | octets[i + k];
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;  // UCS-2/UCS-4: no surrogates
        append_utf8(cp, out);
    }
    return out;
}

// RFC 4518 §2.6.1 insignificant space handling, with the spaces §2.2 maps to SPACE (TAB, LF,
// VT, FF, CR), and ASCII letters lower-cased (§2.4 case folding, for ASCII; other letters stay
// as written, so a match found here is one the full algorithm finds too).
std::string prepared(const std::string& text)
{
    std::string out;
    bool space = false;
    for (const char c : text) {
        if (c == ' ' || (c >= '\t' && c <= '\r')) {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
    }
    // A value of spaces only is not the empty string (§2.6.1 gives it two spaces).
    if (out.empty() && !text.empty()) out = " ";
    return out;
}

NameAttribute attribute_of(const Asn1Node& n, const std::string& at)
{
    NameAttribute a{n.read_oid(at + ".type"), std::nullopt, n.read_bytes(at + ".value")};
    try {
        const Asn1Node s = Asn1Node::decode("DirectoryString", a.der);
        const std::string which = s.read_text("");
        if (auto text = utf8_of(which, s.read_bytes(which))) a.text = prepared(*text);
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage) throw;
        // not a DirectoryString: compared by its DER
    }
    return a;
}

std::optional<std::vector<Rdn>> rdns_of(ByteView der)
{
    if (der.size() > kMaxComparedNameBytes) return std::nullopt;
    const Asn1Node n = Asn1Node::decode("RDNSequence", der);
    const int count = n.count("");
    if (count > kMaxComparedRdns) return std::nullopt;
    std::vector<Rdn> out;
    for (int i = 1; i <= count; ++i) {
        const std::string rdn = "?" + std::to_string(i);
        const int attributes = n.count(rdn);
        if (attributes < 1 || attributes > kMaxComparedRdnAttributes) return std::nullopt;
        Rdn r;
        for (int j = 1; j <= attributes; ++j) r.push_back(attribute_of(n, rdn + ".?" + std::to_string(j)));
        out.push_back(std::move(r));
    }
    return out;
}

bool same_attribute(const NameAttribute& x, const NameAttribute& y)
{
    if (x.type != y.type) return false;
    if (x.text && y.text) return *x.text == *y.text;
    return !x.text && !y.text && x.der == y.der;
}

// Each attribute of `x` matched to a different one of `y` (a SET OF: any order).
bool same_rdn(const Rdn& x, const Rdn& y)
{
    if (x.size() != y.size()) return false;
    std::vector<bool> used(y.size(), false);
    for (const auto& a : x) {
        bool found = false;
        for (std::size_t k = 0; k < y.size() && !found; ++k)
            if (!used[k] && same_attribute(a, y[k])) used[k] = found = true;
        if (!found) return false;
    }
    return true;
}

}  // namespace

bool same_name(ByteView a, ByteView b) noexcept
{
    if (std::equal(a.begin(), a.end(), b.begin(), b.end())) return true;
    try {
        const auto x = rdns_of(a);
        if (!x) return false;
        const auto y = rdns_of(b);
        if (!y || x->size() != y->size()) return false;
        for (std::size_t i = 0; i < x->size(); ++i)
            if (!same_rdn((*x)[i], (*y)[i])) return false;
        return true;
    } catch (...) {
        // A Name that does not decode names nothing but itself; out of memory or a module
        // that does not load (reported where CMS is decoded) make no match either.
        return false;
    }
}

}  // namespace ssm::smime::cms
