// Anchor bindings to mail domains (see anchor_scope.h). Domains are matched as rfc822Name
// subtrees by pki/name_match.h, the same rules as name constraints, so the two cannot disagree.
#include "pki/anchor_scope.h"

#include <cctype>

#include "base/ascii.h"
#include "base/email_address.h"
#include "base/utf8.h"
#include "pki/general_names.h"
#include "pki/name_match.h"

namespace ssm::pki {

std::optional<std::string> scope_domain(std::string_view text, std::string& why)
{
    // A mailbox is a valid rfc822Name subtree but not a domain: a binding names domains.
    if (text.find('@') != std::string_view::npos) return why = "a binding names domains, not mailboxes", std::nullopt;
    const bool below = !text.empty() && text.front() == '.';
    const std::string_view name = below ? text.substr(1) : text;
    // The checks, and the reasons, of every other domain in the configuration (IDNA2008:
    // an "xn--" label must be a real A-label; U-labels become A-labels, the form the
    // addresses compared here are in).
    const auto domain = Domain::parse(name);
    if (!domain) return why = Domain::refusal(name), std::nullopt;
    std::string out = below ? "." + domain->str() : domain->str();
    // And the shape rfc822Name subtrees are compared in: a dotted quad is an IPv4 address.
    if (!host_or_domain_subtree(out)) return why = "it is an IPv4 address", std::nullopt;
    return out;
}

std::optional<Bytes> parse_sha256_fingerprint(std::string_view text)
{
    std::string hex;
    for (const char c : text) {
        if (c == ':') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 64) return std::nullopt;
    Bytes out;
    for (std::size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<unsigned char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::optional<std::string> anchor_scope_problem(const AnchorDomains& domains, std::string_view address)
{
    if (!domains) return std::nullopt;
    const std::size_t at = address.rfind('@');
    const std::string domain =
        at == std::string_view::npos ? std::string() : ascii_lowercase(address.substr(at + 1));
    // An internationalised mailbox (UTF-8 local part, A-label domain) is bound by its domain
    // as a SmtpUTF8Mailbox is by rfc822Name constraints (RFC 9598 §6).
    const GeneralName name{NameForm::Rfc822, std::string(address), true, valid_utf8(address)};
    for (const auto& d : *domains)
        if (in_subtree(name, GeneralName{NameForm::Rfc822, d, true}, false) == Match::In) return std::nullopt;
    std::string bound;
    for (const auto& d : *domains) bound += (bound.empty() ? "" : ", ") + d;
    if (bound.empty()) bound = "no domain";
    if (address.empty()) return "anchor not trusted for domain: no address to bind (the anchor vouches for " + bound + ")";
    return "anchor not trusted for domain " + printable(domain.empty() ? std::string(address) : domain) +
           " (the anchor vouches for " + bound + ")";
}

}  // namespace ssm::pki
