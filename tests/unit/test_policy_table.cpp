// Table-driven policy test: one configuration (loaded through the real loader) and a table
// of (direction, client, AUTH user, from, to, header fields) cases with the expected deciding
// rule and plan. The origin evidence is derived as the milter derives it (AUTH, client in
// internal_networks); "out" rows without either must never be signed.
#include <cppunit/extensions/HelperMacros.h>

#include "milter/config.h"
#include "tests/unit/test_policy_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::policy;

namespace {

const char* kConfig = R"toml([hsm]
token_label = "t"

[milter]
internal_networks = ["10.0.0.0/8", "::1/128"]

# the table test answers group membership itself; the loader needs a group directory named
[directory.groups]
servers = ["ldap://127.0.0.1:1"]
user_base = "ou=people,dc=acme,dc=example"

[policy]
sign = "sender"
encrypt = "opportunistic"

[[domain]]
name = "acme.example"

[[rule]]
name = "tagged"
scope = "user"
direction = "outbound"
subject_tag = "[encrypt]"
strip_trigger = true
encrypt = "mandatory"

[[rule]]
name = "private"
direction = "outbound"
header = ["Sensitivity: Private", "SIO-Label: *SECRET*"]
encrypt = "mandatory"
minimum_cipher = "aes256-gcm"

[[rule]]
name = "clear tag"
direction = "outbound"
subject_tag = "[clear]"
sign = "none"
encrypt = "never"

[[rule]]
name = "partner"
scope = "domain"
direction = "outbound"
to = ["*@partner.example"]
sign = "domain"
encrypt = "mandatory"
encrypt_to = "domain"
cipher = "aes256-gcm"

[[rule]]
name = "bob"
scope = "user"
direction = "outbound"
to = ["bob@partner.example"]
encrypt = "never"

[[rule]]
name = "subsidiaries"
scope = "domain"
direction = "outbound"
to = ["*@*.acme.example"]
sign = "none"
encrypt = "never"

[[rule]]
name = "board"
direction = "outbound"
from_list = "board.txt"
authenticated = true
signing_identity = "board@acme.example"

[[rule]]
name = "lab network"
direction = "outbound"
client = ["10.9.0.0/16"]
sign = "domain"
encrypt = "never"

[[rule]]
name = "helpdesk"
direction = "outbound"
authenticated_as = ["helpdesk"]
sign = "domain"
encrypt_to = "archive@acme.example"

[[rule]]
name = "vip recipients"
direction = "outbound"
to_group = ["cn=vip,ou=groups,dc=acme,dc=example"]
encrypt = "mandatory"

[[rule]]
name = "partner inbound"
direction = "inbound"
from = ["*@partner.example"]
require_signature = true
require_encryption = true
required_policies = ["1.3.6.1.4.1.99999.1"]

[[rule]]
name = "supplier inbound"
direction = "inbound"
from = ["*@supplier.example"]
require_signature = true
on_missing = "tag"

[[rule]]
name = "integrity inbound"
direction = "inbound"
from = ["*@cbc.example"]
require_integrity = true

[[rule]]
name = "inbound sign attempt"
from = ["*@forger.example"]
sign = "sender"
encrypt = "mandatory"
)toml";

const char* kBoard = "# the board signs as the board\nceo@acme.example\ncfo@acme.example\n";

// Expected plans, as ssmctl policy test prints them (policy::describe).
const char* kDefaultOut = "sign=sender encrypt=opportunistic encrypt_to=recipient";
const char* kUnsigned = "sign=none encrypt=opportunistic encrypt_to=recipient";
const char* kPartner = "sign=domain encrypt=mandatory encrypt_to=domain cipher=aes256-gcm";
const char* kTagged = "sign=sender encrypt=mandatory encrypt_to=recipient strip_trigger=yes";
const char* kPrivate = "sign=sender encrypt=mandatory encrypt_to=recipient minimum_cipher=aes256-gcm";
const char* kNothingIn = "require_signature=no require_encryption=no";

struct Case {
    const char* dir;      // "out" or "in"
    const char* client;   // client IP ("" none)
    const char* auth;     // SMTP AUTH user ("" none)
    const char* from;     // envelope sender ("" null sender)
    const char* to;
    const char* headers;  // "Name: value" fields separated by '|'
    const char* rule;     // expected deciding rule
    const char* plan;     // expected policy::describe()
};

// clang-format off
const Case kCases[] = {
    // dir   client          auth        from                   to                         headers                             rule                    plan
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "",                                 "default",              kDefaultOut},
    {"out", "",              "alice",    "alice@acme.example",  "x@other.example",         "",                                 "default",              kDefaultOut},
    {"out", "198.51.100.1",  "",         "alice@acme.example",  "x@other.example",         "",                                 "default",              kUnsigned},
    {"out", "::1",           "",         "alice@acme.example",  "x@other.example",         "",                                 "default",              kDefaultOut},
    {"out", "2001:db8::5",   "",         "alice@acme.example",  "x@other.example",         "",                                 "default",              kUnsigned},
    {"in",  "198.51.100.1",  "",         "x@other.example",     "alice@acme.example",      "",                                 "default",              kNothingIn},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "carol@partner.example",   "",                                 "partner",              kPartner},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "bob@partner.example",     "",                                 "bob",                  "sign=sender encrypt=never"},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "BOB@Partner.Example",     "",                                 "bob",                  "sign=sender encrypt=never"},
    {"out", "198.51.100.1",  "",         "alice@acme.example",  "carol@partner.example",   "",                                 "partner",              "sign=none encrypt=mandatory encrypt_to=domain cipher=aes256-gcm"},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@sales.acme.example",    "",                                 "subsidiaries",         "sign=none encrypt=never"},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@lab.sales.acme.example","",                                 "subsidiaries",         "sign=none encrypt=never"},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@acme.example",          "",                                 "default",              kDefaultOut},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "Subject: [encrypt] figures",       "tagged",               kTagged},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "Subject: Re: [ENCRYPT] figures",   "tagged",               kTagged},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "Subject: [encrypted] figures",     "default",              kDefaultOut},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "X-Subject: [encrypt]",             "default",              kDefaultOut},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "bob@partner.example",     "Subject: [encrypt] figures",       "tagged",               kTagged},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "carol@partner.example",   "Subject: [encrypt] figures",       "tagged",               kTagged},
    {"out", "198.51.100.1",  "",         "alice@acme.example",  "x@other.example",         "Subject: [encrypt] figures",       "tagged",               "sign=none encrypt=mandatory encrypt_to=recipient strip_trigger=yes"},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "Sensitivity: Private",             "private",              kPrivate},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "sensitivity:  private",            "private",              kPrivate},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "Sensitivity: Personal",            "default",              kDefaultOut},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "SIO-Label: policy=1.2; class=TOP SECRET", "private",       kPrivate},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "SIO-Label: class=unclassified",    "default",              kDefaultOut},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "carol@partner.example",   "Sensitivity: Private",             "partner",              kPartner},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "Subject: [clear] hi",              "clear tag",            "sign=none encrypt=never"},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "x@other.example",         "Subject: [clear] hi|Sensitivity: Private", "private",      kPrivate},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "carol@partner.example",   "Subject: [clear] hi",              "partner",              kPartner},
    {"out", "",              "ceo",      "ceo@acme.example",    "x@other.example",         "",                                 "board",                "sign=sender signing_identity=board@acme.example encrypt=opportunistic encrypt_to=recipient"},
    {"out", "",              "cfo",      "CFO@acme.example",    "x@other.example",         "",                                 "board",                "sign=sender signing_identity=board@acme.example encrypt=opportunistic encrypt_to=recipient"},
    {"out", "10.1.1.1",      "",         "ceo@acme.example",    "x@other.example",         "",                                 "default",              kDefaultOut},
    {"out", "",              "ceo",      "intern@acme.example", "x@other.example",         "",                                 "default",              kDefaultOut},
    {"out", "10.9.3.4",      "",         "alice@acme.example",  "x@other.example",         "",                                 "lab network",          "sign=domain encrypt=never"},
    {"out", "10.10.0.1",     "",         "alice@acme.example",  "x@other.example",         "",                                 "default",              kDefaultOut},
    {"out", "10.9.3.4",      "",         "alice@acme.example",  "carol@partner.example",   "",                                 "partner",              kPartner},
    {"out", "",              "helpdesk", "alice@acme.example",  "x@other.example",         "",                                 "helpdesk",             "sign=domain encrypt=opportunistic encrypt_to=archive@acme.example"},
    {"out", "",              "HelpDesk", "alice@acme.example",  "x@other.example",         "",                                 "default",              kDefaultOut},  // SASL names are exact
    {"out", "198.51.100.1",  "other",    "alice@acme.example",  "x@other.example",         "",                                 "default",              kDefaultOut},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "vip@other.example",       "",                                 "vip recipients",       "sign=sender encrypt=mandatory encrypt_to=recipient"},
    {"out", "10.1.1.1",      "",         "alice@acme.example",  "nobody@other.example",    "",                                 "default",              kDefaultOut},
    {"out", "10.1.1.1",      "",         "",                    "x@other.example",         "",                                 "default",              kDefaultOut},
    {"in",  "198.51.100.1",  "",         "x@partner.example",   "alice@acme.example",      "",                                 "partner inbound",      "require_signature=yes require_encryption=yes on_missing=reject required_policy=1.3.6.1.4.1.99999.1"},
    {"in",  "198.51.100.1",  "",         "x@partner.example",   "alice@acme.example",      "Subject: [encrypt] hi",            "partner inbound",      "require_signature=yes require_encryption=yes on_missing=reject required_policy=1.3.6.1.4.1.99999.1"},
    {"in",  "198.51.100.1",  "",         "x@sub.partner.example","alice@acme.example",     "",                                 "default",              kNothingIn},
    {"in",  "198.51.100.1",  "",         "s@supplier.example",  "alice@acme.example",      "",                                 "supplier inbound",     "require_signature=yes require_encryption=no on_missing=tag"},
    {"in",  "198.51.100.1",  "",         "c@cbc.example",       "alice@acme.example",      "",                                 "integrity inbound",    "require_signature=no require_encryption=no require_integrity=yes on_missing=reject"},
    {"in",  "198.51.100.1",  "",         "m@forger.example",    "ceo@acme.example",        "",                                 "inbound sign attempt", kNothingIn},
    {"in",  "198.51.100.1",  "",         "",                    "alice@acme.example",      "",                                 "default",              kNothingIn},
    {"out", "10.1.1.1",      "",         "m@forger.example",    "x@other.example",         "",                                 "inbound sign attempt", "sign=sender encrypt=mandatory encrypt_to=recipient"},
};
// clang-format on

std::vector<smime::mime::HeaderField> header_fields(std::string_view text)
{
    std::vector<smime::mime::HeaderField> out;
    while (!text.empty()) {
        const auto bar = text.find('|');
        const std::string_view field = text.substr(0, bar);
        const auto colon = field.find(':');
        std::string_view value = field.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);  // as libmilter gives it
        out.push_back({std::string(field.substr(0, colon)), std::string(value)});
        text = bar == std::string_view::npos ? std::string_view() : text.substr(bar + 1);
    }
    return out;
}

}  // namespace

class PolicyTableTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PolicyTableTest);
    CPPUNIT_TEST(table);
    CPPUNIT_TEST_SUITE_END();

public:
    void table()
    {
        test::TempDir dir;
        test::write_file(dir.path() / "board.txt", kBoard);
        const auto config = milter::parse_config(kConfig, (dir.path() / "ssm-milter.toml").string());
        const Policy& policy = config->policy;
        test::TableGroups groups;
        groups.add("cn=vip,ou=groups,dc=acme,dc=example", "vip@other.example");

        CPPUNIT_ASSERT(std::size(kCases) >= 40);
        for (const Case& c : kCases) {
            const auto fields = header_fields(c.headers);
            MessageContext m;
            m.direction = std::string_view(c.dir) == "in" ? Direction::Inbound : Direction::Outbound;
            m.from = test::address(c.from);
            m.client = test::ip(c.client);
            m.auth_user = c.auth;
            m.origin.authenticated = !m.auth_user.empty();
            if (m.client)
                for (const auto& n : config->milter.internal_networks)
                    if (n.contains(reinterpret_cast<const sockaddr*>(&*m.client))) m.origin.internal_network = true;
            if (*c.headers) m.headers = &fields;

            const std::string what = std::string(c.dir) + " client=" + c.client + " auth=" + c.auth +
                                     " from=" + c.from + " to=" + c.to + " headers=" + c.headers;
            const RecipientPlan plan = policy.plan(m, *test::address(c.to), &groups);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string(c.rule), plan.rule_name);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string(c.plan), describe(plan.treatment, m.direction));
            if (m.direction == Direction::Inbound) {
                CPPUNIT_ASSERT_MESSAGE(what, plan.treatment.sign == SignMode::None);
                CPPUNIT_ASSERT_MESSAGE(what, plan.treatment.encrypt == EncryptMode::Never);
            }
            if (!m.origin.outbound()) CPPUNIT_ASSERT_MESSAGE(what, plan.treatment.sign == SignMode::None);
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PolicyTableTest);
