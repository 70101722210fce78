// The Clearance attribute (RFC 5755 §4.4.6, X.501): which classifications and security
// categories of one security policy a person may see, as a directory entry or a certificate
// holds it. Its DER comes from outside (an LDAP server, a certificate): the decoder is strict
// (DER only, bounded) and throws ssm::Error(MalformedMessage) on anything else, never crashes.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "smime/cms/security_label.h"

namespace ssm::smime::cms {

namespace oid {
inline constexpr const char* kClearance = "2.5.4.55";            // id-at-clearance (RFC 5755)
inline constexpr const char* kClearanceRfc3281 = "2.5.1.5.55";   // the RFC 3281 registration
inline constexpr const char* kClearanceConstraints = "1.3.6.1.5.5.7.1.21";  // id-pe-clearanceConstraints
}  // namespace oid

// One octet past the highest SecurityClassification (256): a longer classList names classes
// no ESS label can carry.
inline constexpr std::size_t kMaxClassListBits = 257;
inline constexpr std::size_t kMaxClearanceDer = 72 * 1024;

struct ClearanceValue {
    enum class Syntax { Rfc5755, Rfc3281 };  // untagged (current) or context-tagged (old)
    std::string policy_id;                  // dotted OID
    // The classList bits set, ascending (bit N: classification N may be seen). An absent
    // classList is its DEFAULT {unclassified}: {1}. A present empty one: nothing.
    std::vector<int> classes;
    bool class_list_default = false;        // true: classList was absent
    std::vector<SecurityCategory> categories;  // empty: none (field absent)
    Syntax syntax = Syntax::Rfc5755;
    bool operator==(const ClearanceValue&) const = default;
};

// Decodes one Clearance value (RFC 5755 syntax, or RFC 3281's tagged one). Refused with
// ssm::Error(MalformedMessage) saying why: BER (indefinite or non-minimal lengths, unsorted
// SET OF, unused bits not zero, trailing zero bits of the named-bit classList, a classList
// written out although it equals the DEFAULT), trailing bytes, a bad OID, more than 257
// classList bits, an empty securityCategories SET, and category bounds as for labels
// (security_label.h: at most 64, each value one DER TLV of at most 1 KiB).
ClearanceValue decode_clearance(ByteView der);

// The Clearance values of a certificate's subjectDirectoryAttributes extension (its value:
// SEQUENCE OF Attribute, RFC 5280 §4.2.1.8), id-at-clearance under either OID. Other attributes
// are skipped; a clearance value that does not decode is counted in `unreadable` with why in
// `errors`. An extension value that does not decode at all: ssm::Error(MalformedMessage).
struct ClearancesFound {
    std::vector<ClearanceValue> values;
    std::size_t unreadable = 0;
    std::vector<std::string> errors;
};
ClearancesFound clearances_in_directory_attributes(ByteView extension_value);

// The Authority Clearance Constraints extension of a CA certificate (RFC 5913 §3): the
// clearances the CA may vouch for, one per policy. Its value, SEQUENCE SIZE (1..MAX) OF
// Clearance, is decoded strictly and refused whole with ssm::Error(MalformedMessage) saying
// why: BER, trailing bytes, an empty SEQUENCE, more than kMaxClearanceConstraints elements, an
// element decode_clearance refuses or one in the RFC 3281 syntax (RFC 5913 imports RFC 5755's),
// and two elements of one policy (which of them would bind is not defined: ambiguous, refused).
inline constexpr std::size_t kMaxClearanceConstraints = 64;
std::vector<ClearanceValue> decode_clearance_constraints(ByteView extension_value);

// The DER of a clearance in the RFC 5755 syntax (classList left out when it is {1}); the same
// checks refuse what decode would. Used by tests and administrators' tools.
Bytes encode_clearance(const ClearanceValue& c);

}  // namespace ssm::smime::cms
