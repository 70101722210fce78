// The names a certificate carries and the subtrees a CA's nameConstraints extension lists, read
// from DER (RFC 5280 §4.2.1.6, §4.2.1.10) for pki/name_constraints.h. We read the DER ourselves:
// GnuTLS 3.7 refuses a whole nameConstraints extension with a form it does not know (x400Address,
// ediPartyName, registeredID), and reports the forms of a certificate's names only in part.
// SECURITY: certificates are untrusted; every read is bounded and what does not read is reported
// (nullopt, or a name marked unreadable), never guessed.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "pki/certificate.h"

namespace ssm::pki {

// The GeneralName CHOICE, numbered as its context tags.
enum class NameForm : unsigned {
    OtherName = 0,
    Rfc822 = 1,
    Dns = 2,
    X400 = 3,
    Directory = 4,
    EdiParty = 5,
    Uri = 6,
    IpAddress = 7,
    RegisteredId = 8,
};

std::string_view name_form_text(NameForm f);  // "rfc822Name", "directoryName", ...

struct GeneralName {
    NameForm form = NameForm::OtherName;
    // rfc822Name, dNSName, URI: the IA5String's octets as they are. iPAddress: the octets
    // (address, or address and mask in a constraint). directoryName: the Name as GnuTLS writes
    // it (RFC 4514), lower-cased, for messages. otherName: its type-id's OID content octets (not
    // compared; pki/signer_constraints.h asks whether GnuTLS reads it). Other forms: empty.
    std::string value;
    bool readable = true;  // false: the name's value does not read (a directoryName, say)
    // An rfc822Name made from a SmtpUTF8Mailbox otherName (RFC 9598 §6: rfc822Name constraints
    // bind its domain, in A-labels): value is its key form, the local part may be UTF-8.
    bool smtp_utf8 = false;
    // directoryName: its RDNs as RFC 5280 §7.1 compares them (base/name_compare.h
    // rdn_match_keys), the most general first; what name constraints compare.
    std::vector<std::string> rdn_keys{};
};

// The directoryName of the DER Name `der`: unreadable when GnuTLS cannot write it or
// base/name_compare.h cannot read it (malformed, or beyond its bounds).
GeneralName directory_name(ByteView der);

// The names of a certificate that name constraints bind: its subject (a directoryName, when not
// empty), each emailAddress attribute of its subject (as rfc822Names, RFC 5280 §4.2.1.6) and its
// subject alternative names; each SmtpUTF8Mailbox otherName also as an rfc822Name (smtp_utf8,
// unreadable when it is no address: a CA's rfc822Name constraints then refuse it). nullopt when the subject or the extension does not read.
std::optional<std::vector<GeneralName>> certificate_names(const Certificate& cert);

struct NameSubtrees {
    std::vector<GeneralName> permitted, excluded;
    bool empty() const { return permitted.empty() && excluded.empty(); }
};

// The subtrees of `ca`'s nameConstraints extension: an empty set when it has none, nullopt when
// it does not read (also a subtree with a minimum other than 0 or a maximum: RFC 5280 forbids
// them and we would not know what they mean).
std::optional<NameSubtrees> name_subtrees(const Certificate& ca);

}  // namespace ssm::pki
