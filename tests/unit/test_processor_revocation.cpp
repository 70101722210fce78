// Unit tests for [pki] revocation_time_budget as MessageProcessor spends it outbound: one budget
// per SMTP transaction, shared by the recipients' certificate validations at RCPT time, a new one
// after the next MAIL FROM. Real parts: a SoftHSM token (fixture scripts), recipient certificates
// issued by OpenSSL whose OCSP responders are URLs of a real Python HTTP server on 127.0.0.1 that
// never answers (each request is logged before it stalls).
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <sstream>

#include "pki/revocation.h"
#include "tests/unit/test_processor_support.h"
#include "tests/unit/test_revocation_support.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

// $1 the test PKI folder (sub-ca issues), $2 the stalling server's port, then names: NAME.cert.pem
// for NAME@partner.example, its AIA naming three OCSP responders http://127.0.0.1:$2/NAME-1..3.
const char* issue_script = R"SH(
set -eu
cd "$1"; port=$2; shift 2
export OPENSSL_CONF=/dev/null
for n in "$@"; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $n.key.pem 2>/dev/null
  openssl req -new -key $n.key.pem -subj "/O=SSM Test/CN=$n" -out $n.csr 2>/dev/null
  u=http://127.0.0.1:$port/$n
  printf '[ee]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,keyEncipherment\n%s\n%s\n%s\n' \
    "extendedKeyUsage=emailProtection" "subjectAltName=email:$n@partner.example" \
    "authorityInfoAccess=OCSP;URI:$u-1,OCSP;URI:$u-2,OCSP;URI:$u-3" > $n.ext
  openssl x509 -req -in $n.csr -CA sub-ca.cert.pem -CAkey sub-ca.key.pem -CAcreateserial -days 30 \
    -extfile $n.ext -extensions ee -out $n.cert.pem 2>/dev/null
done
)SH";

// Logs "ASKED /PATH" for every request, then holds it for a minute without an answer.
const char* stall_server = R"PY(
import http.server, sys, time
class Handler(http.server.BaseHTTPRequestHandler):
    def stall(self):
        sys.stderr.write("ASKED %s\n" % self.path)
        sys.stderr.flush()
        time.sleep(60)
    do_GET = stall
    do_POST = stall
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
)PY";

const std::vector<std::string> kSlow = {"slow1", "slow2", "slow3", "slow4"};

struct Fixture : test::ProcessorToken {
    int port = test::free_port();
    std::unique_ptr<test::Server> server;

    Fixture() : ProcessorToken("alice")
    {
        std::string names;
        for (const auto& n : kSlow) names += " " + n;
        test::write_file(dir.path() / "issue.sh", issue_script);
        test::run("sh '" + (dir.path() / "issue.sh").string() + "' '" + pki.string() + "' " + std::to_string(port) +
                  names + " fresh");
        std::filesystem::create_directories(dir.path() / "certs");
        for (const auto& n : kSlow) copy_certificates({n.c_str()});
        copy_certificates({"fresh"});
        // The list's key on the token; stranger@partner.example's certificate is self-signed
        // (untrusted whatever its revocation status); the list message, encrypted by OpenSSL.
        issue_identity("team", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "Team", "team@acme.example",
                       "digitalSignature,keyEncipherment");
        import_identity("team", "30", "--usage-sign --usage-decrypt");
        test::run("cd '" + dir.path().string() + "' && export OPENSSL_CONF=/dev/null && "
                  "openssl req -x509 -newkey rsa:2048 -nodes -keyout stranger.key.pem -subj /CN=stranger -days 30 "
                  "-addext subjectAltName=email:stranger@partner.example -addext keyUsage=critical,keyEncipherment "
                  "-addext extendedKeyUsage=emailProtection -out certs/stranger.cert.pem 2>/dev/null && "
                  "printf 'Content-Type: text/plain\\r\\n\\r\\nMinutes.\\r\\n' > content.txt && "
                  "openssl cms -encrypt -aes256 -in content.txt -outform SMIME '" + (pki / "team.cert.pem").string() +
                  "' > list.eml");
        // The same encrypted message under dave's signature (triple wrapping without the inner
        // signature: how a list that is a member of another list passes it on), and a signed
        // message that is not encrypted, without smime-type (S/MIME v2 clients).
        const std::string signer = " -signer '" + (pki / "dave.cert.pem").string() + "' -inkey '" +
                                   (pki / "dave.key.pem").string() + "' -outform SMIME";
        test::run("cd '" + dir.path().string() + "' && export OPENSSL_CONF=/dev/null && "
                  "perl -0pe 's/\\n+\\z/\\n/' list.eml > list-entity.eml && "
                  "openssl cms -sign -in list-entity.eml" + signer + " | tr -d '\\r' > list-triple.eml && "
                  "openssl cms -sign -nodetach -in content.txt" + signer +
                  " | sed 's/ smime-type=signed-data;//' > list-unlabelled.eml && "
                  "grep -q '^Content-Type: application/pkcs7-mime; name=' list-unlabelled.eml");
        test::write_file(dir.path() / "stall.py", stall_server);
        server = std::make_unique<test::Server>(
            std::vector<std::string>{"python3", (dir.path() / "stall.py").string(), std::to_string(port)}, dir.path(),
            dir.path() / "stall.log", port);
    }

    // Each responder waits out fetch_timeout (1 s), so one certificate costs 3 s without a budget.
    std::shared_ptr<const Config> config(const std::string& revocation, const std::string& rest = "") const
    {
        return parse_config(
            "[milter]\ninternal_networks = [\"10.0.0.0/8\"]\nspool_dir = \"" + dir.path().string() +
                "\"\n[pki]\ntrust_anchors = \"" + (pki / "trust").string() + "\"\nintermediates = \"" +
                (pki / "intermediates").string() + "\"\ncrls = \"\"\nrevocation = \"" + revocation +
                "\"\nfetch_timeout = \"1s\"\nrevocation_time_budget = \"2s\"\n"
                "[directory]\nstatic_certificates = \"" + (dir.path() / "certs").string() + "\"\n"
                "[hsm]\ntoken_label = \"ssm-test\"\npin_file = \"" + (token / "pin").string() + "\"\n"
                "[[domain]]\nname = \"acme.example\"\n"
                "[[rule]]\nname = \"partner\"\ndirection = \"outbound\"\nto = [\"*@partner.example\"]\n"
                "sign = \"none\"\nencrypt = \"mandatory\"\n" + rest,
            "budget.toml");
    }

    std::size_t asked(const std::string& name) const { return server->count("ASKED /" + name + "-"); }
};

Fixture& fixture()
{
    static Fixture f;
    return f;
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The list message (OpenSSL's output, LF line ends) sent by dave@partner.example from outside
// to `list`: its header fields, then its body with CRLF line ends.
MessageOutcome send_list_message(MessageProcessor& p, const std::string& list, const std::string& eml)
{
    CPPUNIT_ASSERT(p.mail_from("<dave@partner.example>", "").verdict == Verdict::Continue);
    CPPUNIT_ASSERT(p.rcpt_to("<" + list + ">").verdict == Verdict::Continue);
    p.header("From", "dave@partner.example");
    p.header("To", list);
    const auto split = eml.find("\n\n");
    std::istringstream fields(eml.substr(0, split));
    for (std::string line; std::getline(fields, line);) {
        const auto colon = line.find(':');
        p.header(line.substr(0, colon), line.substr(colon + 2));
    }
    p.end_of_headers();
    std::string body;
    for (char c : eml.substr(split + 2)) body += c == '\n' ? std::string("\r\n") : std::string(1, c);
    p.body(as_bytes(body));
    return p.end_of_message();
}

// One SMTP session under `revocation` (config()'s rest `rest`) from `client` (10.1.1.1:
// internal, outbound), with the token's keys.
struct Session {
    std::shared_ptr<const Config> cfg;
    TokenKeySource keys;
    MessageProcessor p;
    Session(const std::shared_ptr<const Config>& config, const std::string& client = "10.1.1.1")
        : cfg(config), keys(cfg->hsm),
          p(cfg, Certificates::load(*cfg, nullptr), keys, ConnectionInfo{parse_ip_address(client), "", "", std::nullopt})
    {
    }
};

// MAIL FROM alice, then RCPT TO each of kSlow: the seconds the RCPTs took.
double rcpt_each_slow(MessageProcessor& p)
{
    CPPUNIT_ASSERT(p.mail_from("<alice@acme.example>", "").verdict == Verdict::Continue);
    const auto start = Clock::now();
    for (const auto& n : kSlow) p.rcpt_to("<" + n + "@partner.example>");
    return seconds_since(start);
}

bool mentions_spent(const MessageProcessor::Recipient& r)
{
    for (const auto& why : r.rejected_reasons)
        if (why.find(pki::kBudgetSpent) != std::string::npos) return true;
    return false;
}

}  // namespace

class ProcessorRevocationTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ProcessorRevocationTest);
    CPPUNIT_TEST(one_budget_per_transaction);
    CPPUNIT_TEST(hard_fail_after_budget);
    CPPUNIT_TEST(list_member_waits);
    CPPUNIT_TEST(list_member_waits_under_a_signature);
    CPPUNIT_TEST(list_member_not_asked_for_signed_mail);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { (void)fixture(); }

    // Four recipients whose certificates name stalling responders: the first RCPT spends the
    // transaction's 2 s; the others are not asked (soft-fail: accepted, encrypted to). One budget
    // per RCPT took 8 s. The next MAIL FROM starts a new budget. The upper time bounds leave
    // room for a loaded machine (the sanitizer build of this test runs beside the integration
    // tests); which responders were asked is what tells one budget from one per RCPT.
    void one_budget_per_transaction()
    {
        auto& f = fixture();
        Session s(f.config("soft-fail"));
        MessageProcessor& p = s.p;
        const double took = rcpt_each_slow(p);
        CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(took) + " s", took > 1.5 && took < 6.5);
        for (const auto& r : p.recipients())
            CPPUNIT_ASSERT_MESSAGE(r.text + ": " + r.reply.str(),
                                   r.reply.verdict == Verdict::Continue && r.certificate.has_value());
        CPPUNIT_ASSERT(f.asked("slow1") >= 1);
        for (std::size_t i = 1; i < kSlow.size(); ++i)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(kSlow[i], std::size_t(0), f.asked(kSlow[i]));

        // A new transaction, a new budget: "fresh" gets its responders asked again.
        CPPUNIT_ASSERT(p.mail_from("<alice@acme.example>", "").verdict == Verdict::Continue);
        const auto again = Clock::now();
        CPPUNIT_ASSERT(p.rcpt_to("<fresh@partner.example>").verdict == Verdict::Continue);
        const double fresh = seconds_since(again);
        CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(fresh) + " s", fresh > 1.5 && fresh < 6);
        CPPUNIT_ASSERT(f.asked("fresh") >= 1);
    }

    // Hard-fail: what the spent budget leaves unknown counts against the certificate, with the
    // reason naming the budget; still one budget for the whole transaction. Encryption being
    // mandatory, each recipient waits (451 4.7.1, retried in a transaction with a budget of its
    // own) rather than bounces: its certificate may be usable once the responders answer.
    void hard_fail_after_budget()
    {
        auto& f = fixture();
        Session s(f.config("hard-fail"));
        MessageProcessor& p = s.p;
        test::StderrCapture log(f.dir.path() / "hard-fail.log");
        const double took = rcpt_each_slow(p);
        const std::string logged = log.finish();
        // The log names whose check found the budget spent: every recipient's.
        for (const auto& n : kSlow)
            CPPUNIT_ASSERT_MESSAGE(logged, logged.find("pki_revocation_budget_spent for=" + n + "@partner.example ") !=
                                               std::string::npos);
        CPPUNIT_ASSERT_MESSAGE("took " + std::to_string(took) + " s", took > 1.5 && took < 6.5);
        for (const auto& r : p.recipients()) {
            CPPUNIT_ASSERT_MESSAGE(r.text, !r.certificate && r.reply.verdict == Verdict::TempFail);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.text, std::string("451 4.7.1"), r.reply.rcode + " " + r.reply.xcode);
            CPPUNIT_ASSERT_MESSAGE(r.reply.str(), r.reply.text.find("revocation status") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(r.text, mentions_spent(r));
        }
    }

    // Hard-fail, a list message encrypted to the list: a member whose certificate lacks only
    // revocation answers makes the message wait (451 4.7.1, the MTA retries with a new budget)
    // instead of losing that member; an untrusted member is still skipped, so a list of
    // nobody else has no member left (550, hidden as undecryptable: held).
    void list_member_waits()
    {
        auto& f = fixture();
        const auto cfg = f.config("hard-fail",
                                  "[[mail_list]]\naddress = \"team@acme.example\"\n"
                                  "members = [\"stranger@partner.example\", \"slow1@partner.example\"]\n"
                                  "[[mail_list]]\naddress = \"strangers@acme.example\"\nidentity = \"team@acme.example\"\n"
                                  "members = [\"stranger@partner.example\"]\n");
        const std::string eml = test::read_file(f.dir.path() / "list.eml");
        {
            Session s(cfg, "192.0.2.1");  // from outside
            const MessageOutcome out = send_list_message(s.p, "team@acme.example", eml);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(out.detail, std::string("451 4.7.1"), out.reply.rcode + " " + out.reply.xcode);
            CPPUNIT_ASSERT_MESSAGE(out.reply.str(), out.reply.text.find("slow1@partner.example") != std::string::npos);
            CPPUNIT_ASSERT(out.add_recipients.empty() && out.quarantine.empty());
        }
        {
            Session s(cfg, "192.0.2.1");
            const MessageOutcome out = send_list_message(s.p, "strangers@acme.example", eml);
            CPPUNIT_ASSERT_MESSAGE(out.detail, out.reply.verdict == Verdict::Accept && !out.quarantine.empty());
            CPPUNIT_ASSERT_MESSAGE(out.detail, out.detail.find("no member has a usable certificate") != std::string::npos);
        }
    }

    // Encrypted under an outer signature (its structure shows it without any decryption): the
    // wait is answered before anything is decrypted too, not held as an undecryptable message
    // (a held list message waits for an administrator, not for the responders).
    void list_member_waits_under_a_signature()
    {
        auto& f = fixture();
        const auto cfg = f.config("hard-fail", "[[mail_list]]\naddress = \"team@acme.example\"\n"
                                               "members = [\"stranger@partner.example\", \"slow1@partner.example\"]\n");
        Session s(cfg, "192.0.2.1");
        const MessageOutcome out =
            send_list_message(s.p, "team@acme.example", test::read_file(f.dir.path() / "list-triple.eml"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(out.detail, std::string("451 4.7.1"), out.reply.rcode + " " + out.reply.xcode);
        CPPUNIT_ASSERT_MESSAGE(out.reply.str(), out.reply.text.find("slow1@partner.example") != std::string::npos);
        CPPUNIT_ASSERT(out.add_recipients.empty() && out.quarantine.empty());
    }

    // A signed message that is not encrypted needs no member certificate: a member whose
    // revocation answers are missing does not make it wait (labelled as an S/MIME object
    // without smime-type, it was taken for an encrypted one). The member whose rule makes
    // encryption mandatory is skipped; the other gets it.
    void list_member_not_asked_for_signed_mail()
    {
        auto& f = fixture();
        const auto cfg = f.config("hard-fail", "[[mail_list]]\naddress = \"open@acme.example\"\nidentity = \"team@acme.example\"\n"
                                               "members = [\"slow1@partner.example\", \"someone@elsewhere.example\"]\n");
        Session s(cfg, "192.0.2.1");
        const MessageOutcome out =
            send_list_message(s.p, "open@acme.example", test::read_file(f.dir.path() / "list-unlabelled.eml"));
        CPPUNIT_ASSERT_MESSAGE(out.reply.str() + " " + out.detail, out.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_MESSAGE(out.detail, out.quarantine.empty() && out.detail.find("encrypted=no") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), out.add_recipients.size());
        CPPUNIT_ASSERT_EQUAL(std::string("someone@elsewhere.example"), out.add_recipients.at(0));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ProcessorRevocationTest);
