// Unit tests for recipient clearances from the directory (PRODUCT §4.1, RFC 5755 §4.4.6): the
// Clearance codec (current and RFC 3281 syntax, the DEFAULT classList, DER strictness, bounds,
// truncation), its mapping onto the policy's clearances, the precedence of [[clearance]] over
// the directory, unreadable values, a directory that cannot be asked (451 4.7.1 through
// judge_labels), the [labels] clearance_attribute key, and the Clearance values of a
// certificate's subjectDirectoryAttributes extension. DER vectors are written out by hand
// from X.690; the integration test (test_clearance_directory.sh) uses OpenSSL's genconf.
#include <cppunit/extensions/HelperMacros.h>

#include "base/error.h"
#include "milter/config.h"
#include "milter/security_labels.h"
#include "smime/cms/clearance.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;
using smime::cms::ClearanceValue;
using smime::cms::decode_clearance;
using smime::cms::encode_clearance;
using smime::cms::SecurityLabel;

namespace {

constexpr const char* kOurs = "1.3.6.1.4.1.99999.1";
// OBJECT IDENTIFIER 1.3.6.1.4.1.99999.1 (content octets)
const Bytes kOid = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x01};
// SET OF { SEQUENCE { [0] 1.2.3, [1] { INTEGER 5 } } }
const Bytes kCategories = {0x31, 0x0b, 0x30, 0x09, 0x80, 0x02, 0x2a, 0x03, 0xa1, 0x03, 0x02, 0x01, 0x05};

Bytes cat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// SEQUENCE { OID, rest... } with a short-form length.
Bytes clearance(const Bytes& rest, std::uint8_t oid_tag = 0x06)
{
    Bytes body = cat({{oid_tag, std::uint8_t(kOid.size())}, kOid, rest});
    return cat({{0x30, std::uint8_t(body.size())}, body});
}

std::string decode_error(const Bytes& der)
{
    try {
        decode_clearance(der);
    } catch (const Error& e) {
        CPPUNIT_ASSERT(e.failure() == Failure::MalformedMessage);
        return e.what();
    }
    return "(decoded)";
}

SecurityLabel label(std::optional<int> cls)
{
    SecurityLabel l;
    l.policy_id = kOurs;
    l.classification = cls;
    return l;
}

EmailAddress addr(const char* a) { return *EmailAddress::parse(a); }

// A directory that answers from a table (unit tests only; the integration test asks slapd).
class TableDirectory final : public policy::ClearanceDirectory {
public:
    std::map<std::string, policy::DirectoryClearances> entries;
    bool down = false;
    mutable int asked = 0;
    policy::DirectoryClearances clearances(const EmailAddress& r) const override
    {
        ++asked;
        if (down) throw Error(Failure::DirectoryUnavailable, "ldap://127.0.0.1:1: connect refused");
        auto it = entries.find(r.str());
        return it == entries.end() ? policy::DirectoryClearances{} : it->second;
    }
};

const std::string kGroups = "[directory.groups]\nservers = [\"ldap://127.0.0.1:1\"]\nuser_base = \"ou=people,dc=acme,dc=example\"\n";

std::string config_error(const std::string& body)
{
    try {
        parse_config("[hsm]\ntoken_label = \"t\"\n" + body, "c.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(loaded)";
}

}  // namespace

class ClearanceTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ClearanceTest);
    CPPUNIT_TEST(decodes_current_syntax);
    CPPUNIT_TEST(default_class_list);
    CPPUNIT_TEST(decodes_rfc3281_syntax);
    CPPUNIT_TEST(refuses_malformed);
    CPPUNIT_TEST(encoder_round_trip);
    CPPUNIT_TEST(mapping_and_precedence);
    CPPUNIT_TEST(judge_labels_with_directory);
    CPPUNIT_TEST(config_key);
    CPPUNIT_TEST(certificate_extension);
    CPPUNIT_TEST_SUITE_END();

public:
    void decodes_current_syntax()
    {
        // classList {unmarked, unclassified, restricted}: 3 bits, 5 unused
        const ClearanceValue c = decode_clearance(clearance(cat({{0x03, 0x02, 0x05, 0xe0}, kCategories})));
        CPPUNIT_ASSERT_EQUAL(std::string(kOurs), c.policy_id);
        CPPUNIT_ASSERT(c.classes == (std::vector<int>{0, 1, 2}));
        CPPUNIT_ASSERT(!c.class_list_default);
        CPPUNIT_ASSERT(c.syntax == ClearanceValue::Syntax::Rfc5755);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), c.categories.size());
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3"), c.categories[0].type);
        CPPUNIT_ASSERT(c.categories[0].value == (Bytes{0x02, 0x01, 0x05}));
        // secret (4) alone: 5 bits, 3 unused
        CPPUNIT_ASSERT(decode_clearance(clearance({0x03, 0x02, 0x03, 0x08})).classes == std::vector<int>{4});
        // an empty classList clears for nothing (it is not the default)
        const ClearanceValue none = decode_clearance(clearance({0x03, 0x01, 0x00}));
        CPPUNIT_ASSERT(none.classes.empty() && !none.class_list_default);
        // classification 256: 257 bits, the last one set
        Bytes bits(2 + 34, 0);  // unused-bit count + 33 octets
        bits[0] = 0x03, bits[1] = 0x22, bits[2] = 0x07, bits[35] = 0x80;
        Bytes body = cat({{0x06, 0x09}, kOid, bits});
        const Bytes long_form = cat({{0x30, std::uint8_t(body.size())}, body});
        CPPUNIT_ASSERT(decode_clearance(long_form).classes == std::vector<int>{256});
    }

    void default_class_list()
    {
        // classList absent: its DEFAULT {unclassified}
        const ClearanceValue c = decode_clearance(clearance({}));
        CPPUNIT_ASSERT(c.classes == std::vector<int>{1});
        CPPUNIT_ASSERT(c.class_list_default);
        CPPUNIT_ASSERT(c.categories.empty());
        // written out although equal to the DEFAULT: not DER (X.690 §11.5)
        CPPUNIT_ASSERT(decode_error(clearance({0x03, 0x02, 0x06, 0x40})).find("DEFAULT") != std::string::npos);
    }

    void decodes_rfc3281_syntax()
    {
        // RFC 3281: policyId [0], classList [1], securityCategories [2] (IMPLICIT)
        Bytes cats = kCategories;
        cats[0] = 0xa2;
        const ClearanceValue c = decode_clearance(clearance(cat({{0x81, 0x02, 0x05, 0xe0}, cats}), 0x80));
        CPPUNIT_ASSERT(c.syntax == ClearanceValue::Syntax::Rfc3281);
        CPPUNIT_ASSERT_EQUAL(std::string(kOurs), c.policy_id);
        CPPUNIT_ASSERT(c.classes == (std::vector<int>{0, 1, 2}));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), c.categories.size());
        CPPUNIT_ASSERT(decode_clearance(clearance({}, 0x80)).classes == std::vector<int>{1});
    }

    void refuses_malformed()
    {
        const Bytes good = clearance(cat({{0x03, 0x02, 0x05, 0xe0}, kCategories}));
        struct Case {
            const char* name;
            Bytes der;
            const char* says;  // part of the message; "" when any message will do
        } cases[] = {
            {"empty", {}, ""},
            {"not a sequence", {0x31, 0x00}, ""},
            {"truncated", Bytes(good.begin(), good.end() - 3), ""},
            {"length past the end", cat({{0x30, 0x7f}, Bytes(good.begin() + 2, good.end())}), ""},
            {"trailing bytes", cat({good, {0x00}}), ""},
            {"indefinite length", cat({{0x30, 0x80}, Bytes(good.begin() + 2, good.end()), {0x00, 0x00}}), "not DER"},
            {"non-minimal length", cat({{0x30, 0x81, good[1]}, Bytes(good.begin() + 2, good.end())}), "not DER"},
            {"unused bits not zero", clearance({0x03, 0x02, 0x05, 0xe1}), "unused bits"},
            {"trailing zero bits", clearance({0x03, 0x02, 0x04, 0xe0}), "trailing zero bits"},
            {"unused-bit count over 7", clearance({0x03, 0x02, 0x08, 0x80}), ""},
            {"empty category set", clearance({0x31, 0x00}), "empty"},
            {"category value not DER", clearance({0x31, 0x0c, 0x30, 0x0a, 0x80, 0x02, 0x2a, 0x03, 0xa1, 0x04, 0x02, 0x81, 0x01, 0x05}), "non-minimal"},
            {"no policy", {0x30, 0x04, 0x03, 0x02, 0x05, 0xe0}, ""},
            {"wrong type for policy", clearance({}, 0x04), ""},
        };
        for (const auto& c : cases) {
            const std::string e = decode_error(c.der);
            CPPUNIT_ASSERT_MESSAGE(std::string(c.name) + ": " + e, e != "(decoded)");
            CPPUNIT_ASSERT_MESSAGE(std::string(c.name) + ": " + e, e.find(c.says) != std::string::npos);
        }
        // 258 bits: a classification no label can carry
        Bytes bits(2 + 34, 0);
        bits[0] = 0x03, bits[1] = 0x22, bits[2] = 0x06, bits[35] = 0x40;
        Bytes body = cat({{0x06, 0x09}, kOid, bits});
        CPPUNIT_ASSERT(decode_error(cat({{0x30, std::uint8_t(body.size())}, body})).find("258 bits") != std::string::npos);
        // oversized: over 72 KiB refused before parsing
        Bytes huge(smime::cms::kMaxClearanceDer + 1, 0x00);
        CPPUNIT_ASSERT(decode_error(huge).find("over") != std::string::npos);
        // 65 categories: over RFC 2634's bound, as for labels
        ClearanceValue many;
        many.policy_id = kOurs;
        many.classes = {2};
        for (int i = 0; i < 65; ++i) many.categories.push_back({"1.2.3." + std::to_string(i), {0x05, 0x00}});
        CPPUNIT_ASSERT_THROW(encode_clearance(many), Error);
    }

    void encoder_round_trip()
    {
        for (const Bytes& der : {clearance(cat({{0x03, 0x02, 0x05, 0xe0}, kCategories})), clearance({}),
                                 clearance({0x03, 0x01, 0x00}), clearance({0x03, 0x02, 0x03, 0x08})}) {
            CPPUNIT_ASSERT(encode_clearance(decode_clearance(der)) == der);
        }
        ClearanceValue c;
        c.policy_id = kOurs;
        c.classes = {1};  // the DEFAULT: left out
        CPPUNIT_ASSERT(encode_clearance(c) == clearance({}));
        c.classes = {300};
        CPPUNIT_ASSERT_THROW(encode_clearance(c), Error);
        c.classes = {1};
        c.policy_id = "1.x";
        CPPUNIT_ASSERT_THROW(encode_clearance(c), Error);
    }

    void mapping_and_precedence()
    {
        const policy::Clearance mapped = policy::clearance_from(decode_clearance(clearance(cat({{0x03, 0x02, 0x05, 0xe0}, kCategories}))));
        CPPUNIT_ASSERT(mapped.classifications == (std::vector<int>{0, 1, 2}));
        CPPUNIT_ASSERT(mapped.categories == std::vector<std::string>{"1.2.3:020105"});

        auto c = parse_config(std::string("[hsm]\ntoken_label = \"t\"\n[[clearance]]\nrecipients = [\"intern@acme.example\"]\n") +
                                  "policy = \"" + kOurs + "\"\nclassifications = [0, 1]\n",
                              "p.toml");
        const auto& L = c->labels;
        TableDirectory dir;
        dir.entries["intern@acme.example"].values = {decode_clearance(clearance({0x03, 0x02, 0x03, 0x08}))};
        dir.entries["alice@acme.example"].values = {decode_clearance(clearance(cat({{0x03, 0x02, 0x05, 0xe0}, kCategories})))};
        // two values of one policy: each is a grant of its own
        dir.entries["boss@acme.example"].values = {decode_clearance(clearance({})),
                                                   decode_clearance(clearance({0x03, 0x02, 0x03, 0x08}))};
        dir.entries["mallory@acme.example"].unreadable = 1;
        ClearanceValue other;
        other.policy_id = "1.3.6.1.4.1.88888.1";
        other.classes = {0, 1, 2, 3, 4, 5};
        dir.entries["partner-cleared@acme.example"].values = {other};

        // a matching [[clearance]] decides, the directory is not asked
        auto why = L.clearance_problem(addr("intern@acme.example"), label(4), &dir);
        CPPUNIT_ASSERT(why && why->find("classification 4") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, dir.asked);
        CPPUNIT_ASSERT(!L.clearance_problem(addr("intern@acme.example"), label(1), &dir));
        // otherwise the directory's
        CPPUNIT_ASSERT(!L.clearance_problem(addr("alice@acme.example"), label(2), &dir));
        CPPUNIT_ASSERT(!L.clearance_problem(addr("alice@acme.example"), label(std::nullopt), &dir));  // unmarked: 0
        why = L.clearance_problem(addr("alice@acme.example"), label(3), &dir);
        CPPUNIT_ASSERT(why && why->find("directory: classification 3") != std::string::npos);
        CPPUNIT_ASSERT(!L.clearance_problem(addr("boss@acme.example"), label(4), &dir));
        CPPUNIT_ASSERT(!L.clearance_problem(addr("boss@acme.example"), label(1), &dir));
        CPPUNIT_ASSERT(L.clearance_problem(addr("boss@acme.example"), label(2), &dir));
        // categories: a label category the clearance lacks refuses
        SecurityLabel with_cat = label(2);
        with_cat.categories = {{"1.2.3", {0x02, 0x01, 0x05}}};
        CPPUNIT_ASSERT(!L.clearance_problem(addr("alice@acme.example"), with_cat, &dir));
        with_cat.categories = {{"1.2.4", {0x02, 0x01, 0x05}}};
        CPPUNIT_ASSERT(L.clearance_problem(addr("alice@acme.example"), with_cat, &dir));
        // unreadable, another policy only, no entry: not cleared
        why = L.clearance_problem(addr("mallory@acme.example"), label(0), &dir);
        CPPUNIT_ASSERT(why && why->find("cannot be read") != std::string::npos);
        CPPUNIT_ASSERT(L.clearance_problem(addr("partner-cleared@acme.example"), label(1), &dir));
        CPPUNIT_ASSERT(L.clearance_problem(addr("ghost@acme.example"), label(0), &dir));
        // without a directory: as before
        why = L.clearance_problem(addr("alice@acme.example"), label(2), nullptr);
        CPPUNIT_ASSERT(why && why->find("no [[clearance]]") != std::string::npos);
        // the directory down: the error goes to the caller
        dir.down = true;
        CPPUNIT_ASSERT_THROW(L.clearance_problem(addr("alice@acme.example"), label(2), &dir), Error);
    }

    void judge_labels_with_directory()
    {
        auto c = parse_config("[hsm]\ntoken_label = \"t\"\n", "j.toml");
        TableDirectory dir;
        dir.entries["alice@acme.example"].values = {decode_clearance(clearance({0x03, 0x02, 0x05, 0xe0}))};
        SignedLabel s;
        s.signer = "dave@partner.example";
        s.attributes.security_label = label(2);
        const auto partner = Domain::parse("partner.example");
        // the label's policy is known only through the directory: no [[security_label]] names
        // it, so it must be accepted as unknown first
        auto a = parse_config(std::string("[hsm]\ntoken_label = \"t\"\n[[security_label]]\nname = \"r\"\npolicy = \"") + kOurs +
                                  "\"\nclassification = 2\n",
                              "j.toml");
        auto v = judge_labels(a->labels, {s}, {addr("alice@acme.example")}, partner, &dir);
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Continue);
        v = judge_labels(a->labels, {s}, {addr("alice@acme.example"), addr("bob@acme.example")}, partner, &dir);
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Reject && v.reply.xcode == "5.7.1");
        CPPUNIT_ASSERT(v.reply.text.find("bob@acme.example") != std::string::npos);
        dir.down = true;
        v = judge_labels(a->labels, {s}, {addr("alice@acme.example")}, partner, &dir);
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::TempFail);
        CPPUNIT_ASSERT_EQUAL(std::string("451"), v.reply.rcode);
        CPPUNIT_ASSERT_EQUAL(std::string("4.7.1"), v.reply.xcode);
        CPPUNIT_ASSERT(v.detail.find("clearance=directory-unavailable") != std::string::npos);
        (void)c;
    }

    void config_key()
    {
        auto c = parse_config("[hsm]\ntoken_label = \"t\"\n" + kGroups + "[labels]\nclearance_attribute = \"clearance;binary\"\n", "c.toml");
        CPPUNIT_ASSERT_EQUAL(std::string("clearance;binary"), c->clearance_attribute);
        CPPUNIT_ASSERT(parse_config("[hsm]\ntoken_label = \"t\"\n", "c.toml")->clearance_attribute.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("c.toml:4:23: clearance_attribute needs [directory.groups] (the directory of our people)"),
                             config_error("[labels]\nclearance_attribute = \"clearance;binary\"\n"));
        for (const char* bad : {"clear ance", ";binary", "clearance;", "a;;b", "x(y)"}) {
            const std::string e = config_error(kGroups + "[labels]\nclearance_attribute = \"" + bad + "\"\n");
            CPPUNIT_ASSERT_MESSAGE(e, e.find("is not an LDAP attribute description") != std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(std::string("(loaded)"), config_error(kGroups + "[labels]\nclearance_attribute = \"2.5.4.55;binary\"\n"));
    }

    void certificate_extension()
    {
        auto tlv = [](std::uint8_t tag, const Bytes& body) { return cat({{tag, std::uint8_t(body.size())}, body}); };
        const Bytes good = clearance({0x03, 0x02, 0x05, 0xe0});
        const Bytes bad = clearance({0x03, 0x02, 0x06, 0x40});  // the DEFAULT written out
        const Bytes old_syntax = clearance({}, 0x80);
        const Bytes cn = tlv(0x30, cat({{0x06, 0x03, 0x55, 0x04, 0x03}, tlv(0x31, {0x0c, 0x01, 'A'})}));
        const Bytes current = tlv(0x30, cat({{0x06, 0x03, 0x55, 0x04, 0x37}, tlv(0x31, cat({good, bad}))}));
        const Bytes rfc3281 = tlv(0x30, cat({{0x06, 0x04, 0x55, 0x01, 0x05, 0x37}, tlv(0x31, old_syntax)}));
        const auto found = smime::cms::clearances_in_directory_attributes(tlv(0x30, cat({cn, current, rfc3281})));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), found.values.size());
        CPPUNIT_ASSERT(found.values[0].classes == (std::vector<int>{0, 1, 2}));
        CPPUNIT_ASSERT(found.values[1].syntax == ClearanceValue::Syntax::Rfc3281);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), found.unreadable);
        CPPUNIT_ASSERT(found.errors.at(0).find("DEFAULT") != std::string::npos);
        // no clearance among the attributes; a broken extension
        CPPUNIT_ASSERT(smime::cms::clearances_in_directory_attributes(tlv(0x30, cn)).values.empty());
        CPPUNIT_ASSERT_THROW(smime::cms::clearances_in_directory_attributes(Bytes{0x30, 0x05, 0x06}), Error);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ClearanceTest);
