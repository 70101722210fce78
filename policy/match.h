// The conditions of a [[rule]] and what they are matched against: direction, sender and
// recipient (patterns, list files, directory groups), client network, SMTP AUTH user, and
// header triggers (Subject tag, "Name: value" patterns). Conditions are configuration
// (trusted); the message context is SMTP input (untrusted, parsed or matched as text only).
#pragma once
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/email_address.h"
#include "policy/address_pattern.h"
#include "policy/treatment.h"
#include "smime/mime/header.h"

namespace ssm::policy {

// Directory groups asked by `from_group`/`to_group` conditions (an LDAP implementation
// lives in directory/). Throws ssm::Error(Failure::DirectoryUnavailable) when the
// directory cannot answer, so that the MTA retries rather than a rule silently not applying.
class GroupMembership {
public:
    virtual ~GroupMembership() = default;
    // `group` as written in the rule: a DN or a name the implementation resolves.
    virtual bool is_member(const EmailAddress& address, const std::string& group) const = 0;
};

// A client network of a `client` condition. The CIDR arithmetic is the milter's (shared
// with internal_networks); the configuration loader hands it in through this interface.
class ClientNetwork {
public:
    virtual ~ClientNetwork() = default;
    virtual bool contains(const sockaddr* client) const = 0;
    virtual const std::string& text() const = 0;
};

// Why a message counts as outbound (PRODUCT §1). Signing needs at least one of them:
// the gateway must never sign mail an unauthenticated Internet client handed it.
struct Origin {
    bool authenticated = false;       // SMTP AUTH ({auth_authen} set)
    bool internal_network = false;    // the client address is in internal_networks
    bool originating_daemon = false;  // {daemon_name} is one of originating_daemons
    bool administrator = false;       // ssmctl --direction out: the administrator says so
    bool reinjected = false;          // a copy this gateway split off an outbound message
    bool outbound() const
    {
        return authenticated || internal_network || originating_daemon || administrator || reinjected;
    }
};

// What is known about the message when a plan is made. At RCPT the headers are not
// known yet (headers == nullptr): header triggers then do not match, and the milter plans
// again once it has them.
struct MessageContext {
    Direction direction = Direction::Inbound;
    Origin origin;
    std::optional<EmailAddress> from;       // envelope sender; nullopt: null reverse-path
    std::optional<sockaddr_storage> client; // client address, when the MTA gave one
    std::string auth_user;                  // {auth_authen}; empty: not authenticated
    const std::vector<smime::mime::HeaderField>* headers = nullptr;
};

// "Name: value-pattern": the field name (case-insensitive) and a glob ('*' any run,
// '?' one character; case-insensitive) over the unfolded, trimmed value.
class HeaderPattern {
public:
    static std::optional<HeaderPattern> parse(std::string_view text);
    bool matches(const std::vector<smime::mime::HeaderField>& headers) const;
    const std::string& text() const { return m_text; }

private:
    std::string m_text, m_name, m_glob;
};

// The Subject tag of a header trigger, e.g. "[encrypt]", matched case-insensitively in the
// field value as sent and, failing that, in its RFC 2047 decoded text (a client encodes the
// whole Subject once it holds one non-ASCII character: "=?iso-8859-1?Q?=5Bencrypt=5D_...").
bool has_tag(std::string_view subject, std::string_view tag);
// The Subject without the tag (first occurrence), with the space around it tidied. When the
// tag was found only in the decoded text, the rest is encoded again (UTF-8 encoded-words).
std::string strip_tag(std::string_view subject, std::string_view tag);
// The value of the first Subject field, if any.
const smime::mime::HeaderField* subject_field(const std::vector<smime::mime::HeaderField>& headers);

// All conditions present must hold. Within the sender (from, from_list, from_group) and
// within the recipient (to, to_list, to_group) any one listed entry is enough; a role with
// no entries matches everyone. The sender is the envelope sender; inbound, once the header
// fields are known, any address of the From field matches too (the reader sees From; an
// outside sender chooses both), the first 16 of them for groups.
struct Conditions {
    std::optional<Direction> direction;
    std::vector<AddressList> from;   // the inline `from` array and the `from_list` file
    std::vector<std::string> from_group;
    std::vector<AddressList> to;
    std::vector<std::string> to_group;
    std::vector<std::shared_ptr<const ClientNetwork>> client;
    std::optional<bool> authenticated;      // true: AUTH used; false: not used
    std::vector<std::string> authenticated_as;  // AUTH user is one of these (exactly, case too)
    std::string subject_tag;                // empty: no Subject condition
    std::vector<HeaderPattern> header;      // any one of them
    // The address extensions by domain ([policy] recipient_delimiter and the partners'): a
    // group is also asked about the address without its extension, as the one-address
    // patterns of `from` and `to` match it (address_pattern.h).
    AddressExtensions extensions;

    bool uses_headers() const { return !subject_tag.empty() || !header.empty(); }
    bool uses_groups() const { return !from_group.empty() || !to_group.empty(); }
};

struct MatchResult {
    bool matched = false;
    std::string trigger;  // the header condition that matched ("Subject tag [encrypt]", ...)
};

// Whether the conditions hold for one recipient. `groups` may be null when no directory
// is configured: a group condition then throws ssm::Error(Failure::DirectoryUnavailable).
MatchResult match(const Conditions& c, const MessageContext& msg, const EmailAddress& rcpt,
                  const GroupMembership* groups);

}  // namespace ssm::policy
