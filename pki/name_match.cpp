// Per-form name-constraint matching (see name_match.h). Input is untrusted: every name is
// checked for the shape its form promises before it is compared.
#include "pki/name_match.h"

#include <algorithm>

#include "base/ascii.h"
#include "base/email_address.h"

namespace ssm::pki {

namespace {

// Lower-cased; nullopt unless it is a domain name (letters, digits, '-', '_', '.'; not an IPv4
// address). One trailing dot (the root) is dropped so that "host.example.com." is that host.
std::optional<std::string> domain_name(std::string_view text)
{
    if (text.size() > 1 && text.back() == '.') text.remove_suffix(1);
    if (text.empty() || text.size() > 253) return std::nullopt;
    std::string out = ascii_lowercase(text);
    const bool chars_ok = std::all_of(out.begin(), out.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    });
    const bool ipv4 = std::all_of(out.begin(), out.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    // Every label has a character: "bad.example.." or "bad..example" is no name of bad.example's
    // and would otherwise be outside its subtrees.
    const bool empty_label = out.front() == '.' || out.back() == '.' || out.find("..") != std::string::npos;
    if (!chars_ok || ipv4 || empty_label) return std::nullopt;
    return out;
}

// A host or domain subtree ("example.com", ".example.com"), lower-cased; nullopt when malformed.
std::optional<std::string> host_subtree(std::string_view text)
{
    const bool domain = !text.empty() && text.front() == '.';
    auto base = domain_name(domain ? text.substr(1) : text);
    if (!base) return std::nullopt;
    return domain ? "." + *base : *base;
}

// `utf8_local`: the name comes from a SmtpUTF8Mailbox, whose local part may hold (validated)
// UTF-8; its domain is already in A-labels and compares as any rfc822Name's.
Match rfc822(std::string_view name, std::string_view subtree, bool utf8_local)
{
    const std::size_t at = name.rfind('@');
    if (at == 0 || at == std::string_view::npos) return Match::Unreadable;
    const std::string_view local = name.substr(0, at);
    const auto host = domain_name(name.substr(at + 1));
    const auto bad_octet = [utf8_local](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= ' ' || u == 0x7f || (u > '~' && !utf8_local);
    };
    if (!host || std::any_of(local.begin(), local.end(), bad_octet)) return Match::Unreadable;
    if (const std::size_t c_at = subtree.rfind('@'); c_at != std::string_view::npos) {  // a mailbox
        const auto c_host = domain_name(subtree.substr(c_at + 1));
        if (c_at == 0 || !c_host) return Match::Unreadable;
        // A subtree is an rfc822Name, an IA5String: a local part with other octets is no
        // constraint we can read (the certificate is refused for it). Compared octet by octet
        // it let a SmtpUTF8Mailbox ünal@x out of an excluded "Ünal@x", while ÜNAL@x and ünal@x
        // are one mailbox everywhere else (EmailAddress::key()).
        const std::string_view c_local = subtree.substr(0, c_at);
        if (std::any_of(c_local.begin(), c_local.end(), [](char c) { return static_cast<unsigned char>(c) > '~'; }))
            return Match::Unreadable;
        // Mailboxes compare as certificates are looked up, by their keys (certificate_address_key:
        // quotes the local part does not need dropped, letters lower-cased as EmailAddress::key()
        // does, UTF-8 ones too, the domain in A-labels): a certificate naming CEO@x or "ceo"@x is
        // used for ceo@x, so an excluded ceo@x must bind it. A name or subtree that is no plain
        // addr-spec has ASCII octets only here (bad_octet above, the check before): ASCII
        // folding is the key's folding for them.
        const auto name_key = certificate_address_key(name, utf8_local);
        const auto subtree_key = certificate_address_key(subtree, false);
        if (name_key && subtree_key) return *name_key == *subtree_key ? Match::In : Match::Out;
        return iequals(c_local, local) && *c_host == *host ? Match::In : Match::Out;
    }
    const auto c = host_subtree(subtree);
    if (!c) return Match::Unreadable;
    return in_uri_subtree(*host, *c) ? Match::In : Match::Out;  // host or domain, as for URIs
}

Match dns(std::string_view name, std::string_view subtree, bool excluded)
{
    // A wildcard ("*.example.com") stands for every name one label below its base.
    const bool wildcard = name.substr(0, 2) == "*.";
    const auto host = domain_name(wildcard ? name.substr(2) : name);
    if (!host) return Match::Unreadable;
    if (subtree.empty()) return Match::In;  // no labels to match: every name lies below the root
    const auto c = host_subtree(subtree);
    if (!c) return Match::Unreadable;
    const bool below_only = c->front() == '.';
    const std::string base = below_only ? c->substr(1) : *c;
    if (wildcard) {
        // In when every name it stands for is; for an exclusion also when one of them may be.
        if (*host == base || std::string_view(*host).ends_with("." + base)) return Match::In;
        return excluded && std::string_view(base).ends_with("." + *host) ? Match::In : Match::Out;
    }
    if (*host == base) return below_only ? Match::Out : Match::In;
    return std::string_view(*host).ends_with("." + base) ? Match::In : Match::Out;
}

Match ip(std::string_view address, std::string_view subtree)
{
    if (address.size() != 4 && address.size() != 16) return Match::Unreadable;
    if (subtree.size() != 8 && subtree.size() != 32) return Match::Unreadable;
    const std::string_view net = subtree.substr(0, subtree.size() / 2), mask = subtree.substr(subtree.size() / 2);
    if (!contiguous_mask(mask)) return Match::Unreadable;
    if (address.size() != net.size()) return Match::Out;  // an IPv4 subtree holds no IPv6 address
    for (std::size_t i = 0; i < address.size(); ++i)
        if ((address[i] & mask[i]) != (net[i] & mask[i])) return Match::Out;
    return Match::In;
}

Match uri(std::string_view name, std::string_view subtree)
{
    const auto host = uri_host(name);
    const auto c = host_subtree(subtree);
    if (!host || !c) return Match::Unreadable;
    return in_uri_subtree(*host, *c) ? Match::In : Match::Out;
}

// RFC 5280 §4.2.1.10: a directoryName subtree holds the Names its base begins, RDN by RDN as
// §7.1 compares them; an empty base holds every Name.
bool in_dn_subtree(const std::vector<std::string>& rdn_keys, const std::vector<std::string>& base_rdn_keys)
{
    return base_rdn_keys.size() <= rdn_keys.size() &&
           std::equal(base_rdn_keys.begin(), base_rdn_keys.end(), rdn_keys.begin());
}

}  // namespace

Match in_subtree(const GeneralName& name, const GeneralName& subtree, bool excluded)
{
    if (name.form != subtree.form || !name.readable || !subtree.readable) return Match::Unreadable;
    switch (name.form) {
    case NameForm::Rfc822:
        return rfc822(name.value, subtree.value, name.smtp_utf8);
    case NameForm::Dns:
        return dns(name.value, subtree.value, excluded);
    case NameForm::IpAddress:
        return ip(name.value, subtree.value);
    case NameForm::Uri:
        return uri(name.value, subtree.value);
    case NameForm::Directory:
        return in_dn_subtree(name.rdn_keys, subtree.rdn_keys) ? Match::In : Match::Out;
    default:
        return Match::Unreadable;  // otherName, x400Address, ediPartyName, registeredID
    }
}

bool contiguous_mask(std::string_view mask)
{
    bool zero_seen = false;
    for (const char ch : mask) {
        for (int bit = 7; bit >= 0; --bit) {
            const bool one = (static_cast<unsigned char>(ch) >> bit) & 1u;
            if (one && zero_seen) return false;
            if (!one) zero_seen = true;
        }
    }
    return true;
}

std::optional<std::string> uri_host(std::string_view uri)
{
    const std::size_t colon = uri.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    const bool scheme_ok = std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
               c == '.';
    });
    std::string_view rest = uri.substr(colon + 1);
    if (!scheme_ok || rest.substr(0, 2) != "//") return std::nullopt;  // no authority: no host
    rest.remove_prefix(2);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        // userinfo (RFC 3986 3.2.1): unreserved, pct-encoded, sub-delims, ':'. Anything else (a
        // backslash, which some parsers take for '/') leaves the host in doubt.
        const bool userinfo_ok = std::all_of(authority.begin(), authority.begin() + static_cast<std::ptrdiff_t>(at),
                                             [](char c) {
                                                 return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                                        (c >= '0' && c <= '9') ||
                                                        std::string_view("-._~%!$&'()*+,;=:").find(c) !=
                                                            std::string_view::npos;
                                             });
        if (!userinfo_ok) return std::nullopt;
        authority.remove_prefix(at + 1);
    }
    if (!authority.empty() && authority.front() == '[') return std::nullopt;  // an IP literal
    return domain_name(authority.substr(0, authority.find(':')));
}

bool host_or_domain_subtree(std::string_view text)
{
    return host_subtree(text).has_value();
}

bool in_uri_subtree(std::string_view host, std::string_view constraint)
{
    if (constraint.empty()) return false;
    if (constraint.front() != '.') return host == constraint;
    return host.size() > constraint.size() && std::string_view(host).ends_with(constraint);
}

}  // namespace ssm::pki
