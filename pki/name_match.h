// Whether one name lies in one name-constraint subtree, per form (RFC 5280 §4.2.1.10), for
// pki/name_constraints.h. Names and subtrees are untrusted: a name or subtree that is not what
// its form promises gives Match::Unreadable, which the caller counts against the certificate.
//
// rfc822Name: a mailbox ("a@example.com": that one), a host ("example.com": mailboxes at that host
// only) or a domain (".example.com": mailboxes at any host below it); hosts compare without regard
// to case, mailboxes by their lookup keys (EmailAddress::key(): local parts without case). dNSName: "example.com" holds it and every name below it
// (".example.com" only the names below it). iPAddress: address and mask, the address of the same
// length (IPv4 or IPv6). URI: the host of the URI, as a host ("host.example.com") or a domain
// (".example.com"). directoryName: the subtree's RDNs are the first of the name's, each compared
// as RFC 5280 §7.1 compares Names (base/name_compare.h).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "pki/general_names.h"

namespace ssm::pki {

enum class Match { In, Out, Unreadable };

// `name` and `subtree` of the same form; forms not compared give Unreadable.
Match in_subtree(const GeneralName& name, const GeneralName& subtree, bool excluded);

// Whether an iPAddress subtree's mask has leading one bits only (RFC 4632 CIDR form).
bool contiguous_mask(std::string_view mask);

// The host of an absolute URI ("scheme://[userinfo@]host[:port]..."), lower-cased; nullopt when
// it has none that is a domain name (no authority, an IP literal, percent-encoding).
std::optional<std::string> uri_host(std::string_view uri);

// Whether `host` lies in the URI subtree `constraint` (both lower-cased).
bool in_uri_subtree(std::string_view host, std::string_view constraint);

// Whether `text` is a host ("example.com") or domain (".example.com") subtree as the rfc822Name
// and URI forms write them (what in_subtree would read rather than call Unreadable).
bool host_or_domain_subtree(std::string_view text);

}  // namespace ssm::pki
