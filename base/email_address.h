// Parsed e-mail addresses and domains ("parse, don't validate"): once made, the
// value is known to be a syntactically plausible addr-spec with a lower-case domain in
// A-label form. Internationalised addresses (RFC 6531/6532) are accepted: UTF-8 local parts
// and U-label domains. Input is untrusted envelope or header text.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace ssm {

class Domain {
public:
    // Accepts LDH labels separated by dots (IDNA A-labels included); lower-cases. A domain
    // with U-labels (valid UTF-8) is converted to A-labels (IDNA2008, UTS #46 mapping), so
    // "müller.example" and "xn--mller-kva.example" are one Domain and str() is ASCII. An
    // "xn--" label must be a real A-label (decodes to a valid U-label and back to itself):
    // "xn--zz.example" and "xn--a.example" are no domains.
    static std::optional<Domain> parse(std::string_view text);
    // Why parse refuses `text` ("'xn--zz' is no A-label (libidn2: REASON)", "it has an empty
    // label", ...), for an administrator's error message; empty when parse accepts it.
    static std::string refusal(std::string_view text);
    const std::string& str() const { return m_name; }
    // True for the domain itself and for any of its subdomains.
    bool is_or_under(const Domain& parent) const;
    bool operator==(const Domain& o) const { return m_name == o.m_name; }

private:
    explicit Domain(std::string n) : m_name(std::move(n)) {}
    std::string m_name;
};

class EmailAddress {
public:
    // Accepts "local@domain", "<local@domain>", and a display-name form
    // "Name <local@domain>". Rejects control characters, empty parts, a '"' or '\' outside one
    // quoted string that is the whole local part, anything longer than RFC 5321 allows. UTF-8
    // in a local part (RFC 6531 §3.3): well-formed only, no overlong, surrogates, C1. One spelling per
    // mailbox: a source route ("@relay:") is dropped, and so are quotes the local part does
    // not need; a UTF-8 local part is kept in Unicode NFC (u + U+0308 is "ü"; a character
    // NFC replaces on its own, such as KELVIN SIGN, refuses the address); the domain is
    // kept in A-label form.
    static std::optional<EmailAddress> parse(std::string_view text);
    // Whether `text` (in a form parse takes) is a mailbox at an RFC 5321 §4.1.3 address
    // literal: "user@[192.0.2.1]", "user@[IPv6:2001:db8::1]". Valid syntax, which parse
    // refuses all the same: rules, [[domain]]s, directories and certificates are for domain
    // names, so no such address is one of ours. This tells it from text that is no address,
    // for a refusal that says which it is.
    static bool names_address_literal(std::string_view text);
    // When parse refuses `text` for its domain (what follows the last '@'): why, as
    // Domain::refusal says it, after "in its domain, "; otherwise empty.
    static std::string domain_refusal(std::string_view text);
    const std::string& local_part() const { return m_local; }
    const Domain& domain() const { return m_domain; }
    std::string str() const { return m_local + "@" + m_domain.str(); }
    // The one key of the mailbox, by which certificates, keys, groups and clearances are looked
    // up and addresses compared: the local part lower-cased (without its quotes when parse takes
    // the content bare too: "a..b"@x is a..b@x, while str() keeps the spelling received), '@',
    // the domain (A-labels, lower case). Case is compared without, as every mail system does for
    // ASCII and Postfix (smtputf8_enable) for UTF-8: ASCII letters fold as ascii_lowercase does,
    // others by Unicode's full lower-case mapping (libunistring u8_tolower; "JÖRG" is "jörg"),
    // the result in NFC. RFC 5321 §2.4 lets the receiving system tell local parts apart by case
    // but discourages it; folding all letters as the ASCII ones keeps one rule for every mailbox.
    std::string key() const;
    // The address as a directory is asked for it: the spelling received without the quotes
    // its local part does not need (a..b@x for "a..b"@x, the form a directory stores). The
    // directory caches are keyed by key(), so every spelling of one key must ask the same
    // question: a search for the quoted spelling found nothing, and that "none" was then
    // served to the bare one. Case is kept (LDAP mail matching ignores it).
    std::string directory_form() const;
    // The local part as the mailbox's name, without the syntax of its quoting: the content of a
    // quoted local part with each quoted-pair replaced by its character ("a b" for "a\ b"@x),
    // any other local part as it is. What RFC 8162 §3 hashes (SMIMEA owner names).
    std::string unquoted_local_part() const;
    // Whether both are one mailbox: key() == o.key().
    bool same_as(const EmailAddress& o) const;

private:
    EmailAddress(std::string l, Domain d) : m_local(std::move(l)), m_domain(std::move(d)) {}
    std::string m_local;
    Domain m_domain;
};

// ": WHY" to follow an error message about a refused domain or address, or nothing when
// `why` is empty (no reason beyond the message).
inline std::string refusal_suffix(const std::string& why)
{
    return why.empty() ? why : ": " + why;
}

// The lookup key of an address a certificate names (rfc822Name, SmtpUTF8Mailbox, subject
// emailAddress): EmailAddress::key() of the parsed address (lower-cased local part in NFC,
// '@', the domain in A-labels). nullopt for anything that
// is not one plain addr-spec (controls, spaces, angle brackets, invalid UTF-8, a bad domain).
// `utf8` allows non-ASCII octets in the local part (SmtpUTF8Mailbox); rfc822Name is
// IA5String, ASCII only. A SmtpUTF8Mailbox's domain must be A-labels or LDH labels (RFC 9598
// §3): one in U-labels is refused, not converted, since the UTS #46 mapping that turns what a
// person types into a domain would also read a certificate's "ａｃｍｅ.example" (fullwidth) as
// acme.example, a name its CA never checked.
std::optional<std::string> certificate_address_key(std::string_view value, bool utf8);

// The form two address texts (from messages and certificates) are compared and kept in:
// certificate_address_key(text, true) for a plain addr-spec, so that "ÜNAL@x" and "ünal@x"
// are one; anything else (a display name, a route) ASCII-lower-cased, never repaired into an
// address.
std::string address_comparison_key(std::string_view text);

// True when a SmtpUTF8Mailbox value's domain (after its last '@') holds non-ASCII octets:
// U-labels, which RFC 9598 §3 does not allow there (certificate_address_key refuses it).
bool smtp_utf8_domain_not_a_labels(std::string_view value);

// RFC 3183 §3: the addresses a domain's own certificates name (gateway-to-gateway): its signing
// certificate's and its encryption certificate's. `domain` as Domain::str() gives it.
inline std::string domain_signing_authority(std::string_view domain)
{
    return "domain-signing-authority@" + std::string(domain);
}
inline std::string domain_confidentiality_authority(std::string_view domain)
{
    return "domain-confidentiality-authority@" + std::string(domain);
}

}  // namespace ssm
