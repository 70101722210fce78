// SIO-Label (RFC 7444) parsing and formatting; see sio_label.h. The value is untrusted: it is
// bounded first, then read by a strict tokenizer (RFC 2045 parameters, RFC 2231 sections),
// and every base64 label must be canonical so that one label has one spelling.
#include "smime/mime/sio_label.h"

#include <nettle/base64.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "base/error.h"
#include "base/utf8.h"
#include "smime/mime/content_type.h"
#include "smime/mime/header.h"

namespace ssm::smime::mime {
namespace {

[[noreturn]] void malformed(const std::string& what)
{
    throw Error(Failure::MalformedMessage, "SIO-Label: " + what);
}

// RFC 2231 attribute-char: a token character other than '*', '\'' and '%'.
bool is_attribute_char(char c) { return is_token_char(c) && c != '*' && c != '\'' && c != '%'; }

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
}

// Removes folding (CRLF or LF followed by WSP keeps the WSP); any other line break or control
// character (TAB aside) is refused: it would let a value start a header field of its own.
std::string unfold(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        const char c = v[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && (i + 1 >= v.size() || v[i + 1] != '\n')) malformed("bare CR in the field");
            if (c == '\r') ++i;
            if (i + 1 >= v.size() || !is_wsp(v[i + 1])) malformed("line break that is not folding");
            continue;
        }
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) malformed("control character in the field");
        out += c;
    }
    return out;
}

struct Section {
    bool extended = false;  // name*N*=... or name*=...: percent-encoded
    std::string text;       // as written (quotes removed)
};
struct RawParam {
    bool whole = false;               // name=... or name*=...
    std::map<int, Section> sections;  // name*N[*]=...; key -1 for `whole`
};

// Reads "name[*N][*] = value" pairs separated by ';' into `params` (names lower-cased).
void tokenize(const std::string& u, std::map<std::string, RawParam>& params)
{
    std::size_t i = 0;
    auto skip = [&] {
        while (i < u.size() && is_wsp(u[i])) ++i;
    };
    skip();
    if (i == u.size()) malformed("empty field");
    while (true) {
        const std::size_t n0 = i;
        while (i < u.size() && is_token_char(u[i])) ++i;
        const std::string_view full(u.data() + n0, i - n0);
        if (full.empty()) malformed("parameter name expected at offset " + std::to_string(n0));
        const std::size_t star = full.find('*');
        const std::string name = lower(full.substr(0, star));
        if (name.empty()) malformed("empty parameter name");
        int section = -1;
        bool extended = false;
        if (star != std::string_view::npos) {
            std::string_view rest = full.substr(star + 1);
            if (!rest.empty() && rest.back() == '*') {
                extended = true;
                rest.remove_suffix(1);
            } else if (rest.empty()) {
                extended = true;  // name*=
            }
            if (!rest.empty()) {
                if (rest.size() > 4 || !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
                    (rest.size() > 1 && rest[0] == '0'))
                    malformed("bad RFC 2231 section number in '" + std::string(full.substr(0, 40)) + "'");
                section = std::stoi(std::string(rest));
                if (section >= kMaxSioSections) malformed("too many RFC 2231 sections");
            } else if (!extended || full.size() != star + 1) {
                malformed("bad parameter name '" + std::string(full.substr(0, 40)) + "'");
            }
        }
        skip();
        if (i >= u.size() || u[i] != '=') malformed("'=' expected after parameter " + name);
        ++i;
        skip();
        Section sec{extended, {}};
        if (i < u.size() && u[i] == '"') {
            if (extended) malformed("RFC 2231 extended value of " + name + " must not be quoted");
            ++i;
            while (true) {
                if (i >= u.size()) malformed("unterminated quoted string in " + name);
                const char c = u[i++];
                if (c == '"') break;
                if (c == '\\') {
                    if (i >= u.size()) malformed("unterminated quoted string in " + name);
                    sec.text += u[i++];
                } else {
                    sec.text += c;
                }
            }
        } else {
            const std::size_t v0 = i;
            while (i < u.size() && is_token_char(u[i])) ++i;
            if (i == v0) malformed("value expected for parameter " + name);
            sec.text.assign(u, v0, i - v0);
        }
        RawParam& p = params[name];
        if (section < 0) {
            if (p.whole || !p.sections.empty()) malformed("parameter " + name + " appears twice");
            p.whole = true;
        } else if (p.whole || p.sections.count(section)) {
            malformed("parameter " + name + " appears twice");
        }
        p.sections.emplace(section, std::move(sec));
        skip();
        if (i == u.size()) return;
        if (u[i] != ';') malformed("';' expected after parameter " + name);
        ++i;
        skip();
        if (i == u.size()) malformed("trailing ';'");
    }
}

std::string percent_decode(const std::string& name, std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (s.size() - i < 3 || hex_digit_value(s[i + 1]) < 0 || hex_digit_value(s[i + 2]) < 0)
                malformed("bad %-escape in " + name);
            const int hi = hex_digit_value(s[i + 1]), lo = hex_digit_value(s[i + 2]);
            out += char(hi * 16 + lo);
            i += 2;
        } else if (is_attribute_char(s[i])) {
            out += s[i];
        } else {
            malformed("character not allowed in the extended value of " + name);
        }
    }
    return out;
}

// Joins the sections of one parameter (RFC 2231 §3-4) into its octets.
std::string assemble(const std::string& name, const RawParam& p)
{
    std::string charset;  // declared by an extended first section; plain values may be UTF-8 (RFC 6532)
    std::string out;
    int expect = p.whole ? -1 : 0;
    for (const auto& [n, sec] : p.sections) {
        if (n != expect) malformed("RFC 2231 sections of " + name + " are not consecutive from 0");
        expect = n < 0 ? 0 : n + 1;
        std::string_view text = sec.text;
        if (sec.extended && n <= 0) {  // charset'language'value
            const std::size_t q1 = text.find('\'');
            const std::size_t q2 = q1 == std::string_view::npos ? q1 : text.find('\'', q1 + 1);
            if (q2 == std::string_view::npos) malformed("RFC 2231 value of " + name + " lacks charset'language'");
            charset = lower(text.substr(0, q1));
            if (charset.empty()) charset = "us-ascii";  // RFC 2231: an empty charset is unspecified text
            if (charset != "us-ascii" && charset != "utf-8") malformed("charset '" + charset.substr(0, 32) + "' of " + name + " not supported");
            text.remove_prefix(q2 + 1);
        }
        out += sec.extended ? percent_decode(name, text) : std::string(text);
        if (out.size() > kMaxSioLabelField) malformed(name + " too long");
    }
    if (charset == "us-ascii" && !std::all_of(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
        malformed(name + " is declared us-ascii but is not");
    if (!valid_utf8(out)) malformed(name + " is not valid UTF-8");
    return out;
}

bool valid_color(std::string_view c)
{
    if (c.empty() || c.size() > 32) return false;
    if (c[0] == '#')
        return (c.size() == 4 || c.size() == 7) &&
               std::all_of(c.begin() + 1, c.end(), [](char h) { return hex_digit_value(h) >= 0; });
    return std::all_of(c.begin(), c.end(), [](char a) { return (a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z'); });
}

bool base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

std::string base64_encode(ByteView data)
{
    std::string out(BASE64_ENCODE_RAW_LENGTH(data.size()), '\0');
    base64_encode_raw(out.data(), data.size(), data.data());
    return out;
}

// Canonical base64 only (RFC 4648 §3.5): alphabet, padding at the end, no stray bits.
Bytes base64_decode(std::string_view s)
{
    if (s.empty() || s.size() % 4 != 0) malformed("label is not base64 (length)");
    std::size_t pad = 0;
    while (pad < 2 && s[s.size() - 1 - pad] == '=') ++pad;
    if (!std::all_of(s.begin(), s.end() - std::ptrdiff_t(pad), base64_char)) malformed("label is not base64");
    base64_decode_ctx ctx;
    base64_decode_init(&ctx);
    Bytes out(BASE64_DECODE_LENGTH(s.size()));
    std::size_t n = out.size();
    if (!base64_decode_update(&ctx, &n, out.data(), s.size(), s.data()) || !base64_decode_final(&ctx))
        malformed("label is not base64");
    out.resize(n);
    if (base64_encode(out) != s) malformed("label is not canonical base64");
    return out;
}

// The rules shared by parse and format (everything but the syntax).
void check(const SioLabel& l)
{
    if (l.marking) {
        const std::string& m = *l.marking;
        if (m.empty() || m.size() > kMaxSioMarking) malformed("marking empty or over " + std::to_string(kMaxSioMarking) + " octets");
        if (!valid_utf8(m)) malformed("marking is not valid UTF-8");
        if (std::any_of(m.begin(), m.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
            malformed("control character in marking");
    }
    for (const auto* c : {&l.fgcolor, &l.bgcolor})
        if (*c && !valid_color(**c)) malformed("colour '" + (*c)->substr(0, 32) + "' is not a CSS name or #rgb/#rrggbb");
    if ((l.fgcolor || l.bgcolor) && !l.marking) malformed("colours without a marking");
    if (l.type.has_value() != !l.label.empty()) malformed("type and label must come together");
    if (!l.marking && !l.type) malformed("neither marking nor label");
    if (l.label.size() > kMaxSioLabelOctets) malformed("label over " + std::to_string(kMaxSioLabelOctets) + " octets");
    if (l.ess && l.type != SioLabelType::Ess) malformed("an ESS label needs type \":ess\"");
}

std::string quote(std::string_view s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// name="value", or RFC 2231 sections for long or non-ASCII values. Sections are cut by
// their written length so that each fits on a folded line of its own.
void emit(std::vector<std::string>& pieces, const std::string& name, std::string_view value)
{
    constexpr std::size_t kChunk = 48;
    const bool ascii = std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    if (ascii && quote(value).size() <= kChunk + 2) {
        pieces.push_back(name + "=" + quote(value));
        return;
    }
    static const char hex[] = "0123456789ABCDEF";
    std::vector<std::string> chunks;
    std::string cur = ascii ? "" : "utf-8''";
    for (char c : value) {
        if (ascii) {
            if (c == '"' || c == '\\') cur += '\\';
            cur += c;
        } else if (is_attribute_char(c)) {
            cur += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            cur += '%', cur += hex[u >> 4], cur += hex[u & 15];
        }
        // Not std::exchange(cur, std::string()): g++ 12 -O2 warns (-Warray-bounds, a false
        // alarm) on the move of that temporary string.
        if (cur.size() >= kChunk) {
            chunks.push_back(std::move(cur));
            cur.clear();  // a moved-from string is valid but unspecified
        }
    }
    if (!cur.empty() || chunks.empty()) chunks.push_back(cur);
    for (std::size_t n = 0; n < chunks.size(); ++n)
        pieces.push_back(name + "*" + std::to_string(n) + (ascii ? "=\"" + chunks[n] + "\"" : "*=" + chunks[n]));
}

}  // namespace

std::string_view sio_label_type_name(SioLabelType t)
{
    switch (t) {
    case SioLabelType::Ess: return ":ess";
    case SioLabelType::X411: return ":x411";
    case SioLabelType::Xml: return ":xml";
    }
    return "";
}

SioLabel parse_sio_label(std::string_view value)
{
    if (value.size() > kMaxSioLabelField) malformed("field over " + std::to_string(kMaxSioLabelField) + " octets");
    std::map<std::string, RawParam> raw;
    tokenize(unfold(value), raw);
    SioLabel l;
    for (const auto& [name, p] : raw) {
        std::string v = assemble(name, p);
        if (name == "marking") {
            l.marking = std::move(v);
        } else if (name == "fgcolor") {
            l.fgcolor = std::move(v);
        } else if (name == "bgcolor") {
            l.bgcolor = std::move(v);
        } else if (name == "type") {
            if (v == ":ess")
                l.type = SioLabelType::Ess;
            else if (v == ":x411")
                l.type = SioLabelType::X411;
            else if (v == ":xml")
                l.type = SioLabelType::Xml;
            else
                malformed("unknown label type '" + v.substr(0, 32) + "'");
        } else if (name == "label") {
            l.label = base64_decode(v);
            if (l.label.size() > kMaxSioLabelOctets) malformed("label too long");
        } else {
            malformed("unknown parameter '" + name.substr(0, 32) + "'");
        }
    }
    check(l);
    if (l.type == SioLabelType::Ess) {
        try {
            l.ess = cms::decode_security_label(l.label);
        } catch (const Error& e) {
            malformed(std::string(":ess label: ") + e.what());
        }
    }
    return l;
}

std::string format_sio_label(const SioLabel& l)
{
    check(l);
    if (l.type == SioLabelType::Ess) {
        cms::SecurityLabel decoded;
        try {
            decoded = cms::decode_security_label(l.label);
        } catch (const Error& e) {
            malformed(std::string(":ess label: ") + e.what());
        }
        if (l.ess && *l.ess != decoded) malformed("ess and label disagree");
    }
    std::vector<std::string> pieces;
    if (l.marking) emit(pieces, "marking", *l.marking);
    if (l.fgcolor) pieces.push_back("fgcolor=" + *l.fgcolor);
    if (l.bgcolor) pieces.push_back("bgcolor=" + *l.bgcolor);
    if (l.type) {
        pieces.push_back("type=" + quote(sio_label_type_name(*l.type)));
        emit(pieces, "label", base64_encode(l.label));
    }
    FoldedValue out("SIO-Label");
    for (const auto& piece : pieces) out.add(";", piece);
    return out.value();
}

SioLabel sio_label_for(const cms::SecurityLabel& ess, std::optional<std::string> marking)
{
    SioLabel l;
    l.marking = std::move(marking);
    l.type = SioLabelType::Ess;
    l.label = cms::encode_security_label(ess);
    l.ess = cms::decode_security_label(l.label);  // categories in DER order, as parsing gives them
    check(l);
    return l;
}

}  // namespace ssm::smime::mime
