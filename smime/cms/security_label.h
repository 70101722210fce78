// ESS security labels (RFC 2634 §5.4, RFC 5035): the ESSSecurityLabel and EquivalentLabels
// signed attribute values as a value type, their strict-DER codec over cms.asn, and the
// look-up of both attributes among a SignerInfo's signed attributes. Decoders take untrusted
// DER (a peer's signed attributes, or a MUA's SIO-Label header): every malformed, non-DER or
// oversized input is ssm::Error(MalformedMessage), never a crash.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "smime/cms/signed_attributes.h"

namespace ssm::smime::cms {

// SecurityClassification values named by RFC 2634 §5.4; other values in 0..256 are allowed
// (a policy may define its own).
namespace classification {
inline constexpr int kUnmarked = 0;
inline constexpr int kUnclassified = 1;
inline constexpr int kRestricted = 2;
inline constexpr int kConfidential = 3;
inline constexpr int kSecret = 4;
inline constexpr int kTopSecret = 5;
inline constexpr int kMax = 256;  // ub-integer-options
}  // namespace classification

// Bounds. The RFC ones are ub-security-categories and ub-privacy-mark-length; the others
// are ours (the RFC leaves them open) and generous for real policies, small enough that a
// hostile label costs little.
inline constexpr std::size_t kMaxSecurityCategories = 64;   // RFC 2634 ub-security-categories
inline constexpr std::size_t kMaxPrintableMark = 128;       // RFC 2634 ub-privacy-mark-length
inline constexpr std::size_t kMaxUtf8Mark = 1024;           // octets; RFC: SIZE (1..MAX)
inline constexpr std::size_t kMaxCategoryValue = 1024;      // octets of one value's DER
inline constexpr std::size_t kMaxLabelDer = 72 * 1024;      // one ESSSecurityLabel
inline constexpr std::size_t kMaxEquivalentLabels = 16;
inline constexpr std::size_t kMaxOidText = 128;             // dotted form

struct PrivacyMark {
    enum class Kind { Printable, Utf8 };  // ESSPrivacyMark pString / utf8String
    Kind kind = Kind::Printable;
    std::string text;  // PrintableString characters, or UTF-8
    bool operator==(const PrivacyMark&) const = default;
};

struct SecurityCategory {
    std::string type;  // OID, dotted
    Bytes value;       // DER of the value inside [1] EXPLICIT (one TLV)
    bool operator==(const SecurityCategory&) const = default;
};

struct SecurityLabel {
    std::string policy_id;  // security-policy-identifier, dotted OID
    std::optional<int> classification;  // 0..256
    std::optional<PrivacyMark> privacy_mark;
    // Empty means the field is absent (RFC 2634: SET SIZE (1..ub-security-categories)). Kept
    // in DER order after decoding; encode sorts anyway (SET OF).
    std::vector<SecurityCategory> categories;
    bool operator==(const SecurityLabel&) const = default;
};

// DER of one ESSSecurityLabel. BER (indefinite lengths, unsorted SET or SET OF, non-minimal
// INTEGER or lengths, also inside category values), trailing bytes, values out of range or
// over the bounds above: ssm::Error(MalformedMessage) saying what was wrong.
SecurityLabel decode_security_label(ByteView der);
// The DER of `label`; a label that could not be decoded back (bad OID, classification out of
// 0..256, empty or oversized privacy mark, non-PrintableString characters in a pString,
// invalid UTF-8, too many categories, a category value that is not one DER TLV) is refused
// with ssm::Error(MalformedMessage): a label can come from a MUA's header.
Bytes encode_security_label(const SecurityLabel& label);

// EquivalentLabels ::= SEQUENCE OF ESSSecurityLabel (RFC 2634 §5.4), at most
// kMaxEquivalentLabels, same strictness as above; an empty SEQUENCE OF decodes to {}.
std::vector<SecurityLabel> decode_equivalent_labels(ByteView der);
Bytes encode_equivalent_labels(const std::vector<SecurityLabel>& labels);

// The securityLabel (id-aa-securityLabel, 1.2.840.113549.1.9.16.2.2) and equivalentLabels
// (id-aa-equivalentLabels, …2.9) attributes of one SignerInfo's signed attributes, decoded.
// RFC 2634 §5.3: neither may appear more than once, and each attribute carries exactly one
// value; a violation, or a value that does not decode, is ssm::Error(MalformedMessage).
struct LabelAttributes {
    std::optional<SecurityLabel> security_label;
    std::optional<std::vector<SecurityLabel>> equivalent_labels;
    bool operator==(const LabelAttributes&) const = default;
};
// From decode.h's SignerInfoView::signed_attributes.
LabelAttributes find_label_attributes(const std::vector<Attribute>& signed_attributes);
// From verify.h's SignerVerification::signed_attributes (one (OID, value) pair per value).
LabelAttributes find_label_attributes(const std::vector<std::pair<std::string, Bytes>>& values);
// From the DER of a SET OF Attribute (SignerInfoView::signed_attributes_der).
LabelAttributes find_label_attributes(ByteView signed_attributes_der);

// The attribute value to put among the signed attributes (write_attributes).
Attribute security_label_attribute(const SecurityLabel& label);
Attribute equivalent_labels_attribute(const std::vector<SecurityLabel>& labels);

// Shared with smime/mime/sio_label: dotted OID syntax (two arcs at least, first 0..2, second
// < 40 under 0 and 1, no leading zeros, at most kMaxOidText characters). (UTF-8: base/utf8.h.)
bool valid_oid_text(std::string_view oid);

}  // namespace ssm::smime::cms
