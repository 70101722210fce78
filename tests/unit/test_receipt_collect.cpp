// Unit tests for the milter side of answering receipt requests (milter/receipt_answer): which
// requests the inbound pass keeps (signers that passed; mlExpansionHistory of the outermost
// layer only; malformed values noted), the answer per identity under a configuration (rule
// keys answer_receipts / receipt_identity, [reinjection] off, no key on the token), the
// receipt message's header (peer text only when plain), and the signed-receipt test used
// outbound. The key source is a software key over the test PKI (no token in a unit test);
// the receipt it signs is checked with OpenSSL against the original, as the daemon's are in
// tests/integration/test_receipt_answer.sh.
#include <cppunit/extensions/HelperMacros.h>

#include <ctime>
#include <string>
#include <vector>

#include "base/error.h"
#include "milter/config.h"
#include "milter/receipt_answer.h"
#include "smime/cms/decode.h"
#include "smime/cms/oids.h"
#include "smime/cms/receipt.h"
#include "smime/cms/receipt_sign.h"
#include "tests/unit/soft_signer.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

// The token stand-in: the domain-signing key of the test PKI, or none.
class SoftKeys final : public KeySource {
public:
    explicit SoftKeys(bool have_key) : m_have(have_key) {}
    std::shared_ptr<smime::Signer> signer_for(const EmailAddress& a) override
    {
        if (!m_have || a.str() != "domain-signing-authority@acme.example") return nullptr;
        const auto& pki = test::program_pki();
        return std::make_shared<test::SoftSigner>(pki / "domain-signing.key.pem", pki / "domain-signing.cert.der",
                                                  std::vector<std::filesystem::path>{pki / "sub-ca.cert.der"});
    }
    void ensure_available() override {}
    std::vector<std::shared_ptr<smime::Decrypter>> decrypters() override { return {}; }

private:
    bool m_have;
};

std::string config_text(const test::TempDir& d, bool reinjection)
{
    test::write_file(d.path() / "secret", "0123456789abcdef0123456789abcdef");
    std::string c = R"toml([hsm]
token_label = "t"

[[domain]]
name = "acme.example"
signing_identity = "domain-signing-authority@acme.example"

[[rule]]
name = "answer"
direction = "inbound"
to = ["*@acme.example"]
answer_receipts = true

[[rule]]
name = "answer as the desk"
direction = "inbound"
to = ["*@desk.example"]
answer_receipts = true
receipt_identity = "Desk@Desk.example"
)toml";
    if (reinjection)
        c +=
            "\n[reinjection]\naddress = \"127.0.0.1:2525\"\nsecret_file = \"" + (d.path() / "secret").string() + "\"\n";
    return c;
}

smime::cms::SignerVerification signer_with(std::vector<std::pair<std::string, Bytes>> attrs)
{
    smime::cms::SignerVerification s;
    s.signature_valid = true;
    s.signature = Bytes(256, 0x5a);
    s.signed_attributes_der = Bytes{0x31, 0x00};
    s.signed_attributes = std::move(attrs);
    return s;
}

SmimeAuthResult result(SmimeResult r, const std::string& who)
{
    SmimeAuthResult a;
    a.result = r;
    a.identifier = who;
    return a;
}

Bytes request_der(smime::cms::ReceiptsFrom from, const std::string& to)
{
    smime::cms::ReceiptRequest r{Bytes(16, 0x11), from, {}, {to}, 0};
    return smime::cms::encode_receipt_request(r);
}

const Bytes kMlNone = {0x30, 0x1b, 0x30, 0x19, 0x04, 0x04, 1,   2,   3,   4,   0x18, 0x0f, '2',  '0', '2',
                       '6',  '1',  '2',  '0',  '1',  '0',  '0', '0', '0', '0', '0',  'Z',  0x80, 0x00};

}  // namespace

class ReceiptCollectTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReceiptCollectTest);
    CPPUNIT_TEST(collects_passing_signers_only);
    CPPUNIT_TEST(history_from_the_outermost_layer);
    CPPUNIT_TEST(history_of_a_list_agent_that_validates);
    CPPUNIT_TEST(malformed_request_is_noted);
    CPPUNIT_TEST(answers_per_identity);
    CPPUNIT_TEST(config_keys);
    CPPUNIT_TEST(message_header_is_plain);
    CPPUNIT_TEST(signed_receipt_content_type);
    CPPUNIT_TEST_SUITE_END();

public:
    void collects_passing_signers_only()
    {
        smime::cms::VerifyResult v;
        v.econtent_type = smime::cms::oid::kData;
        const auto rr = request_der(smime::cms::ReceiptsFrom::All, "dave@partner.example");
        v.signers = {signer_with({{smime::cms::oid::kReceiptRequest, rr}}),
                     signer_with({{smime::cms::oid::kReceiptRequest, rr}})};
        InboundReceiptRequests found;
        collect_receipt_requests(
            v, {result(SmimeResult::Fail, "x@partner.example"), result(SmimeResult::Pass, "dave@partner.example")},
            found);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), found.asks.size());
        CPPUNIT_ASSERT_EQUAL(std::string("dave@partner.example"), found.asks[0].signer);
        CPPUNIT_ASSERT(found.asks[0].subject.signature == v.signers[1].signature);
        CPPUNIT_ASSERT_EQUAL(std::string(smime::cms::oid::kData), found.asks[0].subject.content_type);
        InboundReceiptRequests none;
        collect_receipt_requests(v, {result(SmimeResult::Fail, "a"), result(SmimeResult::TempError, "b")}, none);
        CPPUNIT_ASSERT(none.asks.empty());
    }

    void history_from_the_outermost_layer()
    {
        smime::cms::VerifyResult outer, inner;
        outer.signers = {signer_with({})};
        inner.signers = {signer_with({{smime::cms::oid::kMlExpandHistory, kMlNone}})};
        InboundReceiptRequests found;
        collect_receipt_requests(outer, {result(SmimeResult::Pass, "list@partner.example")}, found);
        collect_receipt_requests(inner, {result(SmimeResult::Pass, "dave@partner.example")}, found);
        CPPUNIT_ASSERT(!found.ml_policy);  // an inner layer's history is not the outermost's
        InboundReceiptRequests outer_ml;
        collect_receipt_requests(inner, {result(SmimeResult::Pass, "list@partner.example")}, outer_ml);
        CPPUNIT_ASSERT(outer_ml.ml_policy && outer_ml.ml_policy->policy == smime::cms::MlReceiptPolicyKind::None);
    }

    // A mail-list agent signs with the list's key while the From stays the originator's: its
    // signature validates but fails the From match. Its mlReceiptPolicy still decides (RFC 2634
    // §2.3): until 2026-12-02 it was ignored and a list's "none" or "insteadOf" did not stop
    // receipts to the originator's receiptsTo.
    void history_of_a_list_agent_that_validates()
    {
        smime::cms::VerifyResult outer, inner;
        outer.signers = {signer_with({{smime::cms::oid::kMlExpandHistory, kMlNone}})};
        inner.signers = {signer_with({{smime::cms::oid::kReceiptRequest,
                                       request_der(smime::cms::ReceiptsFrom::All, "dave@partner.example")}})};
        SmimeAuthResult list = result(SmimeResult::Fail, "list@partner.example");
        list.validated = true;
        list.reason = "From address does not match the signer certificate";
        InboundReceiptRequests found;
        collect_receipt_requests(outer, {list}, found);
        collect_receipt_requests(inner, {result(SmimeResult::Pass, "dave@partner.example")}, found);
        CPPUNIT_ASSERT(found.ml_policy && found.ml_policy->policy == smime::cms::MlReceiptPolicyKind::None);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), found.asks.size());
        const smime::cms::ReceiptDuty duty =
            smime::cms::receipt_duty(found.asks[0].subject.request, found.ml_policy, {"alice@acme.example"});
        CPPUNIT_ASSERT(!duty.answer);
        // A signature that does not validate sets no policy, and a validated signer that
        // does not pass asks for nothing.
        SmimeAuthResult forged = result(SmimeResult::Fail, "list@partner.example");
        InboundReceiptRequests none;
        collect_receipt_requests(outer, {forged}, none);
        CPPUNIT_ASSERT(!none.ml_policy);
        InboundReceiptRequests no_ask;
        collect_receipt_requests(inner, {list}, no_ask);
        CPPUNIT_ASSERT(no_ask.asks.empty());
    }

    void malformed_request_is_noted()
    {
        smime::cms::VerifyResult v;
        v.signers = {signer_with({{smime::cms::oid::kReceiptRequest, Bytes{0x30, 0x03, 0x04, 0x01}}})};
        InboundReceiptRequests found;
        collect_receipt_requests(v, {result(SmimeResult::Pass, "dave@partner.example")}, found);
        CPPUNIT_ASSERT(found.asks.empty());
        CPPUNIT_ASSERT(found.note.starts_with("receipt-request=malformed"));
    }

    void answers_per_identity()
    {
        test::TempDir d;
        const auto& pki = test::program_pki();
        // The original: dave signs through OpenSSL, asking for receipts to him.
        test::write_file(d.path() / "in.txt", "Content-Type: text/plain\r\n\r\nanswer me\r\n");
        test::run("OPENSSL_CONF=/dev/null openssl cms -sign -binary -nodetach -in " + (d.path() / "in.txt").string() +
                  " -signer " + (pki / "dave.cert.pem").string() + " -inkey " + (pki / "dave.key.pem").string() +
                  " -receipt_request_all -receipt_request_to dave@partner.example -outform DER -out " +
                  (d.path() / "original.der").string() + " 2>/dev/null");
        const Bytes original = to_bytes(test::read_file(d.path() / "original.der"));
        const auto sd = smime::cms::decode_signed_content_info(original);
        smime::cms::VerifyResult v;
        v.econtent_type = sd.econtent_type;
        smime::cms::SignerVerification s = signer_with({});
        s.signature = sd.signers[0].signature;
        s.signed_attributes_der = sd.signers[0].signed_attributes_der;
        for (const auto& a : sd.signers[0].signed_attributes) s.signed_attributes.emplace_back(a.oid, a.values.at(0));
        v.signers = {s};
        InboundReceiptRequests found;
        collect_receipt_requests(v, {result(SmimeResult::Pass, "dave@partner.example")}, found);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), found.asks.size());

        const auto config = parse_config(config_text(d, true), "r.toml");
        const auto& rules = config->policy.rules();
        const policy::Treatment& acme = rules.at(0);
        const policy::Treatment& desk = rules.at(1);
        CPPUNIT_ASSERT(acme.answer_receipts && acme.receipt_identity.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("desk@desk.example"), desk.receipt_identity);
        const std::vector<smime::mime::HeaderField> headers = {{"Message-ID", " <m1@partner.example>"},
                                                               {"Subject", "please"}};
        SoftKeys keys(true);
        // Two recipients of one domain: one receipt. The desk's identity has no key: not sent.
        const std::vector<AnsweringRecipient> rcpts = {{*EmailAddress::parse("alice@acme.example"), &acme},
                                                       {*EmailAddress::parse("bob@acme.example"), &acme},
                                                       {*EmailAddress::parse("x@desk.example"), &desk}};
        const ReceiptAnswers a = answer_receipt_requests(*config, keys, found, rcpts, headers, std::time(nullptr));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), a.receipts.size());
        CPPUNIT_ASSERT_EQUAL(std::string("domain-signing-authority@acme.example"), a.receipts[0].identity);
        CPPUNIT_ASSERT(a.receipts[0].to == std::vector<std::string>{"dave@partner.example"});
        CPPUNIT_ASSERT_MESSAGE(a.detail, a.detail.find("receipt-not-sent=") != std::string::npos &&
                                             a.detail.find("no key for desk@desk.example") != std::string::npos);
        const std::string msg(a.receipts[0].message.begin(), a.receipts[0].message.end());
        CPPUNIT_ASSERT(msg.starts_with("X-SSM-Reinjected: v=1; "));
        CPPUNIT_ASSERT(msg.find("\r\nIn-Reply-To: <m1@partner.example>\r\n") != std::string::npos);
        CPPUNIT_ASSERT(msg.find("\r\nSubject: Signed receipt: please\r\n") != std::string::npos);
        // OpenSSL accepts the receipt in the message against dave's original.
        test::write_file(d.path() / "receipt.eml", msg.substr(msg.find("\r\n") + 2));
        test::run("OPENSSL_CONF=/dev/null openssl cms -verify_receipt " + (d.path() / "receipt.eml").string() +
                  " -in " + (d.path() / "original.der").string() + " -inform DER -CAfile " +
                  (pki / "root-ca.cert.pem").string() + " >/dev/null 2>&1");

        // No [reinjection]: nothing made, the reason logged. No key at all: the same.
        const auto plain = parse_config(config_text(d, false), "r.toml");
        const ReceiptAnswers off = answer_receipt_requests(*plain, keys, found, {rcpts[0]}, headers, std::time(nullptr));
        CPPUNIT_ASSERT(off.receipts.empty());
        CPPUNIT_ASSERT_MESSAGE(off.detail, off.detail.find("[reinjection] not configured") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), receipt_answer_warnings(*plain).size());
        CPPUNIT_ASSERT(receipt_answer_warnings(*config).empty());
        SoftKeys no_keys(false);
        CPPUNIT_ASSERT(
            answer_receipt_requests(*config, no_keys, found, {rcpts[0]}, headers, std::time(nullptr)).receipts.empty());
        // A receipt is never answered.
        InboundReceiptRequests receipt = found;
        receipt.is_receipt = true;
        const ReceiptAnswers r = answer_receipt_requests(*config, keys, receipt, {rcpts[0]}, headers, std::time(nullptr));
        CPPUNIT_ASSERT(r.receipts.empty() && r.detail.find("signed receipt") != std::string::npos);
    }

    void config_keys()
    {
        test::TempDir d;
        std::string bad = config_text(d, true);
        bad.replace(bad.find("Desk@Desk.example"), 17, "not an address");
        try {
            parse_config(bad, "bad.toml");
            CPPUNIT_FAIL("receipt_identity 'not an address' accepted");
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).starts_with("bad.toml:19:"));
        }
    }

    void message_header_is_plain()
    {
        const Bytes der(40, 0x30);
        const auto m = receipt_message("domain-signing-authority@acme.example", {"a@x.example", "b@x.example"}, der,
                                       "<id@x>\r\nBcc: victim@x.example", "caf\xc3\xa9", "", 0);
        const std::string s(m.begin(), m.end());
        CPPUNIT_ASSERT(s.starts_with("From: domain-signing-authority@acme.example\r\nTo: a@x.example, b@x.example\r\n"));
        CPPUNIT_ASSERT(s.find("Bcc") == std::string::npos && s.find("In-Reply-To") == std::string::npos);
        CPPUNIT_ASSERT(s.find("\r\nSubject: Signed receipt\r\n") != std::string::npos);
        CPPUNIT_ASSERT(s.find("smime-type=signed-receipt") != std::string::npos);
        CPPUNIT_ASSERT(s.find("\r\n\r\nMDAwMDAw") != std::string::npos);  // base64 of the DER
    }

    void signed_receipt_content_type()
    {
        using F = std::vector<smime::mime::HeaderField>;
        CPPUNIT_ASSERT(is_signed_receipt(F{{"Content-Type", "application/pkcs7-mime; smime-type=signed-receipt"}}));
        CPPUNIT_ASSERT(
            is_signed_receipt(F{{"content-type", "Application/X-PKCS7-MIME; Smime-Type=\"Signed-Receipt\""}}));
        CPPUNIT_ASSERT(!is_signed_receipt(F{{"Content-Type", "application/pkcs7-mime; smime-type=signed-data"}}));
        CPPUNIT_ASSERT(!is_signed_receipt(F{{"Content-Type", "text/plain; smime-type=signed-receipt"}}));
        CPPUNIT_ASSERT(!is_signed_receipt(F{}));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReceiptCollectTest);
