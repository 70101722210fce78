// Unit tests for RFC 5913 Authority Clearance Constraints: the extension's decoder (a good
// value, an empty SEQUENCE, BER outside and inside, an old-syntax or repeated policy, bounds,
// garbage) and the path processing that narrows an end entity's clearances (no constraints,
// another policy, classList AND, category intersection, two CAs in turn, "any" then narrowing).
// DER vectors are written out by hand from X.690; the integration test
// (test_clearance_constraints.sh) has OpenSSL put the extension into a real sub-CA certificate.
#include <cppunit/extensions/HelperMacros.h>

#include "base/error.h"
#include "policy/clearance_constraints.h"
#include "smime/cms/clearance.h"

using namespace ssm;
using smime::cms::ClearanceValue;
using smime::cms::decode_clearance_constraints;
using smime::cms::SecurityCategory;

namespace {

constexpr const char* kOurs = "1.3.6.1.4.1.99999.1";
constexpr const char* kTheirs = "1.3.6.1.4.1.99999.2";
// OBJECT IDENTIFIER 1.3.6.1.4.1.99999.1 and .2 (content octets)
const Bytes kOid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x01};
const Bytes kOid2 = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x02};

Bytes cat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes tlv(std::uint8_t tag, const Bytes& body)
{
    return body.size() < 0x80 ? cat({{tag, std::uint8_t(body.size())}, body})
                              : cat({{tag, 0x82, std::uint8_t(body.size() >> 8), std::uint8_t(body.size())}, body});
}

// Clearance { policy, rest... } (rest: classList, categories), with the policy's tag.
Bytes clearance(const Bytes& oid, const Bytes& rest, std::uint8_t oid_tag = 0x06)
{
    return tlv(0x30, cat({tlv(oid_tag, oid), rest}));
}

const Bytes kUpToRestricted = {0x03, 0x02, 0x05, 0xe0};  // classList {0, 1, 2}
const Bytes kUpToSecret = {0x03, 0x02, 0x03, 0xf8};      // classList {0..4}

std::string decode_error(const Bytes& der)
{
    try {
        decode_clearance_constraints(der);
    } catch (const Error& e) {
        CPPUNIT_ASSERT(e.failure() == Failure::MalformedMessage);
        return e.what();
    }
    return "(decoded)";
}

SecurityCategory category(const char* type, std::uint8_t n)
{
    return {type, {0x02, 0x01, n}};  // INTEGER n
}

ClearanceValue value(const char* policy, std::vector<int> classes, std::vector<SecurityCategory> categories = {})
{
    ClearanceValue v;
    v.policy_id = policy;
    v.classes = std::move(classes);
    v.categories = std::move(categories);
    return v;
}

using Path = std::vector<std::vector<ClearanceValue>>;

}  // namespace

class ClearanceConstraintsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ClearanceConstraintsTest);
    CPPUNIT_TEST(decodes_good_value);
    CPPUNIT_TEST(refuses_malformed);
    CPPUNIT_TEST(no_constraints_unchanged);
    CPPUNIT_TEST(other_policy_dropped);
    CPPUNIT_TEST(class_list_and);
    CPPUNIT_TEST(categories_intersected);
    CPPUNIT_TEST(two_cas_narrow_in_turn);
    CPPUNIT_TEST(permitted_set_steps);
    CPPUNIT_TEST_SUITE_END();

public:
    void decodes_good_value()
    {
        // SEQUENCE { Clearance { ours, {0,1,2}, { [0] 1.2.3 : [1] INTEGER 5 } }, Clearance { theirs } }
        const Bytes cats = tlv(0x31, tlv(0x30, cat({{0x80, 0x02, 0x2a, 0x03}, tlv(0xa1, {0x02, 0x01, 0x05})})));
        const auto got = decode_clearance_constraints(
            tlv(0x30, cat({clearance(kOid, cat({kUpToRestricted, cats})), clearance(kOid2, {})})));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), got.size());
        CPPUNIT_ASSERT_EQUAL(std::string(kOurs), got[0].policy_id);
        CPPUNIT_ASSERT(got[0].classes == (std::vector<int>{0, 1, 2}));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), got[0].categories.size());
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3"), got[0].categories[0].type);
        CPPUNIT_ASSERT_EQUAL(std::string(kTheirs), got[1].policy_id);
        CPPUNIT_ASSERT(got[1].class_list_default);
        CPPUNIT_ASSERT(got[1].classes == (std::vector<int>{1}));
        // one element is enough (SIZE (1..MAX))
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), decode_clearance_constraints(tlv(0x30, clearance(kOid, {}))).size());
    }

    void refuses_malformed()
    {
        const Bytes one = clearance(kOid, kUpToRestricted);
        const Bytes good = tlv(0x30, one);
        Bytes many;
        for (int i = 0; i < 65; ++i) {
            Bytes oid = kOid;
            oid.back() = std::uint8_t(i + 1);  // 65 different policies
            many = cat({many, clearance(oid, {})});
        }
        struct Case {
            const char* name;
            Bytes der;
            const char* says;  // part of the message; "" when any message will do
        } cases[] = {
            {"empty input", {}, ""},
            {"empty SEQUENCE", {0x30, 0x00}, "empty"},
            {"a SET", tlv(0x31, one), ""},
            {"a bare Clearance", one, ""},
            {"garbage", {0xde, 0xad, 0xbe, 0xef}, ""},
            {"truncated", Bytes(good.begin(), good.end() - 2), ""},
            {"trailing bytes", cat({good, {0x00}}), ""},
            {"indefinite length", cat({{0x30, 0x80}, one, {0x00, 0x00}}), "not DER"},
            {"non-minimal length", cat({{0x30, 0x81, std::uint8_t(one.size())}, one}), "not DER"},
            {"BER inside: DEFAULT classList written out", tlv(0x30, clearance(kOid, {0x03, 0x02, 0x06, 0x40})), "DEFAULT"},
            {"element not a Clearance", tlv(0x30, {0x05, 0x00}), ""},
            {"RFC 3281 syntax", tlv(0x30, clearance(kOid, {}, 0x80)), "RFC 3281"},
            {"one policy twice", tlv(0x30, cat({one, clearance(kOid, kUpToSecret)})), "twice"},
            {"65 clearances", tlv(0x30, many), "more than 64"},
            {"oversized", Bytes(64 * 1024 + 1, 0x30), "over"},
        };
        for (const auto& c : cases) {
            const std::string e = decode_error(c.der);
            CPPUNIT_ASSERT_MESSAGE(std::string(c.name) + ": " + e, e != "(decoded)");
            CPPUNIT_ASSERT_MESSAGE(std::string(c.name) + ": " + e, e.find(c.says) != std::string::npos);
        }
    }

    void no_constraints_unchanged()
    {
        const std::vector<ClearanceValue> ee = {value(kOurs, {0, 1, 2}, {category("1.2.3", 5)}), value(kTheirs, {1})};
        CPPUNIT_ASSERT(policy::constrain_clearances(ee, Path{}) == ee);
        // a constraint that permits all of it leaves it equal too
        CPPUNIT_ASSERT(policy::constrain_clearances(ee, Path{{value(kTheirs, {0, 1}), value(kOurs, {0, 1, 2, 3},
                                                                {category("1.2.3", 5), category("1.2.4", 1)})}}) == ee);
        CPPUNIT_ASSERT(policy::constrain_clearances({}, Path{{value(kOurs, {1})}}).empty());
    }

    void other_policy_dropped()
    {
        const std::vector<ClearanceValue> ee = {value(kOurs, {0, 1, 2}), value(kTheirs, {1, 2})};
        const auto got = policy::constrain_clearances(ee, Path{{value(kTheirs, {0, 1, 2, 3})}});
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), got.size());
        CPPUNIT_ASSERT_EQUAL(std::string(kTheirs), got[0].policy_id);
        // a CA that permits no classification of a policy (empty classList) permits nothing of it
        CPPUNIT_ASSERT(policy::constrain_clearances({value(kOurs, {0, 1})}, Path{{value(kOurs, {})}}).empty());
    }

    void class_list_and()
    {
        // user claims {0,1,2,3}; the CA permits {1,2,5}: {1,2}
        auto got = policy::constrain_clearances({value(kOurs, {0, 1, 2, 3})}, Path{{value(kOurs, {1, 2, 5})}});
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), got.size());
        CPPUNIT_ASSERT(got[0].classes == (std::vector<int>{1, 2}));
        // disjoint bits: no clearance left for the policy
        got = policy::constrain_clearances({value(kOurs, {3, 4}), value(kTheirs, {1})},
                                           Path{{value(kOurs, {0, 1, 2}), value(kTheirs, {1})}});
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), got.size());
        CPPUNIT_ASSERT_EQUAL(std::string(kTheirs), got[0].policy_id);
        // the DEFAULT classList of a CA's constraint means {unclassified} only
        ClearanceValue by_default = value(kOurs, {1});
        by_default.class_list_default = true;
        got = policy::constrain_clearances({value(kOurs, {0, 1, 2})}, Path{{by_default}});
        CPPUNIT_ASSERT(got.at(0).classes == (std::vector<int>{1}));
        // every value of a policy is narrowed on its own
        got = policy::constrain_clearances({value(kOurs, {0}), value(kOurs, {2, 3})}, Path{{value(kOurs, {0, 2})}});
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), got.size());
        CPPUNIT_ASSERT(got[0].classes == (std::vector<int>{0}));
        CPPUNIT_ASSERT(got[1].classes == (std::vector<int>{2}));
    }

    void categories_intersected()
    {
        const auto a = category("1.2.3", 1), b = category("1.2.3", 2), c = category("1.2.4", 1);
        auto got = policy::constrain_clearances({value(kOurs, {2}, {a, b, c})}, Path{{value(kOurs, {2}, {b, c})}});
        CPPUNIT_ASSERT(got.at(0).categories == (std::vector<SecurityCategory>{b, c}));
        // the same type with another value is another category
        got = policy::constrain_clearances({value(kOurs, {2}, {a})}, Path{{value(kOurs, {2}, {b})}});
        CPPUNIT_ASSERT(got.at(0).categories.empty());
        CPPUNIT_ASSERT(got.at(0).classes == (std::vector<int>{2}));  // the classification stays
        // a CA constraint without categories permits none
        got = policy::constrain_clearances({value(kOurs, {2}, {a})}, Path{{value(kOurs, {1, 2})}});
        CPPUNIT_ASSERT(got.at(0).categories.empty());
    }

    void two_cas_narrow_in_turn()
    {
        const auto a = category("1.2.3", 1), b = category("1.2.3", 2);
        // anchor permits ours {0..4} with a, b and theirs; the sub-CA ours {1,2,3} with b only
        // and no theirs; the user claims ours {0..4} with a, b and theirs {1}.
        const Path path = {{value(kOurs, {0, 1, 2, 3, 4}, {a, b}), value(kTheirs, {1})},
                           {value(kOurs, {1, 2, 3}, {b})}};
        const auto got = policy::constrain_clearances({value(kOurs, {0, 1, 2, 3, 4}, {a, b}), value(kTheirs, {1})}, path);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), got.size());
        CPPUNIT_ASSERT(got[0].classes == (std::vector<int>{1, 2, 3}));
        CPPUNIT_ASSERT(got[0].categories == (std::vector<SecurityCategory>{b}));
        // the order of the CAs changes the steps, not the result
        const Path reversed = {path[1], path[0]};
        CPPUNIT_ASSERT(policy::constrain_clearances({value(kOurs, {0, 1, 2, 3, 4}, {a, b}), value(kTheirs, {1})},
                                                    reversed) == got);
        // a lower CA cannot widen what a higher one permits
        const auto widened = policy::constrain_clearances({value(kOurs, {0, 1, 2, 3, 4})},
                                                          Path{{value(kOurs, {1})}, {value(kOurs, {0, 1, 2, 3, 4})}});
        CPPUNIT_ASSERT(widened.at(0).classes == (std::vector<int>{1}));
    }

    void permitted_set_steps()
    {
        policy::PermittedClearances permitted;  // "any"
        permitted = policy::narrow_permitted(permitted, {value(kOurs, {0, 1, 2}), value(kTheirs, {})});
        CPPUNIT_ASSERT(permitted.has_value());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), permitted->size());  // nothing of theirs is permitted
        permitted = policy::narrow_permitted(permitted, {value(kTheirs, {1})});
        CPPUNIT_ASSERT(permitted.has_value() && permitted->empty());  // now nothing at all
        CPPUNIT_ASSERT(policy::constrain_clearances({value(kOurs, {1})},
                                                    Path{{value(kOurs, {0, 1, 2})}, {value(kTheirs, {1})}})
                           .empty());
        CPPUNIT_ASSERT(!policy::intersect_clearance(value(kOurs, {0}), value(kOurs, {1})).has_value());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ClearanceConstraintsTest);
