// ESSSecurityLabel / EquivalentLabels codec and signed-attribute look-up; see security_label.h.
// Input is untrusted: libtasn1 parses it, then the DER form is proven by re-encoding the
// decoded structure and comparing it octet for octet (ANY values are checked on their own).
// The cms.asn types used are the "InDerOrder" twins of RFC 2634's (see the note there).
#include "smime/cms/security_label.h"

#include <libtasn1.h>

#include <algorithm>
#include <climits>

#include "base/error.h"
#include "base/utf8.h"
#include "smime/cms/asn1.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {
namespace {

[[noreturn]] void malformed_label(const std::string& what)
{
    throw Error(Failure::MalformedMessage, what);
}

// Category values are ANY: libtasn1 keeps their octets as received, so the re-encoding check
// cannot see BER inside them. This walks one TLV with libtasn1's own tag and length readers
// and insists on definite, minimal lengths and tags (X.690 §10.1), to a bounded depth.
constexpr int kMaxValueDepth = 16;

std::size_t der_element(ByteView in, int depth)
{
    if (depth > kMaxValueDepth) malformed_label("security category value nested too deeply");
    if (in.empty() || in.size() > std::size_t(INT_MAX)) malformed_label("security category value truncated");
    unsigned char cls = 0;
    int tag_len = 0;
    unsigned long tag = 0;
    if (asn1_get_tag_der(in.data(), int(in.size()), &cls, &tag_len, &tag) != ASN1_SUCCESS || tag_len <= 0 ||
        std::size_t(tag_len) >= in.size())
        malformed_label("security category value has a bad tag");
    if (tag_len > 1 && (tag < 31 || in[1] == 0x80)) malformed_label("security category value has a non-minimal tag");
    const ByteView rest = in.subspan(std::size_t(tag_len));
    int len_len = 0;
    const long len = asn1_get_length_der(rest.data(), int(rest.size()), &len_len);
    if (len == -1) malformed_label("security category value uses an indefinite length (BER, not DER)");
    if (len < 0 || len_len <= 0 || std::size_t(len_len) > rest.size() ||
        std::size_t(len) > rest.size() - std::size_t(len_len))
        malformed_label("security category value has a bad length");
    int min_len_len = 0;
    asn1_length_der(static_cast<unsigned long>(len), nullptr, &min_len_len);
    if (len_len != min_len_len) malformed_label("security category value has a non-minimal length (BER, not DER)");
    const ByteView content = rest.subspan(std::size_t(len_len), std::size_t(len));
    if (cls & ASN1_CLASS_STRUCTURED) {
        for (std::size_t at = 0; at < content.size();) at += der_element(content.subspan(at), depth + 1);
    }
    return std::size_t(tag_len) + std::size_t(len_len) + std::size_t(len);
}

void check_category_value(ByteView value)
{
    if (value.empty()) malformed_label("security category value is empty");
    if (value.size() > kMaxCategoryValue) malformed_label("security category value over " + std::to_string(kMaxCategoryValue) + " octets");
    if (der_element(value, 0) != value.size()) malformed_label("security category value is not one DER element");
}

bool printable_char(unsigned char c)
{
    // X.680 §41.4 PrintableString: letters, digits, space and ' ( ) + , - . / : = ?
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return std::string_view(" '()+,-./:=?").find(char(c)) != std::string_view::npos;
}

void check_privacy_mark(const PrivacyMark& m)
{
    if (m.text.empty()) malformed_label("privacy mark is empty (RFC 2634: SIZE (1..))");
    if (m.kind == PrivacyMark::Kind::Printable) {
        if (m.text.size() > kMaxPrintableMark)
            malformed_label("PrintableString privacy mark over " + std::to_string(kMaxPrintableMark) + " characters");
        if (!std::all_of(m.text.begin(), m.text.end(), [](char c) { return printable_char(static_cast<unsigned char>(c)); }))
            malformed_label("privacy mark has characters a PrintableString cannot hold");
    } else {
        if (m.text.size() > kMaxUtf8Mark)
            malformed_label("UTF8String privacy mark over " + std::to_string(kMaxUtf8Mark) + " octets");
        // NUL is valid UTF-8 but no mark needs it, and it truncates C strings downstream.
        if (!valid_utf8(m.text) || m.text.find('\0') != std::string::npos)
            malformed_label("UTF8String privacy mark is not valid UTF-8 text");
    }
}

// Everything encode must refuse, and decode must not accept, apart from DER form.
void check_label(const SecurityLabel& l)
{
    if (!valid_oid_text(l.policy_id)) malformed_label("security policy identifier '" + l.policy_id.substr(0, 64) + "' is not an OID");
    if (l.classification && (*l.classification < 0 || *l.classification > classification::kMax))
        malformed_label("security classification " + std::to_string(*l.classification) + " out of range 0..256");
    if (l.privacy_mark) check_privacy_mark(*l.privacy_mark);
    if (l.categories.size() > kMaxSecurityCategories)
        malformed_label("more than " + std::to_string(kMaxSecurityCategories) + " security categories");
    for (const auto& c : l.categories) {
        if (!valid_oid_text(c.type)) malformed_label("security category type '" + c.type.substr(0, 64) + "' is not an OID");
        check_category_value(c.value);
    }
}

// RFC 2634 SecurityClassification: INTEGER (0..ub-integer-options), DER minimal form.
int classification_of(const Bytes& b)
{
    if (b.empty()) malformed_label("security classification is an empty INTEGER");
    if (b.size() > 1 && ((b[0] == 0x00 && !(b[1] & 0x80)) || (b[0] == 0xff && (b[1] & 0x80))))
        malformed_label("security classification INTEGER not in minimal form (BER, not DER)");
    if (b[0] & 0x80) malformed_label("security classification is negative");
    if (b.size() > 2) malformed_label("security classification out of range 0..256");
    int v = 0;
    for (auto c : b) v = (v << 8) | c;
    if (v > classification::kMax) malformed_label("security classification " + std::to_string(v) + " out of range 0..256");
    return v;
}

bool same_octets(ByteView a, ByteView b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// Decodes `type` and proves the input was DER: libtasn1 accepts BER, so the structure is
// encoded again and must give back the very same octets.
// `type` names the cms.asn type, `name` the RFC one for messages.
Asn1Node decode_der(const std::string& type, const std::string& name, ByteView der, std::size_t limit)
{
    if (der.size() > limit) malformed_label(name + " over " + std::to_string(limit) + " octets");
    Asn1Node n;
    try {
        n = Asn1Node::decode(type, der);
    } catch (const Error& e) {
        std::string what = e.what();
        if (const auto at = what.find(type); at != std::string::npos) what.replace(at, type.size(), name);
        throw Error(e.failure(), what);
    }
    Bytes again;
    try {
        again = n.encode();
    } catch (const Error&) {
        malformed_label(name + " does not encode again");  // libtasn1 kept something odd
    }
    if (!same_octets(again, der)) malformed_label(name + " is not DER (BER length, order or form)");
    return n;
}

SecurityLabel read_label(const Asn1Node& n, const std::string& at)
{
    SecurityLabel l;
    l.policy_id = n.read_oid(at + "security-policy-identifier");
    if (auto c = n.read_optional(at + "security-classification")) l.classification = classification_of(*c);
    if (n.read_optional(at + "privacy-mark")) {
        const std::string alt = n.read_text(at + "privacy-mark");
        PrivacyMark m;
        if (alt == "pString")
            m.kind = PrivacyMark::Kind::Printable;
        else if (alt == "utf8String")
            m.kind = PrivacyMark::Kind::Utf8;
        else
            malformed_label("privacy mark of unknown type '" + alt + "'");
        const Bytes text = n.read_bytes(at + "privacy-mark." + alt);
        m.text.assign(text.begin(), text.end());
        l.privacy_mark = std::move(m);
    }
    const std::string cats = at + "security-categories";
    if (n.has(cats)) {
        const int count = n.count(cats);
        if (count < 1) malformed_label("security categories present but empty (RFC 2634: SIZE (1..64))");
        if (std::size_t(count) > kMaxSecurityCategories)
            malformed_label("more than " + std::to_string(kMaxSecurityCategories) + " security categories");
        for (int i = 1; i <= count; ++i) {
            const std::string c = cats + ".?" + std::to_string(i);
            l.categories.push_back({n.read_oid(c + ".type"), n.read_bytes(c + ".value")});
        }
    }
    check_label(l);
    return l;
}

void write_label(Asn1Node& n, const std::string& at, const SecurityLabel& l)
{
    check_label(l);
    n.write_oid(at + "security-policy-identifier", l.policy_id);
    if (l.classification)
        n.write_uint(at + "security-classification", static_cast<unsigned long>(*l.classification));
    else
        n.remove(at + "security-classification");
    if (l.privacy_mark) {
        const std::string alt = l.privacy_mark->kind == PrivacyMark::Kind::Printable ? "pString" : "utf8String";
        n.write_text(at + "privacy-mark", alt);
        n.write_text(at + "privacy-mark." + alt, l.privacy_mark->text);
    } else {
        n.remove(at + "privacy-mark");
    }
    const std::string cats = at + "security-categories";
    if (l.categories.empty()) {
        n.remove(cats);
        return;
    }
    for (const auto& c : l.categories) {
        n.append(cats);
        n.write_oid(cats + ".?LAST.type", c.type);
        n.write_bytes(cats + ".?LAST.value", c.value);
    }
}

struct Found {
    std::optional<Bytes> label;
    std::optional<Bytes> equivalent;
};

void take(std::optional<Bytes>& slot, const char* name, const std::vector<Bytes>& values)
{
    if (slot) malformed_label(std::string("more than one ") + name + " attribute (RFC 2634 §5.3)");
    if (values.size() != 1) malformed_label(std::string(name) + " attribute must have exactly one value");
    slot = values.front();
}

LabelAttributes decode_found(const Found& f)
{
    LabelAttributes out;
    if (f.label) out.security_label = decode_security_label(*f.label);
    if (f.equivalent) out.equivalent_labels = decode_equivalent_labels(*f.equivalent);
    return out;
}

}  // namespace

bool valid_oid_text(std::string_view oid)
{
    if (oid.empty() || oid.size() > kMaxOidText) return false;
    int arcs = 0;
    long first = 0;
    for (std::size_t i = 0; i <= oid.size();) {
        const std::size_t dot = std::min(oid.find('.', i), oid.size());
        const std::string_view arc = oid.substr(i, dot - i);
        if (arc.empty() || arc.size() > 19 || (arc.size() > 1 && arc[0] == '0')) return false;
        if (!std::all_of(arc.begin(), arc.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
        if (arcs == 0) {
            if (arc.size() > 1 || arc[0] > '2') return false;
            first = arc[0] - '0';
        } else if (arcs == 1 && first < 2 && (arc.size() > 2 || std::stoi(std::string(arc)) >= 40)) {
            return false;
        }
        ++arcs;
        i = dot + 1;
    }
    return arcs >= 2;
}

SecurityLabel decode_security_label(ByteView der)
{
    const Asn1Node n = decode_der("ESSSecurityLabelInDerOrder", "ESSSecurityLabel", der, kMaxLabelDer);
    SecurityLabel l = read_label(n, "");
    // libtasn1 keeps an INTEGER's octets as they came, a long-form length included, so its
    // round trip in decode_der passes "02 81 01 00": the value read must encode to the input.
    if (!same_octets(encode_security_label(l), der)) malformed_label("ESSSecurityLabel is not DER (BER length or form)");
    return l;
}

Bytes encode_security_label(const SecurityLabel& label)
{
    auto n = Asn1Node::create("ESSSecurityLabelInDerOrder");
    write_label(n, "", label);
    return n.encode();
}

std::vector<SecurityLabel> decode_equivalent_labels(ByteView der)
{
    const Asn1Node n = decode_der("EquivalentLabelsInDerOrder", "EquivalentLabels", der, kMaxLabelDer * kMaxEquivalentLabels);
    const int count = n.count("");
    if (count < 0 || std::size_t(count) > kMaxEquivalentLabels)
        malformed_label("more than " + std::to_string(kMaxEquivalentLabels) + " equivalent labels");
    std::vector<SecurityLabel> out;
    for (int i = 1; i <= count; ++i) out.push_back(read_label(n, "?" + std::to_string(i) + "."));
    if (!same_octets(encode_equivalent_labels(out), der)) malformed_label("EquivalentLabels is not DER (BER length or form)");
    return out;
}

Bytes encode_equivalent_labels(const std::vector<SecurityLabel>& labels)
{
    if (labels.size() > kMaxEquivalentLabels)
        malformed_label("more than " + std::to_string(kMaxEquivalentLabels) + " equivalent labels");
    auto n = Asn1Node::create("EquivalentLabelsInDerOrder");
    for (const auto& l : labels) {
        n.append("");
        write_label(n, "?LAST.", l);
    }
    return n.encode();
}

LabelAttributes find_label_attributes(const std::vector<Attribute>& signed_attributes)
{
    Found f;
    for (const auto& a : signed_attributes) {
        if (a.oid == oid::kSecurityLabel) take(f.label, "securityLabel", a.values);
        if (a.oid == oid::kEquivalentLabels) take(f.equivalent, "equivalentLabels", a.values);
    }
    return decode_found(f);
}

LabelAttributes find_label_attributes(const std::vector<std::pair<std::string, Bytes>>& values)
{
    Found f;
    for (const auto& [attr_oid, value] : values) {
        if (attr_oid == oid::kSecurityLabel) take(f.label, "securityLabel", {value});
        if (attr_oid == oid::kEquivalentLabels) take(f.equivalent, "equivalentLabels", {value});
    }
    return decode_found(f);
}

LabelAttributes find_label_attributes(ByteView signed_attributes_der)
{
    // Signed attributes are DER by RFC 5652 §5.4; the signature covers exactly these octets.
    constexpr std::size_t kMaxAttributes = 1024 * 1024;
    const Asn1Node n = decode_der("Attributes", "signed attributes", signed_attributes_der, kMaxAttributes);
    std::vector<Attribute> attrs;
    const int count = n.count("");
    for (int i = 1; i <= count; ++i) {
        const std::string at = "?" + std::to_string(i);
        Attribute a{n.read_oid(at + ".attrType"), {}};
        const int m = n.count(at + ".attrValues");
        for (int j = 1; j <= m && j <= 2; ++j)  // two are enough to refuse "more than one"
            a.values.push_back(n.read_bytes(at + ".attrValues.?" + std::to_string(j)));
        attrs.push_back(std::move(a));
    }
    return find_label_attributes(attrs);
}

Attribute security_label_attribute(const SecurityLabel& label)
{
    return {oid::kSecurityLabel, {encode_security_label(label)}};
}

Attribute equivalent_labels_attribute(const std::vector<SecurityLabel>& labels)
{
    return {oid::kEquivalentLabels, {encode_equivalent_labels(labels)}};
}

}  // namespace ssm::smime::cms
