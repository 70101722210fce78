// Unit tests for milter/config_rules.cpp: [policy] defaults, every [[rule]] key, list files
// read relative to the configuration file, and errors as file:line:column (list-file errors
// name the list file and its line).
#include <cppunit/extensions/HelperMacros.h>

#include <sys/stat.h>

#include <algorithm>

#include "milter/config.h"
#include "milter/config_warnings.h"
#include "tests/unit/test_policy_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

const std::string kHead = "[hsm]\ntoken_label = \"t\"\n";

std::shared_ptr<const Config> load(const test::TempDir& dir, const std::string& body)
{
    return parse_config(kHead + body, (dir.path() / "ssm.toml").string());
}

}  // namespace

class ConfigRulesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ConfigRulesTest);
    CPPUNIT_TEST(every_rule_key);
    CPPUNIT_TEST(policy_defaults_fill_rules);
    CPPUNIT_TEST(list_files);
    CPPUNIT_TEST(groups_need_a_group_directory);
    CPPUNIT_TEST(errors_name_line_and_column);
    CPPUNIT_TEST(chacha20_poly1305_by_name);
    CPPUNIT_TEST(recipient_identifier_global_policy_and_rule);
    CPPUNIT_TEST(recipient_delimiter_reaches_every_address_pattern);
    CPPUNIT_TEST(partner_recipient_delimiters);
    CPPUNIT_TEST(partner_delimiter_errors);
    CPPUNIT_TEST(recipient_delimiter_without_own_domains_is_warned);
    CPPUNIT_TEST(rules_of_one_name_are_warned);
    CPPUNIT_TEST(utf8_address_rules_match_without_case);
    CPPUNIT_TEST_SUITE_END();

public:
    void every_rule_key()
    {
        test::TempDir dir;
        test::write_file(dir.path() / "from.txt", "*@board.acme.example\n");
        test::write_file(dir.path() / "to.txt", "vip@partner.example # the one\n");
        auto c = load(dir, R"toml(
[directory.groups]
servers = ["ldap://127.0.0.1:1"]
user_base = "ou=people,dc=acme,dc=example"

[[rule]]
name = "everything"
scope = "user"
direction = "outbound"
from = ["ceo@acme.example"]
from_list = "from.txt"
from_group = ["cn=board"]
to = ["*@partner.example"]
to_list = "to.txt"
to_group = ["cn=partners"]
client = ["192.0.2.0/24", "2001:db8::/32"]
authenticated = true
authenticated_as = ["ceo"]
subject_tag = "[secure]"
header = ["Sensitivity: Private"]
sign = "domain"
signing_identity = "Board@ACME.example"
encrypt = "mandatory"
encrypt_to = "gateway@partner.example"
cipher = "aes-256-gcm"
minimum_cipher = "aes256"
header_protection = false
strip_trigger = true

[[rule]]
name = "inbound"
direction = "inbound"
required_policies = ["1.2.3.4"]
revocation = "hard-fail"
require_signature = true
require_encryption = true
require_integrity = true
on_missing = "tag"
)toml");
        const auto& rules = c->policy.rules();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), rules.size());
        const policy::Rule& r = rules[0];
        CPPUNIT_ASSERT(r.scope == policy::Scope::User);
        CPPUNIT_ASSERT(r.when.direction == policy::Direction::Outbound);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.when.from.size());
        CPPUNIT_ASSERT_EQUAL(std::string("from"), r.when.from[0].source);
        CPPUNIT_ASSERT_EQUAL((dir.path() / "from.txt").string(), r.when.from[1].source);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.when.to.size());
        CPPUNIT_ASSERT(r.when.to[1].matches(test::address("vip@partner.example")));
        CPPUNIT_ASSERT_EQUAL(std::string("cn=board"), r.when.from_group.at(0));
        CPPUNIT_ASSERT_EQUAL(std::string("cn=partners"), r.when.to_group.at(0));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.when.client.size());
        CPPUNIT_ASSERT(r.when.authenticated == true);
        CPPUNIT_ASSERT_EQUAL(std::string("ceo"), r.when.authenticated_as.at(0));
        CPPUNIT_ASSERT_EQUAL(std::string("[secure]"), r.when.subject_tag);
        CPPUNIT_ASSERT_EQUAL(std::string("Sensitivity: Private"), r.when.header.at(0).text());
        CPPUNIT_ASSERT(r.sign == policy::SignMode::Domain);
        CPPUNIT_ASSERT_EQUAL(std::string("board@acme.example"), r.signing_identity);
        CPPUNIT_ASSERT(r.encrypt == policy::EncryptMode::Mandatory);
        CPPUNIT_ASSERT(r.encrypt_to == policy::EncryptTarget::Address);
        CPPUNIT_ASSERT_EQUAL(std::string("gateway@partner.example"), r.encrypt_to_address);
        CPPUNIT_ASSERT(r.cipher == policy::Cipher::Aes256Gcm);
        CPPUNIT_ASSERT(r.minimum_cipher == policy::CipherFloor::Aes256);
        CPPUNIT_ASSERT(r.header_protection == false);
        CPPUNIT_ASSERT(r.strip_trigger);
        const policy::Rule& in = rules[1];
        CPPUNIT_ASSERT(in.scope == policy::Scope::Global);
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3.4"), in.required_policies.at(0));
        CPPUNIT_ASSERT(in.revocation == policy::RevocationMode::HardFail);
        CPPUNIT_ASSERT(in.require_signature && in.require_encryption && in.require_integrity);
        CPPUNIT_ASSERT(!r.require_integrity);
        CPPUNIT_ASSERT(in.on_missing == policy::OnMissing::Tag);
        CPPUNIT_ASSERT(c->policy.uses_headers());
        CPPUNIT_ASSERT(c->policy.uses_groups());
    }

    void policy_defaults_fill_rules()
    {
        test::TempDir dir;
        auto c = load(dir, R"toml(
[policy]
sign = "domain"
encrypt = "opportunistic"
encrypt_to = "domain"
cipher = "aes128-gcm"
minimum_cipher = "aes128-gcm"
header_protection = true
require_integrity = true
on_missing = "tag"

[[rule]]
name = "only the sign differs"
to = ["*@partner.example"]
sign = "none"

[[rule]]
name = "integrity switched off for one partner"
from = ["*@legacy.example"]
require_integrity = false
)toml");
        const auto& d = c->policy.defaults();
        CPPUNIT_ASSERT(d.sign == policy::SignMode::Domain);
        CPPUNIT_ASSERT(d.encrypt_to == policy::EncryptTarget::Domain);
        CPPUNIT_ASSERT(d.header_protection == true);
        const policy::Rule& r = c->policy.rules().at(0);
        CPPUNIT_ASSERT(r.sign == policy::SignMode::None);
        CPPUNIT_ASSERT(r.encrypt == policy::EncryptMode::Opportunistic);
        CPPUNIT_ASSERT(r.encrypt_to == policy::EncryptTarget::Domain);
        CPPUNIT_ASSERT(r.cipher == policy::Cipher::Aes128Gcm);
        CPPUNIT_ASSERT(r.minimum_cipher == policy::CipherFloor::Aes128Gcm);
        CPPUNIT_ASSERT(r.on_missing == policy::OnMissing::Tag);
        CPPUNIT_ASSERT(d.require_integrity && r.require_integrity);
        CPPUNIT_ASSERT(!c->policy.rules().at(1).require_integrity);
        // Without [policy]: the documented defaults, and an unset header_protection.
        auto plain = load(dir, "[[rule]]\nname = \"r\"\n");
        const policy::Rule& p = plain->policy.rules().at(0);
        CPPUNIT_ASSERT(p.sign == policy::SignMode::None && p.encrypt == policy::EncryptMode::Never);
        CPPUNIT_ASSERT(p.cipher == policy::Cipher::Default);
        CPPUNIT_ASSERT(!p.header_protection.has_value());
        CPPUNIT_ASSERT(!p.require_integrity);
        CPPUNIT_ASSERT(plain->policy.defaults() == policy::Treatment{});
    }

    void list_files()
    {
        test::TempDir dir;
        std::filesystem::create_directories(dir.path() / "lists");
        test::write_file(dir.path() / "lists" / "vip.txt", "# VIPs\n\nceo@acme.example\n   *@board.example  # all\n");
        auto c = load(dir, "[[rule]]\nname = \"r\"\nfrom_list = \"lists/vip.txt\"\n");
        const auto& from = c->policy.rules().at(0).when.from.at(0);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), from.patterns.size());
        test::write_file(dir.path() / "abs.txt", "x@y.example\n");
        auto abs = load(dir, "[[rule]]\nname = \"r\"\nto_list = \"" + (dir.path() / "abs.txt").string() + "\"\n");
        CPPUNIT_ASSERT(abs->policy.rules().at(0).when.to.at(0).matches(test::address("x@y.example")));
    }

    void groups_need_a_group_directory()
    {
        test::TempDir dir;
        const std::string file = (dir.path() / "ssm.toml").string();
        try {
            load(dir, "[[rule]]\nname = \"r\"\nto_group = [\"cn=x\"]\n");
            CPPUNIT_FAIL("a group rule without [directory.groups] was accepted");
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(file + ":1:1: from_group/to_group rules need "
                                                                              "a [directory.groups]") == 0);
        }
        const auto c = load(dir, "[directory.groups]\nservers = [\"ldap://127.0.0.1:1\"]\n"
                                 "user_base = \"ou=people,dc=acme,dc=example\"\n"
                                 "[[rule]]\nname = \"r\"\nto_group = [\"cn=x\"]\n");
        CPPUNIT_ASSERT(c->directory.groups.has_value());
        CPPUNIT_ASSERT_EQUAL(std::string("(mail=%s)"), c->directory.groups->user_filter);
        CPPUNIT_ASSERT(c->directory.groups->cache_ttl == std::chrono::seconds(300));
        CPPUNIT_ASSERT(!c->directory.groups->ignore_search_references);  // "fail" by default
        CPPUNIT_ASSERT(c->not_yet_in_force.empty());
        try {
            load(dir, "[directory.groups]\nservers = [\"ldap://127.0.0.1:1\"]\nuser_base = \"o=x\"\n"
                      "user_filter = \"mail=%s\"\n");
            CPPUNIT_FAIL("an unparenthesised user_filter was accepted");
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(file + ":6:15: user_filter must be") == 0);
        }
        // search_references: "fail" or "ignore"; anything else is refused at its place.
        const std::string groups = "[directory.groups]\nservers = [\"ldap://127.0.0.1:1\"]\nuser_base = \"o=x\"\n";
        CPPUNIT_ASSERT(load(dir, groups + "search_references = \"ignore\"\n")->directory.groups->ignore_search_references);
        CPPUNIT_ASSERT(!load(dir, groups + "search_references = \"fail\"\n")->directory.groups->ignore_search_references);
        for (const char* bad : {"\"follow\"", "\"Ignore\"", "\"\""}) {
            try {
                load(dir, groups + "search_references = " + bad + "\n");
                CPPUNIT_FAIL(std::string("search_references = ") + bad + " was accepted");
            } catch (const ConfigError& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(file + ":6:21: search_references must be "
                                                                                  "\"fail\" or \"ignore\"") == 0);
            }
        }
    }

    // RFC 8103 content encryption: a cipher name of the rules and of [encryption]; it ranks
    // with AES-256-GCM, so no minimum_cipher refuses it, and no floor is named after it.
    void chacha20_poly1305_by_name()
    {
        test::TempDir dir;
        auto c = load(dir, "[encryption]\ncipher = \"chacha20-poly1305\"\n"
                           "[[rule]]\nname = \"r\"\ncipher = \"chacha20-poly1305\"\nminimum_cipher = \"aes256-gcm\"\n");
        CPPUNIT_ASSERT(c->encryption.cipher == CipherChoice::ChaCha20Poly1305);
        CPPUNIT_ASSERT(c->policy.rules().at(0).cipher == policy::Cipher::ChaCha20Poly1305);
        CPPUNIT_ASSERT(c->policy.rules().at(0).minimum_cipher == policy::CipherFloor::Aes256Gcm);
        const std::string f = (dir.path() / "ssm.toml").string();
        for (const char* body : {"[[rule]]\nname = \"r\"\nminimum_cipher = \"chacha20-poly1305\"\n",
                                 "[[rule]]\nname = \"r\"\ncipher = \"chacha20\"\n",
                                 "[encryption]\ncipher = \"chacha\"\n"}) {
            try {
                load(dir, body);
                CPPUNIT_FAIL(std::string("accepted: ") + body);
            } catch (const ConfigError& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("must be") != std::string::npos);
            }
        }
    }

    // [encryption] recipient_identifier (issuer-serial by default), the [policy] default of
    // the rules, a rule's own; a bad value anywhere is an error at its file:line:column.
    void recipient_identifier_global_policy_and_rule()
    {
        using policy::RecipientIdentifier;
        test::TempDir dir;
        auto plain = load(dir, "[[rule]]\nname = \"r\"\n");
        CPPUNIT_ASSERT(plain->encryption.recipient_identifier == RecipientIdentifier::IssuerSerial);
        CPPUNIT_ASSERT(plain->policy.rules().at(0).recipient_identifier == RecipientIdentifier::Default);

        auto c = load(dir, "[encryption]\nrecipient_identifier = \"key-id\"\n"
                           "[[rule]]\nname = \"inherits\"\n"
                           "[[rule]]\nname = \"own\"\nrecipient_identifier = \"issuer-serial\"\n");
        CPPUNIT_ASSERT(c->encryption.recipient_identifier == RecipientIdentifier::KeyId);
        CPPUNIT_ASSERT(c->policy.rules().at(0).recipient_identifier == RecipientIdentifier::Default);
        CPPUNIT_ASSERT(c->policy.rules().at(1).recipient_identifier == RecipientIdentifier::IssuerSerial);

        auto p = load(dir, "[policy]\nrecipient_identifier = \"key-id\"\n"
                           "[[rule]]\nname = \"inherits\"\nencrypt = \"mandatory\"\n"
                           "[[rule]]\nname = \"own\"\nrecipient_identifier = \"issuer-serial\"\n");
        CPPUNIT_ASSERT(p->encryption.recipient_identifier == RecipientIdentifier::IssuerSerial);
        CPPUNIT_ASSERT(p->policy.rules().at(0).recipient_identifier == RecipientIdentifier::KeyId);
        CPPUNIT_ASSERT(p->policy.rules().at(1).recipient_identifier == RecipientIdentifier::IssuerSerial);
        // ssmctl policy test and the logs show a rule's choice.
        CPPUNIT_ASSERT(policy::describe(p->policy.rules().at(0), policy::Direction::Outbound)
                           .find(" recipient_identifier=key-id") != std::string::npos);

        const std::string f = (dir.path() / "ssm.toml").string();
        const std::string must = "recipient_identifier must be \"issuer-serial\" or \"key-id\"";
        struct { const char* body; std::string expect; } cases[] = {
            {"[encryption]\nrecipient_identifier = \"ski\"\n", f + ":4:24: " + must},
            {"[policy]\nrecipient_identifier = \"subjectKeyIdentifier\"\n", f + ":4:24: " + must},
            {"[[rule]]\nname = \"r\"\nrecipient_identifier = \"key_id\"\n", f + ":5:24: " + must},
            {"[[rule]]\nname = \"r\"\nrecipient_identifier = \"\"\n", ""},  // empty: [policy]'s
            {"[encryption]\nrecipient_identifier = 1\n", f + ":4:24: 'recipient_identifier' must be a string"},
        };
        for (const auto& k : cases) {
            try {
                load(dir, k.body);
                CPPUNIT_ASSERT_MESSAGE(std::string("accepted: ") + k.body, k.expect.empty());
            } catch (const ConfigError& e) {
                CPPUNIT_ASSERT_MESSAGE(std::string(e.what()) + " should start with " + k.expect,
                                       !k.expect.empty() && std::string(e.what()).rfind(k.expect, 0) == 0);
            }
        }
    }

    void errors_name_line_and_column()
    {
        test::TempDir dir;
        test::write_file(dir.path() / "bad.txt", "ok@acme.example\n# fine\n  nope\n");
        std::filesystem::create_directory(dir.path() / "lists");
        CPPUNIT_ASSERT_EQUAL(0, ::mkfifo((dir.path() / "vip.fifo").c_str(), 0600));
        const std::string f = (dir.path() / "ssm.toml").string();
        struct { const char* body; std::string expect; } cases[] = {
            {"[[rule]]\nname = \"r\"\nscope = \"team\"\n", f + ":5:9: scope must be"},
            {"[[rule]]\nname = \"r\"\nscope = \"user\"\n", f + ":5:9: a user rule needs a sender or recipient"},
            {"[[rule]]\nname = \"r\"\nscope = \"domain\"\ndirection = \"outbound\"\n", f + ":5:9: a domain rule needs"},
            {"[[rule]]\nname = \"r\"\nfrom_list = \"missing.txt\"\n",
             f + ":5:13: cannot read the list file " + (dir.path() / "missing.txt").string() + ": No such file or directory"},
            // A folder named as the list file is refused, not read as an empty list (a rule that
            // silently matched nobody: mail it should have encrypted went out in clear).
            {"[[rule]]\nname = \"r\"\nto_list = \"lists\"\nencrypt = \"mandatory\"\n",
             f + ":5:11: cannot read the list file " + (dir.path() / "lists").string() + ": Is a directory"},
            // A FIFO is refused at once (read_bounded_file): it blocked the check, a start or a
            // reload until something wrote to it, and was then read as an empty list.
            {"[[rule]]\nname = \"r\"\nto_list = \"vip.fifo\"\nencrypt = \"mandatory\"\n",
             f + ":5:11: cannot read the list file " + (dir.path() / "vip.fifo").string() + ": not a regular file (a FIFO)"},
            {"[[rule]]\nname = \"r\"\nto_list = \"bad.txt\"\n", (dir.path() / "bad.txt").string() + ":3:3: 'nope' is not an address pattern"},
            {"[[rule]]\nname = \"r\"\nclient = [\"10.0.0.0/40\"]\n", f + ":5:10: '10.0.0.0/40' is not an address or CIDR network"},
            {"[[rule]]\nname = \"r\"\nauthenticated = \"yes\"\n", f + ":5:17: 'authenticated' must be a boolean"},
            {"[[rule]]\nname = \"r\"\nauthenticated = false\nauthenticated_as = [\"a\"]\n", f + ":6:20: authenticated_as contradicts"},
            {"[[rule]]\nname = \"r\"\nsubject_tag = \"  \"\n", f + ":5:15: subject_tag cannot be empty"},
            {"[[rule]]\nname = \"r\"\nheader = [\"Sensitivity\"]\n", f + ":5:10: 'Sensitivity' is not \"Field-Name: value pattern\""},
            {"[[rule]]\nname = \"r\"\nstrip_trigger = true\n", f + ":5:17: strip_trigger needs a subject_tag"},
            {"[[rule]]\nname = \"r\"\nsigning_identity = \"x@acme.example\"\n", f + ":5:20: signing_identity needs sign"},
            {"[[rule]]\nname = \"r\"\nsign = \"sender\"\nsigning_identity = \"not an address\"\n", f + ":6:20: 'not an address' is not an address"},
            {"[[rule]]\nname = \"r\"\nencrypt_to = \"gateway\"\n", f + ":5:14: encrypt_to must be"},
            {"[[rule]]\nname = \"r\"\ncipher = \"des\"\n", f + ":5:10: cipher must be"},
            {"[[rule]]\nname = \"r\"\nminimum_cipher = \"aes512\"\n", f + ":5:18: minimum_cipher must be"},
            {"[[rule]]\nname = \"r\"\ncipher = \"aes128-cbc\"\nminimum_cipher = \"aes256\"\n", f + ":5:10: cipher aes128-cbc is weaker than minimum_cipher aes256"},
            {"[[rule]]\nname = \"r\"\nto_group = [\"\"]\n", f + ":5:12: a group name cannot be empty"},
            {"[[rule]]\nname = \"r\"\nencrypt = \"always\"\n", f + ":5:11: encrypt must be"},
            {"[policy]\nencrypt = \"always\"\n", f + ":4:11: encrypt must be"},
            {"[policy]\nsign = \"sender\"\nstrip_trigger = true\n", f + ":5:1: unknown key 'strip_trigger' in [policy]"},
            {"[[rule]]\nname = \"r\"\nrequired_policies = [\"1..2\"]\n", f + ":5:21: '1..2' is not a dotted OID"},
            {"[[rule]]\nname = \"r\"\nrevocation = \"hard\"\n", f + ":5:14: revocation must be \"off\", \"soft-fail\" or \"hard-fail\""},
            {"[[rule]]\nname = \"r\"\nsubject = \"x\"\n", f + ":5:1: unknown key 'subject' in [[rule]]"},
            {"[policy]\nrecipient_delimiter = \"+@\"\n", f + ":4:23: recipient_delimiter '+@' must be printable ASCII"},
            {"[policy]\nrecipient_delimiter = \"+ \"\n", f + ":4:23: recipient_delimiter '+ ' must be printable ASCII"},
            // A refused domain says why, in libidn2's words for a label that is no A-label.
            {"[[domain]]\nname = \"xn--zz.example\"\n",
             f + ":4:8: 'xn--zz.example' is not a domain name: 'xn--zz' is no A-label (libidn2: string contains "
                 "invalid punycode data)"},
            {"[[domain]]\nname = \"acme..example\"\n", f + ":4:8: 'acme..example' is not a domain name: it has an empty label"},
            {"[[rule]]\nname = \"r\"\nto = [\"*@*.mail.xn--u-ccb.example\"]\n",
             f + ":5:6: '*@*.mail.xn--u-ccb.example' is not an address pattern (addr, *@domain, *@*.domain or *): in "
                 "its domain, 'xn--u-ccb' is no A-label (libidn2: string is not in Unicode NFC format)"},
            {"[[rule]]\nname = \"r\"\nsign = \"sender\"\nsigning_identity = \"dsa@xn--zz.example\"\n",
             f + ":6:20: 'dsa@xn--zz.example' is not an address: in its domain, 'xn--zz' is no A-label (libidn2: "
                 "string contains invalid punycode data)"},
            {"[[rule]]\nname = \"r\"\nfrom = [\"x@-acme.example\"]\n",
             f + ":5:8: 'x@-acme.example' is not an address pattern (addr, *@domain, *@*.domain or *): in its "
                 "domain, a label starts or ends with a hyphen"},
        };
        for (auto& c : cases) {
            try {
                load(dir, c.body);
                CPPUNIT_FAIL(std::string("accepted: ") + c.body);
            } catch (const ConfigError& e) {
                const std::string what = e.what();
                CPPUNIT_ASSERT_MESSAGE(what + " should start with " + c.expect, what.rfind(c.expect, 0) == 0);
            }
        }
    }

    // [policy] recipient_delimiter reaches inline patterns, list files and [[clearance]]
    // recipients of our domains, partner_recipient_delimiter those of every other domain; "+"
    // unless set; "" turns each off; rule order still decides.
    // Without a [[domain]] no address is ours: recipient_delimiter "-" cuts none, and a rule for
    // ceo@ misses ceo-x@ (which our MTA delivers to ceo). Start-up and -n must say so.
    void recipient_delimiter_without_own_domains_is_warned()
    {
        test::TempDir dir;
        const std::string rule =
            "[[rule]]\nname = \"ceo\"\ndirection = \"outbound\"\nto = [\"ceo@acme.example\"]\nencrypt = \"mandatory\"\n";
        const auto none = load(dir, "[policy]\nrecipient_delimiter = \"-\"\n" + rule);
        CPPUNIT_ASSERT_EQUAL(std::string("default"), rule_for(*none, "ceo-x@acme.example"));
        const auto warned = none->address_extensions.warnings();
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), warned.size());
        CPPUNIT_ASSERT(warned[0].find("recipient_delimiter \"-\" applies to no address") != std::string::npos);
        CPPUNIT_ASSERT(warned[0].find("[[domain]]") != std::string::npos);
        // "" for us but "+" for partners: "+" still cuts ours, which the administrator turned off
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), load(dir, "[policy]\nrecipient_delimiter = \"\"\n" + rule)
                                                 ->address_extensions.warnings().size());
        // the same set either way, or a [[domain]] that makes it ours: nothing to say
        CPPUNIT_ASSERT(load(dir, rule)->address_extensions.warnings().empty());
        CPPUNIT_ASSERT(load(dir, "[policy]\nrecipient_delimiter = \"\"\npartner_recipient_delimiter = \"\"\n" + rule)
                           ->address_extensions.warnings().empty());
        CPPUNIT_ASSERT(load(dir, "[policy]\nrecipient_delimiter = \"-\"\n[[domain]]\nname = \"acme.example\"\n" + rule)
                           ->address_extensions.warnings().empty());
    }

    // The deciding rule is known by its name only (logs, ssmctl policy test): a name two rules
    // share is warned of, by ssm-milter -n, at start-up and at each reload.
    void rules_of_one_name_are_warned()
    {
        test::TempDir dir;
        const std::string a = "[[rule]]\nname = \"partners\"\ndirection = \"outbound\"\nencrypt = \"mandatory\"\n";
        const std::string b = "[[rule]]\nname = \"partners\"\ndirection = \"inbound\"\n";
        const std::string c = "[[rule]]\nname = \"others\"\n";
        const auto named = [](const std::vector<std::string>& warnings) {
            return std::count_if(warnings.begin(), warnings.end(),
                                 [](const std::string& w) { return w.find("[[rule]] name ") == 0; });
        };
        const auto twice = configuration_warnings(*load(dir, a + b + c));
        CPPUNIT_ASSERT_EQUAL(std::ptrdiff_t(1), named(twice));
        const auto w = std::find_if(twice.begin(), twice.end(), [](const std::string& x) { return x.find("[[rule]] name ") == 0; });
        CPPUNIT_ASSERT_EQUAL(std::string("[[rule]] name \"partners\" names 2 rules: the log and ssmctl policy test, which "
                                         "name the deciding rule, cannot tell them apart"),
                             *w);
        CPPUNIT_ASSERT_EQUAL(std::ptrdiff_t(0), named(configuration_warnings(*load(dir, a + c))));
    }

    // A rule for Jörg meets mail from JÖRG as a rule for joerg meets JOERG: the local part is
    // compared without case for every letter, the domain through IDNA (which folds case).
    void utf8_address_rules_match_without_case()
    {
        test::TempDir dir;
        const auto c = load(dir, "[[rule]]\nname = \"joerg\"\nfrom = [\"Jörg@Bücher.example\"]\n"
                                 "to = [\"*@bücher.example\", \"ΟΔΟΣ@acme.example\"]\n");
        const auto& r = c->policy.rules().at(0);
        for (const char* a : {"JÖRG@bücher.example", "jörg@BÜCHER.example", "Jörg@xn--bcher-kva.example",
                              "JO\u0308RG@bücher.example"})
            CPPUNIT_ASSERT_MESSAGE(a, r.when.from.at(0).matches(test::address(a)));
        for (const char* a : {"jorg@bücher.example", "joerg@bücher.example", "jörg@bucher.example"})
            CPPUNIT_ASSERT_MESSAGE(a, !r.when.from.at(0).matches(test::address(a)));
        CPPUNIT_ASSERT(r.when.to.at(0).matches(test::address("x@BÜCHER.example")));
        CPPUNIT_ASSERT(r.when.to.at(0).matches(test::address("οδος@acme.example")));  // final sigma
    }

    void recipient_delimiter_reaches_every_address_pattern()
    {
        test::TempDir dir;
        test::write_file(dir.path() / "vips.txt", "cfo@partner.example\n");
        smime::cms::SecurityLabel secret;
        secret.policy_id = "1.3.6.1.4.1.99999.1";
        secret.classification = 2;
        for (const std::string& policy_table :
             {std::string(), std::string("[policy]\nrecipient_delimiter = \"+\"\npartner_recipient_delimiter = \"+\"\n")}) {
            const auto c = load(dir, policy_table + kExtensionRules);
            CPPUNIT_ASSERT_EQUAL(std::string("+"), c->address_extensions.own().chars());
            CPPUNIT_ASSERT_EQUAL(std::string("+"), c->address_extensions.other_partners().chars());
            CPPUNIT_ASSERT(c->address_extensions.partners().empty());
            CPPUNIT_ASSERT_EQUAL(std::string("ceo"), rule_for(*c, "ceo@partner.example"));
            CPPUNIT_ASSERT_EQUAL(std::string("ceo"), rule_for(*c, "ceo+x@partner.example"));
            CPPUNIT_ASSERT_EQUAL(std::string("ceo"), rule_for(*c, "Ceo+X@partner.example"));
            CPPUNIT_ASSERT_EQUAL(std::string("public"), rule_for(*c, "ceo+public@partner.example"));
            CPPUNIT_ASSERT_EQUAL(std::string("default"), rule_for(*c, "+ceo@partner.example"));
            CPPUNIT_ASSERT_EQUAL(std::string("vips"), rule_for(*c, "cfo+x@partner.example"));
            const auto inbound = c->policy.plan_recipient(policy::Direction::Inbound, test::address("ceo+news@partner.example"),
                                                          *test::address("a@acme.example"));
            CPPUNIT_ASSERT_EQUAL(std::string("inbound from the ceo"), inbound.rule_name);
            CPPUNIT_ASSERT(c->labels.clearance_problem(*test::address("intern+x@acme.example"), secret).has_value());
            CPPUNIT_ASSERT(!c->labels.clearance_problem(*test::address("bob+x@acme.example"), secret).has_value());
        }
        // "+-" for us: each character is a delimiter of ours, and of ours alone: ceo-x@ at the
        // partner is another person, for the partner's mail system says nothing of "-"
        auto both = load(dir, "[policy]\nrecipient_delimiter = \"+-\"\n" + kExtensionRules);
        CPPUNIT_ASSERT(both->labels.clearance_problem(*test::address("intern-x@acme.example"), secret).has_value());
        CPPUNIT_ASSERT_EQUAL(std::string("default"), rule_for(*both, "ceo-x@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("ceo"), rule_for(*both, "ceo+x@partner.example"));
        // off for us: intern+x@ is an address of its own; partners keep their "+"
        auto ours_off = load(dir, "[policy]\nrecipient_delimiter = \"\"\n" + kExtensionRules);
        CPPUNIT_ASSERT(ours_off->address_extensions.own().off());
        CPPUNIT_ASSERT(!ours_off->labels.clearance_problem(*test::address("intern+x@acme.example"), secret).has_value());
        CPPUNIT_ASSERT_EQUAL(std::string("ceo"), rule_for(*ours_off, "ceo+x@partner.example"));
        // off for partners too: the extended address is an address of its own
        auto off = load(dir, "[policy]\nrecipient_delimiter = \"\"\npartner_recipient_delimiter = \"\"\n" + kExtensionRules);
        CPPUNIT_ASSERT(off->address_extensions.other_partners().off());
        CPPUNIT_ASSERT_EQUAL(std::string("ceo"), rule_for(*off, "ceo@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("default"), rule_for(*off, "ceo+x@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("default"), rule_for(*off, "cfo+x@partner.example"));
        CPPUNIT_ASSERT(!off->labels.clearance_problem(*test::address("intern+x@acme.example"), secret).has_value());
    }

    // [policy] partner_recipient_delimiters: a partner's own set for exactly its domain, as an
    // inline table or a [policy.partner_recipient_delimiters] table, U-labels or A-labels.
    void partner_recipient_delimiters()
    {
        test::TempDir dir;
        test::write_file(dir.path() / "vips.txt", "cfo@partner.example\n");
        for (const std::string& table :
             {std::string("[policy]\npartner_recipient_delimiters = { \"Partner.example\" = \"-\", \"b\xc3\xa4" "cker.example\" = \"\" }\n"),
              std::string("[policy]\nrecipient_delimiter = \"+\"\n[policy.partner_recipient_delimiters]\n"
                          "\"partner.example\" = \"-\"\n\"xn--bcker-gra.example\" = \"\"\n")}) {
            const auto c = load(dir, table + kExtensionRules);
            const auto& x = c->address_extensions;
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), x.partners().size());
            CPPUNIT_ASSERT_EQUAL(std::string("-"), x.delimiter_for(*Domain::parse("partner.example")).chars());
            CPPUNIT_ASSERT(x.delimiter_for(*Domain::parse("xn--bcker-gra.example")).off());
            CPPUNIT_ASSERT_EQUAL(std::string("+"), x.delimiter_for(*Domain::parse("sub.partner.example")).chars());
            CPPUNIT_ASSERT_EQUAL(std::string("+"), x.delimiter_for(*Domain::parse("acme.example")).chars());
            CPPUNIT_ASSERT_EQUAL(std::string("ceo"), rule_for(*c, "ceo-x@partner.example"));
            CPPUNIT_ASSERT_EQUAL(std::string("default"), rule_for(*c, "ceo+x@partner.example"));
            CPPUNIT_ASSERT_EQUAL(std::string("vips"), rule_for(*c, "cfo-x@partner.example"));
        }
    }

    // Each error names file:line:column of the key or value at fault.
    void partner_delimiter_errors()
    {
        test::TempDir dir;
        const std::string f = (dir.path() / "ssm.toml").string();
        const std::string ours = "[[domain]]\nname = \"acme.example\"\n";
        const struct { std::string body, expect; } cases[] = {
            {"[policy]\npartner_recipient_delimiter = \"+@\"\n",
             f + ":4:31: partner_recipient_delimiter '+@' must be printable ASCII"},
            {"[policy]\npartner_recipient_delimiter = \"-\"\n",
             f + ":4:31: partner_recipient_delimiter must be \"+\" or \"\": a partner that cuts at '-' is listed in "
                 "partner_recipient_delimiters under its domain"},
            {"[policy]\npartner_recipient_delimiter = \"+-\"\n", f + ":4:31: partner_recipient_delimiter must be \"+\" or \"\""},
            {"[policy]\npartner_recipient_delimiters = { \"not a domain\" = \"+\" }\n",
             f + ":4:34: partner_recipient_delimiters: 'not a domain' is not a domain name"},
            {"[policy]\npartner_recipient_delimiters = { \"partner.example\" = \"+ \" }\n",
             f + ":4:54: partner_recipient_delimiters: partner.example '+ ' must be printable ASCII"},
            {"[policy]\npartner_recipient_delimiters = { \"acme.example\" = \"-\" }\n" + ours,
             f + ":4:34: partner_recipient_delimiters: acme.example is one of our [[domain]]s (acme.example)"},
            {"[policy]\npartner_recipient_delimiters = { \"lab.ACME.example\" = \"-\" }\n" + ours,
             f + ":4:34: partner_recipient_delimiters: lab.ACME.example is one of our [[domain]]s (acme.example)"},
            {"[policy.partner_recipient_delimiters]\n\"partner.example\" = \"-\"\n\"PARTNER.example\" = \"+\"\n",
             f + ":5:1: partner_recipient_delimiters: PARTNER.example is named twice"},
            {"[policy]\npartner_recipient_delimiters = \"-\"\n",
             f + ":4:32: 'partner_recipient_delimiters' must be a table of strings"},
            {"[policy]\npartner_recipient_delimiters = { partner.example = \"-\" }\n",
             f + ":4:32: 'partner_recipient_delimiters' must be a table of strings (dotted names quoted"},
            {"[policy]\npartner_recipients_delimiter = \"+\"\n", f + ":4:1: unknown key 'partner_recipients_delimiter' in [policy]"},
        };
        for (const auto& c : cases) {
            try {
                load(dir, c.body);
                CPPUNIT_FAIL("accepted: " + c.body);
            } catch (const ConfigError& e) {
                const std::string what = e.what();
                CPPUNIT_ASSERT_MESSAGE(what + " should start with " + c.expect, what.rfind(c.expect, 0) == 0);
            }
        }
    }

private:
    static inline const std::string kExtensionRules = R"toml(
[[domain]]
name = "acme.example"

[[rule]]
name = "public"
direction = "outbound"
to = ["ceo+public@partner.example"]
encrypt = "never"

[[rule]]
name = "ceo"
direction = "outbound"
to = ["ceo@partner.example"]
encrypt = "mandatory"

[[rule]]
name = "vips"
direction = "outbound"
to_list = "vips.txt"
encrypt = "mandatory"

[[rule]]
name = "inbound from the ceo"
direction = "inbound"
from = ["ceo@partner.example"]
require_signature = true

[[clearance]]
recipients = ["intern@acme.example"]
policy = "1.3.6.1.4.1.99999.1"
classifications = [0]

[[clearance]]
recipients = ["*@acme.example"]
policy = "1.3.6.1.4.1.99999.1"
classifications = [0, 1, 2]
)toml";

    static std::string rule_for(const Config& c, const char* rcpt)
    {
        return c.policy.plan_recipient(policy::Direction::Outbound, test::address("a@acme.example"), *test::address(rcpt))
            .rule_name;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigRulesTest);
