// Unit tests for policy/: address patterns and first-match rule planning.
#include <cppunit/extensions/HelperMacros.h>

#include "policy/policy.h"

using namespace ssm;
using namespace ssm::policy;

namespace {

AddressPattern pat(const char* s)
{
    auto p = AddressPattern::parse(s);
    if (!p) throw std::runtime_error(std::string("bad pattern ") + s);
    return *p;
}

std::optional<EmailAddress> addr(const char* s)
{
    if (!*s) return std::nullopt;
    return EmailAddress::parse(s);
}

Policy sample_policy()
{
    std::vector<Rule> rules;
    rules.push_back({"partner", Direction::Outbound, {}, {pat("*@partner.example")},
                     SignMode::Domain, EncryptMode::Mandatory});
    rules.push_back({"ceo", Direction::Outbound, {pat("ceo@acme.example")}, {},
                     SignMode::Sender, EncryptMode::Never});
    rules.push_back({"subsidiaries", Direction::Outbound, {}, {pat("*@*.acme.example")},
                     SignMode::None, EncryptMode::Never});
    rules.push_back({"inbound-any", Direction::Inbound, {}, {}, SignMode::Sender,
                     EncryptMode::Never});
    rules.push_back({"rest", Direction::Outbound, {}, {}, SignMode::Sender,
                     EncryptMode::Opportunistic});
    std::vector<OwnDomain> domains;
    domains.push_back({*Domain::parse("acme.example"),
                       *EmailAddress::parse("domain-signing-authority@acme.example")});
    return Policy(std::move(rules), std::move(domains));
}

}  // namespace

class PolicyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PolicyTest);
    CPPUNIT_TEST(pattern_table);
    CPPUNIT_TEST(bad_patterns);
    CPPUNIT_TEST(plan_table);
    CPPUNIT_TEST(inbound_never_signs);
    CPPUNIT_TEST(domain_identity);
    CPPUNIT_TEST_SUITE_END();

public:
    void pattern_table()
    {
        struct { const char* pattern; const char* address; bool match; } cases[] = {
            {"*", "", true},
            {"*", "a@b.example", true},
            {"alice@acme.example", "ALICE@Acme.Example", true},
            {"alice@acme.example", "bob@acme.example", false},
            {"alice@acme.example", "", false},
            {"*@acme.example", "x@acme.example", true},
            {"*@acme.example", "x@sub.acme.example", false},
            {"@acme.example", "x@ACME.EXAMPLE", true},
            {"*@*.acme.example", "x@sub.acme.example", true},
            {"*@*.acme.example", "x@a.b.acme.example", true},
            {"*@*.acme.example", "x@acme.example", false},
            {"*@*.acme.example", "x@evilacme.example", false},
        };
        for (auto& c : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c.pattern) + " vs " + c.address, c.match,
                                         pat(c.pattern).matches(addr(c.address)));
    }

    void bad_patterns()
    {
        for (const char* s : {"", "*@", "alice", "*@*.", "a b@c.example", "<a@b.example>"})
            CPPUNIT_ASSERT_MESSAGE(s, !AddressPattern::parse(s).has_value());
    }

    void plan_table()
    {
        const Policy p = sample_policy();
        struct {
            Direction dir; const char* from; const char* to;
            const char* rule; SignMode sign; EncryptMode enc;
        } cases[] = {
            {Direction::Outbound, "alice@acme.example", "bob@partner.example", "partner",
             SignMode::Domain, EncryptMode::Mandatory},
            {Direction::Outbound, "ceo@acme.example", "bob@partner.example", "partner",
             SignMode::Domain, EncryptMode::Mandatory},
            {Direction::Outbound, "ceo@acme.example", "x@other.example", "ceo", SignMode::Sender,
             EncryptMode::Never},
            {Direction::Outbound, "alice@acme.example", "x@sales.acme.example", "subsidiaries",
             SignMode::None, EncryptMode::Never},
            {Direction::Outbound, "alice@acme.example", "x@other.example", "rest",
             SignMode::Sender, EncryptMode::Opportunistic},
            {Direction::Outbound, "", "x@other.example", "rest", SignMode::Sender,
             EncryptMode::Opportunistic},
            {Direction::Inbound, "x@other.example", "alice@acme.example", "inbound-any",
             SignMode::None, EncryptMode::Never},
        };
        for (auto& c : cases) {
            auto plan = p.plan_recipient(c.dir, addr(c.from), *addr(c.to));
            const std::string what = std::string(c.from) + " -> " + c.to;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string(c.rule), plan.rule_name);
            CPPUNIT_ASSERT_MESSAGE(what, plan.treatment.sign == c.sign);
            CPPUNIT_ASSERT_MESSAGE(what, plan.treatment.encrypt == c.enc);
        }
        Policy empty;
        auto plan = empty.plan_recipient(Direction::Outbound, addr("a@b.example"), *addr("c@d.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("default"), plan.rule_name);
        CPPUNIT_ASSERT(plan.treatment.sign == SignMode::None);
    }

    void inbound_never_signs()
    {
        std::vector<Rule> rules{{"sign-all", std::nullopt, {}, {}, SignMode::Sender, EncryptMode::Never}};
        Policy p(std::move(rules), {});
        auto in = p.plan_recipient(Direction::Inbound, addr("x@internet.example"), *addr("a@acme.example"));
        CPPUNIT_ASSERT(in.treatment.sign == SignMode::None);
        auto out = p.plan_recipient(Direction::Outbound, addr("a@acme.example"), *addr("x@internet.example"));
        CPPUNIT_ASSERT(out.treatment.sign == SignMode::Sender);
    }

    void domain_identity()
    {
        const Policy p = sample_policy();
        CPPUNIT_ASSERT_EQUAL(std::string("domain-signing-authority@acme.example"),
                             p.domain_identity(*addr("alice@acme.example"))->str());
        CPPUNIT_ASSERT_EQUAL(std::string("domain-signing-authority@acme.example"),
                             p.domain_identity(*addr("alice@eu.acme.example"))->str());
        CPPUNIT_ASSERT(!p.domain_identity(*addr("x@other.example")).has_value());
        CPPUNIT_ASSERT(p.is_own_domain(*Domain::parse("acme.example")));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PolicyTest);
