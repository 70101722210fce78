// Unit tests for security labels in configuration and policy (PRODUCT §4.1): the [labels],
// [[security_label]], [[clearance]] and [[label_equivalence]] keys (errors as
// file:line:column), clearance decisions, mapping through configured equivalences and through
// an equivalentLabels attribute, unknown policies, and the outbound choice of a label from the
// SIO-Label field or the rule. Labels compared with DER from OpenSSL's genconf where it counts.
#include <cppunit/extensions/HelperMacros.h>

#include "base/error.h"
#include "milter/config.h"
#include "milter/security_labels.h"
#include "smime/cms/oids.h"
#include "smime/mime/sio_label.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;
using smime::cms::SecurityLabel;

namespace {

constexpr const char* kOurs = "1.3.6.1.4.1.99999.1";
constexpr const char* kPartner = "1.3.6.1.4.1.88888.1";

const std::string kConfig = R"toml([hsm]
token_label = "t"

[[security_label]]
name = "restricted"
policy = "1.3.6.1.4.1.99999.1"
classification = 2
privacy_mark = "ACME RESTRICTED"

[[security_label]]
name = "secret"
policy = "1.3.6.1.4.1.99999.1"
classification = 4
marking = "ACME SECRET"
categories = ["1.2.3.4.5:0c0c6e6565642d746f2d6b6e6f77"]

[[clearance]]
recipients = ["intern@acme.example"]
policy = "1.3.6.1.4.1.99999.1"
classifications = [0, 1]

[[clearance]]
recipients = ["boss@acme.example"]
policy = "1.3.6.1.4.1.99999.1"
classifications = [0, 1, 2, 3, 4]
categories = ["1.2.3.4.5:0c0c6e6565642d746f2d6b6e6f77"]

[[clearance]]
recipients = ["*@acme.example"]
policy = "1.3.6.1.4.1.99999.1"
classifications = [0, 1, 2]

[[label_equivalence]]
policy = "1.3.6.1.4.1.88888.1"
classification = 3
label = "restricted"
domains = ["partner.example"]

[[label_equivalence]]
policy = "1.3.6.1.4.1.77777.1"
label = "restricted"

[[rule]]
name = "partner"
direction = "outbound"
to = ["*@partner.example"]
sign = "domain"
security_label = "restricted"
)toml";

SecurityLabel label(const std::string& policy, std::optional<int> cls)
{
    SecurityLabel l;
    l.policy_id = policy;
    l.classification = cls;
    return l;
}

EmailAddress addr(const char* a) { return *EmailAddress::parse(a); }
std::optional<Domain> dom(const char* d) { return Domain::parse(d); }

// The error of loading `body` after a [hsm] table (line 3 is the first line of `body`).
std::string error_of(const std::string& body)
{
    try {
        parse_config("[hsm]\ntoken_label = \"t\"\n" + body, "l.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(loaded)";
}

}  // namespace

class LabelsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LabelsTest);
    CPPUNIT_TEST(config_keys);
    CPPUNIT_TEST(config_errors);
    CPPUNIT_TEST(clearance_decisions);
    CPPUNIT_TEST(mapping);
    CPPUNIT_TEST(judge_labels_replies);
    CPPUNIT_TEST(unverified_labels_only_restrict);
    CPPUNIT_TEST(outbound_choice);
    CPPUNIT_TEST(sio_fields_replaced);
    CPPUNIT_TEST_SUITE_END();

public:
    void config_keys()
    {
        auto c = parse_config(kConfig, "l.toml");
        const auto& L = c->labels;
        CPPUNIT_ASSERT(L.unknown_policy() == policy::UnknownLabelPolicy::Reject);  // default
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), L.labels().size());
        const auto* r = L.by_name("restricted");
        CPPUNIT_ASSERT(r);
        CPPUNIT_ASSERT_EQUAL(std::string("ACME RESTRICTED"), r->marking);  // from the privacy mark
        CPPUNIT_ASSERT(r->label.privacy_mark->kind == smime::cms::PrivacyMark::Kind::Printable);
        // The DER OpenSSL's genconf makes for SET{ OID, INT 2, PrintableString } (see
        // tests/integration/test_security_labels.sh).
        const Bytes want = {0x31, 0x1f, 0x02, 0x01, 0x02, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d,
                            0x1f, 0x01, 0x13, 0x0f, 'A', 'C', 'M', 'E', ' ', 'R', 'E', 'S', 'T', 'R', 'I', 'C',
                            'T', 'E', 'D'};
        CPPUNIT_ASSERT(smime::cms::encode_security_label(r->label) == want);
        CPPUNIT_ASSERT_EQUAL(std::string("ACME SECRET"), L.by_name("secret")->marking);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), L.by_name("secret")->label.categories.size());
        CPPUNIT_ASSERT(L.by_marking("ACME SECRET") == L.by_name("secret"));
        CPPUNIT_ASSERT(!L.by_marking("acme secret"));  // markings compare exactly
        CPPUNIT_ASSERT(L.knows_policy(kOurs));
        CPPUNIT_ASSERT(!L.knows_policy(kPartner));
        CPPUNIT_ASSERT_EQUAL(std::string("restricted"), c->policy.rules().at(0).security_label);

        auto a = parse_config("[hsm]\ntoken_label = \"t\"\n[labels]\nunknown_policy = \"accept\"\n", "a.toml");
        CPPUNIT_ASSERT(a->labels.unknown_policy() == policy::UnknownLabelPolicy::Accept);
        // A non-PrintableString privacy mark becomes a UTF8String.
        auto u = parse_config("[hsm]\ntoken_label = \"t\"\n[[security_label]]\nname = \"g\"\npolicy = \"1.2.3\"\n"
                              "privacy_mark = \"Geheim – nur für den Dienstgebrauch\"\n", "u.toml");
        CPPUNIT_ASSERT(u->labels.by_name("g")->label.privacy_mark->kind == smime::cms::PrivacyMark::Kind::Utf8);
    }

    void config_errors()
    {
        const std::vector<std::pair<std::string, std::string>> table = {
            {"[labels]\nunknown_policy = \"drop\"\n", "l.toml:4:18: unknown_policy must be \"reject\" or \"accept\""},
            {"[labels]\nunknown = 1\n", "l.toml:4:1: unknown key 'unknown' in [labels]"},
            {"[[security_label]]\nname = \"x\"\npolicy = \"1.2.x\"\n", "l.toml:5:10: '1.2.x' is not a dotted OID"},
            {"[[security_label]]\npolicy = \"1.2.3\"\n", "l.toml:3:1: [[security_label]] needs the key 'name'"},
            {"[[security_label]]\nname = \"x\"\npolicy = \"1.2.3\"\nclassification = 257\n",
             "l.toml:6:18: classification must be 0..256"},
            {"[[security_label]]\nname = \"x\"\npolicy = \"1.2.3\"\ncategories = [\"1.2.3:0\"]\n",
             "l.toml:6:14: '1.2.3:0' is not \"TYPE-OID:HEX\""},
            {"[[security_label]]\nname = \"x\"\npolicy = \"1.2.3\"\ncategories = [\"1.2.3:0c\"]\n",
             "l.toml:3:1: security label 'x' cannot be encoded"},
            {"[[security_label]]\nname = \"x\"\npolicy = \"1.2.3\"\n[[security_label]]\nname = \"x\"\npolicy = \"1.2.4\"\n",
             "l.toml:7:8: a second security label named 'x'"},
            {"[[security_label]]\nname = \"x\"\npolicy = \"1.2.3\"\nmarking = \"M\"\n[[security_label]]\nname = \"y\"\n"
             "policy = \"1.2.4\"\nmarking = \"M\"\n",
             "l.toml:10:11: security label 'y' has the marking 'M' of another label"},
            {"[[clearance]]\nrecipients = [\"not an address\"]\npolicy = \"1.2.3\"\nclassifications = [1]\n",
             "l.toml:4:14: 'not an address' is not an address pattern"},
            {"[[clearance]]\nrecipients = [\"*\"]\npolicy = \"1.2.3\"\nclassifications = [1, 300]\n",
             "l.toml:6:23: classifications must be 0..256"},
            {"[[clearance]]\nrecipients = [\"*\"]\npolicy = \"1.2.3\"\nclassifications = [\"1\"]\n",
             "l.toml:6:19: 'classifications' must be a array of integers"},
            {"[[clearance]]\nrecipients = [\"*\"]\npolicy = \"1.2.3\"\n",
             "l.toml:3:1: [[clearance]] needs the key 'classifications'"},
            {"[[label_equivalence]]\npolicy = \"1.2.3\"\nlabel = \"nope\"\n",
             "l.toml:5:9: no [[security_label]] named 'nope'"},
            {"[[security_label]]\nname = \"x\"\npolicy = \"1.2.3\"\n[[label_equivalence]]\npolicy = \"1.2.9\"\nlabel = \"x\"\n"
             "domains = [\"not a domain\"]\n",
             "l.toml:9:11: 'not a domain' is not a domain name"},
            {"[[rule]]\nname = \"r\"\nsign = \"domain\"\nsecurity_label = \"nope\"\n",
             "l.toml:6:18: no [[security_label]] named 'nope'"},
            {"[[security_label]]\nname = \"x\"\npolicy = \"1.2.3\"\n[[rule]]\nname = \"r\"\nsign = \"none\"\n"
             "security_label = \"x\"\n",
             "l.toml:9:18: security_label needs sign = \"sender\" or \"domain\""},
            {"[policy]\nsecurity_label = \"nope\"\n", "l.toml:4:18: no [[security_label]] named 'nope'"},
        };
        for (const auto& [body, want] : table) {
            const std::string got = error_of(body);
            CPPUNIT_ASSERT_MESSAGE("for:\n" + body + "got: " + got + "\nwant: " + want, got.rfind(want, 0) == 0);
        }
    }

    void clearance_decisions()
    {
        auto c = parse_config(kConfig, "l.toml");
        const auto& L = c->labels;
        const SecurityLabel restricted = L.by_name("restricted")->label;
        const SecurityLabel secret = L.by_name("secret")->label;
        CPPUNIT_ASSERT(!L.clearance_problem(addr("alice@acme.example"), restricted));
        CPPUNIT_ASSERT(!L.clearance_problem(addr("boss@acme.example"), secret));
        // First matching entry decides: the intern is not cleared by the *@acme.example entry below.
        auto p = L.clearance_problem(addr("intern@acme.example"), restricted);
        CPPUNIT_ASSERT(p && p->find("classification 2") != std::string::npos);
        // Classification too high.
        p = L.clearance_problem(addr("alice@acme.example"), label(kOurs, 4));
        CPPUNIT_ASSERT(p && p->find("classification 4") != std::string::npos);
        // A category the clearance does not list.
        SecurityLabel cat = restricted;
        cat.categories.push_back({"1.2.3.4.6", {0x02, 0x01, 0x07}});
        p = L.clearance_problem(addr("boss@acme.example"), cat);
        CPPUNIT_ASSERT(p && p->find("security category 1.2.3.4.6") != std::string::npos);
        p = L.clearance_problem(addr("alice@acme.example"), secret);
        CPPUNIT_ASSERT(p);
        // Wrong policy: no clearance names the recipient for it.
        p = L.clearance_problem(addr("boss@acme.example"), label("1.2.3.4", 1));
        CPPUNIT_ASSERT(p && p->find("no [[clearance]] for policy 1.2.3.4") != std::string::npos);
        // Nobody outside the patterns.
        CPPUNIT_ASSERT(L.clearance_problem(addr("x@partner.example"), restricted));
        // No classification counts as unmarked (0).
        CPPUNIT_ASSERT(!L.clearance_problem(addr("intern@acme.example"), label(kOurs, std::nullopt)));
    }

    void mapping()
    {
        auto c = parse_config(kConfig, "l.toml");
        const auto& L = c->labels;
        const SecurityLabel restricted = L.by_name("restricted")->label;
        // Our own policy: as received.
        auto m = L.map(label(kOurs, 1), {}, dom("x.example"));
        CPPUNIT_ASSERT(m.known && m.label == label(kOurs, 1) && m.via == "own-policy");
        // Configured equivalence, limited to the partner's domain and classification.
        m = L.map(label(kPartner, 3), {}, dom("partner.example"));
        CPPUNIT_ASSERT(m.known && m.label == restricted);
        CPPUNIT_ASSERT(!L.map(label(kPartner, 3), {}, dom("other.example")).known);
        CPPUNIT_ASSERT(!L.map(label(kPartner, 4), {}, dom("partner.example")).known);
        CPPUNIT_ASSERT(!L.map(label(kPartner, 3), {}, std::nullopt).known);
        // A partner label with categories is never mapped by configuration.
        SecurityLabel with_cat = label(kPartner, 3);
        with_cat.categories.push_back({"1.2.3.4.5", {0x02, 0x01, 0x01}});
        CPPUNIT_ASSERT(!L.map(with_cat, {}, dom("partner.example")).known);
        // Without domains: from anyone; without classification: only labels without one.
        CPPUNIT_ASSERT(L.map(label("1.3.6.1.4.1.77777.1", std::nullopt), {}, dom("z.example")).known);
        CPPUNIT_ASSERT(!L.map(label("1.3.6.1.4.1.77777.1", 1), {}, dom("z.example")).known);
        // equivalentLabels: the first one our policy knows, or one configuration maps.
        m = L.map(label("1.2.3.9", 1), {label("1.2.3.8", 1), label(kOurs, 2)}, dom("x.example"));
        CPPUNIT_ASSERT(m.known && m.label == label(kOurs, 2) && m.via == "equivalentLabels");
        m = L.map(label("1.2.3.9", 1), {label(kPartner, 3)}, dom("partner.example"));
        CPPUNIT_ASSERT(m.known && m.label == restricted);
        // Unknown.
        m = L.map(label("1.2.3.9", 1), {label("1.2.3.8", 1)}, dom("partner.example"));
        CPPUNIT_ASSERT(!m.known && m.label == label("1.2.3.9", 1));
        // Outbound: the partner form for mail to its domain only.
        const auto eq = L.equivalents_for(*L.by_name("restricted"), {*Domain::parse("partner.example")});
        CPPUNIT_ASSERT(eq == std::vector<SecurityLabel>{label(kPartner, 3)});
        CPPUNIT_ASSERT(L.equivalents_for(*L.by_name("restricted"), {*Domain::parse("acme.example")}).empty());
        CPPUNIT_ASSERT_EQUAL(std::string("ACME RESTRICTED"), L.marking_for(label(kOurs, 2)));
    }

    void judge_labels_replies()
    {
        auto c = parse_config(kConfig, "l.toml");
        const auto& L = c->labels;
        auto signed_label = [](SecurityLabel l, std::optional<std::vector<SecurityLabel>> eq = std::nullopt) {
            SignedLabel s;
            s.signer = "dave@partner.example";
            s.attributes.security_label = std::move(l);
            s.attributes.equivalent_labels = std::move(eq);
            return s;
        };
        const std::vector<EmailAddress> two = {addr("alice@acme.example"), addr("intern@acme.example")};
        auto v = judge_labels(L, {signed_label(label(kOurs, 2))}, two, dom("partner.example"));
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Reject && v.reply.xcode == "5.7.1");
        CPPUNIT_ASSERT(v.reply.text.find("intern@acme.example") != std::string::npos);
        v = judge_labels(L, {signed_label(label(kPartner, 3))}, {addr("alice@acme.example")}, dom("partner.example"));
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), v.sio_labels.size());
        const auto sio = smime::mime::parse_sio_label(v.sio_labels[0]);
        CPPUNIT_ASSERT(sio.ess && *sio.ess == L.by_name("restricted")->label);
        CPPUNIT_ASSERT_EQUAL(std::string("ACME RESTRICTED"), *sio.marking);
        // Triple wrap: every label must clear (the inner one here does not).
        v = judge_labels(L, {signed_label(label(kOurs, 1)), signed_label(label(kOurs, 4))}, {addr("alice@acme.example")},
                         dom("partner.example"));
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Reject);
        // Unknown policy: reject, or accept without a clearance check.
        v = judge_labels(L, {signed_label(label("1.2.3.9", 1))}, {addr("alice@acme.example")}, dom("partner.example"));
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Reject && v.reply.text.find("1.2.3.9") != std::string::npos);
        auto a = parse_config(kConfig + "\n[labels]\nunknown_policy = \"accept\"\n", "a.toml");
        v = judge_labels(a->labels, {signed_label(label("1.2.3.9", 1))}, {addr("x@y.example")}, dom("partner.example"));
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Continue && v.sio_labels.size() == 1);
        // Through the signer's equivalentLabels.
        v = judge_labels(L, {signed_label(label("1.2.3.9", 1), std::vector<SecurityLabel>{label(kOurs, 2)})},
                         {addr("alice@acme.example")}, dom("partner.example"));
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Continue);
        // Unreadable attributes and equivalentLabels alone are refused.
        SignedLabel bad;
        bad.signer = "dave@partner.example";
        bad.error = "more than one securityLabel attribute";
        CPPUNIT_ASSERT(judge_labels(L, {bad}, {addr("alice@acme.example")}, std::nullopt).reply.verdict == Verdict::Reject);
        SignedLabel eq_only;
        eq_only.attributes.equivalent_labels = std::vector<SecurityLabel>{label(kOurs, 1)};
        CPPUNIT_ASSERT(judge_labels(L, {eq_only}, {addr("alice@acme.example")}, std::nullopt).reply.verdict == Verdict::Reject);
        // No label: nothing to check.
        v = judge_labels(L, {}, {addr("nobody@x.example")}, std::nullopt);
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Continue && v.sio_labels.empty());
    }

    // A label whose signature did not pass (inside an encryption the gateway removed) still
    // refuses uncleared recipients, but its equivalentLabels map nothing and it is not shown.
    void unverified_labels_only_restrict()
    {
        auto c = parse_config(kConfig, "l.toml");
        const auto& L = c->labels;
        auto unverified = [](SecurityLabel l, std::optional<std::vector<SecurityLabel>> eq = std::nullopt) {
            SignedLabel s;
            s.signer = "dave@partner.example";
            s.attributes.security_label = std::move(l);
            s.attributes.equivalent_labels = std::move(eq);
            s.verified = false;
            return s;
        };
        auto v = judge_labels(L, {unverified(label(kOurs, 2))}, {addr("intern@acme.example")}, dom("evil.example"));
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Reject && v.reply.xcode == "5.7.1");
        CPPUNIT_ASSERT(v.reply.text.find("intern@acme.example is not cleared") != std::string::npos);
        v = judge_labels(L, {unverified(label(kOurs, 2))}, {addr("alice@acme.example")}, dom("evil.example"));
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Continue);
        CPPUNIT_ASSERT(v.sio_labels.empty());
        CPPUNIT_ASSERT(v.detail.find("label_signature=unverified") != std::string::npos);
        // A verified signature's equivalentLabels map an unknown policy onto ours; an
        // unverified one's do not (RFC 2634 §5.4): the label stays unknown and is refused.
        const std::vector<SecurityLabel> eq = {label(kOurs, 1)};
        SignedLabel trusted = unverified(label("1.2.3.9", 1), eq);
        trusted.verified = true;
        CPPUNIT_ASSERT(judge_labels(L, {trusted}, {addr("intern@acme.example")}, std::nullopt).reply.verdict ==
                       Verdict::Continue);
        v = judge_labels(L, {unverified(label("1.2.3.9", 1), eq)}, {addr("intern@acme.example")}, std::nullopt);
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Reject && v.reply.text.find("1.2.3.9 is not known") != std::string::npos);
        // Beside a verified label: both must clear, only the verified one is shown.
        v = judge_labels(L, {unverified(label(kOurs, 2)), trusted}, {addr("alice@acme.example")}, std::nullopt);
        CPPUNIT_ASSERT(v.reply.verdict == Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), v.sio_labels.size());
    }

    void outbound_choice()
    {
        auto c = parse_config(kConfig, "l.toml");
        const auto& L = c->labels;
        using Fields = std::vector<smime::mime::HeaderField>;
        const std::vector<Domain> partner = {*Domain::parse("partner.example")};
        CPPUNIT_ASSERT(!outbound_label(L, Fields{{"Subject", "x"}}, "", partner));
        auto o = outbound_label(L, Fields{}, "restricted", partner);
        CPPUNIT_ASSERT(o && o->source == "rule" && o->name == "restricted" && o->equivalents.size() == 1);
        const auto attrs = o->attributes();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), attrs.size());
        CPPUNIT_ASSERT_EQUAL(std::string(smime::cms::oid::kSecurityLabel), attrs[0].first);
        CPPUNIT_ASSERT_EQUAL(std::string(smime::cms::oid::kEquivalentLabels), attrs[1].first);
        // The header wins over the rule; a marking selects the named label.
        o = outbound_label(L, Fields{{"sio-label", "marking=\"ACME SECRET\""}}, "restricted", partner);
        CPPUNIT_ASSERT(o && o->source == "header" && o->name == "secret" && o->equivalents.empty());
        const std::string ess = smime::mime::format_sio_label(smime::mime::sio_label_for(label("1.2.3.4", 5)));
        o = outbound_label(L, Fields{{"SIO-Label", ess}}, "restricted", partner);
        CPPUNIT_ASSERT(o && o->label == label("1.2.3.4", 5) && o->name.empty());
        auto refused = [&](const Fields& f, const std::string& why) {
            try {
                outbound_label(L, f, "", partner);
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::PolicyViolation);
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(why) != std::string::npos);
                return;
            }
            CPPUNIT_FAIL("not refused: " + why);
        };
        refused(Fields{{"SIO-Label", "marking=\"TOP\""}}, "unknown SIO-Label marking");
        refused(Fields{{"SIO-Label", "type=\":ess\"; label=\"AAAA\""}}, "malformed");
        refused(Fields{{"SIO-Label", "marking=\"ACME SECRET\""}, {"SIO-Label", "marking=\"ACME SECRET\""}}, "more than one");
        refused(Fields{{"SIO-Label", "type=\":xml\"; label=\"PGEvPg==\""}}, "only :ess");
    }

    void sio_fields_replaced()
    {
        smime::HeaderEdit edit;
        edit.add.push_back({"SIO-Label", "marking=\"restored from inside\""});
        edit.add.push_back({"X-Other", "kept"});
        const std::vector<smime::mime::HeaderField> received = {
            {"From", "a@b.example"}, {"SIO-Label", "marking=\"one\""}, {"sio-label", "marking=\"two\""}};
        replace_sio_labels(edit, received, {"type=\":ess\"; label=\"x\""});
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), edit.remove.size());
        CPPUNIT_ASSERT_EQUAL(1, edit.remove[0].index);
        CPPUNIT_ASSERT_EQUAL(2, edit.remove[1].index);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), edit.add.size());
        CPPUNIT_ASSERT_EQUAL(std::string("X-Other"), edit.add[0].name);
        CPPUNIT_ASSERT_EQUAL(std::string("type=\":ess\"; label=\"x\""), edit.add[1].value);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LabelsTest);
