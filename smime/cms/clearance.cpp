// Clearance codec; see clearance.h. Input is untrusted: libtasn1 parses it against cms.asn,
// the DER form is proven by encoding the structure again and comparing octet for octet, and
// the rules libtasn1 cannot see (DEFAULT left out, named-bit trailing zeros, category values)
// are checked here.
#include "smime/cms/clearance.h"

#include <libtasn1.h>

#include <algorithm>
#include <optional>

#include "base/error.h"
#include "smime/cms/asn1.h"

namespace ssm::smime::cms {
namespace {

[[noreturn]] void malformed_clearance(const std::string& what)
{
    throw Error(Failure::MalformedMessage, what);
}

// Decodes `type` and insists the input was its DER.
Asn1Node decode_der(const char* type, ByteView der)
{
    Asn1Node n = Asn1Node::decode(type, der);
    Bytes again;
    try {
        again = n.encode();
    } catch (const Error&) {
        malformed_clearance("Clearance does not encode again");
    }
    if (!std::equal(again.begin(), again.end(), der.begin(), der.end()))
        malformed_clearance("Clearance is not DER (BER length, order or form)");
    return n;
}

// The categories as a label would carry them go through the label checks (OIDs, count,
// each value one DER element within bounds): one set of rules for both.
void check_categories(const std::string& policy_id, const std::vector<SecurityCategory>& categories)
{
    SecurityLabel probe;
    probe.policy_id = policy_id;
    probe.categories = categories;
    (void)encode_security_label(probe);
}

std::vector<int> read_classes(const Asn1Node& n)
{
    int bits = 0;
    int rc = asn1_read_value(n.get(), "classList", nullptr, &bits);
    if (rc == ASN1_SUCCESS && bits == 0) return {};
    if (rc != ASN1_MEM_ERROR || bits < 0) malformed_clearance("classList cannot be read");
    if (std::size_t(bits) > kMaxClassListBits)
        malformed_clearance("classList of " + std::to_string(bits) + " bits (at most " + std::to_string(kMaxClassListBits) +
                  ": classifications are 0..256)");
    Bytes octets((std::size_t(bits) + 7) / 8);
    int size = int(octets.size());
    rc = asn1_read_value(n.get(), "classList", octets.data(), &size);
    if (rc != ASN1_SUCCESS || size != bits) malformed_clearance("classList cannot be read");
    // libtasn1 keeps the unused bits of the last octet as received; DER has them zero.
    if (bits % 8 != 0 && (octets.back() & (0xff >> (bits % 8))) != 0)
        malformed_clearance("classList has unused bits that are not zero (BER, not DER)");
    std::vector<int> out;
    for (int i = 0; i < bits; ++i)
        if (octets[std::size_t(i) / 8] & (0x80 >> (i % 8))) out.push_back(i);
    // X.690 §11.2.2: a named-bit list ends with a one bit in DER.
    if (out.empty() || out.back() != bits - 1) malformed_clearance("classList has trailing zero bits (BER, not DER)");
    return out;
}

}  // namespace

ClearanceValue decode_clearance(ByteView der)
{
    if (der.size() > kMaxClearanceDer) malformed_clearance("Clearance over " + std::to_string(kMaxClearanceDer) + " octets");
    ClearanceValue c;
    std::optional<Asn1Node> node;
    try {
        node = decode_der("Clearance", der);
    } catch (const Error& current) {
        try {
            node = decode_der("ClearanceRfc3281", der);
            c.syntax = ClearanceValue::Syntax::Rfc3281;
        } catch (const Error&) {
            throw current;  // the current syntax's complaint is the useful one
        }
    }
    const Asn1Node& n = *node;
    c.policy_id = n.read_oid("policyId");
    if (!valid_oid_text(c.policy_id)) malformed_clearance("Clearance policyId '" + c.policy_id.substr(0, 64) + "' is not an OID");
    if (n.has("classList")) {
        c.classes = read_classes(n);
        if (c.classes == std::vector<int>{classification::kUnclassified})
            malformed_clearance("classList equal to its DEFAULT {unclassified} must be left out (DER)");
    } else {
        c.classes = {classification::kUnclassified};
        c.class_list_default = true;
    }
    if (n.has("securityCategories")) {
        const int count = n.count("securityCategories");
        if (count < 1) malformed_clearance("Clearance securityCategories present but empty");
        if (std::size_t(count) > kMaxSecurityCategories)
            malformed_clearance("more than " + std::to_string(kMaxSecurityCategories) + " security categories");
        for (int i = 1; i <= count; ++i) {
            const std::string at = "securityCategories.?" + std::to_string(i);
            c.categories.push_back({n.read_oid(at + ".type"), n.read_bytes(at + ".value")});
        }
        check_categories(c.policy_id, c.categories);
    }
    return c;
}

ClearancesFound clearances_in_directory_attributes(ByteView extension_value)
{
    constexpr std::size_t kMaxExtension = 1024 * 1024;
    if (extension_value.size() > kMaxExtension) malformed_clearance("subjectDirectoryAttributes over 1 MiB");
    const Asn1Node n = Asn1Node::decode("SubjectDirectoryAttributes", extension_value);
    ClearancesFound out;
    const int count = n.count("");
    for (int i = 1; i <= count; ++i) {
        const std::string at = "?" + std::to_string(i);
        const std::string type = n.read_oid(at + ".attrType");
        if (type != oid::kClearance && type != oid::kClearanceRfc3281) continue;
        const int values = n.count(at + ".attrValues");
        for (int j = 1; j <= values; ++j) {
            try {
                out.values.push_back(decode_clearance(n.read_bytes(at + ".attrValues.?" + std::to_string(j))));
            } catch (const Error& e) {
                ++out.unreadable;
                out.errors.push_back(e.what());
            }
        }
    }
    return out;
}

std::vector<ClearanceValue> decode_clearance_constraints(ByteView extension_value)
{
    constexpr std::size_t kMaxExtension = 64 * 1024;  // no larger than a certificate we read
    if (extension_value.size() > kMaxExtension)
        malformed_clearance("AuthorityClearanceConstraints over " + std::to_string(kMaxExtension) + " octets");
    Asn1Node n;
    try {
        n = Asn1Node::decode("AuthorityClearanceConstraints", extension_value);
    } catch (const Error& e) {
        malformed_clearance(std::string("AuthorityClearanceConstraints: ") + e.what());
    }
    // The elements are checked one by one below; the outer length form here.
    const Bytes again = n.encode();
    if (!std::equal(again.begin(), again.end(), extension_value.begin(), extension_value.end()))
        malformed_clearance("AuthorityClearanceConstraints is not DER (BER length or form)");
    const int count = n.count("");
    if (count < 1) malformed_clearance("AuthorityClearanceConstraints is empty (SIZE (1..MAX))");
    if (std::size_t(count) > kMaxClearanceConstraints)
        malformed_clearance("AuthorityClearanceConstraints of more than " + std::to_string(kMaxClearanceConstraints) +
                  " clearances");
    std::vector<ClearanceValue> out;
    for (int i = 1; i <= count; ++i) {
        ClearanceValue c = decode_clearance(n.read_bytes("?" + std::to_string(i)));
        if (c.syntax != ClearanceValue::Syntax::Rfc5755)
            malformed_clearance("AuthorityClearanceConstraints element " + std::to_string(i) + " in the RFC 3281 syntax");
        for (const auto& seen : out)
            if (seen.policy_id == c.policy_id)
                malformed_clearance("AuthorityClearanceConstraints names policy " + c.policy_id + " twice");
        out.push_back(std::move(c));
    }
    return out;
}

Bytes encode_clearance(const ClearanceValue& c)
{
    if (!valid_oid_text(c.policy_id)) malformed_clearance("Clearance policyId '" + c.policy_id.substr(0, 64) + "' is not an OID");
    check_categories(c.policy_id, c.categories);
    auto n = Asn1Node::create("Clearance");
    n.write_oid("policyId", c.policy_id);
    std::vector<int> classes = c.classes;
    std::sort(classes.begin(), classes.end());
    classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
    if (!classes.empty() && (classes.front() < 0 || classes.back() > classification::kMax))
        malformed_clearance("classList bit out of range 0..256");
    if (classes == std::vector<int>{classification::kUnclassified}) {
        n.remove("classList");
    } else {
        const int bits = classes.empty() ? 0 : classes.back() + 1;
        Bytes octets((std::size_t(bits) + 7) / 8 + 1, 0);  // +1: never a null pointer
        for (const int b : classes) octets[std::size_t(b) / 8] |= std::uint8_t(0x80 >> (b % 8));
        if (asn1_write_value(n.get(), "classList", octets.data(), bits) != ASN1_SUCCESS)
            throw Error(Failure::Internal, "cannot write classList");
    }
    if (c.categories.empty()) {
        n.remove("securityCategories");
    } else {
        for (const auto& cat : c.categories) {
            n.append("securityCategories");
            n.write_oid("securityCategories.?LAST.type", cat.type);
            n.write_bytes("securityCategories.?LAST.value", cat.value);
        }
    }
    return n.encode();
}

}  // namespace ssm::smime::cms
