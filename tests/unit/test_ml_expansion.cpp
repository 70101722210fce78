// Unit tests for the ESS mlExpansionHistory codec (smime/cms/ml_expansion): round trips of
// every identifier form and receipt policy, a history made by OpenSSL's ASN.1 generator (an
// independent encoder), malformed DER, and the 64-entry limit of RFC 2634 §4.3.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <functional>
#include <string>

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/ml_expansion.h"
#include "test_support.h"

using namespace ssm;
using namespace ssm::smime::cms;

namespace {

Failure failure_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.failure();
    }
    return Failure::Internal;  // "nothing thrown" reads as a wrong failure in the asserts
}

MlData entry(const std::string& cert, MlReceiptPolicyKind kind, std::vector<std::string> names = {})
{
    MlData d;
    d.identifier = ml_identifier_of(test::pki_der(cert));
    d.expansion_time = 1700000000;
    d.policy = kind;
    d.names = std::move(names);
    return d;
}

// DER of a history with `n` entries, written straight through libtasn1 so that the encoder's
// own limit does not stop it (what a hostile peer could send).
Bytes raw_history(int n)
{
    auto node = Asn1Node::create("MLExpansionHistory");
    const auto id = issuer_serial_of(test::pki_der("alice"));
    for (int i = 0; i < n; ++i) {
        node.append("");
        node.write_text("?LAST.mailListIdentifier", "issuerAndSerialNumber");
        write_issuer_serial(node, "?LAST.mailListIdentifier.issuerAndSerialNumber", id);
        node.write_text("?LAST.expansionTime", "20260101000000Z");
        node.remove("?LAST.mlReceiptPolicy");
    }
    return node.encode();
}

}  // namespace

class MlExpansionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MlExpansionTest);
    CPPUNIT_TEST(round_trips);
    CPPUNIT_TEST(subject_key_identifier);
    CPPUNIT_TEST(openssl_generated);
    CPPUNIT_TEST(malformed);
    CPPUNIT_TEST(limit_of_64);
    CPPUNIT_TEST(refuses_to_encode_nonsense);
    CPPUNIT_TEST(non_minimal_serial_round_trips);
    CPPUNIT_TEST_SUITE_END();

public:
    void round_trips()
    {
        const MlExpansionHistory h = {
            entry("alice", MlReceiptPolicyKind::Absent),
            entry("carol", MlReceiptPolicyKind::None),
            entry("bob", MlReceiptPolicyKind::InsteadOf, {"owner@acme.example"}),
            entry("erin", MlReceiptPolicyKind::InAdditionTo, {"a@acme.example", "b@partner.example"}),
        };
        const Bytes der = encode_ml_expansion_history(h);
        CPPUNIT_ASSERT(decode_ml_expansion_history(der) == h);
        CPPUNIT_ASSERT(identifies(h[0].identifier, test::pki_der("alice")));
        CPPUNIT_ASSERT(!identifies(h[0].identifier, test::pki_der("carol")));
    }

    void subject_key_identifier()
    {
        MlData d = entry("alice", MlReceiptPolicyKind::Absent);
        d.identifier.issuer_serial.reset();
        d.identifier.subject_key_id = subject_key_id_of(test::pki_der("alice"));
        CPPUNIT_ASSERT(!d.identifier.subject_key_id.empty());
        const auto back = decode_ml_expansion_history(encode_ml_expansion_history({d}));
        CPPUNIT_ASSERT(back.size() == 1 && back[0] == d);
        CPPUNIT_ASSERT(identifies(back[0].identifier, test::pki_der("alice")));
        CPPUNIT_ASSERT(!identifies(back[0].identifier, test::pki_der("bob")));
    }

    // An encoder that is not ours: OpenSSL's ASN1_generate_nconf, from RFC 2634's definition.
    void openssl_generated()
    {
        test::TempDir d;
        test::write_file(d.path() / "h.cnf",
                         "asn1 = SEQUENCE:history\n"
                         "[history]\ne1 = SEQUENCE:mldata\n"
                         "[mldata]\nid = FORMAT:HEX,OCTETSTRING:0102030405\n"
                         "time = GENERALIZEDTIME:20261201101112Z\n"
                         "policy = IMPLICIT:1C,SEQUENCE:names\n"
                         "[names]\nn1 = SEQUENCE:gn\n"
                         "[gn]\nrfc = IMPLICIT:1C,IA5STRING:owner@partner.example\n");
        test::run("openssl asn1parse -genconf '" + (d.path() / "h.cnf").string() + "' -out '" +
                  (d.path() / "h.der").string() + "' >/dev/null");
        const auto h = decode_ml_expansion_history(to_bytes(test::read_file(d.path() / "h.der")));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), h.size());
        CPPUNIT_ASSERT(!h[0].identifier.issuer_serial);
        CPPUNIT_ASSERT(h[0].identifier.subject_key_id == Bytes({1, 2, 3, 4, 5}));
        CPPUNIT_ASSERT_EQUAL(std::time_t(1796119872), h[0].expansion_time);
        CPPUNIT_ASSERT(h[0].policy == MlReceiptPolicyKind::InsteadOf);
        CPPUNIT_ASSERT(h[0].names == std::vector<std::string>{"owner@partner.example"});
    }

    void malformed()
    {
        const Bytes good = encode_ml_expansion_history({entry("alice", MlReceiptPolicyKind::None)});
        const std::vector<Bytes> bad = {
            {},
            {0x30, 0x00},                                       // no entries
            Bytes(good.begin(), good.end() - 3),                // truncated
            {0x31, 0x03, 0x02, 0x01, 0x01},                     // SET of an INTEGER
            {0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00},   // absurd length
        };
        for (const auto& b : bad)
            CPPUNIT_ASSERT(failure_of([&] { decode_ml_expansion_history(b); }) == Failure::MalformedMessage);
        // A time that is not YYYYMMDDHHMMSSZ (same length, so only the value is wrong).
        Bytes t = good;
        for (std::size_t i = 0; i + 15 <= t.size(); ++i)
            if (t[i] == 0x18 && t[i + 1] == 15) t[i + 2 + 4] = 'x';
        CPPUNIT_ASSERT(failure_of([&] { decode_ml_expansion_history(t); }) == Failure::MalformedMessage);
    }

    void limit_of_64()
    {
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), decode_ml_expansion_history(raw_history(64)).size());
        CPPUNIT_ASSERT(failure_of([] { decode_ml_expansion_history(raw_history(65)); }) == Failure::MalformedMessage);
        MlExpansionHistory h(64, entry("alice", MlReceiptPolicyKind::Absent));
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), decode_ml_expansion_history(encode_ml_expansion_history(h)).size());
        h.push_back(h.back());
        CPPUNIT_ASSERT(failure_of([&] { encode_ml_expansion_history(h); }) == Failure::MalformedMessage);
    }

    void refuses_to_encode_nonsense()
    {
        CPPUNIT_ASSERT(failure_of([] { encode_ml_expansion_history({}); }) == Failure::MalformedMessage);
        CPPUNIT_ASSERT(failure_of([] {
                           encode_ml_expansion_history({entry("alice", MlReceiptPolicyKind::InsteadOf)});
                       }) == Failure::MalformedMessage);
        CPPUNIT_ASSERT(failure_of([] {
                           encode_ml_expansion_history({entry("alice", MlReceiptPolicyKind::None, {"x@y.example"})});
                       }) == Failure::MalformedMessage);
        CPPUNIT_ASSERT(failure_of([] {
                           encode_ml_expansion_history(
                               {entry("alice", MlReceiptPolicyKind::InAdditionTo, {"with space@y.example"})});
                       }) == Failure::MalformedMessage);
        MlData none;
        CPPUNIT_ASSERT(failure_of([&] { encode_ml_expansion_history({none}); }) == Failure::MalformedMessage);
    }

    // Found by tests/fuzz/fuzz_ml_expansion (the CI smoke run): a serial number with a
    // superfluous leading FF octet (BER) came back from our encoder without it (libtasn1 writes
    // INTEGERs minimally) and the history no longer compared equal. Serials compare as values.
    void non_minimal_serial_round_trips()
    {
        const Bytes input = {
            0x30, 0x54, 0x30, 0x52, 0x30, 0x27, 0x30, 0x1e, 0x31, 0x1c, 0x30, 0x1a, 0x06, 0x03, 0x55, 0x04, 0x03,
            0x0c, 0x13, 'S',  'S',  'M',  ' ',  'T',  'e',  's',  't',  ' ',  'I',  's',  's',  'u',  'i',  'n',
            'g',  ' ',  'C',  'A',  0x02, 0x05, 0xff, 0xff, 0xff, 0xfb, 0xb5, 0x18, 0x0f, '2',  '0',  '2',  '6',
            '1',  '2',  '0',  '1',  '1',  '0',  '1',  '1',  '1',  '2',  'Z',  0xa1, 0x16, 0x30, 0x14, 0x81, 0x12,
            'o',  'w',  'n',  'e',  'r',  '@',  'a',  'c',  'm',  'e',  '.',  'e',  'x',  'i',  'n',  's',  't',
            0x00};
        const MlExpansionHistory h = decode_ml_expansion_history(input);
        const MlExpansionHistory again = decode_ml_expansion_history(encode_ml_expansion_history(h));
        CPPUNIT_ASSERT(again == h);
        // The same with a serial of no octets at all (02 85 00 00 00 00 00): malformed.
        Bytes empty_serial = input;
        const Bytes serial = {0x02, 0x05, 0xff, 0xff, 0xff, 0xfb, 0xb5};
        auto at = std::search(empty_serial.begin(), empty_serial.end(), serial.begin(), serial.end());
        CPPUNIT_ASSERT(at != empty_serial.end());
        const Bytes no_octets = {0x02, 0x85, 0x00, 0x00, 0x00, 0x00, 0x00};
        std::copy(no_octets.begin(), no_octets.end(), at);
        CPPUNIT_ASSERT_THROW(decode_ml_expansion_history(empty_serial), Error);
        CPPUNIT_ASSERT(same_serial(Bytes{0xff, 0xff, 0xfb}, Bytes{0xff, 0xfb}));
        CPPUNIT_ASSERT(same_serial(Bytes{0x00, 0x00, 0x7f}, Bytes{0x7f}));
        CPPUNIT_ASSERT(same_serial(Bytes{0x00, 0x80}, Bytes{0x80}));  // a forgotten sign octet
        CPPUNIT_ASSERT(!same_serial(Bytes{0xff, 0x7f}, Bytes{0x7f}));
        CPPUNIT_ASSERT(!same_serial(Bytes{0x01, 0x00}, Bytes{0x01}));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MlExpansionTest);
