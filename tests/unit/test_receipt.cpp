// Unit tests for ESS signed receipts (smime/cms/receipt): ReceiptRequest and Receipt round
// trips and refusals, and agreement with an independent implementation: OpenSSL's `cms -sign
// -receipt_request_*` requests decode as asked, and a receipt made by `openssl cms
// -sign_receipt` carries the identifier, signature value and msgSigDigest we compute from the
// original signature.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "base/error.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/decode.h"
#include "smime/cms/oids.h"
#include "smime/cms/receipt.h"
#include "test_support.h"

using namespace ssm;
using namespace ssm::smime;

namespace {

template <typename F>
Failure failure_of(F&& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.failure();
    }
    return Failure::Internal;  // "nothing thrown" reads as a wrong failure in the asserts
}

// Signs `in` with NAME's key from the test PKI through `openssl cms`; EXTRA are more options.
Bytes openssl_signed(const test::TempDir& d, const std::string& name, const std::string& extra)
{
    const auto& pki = test::program_pki();
    const std::string in = (d.path() / "in.txt").string(), out = (d.path() / (name + ".der")).string();
    test::write_file(in, "Content-Type: text/plain\r\n\r\nreceipt test\r\n");
    test::run("OPENSSL_CONF=/dev/null openssl cms -sign -binary -nodetach -in " + in + " -signer " +
              (pki / (name + ".cert.pem")).string() + " -inkey " + (pki / (name + ".key.pem")).string() + " " + extra +
              " -outform DER -out " + out + " 2>/dev/null");
    return to_bytes(test::read_file(out));
}

cms::ReceiptRequest request_in(const Bytes& signed_der)
{
    const auto sd = cms::decode_signed_content_info(signed_der);
    CPPUNIT_ASSERT_EQUAL(std::size_t(1), sd.signers.size());
    const cms::Attribute* a = sd.signers[0].find_signed(cms::oid::kReceiptRequest);
    CPPUNIT_ASSERT(a && a->values.size() == 1);
    return cms::decode_receipt_request(a->values[0]);
}

}  // namespace

class ReceiptTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReceiptTest);
    CPPUNIT_TEST(request_round_trips);
    CPPUNIT_TEST(receipt_round_trips);
    CPPUNIT_TEST(refusals);
    CPPUNIT_TEST(openssl_requests_decode);
    CPPUNIT_TEST(openssl_receipt_matches_original);
    CPPUNIT_TEST(content_identifiers_differ);
    CPPUNIT_TEST_SUITE_END();

public:
    void request_round_trips()
    {
        cms::ReceiptRequest all{Bytes(20, 0x42), cms::ReceiptsFrom::All, {}, {"postmaster@acme.example"}, 0};
        cms::ReceiptRequest first = all;
        first.from = cms::ReceiptsFrom::FirstTier;
        first.receipts_to = {"a@acme.example", "b@acme.example"};
        cms::ReceiptRequest list = all;
        list.from = cms::ReceiptsFrom::List;
        list.from_list = {"dave@partner.example", "frank@partner.example"};
        for (const auto& r : {all, first, list}) {
            const Bytes der = cms::encode_receipt_request(r);
            CPPUNIT_ASSERT(cms::decode_receipt_request(der) == r);
        }
        const cms::Attribute a = cms::receipt_request_attribute(all);
        CPPUNIT_ASSERT_EQUAL(std::string(cms::oid::kReceiptRequest), a.oid);
    }

    void receipt_round_trips()
    {
        const cms::Receipt r{cms::oid::kData, Bytes(16, 7), Bytes(256, 0x99)};
        const Bytes der = cms::encode_receipt(r);
        CPPUNIT_ASSERT(cms::decode_receipt(der) == r);
        const Bytes digest(32, 0x5a);
        CPPUNIT_ASSERT(cms::decode_msg_sig_digest_value(cms::msg_sig_digest_value(digest)) == digest);
    }

    void refusals()
    {
        using R = cms::ReceiptRequest;
        const R good{Bytes(8, 1), cms::ReceiptsFrom::All, {}, {"x@acme.example"}, 0};
        R no_id = good;
        no_id.content_identifier.clear();
        R long_id = good;
        long_id.content_identifier = Bytes(cms::kMaxContentIdentifier + 1, 1);
        R nobody = good;
        nobody.receipts_to.clear();
        R crowd = good;
        crowd.receipts_to.assign(cms::kMaxReceiptsTo + 1, "x@acme.example");
        R space = good;
        space.receipts_to = {"x y@acme.example"};
        R list_without_list = good;
        list_without_list.from = cms::ReceiptsFrom::List;
        R all_with_list = good;
        all_with_list.from_list = {"x@acme.example"};
        for (const R& r : {no_id, long_id, nobody, crowd, space, list_without_list, all_with_list})
            CPPUNIT_ASSERT(failure_of([&] { cms::encode_receipt_request(r); }) == Failure::MalformedMessage);

        const Bytes der = cms::encode_receipt_request(good);
        // Every truncation, and trailing garbage, is refused.
        for (std::size_t n = 0; n < der.size(); ++n)
            CPPUNIT_ASSERT(failure_of([&] { cms::decode_receipt_request(ByteView(der.data(), n)); }) ==
                           Failure::MalformedMessage);
        Bytes longer = der;
        longer.push_back(0);
        CPPUNIT_ASSERT(failure_of([&] { cms::decode_receipt_request(longer); }) == Failure::MalformedMessage);
        // allOrFirstTier 2 is neither value RFC 2634 defines.
        Bytes two = der;
        const std::uint8_t all_receipts[] = {0x80, 0x01, 0x00};  // [0] IMPLICIT INTEGER 0
        const auto at = std::search(two.begin(), two.end(), std::begin(all_receipts), std::end(all_receipts));
        CPPUNIT_ASSERT(at != two.end());
        at[2] = 2;
        CPPUNIT_ASSERT(failure_of([&] { cms::decode_receipt_request(two); }) == Failure::MalformedMessage);

        // A Receipt of version 2, and with an empty signature value.
        const cms::Receipt r{cms::oid::kData, Bytes(16, 7), Bytes(64, 1)};
        Bytes v2 = cms::encode_receipt(r);
        CPPUNIT_ASSERT(v2.size() > 4 && v2[2] == 0x02 && v2[3] == 0x01 && v2[4] == 0x01);
        v2[4] = 2;
        CPPUNIT_ASSERT(failure_of([&] { cms::decode_receipt(v2); }) == Failure::MalformedMessage);
        cms::Receipt unsigned_receipt = r;
        unsigned_receipt.originator_signature.clear();
        CPPUNIT_ASSERT(failure_of([&] { cms::encode_receipt(unsigned_receipt); }) == Failure::MalformedMessage);
        CPPUNIT_ASSERT(failure_of([&] { cms::decode_receipt(to_bytes(std::string("\x30\x00", 2))); }) ==
                       Failure::MalformedMessage);
        // msgSigDigest is over the SET OF form only.
        CPPUNIT_ASSERT(failure_of([&] { cms::msg_sig_digest(DigestAlgorithm::Sha256, Bytes{0xA0, 0x00}); }) ==
                       Failure::MalformedMessage);
    }

    void openssl_requests_decode()
    {
        test::TempDir d;
        auto all = request_in(openssl_signed(d, "dave", "-receipt_request_all -receipt_request_to dave@partner.example"));
        CPPUNIT_ASSERT(all.from == cms::ReceiptsFrom::All);
        CPPUNIT_ASSERT(all.receipts_to == std::vector<std::string>{"dave@partner.example"});
        CPPUNIT_ASSERT(!all.content_identifier.empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), all.other_names);

        auto first = request_in(openssl_signed(
            d, "dave", "-receipt_request_first -receipt_request_to a@partner.example -receipt_request_to b@partner.example"));
        CPPUNIT_ASSERT(first.from == cms::ReceiptsFrom::FirstTier);
        CPPUNIT_ASSERT((first.receipts_to == std::vector<std::string>{"a@partner.example", "b@partner.example"}));

        auto list = request_in(openssl_signed(d, "dave",
                                              "-receipt_request_from alice@acme.example -receipt_request_from "
                                              "bob@acme.example -receipt_request_to dave@partner.example"));
        CPPUNIT_ASSERT(list.from == cms::ReceiptsFrom::List);
        CPPUNIT_ASSERT((list.from_list == std::vector<std::string>{"alice@acme.example", "bob@acme.example"}));
        // Each request gets its own identifier.
        CPPUNIT_ASSERT(all.content_identifier != first.content_identifier);
        // Our encoder writes what OpenSSL wrote for the same request (same DER).
        const auto sd = cms::decode_signed_content_info(openssl_signed(
            d, "dave", "-receipt_request_all -receipt_request_to dave@partner.example"));
        const Bytes theirs = sd.signers[0].find_signed(cms::oid::kReceiptRequest)->values[0];
        CPPUNIT_ASSERT(cms::encode_receipt_request(cms::decode_receipt_request(theirs)) == theirs);
    }

    // alice signs with a receipt request; dave (an independent implementation: openssl cms
    // -sign_receipt) returns the receipt. Its Receipt names alice's identifier and signature
    // value, and its msgSigDigest equals ours over alice's signed attributes.
    void openssl_receipt_matches_original()
    {
        test::TempDir d;
        const auto& pki = test::program_pki();
        const Bytes original =
            openssl_signed(d, "alice", "-receipt_request_all -receipt_request_to alice@acme.example");
        const std::string receipt_path = (d.path() / "receipt.der").string();
        test::run("OPENSSL_CONF=/dev/null openssl cms -sign_receipt -in " + (d.path() / "alice.der").string() +
                  " -inform DER -signer " + (pki / "dave.cert.pem").string() + " -inkey " +
                  (pki / "dave.key.pem").string() + " -outform DER -out " + receipt_path + " 2>/dev/null");
        const auto orig = cms::decode_signed_content_info(original);
        const auto request = request_in(original);
        const auto receipt_sd = cms::decode_signed_content_info(to_bytes(test::read_file(receipt_path)));
        CPPUNIT_ASSERT_EQUAL(std::string(cms::oid::kReceipt), receipt_sd.econtent_type);
        CPPUNIT_ASSERT(receipt_sd.econtent.has_value());
        const cms::Receipt receipt = cms::decode_receipt(*receipt_sd.econtent);
        CPPUNIT_ASSERT_EQUAL(std::string(cms::oid::kData), receipt.content_type);
        CPPUNIT_ASSERT(receipt.content_identifier == request.content_identifier);
        CPPUNIT_ASSERT(receipt.originator_signature == orig.signers[0].signature);

        const cms::Attribute* msd = receipt_sd.signers.at(0).find_signed(cms::oid::kMsgSigDigest);
        CPPUNIT_ASSERT(msd && msd->values.size() == 1);
        const auto algorithm = cms::digest_from_oid(orig.signers[0].digest_algorithm.oid);
        CPPUNIT_ASSERT(algorithm.has_value());
        const Bytes ours = cms::msg_sig_digest(*algorithm, orig.signers[0].signed_attributes_der);
        CPPUNIT_ASSERT(cms::decode_msg_sig_digest_value(msd->values[0]) == ours);
        // And a receipt for another message does not match: the digest depends on the request.
        const Bytes other = openssl_signed(d, "alice", "-receipt_request_all -receipt_request_to alice@acme.example");
        const auto other_sd = cms::decode_signed_content_info(other);
        CPPUNIT_ASSERT(cms::msg_sig_digest(*algorithm, other_sd.signers[0].signed_attributes_der) != ours);
    }

    void content_identifiers_differ()
    {
        const Bytes a = cms::new_content_identifier(), b = cms::new_content_identifier();
        CPPUNIT_ASSERT_EQUAL(std::size_t(24), a.size());
        CPPUNIT_ASSERT(a != b);
        cms::ReceiptRequest r{a, cms::ReceiptsFrom::All, {}, {"x@acme.example"}, 0};
        CPPUNIT_ASSERT(cms::decode_receipt_request(cms::encode_receipt_request(r)).content_identifier == a);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReceiptTest);
