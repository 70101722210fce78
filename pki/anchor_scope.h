// Trust anchors bound to mail domains ([[pki.anchor]]): which addresses a trust anchor may vouch
// for. Without a binding every anchor vouches for every domain, so a partner CA that issues a
// certificate for one of our own addresses (or another partner's) would be believed for it.
// The trust store applies a binding to every path it checks for an address
// (ValidationOptions::address): a path ending at an anchor that does not vouch for the address
// fails with Problem::AnchorScope, and path building goes on to other paths (a bridge or
// cross-certificate may lead to an anchor that does).
// SECURITY: the bindings are administrator input (checked at load); the addresses compared are
// from untrusted mail and certificates, compared by pki/name_match.h's rfc822Name rules.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "pki/certificate.h"

namespace ssm::pki {

// One [[pki.anchor]].
struct AnchorScope {
    // A file name in the anchor folder (every certificate it holds), or the SHA-256 fingerprint
    // of one anchor (64 hex digits, colons allowed).
    std::string certificate;
    // As rfc822Name name constraints write hosts and domains: "example.com" vouches for
    // mailboxes at that host only, ".example.com" for mailboxes at any host strictly below it.
    std::vector<std::string> domains;
};

// [pki] unscoped_anchors: what an anchor that no [[pki.anchor]] names vouches for.
enum class UnscopedAnchors {
    AnyDomain,  // every domain (the behaviour before bindings existed)
    None,       // no address: only bound anchors vouch for mail addresses
};

struct AnchorScopes {
    std::vector<AnchorScope> anchors;
    UnscopedAnchors unscoped = UnscopedAnchors::AnyDomain;
};

// A binding that names no loaded anchor (`index` into AnchorScopes::anchors, for the caller to
// say where it was configured).
class AnchorScopeError : public LoadError {
public:
    AnchorScopeError(std::size_t index, const std::string& what) : LoadError(what), m_index(index) {}
    std::size_t index() const noexcept { return m_index; }

private:
    std::size_t m_index;
};

// A binding's domain as it is compared: "example.com" or ".example.com" lower-cased, a domain
// in U-labels in its A-label form ("müller.example" is "xn--mller-kva.example"); nullopt when
// `text` is none, with `why` saying why as Domain::refusal does for other domains
// ("'xn--zz' is no A-label (libidn2: ...)", "it has an empty label", ...).
std::optional<std::string> scope_domain(std::string_view text, std::string& why);

// The fingerprint `text` spells (64 hex digits, colons allowed, any case); nullopt otherwise.
std::optional<Bytes> parse_sha256_fingerprint(std::string_view text);

// What one anchor vouches for, once the bindings are resolved: nullopt for every domain.
using AnchorDomains = std::optional<std::vector<std::string>>;

// Why an anchor with `domains` does not vouch for `address`, or nullopt when it does. An address
// that does not read as a mailbox (or is empty) is vouched for by no bound anchor.
std::optional<std::string> anchor_scope_problem(const AnchorDomains& domains, std::string_view address);

}  // namespace ssm::pki
