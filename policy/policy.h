// The policy: rules in layers (user, domain, global; first match within a layer) over
// explicit defaults, deciding per recipient how a message is treated. Pure decisions over
// parsed values; the only outside question is group membership, asked through an interface.
// Rules come from the administrator (trusted); the message context from SMTP (untrusted).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/email_address.h"
#include "policy/address_pattern.h"
#include "policy/match.h"
#include "policy/rule.h"
#include "policy/treatment.h"

namespace ssm::policy {

// One of our own domains and the identity that signs for it (RFC 3183).
struct OwnDomain {
    Domain name;
    EmailAddress signing_identity;  // default domain-signing-authority@<name>
};

struct RecipientPlan {
    Treatment treatment;
    std::string rule_name;  // the deciding rule, or "default" when none matched
    Scope scope = Scope::Global;
    std::string trigger;    // the header condition that made the rule match, if any
    std::string strip_tag;  // the Subject tag to remove (strip_trigger and the tag matched)
    // Why the treatment differs from the rule's ("not signed: inbound", ...), for ssmctl.
    std::string note;
};

class Policy {
public:
    Policy() = default;
    // `defaults` is the plan when no rule matches ([policy] in the configuration).
    Policy(std::vector<Rule> rules, std::vector<OwnDomain> domains, Treatment defaults = {});

    // User rules first, then domain rules, then global ones; within a layer the first
    // matching rule in configuration order decides. Whatever a rule says, the plan never
    // signs unless the message is outbound and its origin is one the milter trusts
    // (authenticated, internal network, originating daemon, or an administrator's test):
    // otherwise the gateway would be a signing oracle for the Internet. Inbound plans never
    // encrypt either (only the inbound requirements of §3.5 apply).
    // Throws ssm::Error(Failure::DirectoryUnavailable) when a group condition must be
    // evaluated and `groups` is null or cannot answer.
    RecipientPlan plan(const MessageContext& msg, const EmailAddress& rcpt,
                       const GroupMembership* groups = nullptr) const;

    // Tools and tests: the caller asserts the direction (Origin::administrator).
    RecipientPlan plan_recipient(Direction direction, const std::optional<EmailAddress>& from,
                                 const EmailAddress& rcpt) const;

    // The signing identity for a message from `author` under SignMode::Domain (and the
    // fallback of SignMode::Sender): the identity of the author's own domain.
    std::optional<EmailAddress> domain_identity(const EmailAddress& author) const;
    bool is_own_domain(const Domain& d) const;
    const std::vector<OwnDomain>& domains() const { return m_domains; }  // configuration order

    // Whether a plan may change once the header fields are known: a header trigger, or a
    // sender condition of a rule that applies inbound (it reads From too).
    bool uses_headers() const { return m_uses_headers; }
    bool uses_groups() const { return m_uses_groups; }
    const std::vector<Rule>& rules() const { return m_rules; }  // configuration order
    const Treatment& defaults() const { return m_defaults; }

private:
    std::vector<Rule> m_rules;
    std::vector<std::size_t> m_order;  // evaluation order: indexes into m_rules
    std::vector<OwnDomain> m_domains;
    Treatment m_defaults;
    bool m_uses_headers = false;
    bool m_uses_groups = false;
};

}  // namespace ssm::policy
