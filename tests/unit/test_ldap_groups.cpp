// directory::LdapGroups against a real slapd (tests/fixtures/slapd.sh) on a free loopback port:
// groupOfNames by DN and by cn, groupOfUniqueNames, non-members, filter escaping of untrusted
// addresses, the answer cache, an unreachable server, and a policy rule using the groups;
// directory::LdapGroupMembers (mail lists' members_group) over the same groups; and, under a
// base part of which is referred to another server, those two and directory::LdapClearances.
// Inbound from_group rules ask the envelope sender and the From authors, also past a question
// the directory cannot answer, and against a hanging (frozen) slapd cost about one timeout.
// A clearance entry over max_entry_bytes is an answer (not cleared), not an outage.
// With search_references = "ignore", each negative answer logs its debug line.
#include <cppunit/extensions/HelperMacros.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>

#include "base/error.h"
#include "directory/ldap_clearances.h"
#include "directory/ldap_group_members.h"
#include "directory/ldap_groups.h"
#include "base/log.h"
#include "policy/labels.h"
#include "policy/match.h"
#include "policy/policy.h"
#include "tests/unit/test_policy_support.h"
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

dn: cn=uid-board,ou=groups,dc=partner,dc=example
objectClass: groupOfUniqueNames
cn: uid-board
uniqueMember: cn=boss@partner.example,ou=people,dc=partner,dc=example#'0101'B

dn: cn=all,ou=groups,dc=partner,dc=example
objectClass: groupOfNames
cn: all
member: cn=vip@partner.example,ou=people,dc=partner,dc=example
member: cn=boss@partner.example,ou=people,dc=partner,dc=example
member: cn=clerk@partner.example,ou=people,dc=partner,dc=example
member: cn=vip,ou=groups,dc=partner,dc=example
member: cn=gone,ou=people,dc=partner,dc=example
member: cn=nomail,ou=people,dc=partner,dc=example

dn: cn=nomail,ou=people,dc=partner,dc=example
objectClass: inetOrgPerson
cn: nomail
sn: nomail

dn: cn=outer,ou=groups,dc=partner,dc=example
objectClass: groupOfNames
cn: outer
member: cn=Inner,OU=groups,dc=partner,dc=example
member: cn=clerk@partner.example,ou=people,dc=partner,dc=example

dn: cn=inner,ou=groups,dc=partner,dc=example
objectClass: groupOfUniqueNames
cn: inner
uniqueMember: cn=boss@partner.example,ou=people,dc=partner,dc=example
uniqueMember: cn=outer,ou=groups,dc=partner,dc=example
uniqueMember: cn=vip,ou=groups,dc=partner,dc=example
)";

// ou=split: people and groups of which a part is held by another server (a referral object:
// slapd answers a subtree search above it with a continuation reference, RFC 4511 §4.5.3,
// which is not followed). here@ and its group are on this server, and outsider@, in no group.
const char* kSplit = R"(
dn: ou=split,dc=partner,dc=example
objectClass: organizationalUnit
ou: split

dn: ou=elsewhere,ou=split,dc=partner,dc=example
objectClass: referral
objectClass: extensibleObject
ou: elsewhere
ref: ldap://127.0.0.1:1/ou=elsewhere,ou=split,dc=partner,dc=example

dn: cn=here@partner.example,ou=split,dc=partner,dc=example
objectClass: inetOrgPerson
cn: here@partner.example
sn: here
mail: here@partner.example

dn: cn=outsider@partner.example,ou=split,dc=partner,dc=example
objectClass: inetOrgPerson
cn: outsider@partner.example
sn: outsider
mail: outsider@partner.example

dn: cn=team,ou=split,dc=partner,dc=example
objectClass: groupOfNames
cn: team
member: cn=here@partner.example,ou=split,dc=partner,dc=example
)";

// NAME-0 > NAME-1 > ... > NAME-LEVELS > clerk: groups nested LEVELS levels below NAME-0.
std::string group_chain(const std::string& name, int levels)
{
    std::string ldif;
    for (int i = 0; i <= levels; ++i) {
        const std::string cn = name + "-" + std::to_string(i);
        ldif += "\ndn: cn=" + cn + ",ou=groups," + kSuffix + "\nobjectClass: groupOfNames\ncn: " + cn + "\n";
        ldif += i < levels ? "member: cn=" + name + "-" + std::to_string(i + 1) + ",ou=groups," + kSuffix + "\n"
                           : std::string("member: cn=clerk@partner.example,ou=people,") + kSuffix + "\n";
    }
    return ldif;
}

// cn=NAME,ou=groups with `members` member values (DNs of no entry, ~60 bytes each): an entry
// larger than a small SearchLimits::max_pdu_bytes.
std::string big_group(const std::string& name, int members)
{
    std::string ldif = "\ndn: cn=" + name + ",ou=groups," + kSuffix + "\nobjectClass: groupOfNames\ncn: " + name + "\n";
    for (int i = 0; i < members; ++i)
        ldif += "member: cn=member-" + std::to_string(i) + "@partner.example,ou=people," + kSuffix + "\n";
    return ldif;
}

// bigclear@: a person whose entry, asked for its description values (the clearance attribute
// of one case below), is larger than a small SearchLimits::max_pdu_bytes (~25 KiB).
std::string big_person()
{
    std::string ldif = std::string("\ndn: cn=bigclear@partner.example,ou=people,") + kSuffix +
                       "\nobjectClass: inetOrgPerson\ncn: bigclear@partner.example\nsn: bigclear\n"
                       "mail: bigclear@partner.example\n";
    for (int i = 0; i < 400; ++i)
        ldif += "description: clearance value " + std::to_string(i) + " of a recipient whose entry is too large\n";
    return ldif;
}

const char* kHolder = R"(
dn: cn=holder,ou=groups,dc=partner,dc=example
objectClass: groupOfNames
cn: holder
member: cn=clerk@partner.example,ou=people,dc=partner,dc=example
member: cn=huge,ou=groups,dc=partner,dc=example
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
        test::write_file(d / "groups.ldif", kGroups + group_chain("deep8", 8) + group_chain("deep9", 9) + kSplit +
                                                 big_group("huge", 400) + kHolder + big_person());
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
    pid_t pid() const { return static_cast<pid_t>(std::stol(test::read_file(dir() / "slapd.pid"))); }
    directory::GroupMembersSettings member_settings(std::chrono::seconds ttl, std::size_t max_members = 1000) const
    {
        directory::GroupMembersSettings s;
        s.client = settings(ttl).client;
        s.group_base = std::string("ou=groups,") + kSuffix;
        s.cache_ttl = ttl;
        s.max_members = max_members;
        return s;
    }
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


directory::LdapGroupMembers members_with_limit(const Slapd& slapd, std::size_t max_members)
{
    return directory::LdapGroupMembers(slapd.member_settings(std::chrono::seconds(0), max_members));
}

EmailAddress addr(const char* s)
{
    return *EmailAddress::parse(s);
}

// Does the from_group rule for `group` match this inbound message, from `sender` (envelope)
// with `from` as its From field?
bool from_group_matches(const std::string& group, const char* sender, const std::string& from,
                        const directory::LdapGroups& groups)
{
    policy::Conditions rule;
    rule.from_group.push_back(group);
    policy::MessageContext in;
    in.direction = policy::Direction::Inbound;
    in.from = addr(sender);
    const std::vector<smime::mime::HeaderField> headers{{"From", from}};
    in.headers = &headers;
    return policy::match(rule, in, addr("alice@acme.example"), &groups).matched;
}

// slapd frozen (test_support.h): connections accepted by the kernel, nothing answered.
using test::FrozenProcess;

std::size_t occurrences(const std::string& text, const std::string& what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

// Does the to_group rule for `group` (addresses cut at "+") match this outbound recipient?
bool to_group_matches(const std::string& group, const char* recipient, const directory::LdapGroups& groups)
{
    policy::Conditions rule;
    rule.to_group.push_back(group);
    rule.extensions = test::extensions("+");
    policy::MessageContext out;
    out.direction = policy::Direction::Outbound;
    return policy::match(rule, out, addr(recipient), &groups).matched;
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
                // Nested groups, found one level up at a time under group_base.
                {"boss@partner.example", "outer", true},                  // in inner, in outer
                {"vip@partner.example", "outer", true},                   // in vip, in inner, in outer
                {"clerk@partner.example", "inner", true},                 // in outer, in inner (a loop)
                {"clerk@partner.example", "deep8-0", true},               // eight levels up
                {"clerk@partner.example", "deep9-0", false},              // nine: beyond the limit
            };
            for (auto& c : cases) {
                auto a = EmailAddress::parse(c.address);
                if (!a) continue;  // the parser may already refuse it: nothing reaches LDAP
                CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c.address) + " in " + c.group, c.member,
                                             groups.is_member(*a, c.group));
            }
            // nested = false: only the groups that list the entry itself.
            auto flat_settings = slapd.settings(std::chrono::seconds(0));
            flat_settings.nested = false;
            directory::LdapGroups flat(flat_settings);
            CPPUNIT_ASSERT(flat.is_member(addr("boss@partner.example"), "vip"));
            CPPUNIT_ASSERT(!flat.is_member(addr("boss@partner.example"), "outer"));
            auto flat_members = slapd.member_settings(std::chrono::seconds(0));
            flat_members.nested = false;
            const auto outer_flat = directory::LdapGroupMembers(flat_members).members("outer");
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), outer_flat.addresses.size());  // clerk; inner skipped
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), outer_flat.without_mail);
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

            // A user_base or group_base the server does not hold (a typo, a restore into an empty
            // database) is no answer, not "not a member": the vip rule above, which requires
            // encryption, would silently not apply and the mail leave by the default rule.
            for (const bool people : {true, false}) {
                auto missing = slapd.settings(std::chrono::seconds(0));
                (people ? missing.user_base : missing.group_base) = std::string("ou=missing,") + kSuffix;
                directory::LdapGroups lost(missing);
                try {
                    lost.is_member(addr("vip@partner.example"), "vip");
                    CPPUNIT_FAIL(std::string("an absent ") + (people ? "user_base" : "group_base") + " answered");
                } catch (const Error& e) {
                    CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
                    CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("ou=missing") != std::string::npos);
                }
            }
            // A group named by a DN that is not there is still simply not listing anyone.
            CPPUNIT_ASSERT(!groups.is_member(addr("vip@partner.example"), std::string("cn=gone,ou=groups,") + kSuffix));
        }
        {
            // The members of a group (mail lists' members_group): by DN and by cn, both
            // attributes, each address once; a DN without an entry and an entry without mail
            // are skipped and counted; a nested group is expanded in its place.
            directory::LdapGroupMembers members(slapd.member_settings(std::chrono::seconds(0)));
            auto names = [](const directory::GroupExpansion& g) {
                std::string s;
                for (const auto& a : g.addresses) s += a.str() + " ";
                return s;
            };
            auto vip = members.members(vip_dn);
            CPPUNIT_ASSERT(vip.found);
            CPPUNIT_ASSERT_EQUAL(std::string("vip@partner.example boss@partner.example "), names(vip));
            CPPUNIT_ASSERT_EQUAL(std::size_t(0), vip.without_mail);
            CPPUNIT_ASSERT_EQUAL(std::string("boss@partner.example "), names(members.members("board")));
            // uniqueMember with its optional UID
            CPPUNIT_ASSERT_EQUAL(std::string("boss@partner.example "), names(members.members("uid-board")));
            auto all = members.members("all");
            CPPUNIT_ASSERT_EQUAL(std::string("vip@partner.example boss@partner.example clerk@partner.example "), names(all));
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), all.without_mail);  // gone, nomail
            CPPUNIT_ASSERT(!all.truncated);
            // Nested groups, depth first in the directory's order, across both group kinds and
            // a DN written in another case; the loop back to the outer group ends there.
            auto outer = members.members("outer");
            CPPUNIT_ASSERT_EQUAL(std::string("boss@partner.example vip@partner.example clerk@partner.example "),
                                 names(outer));
            CPPUNIT_ASSERT_EQUAL(std::size_t(0), outer.without_mail);
            CPPUNIT_ASSERT(!outer.truncated);
            CPPUNIT_ASSERT_EQUAL(std::string("boss@partner.example clerk@partner.example vip@partner.example "),
                                 names(members.members("inner")));
            // Eight levels below the configured group are expanded; a ninth makes the expansion
            // incomplete (the list refuses it) rather than silently shorter.
            auto deep8 = members.members("deep8-0");
            CPPUNIT_ASSERT_EQUAL(std::string("clerk@partner.example "), names(deep8));
            CPPUNIT_ASSERT(!deep8.truncated);
            auto deep9 = members.members("deep9-0");
            CPPUNIT_ASSERT(deep9.truncated);
            CPPUNIT_ASSERT(deep9.addresses.empty());
            // max_members counts the values of nested groups too: outer 2, inner 3, vip 2.
            CPPUNIT_ASSERT(members_with_limit(slapd, 6).members("outer").truncated);
            CPPUNIT_ASSERT(!members_with_limit(slapd, 7).members("outer").truncated);
            for (const std::string& none : {std::string("no-such-group"), std::string("v*"),
                                           std::string("cn=none,ou=groups,") + kSuffix}) {
                auto g = members.members(none);
                CPPUNIT_ASSERT_MESSAGE(none, !g.found && g.addresses.empty());
            }
            // More member values than allowed: marked incomplete, never cut silently.
            directory::LdapGroupMembers small(slapd.member_settings(std::chrono::seconds(0), 2));
            CPPUNIT_ASSERT(small.members("all").truncated);
            CPPUNIT_ASSERT(!small.members("vip").truncated);
            // A group entry larger than one LDAP message may be (SearchLimits::max_pdu_bytes;
            // 4 MiB by default, some 60,000 members): libldap drops the connection unread, and the
            // directory sends the same entry at every retry. Taken for an outage, the list's mail
            // got 451 until it bounced days later; it is the group too large for a list, as for
            // more than max_members values (the list refuses it: 550), also when it is nested.
            auto small_pdu = slapd.member_settings(std::chrono::seconds(0));
            small_pdu.client.limits.max_pdu_bytes = 16 * 1024;  // the 400-member group is ~25 KiB
            directory::LdapGroupMembers bounded(small_pdu);
            for (const char* group : {"huge", "holder"}) {
                const auto g = bounded.members(group);
                CPPUNIT_ASSERT_MESSAGE(group, g.truncated && !g.too_deep);
            }
            CPPUNIT_ASSERT(!bounded.members("vip").truncated);  // small entries still read
            // nested = false: a member that is a group is skipped, a large one too.
            small_pdu.nested = false;
            const auto holder_flat = directory::LdapGroupMembers(small_pdu).members("holder");
            CPPUNIT_ASSERT(!holder_flat.truncated);
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), holder_flat.addresses.size());  // clerk
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), holder_flat.without_mail);      // huge
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), bounded.members("vip").addresses.size());
            // Expansions are cached for the TTL.
            directory::LdapGroupMembers cached(slapd.member_settings(std::chrono::seconds(60)));
            CPPUNIT_ASSERT_EQUAL(std::size_t(3), cached.members("all").addresses.size());
            const auto sent = cached.searches_sent();
            CPPUNIT_ASSERT_EQUAL(std::size_t(3), cached.members("all").addresses.size());
            CPPUNIT_ASSERT_EQUAL(sent, cached.searches_sent());
        }
        {
            // Under a base part of which another server holds (a referral, not followed): what
            // is found here stands; "not a member", "no such group" and "no clearance" may be
            // wrong (the entry may be on that server), so they are no answer: DirectoryUnavailable,
            // the message waits, as when the directory is down. Before, "no" was taken: a
            // to_group rule requiring encryption did not apply to a member listed over there.
            const std::string split = std::string("ou=split,") + kSuffix;
            auto unknown = [](const std::string& what, const std::function<void()>& ask) {
                try {
                    ask();
                    CPPUNIT_FAIL(what + ": answered although part of the base was not seen");
                } catch (const Error& e) {
                    CPPUNIT_ASSERT_MESSAGE(e.what(), e.failure() == Failure::DirectoryUnavailable);
                    CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("reference") != std::string::npos);
                }
            };
            auto settings = slapd.settings(std::chrono::seconds(0));
            settings.user_base = settings.group_base = split;
            directory::LdapGroups groups(settings);
            CPPUNIT_ASSERT(groups.is_member(addr("here@partner.example"), "team"));
            CPPUNIT_ASSERT(groups.is_member(addr("here@partner.example"), "cn=team," + split));
            unknown("a person not found", [&] { groups.is_member(addr("away@partner.example"), "team"); });
            // here+x@ has no entry (unknown, the references), here@ is a member of team: a
            // to_group rule matches (asked in the other order, the refusal of the first form
            // hid the yes of the second: 451 for mail the directory had an answer for).
            CPPUNIT_ASSERT(to_group_matches("team", "here+x@partner.example", groups));
            // away+x@ and away@: both unknown, no answer.
            unknown("neither form seen", [&] { to_group_matches("team", "away+x@partner.example", groups); });
            // Inbound, from_group: the envelope sender away@ cannot be told (no entry here, the
            // references), the From author here@ is a member: the rule matches. Before, the
            // envelope sender's failure ended the check before the authors were asked: 451 for
            // mail whose author the directory lists.
            CPPUNIT_ASSERT(from_group_matches("team", "away@partner.example", "here@partner.example", groups));
            CPPUNIT_ASSERT(from_group_matches("team", "away@partner.example",
                                              "outsider@partner.example, Here <here@partner.example>", groups));
            // No address a member and some not told: no answer (451), never "not a member".
            unknown("no author a member", [&] {
                from_group_matches("team", "away@partner.example", "outsider@partner.example", groups);
            });
            unknown("a group not found", [&] { groups.is_member(addr("here@partner.example"), "others"); });
            unknown("a person in no group", [&] { groups.is_member(addr("outsider@partner.example"), "team"); });

            auto member_settings = slapd.member_settings(std::chrono::seconds(0));
            member_settings.group_base = split;
            directory::LdapGroupMembers members(member_settings);
            const auto team = members.members("team");
            CPPUNIT_ASSERT(team.found);
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), team.addresses.size());
            unknown("a group to expand not found", [&] { members.members("others"); });

            directory::ClearanceDirectorySettings clearance_settings;
            clearance_settings.client = settings.client;
            clearance_settings.user_base = split;
            clearance_settings.cache_ttl = std::chrono::seconds(0);
            directory::LdapClearances clearances(clearance_settings);
            CPPUNIT_ASSERT(clearances.clearances(addr("here@partner.example")).values.empty());
            unknown("a clearance not found", [&] { clearances.clearances(addr("away@partner.example")); });

            // search_references = "ignore" (an Active Directory domain root, whose references go
            // to partitions without people or groups): the answer of what this server holds.
            // Each such answer logs one ldap_references_ignored line at debug level, naming the
            // question and the references met on the way to it; a "yes" logs none.
            auto ignoring = settings;
            ignoring.search_references = directory::ldap::References::Ignore;
            directory::LdapGroups local(ignoring);
            member_settings.search_references = directory::ldap::References::Ignore;
            directory::LdapGroupMembers local_members(member_settings);
            clearance_settings.search_references = directory::ldap::References::Ignore;
            directory::LdapClearances local_clearances(clearance_settings);
            const ssm::log::Level level = ssm::log::current_target().min_level;
            ssm::log::set_min_level(ssm::log::Level::Debug);
            TempDir logs;
            test::StderrCapture capture(logs.path() / "stderr.log");
            const bool here = local.is_member(addr("here@partner.example"), "team");
            const bool outsider = local.is_member(addr("outsider@partner.example"), "team");
            const bool away = local.is_member(addr("away@partner.example"), "team");
            const bool others_member = local.is_member(addr("here@partner.example"), "others");
            const auto local_team = local_members.members("team");
            const auto others = local_members.members("others");
            const auto away_clearances = local_clearances.clearances(addr("away@partner.example"));
            const std::string written = capture.finish();
            ssm::log::set_min_level(level);
            CPPUNIT_ASSERT(here);
            CPPUNIT_ASSERT(!outsider);
            CPPUNIT_ASSERT(!away);
            CPPUNIT_ASSERT(!others_member);
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), local_team.addresses.size());
            CPPUNIT_ASSERT(!others.found && others.addresses.empty());
            CPPUNIT_ASSERT(away_clearances.values.empty());
            // Five negative answers beside references, one line each (here@ in team: none).
            CPPUNIT_ASSERT_EQUAL_MESSAGE(written, std::size_t(5), occurrences(written, "ldap_references_ignored"));
            for (const std::string line : {
                     "debug: ldap_references_ignored question=\"membership of outsider@partner.example in group team\" references=",
                     "debug: ldap_references_ignored question=\"membership of away@partner.example in group team\" references=1\n",
                     "debug: ldap_references_ignored question=\"membership of here@partner.example in group others\" references=",
                     "debug: ldap_references_ignored question=\"group others\" references=1\n",
                     "debug: ldap_references_ignored question=\"clearance of away@partner.example\" references=1\n"})
                CPPUNIT_ASSERT_EQUAL_MESSAGE(line + " in " + written, std::size_t(1), occurrences(written, line));
        }
        {
            // A recipient's entry whose clearance values are larger than max_entry_bytes (the
            // client's max_pdu_bytes): the directory sends the same entry at every retry, so it
            // is the recipient's answer, not an outage: the clearance cannot be read and the
            // recipient is not cleared (550 5.7.1), logged clearance-entry-too-large. Before, it
            // was a failure of the server: 451 at every retry until the mail bounced.
            directory::ClearanceDirectorySettings s;
            s.client = slapd.settings(std::chrono::seconds(0)).client;
            s.client.limits.max_pdu_bytes = 16 * 1024;
            s.user_base = std::string("ou=people,") + kSuffix;
            s.attribute = "description";
            s.cache_ttl = std::chrono::seconds(0);
            directory::LdapClearances clearances(s);
            policy::SecurityLabel secret;
            secret.policy_id = "1.3.6.1.4.1.99999.1";
            secret.classification = 2;
            TempDir logs;
            test::StderrCapture capture(logs.path() / "stderr.log");
            const auto why = policy::LabelPolicy().clearance_problem(addr("bigclear@partner.example"), secret, &clearances);
            const std::string written = capture.finish();
            CPPUNIT_ASSERT(why.has_value());
            CPPUNIT_ASSERT_MESSAGE(*why, why->find("too large") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(written, std::size_t(1), occurrences(written, "warning: clearance-entry-too-large "));
            CPPUNIT_ASSERT_MESSAGE(written, written.find("recipient=bigclear@partner.example") != std::string::npos);
            // The other entries under the same limit are read as before.
            CPPUNIT_ASSERT(clearances.clearances(addr("vip@partner.example")).values.empty());
        }
        {
            // A hanging directory (slapd frozen: connections accepted, nothing answered) under
            // an inbound from_group rule: neither the envelope sender nor any of 16 From authors
            // can be asked. The first search waits for its timeout and marks the server down,
            // every other fails at once: about one timeout for the whole check, not one per
            // address (17 here, 34 with extensions), which an outside sender would choose.
            auto hanging = slapd.settings(std::chrono::seconds(0));
            const auto timeout = std::chrono::milliseconds(300);
            hanging.client.servers.at(0).timeout = timeout;
            hanging.client.retry_after = std::chrono::seconds(10);
            directory::LdapGroups groups(hanging);
            std::string authors;
            for (int i = 0; i < 16; ++i)
                authors += (i ? ", author" : "author") + std::to_string(i) + "@partner.example";
            const FrozenProcess frozen(slapd.pid());
            TempDir logs;  // what each search met, for the message should more than one be sent
            test::StderrCapture capture(logs.path() / "stderr.log");
            const auto t0 = std::chrono::steady_clock::now();
            try {
                from_group_matches("vip", "sender@partner.example", authors, groups);
                CPPUNIT_FAIL("a frozen directory answered");
            } catch (const Error& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), e.failure() == Failure::DirectoryUnavailable);
            }
            const auto took = std::chrono::steady_clock::now() - t0;
            CPPUNIT_ASSERT_MESSAGE(std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()) + " ms",
                                   took < 3 * timeout);
            const std::string written = capture.finish();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(written, std::uint64_t{1}, groups.searches_sent());
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
            // A recipient with an extension while the directory is down: one form cannot be
            // asked, the other's answer is cached. A "yes" for either form decides; a "no" for
            // one and no answer for the other is no answer (451), never "not a member".
            CPPUNIT_ASSERT(to_group_matches("vip", "vip+x@partner.example", cached));
            try {
                to_group_matches("vip", "clerk+x@partner.example", cached);
                CPPUNIT_FAIL("clerk+x@ was not a member though its form could not be asked");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            }
            try {
                cached.is_member(addr("boss@partner.example"), "vip");
                CPPUNIT_FAIL("answered without a server");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            }
            directory::LdapGroupMembers members(slapd.member_settings(std::chrono::seconds(60)));
            try {
                members.members("vip");
                CPPUNIT_FAIL("members without a server");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LdapGroupsTest);
