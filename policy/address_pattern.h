// Address patterns of rule conditions (`from`, `to`, and the lines of `from_list`/`to_list`
// files). Patterns come from the administrator (trusted, checked when parsed); the addresses
// they are matched against come from the SMTP envelope (untrusted, already parsed).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/email_address.h"
#include "policy/address_extensions.h"
#include "policy/recipient_delimiter.h"

namespace ssm::policy {

// An address pattern from configuration:
//   "alice@acme.example"  one address (local part compared case-insensitively), and, with
//                         a recipient delimiter for its domain, its extensions
//                         ("alice+x@acme.example"): the MTA delivers those to alice's mailbox
//                         (Postfix tries the full address first, then the address without
//                         extension)
//   "*@acme.example"      every address of one domain (also written "@acme.example")
//   "*@*.acme.example"    every address of the subdomains of a domain (not the domain itself)
//   "*"                   anyone (also the null sender)
class AddressPattern {
public:
    // `extensions`: the delimiters by domain; a one-address pattern keeps its own domain's.
    static std::optional<AddressPattern> parse(std::string_view text, const AddressExtensions& extensions);
    // When parse refuses `text` for its domain: why ("in its domain, " and Domain::refusal's
    // reason), for the administrator's error message; otherwise empty.
    static std::string domain_refusal(std::string_view text);
    // A null reverse-path (bounce) is matched only by "*".
    bool matches(const std::optional<EmailAddress>& addr) const;
    // The address without its extension, as this pattern's delimiter cuts it (nullopt: none).
    using Cut = std::optional<std::optional<EmailAddress>>;
    // matches() with `base`, the cut of `addr` made by an earlier pattern of the same list (a
    // pattern cuts only addresses of its own domain, so all that cut `addr` share its domain's
    // delimiter), or made here and stored in it when empty and needed: one cut per list.
    bool matches(const std::optional<EmailAddress>& addr, Cut& base) const;
    const std::string& text() const { return m_text; }

private:
    enum class Kind { Any, Address, Domain, Subdomains };
    AddressPattern(Kind k, std::string text) : m_kind(k), m_text(std::move(text)) {}
    Kind m_kind;
    std::string m_text;
    std::optional<EmailAddress> m_address;
    std::optional<Domain> m_domain;
    RecipientDelimiter m_delimiter;  // m_address's domain's
};

// A named list of patterns: the inline array of a rule, or a list file. Its one-address
// patterns of one domain share that domain's delimiter, so an address is cut once per
// matches() call, and only when an entry of its own domain asks for the cut.
struct AddressList {
    std::string source;  // "to" or the file name, for ssmctl and logs
    std::vector<AddressPattern> patterns;
    bool matches(const std::optional<EmailAddress>& addr) const;
};

// Parses a list file's text: one pattern per line; blank lines and everything from '#' to
// the end of a line are ignored. Throws std::invalid_argument with "NAME:LINE:COLUMN: why"
// for the first bad line.
AddressList parse_address_list(std::string_view text, const std::string& name, const AddressExtensions& extensions);

}  // namespace ssm::policy
