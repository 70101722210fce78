// Unit tests for trust anchors bound to mail domains ([[pki.anchor]], pki/anchor_scope.h): the
// domain matching (rfc822Name subtree rules), the bindings' resolution by file name and
// fingerprint, "unscoped_anchors = none", and that scope takes part in path choice: a bridge
// path to an anchor that vouches for the address is found although the direct path to an
// anchor that does not comes first.
// Every certificate is made here by openssl; nothing is made by our code.
#include <cppunit/extensions/HelperMacros.h>

#include <ctime>

#include "pki/anchor_scope.h"
#include "pki/certificate.h"
#include "pki/trust_store.h"
#include "tests/unit/test_pki_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::pki;
namespace fs = std::filesystem;

namespace {

// Partner-Root issues for its own domain and (mis)issues for acme.example; the bridge, certified
// by Own-Root, cross-certifies Partner-Root.
const char* scope_script = R"SH(
subject_prefix=/O=Scope/CN=
for n in proot:Partner-Root oroot:Own-Root bridge:Bridge-CA; do req "${n%%:*}" "${n#*:}"; self "${n%%:*}" "$ca"; done
cross bridge-by-oroot bridge oroot "$caki"
cross proot-by-bridge proot bridge "$caki"
req pee pee; cross pee pee proot "$ee\nsubjectAltName=email:pee@partner.example"
req deep deep; cross deep deep proot "$ee\nsubjectAltName=email:someone@sub.partner.example"
req ceo ceo; cross ceo ceo proot "$ee\nsubjectAltName=email:ceo@acme.example"
)SH";

test::openssl_pki::ScriptedPki& made_pki()
{
    static test::openssl_pki::ScriptedPki pki("scope", scope_script);
    return pki;
}

const fs::path& dir() { return made_pki().dir(); }

Certificate cert(const std::string& name) { return made_pki().cert(name); }

std::vector<Certificate> certs(std::initializer_list<const char*> names)
{
    std::vector<Certificate> v;
    for (const char* n : names) v.push_back(cert(n));
    return v;
}

std::string fingerprint(const std::string& name) { return to_hex(facts(cert(name)).sha256_fingerprint); }

ValidationOptions for_address(const std::string& address)
{
    ValidationOptions o;
    o.address = address;
    return o;
}

const std::vector<std::string> kPartner{"partner.example", ".partner.example"};

}  // namespace

class PkiAnchorScopeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PkiAnchorScopeTest);
    CPPUNIT_TEST(domains_match_as_rfc822_subtrees);
    CPPUNIT_TEST(binding_domains_and_fingerprints_are_checked);
    CPPUNIT_TEST(anchor_vouches_only_for_its_domains);
    CPPUNIT_TEST(scope_takes_part_in_path_choice);
    CPPUNIT_TEST(unscoped_anchors_none);
    CPPUNIT_TEST(bindings_by_file_name);
    CPPUNIT_TEST(binding_naming_no_anchor_is_an_error);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { (void)dir(); }

    void domains_match_as_rfc822_subtrees()
    {
        const AnchorDomains partner = kPartner;
        CPPUNIT_ASSERT(!anchor_scope_problem(partner, "pee@partner.example"));
        CPPUNIT_ASSERT(!anchor_scope_problem(partner, "pee@PARTNER.Example"));
        CPPUNIT_ASSERT(!anchor_scope_problem(partner, "x@mail.sub.partner.example"));
        CPPUNIT_ASSERT(anchor_scope_problem(partner, "ceo@acme.example"));
        CPPUNIT_ASSERT(anchor_scope_problem(partner, "x@evilpartner.example"));
        CPPUNIT_ASSERT(anchor_scope_problem(partner, "x@partner.example.evil"));
        CPPUNIT_ASSERT(anchor_scope_problem(partner, "partner.example"));  // not a mailbox
        CPPUNIT_ASSERT(anchor_scope_problem(partner, ""));
        // An internationalised mailbox (its key form: UTF-8 local part, A-label domain) is bound
        // by its domain like any other (RFC 9598 §6); invalid UTF-8 is no mailbox.
        CPPUNIT_ASSERT(!anchor_scope_problem(partner, "s\u00f6ren@partner.example"));
        CPPUNIT_ASSERT(anchor_scope_problem(partner, "s\u00f6ren@acme.example"));
        CPPUNIT_ASSERT(anchor_scope_problem(partner, "s\xf6ren@partner.example"));
        const AnchorDomains idn = std::vector<std::string>{"xn--mller-kva.example"};
        CPPUNIT_ASSERT(!anchor_scope_problem(idn, "j\u00fcrgen@xn--mller-kva.example"));
        // ".x" is strictly below x; "x" is x only.
        const AnchorDomains below = std::vector<std::string>{".partner.example"};
        CPPUNIT_ASSERT(anchor_scope_problem(below, "pee@partner.example"));
        CPPUNIT_ASSERT(!anchor_scope_problem(below, "x@sub.partner.example"));
        const AnchorDomains exact = std::vector<std::string>{"partner.example"};
        CPPUNIT_ASSERT(anchor_scope_problem(exact, "x@sub.partner.example"));
        // Unbound: every address (and none); bound to nothing: no address.
        CPPUNIT_ASSERT(!anchor_scope_problem(AnchorDomains{}, "ceo@acme.example"));
        CPPUNIT_ASSERT(!anchor_scope_problem(AnchorDomains{}, ""));
        CPPUNIT_ASSERT(anchor_scope_problem(AnchorDomains{std::vector<std::string>{}}, "pee@partner.example"));
        const auto why = anchor_scope_problem(partner, "ceo@Acme.Example");
        CPPUNIT_ASSERT_EQUAL(std::string("anchor not trusted for domain acme.example (the anchor vouches for "
                                         "partner.example, .partner.example)"),
                             *why);
    }

    void binding_domains_and_fingerprints_are_checked()
    {
        const auto valid_scope_domain = [](std::string_view text) {
            std::string why;
            return scope_domain(text, why).has_value();
        };
        CPPUNIT_ASSERT(valid_scope_domain("partner.example"));
        CPPUNIT_ASSERT(valid_scope_domain(".partner.example"));
        CPPUNIT_ASSERT(valid_scope_domain("Partner.Example"));
        CPPUNIT_ASSERT(!valid_scope_domain(""));
        CPPUNIT_ASSERT(!valid_scope_domain("."));
        CPPUNIT_ASSERT(!valid_scope_domain("ceo@acme.example"));
        CPPUNIT_ASSERT(!valid_scope_domain("bad..example"));
        CPPUNIT_ASSERT(!valid_scope_domain("*.partner.example"));
        CPPUNIT_ASSERT(!valid_scope_domain("192.0.2.1"));
        const std::string hex = fingerprint("proot");
        CPPUNIT_ASSERT(parse_sha256_fingerprint(hex) == facts(cert("proot")).sha256_fingerprint);
        std::string colons;
        for (std::size_t i = 0; i < hex.size(); i += 2) colons += (i ? ":" : "") + hex.substr(i, 2);
        for (auto& c : colons) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        CPPUNIT_ASSERT(parse_sha256_fingerprint(colons) == facts(cert("proot")).sha256_fingerprint);
        CPPUNIT_ASSERT(!parse_sha256_fingerprint(hex.substr(2)));
        CPPUNIT_ASSERT(!parse_sha256_fingerprint("partner-root.pem"));
    }

    void anchor_vouches_only_for_its_domains()
    {
        const std::time_t now = std::time(nullptr);
        AnchorScopes scopes;
        scopes.anchors.push_back({fingerprint("proot"), kPartner});
        const TrustStore store(certs({"proot"}), {}, Revocation::Off, {}, nullptr, scopes);
        const auto pee = store.validate(cert("pee"), {}, now, Purpose::EmailProtection, for_address("pee@partner.example"));
        CPPUNIT_ASSERT_MESSAGE(pee.describe(), pee.valid());
        const auto deep =
            store.validate(cert("deep"), {}, now, Purpose::EmailProtection, for_address("someone@sub.partner.example"));
        CPPUNIT_ASSERT_MESSAGE(deep.describe(), deep.valid());
        const auto ceo = store.validate(cert("ceo"), {}, now, Purpose::EmailProtection, for_address("ceo@acme.example"));
        CPPUNIT_ASSERT(!ceo.valid());
        CPPUNIT_ASSERT(ceo.has(Problem::AnchorScope));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, ceo.problems.size());
        CPPUNIT_ASSERT_MESSAGE(ceo.describe(),
                               ceo.describe().find("anchor not trusted for domain acme.example") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(ceo.describe(), ceo.describe().find("Partner-Root") != std::string::npos);
        // Bindings are about addresses: the chain itself is sound.
        const auto no_address = store.validate(cert("ceo"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(no_address.describe(), no_address.valid());
        // An unbound store vouches for every domain (today's behaviour).
        const TrustStore unbound(certs({"proot"}), {}, Revocation::Off);
        const auto any = unbound.validate(cert("ceo"), {}, now, Purpose::EmailProtection, for_address("ceo@acme.example"));
        CPPUNIT_ASSERT_MESSAGE(any.describe(), any.valid());
    }

    void scope_takes_part_in_path_choice()
    {
        const std::time_t now = std::time(nullptr);
        // Partner-Root, an anchor itself, is bound elsewhere; Own-Root vouches for partner.example
        // through the bridge. The direct path (pee -> Partner-Root) is tried first and fails for
        // the address; the bridge path must still be found.
        AnchorScopes scopes;
        scopes.anchors.push_back({fingerprint("proot"), {"other.example"}});
        scopes.anchors.push_back({fingerprint("oroot"), kPartner});
        const TrustStore store(certs({"proot", "oroot"}), certs({"proot-by-bridge", "bridge-by-oroot"}), Revocation::Off,
                               {}, nullptr, scopes);
        const auto r = store.validate(cert("pee"), {}, now, Purpose::EmailProtection, for_address("pee@partner.example"));
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.valid());
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, r.path_length);
        CPPUNIT_ASSERT(r.path.back() == cert("oroot").der());
        // Without the bridge only the out-of-scope path is left.
        const TrustStore direct(certs({"proot", "oroot"}), {}, Revocation::Off, {}, nullptr, scopes);
        const auto d = direct.validate(cert("pee"), {}, now, Purpose::EmailProtection, for_address("pee@partner.example"));
        CPPUNIT_ASSERT_MESSAGE(d.describe(), d.has(Problem::AnchorScope));
        CPPUNIT_ASSERT(d.path.back() == cert("proot").der());
        // The bridge path does not help an address neither anchor vouches for.
        const auto ceo = store.validate(cert("ceo"), {}, now, Purpose::EmailProtection, for_address("ceo@acme.example"));
        CPPUNIT_ASSERT_MESSAGE(ceo.describe(), ceo.has(Problem::AnchorScope));
    }

    void unscoped_anchors_none()
    {
        const std::time_t now = std::time(nullptr);
        AnchorScopes scopes;
        scopes.unscoped = UnscopedAnchors::None;
        scopes.anchors.push_back({fingerprint("oroot"), {"acme.example"}});
        const TrustStore store(certs({"proot", "oroot"}), {}, Revocation::Off, {}, nullptr, scopes);
        const auto r = store.validate(cert("pee"), {}, now, Purpose::EmailProtection, for_address("pee@partner.example"));
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.has(Problem::AnchorScope));
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.describe().find("vouches for no domain") != std::string::npos);
        const auto no_address = store.validate(cert("pee"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(no_address.describe(), no_address.valid());
    }

    void bindings_by_file_name()
    {
        const std::time_t now = std::time(nullptr);
        test::TempDir trust;
        fs::copy_file(dir() / "proot.pem", trust.path() / "partner-root.pem");
        fs::copy_file(dir() / "oroot.pem", trust.path() / "own-root.pem");
        TrustStoreConfig config;
        config.trust_anchors = trust.path();
        config.revocation = Revocation::Off;
        config.online.ocsp = false;
        config.online.crl_distribution_points = false;
        config.scopes.anchors.push_back({"partner-root.pem", kPartner});
        const TrustStore store(config);
        const auto pee = store.validate(cert("pee"), {}, now, Purpose::EmailProtection, for_address("pee@partner.example"));
        CPPUNIT_ASSERT_MESSAGE(pee.describe(), pee.valid());
        const auto ceo = store.validate(cert("ceo"), {}, now, Purpose::EmailProtection, for_address("ceo@acme.example"));
        CPPUNIT_ASSERT_MESSAGE(ceo.describe(), ceo.has(Problem::AnchorScope));
        // The same certificate under a second file name is the same anchor: still bound.
        fs::copy_file(dir() / "proot.pem", trust.path() / "partner-root-copy.pem");
        const TrustStore twice(config);
        const auto again = twice.validate(cert("ceo"), {}, now, Purpose::EmailProtection, for_address("ceo@acme.example"));
        CPPUNIT_ASSERT_MESSAGE(again.describe(), again.has(Problem::AnchorScope));
        // Two bindings of one anchor add up.
        config.scopes.anchors.push_back({fingerprint("proot"), {"acme.example"}});
        const TrustStore both(config);
        const auto ceo2 = both.validate(cert("ceo"), {}, now, Purpose::EmailProtection, for_address("ceo@acme.example"));
        CPPUNIT_ASSERT_MESSAGE(ceo2.describe(), ceo2.valid());
    }

    void binding_naming_no_anchor_is_an_error()
    {
        AnchorScopes scopes;
        scopes.anchors.push_back({fingerprint("proot"), kPartner});
        scopes.anchors.push_back({fingerprint("oroot"), kPartner});  // not loaded below
        try {
            const TrustStore store(certs({"proot"}), {}, Revocation::Off, {}, nullptr, scopes);
            CPPUNIT_FAIL("a binding of an anchor not loaded was accepted");
        } catch (const AnchorScopeError& e) {
            CPPUNIT_ASSERT_EQUAL(std::size_t{1}, e.index());
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("is no loaded trust anchor") != std::string::npos);
        }
        test::TempDir trust;
        fs::copy_file(dir() / "proot.pem", trust.path() / "partner-root.pem");
        TrustStoreConfig config;
        config.trust_anchors = trust.path();
        config.online.ocsp = false;
        config.online.crl_distribution_points = false;
        config.scopes.anchors.push_back({"partner-root.pm", kPartner});  // a typo
        CPPUNIT_ASSERT_THROW(TrustStore{config}, AnchorScopeError);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PkiAnchorScopeTest);
