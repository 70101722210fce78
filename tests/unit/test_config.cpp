// Unit tests for the configuration loader: the PRODUCT §8.1 example loads, every error
// names file:line:column (the file alone for what it lacks), defaults come from the key
// table, and every key is documented.
#include <cppunit/extensions/HelperMacros.h>

#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "milter/certificates.h"
#include "milter/config.h"
#include "milter/config_table.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

const char* kExample = R"toml([milter]
socket = "unix:/run/ssm-milter/milter.sock"
user = "ssm-milter"
authserv_id = "mail.acme.example"
internal_networks = ["127.0.0.0/8"]
originating_daemons = ["ORIGINATING"]
spool_dir = "/var/spool/ssm-milter"
memory_spool_limit = "1MiB"
max_message_size = "100MiB"

[hsm]
module = "/usr/lib/softhsm/libsofthsm2.so"
token_label = "ssm-gateway"
pin_file = "/etc/ssm-milter/token.pin"
sessions = 4

[pki]
trust_anchors = "/etc/ssm-milter/trust"
intermediates = "/etc/ssm-milter/intermediates"
crls = "/etc/ssm-milter/crls"
revocation = "soft-fail"

[directory]
cache = "/var/lib/ssm-milter/cache"
static_certificates = "/etc/ssm-milter/certs"
positive_ttl = "1d"
negative_ttl = "1h"

[[directory.ldap]]
domains = ["partner.example"]
servers = ["ldap://127.0.0.1:3389"]
base = "ou=people,dc=partner,dc=example"
filter = "(mail=%s)"

[[domain]]
name = "acme.example"
signing_identity = "domain-signing-authority@acme.example"

[[rule]]
name = "partner mail is signed by the domain and must be encrypted"
direction = "outbound"
to = ["*@partner.example"]
sign = "domain"
encrypt = "mandatory"

[[rule]]
name = "everything else is signed by the sender when possible"
direction = "outbound"
sign = "sender"
encrypt = "opportunistic"
)toml";

const char* kMinimal = "[hsm]\ntoken_label = \"t\"\n";

// The length of the setting name `line` starts with ("key = ..."; a-z and _), else 0.
std::size_t setting_name_length(const std::string& line, std::size_t from = 0)
{
    std::size_t k = from;
    while (k < line.size() && (std::islower(static_cast<unsigned char>(line[k])) || line[k] == '_')) ++k;
    return k > from && line.compare(k, 3, " = ") == 0 ? k - from : 0;
}

// `text` (the contrib example) with every commented-out setting and table switched on: lines
// "# key = ..." and "# [table]" lose their "# "; `count` is how many did.
std::string all_switched_on(const std::string& text, std::size_t& count)
{
    std::string all;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("# [", 0) == 0 || (line.rfind("# ", 0) == 0 && setting_name_length(line, 2) > 0)) {
            line.erase(0, 2);
            ++count;
        }
        all += line + "\n";
    }
    return all;
}

}  // namespace

class ConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ConfigTest);
    CPPUNIT_TEST(product_example_loads);
    CPPUNIT_TEST(contrib_example_loads);
    CPPUNIT_TEST(contrib_example_names_every_key);
    CPPUNIT_TEST(defaults_from_table);
    CPPUNIT_TEST(errors_name_line_and_column);
    CPPUNIT_TEST(unreadable_file_says_why);
    CPPUNIT_TEST(sizes_and_durations);
    CPPUNIT_TEST(networks);
    CPPUNIT_TEST(every_key_documented_in_man_page);
    CPPUNIT_TEST(directory_ldap_keys);
    CPPUNIT_TEST(directory_errors);
    CPPUNIT_TEST(directory_smimea);
    CPPUNIT_TEST(pki_anchor_bindings);
    CPPUNIT_TEST(pki_anchor_binding_of_no_anchor);
    CPPUNIT_TEST_SUITE_END();

public:
    void product_example_loads()
    {
        auto c = parse_config(kExample, "ex.toml");
        CPPUNIT_ASSERT_EQUAL(std::string("mail.acme.example"), c->milter.authserv_id);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1024 * 1024), c->milter.memory_spool_limit);
        CPPUNIT_ASSERT_EQUAL(std::string("ssm-gateway"), c->hsm.token_label);
        CPPUNIT_ASSERT_EQUAL(4u, c->hsm.sessions);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), c->policy.rules().size());
        CPPUNIT_ASSERT(c->policy.rules()[0].encrypt == policy::EncryptMode::Mandatory);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), c->directory.ldap.size());
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(86400), c->directory.positive_ttl);
        auto plan = c->policy.plan_recipient(policy::Direction::Outbound,
                                             EmailAddress::parse("a@acme.example"),
                                             *EmailAddress::parse("b@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("partner mail is signed by the domain and must be encrypted"),
                             plan.rule_name);
    }

    // The example shipped for administrators (contrib/ssm-milter.toml.example) must load as it
    // is, and with every commented-out setting switched on (lines "# key = ..." and "# [table]"),
    // so that a copied block never starts with a configuration error.
    void contrib_example_loads()
    {
        const std::string text = test::read_file(test::source_dir() / "contrib/ssm-milter.toml.example");
        auto c = parse_config(text, "ssm-milter.toml.example");
        CPPUNIT_ASSERT(!c->policy.rules().empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), c->directory.ldap.size());

        std::size_t switched_on = 0;
        std::string all = all_switched_on(text, switched_on);
        CPPUNIT_ASSERT(switched_on > 20);
        // The files read at load time: the reinjection secret, the rules' pattern lists, and the
        // DNSSEC trust anchor (the root's KSK-2017 DS record, as Debian's dns-root-data ships it).
        test::TempDir dir;
        const auto substitute = [&](const std::string& example_path, const std::string& name, const std::string& text) {
            const std::string path = (dir.path() / name).string();
            test::write_file(path, text);
            const std::size_t where = all.find(example_path);
            CPPUNIT_ASSERT_MESSAGE(example_path, where != std::string::npos);
            all.replace(where, example_path.size(), path);
        };
        substitute("/etc/ssm-milter/reinjection.secret", "reinjection.secret", "0123456789abcdef0123456789abcdef\n");
        substitute("/etc/ssm-milter/finance-senders.txt", "finance-senders.txt", "*@finance.acme.example\n");
        substitute("/etc/ssm-milter/banks.txt", "banks.txt", "# the banks\n*@bank.example\n");
        substitute("/usr/share/dns/root.key", "root.key",
                   ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n");
        auto full = parse_config(all, "ssm-milter.toml.example (all on)");
        CPPUNIT_ASSERT(full->policy.rules().size() > c->policy.rules().size());
        CPPUNIT_ASSERT(!full->mail_lists.empty());
    }

    // The example names every key of the config table, at the least commented out with its
    // default: administrators copy from it, and it lacked recipient_identifier, the [policy]
    // defaults, a dozen rule keys and, in other sections, keys such as revocation_time_budget
    // and the LDAP bind settings that the man page documents.
    void contrib_example_names_every_key()
    {
        std::size_t switched_on = 0;
        const std::string all = all_switched_on(
            test::read_file(test::source_dir() / "contrib/ssm-milter.toml.example"), switched_on);
        std::map<std::string, std::set<std::string>> named;  // table ("rule[]") -> keys
        std::string table;
        std::istringstream lines(all);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("[[", 0) == 0) table = line.substr(2, line.find("]]") - 2) + "[]";
            else if (line.rfind("[", 0) == 0) table = line.substr(1, line.find(']') - 1);
            else if (const std::size_t n = setting_name_length(line)) named[table].insert(line.substr(0, n));
        }
        std::size_t checked = 0;
        std::string missing;
        for (const auto& k : config_keys()) {
            const std::string t(k.table), key(k.key);
            if (named[t].count(key) != 1) missing += " [" + t + "] " + key;
            ++checked;
        }
        CPPUNIT_ASSERT_MESSAGE("not in contrib/ssm-milter.toml.example:" + missing, missing.empty());
        CPPUNIT_ASSERT(checked > 100);
    }

    void defaults_from_table()
    {
        auto c = parse_config(kMinimal, "min.toml");
        CPPUNIT_ASSERT_EQUAL(std::string("unix:/run/ssm-milter/milter.sock"), c->milter.socket);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100) * 1024 * 1024, c->milter.max_message_size);
        CPPUNIT_ASSERT(c->signing.format == smime::SignatureFormat::Detached);
        CPPUNIT_ASSERT(c->signing.digest == smime::DigestAlgorithm::Sha256);
        CPPUNIT_ASSERT(c->signing.include_chain);
        CPPUNIT_ASSERT_EQUAL(std::string("/usr/lib/softhsm/libsofthsm2.so"), c->hsm.module);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), c->milter.internal_networks.size());
        CPPUNIT_ASSERT(c->policy.rules().empty());
        // Undecryptable mail is held, never refused by default: a refusal is a padding oracle.
        CPPUNIT_ASSERT(c->inbound.on_undecryptable == Undecryptable::Hold);
        const std::pair<const char*, Undecryptable> modes[] = {
            {"deliver", Undecryptable::Deliver}, {"reject", Undecryptable::Reject}, {"hold", Undecryptable::Hold}};
        for (const auto& [text, mode] : modes) {
            auto d = parse_config(std::string(kMinimal) + "\n[inbound]\non_undecryptable = \"" + text + "\"\n", "min.toml");
            CPPUNIT_ASSERT_MESSAGE(text, d->inbound.on_undecryptable == mode);
        }
    }

    void errors_name_line_and_column()
    {
        struct { const char* text; const char* expect; } cases[] = {
            {"[milter]\nsockt = \"x\"\n", "bad.toml:2:1: unknown key 'sockt' in [milter]"},
            {"[hsm]\ntoken_label = 5\n", "bad.toml:2:15: 'token_label' must be a string"},
            {"[hsm]\ntoken_label = \"t\"\nsessions = 0\n", "bad.toml:3:12: sessions must be 1..256"},
            {"[hsm]\ntoken_label = \"t\"\n[directory]\nsource_order = [\"dns\"]\n",
             "bad.toml:4:16: source_order: 'dns' is not one of static, imported, ldap, harvested, smimea"},
            {"[hsm]\ntoken_label = \"t\"\n[directory]\nsource_order = [\"ldap\", \"ldap\"]\n",
             "bad.toml:4:16: source_order names 'ldap' twice"},
            {"[hsm]\ntoken_label = \"t\"\npin_credential = \"/etc/pin\"\n",
             "bad.toml:3:18: pin_credential is a credential name (LoadCredential=NAME:...), not a path"},
            {"[hsm]\ntoken_label = \"t\"\n[milter]\nmemory_spool_limit = \"1 lots\"\n",
             "bad.toml:4:22: 'memory_spool_limit' must be a size"},
            {"[hsm]\ntoken_label = \"t\"\n[signing]\nformat = \"clear\"\n",
             "bad.toml:4:10: format must be"},
            {"[hsm]\ntoken_label = \"t\"\n[[rule]]\nname = \"r\"\nto = [\"not an address\"]\n",
             "bad.toml:5:6: 'not an address' is not an address pattern"},
            {"[hsm]\ntoken_label = \"t\"\n[[rule]]\nsign = \"domain\"\n",
             "bad.toml:3:1: [[rule]] needs the key 'name'"},
            {"[hsm]\ntoken_label = \"t\"\n[rule]\nname = \"r\"\n", "bad.toml:3:2: 'rule' must be written [[rule]]"},
            {"[hsm]\ntoken_label = \"t\"\nfoo = 1\n", "bad.toml:3:1: unknown key 'foo' in [hsm]"},
            {"[hsm]\ntoken_label = \"t\"\n[milter]\ninternal_networks = [\"10.0.0.0/33\"]\n",
             "bad.toml:4:21: '10.0.0.0/33' is not an address or CIDR network"},
            {"[hsm]\ntoken_label = \"t\"\n[milter]\nauthserv_id = \"mx; dkim=pass\"\n",
             "bad.toml:4:15: authserv_id must be a host name"},
            {"[hsm]\ntoken_label = \"t\"\n[inbound]\non_undecryptable = \"drop\"\n",
             "bad.toml:4:20: on_undecryptable must be \"hold\", \"deliver\" or \"reject\""},
            {"[hsm\n", "bad.toml:1:5:"},
            {"[milter]\n", "bad.toml: no [hsm] section: add [hsm] with token_label (or token_serial)"},  // at the file: no line
        };
        for (auto& c : cases) {
            try {
                parse_config(c.text, "bad.toml");
                CPPUNIT_FAIL(std::string("accepted: ") + c.text);
            } catch (const ConfigError& e) {
                const std::string what = e.what();
                CPPUNIT_ASSERT_MESSAGE(what + " should start with " + c.expect,
                                       what.rfind(c.expect, 0) == 0);
            }
        }
    }

    // A file that cannot be read says why: a missing file and a folder given for the file call
    // for different fixes than a mistyped key.
    void unreadable_file_says_why()
    {
        test::TempDir dir;
        const struct { std::string path; const char* reason; } cases[] = {
            {(dir.path() / "missing.toml").string(), "No such file or directory"},
            {dir.path().string(), "Is a directory"},
        };
        for (const auto& c : cases) {
            try {
                load_config(c.path);
                CPPUNIT_FAIL("loaded " + c.path);
            } catch (const ConfigError& e) {
                const std::string expect = c.path + ": cannot read the configuration file: " + c.reason;
                CPPUNIT_ASSERT_EQUAL(expect, std::string(e.what()));
            }
        }
    }

    void sizes_and_durations()
    {
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(65536), *parse_size("64KiB"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(512), *parse_size("512"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2) << 30, *parse_size("2GiB"));
        CPPUNIT_ASSERT(!parse_size("").has_value());
        CPPUNIT_ASSERT(!parse_size("1TB").has_value());
        CPPUNIT_ASSERT(!parse_size("99999999999999999999GiB").has_value());
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(3600), *parse_duration("1h"));
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(90), *parse_duration("90s"));
        CPPUNIT_ASSERT(!parse_duration("1w").has_value());
    }

    void networks()
    {
        auto n = *Network::parse("10.1.0.0/16");
        sockaddr_in in{};
        in.sin_family = AF_INET;
        inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
        CPPUNIT_ASSERT(n.contains(reinterpret_cast<sockaddr*>(&in)));
        inet_pton(AF_INET, "10.2.2.3", &in.sin_addr);
        CPPUNIT_ASSERT(!n.contains(reinterpret_cast<sockaddr*>(&in)));
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        inet_pton(AF_INET6, "::ffff:10.1.9.9", &in6.sin6_addr);
        CPPUNIT_ASSERT(n.contains(reinterpret_cast<sockaddr*>(&in6)));
        auto v6 = *Network::parse("2001:db8::/32");
        inet_pton(AF_INET6, "2001:db8:1::1", &in6.sin6_addr);
        CPPUNIT_ASSERT(v6.contains(reinterpret_cast<sockaddr*>(&in6)));
        // An IPv4 network written IPv4-mapped contains the IPv4 clients it names, however the
        // MTA gives them (Postfix: as IPv4).
        auto mapped = *Network::parse("::ffff:10.1.0.0/112");
        inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
        CPPUNIT_ASSERT(mapped.contains(reinterpret_cast<sockaddr*>(&in)));
        inet_pton(AF_INET, "10.2.2.3", &in.sin_addr);
        CPPUNIT_ASSERT(!mapped.contains(reinterpret_cast<sockaddr*>(&in)));
        inet_pton(AF_INET6, "::ffff:10.1.9.9", &in6.sin6_addr);
        CPPUNIT_ASSERT(mapped.contains(reinterpret_cast<sockaddr*>(&in6)));
        inet_pton(AF_INET6, "::10.1.9.9", &in6.sin6_addr);  // IPv4-compatible: another address
        CPPUNIT_ASSERT(!mapped.contains(reinterpret_cast<sockaddr*>(&in6)));
        auto single = *Network::parse("::ffff:127.0.0.1");
        inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
        CPPUNIT_ASSERT(single.contains(reinterpret_cast<sockaddr*>(&in)));
        CPPUNIT_ASSERT(!Network::parse("300.1.1.1").has_value());
        CPPUNIT_ASSERT(!Network::parse("10.0.0.0/x").has_value());
    }

    void pki_anchor_bindings()
    {
        auto c = parse_config(std::string(kMinimal) + R"toml(
[pki]
unscoped_anchors = "none"

[[pki.anchor]]
certificate = "partner-root.pem"
domains = ["Partner.Example", ".partner.example"]

[[pki.anchor]]
certificate = "AB:CD"
domains = ["acme.example"]
)toml",
                              "x.toml");
        CPPUNIT_ASSERT(!c->pki.unscoped_anchors_any_domain);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, c->pki.anchors.size());
        const AnchorBinding& b = c->pki.anchors.at(0);
        CPPUNIT_ASSERT_EQUAL(std::string("partner-root.pem"), b.certificate);
        CPPUNIT_ASSERT_EQUAL(std::string("partner.example"), b.domains.at(0));  // lower case
        CPPUNIT_ASSERT_EQUAL(std::string(".partner.example"), b.domains.at(1));
        CPPUNIT_ASSERT_EQUAL(std::string("x.toml:7:1"), b.where);
        CPPUNIT_ASSERT_EQUAL(std::string("x.toml:11:1"), c->pki.anchors.at(1).where);
        // A domain in U-labels is bound in the A-label form addresses are compared in.
        auto u = parse_config(std::string(kMinimal) + "[[pki.anchor]]\ncertificate = \"r.pem\"\n"
                                                      "domains = [\"Bäcker.example\", \".bäcker.example\"]\n",
                              "u.toml");
        CPPUNIT_ASSERT_EQUAL(std::string("xn--bcker-gra.example"), u->pki.anchors.at(0).domains.at(0));
        CPPUNIT_ASSERT_EQUAL(std::string(".xn--bcker-gra.example"), u->pki.anchors.at(0).domains.at(1));
        // Default: anchors no binding names vouch for every domain, as before bindings existed.
        auto d = parse_config(kMinimal, "d.toml");
        CPPUNIT_ASSERT(d->pki.unscoped_anchors_any_domain);
        CPPUNIT_ASSERT(d->pki.anchors.empty());
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(20), d->pki.revocation_time_budget);
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(90),
                             parse_config(std::string(kMinimal) + "[pki]\nrevocation_time_budget = \"90s\"\n", "b.toml")
                                 ->pki.revocation_time_budget);
        CPPUNIT_ASSERT_EQUAL(std::size_t{4} << 20, d->pki.max_crl_size);
        CPPUNIT_ASSERT_EQUAL(std::size_t{64} << 20,
                             parse_config(std::string(kMinimal) + "[pki]\nmax_crl_size = \"64MiB\"\n", "c.toml")
                                 ->pki.max_crl_size);

        const std::string head = std::string(kMinimal) + "[pki]\n";
        struct { std::string text; const char* expect; } cases[] = {
            {head + "unscoped_anchors = \"all\"\n", "bad.toml:4:20: unscoped_anchors must be \"any-domain\" or \"none\""},
            {head + "revocation_time_budget = \"0s\"\n",
             "bad.toml:4:26: revocation_time_budget must be between 1s and 600s"},
            {head + "revocation_time_budget = \"601s\"\n",
             "bad.toml:4:26: revocation_time_budget must be between 1s and 600s"},
            {head + "max_crl_size = \"1KiB\"\n", "bad.toml:4:16: max_crl_size must be between 64KiB and 256MiB"},
            {head + "max_crl_size = \"1GiB\"\n", "bad.toml:4:16: max_crl_size must be between 64KiB and 256MiB"},
            // Why, in the words used for every other domain of the file (libidn2's for A-labels).
            {head + "[[pki.anchor]]\ncertificate = \"r.pem\"\ndomains = [\"ceo@acme.example\"]\n",
             "bad.toml:6:11: 'ceo@acme.example' is not a domain (\"example.com\" or \".example.com\"): a binding "
             "names domains, not mailboxes"},
            {head + "[[pki.anchor]]\ncertificate = \"r.pem\"\ndomains = [\"bad..example\"]\n",
             "bad.toml:6:11: 'bad..example' is not a domain (\"example.com\" or \".example.com\"): it has an empty label"},
            {head + "[[pki.anchor]]\ncertificate = \"r.pem\"\ndomains = [\".xn--zz.example\"]\n",
             "bad.toml:6:11: '.xn--zz.example' is not a domain (\"example.com\" or \".example.com\"): 'xn--zz' is no "
             "A-label (libidn2: "},
            {head + "[[pki.anchor]]\ncertificate = \"r.pem\"\ndomains = [\"*.partner.example\"]\n",
             "bad.toml:6:11: '*.partner.example' is not a domain (\"example.com\" or \".example.com\"): '*' is not a "
             "letter, digit or hyphen"},
            {head + "[[pki.anchor]]\ncertificate = \"r.pem\"\ndomains = [\"192.0.2.1\"]\n",
             "bad.toml:6:11: '192.0.2.1' is not a domain (\"example.com\" or \".example.com\"): it is an IPv4 address"},
            {head + "[[pki.anchor]]\ncertificate = \"r.pem\"\ndomains = []\n",
             "bad.toml:6:11: [[pki.anchor]] needs at least one domain"},
            {head + "[[pki.anchor]]\ncertificate = \"/etc/ssm-milter/trust/r.pem\"\ndomains = [\"a.example\"]\n",
             "bad.toml:5:15: certificate must be a file name in [pki] trust_anchors or a SHA-256 fingerprint"},
            {head + "[[pki.anchor]]\ncertificate = \"r.pem\"\n", "bad.toml:4:1: [[pki.anchor]] needs the key 'domains'"},
            {head + "[[pki.anchor]]\ndomains = [\"a.example\"]\n", "bad.toml:4:1: [[pki.anchor]] needs the key 'certificate'"},
            {head + "[[pki.anchor]]\ncertificate = \"r.pem\"\ndomains = [\"a.example\"]\nscope = 1\n",
             "bad.toml:7:1: unknown key 'scope' in [[pki.anchor]]"},
            {head + "[pki.anchor]\ncertificate = \"r.pem\"\n", "bad.toml:4:6: pki.anchor must be written [[pki.anchor]]"},
        };
        for (auto& k : cases) {
            try {
                parse_config(k.text, "bad.toml");
                CPPUNIT_FAIL("accepted: " + k.text);
            } catch (const ConfigError& e) {
                const std::string what = e.what();
                CPPUNIT_ASSERT_MESSAGE(what + " should start with " + k.expect, what.rfind(k.expect, 0) == 0);
            }
        }
    }

    // Whether a binding names a loaded anchor is known once the trust store is loaded; the error
    // still names the binding's place in the file.
    void pki_anchor_binding_of_no_anchor()
    {
        test::TempDir trust;  // no anchor at all
        const std::string text = std::string(kMinimal) + "[pki]\ntrust_anchors = \"" + trust.path().string() +
                                 "\"\nocsp = false\ncrl_distribution_points = false\n\n[[pki.anchor]]\n"
                                 "certificate = \"partner-root.pem\"\ndomains = [\"partner.example\"]\n";
        auto c = parse_config(text, "ssm.toml");
        try {
            Certificates::load(*c, nullptr);
            CPPUNIT_FAIL("a binding of no loaded anchor was accepted");
        } catch (const ConfigError& e) {
            const std::string what = e.what();
            CPPUNIT_ASSERT_MESSAGE(what, what.rfind("ssm.toml:8:1: [[pki.anchor]]: certificate 'partner-root.pem' is no "
                                                   "loaded trust anchor", 0) == 0);
        }
    }

    // ssm-milter.toml(5) documents each key as ".TP" then ".B key" under the section of its
    // table (.SH "SECTION [table]" or "SECTION [[table]]"). Per table, the keys documented
    // there are exactly the keys the table accepts: a key added, moved or removed on one side
    // only fails here.
    void every_key_documented_in_man_page()
    {
        const std::string man = test::read_file(test::source_dir() / "man/ssm-milter.toml.5");
        std::map<std::string, std::set<std::string>> documented;  // table ("rule[]") -> keys
        std::string section;  // "" outside a SECTION
        std::istringstream lines(man);
        std::string line, previous;
        int nested = 0;  // inside .RS/.RE: a list of a key's values, not keys
        while (std::getline(lines, line)) {
            if (line.rfind(".RS", 0) == 0) ++nested;
            if (line.rfind(".RE", 0) == 0 && nested > 0) --nested;
            if (line.rfind(".SH", 0) == 0) {
                nested = 0;
                section.clear();
                const std::string head = ".SH \"SECTION [";
                if (line.rfind(head, 0) == 0) {
                    const bool array = line.compare(head.size(), 1, "[") == 0;
                    const std::size_t from = head.size() + (array ? 1 : 0);
                    section = line.substr(from, line.find(']', from) - from) + (array ? "[]" : "");
                    documented[section];
                }
            } else if (!section.empty() && nested == 0 && previous == ".TP" && line.rfind(".B ", 0) == 0 &&
                       line.find(' ', 3) == std::string::npos) {
                CPPUNIT_ASSERT_MESSAGE("documented twice: [" + section + "] " + line.substr(3),
                                       documented[section].insert(line.substr(3)).second);
            }
            previous = line;
        }
        std::map<std::string, std::set<std::string>> accepted;
        for (const auto& k : config_keys()) accepted[std::string(k.table)].insert(std::string(k.key));
        for (const auto& [table, keys] : accepted) {
            CPPUNIT_ASSERT_MESSAGE("no section for [" + table + "]", documented.count(table) == 1);
            for (const auto& k : keys)
                CPPUNIT_ASSERT_MESSAGE("undocumented key [" + table + "] " + k, documented[table].count(k) == 1);
        }
        for (const auto& [table, keys] : documented)
            for (const auto& k : keys)
                CPPUNIT_ASSERT_MESSAGE("documented but not accepted: [" + table + "] " + k,
                                       accepted.count(table) == 1 && accepted[table].count(k) == 1);
        CPPUNIT_ASSERT(documented.size() >= 20);  // the parse found the sections
    }

    void directory_ldap_keys()
    {
        auto ex = parse_config(kExample, "ex.toml");
        const auto& d = ex->directory;
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(7 * 86400), d.stale_limit);  // default
        const LdapDirectory& l = d.ldap.at(0);
        CPPUNIT_ASSERT_EQUAL(std::string("partner.example"), l.domains.at(0));
        CPPUNIT_ASSERT_EQUAL(std::string("(mail=%s)"), l.filter);
        CPPUNIT_ASSERT(l.bind_dn.empty() && l.bind_password_file.empty() && l.ca_file.empty());
        CPPUNIT_ASSERT(!l.starttls);
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(5), l.timeout);
        CPPUNIT_ASSERT_EQUAL(std::string("ex.toml:29:1"), l.where);
        CPPUNIT_ASSERT_EQUAL(8, l.max_entries);  // the limits' defaults: the values fixed before
        CPPUNIT_ASSERT_EQUAL(std::size_t{32}, l.max_values);
        CPPUNIT_ASSERT_EQUAL(std::size_t{64 * 1024}, l.max_value_bytes);
        CPPUNIT_ASSERT(ex->not_yet_in_force.empty());

        auto c = parse_config(std::string(kMinimal) + R"toml(
[directory]
stale_limit = "2d"
[[directory.ldap]]
domains = ["Partner.Example", "other.example"]
servers = ["ldap://127.0.0.1:3389", "ldap://127.0.0.1:3390"]
base = "ou=people,dc=partner,dc=example"
filter = "(|(mail=%s)(mailAlternateAddress=%s))"
bind_dn = "cn=reader,dc=partner,dc=example"
bind_password_file = "/etc/ssm-milter/ldap.pw"
starttls = true
ca_file = "/etc/ssm-milter/ldap-ca.pem"
timeout = "2s"
max_entries = 1
max_values = 1000
max_value_bytes = "1MiB"
[[directory.ldap]]
domains = ["partner.example"]
servers = ["ldaps://ldap.partner.example"]
base = "ou=second,dc=partner,dc=example"
max_value_bytes = 4096
)toml",
                              "full.toml");
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(2 * 86400), c->directory.stale_limit);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, c->directory.ldap.size());
        const LdapDirectory& f = c->directory.ldap[0];
        CPPUNIT_ASSERT_EQUAL(std::string("partner.example"), f.domains[0]);  // lower-cased
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, f.servers.size());
        CPPUNIT_ASSERT_EQUAL(std::string("(|(mail=%s)(mailAlternateAddress=%s))"), f.filter);
        CPPUNIT_ASSERT_EQUAL(std::string("cn=reader,dc=partner,dc=example"), f.bind_dn);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/ssm-milter/ldap.pw"), f.bind_password_file);
        CPPUNIT_ASSERT(f.starttls);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/ssm-milter/ldap-ca.pem"), f.ca_file);
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(2), f.timeout);
        CPPUNIT_ASSERT_EQUAL(std::string("full.toml:6:1"), f.where);
        CPPUNIT_ASSERT_EQUAL(1, f.max_entries);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1000}, f.max_values);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1024 * 1024}, f.max_value_bytes);
        const LdapDirectory& second = c->directory.ldap[1];
        CPPUNIT_ASSERT_EQUAL(std::size_t{4096}, second.max_value_bytes);
        CPPUNIT_ASSERT_EQUAL(8, second.max_entries);  // each entry its own limits
        CPPUNIT_ASSERT_EQUAL(std::size_t{32}, second.max_values);
        // Two directories may serve one domain: both are kept, in order.
        CPPUNIT_ASSERT_EQUAL(std::string("ldaps://ldap.partner.example"), c->directory.ldap[1].servers[0]);

        // [directory] max_entry_bytes: 4 MiB (the limit fixed before) unless set, both bounds
        // accepted.
        CPPUNIT_ASSERT_EQUAL(std::size_t{4 * 1024 * 1024}, d.max_entry_bytes);
        for (const auto& [text, bytes] : {std::pair<const char*, std::size_t>{"\"64KiB\"", 64 * 1024},
                                          {"\"256MiB\"", 256 * 1024 * 1024}, {"1000000", 1000000}}) {
            auto e = parse_config(std::string(kMinimal) + "[directory]\nmax_entry_bytes = " + text + "\n", "e.toml");
            CPPUNIT_ASSERT_EQUAL_MESSAGE(text, bytes, e->directory.max_entry_bytes);
        }
    }

    void directory_errors()
    {
        const std::string head = std::string(kMinimal) + "[[directory.ldap]]\n";  // entry on line 3
        const std::string ok = "domains = [\"partner.example\"]\nservers = [\"ldap://127.0.0.1:3389\"]\n"
                               "base = \"dc=partner,dc=example\"\n";  // lines 4-6
        struct {
            std::string text;
            const char* expect;
        } cases[] = {
            {head + ok + "filter = \"(mail=x)\"\n",
             "bad.toml:7:10: filter must be a parenthesised LDAP filter containing %s"},
            {head + ok + "filter = \"mail=%s\"\n", "bad.toml:7:10: filter must be"},
            {head + ok + "filter = \"(|(mail=%s)\"\n",
             "bad.toml:7:10: filter must be one LDAP filter whose parentheses balance, without empty items "
             "(a value's own are written \\28 and \\29)"},
            {head + ok + "filter = \"(mail=%s))\"\n", "bad.toml:7:10: filter must be one LDAP filter whose"},
            {head + ok + "filter = \"(mail=%s)(cn=x)\"\n", "bad.toml:7:10: filter must be one LDAP filter whose"},
            {head + ok + "filter = \"(&(mail=%s)())\"\n", "bad.toml:7:10: filter must be one LDAP filter whose"},
            {head + ok + "bind_dn = \"cn=reader\"\n", "bad.toml:7:11: bind_dn needs bind_password_file"},
            {head + ok + "bind_password_file = \"/x\"\n", "bad.toml:7:22: bind_password_file needs bind_dn"},
            {head + ok + "starttls = true\n" + "[[directory.ldap]]\n" + ok + "filter = \"(x)\"\n",
             "bad.toml:12:10: filter must be"},  // the second entry's own line
            {head + "domains = [\"partner.example\"]\nservers = [\"ldaps://h\"]\nbase = \"b\"\nstarttls = true\n",
             "bad.toml:7:12: starttls applies to ldap:// servers only"},
            {head + "domains = [\"partner.example\"]\nservers = [\"http://h\"]\nbase = \"b\"\n",
             "bad.toml:5:11: 'http://h' is not an ldap://, ldaps:// or ldapi:// URI"},
            {head + "domains = [\"partner.example\"]\nservers = []\nbase = \"b\"\n",
             "bad.toml:5:11: servers must name at least one LDAP URI"},
            {head + "domains = [\"not a domain\"]\nservers = [\"ldap://h\"]\nbase = \"b\"\n",
             "bad.toml:4:11: 'not a domain' is not a domain name"},
            {head + "domains = []\nservers = [\"ldap://h\"]\nbase = \"b\"\n",
             "bad.toml:4:11: domains must name at least one domain"},
            {head + "domains = [\"p.example\"]\nservers = [\"ldap://h\"]\nbase = \"\"\n",
             "bad.toml:6:8: base must not be empty"},
            {head + ok + "timeout = \"0s\"\n", "bad.toml:7:11: timeout must be between 1s and 120s"},
            {head + ok + "timeout = \"1 hour\"\n", "bad.toml:7:11: 'timeout' must be a duration"},
            {head + ok + "tls = true\n", "bad.toml:7:1: unknown key 'tls' in [[directory.ldap]]"},
            {head + ok + "max_entries = 0\n", "bad.toml:7:15: max_entries must be 1..1000"},
            {head + ok + "max_entries = 1001\n", "bad.toml:7:15: max_entries must be 1..1000"},
            {head + ok + "max_entries = -1\n", "bad.toml:7:15: 'max_entries' must be a"},
            {head + ok + "max_entries = \"8\"\n", "bad.toml:7:15: 'max_entries' must be a"},
            {head + ok + "max_values = 0\n", "bad.toml:7:14: max_values must be 1..1000"},
            {head + ok + "max_values = 100000\n", "bad.toml:7:14: max_values must be 1..1000"},
            {head + ok + "max_value_bytes = 0\n", "bad.toml:7:19: max_value_bytes must be 1 to 1MiB"},
            {head + ok + "max_value_bytes = \"2MiB\"\n", "bad.toml:7:19: max_value_bytes must be 1 to 1MiB"},
            {head + ok + "max_value_bytes = \"lots\"\n", "bad.toml:7:19: 'max_value_bytes' must be a size"},
            {head + "domains = [\"p.example\"]\nbase = \"b\"\n", "bad.toml:3:1: [[directory.ldap]] needs the key 'servers'"},
            {std::string(kMinimal) + "[directory.ldap]\nbase = \"b\"\n",
             "bad.toml:3:12: directory.ldap must be written [[directory.ldap]]"},
            {std::string(kMinimal) + "[directory]\nstale_limit = \"1w\"\n", "bad.toml:4:15: 'stale_limit' must be a duration"},
            {std::string(kMinimal) + "[directory]\npositive_ttl = \"0s\"\n",
             "bad.toml:4:16: positive_ttl must be at least 1s"},
            {std::string(kMinimal) + "[directory]\nstale = \"1d\"\n", "bad.toml:4:1: unknown key 'stale' in [directory]"},
            {std::string(kMinimal) + "[directory]\nmax_entry_bytes = \"63KiB\"\n",
             "bad.toml:4:19: max_entry_bytes must be 64KiB to 256MiB"},
            {std::string(kMinimal) + "[directory]\nmax_entry_bytes = \"257MiB\"\n",
             "bad.toml:4:19: max_entry_bytes must be 64KiB to 256MiB"},
            {std::string(kMinimal) + "[directory]\nmax_entry_bytes = \"huge\"\n",
             "bad.toml:4:19: 'max_entry_bytes' must be a size"},
            // [directory.smimea] on line 3, its keys from line 4.
            {std::string(kMinimal) + "[directory.smimea]\nenabled = true\nresolver = \"dns.example\"\n",
             "bad.toml:5:12: resolver must be an IP address, optionally @PORT"},
            {std::string(kMinimal) + "[directory.smimea]\nenabled = true\nresolver = \"127.0.0.1@0\"\n",
             "bad.toml:5:12: resolver must be an IP address"},
            // checked while switched off too (audit finding)
            {std::string(kMinimal) + "[directory.smimea]\nenabled = false\nresolver = \"not-an-ip\"\n",
             "bad.toml:5:12: resolver must be an IP address"},
            {std::string(kMinimal) + "[directory.smimea]\nenabled = true\ndomains = [\"a b\"]\n",
             "bad.toml:5:11: 'a b' is not a domain name"},
            {std::string(kMinimal) + "[directory.smimea]\nenabled = true\ndomains = []\n",
             "bad.toml:5:11: domains must name at least one domain"},
            {std::string(kMinimal) + "[directory.smimea]\nenabled = true\ntimeout = \"0s\"\n",
             "bad.toml:5:11: timeout must be between 1s and 120s"},
            {std::string(kMinimal) + "[directory.smimea]\nenabled = true\ntrust_anchor_file = \"\"\n",
             "bad.toml:5:21: trust_anchor_file must not be empty"},
            {std::string(kMinimal) + "[directory.smimea]\nenabled = \"yes\"\n", "bad.toml:4:11: 'enabled' must be a boolean"},
            {std::string(kMinimal) + "[directory.smimea]\nserver = \"127.0.0.1\"\n",
             "bad.toml:4:1: unknown key 'server' in [directory.smimea]"},
            {std::string(kMinimal) + "[[directory.smimea]]\nenabled = true\n",
             "bad.toml:3:13: directory.smimea must be written [directory.smimea]"},
        };
        for (auto& c : cases) {
            try {
                parse_config(c.text, "bad.toml");
                CPPUNIT_FAIL("accepted: " + c.text);
            } catch (const ConfigError& e) {
                const std::string what = e.what();
                CPPUNIT_ASSERT_MESSAGE(what + " should start with " + c.expect, what.rfind(c.expect, 0) == 0);
            }
        }
        // A value's own parentheses, escaped (RFC 4515), are no imbalance.
        CPPUNIT_ASSERT_EQUAL(std::string("(&(mail=%s)(cn=a\\28b\\29))"),
                             parse_config(head + ok + "filter = \"(&(mail=%s)(cn=a\\\\28b\\\\29))\"\n", "ok.toml")
                                 ->directory.ldap[0].filter);
    }

    void directory_smimea()
    {
        CPPUNIT_ASSERT(!parse_config(kMinimal, "min.toml")->directory.smimea);
        CPPUNIT_ASSERT(!parse_config(std::string(kMinimal) + "[directory.smimea]\nresolver = \"127.0.0.1\"\n", "x.toml")
                            ->directory.smimea);  // not enabled
        auto c = parse_config(std::string(kMinimal) + "[directory.smimea]\nenabled = true\n", "d.toml");
        CPPUNIT_ASSERT(c->directory.smimea);
        const auto& d = *c->directory.smimea;
        CPPUNIT_ASSERT(d.domains.empty());
        CPPUNIT_ASSERT(d.resolver.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("/usr/share/dns/root.key"), d.trust_anchor_file);
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(5), d.timeout);
        CPPUNIT_ASSERT_EQUAL(std::string("d.toml:3:1"), d.where);
        c = parse_config(std::string(kMinimal) +
                             "[directory.smimea]\nenabled = true\ndomains = [\"Partner.Example\"]\n"
                             "resolver = \"::1@5353\"\ntrust_anchor_file = \"/etc/ta.key\"\ntimeout = \"2s\"\n",
                         "f.toml");
        const auto& f = *c->directory.smimea;
        CPPUNIT_ASSERT(f.domains == std::vector<std::string>{"partner.example"});
        CPPUNIT_ASSERT_EQUAL(std::string("::1@5353"), f.resolver);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/ta.key"), f.trust_anchor_file);
        CPPUNIT_ASSERT_EQUAL(std::chrono::seconds(2), f.timeout);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigTest);
