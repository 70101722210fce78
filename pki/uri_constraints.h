// uniformResourceIdentifier name constraints (RFC 5280 §4.2.1.10, §6.1.3 (b), (c)), which
// GnuTLS 3.7 does not apply to permitted subtrees (PKITS 4.13.35).
// SECURITY: certificates and their URIs are untrusted; a URI whose host is not a plain domain
// name (no authority, an IP literal, percent-encoding, an unreadable name) fails any URI
// constraint that applies to it, as RFC 5280 asks, and so does an unreadable constraint.
//
// A constraint is a host ("host.example.com": that host only) or a domain (".example.com": any
// host below it, not example.com itself), compared without regard to case. Each CA's subtrees
// bind the URIs among the subject alternative names of every certificate below it, self-issued
// intermediates excepted. GnuTLS still refuses a path whose end entity has a URI when a CA has
// excluded URI subtrees; this adds what it lets pass, it takes nothing away.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/certificate.h"

namespace ssm::pki {

struct UriViolation {
    std::size_t certificate;  // index in the chain of the certificate whose URI breaks a constraint
    std::size_t ca;           // index in the chain of the CA whose constraint it breaks
    std::string rule;         // e.g. "has a URI outside the permitted subtrees"
};

// The host of an absolute URI ("scheme://[userinfo@]host[:port]..."), lower-cased; nullopt when
// it has none that is a domain name.
std::optional<std::string> uri_host(std::string_view uri);

// Whether `host` lies in the URI subtree `constraint`.
bool in_uri_subtree(std::string_view host, std::string_view constraint);

// `chain`: the end entity then the intermediates (the anchor's constraints are not applied).
std::optional<UriViolation> check_uri_name_constraints(const std::vector<const Certificate*>& chain);

}  // namespace ssm::pki
