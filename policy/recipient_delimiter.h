// Address extensions (Postfix recipient_delimiter): "ceo+x@partner.example" is delivered to
// ceo's mailbox, so a rule written for ceo must apply to it too. This gives the address
// without its extension, the way Postfix's split_addr() cuts a local part. The delimiter set
// is configuration (trusted, checked when parsed); addresses are parsed envelope or header
// values (untrusted).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "base/email_address.h"

namespace ssm::policy {

class RecipientDelimiter {
public:
    // Off: no address has an extension.
    RecipientDelimiter() = default;
    // Each character of `chars` is a delimiter (Postfix >= 2.11); "" is off. Printable
    // ASCII other than space, '@', '"', '\\', '<', '>', ',' and '*'; nullopt otherwise.
    static std::optional<RecipientDelimiter> parse(std::string_view chars);

    // The address with its local part cut at the first delimiter character; nullopt when
    // it has no extension: no delimiter set or found, a local part that starts with one
    // (not an extension), the local parts postmaster, mailer-daemon and double-bounce, and,
    // when '-' is a delimiter, owner-NAME and NAME-request (list conventions Postfix keeps
    // whole). A quoted local part is cut in its unquoted content, as Postfix does.
    std::optional<EmailAddress> base_of(const EmailAddress& address) const;

    const std::string& chars() const { return m_chars; }
    bool off() const { return m_chars.empty(); }

private:
    explicit RecipientDelimiter(std::string chars) : m_chars(std::move(chars)) {}
    std::string m_chars;
};

}  // namespace ssm::policy
