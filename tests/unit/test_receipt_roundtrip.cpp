// Signed receipts end to end with an independent implementation (milter/receipts over the
// CMS encoder, verifier and receipt store): alice's message is signed by OUR encoder with a
// ReceiptRequest made by make_receipt_request and recorded with receipt_record; OpenSSL
// (`openssl cms -sign_receipt`) returns dave's receipt for it and accepts it itself
// (`-verify_receipt`, which checks our request and msgSigDigest from its side); our verifier
// then checks the receipt's signature and check_signed_receipt matches it to the record.
#include <cppunit/extensions/HelperMacros.h>

#include <ctime>
#include <string>

#include "base/error.h"
#include "base/stream.h"
#include "directory/lmdb.h"
#include "directory/receipt_store.h"
#include "milter/receipts.h"
#include "smime/cms/oids.h"
#include "smime/cms/signed_data.h"
#include "smime/cms/digest.h"
#include "smime/cms/verify.h"
#include "tests/unit/soft_signer.h"
#include "test_support.h"

using namespace ssm;
using namespace ssm::smime;

namespace {

const std::string kContent = "Content-Type: text/plain\r\n\r\nPlease confirm receipt.\r\n";

struct Original {
    Bytes der;
    cms::ReceiptRequest request;
    SignResult result;
};

// Our encoder signs kContent (encapsulated) as alice, with a receipt request to `receipts_to`.
Original our_signature(cms::ReceiptsFrom from, std::vector<std::string> from_list = {})
{
    const auto& pki = test::program_pki();
    test::SoftSigner alice(pki / "alice.key.pem", pki / "alice.cert.der", {pki / "sub-ca.cert.der"});
    Original o;
    o.request = milter::make_receipt_request(from, {"alice@acme.example"});
    o.request.from_list = std::move(from_list);
    cms::SignOptions opt;
    opt.signing_time = std::time(nullptr);
    opt.extra_signed_attributes = {{cms::oid::kReceiptRequest, cms::encode_receipt_request(o.request)}};
    const auto parts = cms::encode_signed_data(alice, opt, cms::digest_of(opt.digest, to_bytes(kContent)),
                                               kContent.size());
    o.der = parts.head;
    o.der.insert(o.der.end(), kContent.begin(), kContent.end());
    o.der.insert(o.der.end(), parts.tail.begin(), parts.tail.end());
    o.result.digest = opt.digest;
    o.result.signed_attributes_der = parts.signed_attributes_der;
    o.result.signature = parts.signature;
    return o;
}

// dave's receipt for the file `original` (DER), made by OpenSSL.
Bytes openssl_receipt(const std::string& original)
{
    const auto& pki = test::program_pki();
    const std::string out = original + ".receipt";
    test::run("OPENSSL_CONF=/dev/null openssl cms -sign_receipt -in " + original + " -inform DER -signer " +
              (pki / "dave.cert.pem").string() + " -inkey " + (pki / "dave.key.pem").string() + " -certfile " +
              (pki / "sub-ca.cert.pem").string() + " -outform DER -out " + out + " 2>/dev/null");
    return to_bytes(test::read_file(out));
}

}  // namespace

class ReceiptRoundTripTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReceiptRoundTripTest);
    CPPUNIT_TEST(openssl_receipt_for_our_signature_matches_our_record);
    CPPUNIT_TEST(receipt_for_another_of_our_messages_is_a_mismatch);
    CPPUNIT_TEST(receipt_without_record_is_unknown);
    CPPUNIT_TEST(receipt_from_someone_not_asked_is_a_mismatch);
    CPPUNIT_TEST_SUITE_END();

public:
    void openssl_receipt_for_our_signature_matches_our_record()
    {
        test::TempDir d;
        const auto& pki = test::program_pki();
        const Original o = our_signature(cms::ReceiptsFrom::All);
        const std::string path = (d.path() / "ours.der").string();
        test::write_file(path, std::string(o.der.begin(), o.der.end()));
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        store.record_request(milter::receipt_record(o.request, o.result, "<q1@acme.example>", "alice@acme.example",
                                                    {"dave@partner.example"}, std::time(nullptr)));

        const Bytes receipt = openssl_receipt(path);
        const std::string receipt_path = (d.path() / "receipt.der").string();
        test::write_file(receipt_path, std::string(receipt.begin(), receipt.end()));
        // OpenSSL accepts the receipt for our message: our ReceiptRequest and signed
        // attributes are what it expects.
        test::run("OPENSSL_CONF=/dev/null openssl cms -verify_receipt " + receipt_path + " -rctform DER -in " + path +
                  " -inform DER -CAfile " + (pki / "root-ca.cert.pem").string() + " >/dev/null 2>&1");

        MemorySource in(receipt);
        MemorySink content;
        const cms::VerifyResult v = cms::verify_encapsulated(in, content);
        CPPUNIT_ASSERT_EQUAL(std::string(cms::oid::kReceipt), v.econtent_type);
        CPPUNIT_ASSERT(!v.signers.empty() && v.signers[0].signature_valid);
        const auto outcome =
            milter::check_signed_receipt(store, v, content.data(), 0, "dave@partner.example", std::time(nullptr));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(outcome.detail, int(directory::ReceiptMatch::Valid), int(outcome.match));
        CPPUNIT_ASSERT_EQUAL(std::string("<q1@acme.example>"), outcome.detail);
        CPPUNIT_ASSERT_EQUAL(directory::identifier_hex(o.request.content_identifier), outcome.identifier_hex);
        const auto rec = store.find(o.request.content_identifier);
        CPPUNIT_ASSERT(rec && rec->received.size() == 1 && rec->received[0].valid);
    }

    void receipt_for_another_of_our_messages_is_a_mismatch()
    {
        test::TempDir d;
        const Original first = our_signature(cms::ReceiptsFrom::FirstTier);
        const Original second = our_signature(cms::ReceiptsFrom::FirstTier);
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        // The record of `first` under the identifier of `second`: a receipt for `second` names
        // that identifier but another signature and digest.
        auto rec = milter::receipt_record(first.request, first.result, "<first@acme.example>", "alice@acme.example",
                                          {}, std::time(nullptr));
        rec.content_identifier = second.request.content_identifier;
        store.record_request(rec);
        const std::string path = (d.path() / "second.der").string();
        test::write_file(path, std::string(second.der.begin(), second.der.end()));
        const Bytes receipt = openssl_receipt(path);
        MemorySource in(receipt);
        MemorySink content;
        const auto v = cms::verify_encapsulated(in, content);
        const auto outcome = milter::check_signed_receipt(store, v, content.data(), 0, "dave@partner.example", 0);
        CPPUNIT_ASSERT_EQUAL(int(directory::ReceiptMatch::Mismatch), int(outcome.match));
    }

    void receipt_without_record_is_unknown()
    {
        test::TempDir d;
        const Original o = our_signature(cms::ReceiptsFrom::All);
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        const std::string path = (d.path() / "ours.der").string();
        test::write_file(path, std::string(o.der.begin(), o.der.end()));
        const Bytes receipt = openssl_receipt(path);
        MemorySource in(receipt);
        MemorySink content;
        const auto v = cms::verify_encapsulated(in, content);
        const auto outcome = milter::check_signed_receipt(store, v, content.data(), 0, "dave@partner.example", 0);
        CPPUNIT_ASSERT_EQUAL(int(directory::ReceiptMatch::UnknownIdentifier), int(outcome.match));
        // A SignedData that is no receipt is refused as a caller error, and a Receipt that
        // does not decode as malformed mail.
        cms::VerifyResult not_receipt = v;
        not_receipt.econtent_type = cms::oid::kData;
        CPPUNIT_ASSERT_THROW(milter::check_signed_receipt(store, not_receipt, content.data(), 0, "x@y", 0), Error);
        try {
            milter::check_signed_receipt(store, v, Bytes{0x30, 0x00}, 0, "x@y", 0);
            CPPUNIT_FAIL("an empty Receipt decoded");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::MalformedMessage);
        }
    }

    // dave's genuine receipt for a message to frank only: dave was not asked. What counts is
    // the verified certificate (naming dave), not the address the caller passes; and a
    // receiptList request (signed so, OpenSSL answers it) kept by receipt_record asks only the
    // listed.
    void receipt_from_someone_not_asked_is_a_mismatch()
    {
        test::TempDir d;
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        auto verified_receipt = [&](const Original& o, const std::string& name) {
            const std::string path = (d.path() / (name + ".der")).string();
            test::write_file(path, std::string(o.der.begin(), o.der.end()));
            const Bytes receipt = openssl_receipt(path);
            MemorySource in(receipt);
            MemorySink content;
            auto v = cms::verify_encapsulated(in, content);
            CPPUNIT_ASSERT(!v.signers.empty() && v.signers[0].signature_valid);
            return std::make_pair(std::move(v), content.data());
        };

        const Original o = our_signature(cms::ReceiptsFrom::All);
        store.record_request(milter::receipt_record(o.request, o.result, "<q2@acme.example>", "alice@acme.example",
                                                    {"frank@partner.example"}, std::time(nullptr)));
        const auto [v, content] = verified_receipt(o, "to-frank");
        const auto outcome = milter::check_signed_receipt(store, v, content, 0, "frank@partner.example", 0);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(outcome.detail, int(directory::ReceiptMatch::Mismatch), int(outcome.match));
        CPPUNIT_ASSERT_MESSAGE(outcome.detail, outcome.detail.find("recipients") != std::string::npos);
        CPPUNIT_ASSERT(!store.find(o.request.content_identifier)->received.at(0).valid);

        const Original listed = our_signature(cms::ReceiptsFrom::List, {"frank@partner.example"});
        const auto rec = milter::receipt_record(listed.request, listed.result, "<q3@acme.example>",
                                                "alice@acme.example",
                                                {"dave@partner.example", "frank@partner.example"}, std::time(nullptr));
        CPPUNIT_ASSERT(rec.receipts_from == cms::ReceiptsFrom::List);
        store.record_request(rec);
        const auto [v2, content2] = verified_receipt(listed, "listed");
        const auto listed_outcome = milter::check_signed_receipt(store, v2, content2, 0, "dave@partner.example", 0);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(listed_outcome.detail, int(directory::ReceiptMatch::Mismatch),
                                     int(listed_outcome.match));
        CPPUNIT_ASSERT_MESSAGE(listed_outcome.detail, listed_outcome.detail.find("receiptList") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReceiptRoundTripTest);
