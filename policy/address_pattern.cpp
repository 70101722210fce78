// Address pattern parsing and matching, and list files of patterns. Patterns are
// configuration (trusted); matched addresses are parsed envelope values.
#include "policy/address_pattern.h"

#include <stdexcept>

namespace ssm::policy {

std::optional<AddressPattern> AddressPattern::parse(std::string_view text, const AddressExtensions& extensions)
{
    if (text == "*") return AddressPattern(Kind::Any, std::string(text));
    if (text.rfind("*@*.", 0) == 0) {
        auto d = Domain::parse(text.substr(4));
        if (!d) return std::nullopt;
        AddressPattern p(Kind::Subdomains, std::string(text));
        p.m_domain = std::move(d);
        return p;
    }
    if (text.rfind("*@", 0) == 0 || text.rfind("@", 0) == 0) {
        auto d = Domain::parse(text.substr(text.find('@') + 1));
        if (!d) return std::nullopt;
        AddressPattern p(Kind::Domain, std::string(text));
        p.m_domain = std::move(d);
        return p;
    }
    auto a = EmailAddress::parse(text);
    if (!a || text.find('<') != std::string_view::npos || text.find('*') != std::string_view::npos)
        return std::nullopt;
    AddressPattern p(Kind::Address, std::string(text));
    p.m_delimiter = extensions.delimiter_for(a->domain());
    p.m_address = std::move(a);
    return p;
}

std::string AddressPattern::domain_refusal(std::string_view text)
{
    std::string why;
    if (text.rfind("*@*.", 0) == 0)
        why = Domain::refusal(text.substr(4));
    else if (text.rfind("*@", 0) == 0 || text.rfind("@", 0) == 0)
        why = Domain::refusal(text.substr(text.find('@') + 1));
    else
        return EmailAddress::domain_refusal(text);
    return why.empty() ? why : "in its domain, " + why;
}

bool AddressPattern::matches(const std::optional<EmailAddress>& addr) const
{
    Cut base;
    return matches(addr, base);
}

bool AddressPattern::matches(const std::optional<EmailAddress>& addr, Cut& base) const
{
    if (m_kind == Kind::Any) return true;
    if (!addr) return false;
    switch (m_kind) {
    case Kind::Any: return true;
    case Kind::Address:
        if (addr->same_as(*m_address)) return true;
        // Only an address of the pattern's own domain can have it as its base: the cut (an
        // address parse) is made for those alone, and once for the whole list.
        if (!(addr->domain() == m_address->domain())) return false;
        // ceo+x@ reaches ceo's mailbox: a rule for ceo must not be escaped by an extension.
        if (!base) base = m_delimiter.base_of(*addr);
        return *base && (*base)->same_as(*m_address);
    case Kind::Domain: return addr->domain() == *m_domain;
    case Kind::Subdomains:
        return addr->domain().is_or_under(*m_domain) && !(addr->domain() == *m_domain);
    }
    return false;
}

bool AddressList::matches(const std::optional<EmailAddress>& addr) const
{
    AddressPattern::Cut base;  // made by the first entry of the address's domain, if any
    for (const auto& p : patterns)
        if (p.matches(addr, base)) return true;
    return false;
}

AddressList parse_address_list(std::string_view text, const std::string& name, const AddressExtensions& extensions)
{
    AddressList list{name, {}};
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        std::size_t col = 0;
        while (col < line.size() && (line[col] == ' ' || line[col] == '\t')) ++col;
        line = line.substr(col);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
            line.remove_suffix(1);
        if (line.empty()) continue;
        auto p = AddressPattern::parse(line, extensions);
        if (!p)
            throw std::invalid_argument(name + ":" + std::to_string(line_no) + ":" +
                                        std::to_string(col + 1) + ": '" + std::string(line) +
                                        "' is not an address pattern (addr, *@domain, *@*.domain or *)" +
                                        refusal_suffix(AddressPattern::domain_refusal(line)));
        list.patterns.push_back(std::move(*p));
    }
    return list;
}

}  // namespace ssm::policy
