// The addresses of an RFC 5322 address field (From, Sender, To...: §3.4 mailbox-list and
// address-list) in its untrusted header value. Quoted strings ("Smith, Alice") and comments
// ("(Alice Smith)", nested, with quoted-pairs) are honoured where the value is split at commas
// and dropped from addresses; "Name <addr>", "addr (comment)" and bare addr-specs are read, and
// a group ("team: a@x, b@y;") gives its members. Obsolete forms (§4.4) are tolerated where
// they are unambiguous: a route in an angle address ("<@relay:a@x>") is dropped. Entries that
// are no address are skipped and counted.
//
// Written here rather than taken from GMime (the one Debian library with an RFC 5322 address
// parser in C): it would bring GLib and a second MIME parser into the milter for two fields.
#pragma once
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "base/email_address.h"

namespace ssm {

struct MailboxList {
    std::vector<EmailAddress> addresses;  // in field order
    std::size_t unparsable = 0;           // non-empty entries that held no address
};

MailboxList parse_mailbox_list(std::string_view value);

// The first address of the field, if any.
std::optional<EmailAddress> first_mailbox(std::string_view value);

}  // namespace ssm
