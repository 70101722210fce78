// The delimiter set of an address's domain: ours, a listed partner's, or the partners' default.
// Domains are parsed values; the sets are configuration.
#include "policy/address_extensions.h"

namespace ssm::policy {

AddressExtensions::AddressExtensions(std::vector<Domain> own_domains, RecipientDelimiter own,
                                     std::vector<Partner> partners, RecipientDelimiter other_partners)
    : m_own_domains(std::move(own_domains)),
      m_own(std::move(own)),
      m_partners(std::move(partners)),
      m_other_partners(std::move(other_partners))
{
}

AddressExtensions AddressExtensions::everywhere(const RecipientDelimiter& delimiter)
{
    return AddressExtensions({}, delimiter, {}, delimiter);
}

const RecipientDelimiter& AddressExtensions::delimiter_for(const Domain& domain) const
{
    // Ours as Policy::is_own_domain decides: the [[domain]] and everything under it, since our
    // MTA delivers for all of them.
    for (const auto& d : m_own_domains)
        if (domain.is_or_under(d)) return m_own;
    // A partner's setting names one mail domain exactly: a subdomain may be another system.
    for (const auto& p : m_partners)
        if (domain == p.domain) return p.delimiter;
    return m_other_partners;
}

std::vector<std::string> AddressExtensions::warnings() const
{
    std::vector<std::string> out;
    // Equal sets make no difference: the default "+" for both, or "" for both.
    if (m_own_domains.empty() && m_own.chars() != m_other_partners.chars())
        out.push_back("[policy] recipient_delimiter \"" + m_own.chars() +
                      "\" applies to no address: no [[domain]] is configured, so every domain counts as a "
                      "partner's and partner_recipient_delimiter (\"" + m_other_partners.chars() +
                      "\") or partner_recipient_delimiters cut its extensions; name our domains in [[domain]]");
    return out;
}

}  // namespace ssm::policy
