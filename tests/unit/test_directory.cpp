// Unit tests for directory/: the static certificate folder, the LMDB harvest store (persistence,
// corruption, threads, a second process) and the choice of an encryption certificate with its
// explanations, over the OpenSSL-made PKI of test_pki_support.h.
#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "base/error.h"
#include "base/sha256.h"
#include "directory/certificate_choice.h"
#include "directory/harvest_store.h"
#include "directory/static_folder.h"
#include "tests/unit/test_pki_support.h"

using namespace ssm;
using namespace ssm::directory;
namespace fx = ssm::test::pki_fixture;
namespace fs = std::filesystem;

namespace {

EmailAddress addr(const char* s)
{
    auto a = EmailAddress::parse(s);
    CPPUNIT_ASSERT_MESSAGE(s, a.has_value());
    return *a;
}

Bytes caps(std::uint8_t marker)
{
    // Not parsed by the store: any DER-looking blob tells records apart.
    return Bytes{0x30, 0x03, 0x06, 0x01, marker};
}

CertificateCandidate candidate(const std::string& name)
{
    return CertificateCandidate{pki::SharedCertificate(fx::cert(name)), "test:" + name, std::nullopt, 0};
}

bool contains(const std::vector<std::string>& lines, const std::string& needle)
{
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

std::size_t occurrences(const std::string& text, const std::string& needle)
{
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

std::string join(const std::vector<std::string>& v)
{
    std::string out;
    for (const auto& s : v) out += s + "\n";
    return out;
}

// A source that cannot be reached (as an LDAP server that is down will be).
class UnreachableSource final : public CertificateSource {
public:
    explicit UnreachableSource(Failure f = Failure::DirectoryUnavailable) : m_failure(f) {}
    std::vector<CertificateCandidate> lookup(const EmailAddress&) override
    {
        ++calls;
        throw Error(m_failure, "connection refused");
    }
    std::string name() const override { return "ldap://127.0.0.1:1"; }
    std::atomic<int> calls{0};

private:
    Failure m_failure;
};

// A directory whose limits cut its answer (as LdapSource's do): the candidates it kept.
class CutSource final : public CertificateSource {
public:
    explicit CutSource(std::vector<std::string> kept) : m_kept(std::move(kept)) {}
    std::vector<CertificateCandidate> lookup(const EmailAddress& a) override { return answer(a).candidates; }
    LookupAnswer answer(const EmailAddress&) override
    {
        LookupAnswer out;
        for (const auto& name : m_kept) out.candidates.push_back(candidate(name));
        out.cut = "2 value(s) left out by the limits";
        return out;
    }
    std::string name() const override { return "ldap:ldap://cut.example"; }

private:
    std::vector<std::string> m_kept;
};

std::shared_ptr<const pki::TrustStore> trust()
{
    static auto store = std::make_shared<const pki::TrustStore>(fx::store_paths());
    return store;
}

// `address`'s harvested certificate (fixture `ee`) comes back with its learned CA certificate
// (fixture `ca`) alone, and the two make a path: `ee` is chosen for encryption.
void assert_learned_chain(HarvestStore& store, const char* address, const std::string& ee, const std::string& ca)
{
    const auto with = store.lookup(addr(address));
    CPPUNIT_ASSERT_EQUAL_MESSAGE(address, std::size_t{2}, with.size());
    CPPUNIT_ASSERT_MESSAGE(address, with[1].cert.der() == fx::der_of(ca));
    const auto choice = choose_encryption_certificate(addr(address), with, *trust(), std::time(nullptr));
    CPPUNIT_ASSERT_MESSAGE(join(choice.rejected_reasons), choice.chosen && choice.chosen->der == fx::der_of(ee));
}

}  // namespace

class DirectoryTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DirectoryTest);
    CPPUNIT_TEST(static_folder_lookup);
    CPPUNIT_TEST(static_folder_errors);
    CPPUNIT_TEST(static_folder_full_chain_files);
    CPPUNIT_TEST(harvest_persists_across_reopen);
    CPPUNIT_TEST(harvest_keeps_intermediates);
    CPPUNIT_TEST(harvest_intermediates_must_sign);
    CPPUNIT_TEST(harvest_intermediates_named_otherwise);
    CPPUNIT_TEST(harvest_intermediates_of_the_older_key);
    CPPUNIT_TEST(harvest_refuses_and_updates);
    CPPUNIT_TEST(harvest_keeps_the_most_recent);
    CPPUNIT_TEST(harvest_survives_corrupt_record);
    CPPUNIT_TEST(harvest_concurrency);
    CPPUNIT_TEST(harvest_open_close_race);
    CPPUNIT_TEST(harvest_second_process);
    CPPUNIT_TEST(choice_table);
    CPPUNIT_TEST(choice_newest_wins);
    CPPUNIT_TEST(choice_refuses_short_rsa_keys);
    CPPUNIT_TEST(choice_needs_an_anchor_for_the_domain);
    CPPUNIT_TEST(choice_dane_ee_skips_only_the_chain);
    CPPUNIT_TEST(resolver_order_and_failures);
    CPPUNIT_TEST(resolver_cut_answers);
    CPPUNIT_TEST_SUITE_END();

public:
    void static_folder_lookup()
    {
        test::TempDir t;
        fs::copy_file(fx::cert_path("alice"), t.path() / "alice.pem");
        fs::copy_file(fx::dir() / "bob.cert.der", t.path() / "Bob.CRT");  // DER, upper-case suffix
        fs::copy_file(fx::cert_path("multi"), t.path() / "multi.cer");
        fs::copy_file(fx::cert_path("x25519"), t.path() / "x.pem");
        test::write_file(t.path() / "twins.pem", test::read_file(fx::cert_path("twin-old")) +
                                                     test::read_file(fx::cert_path("twin-new")));
        fs::copy_file(fx::dir() / "chain.pem", t.path() / "cas.pem");  // no addresses: indexed nowhere
        test::write_file(t.path() / "README.txt", "not a certificate, not read");
        StaticFolderSource source(t.path());
        CPPUNIT_ASSERT_EQUAL(std::size_t{8}, source.certificate_count());
        CPPUNIT_ASSERT_EQUAL("static:" + t.path().string(), source.name());

        struct Case {
            const char* address;
            std::size_t count;
            const char* source;
        };
        const Case cases[] = {
            {"alice@acme.example", 1, "static:alice.pem"},
            {"ALICE@Acme.Example", 1, "static:alice.pem"},
            {"Bob <bob@ACME.example>", 1, "static:Bob.CRT"},
            {"one@acme.example", 1, "static:multi.cer"},
            {"Two@acme.example", 1, "static:multi.cer"},
            {"xavier@acme.example", 1, "static:x.pem"},
            {"twin@acme.example", 2, "static:twins.pem"},
            {"carol@acme.example", 0, ""},
            {"alice@partner.example", 0, ""},
        };
        for (const auto& c : cases) {
            const auto found = source.lookup(addr(c.address));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.address, c.count, found.size());
            for (const auto& f : found) {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.address, std::string(c.source), f.source);
                CPPUNIT_ASSERT(!f.smime_capabilities_der && f.harvested_at == 0);
            }
        }
        // Lookups share the certificate read at load (immutable data, no parse per lookup); each
        // caller that needs GnuTLS gets its own object.
        const auto a1 = source.lookup(addr("alice@acme.example"));
        const auto a2 = source.lookup(addr("alice@acme.example"));
        CPPUNIT_ASSERT(a1[0].cert.same_data(a2[0].cert) && a1[0].cert.der() == fx::der_of("alice"));
        CPPUNIT_ASSERT(a1[0].cert.facts().has_address("alice@acme.example"));
        const pki::Certificate p1 = a1[0].cert.parse(), p2 = a1[0].cert.parse();
        CPPUNIT_ASSERT(p1.get() != p2.get() && p1.der() == fx::der_of("alice"));
    }

    void static_folder_errors()
    {
        test::TempDir t;
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, StaticFolderSource(t.path() / "missing").certificate_count());
        fs::copy_file(fx::cert_path("alice"), t.path() / "alice.pem");
        test::write_file(t.path() / "broken.cer", "\x30\x82\x01\x00garbage");
        try {
            StaticFolderSource source(t.path());
            CPPUNIT_FAIL("a corrupt file was accepted");
        } catch (const pki::LoadError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("broken.cer") != std::string::npos);
        }
    }

    // A partner's certificate saved with the CA that issued it in one PEM file: that CA
    // completes the path when [pki] intermediates lacks it. A CA alone in its own file, or
    // in another certificate's file, serves no other address.
    void static_folder_full_chain_files()
    {
        test::TempDir t;
        fs::create_directories(t.path() / "certs");
        fs::create_directories(t.path() / "no-intermediates");
        const std::string sub_ca = test::read_file(fx::dir() / "sub-ca.cert.pem");
        test::write_file(t.path() / "certs" / "twin-full.pem", test::read_file(fx::cert_path("twin-new")) + sub_ca);
        fs::copy_file(fx::cert_path("alice"), t.path() / "certs" / "alice.pem");
        test::write_file(t.path() / "certs" / "ca.pem", sub_ca);
        StaticFolderSource source(t.path() / "certs");
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, source.certificate_count());
        pki::TrustStoreConfig anchors_only = fx::store_paths();
        anchors_only.intermediates = t.path() / "no-intermediates";
        const pki::TrustStore trust_store(anchors_only);
        const std::time_t now = std::time(nullptr);

        const auto twin = source.lookup(addr("twin@acme.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, twin.size());
        CPPUNIT_ASSERT(twin[1].cert.facts().is_ca && twin[1].source == "static:twin-full.pem");
        const auto chosen = choose_encryption_certificate(addr("twin@acme.example"), twin, trust_store, now);
        CPPUNIT_ASSERT_MESSAGE(join(chosen.rejected_reasons),
                               chosen.chosen && chosen.chosen->der == fx::der_of("twin-new"));

        const auto alice = source.lookup(addr("alice@acme.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, alice.size());
        const auto refused = choose_encryption_certificate(addr("alice@acme.example"), alice, trust_store, now);
        CPPUNIT_ASSERT(!refused.chosen);
        CPPUNIT_ASSERT_MESSAGE(join(refused.rejected_reasons), contains(refused.rejected_reasons, "no path to a trust anchor"));
    }

    void harvest_persists_across_reopen()
    {
        test::TempDir t;
        {
            HarvestStore store(t.path() / "cache");
            CPPUNIT_ASSERT(store.store(addr("Alice@Acme.Example"), fx::der_of("alice"), ByteView(caps(1)), 1000));
            CPPUNIT_ASSERT(store.store(addr("twin@acme.example"), fx::der_of("twin-old"), std::nullopt, 2000));
            CPPUNIT_ASSERT(store.store(addr("twin@acme.example"), fx::der_of("twin-new"), ByteView(caps(2)), 3000));
            CPPUNIT_ASSERT_EQUAL(std::size_t{1}, store.lookup(addr("alice@acme.example")).size());
        }  // the last user is gone: the environment is closed
        CPPUNIT_ASSERT(fs::exists(t.path() / "cache" / "data.mdb"));
        HarvestStore reopened(t.path() / "cache");
        const auto alice = reopened.lookup(addr("ALICE@acme.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, alice.size());
        CPPUNIT_ASSERT(alice[0].cert.der() == fx::der_of("alice"));
        CPPUNIT_ASSERT_EQUAL(std::string("harvested"), alice[0].source);
        CPPUNIT_ASSERT(alice[0].smime_capabilities_der == caps(1));
        CPPUNIT_ASSERT_EQUAL(std::time_t{1000}, alice[0].harvested_at);
        const auto twins = reopened.lookup(addr("twin@acme.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, twins.size());
        CPPUNIT_ASSERT(!twins[0].smime_capabilities_der && twins[1].smime_capabilities_der == caps(2));
        CPPUNIT_ASSERT(reopened.lookup(addr("bob@acme.example")).empty());
        // A second store on the same folder in this process shares the open environment.
        HarvestStore second(t.path() / "cache");
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, second.lookup(addr("twin@acme.example")).size());
    }

    // PRODUCT §7: the CA certificates a signed message carried come back with the harvested
    // certificate, so its path is built after the message is gone.
    void harvest_keeps_intermediates()
    {
        test::TempDir t;
        {
            HarvestStore store(t.path() / "cache");
            CPPUNIT_ASSERT(store.store(addr("chained@acme.example"), fx::der_of("chained"), std::nullopt, 1000));
            const auto without = store.lookup(addr("chained@acme.example"));
            CPPUNIT_ASSERT_EQUAL(std::size_t{1}, without.size());
            CPPUNIT_ASSERT(!choose_encryption_certificate(addr("chained@acme.example"), without, *trust(), std::time(nullptr))
                                .chosen);
            // End entities are not kept as intermediates; the CA once only.
            const std::vector<Bytes> offered = {fx::der_of("alice"), fx::der_of("partner-ca"), fx::der_of("partner-ca")};
            CPPUNIT_ASSERT_EQUAL(std::size_t{1}, store.store_intermediates(offered));
            CPPUNIT_ASSERT_EQUAL(std::size_t{0}, store.store_intermediates(offered));
        }
        HarvestStore reopened(t.path() / "cache");
        assert_learned_chain(reopened, "chained@acme.example", "chained", "partner-ca");
        // Others issued by the sub-CA find no learned CA: nothing is added.
        CPPUNIT_ASSERT(reopened.store(addr("alice@acme.example"), fx::der_of("alice"), std::nullopt, 1000));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, reopened.lookup(addr("alice@acme.example")).size());
    }

    // Whoever sends a signed message chooses the CA certificates it carries, and their names:
    // 40 self-made CAs named "O=Partner, CN=Partner CA" (the issuer of chained's certificate)
    // came back with chained's harvested certificate beside the real one, and the choice
    // keeps only the first kMaxChainCertificates CA certificates for path building (in key
    // order: the real issuer was left out 9 times in 41, more the more were sent), so the
    // partner could no longer be encrypted to. Only CAs whose key signed it come back.
    void harvest_intermediates_must_sign()
    {
        test::TempDir t;
        test::run("cd '" + t.path().string() + "' && export OPENSSL_CONF=/dev/null && "
                  "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out fake.key 2>/dev/null && "
                  "for i in $(seq 1 40); do openssl req -x509 -new -key fake.key -subj '/O=Partner/CN=Partner CA' "
                  "-set_serial $i -days 30 -addext basicConstraints=critical,CA:true "
                  "-addext keyUsage=critical,keyCertSign,cRLSign -outform DER -out fake$i.der 2>/dev/null || exit 1; done");
        std::vector<Bytes> offered;
        for (int i = 1; i <= 40; ++i) {
            const std::string der = test::read_file(t.path() / ("fake" + std::to_string(i) + ".der"));
            offered.emplace_back(der.begin(), der.end());
        }
        offered.push_back(fx::der_of("partner-ca"));
        HarvestStore store(t.path() / "cache");
        CPPUNIT_ASSERT(store.store(addr("chained@acme.example"), fx::der_of("chained"), std::nullopt, 1000));
        CPPUNIT_ASSERT_EQUAL(std::size_t{41}, store.store_intermediates(offered));
        assert_learned_chain(store, "chained@acme.example", "chained", "partner-ca");
    }

    // A CA whose own certificate names it in PrintableString, its end entity's issuer field in
    // UTF8String (PKITS 4.3.10; a CA re-issued by other software): the same Name by RFC 5280
    // §7.1. The store keyed CA certificates by a hash of the Name's bytes, so the learned CA was
    // not found for renamed's certificate and its path could not be built.
    void harvest_intermediates_named_otherwise()
    {
        CPPUNIT_ASSERT(pki::facts(fx::cert("renamed")).issuer_der != pki::facts(fx::cert("partner-ca2")).subject_der);
        test::TempDir t;
        HarvestStore store(t.path() / "cache");
        CPPUNIT_ASSERT(store.store(addr("renamed@acme.example"), fx::der_of("renamed"), std::nullopt, 1000));
        const std::vector<Bytes> offered = {fx::der_of("partner-ca"), fx::der_of("partner-ca2")};
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, store.store_intermediates(offered));
        assert_learned_chain(store, "renamed@acme.example", "renamed", "partner-ca2");
    }

    // Entries written before the key was the §7.1 form (a hash of the Name's bytes, the
    // documented layout) are still found, and a CA stored again under the new key comes back
    // once.
    void harvest_intermediates_of_the_older_key()
    {
        test::TempDir t;
        auto env = lmdb::Environment::open(t.path());
        HarvestStore store(env);
        CPPUNIT_ASSERT(store.store(addr("chained@acme.example"), fx::der_of("chained"), std::nullopt, 1000));
        const Bytes ca = fx::der_of("partner-ca");
        const auto first16 = [](ByteView data) {
            const Sha256Digest digest = sha256(data);
            return std::string(reinterpret_cast<const char*>(digest.data()), 16);
        };
        {
            lmdb::Transaction txn(*env, lmdb::Transaction::Mode::Write);
            txn.put(env->database("intermediates"), first16(pki::facts(fx::cert("partner-ca")).subject_der) + first16(ca),
                    ca);
            txn.commit();
        }
        assert_learned_chain(store, "chained@acme.example", "chained", "partner-ca");  // under the older key
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, store.store_intermediates(std::vector<Bytes>{ca}));
        assert_learned_chain(store, "chained@acme.example", "chained", "partner-ca");  // under both
    }

    void harvest_refuses_and_updates()
    {
        test::TempDir t;
        HarvestStore store(t.path());
        // Not a certificate, or a certificate not naming the address: nothing stored.
        CPPUNIT_ASSERT(!store.store(addr("alice@acme.example"), as_bytes("junk"), std::nullopt));
        CPPUNIT_ASSERT(!store.store(addr("alice@acme.example"), fx::der_of("bob"), std::nullopt));
        CPPUNIT_ASSERT(!store.store(addr("someone@acme.example"), fx::der_of("wrongaddr"), std::nullopt));
        const Bytes huge(HarvestStore::max_capabilities_size + 1, 0x30);
        CPPUNIT_ASSERT(!store.store(addr("alice@acme.example"), fx::der_of("alice"), ByteView(huge)));
        CPPUNIT_ASSERT(store.lookup(addr("alice@acme.example")).empty());
        // Seen again: one record, newest time, capabilities replaced when given, kept when not.
        CPPUNIT_ASSERT(store.store(addr("alice@acme.example"), fx::der_of("alice"), ByteView(caps(1)), 100));
        CPPUNIT_ASSERT(store.store(addr("alice@acme.example"), fx::der_of("alice"), ByteView(caps(2)), 200));
        CPPUNIT_ASSERT(store.store(addr("alice@acme.example"), fx::der_of("alice"), std::nullopt, 150));
        const auto found = store.lookup(addr("alice@acme.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, found.size());
        CPPUNIT_ASSERT_EQUAL(std::time_t{200}, found[0].harvested_at);
        CPPUNIT_ASSERT(found[0].smime_capabilities_der == caps(2));
        // Every address of a multi-address certificate can hold it.
        CPPUNIT_ASSERT(store.store(addr("one@acme.example"), fx::der_of("multi"), std::nullopt));
        CPPUNIT_ASSERT(store.store(addr("TWO@acme.example"), fx::der_of("multi"), std::nullopt));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, store.lookup(addr("two@acme.example")).size());
    }

    void harvest_keeps_the_most_recent()
    {
        test::TempDir t;
        HarvestStore store(t.path());
        // Seen in the order 1..9 except that many3 is seen last: many1 (seen longest ago) goes.
        const int order[] = {1, 2, 3, 4, 5, 6, 7, 8, 3, 9};
        std::time_t when = 100;
        for (int i : order)
            CPPUNIT_ASSERT(store.store(addr("many@acme.example"), fx::der_of("many" + std::to_string(i)), std::nullopt,
                                       when += 10));
        const auto found = store.lookup(addr("many@acme.example"));
        CPPUNIT_ASSERT_EQUAL(HarvestStore::max_per_address, found.size());
        for (int i = 2; i <= 9; ++i) {
            const Bytes der = fx::der_of("many" + std::to_string(i));
            CPPUNIT_ASSERT(std::any_of(found.begin(), found.end(), [&](const auto& c) { return c.cert.der() == der; }));
        }
        // Folder and files are private to the service user.
        CPPUNIT_ASSERT((fs::status(t.path() / "data.mdb").permissions() & (fs::perms::group_all | fs::perms::others_all)) ==
                       fs::perms::none);
    }

    void harvest_survives_corrupt_record()
    {
        test::TempDir t;
        auto env = lmdb::Environment::open(t.path());
        HarvestStore store(env);
        const Bytes der = fx::der_of("alice");
        CPPUNIT_ASSERT(store.store(addr("alice@acme.example"), der, ByteView(caps(7)), 1));
        MDB_dbi dbi = env->database("harvest");
        Bytes good;
        {
            lmdb::Transaction txn(*env, lmdb::Transaction::Mode::Read);
            auto v = txn.get(dbi, "alice@acme.example");
            CPPUNIT_ASSERT(v.has_value());
            good.assign(v->begin(), v->end());
        }
        // The documented layout: version, count, seen_at, cert_len, cert, has_caps, caps_len, caps.
        CPPUNIT_ASSERT_EQUAL(std::size_t{2 + 8 + 4 + der.size() + 1 + 4 + 5}, good.size());
        CPPUNIT_ASSERT(good[0] == 1 && good[1] == 1 && good[9] == 1);
        // Truncations, a trailing byte, a wrong version, an inflated length: corrupt, which
        // is "cannot ask" (DirectoryUnavailable), never "no certificate".
        std::vector<Bytes> bad = {{}, {1}, {2, 0}, Bytes(good.begin(), good.end() - 1)};
        bad.push_back(good);
        bad.back().push_back(0);
        bad.push_back(good);
        bad.back()[12] = 0xff;  // cert_len high octets
        bad.push_back(good);
        bad.back()[1] = 9;  // count above the limit
        for (const auto& value : bad) {
            {
                lmdb::Transaction txn(*env, lmdb::Transaction::Mode::Write);
                txn.put(dbi, "alice@acme.example", value);
                txn.commit();
            }
            try {
                store.lookup(addr("alice@acme.example"));
                CPPUNIT_FAIL("a corrupt record read as an answer");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("alice@acme.example") != std::string::npos);
            }
            // Other addresses are unaffected.
            CPPUNIT_ASSERT(store.lookup(addr("bob@acme.example")).empty());
        }
        // A well-formed record without certificates is an answer ("none"), not corruption.
        {
            lmdb::Transaction txn(*env, lmdb::Transaction::Mode::Write);
            txn.put(dbi, "alice@acme.example", Bytes{1, 0});
            txn.commit();
        }
        CPPUNIT_ASSERT(store.lookup(addr("alice@acme.example")).empty());
        // Each read of a corrupt record warns once, from lookup and from store alike; storing
        // again replaces the corrupt value.
        {
            lmdb::Transaction txn(*env, lmdb::Transaction::Mode::Write);
            txn.put(dbi, "alice@acme.example", Bytes{1});
            txn.commit();
        }
        test::StderrCapture log(t.path() / "stderr.log");
        CPPUNIT_ASSERT_THROW(store.lookup(addr("alice@acme.example")), Error);
        CPPUNIT_ASSERT(store.store(addr("alice@acme.example"), der, std::nullopt, 5));
        const std::string written = log.finish();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(written, std::size_t{2}, occurrences(written, "harvest_record_corrupt"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(written, std::size_t{2}, occurrences(written, "address=alice@acme.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, store.lookup(addr("alice@acme.example")).size());
    }

    void harvest_concurrency()
    {
        test::TempDir t;
        auto store = std::make_shared<HarvestStore>(t.path());
        const std::vector<std::string> names = {"alice", "bob", "carol", "erin", "dave", "frank"};
        std::vector<Bytes> ders;
        for (const auto& n : names) ders.push_back(fx::der_of(n));
        std::atomic<int> errors{0};
        std::vector<std::thread> threads;
        for (int w = 0; w < 4; ++w)
            threads.emplace_back([&, w] {
                for (int i = 0; i < 60; ++i) {
                    const std::size_t k = static_cast<std::size_t>(i + w) % names.size();
                    const std::string a = names[k] + (k >= 4 ? "@partner.example" : "@acme.example");
                    try {
                        if (w % 2 == 0) {
                            const Bytes c = caps(static_cast<std::uint8_t>(w));
                            if (!store->store(addr(a.c_str()), ders[k], ByteView(c), 1000 + i)) ++errors;
                        } else {
                            for (const auto& found : store->lookup(addr(a.c_str())))
                                if (found.cert.der() != ders[k]) ++errors;
                        }
                    } catch (const std::exception&) {
                        ++errors;
                    }
                }
            });
        for (auto& th : threads) th.join();
        CPPUNIT_ASSERT_EQUAL(0, errors.load());
        for (std::size_t k = 0; k < names.size(); ++k) {
            const std::string a = names[k] + (k >= 4 ? "@partner.example" : "@acme.example");
            const auto found = store->lookup(addr(a.c_str()));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(a, std::size_t{1}, found.size());
            CPPUNIT_ASSERT(found[0].harvested_at >= 1000 && found[0].smime_capabilities_der);
        }
    }

    void harvest_open_close_race()
    {
        // Stores made and dropped concurrently on one folder (as reloads do) share or reopen
        // the environment without ever having it open twice.
        test::TempDir t;
        const Bytes der = fx::der_of("alice");
        std::atomic<int> errors{0};
        std::vector<std::thread> threads;
        for (int w = 0; w < 4; ++w)
            threads.emplace_back([&, w] {
                for (int i = 0; i < 25; ++i) {
                    try {
                        HarvestStore store(t.path());
                        if (w == 0) store.store(addr("alice@acme.example"), der, std::nullopt, i);
                        else if (store.lookup(addr("alice@acme.example")).size() > 1) ++errors;
                    } catch (const std::exception&) {
                        ++errors;
                    }
                }
            });
        for (auto& th : threads) th.join();
        CPPUNIT_ASSERT_EQUAL(0, errors.load());
        CPPUNIT_ASSERT_EQUAL(std::time_t{24}, HarvestStore(t.path()).lookup(addr("alice@acme.example")).at(0).harvested_at);
    }

    void harvest_second_process()
    {
        // Another process (a second milter worker) stores; this one sees it after reopening.
        test::TempDir t;
        const Bytes der = fx::der_of("carol");
        const pid_t pid = fork();
        CPPUNIT_ASSERT(pid >= 0);
        if (pid == 0) {
            int rc = 1;
            try {
                HarvestStore store(t.path());
                rc = store.store(addr("carol@acme.example"), der, ByteView(caps(9)), 42) ? 0 : 2;
            } catch (...) {
                rc = 3;
            }
            _exit(rc);
        }
        int status = 0;
        CPPUNIT_ASSERT_EQUAL(pid, waitpid(pid, &status, 0));
        CPPUNIT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        HarvestStore store(t.path());
        const auto found = store.lookup(addr("carol@acme.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, found.size());
        CPPUNIT_ASSERT_EQUAL(std::time_t{42}, found[0].harvested_at);
    }

    void choice_table()
    {
        const std::time_t now = std::time(nullptr);
        struct Case {
            const char* address;
            std::vector<const char*> candidates;
            const char* chosen;                // nullptr: none
            std::vector<const char*> reasons;  // substrings, one per rejected candidate
        };
        const std::vector<Case> cases = {
            {"alice@acme.example", {"alice"}, "alice", {}},
            {"Bob@Acme.Example", {"bob"}, "bob", {}},
            {"xavier@acme.example", {"x25519"}, "x25519", {}},
            {"noeku@acme.example", {"noeku"}, "noeku", {}},
            {"anyeku@acme.example", {"anyeku"}, "anyeku", {}},
            {"legacy@acme.example", {"legacy"}, "legacy", {}},
            {"expired@acme.example", {"expired"}, nullptr,
             {"test:expired (serial 1000): expired 2021-01-01T00:00:00Z"}},
            {"notyet@acme.example", {"notyet"}, nullptr, {"not valid before 2040-01-01T00:00:00Z"}},
            {"serveronly@acme.example", {"serveronly"}, nullptr, {"extended key usage lacks emailProtection"}},
            {"sigonly@acme.example", {"sigonly"}, nullptr, {"key usage lacks keyEncipherment (RSA key)"}},
            {"ecsig@acme.example", {"ecsig"}, nullptr, {"key usage lacks keyAgreement (EC P-256 key)"}},
            {"ed@acme.example", {"ed"}, nullptr, {"Ed25519 key cannot be used for encryption"}},
            {"ca-flag@acme.example", {"caflag"}, nullptr, {"is a CA certificate"}},
            {"self@acme.example", {"selfsigned"}, nullptr, {"chain: untrusted: no path to a trust anchor"}},
            {"revoked@acme.example", {"revoked"}, nullptr, {"chain: revoked"}},
            {"mallory@acme.example", {"mallory"}, nullptr, {"chain: untrusted"}},
            {"alice@acme.example", {"wrongaddr", "expired", "alice", "bob"}, "alice",
             {"test:wrongaddr", "not issued for alice@acme.example", "test:bob"}},
            {"carol@acme.example", {}, nullptr, {}},
            // PRODUCT §7: the issuing CA that came with it (not in the store) completes the
            // path; it is chain material, not a rejected candidate.
            {"chained@acme.example", {"chained"}, nullptr, {"chain: untrusted: no path to a trust anchor"}},
            {"chained@acme.example", {"partner-ca", "chained"}, "chained", {}},
        };
        for (const auto& c : cases) {
            std::vector<CertificateCandidate> candidates;
            for (const char* n : c.candidates) candidates.push_back(candidate(n));
            const auto choice = choose_encryption_certificate(addr(c.address), std::move(candidates), *trust(), now);
            const std::string msg = std::string(c.address) + ":\n" + join(choice.rejected_reasons);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.chosen != nullptr, choice.chosen.has_value());
            if (c.chosen) {
                CPPUNIT_ASSERT_MESSAGE(msg, choice.chosen->der == fx::der_of(c.chosen));
                CPPUNIT_ASSERT_EQUAL(std::string("test:") + c.chosen, choice.chosen->source);
                CPPUNIT_ASSERT(choice.chosen->facts.sha256_fingerprint.size() == 32);
            }
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.reasons.size(), choice.rejected_reasons.size());  // chain material is not listed
            for (const char* r : c.reasons) CPPUNIT_ASSERT_MESSAGE(msg + " lacks " + r, contains(choice.rejected_reasons, r));
        }
    }

    // RFC 8551 §2.3: sending agents SHOULD NOT encrypt to an RSA key shorter than 2048 bits.
    // A partner's 1024-bit certificate, otherwise in order, was chosen (found by
    // tests/integration/test_cert_shapes.sh, shape rsa-1024); a 2048-bit one beside it wins.
    void choice_refuses_short_rsa_keys()
    {
        test::TempDir t;
        const std::string ca = fx::dir().string();
        test::run("cd '" + t.path().string() + "' && export OPENSSL_CONF=/dev/null && "
                  "openssl req -new -newkey rsa:1024 -nodes -keyout k.pem -subj /CN=short -out r.csr 2>/dev/null && "
                  "printf '[ee]\\nbasicConstraints=critical,CA:false\\nkeyUsage=critical,keyEncipherment\\n"
                  "extendedKeyUsage=emailProtection\\nsubjectAltName=email:twin@acme.example\\n' >ee.ext && "
                  "openssl x509 -req -in r.csr -CA '" + ca + "/sub-ca.cert.pem' -CAkey '" + ca + "/sub-ca.key.pem' "
                  "-set_serial 0x1024 -days 30 -extfile ee.ext -extensions ee -outform DER -out short.der 2>/dev/null");
        const std::string der = test::read_file(t.path() / "short.der");
        const auto shared = pki::SharedCertificate::parse_der(Bytes(der.begin(), der.end()));
        CPPUNIT_ASSERT(shared && shared->facts().key_bits == 1024);
        const std::time_t now = std::time(nullptr);
        const auto problems = encryption_problems(*shared, shared->facts(), "twin@acme.example", *trust(), now);
        CPPUNIT_ASSERT_MESSAGE(join(problems), contains(problems, "RSA key of 1024 bits is shorter than 2048"));
        std::vector<CertificateCandidate> c{CertificateCandidate{*shared, "test:short", std::nullopt, 0}};
        CPPUNIT_ASSERT(!choose_encryption_certificate(addr("twin@acme.example"), c, *trust(), now).chosen);
        c.push_back(candidate("twin-old"));  // older than the short key's certificate
        const auto choice = choose_encryption_certificate(addr("twin@acme.example"), c, *trust(), now);
        CPPUNIT_ASSERT_MESSAGE(join(choice.rejected_reasons),
                               choice.chosen && choice.chosen->der == fx::der_of("twin-old"));
    }

    // A DANE-EE candidate (SMIMEA usage 3) needs no chain to our anchors when the choice trusts
    // DANE-EE ([directory.smimea] trust_dane_ee); every check of the certificate itself still
    // applies. Without the option the mark changes nothing.
    void choice_dane_ee_skips_only_the_chain()
    {
        const std::time_t now = std::time(nullptr);
        struct Case {
            const char* address;
            const char* name;
            bool dane_ee;
            bool usable;
        };
        for (const Case& c : {Case{"mallory@acme.example", "mallory", false, false},  // untrusted CA
                              Case{"mallory@acme.example", "mallory", true, true},
                              Case{"self@acme.example", "selfsigned", true, true},
                              Case{"expired@acme.example", "expired", true, false},
                              Case{"sigonly@acme.example", "sigonly", true, false},
                              Case{"alice@acme.example", "mallory", true, false},      // another address
                              Case{"ca-flag@acme.example", "caflag", true, false}}) {
            std::vector<CertificateCandidate> candidates{candidate(c.name)};
            candidates.back().dane_ee = c.dane_ee;
            const std::string msg = std::string(c.name) + (c.dane_ee ? " dane-ee" : "");
            const auto choice = choose_encryption_certificate(addr(c.address), candidates, *trust(), now, true);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg + ": " + join(choice.rejected_reasons), c.usable, choice.chosen.has_value());
            if (!c.usable && c.dane_ee)
                CPPUNIT_ASSERT_MESSAGE(msg, !contains(choice.rejected_reasons, "chain"));
            const auto untrusted = choose_encryption_certificate(addr(c.address), std::move(candidates), *trust(), now, false);
            if (c.dane_ee && c.usable)  // usable only through the DNSSEC proof: refused without it
                CPPUNIT_ASSERT_MESSAGE(msg, !untrusted.chosen && contains(untrusted.rejected_reasons, "chain: untrusted"));
        }
    }

    void choice_newest_wins()
    {
        const std::time_t now = std::time(nullptr);
        for (bool reversed : {false, true}) {
            std::vector<CertificateCandidate> c;
            c.push_back(candidate(reversed ? "twin-new" : "twin-old"));
            c.push_back(candidate(reversed ? "twin-old" : "twin-new"));
            c.back().smime_capabilities_der = caps(3);
            const auto choice = choose_encryption_certificate(addr("twin@acme.example"), std::move(c), *trust(), now);
            CPPUNIT_ASSERT(choice.chosen && choice.chosen->der == fx::der_of("twin-new"));
            CPPUNIT_ASSERT(choice.rejected_reasons.empty());
            // The capabilities travel with the certificate they came with.
            CPPUNIT_ASSERT_EQUAL(!reversed, choice.chosen->smime_capabilities_der.has_value());
        }
    }

    // [[pki.anchor]]: a certificate whose only anchor vouches for other domains is no candidate
    // for its address, from any source (the resolver and ssmctl call the same checks).
    void choice_needs_an_anchor_for_the_domain()
    {
        pki::TrustStoreConfig partner_only = fx::store_paths();  // makes the PKI, now-dated
        const std::time_t now = std::time(nullptr);
        partner_only.revocation = pki::Revocation::Off;
        partner_only.scopes.anchors.push_back({"root-ca.cert.pem", {"partner.example"}});
        const auto scoped = std::make_shared<const pki::TrustStore>(partner_only);
        std::vector<CertificateCandidate> c;
        c.push_back(candidate("twin-new"));
        const auto refused = choose_encryption_certificate(addr("twin@acme.example"), c, *scoped, now);
        CPPUNIT_ASSERT(!refused.chosen);
        CPPUNIT_ASSERT_MESSAGE(join(refused.rejected_reasons),
                               contains(refused.rejected_reasons, "anchor not trusted for domain acme.example"));
        const auto problems = encryption_problems(fx::cert("twin-new"), pki::facts(fx::cert("twin-new")),
                                                  "twin@acme.example", *scoped, now);
        CPPUNIT_ASSERT_MESSAGE(join(problems), contains(problems, "anchor not trusted for domain acme.example"));
        // Bound to the address's domain (as well), the same certificate is chosen.
        pki::TrustStoreConfig ours = partner_only;
        ours.scopes.anchors.push_back({"root-ca.cert.pem", {"acme.example"}});
        const auto chosen = choose_encryption_certificate(addr("twin@acme.example"), c,
                                                          pki::TrustStore(ours), now);
        CPPUNIT_ASSERT_MESSAGE(join(chosen.rejected_reasons), chosen.chosen.has_value());
    }

    void resolver_order_and_failures()
    {
        test::TempDir t;
        fs::create_directories(t.path() / "static");
        fs::copy_file(fx::cert_path("twin-old"), t.path() / "static/twin-old.pem");
        fs::copy_file(fx::cert_path("expired"), t.path() / "static/expired.pem");
        auto stat = std::make_shared<StaticFolderSource>(t.path() / "static");
        auto harvest = std::make_shared<HarvestStore>(t.path() / "cache");
        CPPUNIT_ASSERT(harvest->store(addr("twin@acme.example"), fx::der_of("twin-new"), ByteView(caps(4))));
        CPPUNIT_ASSERT(harvest->store(addr("carol@acme.example"), fx::der_of("carol"), ByteView(caps(5))));
        auto down = std::make_shared<UnreachableSource>();
        const std::time_t now = std::time(nullptr);

        // The first source with a usable certificate wins, even when a later one has a newer one.
        CertificateResolver r1({stat, harvest}, trust());
        auto twin = r1.find(addr("twin@acme.example"), now);
        CPPUNIT_ASSERT(twin.chosen && twin.chosen->der == fx::der_of("twin-old"));
        CPPUNIT_ASSERT_EQUAL(std::string("static:twin-old.pem"), twin.chosen->source);
        // A source with nothing usable passes on, and its rejections are kept.
        auto carol = r1.find(addr("carol@acme.example"), now);
        CPPUNIT_ASSERT(carol.chosen && carol.chosen->source == "harvested");
        CPPUNIT_ASSERT(carol.chosen->smime_capabilities_der == caps(5));
        auto expired = r1.find(addr("expired@acme.example"), now);
        CPPUNIT_ASSERT(!expired.chosen);
        CPPUNIT_ASSERT(contains(expired.rejected_reasons, "static:expired.pem (serial 1000): expired 2021-01-01"));

        // An unreachable source is skipped when a later one answers...
        CertificateResolver r2({down, stat, harvest}, trust());
        auto t2 = r2.find(addr("twin@acme.example"), now);
        CPPUNIT_ASSERT(t2.chosen && t2.chosen->source == "static:twin-old.pem");
        CPPUNIT_ASSERT(contains(t2.rejected_reasons, "ldap://127.0.0.1:1: unavailable: connection refused"));
        // ...and its failure is what the caller sees when nobody else has a usable certificate.
        try {
            r2.find(addr("expired@acme.example"), now);
            CPPUNIT_FAIL("DirectoryUnavailable was swallowed");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
        }
        // No certificate anywhere and every source reachable: an empty choice, not an error.
        CertificateResolver r3({stat, harvest}, trust());
        auto none = r3.find(addr("nobody@acme.example"), now);
        CPPUNIT_ASSERT(!none.chosen && none.rejected_reasons.empty());
        // Failures other than an unreachable directory are not masked.
        auto broken = std::make_shared<UnreachableSource>(Failure::Internal);
        CertificateResolver r4({broken, stat}, trust());
        CPPUNIT_ASSERT_THROW(r4.find(addr("twin@acme.example"), now), Error);
        // A source after the winner is not asked.
        auto later = std::make_shared<UnreachableSource>();
        CertificateResolver r5({stat, later}, trust());
        CPPUNIT_ASSERT(r5.find(addr("twin@acme.example"), now).chosen.has_value());
        CPPUNIT_ASSERT_EQUAL(0, later->calls.load());
    }

    // A cut answer is used when what it kept is usable; otherwise nothing is chosen (no 451:
    // the directory answers the same at every retry), later sources are still asked, and the
    // cut is the first reason, which the refusal quotes.
    void resolver_cut_answers()
    {
        test::TempDir t;
        fs::create_directories(t.path() / "static");
        fs::copy_file(fx::cert_path("twin-old"), t.path() / "static/twin-old.pem");
        auto stat = std::make_shared<StaticFolderSource>(t.path() / "static");
        const std::time_t now = std::time(nullptr);

        CertificateResolver usable({std::make_shared<CutSource>(std::vector<std::string>{"carol"})}, trust());
        auto carol = usable.find(addr("carol@acme.example"), now);
        CPPUNIT_ASSERT_MESSAGE(join(carol.rejected_reasons), carol.chosen.has_value());
        CPPUNIT_ASSERT_EQUAL(std::string("test:carol"), carol.chosen->source);

        auto expired_only = std::make_shared<CutSource>(std::vector<std::string>{"expired"});
        CertificateResolver r({expired_only, stat}, trust());
        auto expired = r.find(addr("expired@acme.example"), now);
        CPPUNIT_ASSERT(!expired.chosen);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, expired.rejected_reasons.size());
        CPPUNIT_ASSERT_EQUAL(std::string("ldap:ldap://cut.example: answer cut: 2 value(s) left out by the limits"),
                             expired.rejected_reasons.front());
        CPPUNIT_ASSERT(contains(expired.rejected_reasons, "expired 2021-01-01"));
        // A later source's usable certificate still wins.
        auto twin = r.find(addr("twin@acme.example"), now);
        CPPUNIT_ASSERT(twin.chosen && twin.chosen->source == "static:twin-old.pem");
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DirectoryTest);
