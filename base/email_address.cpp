// Address and domain parsing for envelope and header values (untrusted input).
#include "base/email_address.h"

#include <algorithm>
#include <cctype>

#include "base/ascii.h"

namespace ssm {

namespace {

bool is_label_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<Domain> Domain::parse(std::string_view text)
{
    if (!text.empty() && text.back() == '.') text.remove_suffix(1);
    if (text.empty() || text.size() > 253) return std::nullopt;
    std::size_t label_len = 0;
    char prev = '.';
    for (char c : text) {
        // A label neither starts nor ends with a hyphen (RFC 1123).
        if ((c == '.' && prev == '-') || (c == '-' && prev == '.')) return std::nullopt;
        prev = c;
        if (c == '.') {
            if (label_len == 0) return std::nullopt;
            label_len = 0;
        } else if (is_label_char(c)) {
            if (++label_len > 63) return std::nullopt;
        } else {
            return std::nullopt;
        }
    }
    if (label_len == 0 || prev == '-') return std::nullopt;
    return Domain(ascii_lowercase(text));
}

bool Domain::is_or_under(const Domain& parent) const
{
    if (m_name == parent.m_name) return true;
    return m_name.size() > parent.m_name.size() &&
           m_name.compare(m_name.size() - parent.m_name.size(), parent.m_name.size(),
                          parent.m_name) == 0 &&
           m_name[m_name.size() - parent.m_name.size() - 1] == '.';
}

std::optional<EmailAddress> EmailAddress::parse(std::string_view text)
{
    text = trim(text);
    // "Display Name <addr>" or "<addr>": take what is inside the last angle brackets.
    const auto open = text.rfind('<');
    if (open != std::string_view::npos) {
        const auto close = text.find('>', open);
        if (close == std::string_view::npos) return std::nullopt;
        text = trim(text.substr(open + 1, close - open - 1));
    }
    if (text.empty() || text.size() > 254) return std::nullopt;
    const auto at = text.rfind('@');
    if (at == std::string_view::npos || at == 0 || at > 64) return std::nullopt;
    const std::string_view local = text.substr(0, at);
    for (char c : local) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',') return std::nullopt;
    }
    auto domain = Domain::parse(text.substr(at + 1));
    if (!domain) return std::nullopt;
    return EmailAddress(std::string(local), std::move(*domain));
}

bool EmailAddress::same_as(const EmailAddress& o) const
{
    return m_domain == o.m_domain && iequals(m_local, o.m_local);
}

}  // namespace ssm
