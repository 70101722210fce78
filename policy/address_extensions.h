// Which address-extension delimiter applies to an address, by its domain. Our MTA's delimiter
// ([policy] recipient_delimiter) is ours alone: it says nothing about how a partner's mail
// system reads a local part, so a partner domain gets its own (partner_recipient_delimiters)
// or the conservative default for partners (partner_recipient_delimiter, "+").
// SECURITY: the cut decides whose certificate an extended recipient is encrypted to when it has
// none of its own (milter/certificates.h), so a delimiter applied to the wrong domain encrypts to
// the wrong person ("alice-smith@partner" to alice@partner's certificate). The sets are
// configuration (trusted); addresses are parsed envelope or header values (untrusted).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/email_address.h"
#include "policy/recipient_delimiter.h"

namespace ssm::policy {

class AddressExtensions {
public:
    // A partner domain's own delimiter set (its mail system's, as its administrators say).
    struct Partner {
        Domain domain;
        RecipientDelimiter delimiter;
    };

    // No extensions anywhere.
    AddressExtensions() = default;
    // `own` for our domains and their subdomains ([[domain]]); `partners` for exactly those
    // domains (each at most once, none of ours: the loader checks); `other_partners` for every
    // other domain.
    AddressExtensions(std::vector<Domain> own_domains, RecipientDelimiter own, std::vector<Partner> partners,
                      RecipientDelimiter other_partners);
    // One delimiter set for every domain (tools and tests that are not about domains).
    static AddressExtensions everywhere(const RecipientDelimiter& delimiter);

    // The set that applies to addresses of `domain`.
    const RecipientDelimiter& delimiter_for(const Domain& domain) const;
    // The address without its extension under its domain's set (RecipientDelimiter::base_of).
    std::optional<EmailAddress> base_of(const EmailAddress& address) const
    {
        return delimiter_for(address.domain()).base_of(address);
    }

    const RecipientDelimiter& own() const { return m_own; }
    const RecipientDelimiter& other_partners() const { return m_other_partners; }
    const std::vector<Partner>& partners() const { return m_partners; }

    // What the administrator may believe in force but is not, one sentence each (logged at
    // start-up and by ssm-milter -n): without a [[domain]] no address is ours, so
    // recipient_delimiter applies to none, and a rule for ceo@ours with "-" our delimiter
    // silently misses ceo-x@ours (the rule meant to encrypt it does not apply).
    std::vector<std::string> warnings() const;

private:
    std::vector<Domain> m_own_domains;
    RecipientDelimiter m_own;
    std::vector<Partner> m_partners;
    RecipientDelimiter m_other_partners;
};

}  // namespace ssm::policy
