// directory::LdapGroups against a real slapd (tests/fixtures/slapd.sh) on a free loopback port:
// groupOfNames by DN and by cn, groupOfUniqueNames, non-members, filter escaping of untrusted
// addresses, the answer cache, an unreachable server, and a policy rule using the groups.
#include <cppunit/extensions/HelperMacros.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "directory/ldap_groups.h"
#include "policy/policy.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using ssm::test::TempDir;
namespace fs = std::filesystem;

namespace {

int free_port()
{
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (s >= 0) ::close(s);
        throw std::runtime_error("no free port");
    }
    ::close(s);
    return ntohs(a.sin_port);
}

// The fixture must not inherit our LDAP sockets (slapd would keep them open).
void fixture(const std::string& args)
{
    ssm::test::run_without_our_descriptors(
        "sh '" + (ssm::test::source_dir() / "tests/fixtures/slapd.sh").string() + "' " + args);
}

std::string q(const fs::path& p)
{
    return "'" + p.string() + "'";
}

const char* kSuffix = "dc=partner,dc=example";

const char* kGroups = R"(dn: ou=groups,dc=partner,dc=example
objectClass: organizationalUnit
ou: groups

dn: cn=vip,ou=groups,dc=partner,dc=example
objectClass: groupOfNames
cn: vip
member: cn=vip@partner.example,ou=people,dc=partner,dc=example
member: cn=boss@partner.example,ou=people,dc=partner,dc=example

dn: cn=board,ou=groups,dc=partner,dc=example
objectClass: groupOfUniqueNames
cn: board
uniqueMember: cn=boss@partner.example,ou=people,dc=partner,dc=example
)";

class Slapd {
public:
    Slapd() : m_port(free_port())
    {
        const fs::path d = m_tmp.path();
        std::string ldifs;
        for (const char* who : {"vip@partner.example", "boss@partner.example", "clerk@partner.example"}) {
            const fs::path f = d / (std::string(who) + ".ldif");
            fixture("entry " + std::string(who) + " > " + q(f));
            ldifs += " " + q(f);
        }
        test::write_file(d / "groups.ldif", kGroups);
        fixture("start " + q(dir()) + " " + std::to_string(m_port) + ldifs + " " + q(d / "groups.ldif"));
    }
    ~Slapd()
    {
        try {
            stop();
        } catch (...) {
        }
    }
    void stop() { fixture("stop " + q(dir())); }
    directory::GroupDirectorySettings settings(std::chrono::seconds ttl) const
    {
        directory::GroupDirectorySettings s;
        directory::ldap::ServerSettings server;
        server.uri = "ldap://127.0.0.1:" + std::to_string(m_port);
        server.timeout = std::chrono::milliseconds(2000);
        s.client.servers.push_back(server);
        s.client.connections_per_server = 2;
        s.user_base = std::string("ou=people,") + kSuffix;
        s.group_base = std::string("ou=groups,") + kSuffix;
        s.cache_ttl = ttl;
        return s;
    }

private:
    fs::path dir() const { return m_tmp.path() / "slapd"; }
    TempDir m_tmp;
    int m_port;
};


EmailAddress addr(const char* s)
{
    return *EmailAddress::parse(s);
}

}  // namespace

class LdapGroupsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LdapGroupsTest);
    CPPUNIT_TEST(membership);
    CPPUNIT_TEST_SUITE_END();

public:
    // One slapd for the whole program (a start costs ~0.3 s): the cases run in order.
    void membership()
    {
        Slapd slapd;
        const std::string vip_dn = std::string("cn=vip,ou=groups,") + kSuffix;
        {
            directory::LdapGroups groups(slapd.settings(std::chrono::seconds(0)));
            struct { const char* address; std::string group; bool member; } cases[] = {
                {"vip@partner.example", vip_dn, true},
                {"VIP@Partner.Example", vip_dn, true},
                {"boss@partner.example", "vip", true},
                {"boss@partner.example", "board", true},                  // uniqueMember
                {"vip@partner.example", "board", false},
                {"clerk@partner.example", vip_dn, false},
                {"clerk@partner.example", "vip", false},
                {"stranger@partner.example", "vip", false},               // no entry at all
                {"boss@partner.example", "no-such-group", false},
                {"boss@partner.example", std::string("cn=none,ou=groups,") + kSuffix, false},
                {"*@partner.example", "vip", false},                     // escaped, not a wildcard
            };
            for (auto& c : cases) {
                auto a = EmailAddress::parse(c.address);
                if (!a) continue;  // the parser may already refuse it: nothing reaches LDAP
                CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c.address) + " in " + c.group, c.member,
                                             groups.is_member(*a, c.group));
            }
            // Through the policy: a to_group rule decides with this directory.
            policy::Rule r;
            r.name = "vip recipients";
            r.when.to_group.push_back("vip");
            r.encrypt = policy::EncryptMode::Mandatory;
            const policy::Policy p({r}, {});
            policy::MessageContext m;
            m.direction = policy::Direction::Outbound;
            m.origin.authenticated = true;
            CPPUNIT_ASSERT_EQUAL(std::string("vip recipients"), p.plan(m, addr("vip@partner.example"), &groups).rule_name);
            CPPUNIT_ASSERT_EQUAL(std::string("default"), p.plan(m, addr("clerk@partner.example"), &groups).rule_name);
        }
        {
            // The cache answers repeated questions without searching again.
            directory::LdapGroups cached(slapd.settings(std::chrono::seconds(60)));
            CPPUNIT_ASSERT(cached.is_member(addr("vip@partner.example"), "vip"));
            const auto sent = cached.searches_sent();
            CPPUNIT_ASSERT(cached.is_member(addr("vip@partner.example"), "vip"));
            CPPUNIT_ASSERT_EQUAL(sent, cached.searches_sent());
            CPPUNIT_ASSERT(!cached.is_member(addr("clerk@partner.example"), "vip"));
            // A server that is down: DirectoryUnavailable (451 4.7.1), cached answers still hold.
            slapd.stop();
            CPPUNIT_ASSERT(cached.is_member(addr("vip@partner.example"), "vip"));
            try {
                cached.is_member(addr("boss@partner.example"), "vip");
                CPPUNIT_FAIL("answered without a server");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LdapGroupsTest);
