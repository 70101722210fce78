// Mail lists with members from a directory group (PRODUCT §4.3): the [[mail_list]]
// members_group settings and their errors (file:line:column), the union of configured and
// group members (each address once, never the list itself, the 1000-member limit) over a
// directory answered by the test, and the checks on member values from the server (RFC 4514
// DNs, the uniqueMember UID suffix). slapd itself is exercised by test_ldap_groups and
// tests/integration/test_mail_list_group.sh.
#include <cppunit/extensions/HelperMacros.h>

#include <map>

#include "base/error.h"
#include "directory/ldap_group_members.h"
#include "milter/config.h"
#include "milter/list_members.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

const std::string kHead =
    "[hsm]\ntoken_label = \"t\"\n[[domain]]\nname = \"acme.example\"\n"
    "signing_identity = \"domain-signing-authority@acme.example\"\n";
const std::string kGroups =
    "[directory.groups]\nservers = [\"ldap://127.0.0.1:1\"]\nuser_base = \"ou=people,dc=acme,dc=example\"\n"
    "group_base = \"ou=groups,dc=acme,dc=example\"\n";

std::string config_error(const std::string& body)
{
    try {
        parse_config(kHead + body, "l.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(loaded)";
}

EmailAddress addr(const char* s)
{
    return *EmailAddress::parse(s);
}

// The directory as the test says it is.
class Groups final : public directory::GroupMemberDirectory {
public:
    std::map<std::string, directory::GroupExpansion> groups;
    bool down = false;
    mutable int asked = 0;
    directory::GroupExpansion members(const std::string& group) const override
    {
        ++asked;
        if (down) throw Error(Failure::DirectoryUnavailable, "ldap://127.0.0.1:1: connect refused");
        auto it = groups.find(group);
        return it == groups.end() ? directory::GroupExpansion{} : it->second;
    }
};

directory::GroupExpansion expansion(std::vector<const char*> addresses, std::size_t without_mail = 0)
{
    directory::GroupExpansion g;
    g.found = true;
    for (const char* a : addresses) g.addresses.push_back(addr(a));
    g.without_mail = without_mail;
    return g;
}

MailList list(std::vector<const char*> members, std::string group)
{
    MailList l{addr("team@acme.example"), addr("team@acme.example"), {}, std::move(group), {}, {}};
    for (const char* m : members) l.members.push_back(addr(m));
    return l;
}

std::string shown(const ListMembers& r)
{
    std::string s;
    for (const auto& m : r.members) s += m.address.str() + "/" + origin_name(m.origin) + " ";
    return s;
}

}  // namespace

class ListMembersTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ListMembersTest);
    CPPUNIT_TEST(config_accepts_group);
    CPPUNIT_TEST(config_errors);
    CPPUNIT_TEST(union_and_dedup);
    CPPUNIT_TEST(limits_and_failures);
    CPPUNIT_TEST(member_values_from_the_server);
    CPPUNIT_TEST(envelopes_by_cipher);
    CPPUNIT_TEST_SUITE_END();

public:
    void config_accepts_group()
    {
        auto c = parse_config(kHead + kGroups +
                                  "[[mail_list]]\naddress = \"team@acme.example\"\nmembers_group = \"team\"\n"
                                  "[[mail_list]]\naddress = \"ops@acme.example\"\nmembers = [\"a@acme.example\"]\n"
                                  "members_group = \"cn=ops,ou=groups,dc=acme,dc=example\"\n"
                                  "[[mail_list]]\naddress = \"x@acme.example\"\nmembers = []\n"
                                  "members_group = \"x\"\n",
                              "l.toml");
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), c->mail_lists.size());
        CPPUNIT_ASSERT_EQUAL(std::string("team"), c->mail_lists[0].members_group);
        CPPUNIT_ASSERT(c->mail_lists[0].members.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("cn=ops,ou=groups,dc=acme,dc=example"), c->mail_lists[1].members_group);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), c->mail_lists[1].members.size());
        // A static list needs no directory at all.
        auto s = parse_config(kHead + "[[mail_list]]\naddress = \"t@acme.example\"\nmembers = [\"a@acme.example\"]\n", "s.toml");
        CPPUNIT_ASSERT(s->mail_lists.at(0).members_group.empty());
    }

    void config_errors()
    {
        // kHead is 5 lines: the [[mail_list]] header is on line 6, its keys from line 7.
        struct {
            std::string body;
            std::string expected;
        } cases[] = {
            {"[[mail_list]]\naddress = \"t@acme.example\"\nmembers_group = \"team\"\n",
             "l.toml:8:17: members_group needs a [directory.groups] directory"},
            {"[[mail_list]]\naddress = \"t@acme.example\"\nmembers = [\"a@acme.example\"]\nmembers_group = \"cn=t,dc=x\"\n",
             "l.toml:9:17: members_group needs a [directory.groups]"},
            {"[[mail_list]]\naddress = \"t@acme.example\"\n", "l.toml:6:1: [[mail_list]] t@acme.example needs members, members_group or both"},
            {"[[mail_list]]\naddress = \"t@acme.example\"\nmembers = []\n", "l.toml:8:11: members must name 1 to 1000"},
            {kGroups + "[[mail_list]]\naddress = \"t@acme.example\"\nmembers_group = \"\"\n",
             "l.toml:12:17: members_group must name a group"},
            {kGroups + "[[mail_list]]\naddress = \"t@acme.example\"\nmembers_group = \"cn=team,,dc=x\"\n",
             "l.toml:12:17: 'cn=team,,dc=x' is not an LDAP DN"},
            {"[directory.groups]\nservers = [\"ldap://127.0.0.1:1\"]\nuser_base = \"ou=people,dc=acme,dc=example\"\n"
             "[[mail_list]]\naddress = \"t@acme.example\"\nmembers_group = \"team\"\n",
             "l.toml:11:17: members_group 'team' is a cn, but [directory.groups] has no group_base"},
            {kGroups + "[[mail_list]]\naddress = \"t@acme.example\"\nmembers_group = [\"team\"]\n",
             "l.toml:12:17: 'members_group' must be a string"},
        };
        for (const auto& c : cases) {
            const std::string got = config_error(c.body);
            CPPUNIT_ASSERT_MESSAGE(c.expected + "\n  got: " + got, got.find(c.expected) == 0);
        }
    }

    void union_and_dedup()
    {
        Groups dir;
        dir.groups["team"] = expansion({"Bob@ACME.example", "carol@acme.example", "team@acme.example",
                                        "carol@Acme.Example", "dave@partner.example"},
                                       2);
        const auto r = resolve_members(list({"alice@acme.example", "bob@acme.example"}, "team"), &dir);
        CPPUNIT_ASSERT_EQUAL(std::string("alice@acme.example/config bob@acme.example/config carol@acme.example/group "
                                         "dave@partner.example/group "),
                             shown(r));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.from_group);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.group_without_mail);
        CPPUNIT_ASSERT(r.group_found && !r.too_many);

        // Group only; a static list never asks the directory.
        const auto g = resolve_members(list({}, "team"), &dir);
        // The group's spelling of a local part is kept; the domain is lower case.
        CPPUNIT_ASSERT_EQUAL(std::string("Bob@acme.example/group carol@acme.example/group dave@partner.example/group "),
                             shown(g));
        const int asked = dir.asked;
        const auto s = resolve_members(list({"alice@acme.example"}, ""), nullptr);
        CPPUNIT_ASSERT_EQUAL(std::string("alice@acme.example/config "), shown(s));
        CPPUNIT_ASSERT_EQUAL(asked, dir.asked);

        // A group the directory does not know: no member from it, said so.
        const auto missing = resolve_members(list({"alice@acme.example"}, "nosuch"), &dir);
        CPPUNIT_ASSERT(!missing.group_found);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), missing.members.size());
        CPPUNIT_ASSERT(resolve_members(list({}, "nosuch"), &dir).members.empty());
        // Only the list itself in the group: nothing to deliver to.
        dir.groups["self"] = expansion({"TEAM@acme.example"});
        CPPUNIT_ASSERT(resolve_members(list({}, "self"), &dir).members.empty());
    }

    void limits_and_failures()
    {
        Groups dir;
        std::vector<std::string> many;
        for (int i = 0; i < 1000; ++i) many.push_back("m" + std::to_string(i) + "@acme.example");
        directory::GroupExpansion full;
        full.found = true;
        for (const auto& m : many) full.addresses.push_back(*EmailAddress::parse(m));
        dir.groups["full"] = full;
        // 1000 from the group: allowed; one more from the configuration: too many.
        CPPUNIT_ASSERT(!resolve_members(list({}, "full"), &dir).too_many);
        CPPUNIT_ASSERT(!resolve_members(list({"m5@acme.example"}, "full"), &dir).too_many);  // a duplicate
        CPPUNIT_ASSERT(resolve_members(list({"extra@acme.example"}, "full"), &dir).too_many);
        // The directory read stopped at its limit: incomplete, so not expanded either.
        directory::GroupExpansion cut = expansion({"a@acme.example"});
        cut.truncated = true;
        dir.groups["cut"] = cut;
        CPPUNIT_ASSERT(resolve_members(list({}, "cut"), &dir).too_many);
        // Cut by groups nested too deep: refused too, for that reason.
        directory::GroupExpansion deep = expansion({"a@acme.example"});
        deep.truncated = deep.too_deep = true;
        dir.groups["deep"] = deep;
        const ListMembers d = resolve_members(list({}, "deep"), &dir);
        CPPUNIT_ASSERT(d.too_deep && !d.too_many);

        // No server: DirectoryUnavailable (451 4.7.1), never the configured members alone.
        dir.down = true;
        for (const directory::GroupMemberDirectory* d : {static_cast<const directory::GroupMemberDirectory*>(&dir),
                                                        static_cast<const directory::GroupMemberDirectory*>(nullptr)}) {
            try {
                resolve_members(list({"alice@acme.example"}, "team"), d);
                CPPUNIT_FAIL("resolved without the directory");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            }
        }
    }

    void member_values_from_the_server()
    {
        using directory::member_dn;
        CPPUNIT_ASSERT_EQUAL(std::string("cn=a,ou=people,dc=acme,dc=example"), member_dn("cn=a,ou=people,dc=acme,dc=example"));
        // uniqueMember's optional UID (RFC 4517 NameAndOptionalUID) is not part of the DN.
        CPPUNIT_ASSERT_EQUAL(std::string("cn=a,dc=acme"), member_dn("cn=a,dc=acme#'0101'B"));
        CPPUNIT_ASSERT_EQUAL(std::string("cn=a#b,dc=acme"), member_dn("cn=a#b,dc=acme"));
        CPPUNIT_ASSERT_EQUAL(std::string("cn=a\\2C b,dc=acme"), member_dn("cn=a\\2C b,dc=acme"));
        for (const std::string& bad : {std::string(""), std::string("no equals sign"), std::string("cn=a,,dc=x"),
                                      std::string("=x"), std::string("cn=a\0,dc=x", 10), std::string("#'01'B")})
            CPPUNIT_ASSERT_MESSAGE(bad, member_dn(bad).empty());
        CPPUNIT_ASSERT(directory::is_group_dn("cn=x,dc=y"));
        CPPUNIT_ASSERT(!directory::is_group_dn("team"));
    }

    // Encrypted list mail: one envelope per cipher the members' rules and certificates give,
    // in the order of each cipher's first member; within one, every certificate once (members
    // of one domain encrypted to its gateway's certificate share its RecipientInfo).
    void envelopes_by_cipher()
    {
        using policy::Cipher;
        using policy::RecipientIdentifier;
        directory::RecipientCertificate alice, dave, gateway;
        alice.der = {1};
        dave.der = {2};
        gateway.der = {3};
        const std::vector<MemberEnvelope> members = {
            {"alice@acme.example", &alice, RecipientIdentifier::Default, Cipher::Aes256Cbc},
            {"dave@partner.example", &dave, RecipientIdentifier::KeyId, Cipher::Aes256Gcm},
            {"erin@other.example", &gateway, RecipientIdentifier::KeyId, Cipher::Aes128Cbc},
            {"carol@acme.example", &alice, RecipientIdentifier::Default, Cipher::Aes256Cbc},
            {"fred@other.example", &gateway, RecipientIdentifier::IssuerSerial, Cipher::Aes128Cbc},
        };
        const std::vector<EnvelopeGroup> groups = group_by_cipher(members);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), groups.size());
        CPPUNIT_ASSERT(groups[0].cipher == Cipher::Aes256Cbc && groups[1].cipher == Cipher::Aes256Gcm &&
                       groups[2].cipher == Cipher::Aes128Cbc);
        CPPUNIT_ASSERT(groups[0].members == (std::vector<std::string>{"alice@acme.example", "carol@acme.example"}));
        CPPUNIT_ASSERT(groups[1].members == std::vector<std::string>{"dave@partner.example"});
        CPPUNIT_ASSERT(groups[2].members == (std::vector<std::string>{"erin@other.example", "fred@other.example"}));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), groups[0].certificates.size());
        CPPUNIT_ASSERT(groups[1].certificates.size() == 1 && groups[1].certificates[0].first == &dave &&
                       groups[1].certificates[0].second == RecipientIdentifier::KeyId);
        // The gateway's certificate once, named as its first member's rule says.
        CPPUNIT_ASSERT(groups[2].certificates.size() == 1 && groups[2].certificates[0].first == &gateway &&
                       groups[2].certificates[0].second == RecipientIdentifier::KeyId);
        // All alike: one envelope; nobody: none.
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), group_by_cipher({members[0], members[3]}).size());
        CPPUNIT_ASSERT(group_by_cipher({}).empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ListMembersTest);
