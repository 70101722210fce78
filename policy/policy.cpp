// Rule matching and signing-identity choice. Pure functions of configuration and
// parsed envelope values.
#include "policy/policy.h"

namespace ssm::policy {

const char* direction_name(Direction d)
{
    return d == Direction::Inbound ? "inbound" : "outbound";
}

const char* sign_mode_name(SignMode m)
{
    switch (m) {
    case SignMode::Sender: return "sender";
    case SignMode::Domain: return "domain";
    case SignMode::None: return "none";
    }
    return "none";
}

const char* encrypt_mode_name(EncryptMode m)
{
    switch (m) {
    case EncryptMode::Mandatory: return "mandatory";
    case EncryptMode::Opportunistic: return "opportunistic";
    case EncryptMode::Never: return "never";
    }
    return "never";
}

std::optional<Direction> parse_direction(std::string_view s)
{
    if (s == "inbound" || s == "in") return Direction::Inbound;
    if (s == "outbound" || s == "out") return Direction::Outbound;
    return std::nullopt;
}

std::optional<SignMode> parse_sign_mode(std::string_view s)
{
    if (s == "sender") return SignMode::Sender;
    if (s == "domain") return SignMode::Domain;
    if (s == "none") return SignMode::None;
    return std::nullopt;
}

std::optional<EncryptMode> parse_encrypt_mode(std::string_view s)
{
    if (s == "mandatory") return EncryptMode::Mandatory;
    if (s == "opportunistic") return EncryptMode::Opportunistic;
    if (s == "never") return EncryptMode::Never;
    return std::nullopt;
}

std::optional<EncryptTarget> parse_encrypt_target(std::string_view s)
{
    if (s == "recipient") return EncryptTarget::Recipient;
    if (s == "domain") return EncryptTarget::Domain;
    return std::nullopt;
}

std::optional<OnMissing> parse_on_missing(std::string_view s)
{
    if (s == "reject") return OnMissing::Reject;
    if (s == "tag") return OnMissing::Tag;
    return std::nullopt;
}

std::optional<AddressPattern> AddressPattern::parse(std::string_view text)
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
    if (!a || text.find('<') != std::string_view::npos) return std::nullopt;
    AddressPattern p(Kind::Address, std::string(text));
    p.m_address = std::move(a);
    return p;
}

bool AddressPattern::matches(const std::optional<EmailAddress>& addr) const
{
    if (m_kind == Kind::Any) return true;
    if (!addr) return false;
    switch (m_kind) {
    case Kind::Any: return true;
    case Kind::Address: return addr->same_as(*m_address);
    case Kind::Domain: return addr->domain() == *m_domain;
    case Kind::Subdomains:
        return addr->domain().is_or_under(*m_domain) && !(addr->domain() == *m_domain);
    }
    return false;
}

namespace {

bool any_matches(const std::vector<AddressPattern>& patterns, const std::optional<EmailAddress>& a)
{
    if (patterns.empty()) return true;
    for (const auto& p : patterns)
        if (p.matches(a)) return true;
    return false;
}

}  // namespace

RecipientPlan Policy::plan_recipient(Direction direction, const std::optional<EmailAddress>& from,
                                     const EmailAddress& rcpt) const
{
    for (const auto& rule : m_rules) {
        if (rule.direction && *rule.direction != direction) continue;
        if (!any_matches(rule.from, from)) continue;
        if (!any_matches(rule.to, std::optional<EmailAddress>(rcpt))) continue;
        RecipientPlan plan{{rule.sign, rule.encrypt, rule.encrypt_to, rule.require_signature,
                            rule.require_encryption, rule.on_missing},
                           {},
                           rule.name};
        plan.required_policies = rule.required_policies;
        if (direction == Direction::Inbound) plan.treatment.sign = SignMode::None;
        return plan;
    }
    return RecipientPlan{{SignMode::None, EncryptMode::Never}, {}, "default"};
}

std::optional<EmailAddress> Policy::domain_identity(const EmailAddress& author) const
{
    for (const auto& d : m_domains)
        if (author.domain().is_or_under(d.name)) return d.signing_identity;
    return std::nullopt;
}

bool Policy::is_own_domain(const Domain& dom) const
{
    for (const auto& d : m_domains)
        if (dom.is_or_under(d.name)) return true;
    return false;
}

}  // namespace ssm::policy
