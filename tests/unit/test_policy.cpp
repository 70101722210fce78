// Unit tests for policy/: address patterns and list files, action parsing and the cipher
// floor, rule layering (user > domain > global, first match within a layer), explicit
// defaults, the guarantee that nothing is signed without an outbound origin, the inbound
// requirements measured against a message, and the one cipher of a shared envelope.
#include <cppunit/extensions/HelperMacros.h>

#include "policy/cipher_choice.h"
#include "policy/inbound_requirements.h"
#include "policy/policy.h"
#include "tests/unit/test_policy_support.h"

using namespace ssm;
using namespace ssm::policy;
using ssm::test::address;
using ssm::test::patterns;

namespace {

AddressPattern pat(const char* s)
{
    return ssm::test::pattern(s);
}

Rule rule(const char* name, std::optional<Direction> dir, std::initializer_list<const char*> to,
          SignMode sign, EncryptMode enc, Scope scope = Scope::Global)
{
    Rule r;
    r.name = name;
    r.scope = scope;
    r.when.direction = dir;
    if (to.size()) r.when.to.push_back(patterns(to));
    r.sign = sign;
    r.encrypt = enc;
    return r;
}

MessageContext outbound(const char* from)
{
    MessageContext m;
    m.direction = Direction::Outbound;
    m.origin.authenticated = true;
    m.auth_user = "someone";
    m.from = address(from);
    return m;
}

Policy sample_policy()
{
    std::vector<Rule> rules;
    rules.push_back(rule("partner", Direction::Outbound, {"*@partner.example"}, SignMode::Domain,
                         EncryptMode::Mandatory));
    Rule ceo = rule("ceo", Direction::Outbound, {}, SignMode::Sender, EncryptMode::Never);
    ceo.when.from.push_back(patterns({"ceo@acme.example"}, "from"));
    rules.push_back(ceo);
    rules.push_back(rule("subsidiaries", Direction::Outbound, {"*@*.acme.example"}, SignMode::None,
                         EncryptMode::Never));
    rules.push_back(rule("inbound-any", Direction::Inbound, {}, SignMode::Sender, EncryptMode::Never));
    rules.push_back(rule("rest", Direction::Outbound, {}, SignMode::Sender, EncryptMode::Opportunistic));
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
    CPPUNIT_TEST(list_files);
    CPPUNIT_TEST(action_names);
    CPPUNIT_TEST(cipher_floor);
    CPPUNIT_TEST(cipher_by_capabilities);
    CPPUNIT_TEST(shared_cipher_preference);
    CPPUNIT_TEST(shared_cipher_preference_readable);
    CPPUNIT_TEST(inbound_requirements_checked);
    CPPUNIT_TEST(signer_validation_widened);
    CPPUNIT_TEST(key_owner_modes);
    CPPUNIT_TEST(first_match_wins);
    CPPUNIT_TEST(scopes_layer_rules);
    CPPUNIT_TEST(explicit_defaults);
    CPPUNIT_TEST(inbound_never_signs);
    CPPUNIT_TEST(outbound_needs_origin_to_sign);
    CPPUNIT_TEST(strip_tag_only_when_asked);
    CPPUNIT_TEST(domain_identity);
    CPPUNIT_TEST(describe_plans);
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
                                         pat(c.pattern).matches(address(c.address)));
    }

    void bad_patterns()
    {
        for (const char* s : {"", "*@", "alice", "*@*.", "a b@c.example", "<a@b.example>", "a*@b.example"})
            CPPUNIT_ASSERT_MESSAGE(s, !AddressPattern::parse(s, AddressExtensions()).has_value());
    }

    void list_files()
    {
        const AddressList l = parse_address_list(
            "# VIPs\n\nceo@acme.example   # the boss\n  *@board.acme.example\r\n*@*.lab.example\n", "vips.txt",
            AddressExtensions());
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), l.patterns.size());
        CPPUNIT_ASSERT_EQUAL(std::string("vips.txt"), l.source);
        CPPUNIT_ASSERT(l.matches(address("CEO@acme.example")));
        CPPUNIT_ASSERT(l.matches(address("x@board.acme.example")));
        CPPUNIT_ASSERT(l.matches(address("x@a.lab.example")));
        CPPUNIT_ASSERT(!l.matches(address("x@acme.example")));
        CPPUNIT_ASSERT(!l.matches(std::nullopt));
        CPPUNIT_ASSERT(parse_address_list("# only comments\n\n", "e.txt", AddressExtensions()).patterns.empty());
        try {
            parse_address_list("ok@acme.example\n\n   not-an-address # x\n", "vips.txt", AddressExtensions());
            CPPUNIT_FAIL("bad line accepted");
        } catch (const std::invalid_argument& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("vips.txt:3:4: 'not-an-address' is not an address pattern"),
                                 std::string(e.what()).substr(0, 56));
        }
    }

    void action_names()
    {
        CPPUNIT_ASSERT(parse_sign_mode("domain") == SignMode::Domain);
        CPPUNIT_ASSERT(!parse_sign_mode("always"));
        CPPUNIT_ASSERT(parse_encrypt_mode("opportunistic") == EncryptMode::Opportunistic);
        CPPUNIT_ASSERT(!parse_encrypt_mode("maybe"));
        CPPUNIT_ASSERT(parse_encrypt_target("domain") == EncryptTarget::Domain);
        CPPUNIT_ASSERT(!parse_encrypt_target("x@y.example"));  // the loader handles addresses
        CPPUNIT_ASSERT(parse_on_missing("tag") == OnMissing::Tag);
        CPPUNIT_ASSERT(parse_direction("in") == Direction::Inbound);
        CPPUNIT_ASSERT(parse_cipher("aes-256-gcm") == Cipher::Aes256Gcm);
        CPPUNIT_ASSERT(parse_cipher("aes128-cbc") == Cipher::Aes128Cbc);
        CPPUNIT_ASSERT(!parse_cipher("des3"));
        CPPUNIT_ASSERT(parse_cipher("chacha20-poly1305") == Cipher::ChaCha20Poly1305);
        CPPUNIT_ASSERT_EQUAL(std::string("chacha20-poly1305"), std::string(cipher_name(Cipher::ChaCha20Poly1305)));
        CPPUNIT_ASSERT(!parse_cipher("chacha20"));
        CPPUNIT_ASSERT(!parse_cipher_floor("chacha20-poly1305"));  // floors are strengths
        CPPUNIT_ASSERT(parse_cipher_floor("aes-256") == CipherFloor::Aes256);
        CPPUNIT_ASSERT(parse_cipher_floor("aes128") == CipherFloor::None);
        CPPUNIT_ASSERT(!parse_cipher_floor("aes512"));
        CPPUNIT_ASSERT(parse_scope("user") == Scope::User);
        CPPUNIT_ASSERT(!parse_scope("team"));
        // A rule's choice stands; Default is the [encryption] one.
        using RI = RecipientIdentifier;
        CPPUNIT_ASSERT(resolved_identifier(RI::Default, RI::KeyId) == RI::KeyId);
        CPPUNIT_ASSERT(resolved_identifier(RI::Default, RI::IssuerSerial) == RI::IssuerSerial);
        CPPUNIT_ASSERT(resolved_identifier(RI::IssuerSerial, RI::KeyId) == RI::IssuerSerial);
        CPPUNIT_ASSERT(resolved_identifier(RI::KeyId, RI::IssuerSerial) == RI::KeyId);
    }

    void cipher_floor()
    {
        // One recipient that advertised AES-256-GCM (gcm) or whose capabilities are unknown.
        const std::vector<AdvertisedCiphers> gcm{{true, {Cipher::Aes256Gcm}}}, unknown{{}};
        struct { Cipher pref; CipherFloor floor; bool gcm; Cipher expect; } cases[] = {
            {Cipher::Auto, CipherFloor::None, false, Cipher::Aes256Cbc},
            {Cipher::Auto, CipherFloor::None, true, Cipher::Aes256Gcm},
            {Cipher::Aes128Cbc, CipherFloor::None, true, Cipher::Aes128Cbc},
            {Cipher::Aes128Cbc, CipherFloor::Aes256, false, Cipher::Aes256Cbc},
            {Cipher::Aes128Gcm, CipherFloor::Aes256, false, Cipher::Aes256Gcm},
            {Cipher::Auto, CipherFloor::Aes128Gcm, false, Cipher::Aes256Gcm},
            {Cipher::Aes128Cbc, CipherFloor::Aes128Gcm, false, Cipher::Aes128Gcm},
            {Cipher::Aes256Cbc, CipherFloor::Aes256Gcm, false, Cipher::Aes256Gcm},
            {Cipher::Aes256Gcm, CipherFloor::Aes256, false, Cipher::Aes256Gcm},
            // ChaCha20-Poly1305 (256-bit key, AEAD) ranks with AES-256-GCM: never raised
            {Cipher::ChaCha20Poly1305, CipherFloor::None, false, Cipher::ChaCha20Poly1305},
            {Cipher::ChaCha20Poly1305, CipherFloor::Aes256, false, Cipher::ChaCha20Poly1305},
            {Cipher::ChaCha20Poly1305, CipherFloor::Aes128Gcm, false, Cipher::ChaCha20Poly1305},
            {Cipher::ChaCha20Poly1305, CipherFloor::Aes256Gcm, true, Cipher::ChaCha20Poly1305},
        };
        for (auto& c : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(cipher_name(c.pref)) + " floor " + cipher_floor_name(c.floor),
                                         std::string(cipher_name(c.expect)),
                                         std::string(cipher_name(choose_cipher(c.pref, c.floor, c.gcm ? gcm : unknown).cipher)));
        CPPUNIT_ASSERT(stronger_floor(CipherFloor::None, CipherFloor::Aes256) == CipherFloor::Aes256);
        CPPUNIT_ASSERT(stronger_floor(CipherFloor::Aes256, CipherFloor::Aes128Gcm) == CipherFloor::Aes256Gcm);
        CPPUNIT_ASSERT(!meets_floor(Cipher::Aes128Gcm, CipherFloor::Aes256));
        CPPUNIT_ASSERT(meets_floor(Cipher::Aes128Gcm, CipherFloor::Aes128Gcm));
    }

    // RFC 8551 §2.7.1 with several recipients: a cipher every one of them listed (unknown
    // ones read AES-256-CBC and AES-128-CBC, §2.7.1.2), GCM before CBC, then the larger key;
    // a floor raises, a named cipher stands.
    void cipher_by_capabilities()
    {
        using C = Cipher;
        using F = CipherFloor;
        using R = CipherReason;
        const AdvertisedCiphers unknown{};
        const auto lists = [](std::vector<Cipher> c) { return AdvertisedCiphers{true, std::move(c)}; };
        const auto g256 = lists({C::Aes256Gcm}), g128 = lists({C::Aes128Gcm}), c128 = lists({C::Aes128Cbc}),
                   c256 = lists({C::Aes256Cbc}), none = lists({});
        const auto both_gcm = lists({C::Aes128Gcm, C::Aes256Gcm});
        const auto openssl = lists({C::Aes256Cbc, C::Aes128Cbc});  // openssl cms -sign's list
        const auto all4 = lists({C::Aes128Cbc, C::Aes256Cbc, C::Aes128Gcm, C::Aes256Gcm});
        struct Case {
            const char* name;
            C pref;
            F floor;
            std::vector<AdvertisedCiphers> rcpts;
            C expect;
            R reason;
        } cases[] = {
            {"no recipients", C::Auto, F::None, {}, C::Aes256Cbc, R::Default},
            {"unknown", C::Auto, F::None, {unknown}, C::Aes256Cbc, R::Default},
            {"two unknown", C::Default, F::None, {unknown, unknown}, C::Aes256Cbc, R::Default},
            {"aes256-gcm only", C::Auto, F::None, {g256}, C::Aes256Gcm, R::Advertised},
            {"aes128-gcm only", C::Auto, F::None, {g128}, C::Aes128Gcm, R::Advertised},
            {"both gcm", C::Auto, F::None, {both_gcm}, C::Aes256Gcm, R::Advertised},
            {"aes128-cbc only", C::Auto, F::None, {c128}, C::Aes128Cbc, R::Advertised},
            {"aes256-cbc only", C::Auto, F::None, {c256}, C::Aes256Cbc, R::Advertised},
            {"openssl's list", C::Auto, F::None, {openssl}, C::Aes256Cbc, R::Advertised},
            {"all four", C::Auto, F::None, {all4}, C::Aes256Gcm, R::Advertised},
            {"256-gcm + 128-gcm", C::Auto, F::None, {g256, both_gcm}, C::Aes256Gcm, R::Advertised},
            {"128-gcm + both gcm", C::Auto, F::None, {g128, both_gcm}, C::Aes128Gcm, R::Advertised},
            {"all four + 128-gcm", C::Auto, F::None, {all4, g128}, C::Aes128Gcm, R::Advertised},
            {"all four + openssl", C::Auto, F::None, {all4, openssl}, C::Aes256Cbc, R::Advertised},
            {"all four + unknown", C::Auto, F::None, {all4, unknown}, C::Aes256Cbc, R::Advertised},
            {"128-cbc + unknown", C::Auto, F::None, {c128, unknown}, C::Aes128Cbc, R::Advertised},
            {"openssl + 128-cbc", C::Auto, F::None, {openssl, c128}, C::Aes128Cbc, R::Advertised},
            // nothing in common: the cipher every S/MIME agent must read
            {"gcm + unknown", C::Auto, F::None, {g256, unknown}, C::Aes128Cbc, R::NoCommon},
            {"256-gcm + 128-cbc", C::Auto, F::None, {g256, c128}, C::Aes128Cbc, R::NoCommon},
            {"256-cbc + 128-cbc", C::Auto, F::None, {c256, c128}, C::Aes128Cbc, R::NoCommon},
            {"a list of none of ours", C::Auto, F::None, {none}, C::Aes128Cbc, R::NoCommon},
            // a floor is the administrator's order
            {"128-gcm floor aes256", C::Auto, F::Aes256, {g128}, C::Aes256Gcm, R::Floor},
            {"all four + both gcm floor aes256", C::Auto, F::Aes256, {all4, both_gcm}, C::Aes256Gcm, R::Advertised},
            {"openssl floor aes256", C::Auto, F::Aes256, {openssl}, C::Aes256Cbc, R::Advertised},
            {"all four + openssl floor aes256", C::Auto, F::Aes256, {all4, openssl}, C::Aes256Cbc, R::Advertised},
            {"128-cbc floor aes256", C::Auto, F::Aes256, {c128}, C::Aes256Cbc, R::Floor},
            {"128-cbc floor aes128-gcm", C::Auto, F::Aes128Gcm, {c128}, C::Aes128Gcm, R::Floor},
            {"unknown floor aes128-gcm", C::Auto, F::Aes128Gcm, {unknown}, C::Aes256Gcm, R::Floor},
            {"128-gcm floor aes256-gcm", C::Auto, F::Aes256Gcm, {g128}, C::Aes256Gcm, R::Floor},
            {"both gcm floor aes128-gcm", C::Auto, F::Aes128Gcm, {both_gcm}, C::Aes256Gcm, R::Advertised},
            {"no common floor aes256", C::Auto, F::Aes256, {g256, c128}, C::Aes256Cbc, R::Floor},
            {"no common floor aes128-gcm", C::Auto, F::Aes128Gcm, {g256, c128}, C::Aes128Gcm, R::Floor},
            // a named cipher stands whatever the recipients listed
            {"named 256-cbc to 128-gcm", C::Aes256Cbc, F::None, {g128}, C::Aes256Cbc, R::Configured},
            {"named 128-cbc to gcm", C::Aes128Cbc, F::None, {g256}, C::Aes128Cbc, R::Configured},
            {"named 256-gcm to unknown", C::Aes256Gcm, F::None, {unknown}, C::Aes256Gcm, R::Configured},
            {"named chacha20", C::ChaCha20Poly1305, F::Aes256Gcm, {c128}, C::ChaCha20Poly1305, R::Configured},
            {"named 128-cbc floor aes256", C::Aes128Cbc, F::Aes256, {c128}, C::Aes256Cbc, R::Floor},
        };
        for (const auto& c : cases) {
            const CipherChoice got = choose_cipher(c.pref, c.floor, c.rcpts);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(cipher_name(c.expect)), std::string(cipher_name(got.cipher)));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(cipher_reason_name(c.reason)),
                                         std::string(cipher_reason_name(got.reason)));
        }
    }

    // Recipients of one envelope whose rules name ciphers (a mail list's members): theirs when
    // they agree, the strongest named one when they differ; "auto" names none.
    void shared_cipher_preference()
    {
        using C = Cipher;
        struct Case {
            const char* name;
            std::vector<C> prefs;
            C expect;
        } cases[] = {
            {"none", {}, C::Auto},
            {"all auto", {C::Auto, C::Auto}, C::Auto},
            {"one named", {C::Aes128Gcm}, C::Aes128Gcm},
            {"all the same", {C::Aes128Cbc, C::Aes128Cbc, C::Aes128Cbc}, C::Aes128Cbc},
            {"auto and a named one", {C::Auto, C::Aes128Gcm, C::Auto}, C::Aes128Gcm},
            {"named weak and auto", {C::Aes128Cbc, C::Auto}, C::Aes128Cbc},
            {"cbc key sizes", {C::Aes128Cbc, C::Aes256Cbc}, C::Aes256Cbc},
            {"gcm beats a larger cbc key", {C::Aes256Cbc, C::Aes128Gcm}, C::Aes128Gcm},
            {"gcm key sizes", {C::Aes256Gcm, C::Aes128Gcm}, C::Aes256Gcm},
            {"chacha20 over aes128-gcm", {C::Aes128Gcm, C::ChaCha20Poly1305}, C::ChaCha20Poly1305},
            {"aes256-gcm before chacha20", {C::ChaCha20Poly1305, C::Aes256Gcm}, C::Aes256Gcm},
            {"all of them", {C::Aes128Cbc, C::Auto, C::Aes256Gcm, C::Aes256Cbc, C::Aes128Gcm}, C::Aes256Gcm},
        };
        for (const auto& c : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(cipher_name(c.expect)),
                                         std::string(cipher_name(shared_preference(c.prefs))));
    }

    // A named cipher is shared only when no recipient's harvested SMIMECapabilities leave it
    // out (its own rule's cipher excepted): one rule must not make the envelope unreadable for
    // another recipient, as its own outbound mail (auto) never is. Unknown lists stand aside.
    void shared_cipher_preference_readable()
    {
        using C = Cipher;
        const AdvertisedCiphers unknown{}, cbc_only{true, {C::Aes256Cbc, C::Aes128Cbc}},
            gcm128_cbc{true, {C::Aes128Gcm, C::Aes256Cbc, C::Aes128Cbc}},
            all_aes{true, {C::Aes256Gcm, C::Aes128Gcm, C::Aes256Cbc, C::Aes128Cbc}};
        struct Case {
            const char* name;
            std::vector<C> prefs;
            std::vector<AdvertisedCiphers> lists;
            C expect;
        } cases[] = {
            {"auto member lists no gcm: auto", {C::Auto, C::Aes256Gcm}, {cbc_only, all_aes}, C::Auto},
            {"auto member lists it", {C::Auto, C::Aes256Gcm}, {all_aes, unknown}, C::Aes256Gcm},
            {"auto member unknown: the rule's word", {C::Auto, C::Aes256Gcm}, {unknown, unknown}, C::Aes256Gcm},
            {"next named one it lists", {C::Auto, C::Aes256Gcm, C::Aes128Gcm}, {gcm128_cbc, unknown, unknown},
             C::Aes128Gcm},
            {"named member reads its own", {C::Aes128Cbc, C::Aes256Gcm}, {cbc_only, all_aes}, C::Aes128Cbc},
            {"chacha20 is in no list", {C::Auto, C::ChaCha20Poly1305}, {all_aes, unknown}, C::Auto},
            {"all alike stays", {C::Aes256Gcm, C::Aes256Gcm}, {cbc_only, cbc_only}, C::Aes256Gcm},
            {"without lists: the strongest", {C::Aes128Cbc, C::Aes256Gcm}, {}, C::Aes256Gcm},
        };
        for (const auto& c : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(cipher_name(c.expect)),
                                         std::string(cipher_name(shared_preference(c.prefs, c.lists))));
    }

    // require_signature / require_encryption / require_integrity against what the inbound step
    // found, in the words of the reply and the tag; on_missing decides refuse or tag.
    void inbound_requirements_checked()
    {
        const auto rule = [](bool sig, bool enc, bool integ, OnMissing on) {
            Treatment t;
            t.require_signature = sig;
            t.require_encryption = enc;
            t.require_integrity = integ;
            t.on_missing = on;
            return t;
        };
        const ReceivedProtection clear{}, signed_only{true, false, false}, cbc{false, true, true},
            signed_cbc{true, true, true}, gcm{false, true, false};
        const OnMissing R = OnMissing::Reject, T = OnMissing::Tag;
        struct Case {
            const char* name;
            Treatment t;
            ReceivedProtection p;
            const char* missing;
            bool refuse;
        } cases[] = {
            {"nothing required", rule(false, false, false, R), clear, "", false},
            {"signature there", rule(true, false, false, R), signed_only, "", false},
            {"signature missing", rule(true, false, false, R), clear, "a valid S/MIME signature", true},
            {"signature missing, tag", rule(true, false, false, T), cbc, "a valid S/MIME signature", false},
            {"encryption missing", rule(false, true, false, R), signed_only, "encryption", true},
            {"both missing", rule(true, true, false, T), clear, "a valid S/MIME signature and encryption", false},
            {"encryption there", rule(false, true, false, R), cbc, "", false},
            {"integrity of cbc", rule(false, true, true, R), cbc,
             "integrity-protected encryption (AuthEnvelopedData or a signature inside)", true},
            {"integrity of gcm", rule(false, false, true, R), gcm, "", false},
            // unencrypted mail is require_encryption's concern, not require_integrity's
            {"integrity of clear mail", rule(false, false, true, R), signed_only, "", false},
            {"signature outside cbc", rule(true, false, true, R), signed_cbc,
             "integrity-protected encryption (AuthEnvelopedData or a signature inside)", true},
        };
        for (const auto& c : cases) {
            const RequirementCheck got = check_requirements(c.t, c.p);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(c.missing), got.missing);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.refuse, got.refuse);
        }
    }

    // One signer validation for a message that several rules judge: every required policy,
    // the stricter revocation checking ([pki] revocation standing for a rule that sets none).
    void signer_validation_widened()
    {
        using M = RevocationMode;
        CPPUNIT_ASSERT(stricter_revocation(M::Off, M::HardFail, M::SoftFail) == M::HardFail);
        CPPUNIT_ASSERT(stricter_revocation(M::SoftFail, M::Off, M::SoftFail) == M::SoftFail);
        CPPUNIT_ASSERT(stricter_revocation(M::Default, M::SoftFail, M::HardFail) == M::Default);
        CPPUNIT_ASSERT(stricter_revocation(M::Default, M::SoftFail, M::Off) == M::SoftFail);
        CPPUNIT_ASSERT(stricter_revocation(M::Off, M::Default, M::SoftFail) == M::Default);
        Treatment list, member;
        list.required_policies = {"1.2.3"};
        list.revocation = M::Off;
        list.require_signature = true;
        member.required_policies = {"1.2.3", "1.2.4"};
        member.revocation = M::HardFail;
        member.require_encryption = true;
        member.on_missing = OnMissing::Tag;
        widen_signer_validation(list, member, M::SoftFail);
        CPPUNIT_ASSERT(list.required_policies == (std::vector<std::string>{"1.2.3", "1.2.4"}));
        CPPUNIT_ASSERT(list.revocation == M::HardFail);
        // each rule keeps its own requirements
        CPPUNIT_ASSERT(list.require_signature && !list.require_encryption);
        CPPUNIT_ASSERT(list.on_missing == OnMissing::Reject);
    }

    void key_owner_modes()
    {
        const EmailAddress rcpt = *address("bob@partner.example");
        Treatment t;
        CPPUNIT_ASSERT_EQUAL(std::string("bob@partner.example"), key_owner(t, rcpt)->str());
        t.encrypt_to = EncryptTarget::Domain;
        CPPUNIT_ASSERT_EQUAL(std::string("domain-confidentiality-authority@partner.example"),
                             key_owner(t, rcpt)->str());
        t.encrypt_to = EncryptTarget::Address;
        t.encrypt_to_address = "gateway@partner.example";
        CPPUNIT_ASSERT_EQUAL(std::string("gateway@partner.example"), key_owner(t, rcpt)->str());
    }

    void first_match_wins()
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
            auto plan = p.plan_recipient(c.dir, address(c.from), *address(c.to));
            const std::string what = std::string(c.from) + " -> " + c.to;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string(c.rule), plan.rule_name);
            CPPUNIT_ASSERT_MESSAGE(what, plan.treatment.sign == c.sign);
            CPPUNIT_ASSERT_MESSAGE(what, plan.treatment.encrypt == c.enc);
        }
        Policy empty;
        auto plan = empty.plan_recipient(Direction::Outbound, address("a@b.example"), *address("c@d.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("default"), plan.rule_name);
        CPPUNIT_ASSERT(plan.treatment.sign == SignMode::None);
    }

    void scopes_layer_rules()
    {
        // Written global first, then domain, then user: evaluation is user, domain, global.
        std::vector<Rule> rules;
        rules.push_back(rule("global", Direction::Outbound, {}, SignMode::Sender, EncryptMode::Opportunistic));
        rules.push_back(rule("partner domain", Direction::Outbound, {"*@partner.example"}, SignMode::Domain,
                             EncryptMode::Mandatory, Scope::Domain));
        rules.push_back(rule("bob opts out", Direction::Outbound, {"bob@partner.example"}, SignMode::Sender,
                             EncryptMode::Never, Scope::User));
        rules.push_back(rule("second user rule", Direction::Outbound, {"bob@partner.example"}, SignMode::None,
                             EncryptMode::Mandatory, Scope::User));
        const Policy p(std::move(rules), {});
        auto plan = p.plan(outbound("alice@acme.example"), *address("bob@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("bob opts out"), plan.rule_name);
        CPPUNIT_ASSERT(plan.scope == Scope::User);
        CPPUNIT_ASSERT(plan.treatment.encrypt == EncryptMode::Never);
        plan = p.plan(outbound("alice@acme.example"), *address("carol@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("partner domain"), plan.rule_name);
        CPPUNIT_ASSERT(plan.treatment.encrypt == EncryptMode::Mandatory);
        plan = p.plan(outbound("alice@acme.example"), *address("x@elsewhere.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("global"), plan.rule_name);
        // rules() keeps the configuration order.
        CPPUNIT_ASSERT_EQUAL(std::string("global"), p.rules().front().name);
    }

    void explicit_defaults()
    {
        Treatment defaults;
        defaults.sign = SignMode::Domain;
        defaults.encrypt = EncryptMode::Opportunistic;
        defaults.minimum_cipher = CipherFloor::Aes256;
        const Policy p({rule("partner", Direction::Outbound, {"*@partner.example"}, SignMode::None,
                             EncryptMode::Mandatory)},
                       {}, defaults);
        auto plan = p.plan(outbound("a@acme.example"), *address("x@other.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("default"), plan.rule_name);
        CPPUNIT_ASSERT(plan.treatment.sign == SignMode::Domain);
        CPPUNIT_ASSERT(plan.treatment.encrypt == EncryptMode::Opportunistic);
        CPPUNIT_ASSERT(plan.treatment.minimum_cipher == CipherFloor::Aes256);
        plan = p.plan(outbound("a@acme.example"), *address("x@partner.example"));
        CPPUNIT_ASSERT(plan.treatment.sign == SignMode::None);
        // The defaults are no signing oracle either.
        MessageContext in;
        in.direction = Direction::Inbound;
        in.from = address("a@acme.example");
        plan = p.plan(in, *address("x@other.example"));
        CPPUNIT_ASSERT(plan.treatment.sign == SignMode::None);
        CPPUNIT_ASSERT(plan.treatment.encrypt == EncryptMode::Never);
    }

    void inbound_never_signs()
    {
        Rule r = rule("sign-all", std::nullopt, {}, SignMode::Sender, EncryptMode::Never);
        r.signing_identity = "ceo@acme.example";
        Policy p({r}, {});
        MessageContext in;
        in.direction = Direction::Inbound;
        in.from = address("ceo@acme.example");  // forged: the Internet can claim any sender
        in.origin.authenticated = true;         // even with evidence the direction decides
        auto plan = p.plan(in, *address("a@acme.example"));
        CPPUNIT_ASSERT(plan.treatment.sign == SignMode::None);
        CPPUNIT_ASSERT(plan.treatment.signing_identity.empty());
        CPPUNIT_ASSERT(plan.note.find("inbound") != std::string::npos);
        auto out = p.plan(outbound("a@acme.example"), *address("x@internet.example"));
        CPPUNIT_ASSERT(out.treatment.sign == SignMode::Sender);
        CPPUNIT_ASSERT_EQUAL(std::string("ceo@acme.example"), out.treatment.signing_identity);
    }

    void outbound_needs_origin_to_sign()
    {
        Policy p({rule("sign-all", Direction::Outbound, {}, SignMode::Domain, EncryptMode::Opportunistic)}, {});
        const EmailAddress rcpt = *address("x@internet.example");
        MessageContext m;
        m.direction = Direction::Outbound;  // but no evidence at all
        m.from = address("a@acme.example");
        auto plan = p.plan(m, rcpt);
        CPPUNIT_ASSERT(plan.treatment.sign == SignMode::None);
        CPPUNIT_ASSERT(plan.treatment.encrypt == EncryptMode::Opportunistic);  // encryption is no oracle
        CPPUNIT_ASSERT(!plan.note.empty());
        for (int evidence = 0; evidence < 4; ++evidence) {
            MessageContext e = m;
            e.origin.authenticated = evidence == 0;
            e.origin.internal_network = evidence == 1;
            e.origin.originating_daemon = evidence == 2;
            e.origin.administrator = evidence == 3;
            CPPUNIT_ASSERT_MESSAGE(std::to_string(evidence), p.plan(e, rcpt).treatment.sign == SignMode::Domain);
        }
    }

    void strip_tag_only_when_asked()
    {
        std::vector<smime::mime::HeaderField> headers{{"Subject", "[Encrypt] quarterly figures"}};
        Rule strip = rule("strip", Direction::Outbound, {"*@a.example"}, SignMode::None, EncryptMode::Mandatory);
        strip.when.subject_tag = "[encrypt]";
        strip.strip_trigger = true;
        Rule keep = rule("keep", Direction::Outbound, {"*@b.example"}, SignMode::None, EncryptMode::Mandatory);
        keep.when.subject_tag = "[encrypt]";
        Policy p({strip, keep}, {});
        MessageContext m = outbound("x@acme.example");
        m.headers = &headers;
        auto a = p.plan(m, *address("u@a.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("[encrypt]"), a.strip_tag);
        CPPUNIT_ASSERT_EQUAL(std::string("Subject tag [encrypt]"), a.trigger);
        auto b = p.plan(m, *address("u@b.example"));
        CPPUNIT_ASSERT_EQUAL(std::string("keep"), b.rule_name);
        CPPUNIT_ASSERT(b.strip_tag.empty());
        CPPUNIT_ASSERT(p.uses_headers());
        CPPUNIT_ASSERT(!p.uses_groups());
    }

    void domain_identity()
    {
        const Policy p = sample_policy();
        CPPUNIT_ASSERT_EQUAL(std::string("domain-signing-authority@acme.example"),
                             p.domain_identity(*address("alice@acme.example"))->str());
        CPPUNIT_ASSERT_EQUAL(std::string("domain-signing-authority@acme.example"),
                             p.domain_identity(*address("alice@eu.acme.example"))->str());
        CPPUNIT_ASSERT(!p.domain_identity(*address("x@other.example")).has_value());
        CPPUNIT_ASSERT(p.is_own_domain(*Domain::parse("acme.example")));
        // The most specific domain wins whatever the order of the [[domain]] entries.
        for (bool parent_first : {true, false}) {
            std::vector<OwnDomain> domains = {{*Domain::parse("acme.example"), *address("dsa@acme.example")},
                                              {*Domain::parse("eu.acme.example"), *address("dsa@eu.acme.example")}};
            if (!parent_first) std::swap(domains[0], domains[1]);
            const Policy both({}, std::move(domains));
            CPPUNIT_ASSERT_EQUAL(std::string("dsa@eu.acme.example"),
                                 both.domain_identity(*address("alice@eu.acme.example"))->str());
            CPPUNIT_ASSERT_EQUAL(std::string("dsa@eu.acme.example"),
                                 both.domain_identity(*address("bob@sales.eu.acme.example"))->str());
            CPPUNIT_ASSERT_EQUAL(std::string("dsa@acme.example"), both.domain_identity(*address("carol@acme.example"))->str());
        }
    }

    void describe_plans()
    {
        Treatment t;
        t.sign = SignMode::Domain;
        t.encrypt = EncryptMode::Mandatory;
        t.encrypt_to = EncryptTarget::Domain;
        t.cipher = Cipher::Aes256Gcm;
        t.minimum_cipher = CipherFloor::Aes256;
        t.header_protection = false;
        CPPUNIT_ASSERT_EQUAL(std::string("sign=domain encrypt=mandatory encrypt_to=domain cipher=aes256-gcm "
                                         "minimum_cipher=aes256 header_protection=no"),
                             describe(t, Direction::Outbound));
        t.require_signature = true;
        t.on_missing = OnMissing::Tag;
        CPPUNIT_ASSERT_EQUAL(std::string("require_signature=yes require_encryption=no on_missing=tag"),
                             describe(t, Direction::Inbound));
        t.require_integrity = true;
        CPPUNIT_ASSERT_EQUAL(std::string("require_signature=yes require_encryption=no require_integrity=yes on_missing=tag"),
                             describe(t, Direction::Inbound));
        // The one requirement alone still names what happens to mail lacking it.
        t.require_signature = false;
        t.on_missing = OnMissing::Reject;
        CPPUNIT_ASSERT_EQUAL(std::string("require_signature=no require_encryption=no require_integrity=yes on_missing=reject"),
                             describe(t, Direction::Inbound));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PolicyTest);
