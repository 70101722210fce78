// Unit tests for online revocation (pki/revocation.h, pki/http_fetcher.h) against real servers on
// 127.0.0.1: CRLs made by `openssl ca -gencrl` served by python3 -m http.server, and an
// `openssl ocsp` responder with a delegated signing certificate. The certificates name those
// ports in crlDistributionPoints and authorityInfoAccess. Requests are counted in server logs.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <memory>
#include <thread>

#include "pki/revocation.h"
#include "pki/trust_store.h"
#include "tests/unit/test_revocation_support.h"

using namespace ssm;
using namespace ssm::pki;
namespace fs = std::filesystem;

namespace {

// $1 folder, $2 CRL port, $3 OCSP port, $4 a port nobody listens on.
const char* revocation_script = R"SH(
set -eu
cd "$1"
crl=$2 ocsp=$3 dead=$4
export OPENSSL_CONF=/dev/null
mkdir -p www
cadir() {
  mkdir -p $1/new; : > $1/index.txt; echo 1000 > $1/serial; echo 1000 > $1/crlnumber
  printf '[ca]\ndefault_ca=c\n[c]\ndir=%s\ndatabase=$dir/index.txt\nnew_certs_dir=$dir/new\ncertificate=%s.pem\nprivate_key=%s.key\nserial=$dir/serial\ncrlnumber=$dir/crlnumber\ndefault_md=sha256\npolicy=p\nunique_subject=no\ndefault_crl_days=2\ndefault_days=365\n[p]\ncommonName=supplied\n' $1 $1 $1 > $1/ca.cnf
}
# issue CA NAME EXTENSIONS
issue() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $2.key 2>/dev/null
  openssl req -new -key $2.key -subj "/CN=$2" -out $2.csr 2>/dev/null
  printf '[x]\n%b\n' "$3" > $2.ext
  openssl ca -batch -notext -config $1/ca.cnf -in $2.csr -out $2.pem -extfile $2.ext -extensions x 2>>openssl.log
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -subj /CN=rev-root \
  -days 365 -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
  -addext subjectKeyIdentifier=hash 2>/dev/null
cadir root
ca='basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
issue root ica "$ca\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/root.crl"
cadir ica
ee='basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
both="authorityInfoAccess=OCSP;URI:http://127.0.0.1:$ocsp/\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/ica.crl"
issue ica good "$ee\n$both"
issue ica revoked-ocsp "$ee\n$both"
issue ica crl-good "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/ica.crl"
issue ica crl-revoked "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/ica.crl"
issue ica dead "$ee\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:$dead/\ncrlDistributionPoints=URI:http://127.0.0.1:$dead/ica.crl"
issue ica none "$ee"
issue ica responder "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,OCSPSigning"
openssl ca -batch -config ica/ca.cnf -revoke revoked-ocsp.pem -crl_reason keyCompromise 2>>openssl.log
openssl ca -batch -config ica/ca.cnf -revoke crl-revoked.pem 2>>openssl.log
openssl ca -batch -config ica/ca.cnf -gencrl -out ica.crl.pem 2>>openssl.log
openssl crl -in ica.crl.pem -outform DER -out www/ica.crl
openssl ca -batch -config root/ca.cnf -gencrl -out www/root.crl 2>>openssl.log
head -c 100000 /dev/urandom > www/big.bin
)SH";

struct Pki {
    test::TempDir dir;
    int crl_port = test::free_port();
    int ocsp_port = test::free_port();
    int dead_port = test::free_port();
    Pki()
    {
        test::write_file(dir.path() / "make.sh", revocation_script);
        test::run("sh '" + (dir.path() / "make.sh").string() + "' '" + dir.path().string() + "' " +
                  std::to_string(crl_port) + " " + std::to_string(ocsp_port) + " " + std::to_string(dead_port) +
                  " || (cat '" + (dir.path() / "openssl.log").string() + "'; false)");
    }
    Certificate cert(const std::string& name) const
    {
        auto v = Certificate::load_file(dir.path() / (name + ".pem"));
        return std::move(v.front());
    }
    std::unique_ptr<test::Server> crl_server() const
    {
        return std::make_unique<test::Server>(
            std::vector<std::string>{"python3", "-m", "http.server", std::to_string(crl_port), "--bind", "127.0.0.1",
                                     "--directory", (dir.path() / "www").string()},
            dir.path(), dir.path() / "crl-server.log", crl_port);
    }
    std::unique_ptr<test::Server> ocsp_server() const
    {
        // stdbuf: the responder's stdout (one response text per request) reaches the log at once;
        // -ignore_err: the readiness probe (connect, close) must not end it.
        return std::make_unique<test::Server>(
            std::vector<std::string>{"stdbuf", "-o0", "openssl", "ocsp", "-index", "ica/index.txt", "-CA", "ica.pem",
                                     "-rsigner", "responder.pem", "-rkey", "responder.key", "-port",
                                     std::to_string(ocsp_port), "-ndays", "1", "-resp_text",
                                     "-ignore_err"},
            dir.path(), dir.path() / "ocsp-server.log", ocsp_port);
    }
    // A store with the root as anchor and the issuing CA as intermediate.
    std::unique_ptr<TrustStore> store(Revocation mode) const
    {
        std::vector<Certificate> anchors, inter;
        anchors.push_back(cert("root"));
        inter.push_back(cert("ica"));
        OnlineRevocationConfig online;
        online.limits.connect_timeout = std::chrono::milliseconds(1000);
        online.limits.timeout = std::chrono::milliseconds(3000);
        return std::make_unique<TrustStore>(std::move(anchors), std::move(inter), mode, online);
    }
};

const Pki& fixture()
{
    static const Pki p;
    return p;
}

std::string notes(const ValidationResult& r)
{
    std::string out;
    for (const auto& n : r.notes) out += n + "\n";
    return r.describe() + " | " + out;
}

bool any_note(const ValidationResult& r, const std::string& text)
{
    for (const auto& n : r.notes)
        if (n.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

class RevocationTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RevocationTest);
    CPPUNIT_TEST(fetcher_limits);
    CPPUNIT_TEST(statuses_table);
    CPPUNIT_TEST(responder_down);
    CPPUNIT_TEST(answers_are_cached);
    CPPUNIT_TEST(concurrent_validation);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { (void)fixture(); }

    void fetcher_limits()
    {
        const auto& p = fixture();
        const auto server = p.crl_server();
        const CurlFetcher f;
        const std::string base = "http://127.0.0.1:" + std::to_string(p.crl_port) + "/";
        FetchLimits small;
        small.max_bytes = 50000;
        struct Case {
            std::string url;
            bool ok;
            FetchLimits limits;
        };
        const FetchLimits normal;
        const std::vector<Case> cases = {
            {base + "ica.crl", true, normal},
            {base + "big.bin", true, normal},
            {base + "big.bin", false, small},  // larger than the limit
            {base + "absent.crl", false, normal},  // 404
            {"https://127.0.0.1:" + std::to_string(p.crl_port) + "/ica.crl", false, normal},
            {"file:///etc/passwd", false, normal},
            {"http://127.0.0.1:" + std::to_string(p.dead_port) + "/x", false, normal},
            {"http:///nohost", false, normal},
            {base + "ica.crl\r\nX: y", false, normal},
        };
        for (const auto& c : cases) CPPUNIT_ASSERT_EQUAL_MESSAGE(c.url, c.ok, f.get(c.url, c.limits).has_value());
        CPPUNIT_ASSERT_EQUAL(std::size_t{100000}, f.get(base + "big.bin", {})->size());
    }

    void statuses_table()
    {
        const auto& p = fixture();
        const auto crl_server = p.crl_server();
        const auto ocsp_server = p.ocsp_server();
        const std::time_t now = std::time(nullptr);
        struct Case {
            const char* name;
            Revocation mode;
            std::vector<Problem> problems;
            const char* text;  // in describe() or a note
        };
        const std::vector<Case> cases = {
            {"good", Revocation::HardFail, {}, "good by OCSP http://127.0.0.1"},
            {"good", Revocation::SoftFail, {}, "good by OCSP"},
            {"revoked-ocsp", Revocation::SoftFail, {Problem::Revoked}, "revoked (OCSP http://127.0.0.1"},
            {"revoked-ocsp", Revocation::HardFail, {Problem::Revoked}, "reason 1"},  // keyCompromise
            {"crl-good", Revocation::HardFail, {}, "good by CRL http://127.0.0.1"},
            {"crl-revoked", Revocation::SoftFail, {Problem::Revoked}, "revoked (CRL http://127.0.0.1"},
            {"none", Revocation::SoftFail, {}, "unknown (soft-fail)"},
            {"none", Revocation::HardFail, {Problem::RevocationUnknown}, "no OCSP responder"},
            {"revoked-ocsp", Revocation::Off, {}, "valid"},
        };
        for (const auto& c : cases) {
            const auto store = p.store(c.mode);
            const auto r = store->validate(p.cert(c.name), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(c.name) + " mode " + std::to_string(static_cast<int>(c.mode)) + ": " +
                                    notes(r);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.problems.size(), r.problems.size());
            for (auto pr : c.problems) CPPUNIT_ASSERT_MESSAGE(msg, r.has(pr));
            CPPUNIT_ASSERT_MESSAGE(msg, r.describe().find(c.text) != std::string::npos || any_note(r, c.text));
        }
        // The issuing CA's own status came from the root's CRL distribution point.
        const auto store = p.store(Revocation::HardFail);
        const auto r = store->validate(p.cert("good"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(r), any_note(r, "CA certificate 'CN=ica' good by CRL"));
        // A per-validation override: a store in soft-fail asked for hard-fail.
        ValidationOptions hard;
        hard.revocation = Revocation::HardFail;
        CPPUNIT_ASSERT(p.store(Revocation::SoftFail)
                           ->validate(p.cert("none"), {}, now, Purpose::EmailProtection, hard)
                           .has(Problem::RevocationUnknown));
        // Offline validation (no network) of a revoked certificate passes in soft-fail.
        ValidationOptions offline;
        offline.online_revocation = false;
        CPPUNIT_ASSERT(p.store(Revocation::SoftFail)
                           ->validate(p.cert("revoked-ocsp"), {}, now, Purpose::EmailProtection, offline)
                           .valid());
        // An OCSP answer is believed only inside its window: a day and a half later (-ndays 1)
        // the fresh answer is stale, and the CRL (2 days) still answers.
        const auto later = p.store(Revocation::HardFail)
                               ->validate(p.cert("good"), {}, now + 36 * 3600, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(later), later.valid() && any_note(later, "certificate good by CRL"));
    }

    void responder_down()
    {
        const auto& p = fixture();
        const std::time_t now = std::time(nullptr);
        const auto start = std::chrono::steady_clock::now();
        // No server at all: the dead ports refuse, the CRL server for the CA is absent too.
        const auto soft = p.store(Revocation::SoftFail)->validate(p.cert("dead"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(soft), soft.valid() && any_note(soft, "unknown (soft-fail)"));
        const auto hard = p.store(Revocation::HardFail)->validate(p.cert("dead"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(hard), hard.has(Problem::RevocationUnknown) && !hard.has(Problem::Revoked));
        CPPUNIT_ASSERT_MESSAGE(hard.describe(), hard.describe().find("no answer") != std::string::npos);
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    }

    void answers_are_cached()
    {
        const auto& p = fixture();
        const auto crl_server = p.crl_server();
        const auto ocsp_server = p.ocsp_server();
        const std::size_t ocsp0 = ocsp_server->count("OCSP Response Data:");
        const std::size_t root0 = crl_server->count("GET /root.crl");
        const std::size_t ica0 = crl_server->count("GET /ica.crl");
        const auto store = p.store(Revocation::HardFail);
        const std::time_t now = std::time(nullptr);
        struct Step {
            const char* name;
            std::size_t ocsp, root_crl, ica_crl;  // requests seen so far by this store
            bool cached;                           // the end entity's answer came from the cache
        };
        const Step steps[] = {
            {"good", 1, 1, 0, false},
            {"good", 1, 1, 0, true},      // nothing fetched again
            {"crl-good", 1, 1, 1, false}, // the CA's CRL is fetched once...
            {"crl-revoked", 1, 1, 1, true},  // ...and answers for its other certificates
            {"good", 1, 1, 1, true},
        };
        for (const auto& s : steps) {
            const auto r = store->validate(p.cert(s.name), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(s.name) + ": " + notes(r);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the servers log
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, s.ocsp, ocsp_server->count("OCSP Response Data:") - ocsp0);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, s.root_crl, crl_server->count("GET /root.crl") - root0);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, s.ica_crl, crl_server->count("GET /ica.crl") - ica0);
            CPPUNIT_ASSERT_MESSAGE(msg, any_note(r, "(cached)") || !s.cached);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, std::string(s.name) != "crl-revoked", r.valid());
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, store->revocation_checker()->ocsp().cache_size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, store->revocation_checker()->crls().cache_size());
        // Once the answers expire (OCSP nextUpdate in 1 day, CRLs in 2), they are fetched again.
        const auto r = store->validate(p.cert("good"), {}, now + 3 * 86400, Purpose::EmailProtection);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(notes(r), std::size_t{2}, ocsp_server->count("OCSP Response Data:") - ocsp0);
    }

    void concurrent_validation()
    {
        const auto& p = fixture();
        const auto crl_server = p.crl_server();
        const auto ocsp_server = p.ocsp_server();
        const auto store = p.store(Revocation::HardFail);
        const std::time_t now = std::time(nullptr);
        std::atomic<int> wrong{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&] {
                const auto good = p.cert("good");
                const auto revoked = p.cert("crl-revoked");
                for (int i = 0; i < 10; ++i) {
                    if (!store->validate(good, {}, now, Purpose::EmailProtection).valid()) ++wrong;
                    if (!store->validate(revoked, {}, now, Purpose::EmailProtection).has(Problem::Revoked)) ++wrong;
                }
            });
        for (auto& t : threads) t.join();
        CPPUNIT_ASSERT_EQUAL(0, wrong.load());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RevocationTest);
