// Helpers shared by the policy tests: parsed values from literals, and group membership from
// a table (the unit tests exercise the policy's use of the interface; directory/ tests the
// LDAP implementation against a real slapd).
#pragma once
#include <arpa/inet.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "base/error.h"
#include "policy/policy.h"

namespace ssm::test {

// The same delimiter set for every domain (policy::AddressExtensions::everywhere).
inline policy::AddressExtensions extensions(const char* delimiter)
{
    return policy::AddressExtensions::everywhere(*policy::RecipientDelimiter::parse(delimiter));
}

// `delimiter`: the recipient_delimiter characters, for every domain; "" (off) unless a test is
// about extensions.
inline policy::AddressPattern pattern(const char* s, const char* delimiter = "")
{
    auto p = policy::AddressPattern::parse(s, extensions(delimiter));
    if (!p) throw std::runtime_error(std::string("bad pattern ") + s);
    return *p;
}

inline policy::AddressList patterns(std::initializer_list<const char*> list, const char* source = "to")
{
    policy::AddressList l{source, {}};
    for (const char* s : list) l.patterns.push_back(pattern(s));
    return l;
}

inline std::optional<EmailAddress> address(const std::string& s)
{
    if (s.empty()) return std::nullopt;
    auto a = EmailAddress::parse(s);
    if (!a) throw std::runtime_error("bad address " + s);
    return a;
}

inline std::optional<sockaddr_storage> ip(const std::string& text)
{
    if (text.empty()) return std::nullopt;
    sockaddr_storage ss{};
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        return ss;
    }
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        return ss;
    }
    throw std::runtime_error("bad IP " + text);
}

// Members per group name; a group named "unreachable" answers like a directory that is down.
class TableGroups final : public policy::GroupMembership {
public:
    void add(const std::string& group, const std::string& member) { m_members[group].insert(member); }
    bool is_member(const EmailAddress& a, const std::string& group) const override
    {
        ++questions;
        if (group == "unreachable") throw Error(Failure::DirectoryUnavailable, "ldap down");
        auto it = m_members.find(group);
        return it != m_members.end() && it->second.count(a.str()) > 0;
    }
    mutable int questions = 0;

private:
    std::map<std::string, std::set<std::string>> m_members;
};

}  // namespace ssm::test
