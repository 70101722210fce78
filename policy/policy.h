// The policy model: rules that decide, per recipient, how a message is treated.
// Pure decisions over parsed values; no I/O. Rules come from the administrator's
// configuration (trusted); addresses come from the SMTP envelope (untrusted, parsed).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/email_address.h"

namespace ssm::policy {

enum class Direction { Inbound, Outbound };
enum class SignMode { Sender, Domain, None };
enum class EncryptMode { Mandatory, Opportunistic, Never };
// What happens to inbound mail that lacks a required signature or encryption (§3.5).
enum class OnMissing { Reject, Tag };

// Whose certificate encryption uses (Open Group S/MIME Secure Messaging modes).
enum class EncryptTarget { Recipient, Domain };

const char* direction_name(Direction d);
const char* sign_mode_name(SignMode m);
const char* encrypt_mode_name(EncryptMode m);
std::optional<Direction> parse_direction(std::string_view s);  // "inbound"/"in", "outbound"/"out"
std::optional<SignMode> parse_sign_mode(std::string_view s);
std::optional<EncryptMode> parse_encrypt_mode(std::string_view s);
std::optional<EncryptTarget> parse_encrypt_target(std::string_view s);
std::optional<OnMissing> parse_on_missing(std::string_view s);

// An address pattern from configuration:
//   "alice@acme.example"  one address
//   "*@acme.example"      every address of one domain
//   "*@*.acme.example"    every address of the subdomains of a domain (not the domain itself)
//   "*"                   anyone (also the null sender)
class AddressPattern {
public:
    static std::optional<AddressPattern> parse(std::string_view text);
    // A null reverse-path (bounce) is matched only by "*".
    bool matches(const std::optional<EmailAddress>& addr) const;
    const std::string& text() const { return m_text; }

private:
    enum class Kind { Any, Address, Domain, Subdomains };
    AddressPattern(Kind k, std::string text) : m_kind(k), m_text(std::move(text)) {}
    Kind m_kind;
    std::string m_text;
    std::optional<EmailAddress> m_address;
    std::optional<Domain> m_domain;
};

struct Rule {
    std::string name;
    std::optional<Direction> direction;     // unset: both directions
    std::vector<AddressPattern> from;       // empty: any sender
    std::vector<AddressPattern> to;         // empty: any recipient
    SignMode sign = SignMode::None;
    EncryptMode encrypt = EncryptMode::Never;
    EncryptTarget encrypt_to = EncryptTarget::Recipient;
    std::vector<std::string> required_policies{};  // inbound: signer certificate policy OIDs
    bool require_signature = false;   // inbound: a valid signature is required
    bool require_encryption = false;  // inbound: the message must have been encrypted
    OnMissing on_missing = OnMissing::Reject;
};

// One of our own domains and the identity that signs for it (RFC 3183).
struct OwnDomain {
    Domain name;
    EmailAddress signing_identity;  // default domain-signing-authority@<name>
};

// The treatment of one recipient. Two recipients can share one message only when
// their treatments are equal (a milter cannot split a message).
struct Treatment {
    SignMode sign = SignMode::None;
    EncryptMode encrypt = EncryptMode::Never;
    EncryptTarget encrypt_to = EncryptTarget::Recipient;
    bool require_signature = false;
    bool require_encryption = false;
    OnMissing on_missing = OnMissing::Reject;
    bool operator==(const Treatment& o) const
    {
        return sign == o.sign && encrypt == o.encrypt && encrypt_to == o.encrypt_to &&
               require_signature == o.require_signature &&
               require_encryption == o.require_encryption && on_missing == o.on_missing;
    }
};

struct RecipientPlan {
    Treatment treatment;
    std::vector<std::string> required_policies;  // inbound partner rule's policy OIDs
    std::string rule_name;  // the deciding rule, or "default" when none matched
};

class Policy {
public:
    Policy() = default;
    Policy(std::vector<Rule> rules, std::vector<OwnDomain> domains)
        : m_rules(std::move(rules)), m_domains(std::move(domains)) {}

    // First matching rule wins; no match means neither sign nor encrypt.
    // Inbound mail is never signed whatever a rule says: a gateway that signed
    // unauthenticated mail from the Internet would be a signing oracle.
    RecipientPlan plan_recipient(Direction direction, const std::optional<EmailAddress>& from,
                                 const EmailAddress& rcpt) const;

    // The signing identity address for a message from `author`: for SignMode::Domain
    // the domain's identity; for SignMode::Sender the author first (the caller falls back
    // to domain_identity when the token holds no key for the author).
    std::optional<EmailAddress> domain_identity(const EmailAddress& author) const;
    bool is_own_domain(const Domain& d) const;

    const std::vector<Rule>& rules() const { return m_rules; }

private:
    std::vector<Rule> m_rules;
    std::vector<OwnDomain> m_domains;
};

}  // namespace ssm::policy
