// Authentication-Results formatting and authserv-id recognition.
#include "milter/auth_results.h"

#include <cctype>

#include "base/ascii.h"
#include "smime/mime/header.h"

namespace ssm::milter {

namespace {

// RFC 8601 pvalues are tokens, addresses (local@domain) or quoted strings: quote the rest.
std::string value(std::string_view v)
{
    bool token = !v.empty();
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || std::string_view("()<>,;:\\\"/[]?=").find(c) != std::string_view::npos)
            token = false;
    }
    if (token) return std::string(v);
    std::string out = "\"";
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) continue;  // no control characters in a header
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

// Skips CFWS (whitespace and nested comments). Returns false on an unterminated comment.
bool skip_cfws(std::string_view s, std::size_t& i)
{
    for (;;) {
        while (i < s.size() && is_folding_space(s[i])) ++i;
        if (i >= s.size() || s[i] != '(') return true;
        int depth = 0;
        do {
            if (s[i] == '\\' && i + 1 < s.size()) {
                i += 2;
                continue;
            }
            if (s[i] == '(') ++depth;
            if (s[i] == ')') --depth;
            ++i;
        } while (i < s.size() && depth > 0);
        if (depth > 0) return false;
    }
}

}  // namespace

const char* smime_result_name(SmimeResult r)
{
    switch (r) {
    case SmimeResult::None: return "none";
    case SmimeResult::Pass: return "pass";
    case SmimeResult::Fail: return "fail";
    case SmimeResult::Policy: return "policy";
    case SmimeResult::Neutral: return "neutral";
    case SmimeResult::TempError: return "temperror";
    case SmimeResult::PermError: return "permerror";
    }
    return "none";
}

std::string format_auth_results(std::string_view authserv_id,
                                const std::vector<SmimeAuthResult>& results)
{
    // Each result on a line of its own, its properties folded where a line would pass 78
    // characters (RFC 8601 allows CFWS before a reasonspec and between propspecs).
    smime::mime::FoldedValue out("Authentication-Results");
    out.add("", authserv_id);
    if (results.empty()) {
        out.add(";", "none");
        return out.value();
    }
    for (const auto& r : results) {
        out.add_on_new_line(";", std::string("smime=") + smime_result_name(r.result));
        if (!r.reason.empty()) out.add("", "reason=" + value(r.reason));
        if (!r.identifier.empty()) out.add("", "body.smime-identifier=" + value(r.identifier));
        if (!r.part.empty()) out.add("", "body.smime-part=" + value(r.part));
        if (!r.serial.empty()) out.add("", "body.smime-serial=" + value(r.serial));
        if (!r.issuer.empty()) out.add("", "body.smime-issuer=" + value(r.issuer));
    }
    return out.value();
}

std::optional<std::string> auth_results_authserv_id(std::string_view s)
{
    std::size_t i = 0;
    if (!skip_cfws(s, i)) return std::nullopt;
    std::string id;
    if (i < s.size() && s[i] == '"') {
        for (++i; i < s.size() && s[i] != '"'; ++i) {
            if (s[i] == '\\' && i + 1 < s.size()) ++i;
            id.push_back(s[i]);
        }
        if (i >= s.size()) return std::nullopt;
        ++i;
    } else {
        while (i < s.size() && s[i] != ';' && s[i] != ' ' && s[i] != '\t' && s[i] != '(' &&
               s[i] != '\r' && s[i] != '\n')
            id.push_back(s[i++]);
    }
    if (id.empty()) return std::nullopt;
    return id;
}

bool claims_authserv_id(std::string_view value, std::string_view ours)
{
    const auto id = auth_results_authserv_id(value);
    if (!id) return true;  // unparseable: we cannot tell, so it must not survive beside ours
    // "mx.acme.example." names the same host as "mx.acme.example": a reader (or filter) that
    // compares host names takes either for ours.
    const auto absolute = [](std::string_view s) {
        return s.size() > 1 && s.back() == '.' ? s.substr(0, s.size() - 1) : s;
    };
    return iequals(absolute(*id), absolute(ours));
}

}  // namespace ssm::milter
