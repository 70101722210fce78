// Tokeniser for RFC 2045 structured values: tokens, quoted strings, comments (nested, with
// quoted-pairs) and folding whitespace. Input is untrusted; every loop advances and stops
// at the end of the value.
#include "smime/mime/content_type.h"

#include <algorithm>
#include <map>

#include "base/ascii.h"

namespace ssm::smime::mime {

namespace {

bool is_tspecial(char c)
{
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos;
}

class Lexer {
public:
    explicit Lexer(std::string_view s) : m_s(s) {}

    // Skips whitespace (folding line ends included) and comments.
    void skip_cfws()
    {
        while (m_i < m_s.size()) {
            const char c = m_s[m_i];
            if (is_folding_space(c)) {
                ++m_i;
            } else if (c == '(') {
                skip_comment();
            } else {
                break;
            }
        }
    }
    bool at_end() const { return m_i >= m_s.size(); }
    bool take(char c)
    {
        skip_cfws();
        if (m_i < m_s.size() && m_s[m_i] == c) {
            ++m_i;
            return true;
        }
        return false;
    }
    std::string token()
    {
        skip_cfws();
        const std::size_t start = m_i;
        while (m_i < m_s.size() && is_token_char(m_s[m_i])) ++m_i;
        return std::string(m_s.substr(start, m_i - start));
    }
    // A quoted string (without quotes, quoted-pairs resolved) or a token.
    std::optional<std::string> value()
    {
        skip_cfws();
        if (m_i < m_s.size() && m_s[m_i] == '"') {
            ++m_i;
            std::string out;
            while (m_i < m_s.size() && m_s[m_i] != '"') {
                if (m_s[m_i] == '\\' && m_i + 1 < m_s.size()) ++m_i;
                // Folding inside a quoted string is not part of the value.
                if (m_s[m_i] != '\r' && m_s[m_i] != '\n') out.push_back(m_s[m_i]);
                ++m_i;
            }
            if (m_i < m_s.size()) ++m_i;  // closing quote; an unterminated one ends the value
            return out;
        }
        std::string t = lenient_token();
        if (t.empty()) return std::nullopt;
        return t;
    }
    // An unquoted value. RFC 2045 wants tspecials such as '/' and '=' quoted, but MUAs send
    // `protocol=application/pkcs7-signature` and `boundary=----=_Part_1` bare, and every
    // mail reader accepts them: the value runs to ';', whitespace, a quote or a comment.
    std::string lenient_token()
    {
        skip_cfws();
        const std::size_t start = m_i;
        while (m_i < m_s.size()) {
            const auto u = static_cast<unsigned char>(m_s[m_i]);
            if (u <= 32 || u >= 127 || m_s[m_i] == ';' || m_s[m_i] == '"' || m_s[m_i] == '(') break;
            ++m_i;
        }
        return std::string(m_s.substr(start, m_i - start));
    }
    // Skips to the next ';' (or to the end): recovery from a bad parameter.
    void skip_to_semicolon()
    {
        while (m_i < m_s.size()) {
            const char c = m_s[m_i];
            if (c == '"') {
                value();
                continue;
            }
            if (c == '(') {
                skip_comment();
                continue;
            }
            if (c == ';') return;
            ++m_i;
        }
    }

private:
    void skip_comment()
    {
        int depth = 0;
        while (m_i < m_s.size()) {
            const char c = m_s[m_i++];
            if (c == '\\' && m_i < m_s.size()) {
                ++m_i;
            } else if (c == '(') {
                ++depth;
            } else if (c == ')') {
                if (--depth == 0) return;
            }
        }
    }

    std::string_view m_s;
    std::size_t m_i = 0;
};

std::string percent_decode(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const int hi = hex_digit_value(s[i + 1]);
            const int lo = hex_digit_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

// One RFC 2231 segment: name*N or name*N* or name*.
struct Segment {
    std::string value;
    bool encoded = false;
};

// Joins RFC 2231 segments (name*0, name*1*, ...) in order; stops at the first gap, as
// RFC 2231 §3 requires sequential numbering.
std::string join_segments(const std::map<unsigned, Segment>& segs)
{
    std::string out;
    unsigned expect = 0;
    for (const auto& [n, seg] : segs) {
        if (n != expect++) break;
        std::string_view v = seg.value;
        if (seg.encoded && n == 0) {
            // charset'language'text: the charset is not ours to convert; keep the octets.
            const auto q1 = v.find('\'');
            const auto q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
            if (q2 != std::string_view::npos) v = v.substr(q2 + 1);
        }
        out += seg.encoded ? percent_decode(v) : std::string(v);
    }
    return out;
}

}  // namespace

bool is_token_char(char c)
{
    const auto u = static_cast<unsigned char>(c);
    return u > 32 && u < 127 && !is_tspecial(c);
}

std::optional<std::string> ContentType::param(std::string_view name) const
{
    for (const auto& [k, v] : params)
        if (k == name) return v;
    return std::nullopt;
}

namespace {

// The parameters after the value's first part; `lx` stands after that part.
void parse_parameters(Lexer& lx, ContentType& ct)
{
    // RFC 2231 segmented parameters are gathered first, then joined.
    std::map<std::string, std::map<unsigned, Segment>> segmented;
    std::vector<std::string> order;
    std::vector<std::pair<std::string, std::string>> repeated;  // segments given twice
    for (;;) {
        lx.skip_cfws();
        if (lx.at_end()) break;
        if (!lx.take(';')) {
            lx.skip_to_semicolon();  // garbage between parameters
            continue;
        }
        std::string name = ascii_lowercase(lx.token());
        if (name.empty()) continue;  // ";;" or a trailing ';'
        if (!lx.take('=')) {
            lx.skip_to_semicolon();
            continue;
        }
        auto v = lx.value();
        if (!v) continue;
        const auto star = name.find('*');
        if (star == std::string::npos) {
            ct.params.emplace_back(name, *v);
            continue;
        }
        const std::string base = name.substr(0, star);
        std::string_view rest = std::string_view(name).substr(star + 1);
        Segment seg{*v, false};
        if (!rest.empty() && rest.back() == '*') {
            seg.encoded = true;
            rest.remove_suffix(1);
        } else if (rest.empty()) {
            seg.encoded = true;  // "name*=" : a single encoded segment
        }
        unsigned n = 0;
        bool ok = rest.size() <= 4;  // RFC 2231 numbers are small; refuse absurd ones
        for (char c : rest) {
            if (c < '0' || c > '9') ok = false;
            n = n * 10 + static_cast<unsigned>(c - '0');
        }
        if (!ok || base.empty()) continue;
        if (!segmented.count(base)) order.push_back(base);
        // A segment number given twice ("boundary*0=a; boundary*0=b") is the parameter given
        // twice: the first is joined, the other listed after it, so that a caller that refuses
        // repeated parameters (readers differ on which counts) sees it.
        if (auto& segs = segmented[base]; segs.count(n))
            repeated.emplace_back(base, std::move(seg.value));
        else
            segs.emplace(n, std::move(seg));
    }
    for (const auto& base : order) {
        // A plain parameter of the same name, if present, was listed first and wins.
        ct.params.emplace_back(base, join_segments(segmented[base]));
    }
    for (auto& r : repeated) ct.params.push_back(std::move(r));
}

}  // namespace

std::optional<ContentType> parse_content_type(std::string_view value)
{
    Lexer lx(value);
    ContentType ct;
    ct.type = ascii_lowercase(lx.token());
    if (ct.type.empty() || !lx.take('/')) return std::nullopt;
    ct.subtype = ascii_lowercase(lx.token());
    if (ct.subtype.empty()) return std::nullopt;
    parse_parameters(lx, ct);
    return ct;
}

std::optional<ContentType> parse_content_disposition(std::string_view value)
{
    Lexer lx(value);
    ContentType cd;
    cd.type = ascii_lowercase(lx.token());
    if (cd.type.empty()) return std::nullopt;
    parse_parameters(lx, cd);
    return cd;
}

std::string parse_transfer_encoding(std::string_view value)
{
    // RFC 2045 §6.1 makes the mechanism a token, but some senders quote it ("base64"), and
    // read as a token it was "" (identity): a quoted base64 CMS body was then parsed as DER and
    // failed. A quoted string holding exactly a token is that token. Safe for what the
    // encoding is used for: the transfer encoding is outside every signature (a CMS object
    // authenticates its own content, a multipart/signed part is hashed as received) and
    // decoding a body that is not what it claims fails, it cannot forge anything; every part
    // is read the same way, so no two parsers of ours disagree. Anything else quoted stays "".
    // Text after the mechanism (base64 x, "base64" x) is not RFC 2045 either: the first token
    // (or quoted token) is the mechanism, as Python's email parser reads base64 x (noting
    // "Extra text after content transfer encoding"), and OpenSSL decodes a pkcs7-mime body
    // as base64 whatever the field says. The same safety argument holds: outside every
    // signature, and a body that is not what the field claims fails to decode.
    if (Lexer probe(value); probe.take('"')) {
        Lexer lx(value);
        const auto quoted = lx.value();
        const bool is_token = quoted && !quoted->empty() &&
                              std::all_of(quoted->begin(), quoted->end(), [](char c) { return is_token_char(c); });
        return is_token ? ascii_lowercase(*quoted) : std::string();
    }
    Lexer lx(value);
    return ascii_lowercase(lx.token());
}

std::string_view without_trailing_blanks(std::string_view value)
{
    while (!value.empty() && is_folding_space(value.back()))
        value.remove_suffix(1);
    return value;
}

std::optional<std::string> value_closer(std::string_view value)
{
    bool quoted = false;
    std::size_t comments = 0;  // open comments (they nest, RFC 5322 §3.2.2)
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (quoted || comments > 0) {
            if (c == '\\') {
                if (i + 1 == value.size()) return std::nullopt;
                ++i;
            } else if (quoted && c == '"') {
                quoted = false;
            } else if (!quoted && c == '(') {
                ++comments;
            } else if (!quoted && c == ')') {
                --comments;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == '(') {
            comments = 1;
        }
    }
    if (quoted) return std::string("\"");
    return std::string(comments, ')');
}

}  // namespace ssm::smime::mime
