// Unit tests for the signed-receipt store (directory/receipt_store): requests recorded from a
// message OpenSSL signed with a receipt request, receipts made by `openssl cms -sign_receipt`
// (an independent implementation) matched against them — valid, for another message, for an
// unknown identifier — the outcome kept per signer, records surviving a reopen, expiry, and
// corrupt records read as absent.
#include <cppunit/extensions/HelperMacros.h>

#include <lmdb.h>

#include <string>

#include "base/error.h"
#include "directory/lmdb.h"
#include "directory/receipt_store.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/decode.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"
#include "smime/cms/receipt.h"
#include "test_support.h"

using namespace ssm;
using namespace ssm::smime;
using directory::ReceiptMatch;

namespace {

struct Signed {
    Bytes der;               // the original SignedData ContentInfo
    std::string path;        // where it is, for openssl -sign_receipt
    directory::ReceiptRequestRecord record;  // what the gateway would record for it
};

// alice signs a message with a receipt request through openssl; the record is built from the
// decoded signature the way outbound signing will build it.
Signed alice_signs(const test::TempDir& d, const std::string& name)
{
    const auto& pki = test::program_pki();
    const std::string in = (d.path() / (name + ".txt")).string(), out = (d.path() / (name + ".der")).string();
    test::write_file(in, "Content-Type: text/plain\r\n\r\n" + name + "\r\n");
    test::run("OPENSSL_CONF=/dev/null openssl cms -sign -binary -nodetach -in " + in + " -signer " +
              (pki / "alice.cert.pem").string() + " -inkey " + (pki / "alice.key.pem").string() +
              " -receipt_request_all -receipt_request_to alice@acme.example -outform DER -out " + out + " 2>/dev/null");
    Signed s{to_bytes(test::read_file(out)), out, {}};
    const auto sd = cms::decode_signed_content_info(s.der);
    const auto& signer = sd.signers.at(0);
    const auto request = cms::decode_receipt_request(signer.find_signed(cms::oid::kReceiptRequest)->values.at(0));
    const auto algorithm = cms::digest_from_oid(signer.digest_algorithm.oid);
    CPPUNIT_ASSERT(algorithm.has_value());
    s.record.content_identifier = request.content_identifier;
    s.record.requested_at = 1'800'000'000;
    s.record.digest = *algorithm;
    s.record.msg_sig_digest = cms::msg_sig_digest(*algorithm, signer.signed_attributes_der);
    s.record.signature_sha256 = cms::digest_of(DigestAlgorithm::Sha256, signer.signature);
    s.record.content_type = sd.econtent_type;
    s.record.message_id = "<" + name + "@acme.example>";
    s.record.sender = "alice@acme.example";
    s.record.recipients = {"dave@partner.example", "frank@partner.example"};
    return s;
}

// dave returns a receipt for `original` (openssl cms -sign_receipt): its Receipt and the
// msgSigDigest of its signer.
std::pair<cms::Receipt, Bytes> dave_receipt(const test::TempDir& d, const Signed& original)
{
    const auto& pki = test::program_pki();
    const std::string out = original.path + ".receipt";
    test::run("OPENSSL_CONF=/dev/null openssl cms -sign_receipt -in " + original.path + " -inform DER -signer " +
              (pki / "dave.cert.pem").string() + " -inkey " + (pki / "dave.key.pem").string() +
              " -outform DER -out " + out + " 2>/dev/null");
    (void)d;
    const auto sd = cms::decode_signed_content_info(to_bytes(test::read_file(out)));
    const auto* msd = sd.signers.at(0).find_signed(cms::oid::kMsgSigDigest);
    CPPUNIT_ASSERT(msd && sd.econtent);
    return {cms::decode_receipt(*sd.econtent), cms::decode_msg_sig_digest_value(msd->values.at(0))};
}

}  // namespace

class ReceiptStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReceiptStoreTest);
    CPPUNIT_TEST(openssl_receipt_is_valid_and_recorded);
    CPPUNIT_TEST(receipt_for_another_message_does_not_match);
    CPPUNIT_TEST(unknown_identifier);
    CPPUNIT_TEST(records_survive_reopen_and_expire);
    CPPUNIT_TEST(corrupt_record_reads_as_absent);
    CPPUNIT_TEST(identifier_hex_round_trip);
    CPPUNIT_TEST(receipts_only_from_those_asked);
    CPPUNIT_TEST(version_1_record_reads_as_all_receipts);
    CPPUNIT_TEST(domain_signing_authority_answers_for_its_domain);
    CPPUNIT_TEST_SUITE_END();

public:
    void openssl_receipt_is_valid_and_recorded()
    {
        test::TempDir d;
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        const Signed m = alice_signs(d, "m1");
        store.record_request(m.record);
        CPPUNIT_ASSERT(store.find(m.record.content_identifier) == m.record);

        const auto [receipt, digest] = dave_receipt(d, m);
        auto check = store.check_receipt(receipt, digest, "dave@partner.example", 1'800'000'100);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Valid), int(check.match));
        CPPUNIT_ASSERT_EQUAL(std::string("<m1@acme.example>"), check.detail);
        auto rec = store.find(m.record.content_identifier);
        CPPUNIT_ASSERT(rec && rec->received.size() == 1);
        CPPUNIT_ASSERT((rec->received[0] == directory::ReceivedReceipt{"dave@partner.example", 1'800'000'100, true, ""}));
        // The same signer again: its entry is updated, not doubled; another signer adds one.
        store.check_receipt(receipt, digest, "dave@partner.example", 1'800'000'200);
        store.check_receipt(receipt, digest, "frank@partner.example", 1'800'000'300);
        rec = store.find(m.record.content_identifier);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), rec->received.size());
        CPPUNIT_ASSERT_EQUAL(std::time_t(1'800'000'200), rec->received[0].received_at);
    }

    void receipt_for_another_message_does_not_match()
    {
        test::TempDir d;
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        const Signed m1 = alice_signs(d, "m1"), m2 = alice_signs(d, "m2");
        store.record_request(m1.record);
        const auto [r2, digest2] = dave_receipt(d, m2);
        // m2's receipt, relabelled with m1's identifier: the signature value gives it away.
        cms::Receipt forged = r2;
        forged.content_identifier = m1.record.content_identifier;
        auto check = store.check_receipt(forged, digest2, "dave@partner.example");
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::Mismatch), int(check.match));
        CPPUNIT_ASSERT(check.detail.find("signature value") != std::string::npos);
        // m1's receipt with m2's msgSigDigest: the digest gives it away.
        const auto [r1, digest1] = dave_receipt(d, m1);
        check = store.check_receipt(r1, digest2, "dave@partner.example");
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::Mismatch), int(check.match));
        CPPUNIT_ASSERT(check.detail.find("msgSigDigest") != std::string::npos);
        // Another content type.
        cms::Receipt other_type = r1;
        other_type.content_type = cms::oid::kReceipt;
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::Mismatch), int(store.check_receipt(other_type, digest1, "x@y").match));
        // The mismatch is on record, and the genuine receipt still validates.
        CPPUNIT_ASSERT(!store.find(m1.record.content_identifier)->received.at(0).valid);
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::Valid),
                             int(store.check_receipt(r1, digest1, "dave@partner.example").match));
        CPPUNIT_ASSERT(store.find(m1.record.content_identifier)->received.at(0).valid);
        // A mismatching receipt after the valid one (same signer) does not replace it.
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::Mismatch),
                             int(store.check_receipt(forged, digest2, "dave@partner.example").match));
        const auto after = store.find(m1.record.content_identifier);
        CPPUNIT_ASSERT(after && after->received.at(0).from == "dave@partner.example" && after->received.at(0).valid);
    }

    void unknown_identifier()
    {
        test::TempDir d;
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        const Signed m = alice_signs(d, "m1");
        const auto [receipt, digest] = dave_receipt(d, m);
        const auto check = store.check_receipt(receipt, digest, "dave@partner.example");
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::UnknownIdentifier), int(check.match));
        CPPUNIT_ASSERT(!check.request);
        CPPUNIT_ASSERT(!store.find(m.record.content_identifier));  // nothing written
    }

    void records_survive_reopen_and_expire()
    {
        test::TempDir d;
        const Signed m1 = alice_signs(d, "m1"), m2 = alice_signs(d, "m2");
        {
            directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
            auto r1 = m1.record, r2 = m2.record;
            r2.requested_at = r1.requested_at - 10;
            store.record_request(r1);
            store.record_request(r2);
        }
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        const auto all = store.list();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), all.size());
        CPPUNIT_ASSERT_EQUAL(std::string("<m2@acme.example>"), all[0].message_id);  // oldest first
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.expire(m1.record.requested_at));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.list().size());
        CPPUNIT_ASSERT(!store.find(m2.record.content_identifier));
        CPPUNIT_ASSERT(store.find(m1.record.content_identifier));
    }

    void corrupt_record_reads_as_absent()
    {
        test::TempDir d;
        auto env = directory::lmdb::Environment::open(d.path() / "db");
        directory::ReceiptStore store(env);
        const Signed m = alice_signs(d, "m1");
        store.record_request(m.record);
        const std::string key(reinterpret_cast<const char*>(m.record.content_identifier.data()),
                              m.record.content_identifier.size());
        Bytes value;
        {
            directory::lmdb::Transaction txn(*env, directory::lmdb::Transaction::Mode::Read);
            const auto v = txn.get(env->database("receipts"), key);
            CPPUNIT_ASSERT(v);
            value.assign(v->begin(), v->end());
        }
        for (std::size_t cut : {std::size_t(0), std::size_t(1), value.size() / 2, value.size() - 1}) {
            {
                directory::lmdb::Transaction txn(*env, directory::lmdb::Transaction::Mode::Write);
                txn.put(env->database("receipts"), key, ByteView(value.data(), cut));
                txn.commit();
            }
            CPPUNIT_ASSERT(!store.find(m.record.content_identifier));
            CPPUNIT_ASSERT(store.list().empty());
        }
        // A receipt for it now reads as unknown, and expiry clears the husk.
        const auto [receipt, digest] = dave_receipt(d, m);
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::UnknownIdentifier),
                             int(store.check_receipt(receipt, digest, "dave@partner.example").match));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.expire(0));
    }

    void identifier_hex_round_trip()
    {
        const Bytes id{0x00, 0xab, 0xff, 0x10};
        CPPUNIT_ASSERT_EQUAL(std::string("00abff10"), directory::identifier_hex(id));
        CPPUNIT_ASSERT(directory::identifier_from_hex("00ABff10") == id);
        CPPUNIT_ASSERT(!directory::identifier_from_hex("0"));
        CPPUNIT_ASSERT(!directory::identifier_from_hex("zz"));
        CPPUNIT_ASSERT(!directory::identifier_from_hex(""));
    }

    // RFC 2634 §2.2/§2.3: a receipt counts only from a signer the request asked. A genuine
    // receipt (right identifier, signature value and msgSigDigest) signed by someone whose
    // certificate names none of the recipients, or (receiptList) who is not listed, is a
    // mismatch and does not mark the message as receipted.
    void receipts_only_from_those_asked()
    {
        test::TempDir d;
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        const Signed m = alice_signs(d, "m1");
        store.record_request(m.record);
        const auto [receipt, digest] = dave_receipt(d, m);

        auto check = store.check_receipt(receipt, digest, "erin@partner.example", 1'800'000'100,
                                         {"erin@partner.example"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Mismatch), int(check.match));
        CPPUNIT_ASSERT_MESSAGE(check.detail, check.detail.find("names none of the message's recipients") != std::string::npos);
        auto rec = store.find(m.record.content_identifier);
        CPPUNIT_ASSERT(rec && rec->received.size() == 1 && !rec->received[0].valid);
        // Without certificate names, `from` is the signer's only name.
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::Mismatch),
                             int(store.check_receipt(receipt, digest, "erin@partner.example").match));
        // A certificate naming a recipient among other addresses, in another case: asked.
        check = store.check_receipt(receipt, digest, "dave@partner.example", 1'800'000'200,
                                    {"dave.other@partner.example", "Dave@Partner.Example"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Valid), int(check.match));
        // Case beyond ASCII: the recipient as written at RCPT is the mailbox the certificate
        // names in lower case (it was a mismatch while names compared ASCII case only).
        const Signed umlaut = alice_signs(d, "m3");
        auto umlaut_record = umlaut.record;
        umlaut_record.recipients = {"JÖRG@partner.example"};
        store.record_request(umlaut_record);
        const auto [r3, digest3] = dave_receipt(d, umlaut);
        check = store.check_receipt(r3, digest3, "jörg@partner.example", 1'800'000'250, {"jörg@partner.example"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Valid), int(check.match));

        // receiptList: only the listed recipients are asked; the list is kept with the record.
        const Signed listed = alice_signs(d, "m2");
        auto list_record = listed.record;
        list_record.receipts_from = cms::ReceiptsFrom::List;
        list_record.receipt_list = {"frank@partner.example"};
        store.record_request(list_record);
        CPPUNIT_ASSERT(store.find(list_record.content_identifier) == list_record);
        const auto [r2, digest2] = dave_receipt(d, listed);
        check = store.check_receipt(r2, digest2, "dave@partner.example", 1'800'000'300, {"dave@partner.example"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Mismatch), int(check.match));
        CPPUNIT_ASSERT_MESSAGE(check.detail, check.detail.find("not in the request's receiptList") != std::string::npos);
        check = store.check_receipt(r2, digest2, "frank@partner.example", 1'800'000'400, {"frank@partner.example"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Valid), int(check.match));
        // Listed but not a recipient of the message: not asked either.
        list_record.receipt_list = {"erin@partner.example"};
        store.record_request(list_record);
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::Mismatch),
                             int(store.check_receipt(r2, digest2, "erin@partner.example", 1'800'000'500,
                                                     {"erin@partner.example"}).match));
    }

    // A gateway answering for its domain's recipients (ssm-milter's answer_receipts, by default
    // with the domain signing identity, RFC 3183) signs as domain-signing-authority@domain: that
    // is a receipt from the recipient's domain, asked; another domain's authority is not.
    void domain_signing_authority_answers_for_its_domain()
    {
        test::TempDir d;
        directory::ReceiptStore store(directory::lmdb::Environment::open(d.path() / "db"));
        const Signed m = alice_signs(d, "m1");
        store.record_request(m.record);
        const auto [receipt, digest] = dave_receipt(d, m);
        auto check = store.check_receipt(receipt, digest, "domain-signing-authority@other.example", 1'800'000'100,
                                         {"domain-signing-authority@other.example"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Mismatch), int(check.match));
        check = store.check_receipt(receipt, digest, "domain-signing-authority@partner.example", 1'800'000'200,
                                    {"Domain-Signing-Authority@partner.example"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Valid), int(check.match));

        // receiptList: the authority of a listed recipient's domain is asked, another's not.
        const Signed listed = alice_signs(d, "m2");
        auto list_record = listed.record;
        list_record.receipts_from = cms::ReceiptsFrom::List;
        list_record.receipt_list = {"frank@partner.example"};
        store.record_request(list_record);
        const auto [r2, digest2] = dave_receipt(d, listed);
        check = store.check_receipt(r2, digest2, "domain-signing-authority@partner.example", 1'800'000'300,
                                    {"domain-signing-authority@partner.example"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Valid), int(check.match));
        list_record.receipt_list = {"someone@elsewhere.example"};
        store.record_request(list_record);
        check = store.check_receipt(r2, digest2, "domain-signing-authority@partner.example", 1'800'000'400,
                                    {"domain-signing-authority@partner.example"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(check.detail, int(ReceiptMatch::Mismatch), int(check.match));
    }

    // Records written before receiptsFrom was kept (version 1) read as allReceipts.
    void version_1_record_reads_as_all_receipts()
    {
        test::TempDir d;
        auto env = directory::lmdb::Environment::open(d.path() / "db");
        directory::ReceiptStore store(env);
        const Signed m = alice_signs(d, "m1");
        store.record_request(m.record);
        const std::string key(reinterpret_cast<const char*>(m.record.content_identifier.data()),
                              m.record.content_identifier.size());
        Bytes value;
        {
            directory::lmdb::Transaction txn(*env, directory::lmdb::Transaction::Mode::Read);
            const auto v = txn.get(env->database("receipts"), key);
            CPPUNIT_ASSERT(v);
            value.assign(v->begin(), v->end());
        }
        // Version 2 ends: receiptsFrom 0, list count 00 00, receipts count 0.
        CPPUNIT_ASSERT(value.size() > 4 && value[0] == 2);
        CPPUNIT_ASSERT((Bytes(value.end() - 4, value.end()) == Bytes{0, 0, 0, 0}));
        Bytes v1(value.begin(), value.end() - 4);
        v1[0] = 1;
        v1.push_back(0);
        {
            directory::lmdb::Transaction txn(*env, directory::lmdb::Transaction::Mode::Write);
            txn.put(env->database("receipts"), key, v1);
            txn.commit();
        }
        CPPUNIT_ASSERT(store.find(m.record.content_identifier) == m.record);
        const auto [receipt, digest] = dave_receipt(d, m);
        CPPUNIT_ASSERT_EQUAL(int(ReceiptMatch::Valid),
                             int(store.check_receipt(receipt, digest, "dave@partner.example").match));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReceiptStoreTest);
