// Rule layering, the no-signing-oracle guarantee and signing-identity choice. Pure
// functions of configuration and the parsed message context.
#include "policy/policy.h"

#include <algorithm>

namespace ssm::policy {

Policy::Policy(std::vector<Rule> rules, std::vector<OwnDomain> domains, Treatment defaults)
    : m_rules(std::move(rules)), m_domains(std::move(domains)), m_defaults(std::move(defaults))
{
    for (std::size_t i = 0; i < m_rules.size(); ++i) {
        m_order.push_back(i);
        const Conditions& w = m_rules[i].when;
        // An inbound sender condition also reads the From field (match.h): planned again once
        // the header fields are known, like a header trigger.
        const bool inbound_sender = w.direction != Direction::Outbound && (!w.from.empty() || !w.from_group.empty());
        m_uses_headers = m_uses_headers || w.uses_headers() || inbound_sender;
        m_uses_groups = m_uses_groups || m_rules[i].when.uses_groups();
    }
    // Scope values are ordered user < domain < global; stable keeps file order inside.
    std::stable_sort(m_order.begin(), m_order.end(), [this](std::size_t a, std::size_t b) {
        return m_rules[a].scope < m_rules[b].scope;
    });
}

RecipientPlan Policy::plan(const MessageContext& msg, const EmailAddress& rcpt,
                           const GroupMembership* groups) const
{
    RecipientPlan plan{m_defaults, "default", Scope::Global, {}, {}, {}};
    for (std::size_t i : m_order) {
        const Rule& rule = m_rules[i];
        const MatchResult m = match(rule.when, msg, rcpt, groups);
        if (!m.matched) continue;
        plan.treatment = static_cast<const Treatment&>(rule);
        plan.rule_name = rule.name;
        plan.scope = rule.scope;
        plan.trigger = m.trigger;
        if (rule.strip_trigger && !rule.when.subject_tag.empty()) plan.strip_tag = rule.when.subject_tag;
        break;
    }
    Treatment& t = plan.treatment;
    const bool may_sign = msg.direction == Direction::Outbound && msg.origin.outbound();
    if (!may_sign && (t.sign != SignMode::None || !t.signing_identity.empty())) {
        plan.note = msg.direction == Direction::Inbound
                        ? "not signed: inbound mail is never signed"
                        : "not signed: the client neither authenticated nor is internal";
        t.sign = SignMode::None;
        t.signing_identity.clear();
    }
    if (msg.direction == Direction::Inbound && t.encrypt != EncryptMode::Never) {
        plan.note += std::string(plan.note.empty() ? "" : "; ") + "not encrypted: inbound";
        t.encrypt = EncryptMode::Never;
    }
    return plan;
}

RecipientPlan Policy::plan_recipient(Direction direction, const std::optional<EmailAddress>& from,
                                     const EmailAddress& rcpt) const
{
    MessageContext msg;
    msg.direction = direction;
    msg.origin.administrator = direction == Direction::Outbound;
    msg.from = from;
    return plan(msg, rcpt, nullptr);
}

std::optional<EmailAddress> Policy::domain_identity(const EmailAddress& author) const
{
    // The most specific [[domain]] wins, wherever it is written: sub.acme.example's own
    // identity is not shadowed by an acme.example entry above it.
    const OwnDomain* best = nullptr;
    for (const auto& d : m_domains)
        if (author.domain().is_or_under(d.name) && (!best || d.name.str().size() > best->name.str().size())) best = &d;
    if (!best) return std::nullopt;
    return best->signing_identity;
}

bool Policy::is_own_domain(const Domain& dom) const
{
    for (const auto& d : m_domains)
        if (dom.is_or_under(d.name)) return true;
    return false;
}

}  // namespace ssm::policy
