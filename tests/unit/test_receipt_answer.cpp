// Unit tests for answering receipt requests (smime/cms/receipt_sign): the RFC
// 2634 §2.3 decision table (receiptsFrom against mail list policies),
// mlExpansionHistory decoding, and signed receipts made by sign_receipt over
// messages OpenSSL signed with a request: our msgSigDigest equals the digest of
// the original signed attributes, and OpenSSL's own `cms -verify_receipt`
// accepts the receipt against the original.
#include <cppunit/extensions/HelperMacros.h>

#include <gnutls/crypto.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "smime/cms/decode.h"
#include "smime/cms/ml_expansion.h"
#include "smime/cms/oids.h"
#include "smime/cms/receipt.h"
#include "smime/cms/receipt_sign.h"
#include "smime/cms/verify.h"
#include "soft_signer.h"
#include "test_support.h"

using namespace ssm;
using namespace ssm::smime;

namespace {

using Ml = cms::MlData;
using Kind = cms::MlReceiptPolicyKind;

// The last list agent's entry, as the receipt decision reads it.
Ml last_ml(ByteView history_der)
{
    return cms::decode_ml_expansion_history(history_der).back();
}

Ml ml(Kind kind, std::vector<std::string> names = {})
{
    Ml m;
    m.policy = kind;
    m.names = std::move(names);
    return m;
}

// DER TLV with a short length (the test values stay under 128 octets).
Bytes tlv(std::uint8_t tag, const Bytes& content)
{
    CPPUNIT_ASSERT(content.size() < 128);
    Bytes out{tag, static_cast<std::uint8_t>(content.size())};
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

Bytes cat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// One MLData: subjectKeyIdentifier, expansionTime, and `policy` (empty:
// absent).
Bytes ml_data(const Bytes& policy)
{
    return tlv(0x30, cat({tlv(0x04, Bytes{1, 2, 3, 4}), tlv(0x18, to_bytes(std::string("20261201000000Z"))), policy}));
}

// insteadOf [1] / inAdditionTo [2]: SEQUENCE OF GeneralNames, each one
// rfc822Name [1].
Bytes names_policy(std::uint8_t tag, const std::vector<std::string>& names)
{
    Bytes seq;
    for (const auto& n : names) seq = cat({seq, tlv(0x30, tlv(0x81, to_bytes(n)))});
    return tlv(tag, seq);
}

Bytes signed_by_openssl(const test::TempDir& d, const std::string& name, const std::string& extra)
{
    const auto& pki = test::program_pki();
    const std::string in = (d.path() / "in.txt").string(), out = (d.path() / "original.der").string();
    test::write_file(in, "Content-Type: text/plain\r\n\r\nplease answer\r\n");
    test::run("OPENSSL_CONF=/dev/null openssl cms -sign -binary -nodetach -in " + in + " -signer " +
              (pki / (name + ".cert.pem")).string() + " -inkey " + (pki / (name + ".key.pem")).string() + " " + extra +
              " -outform DER -out " + out + " 2>/dev/null");
    return to_bytes(test::read_file(out));
}

cms::ReceiptSubject subject_of(const Bytes& original)
{
    const auto sd = cms::decode_signed_content_info(original);
    const auto& si = sd.signers.at(0);
    cms::ReceiptSubject s;
    s.content_type = sd.econtent_type;
    s.signature = si.signature;
    s.signed_attributes_der = si.signed_attributes_der;
    s.digest = DigestAlgorithm::Sha256;
    s.request = cms::decode_receipt_request(si.find_signed(cms::oid::kReceiptRequest)->values.at(0));
    return s;
}

Bytes sha256(const Bytes& data)
{
    Bytes out(32);
    CPPUNIT_ASSERT_EQUAL(0, gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data(), data.size(), out.data()));
    return out;
}

}  // namespace

class ReceiptAnswerTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReceiptAnswerTest);
    CPPUNIT_TEST(duty_table);
    CPPUNIT_TEST(duty_compares_address_keys);
    CPPUNIT_TEST(ml_history_decodes);
    CPPUNIT_TEST(signed_receipt_verifies_with_openssl);
    CPPUNIT_TEST(signed_receipt_refusals);
    CPPUNIT_TEST_SUITE_END();

public:
    void duty_table()
    {
        const std::vector<std::string> us{"alice@acme.example", "domain-signing-authority@acme.example"};
        cms::ReceiptRequest all{Bytes(8, 1), cms::ReceiptsFrom::All, {}, {"Dave@partner.example"}, 0};
        cms::ReceiptRequest first = all;
        first.from = cms::ReceiptsFrom::FirstTier;
        cms::ReceiptRequest list_us = all;
        list_us.from = cms::ReceiptsFrom::List;
        list_us.from_list = {"ALICE@acme.example"};
        cms::ReceiptRequest list_other = list_us;
        list_other.from_list = {"bob@acme.example"};
        const Ml none = ml(Kind::None);
        const Ml absent = ml(Kind::Absent);
        const Ml instead = ml(Kind::InsteadOf, {"list-owner@partner.example"});
        const Ml extra = ml(Kind::InAdditionTo, {"list-owner@partner.example", "dave@partner.example"});
        const std::vector<std::string> dave{"dave@partner.example"};
        const std::vector<std::string> owner{"list-owner@partner.example"};
        const std::vector<std::string> both{"dave@partner.example", "list-owner@partner.example"};
        struct Row {
            const cms::ReceiptRequest& request;
            std::optional<Ml> ml;
            bool answer;
            std::vector<std::string> to;
        };
        const Row rows[] = {
            {all, std::nullopt, true, dave},
            {first, std::nullopt, true, dave},
            {list_us, std::nullopt, true, dave},
            {list_other, std::nullopt, false, {}},
            {all, none, false, {}},
            {first, none, false, {}},
            {all, absent, true, dave},
            {first, absent, false, {}},
            {first, instead, false, {}},
            {all, instead, true, owner},
            {all, extra, true, both},
            {list_us, extra, true, both},
            {list_other, instead, false, {}},
        };
        int i = 0;
        for (const auto& r : rows) {
            const auto d = cms::receipt_duty(r.request, r.ml, us);
            const std::string where = "row " + std::to_string(i++);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, r.answer, d.answer);
            CPPUNIT_ASSERT_MESSAGE(where, d.to == r.to);
            CPPUNIT_ASSERT_MESSAGE(where, d.answer == d.reason.empty());
        }
        // The answering identity named in a receiptList counts as us too.
        cms::ReceiptRequest list_domain = list_us;
        list_domain.from_list = {"domain-signing-authority@acme.example"};
        CPPUNIT_ASSERT(cms::receipt_duty(list_domain, std::nullopt, us).answer);
    }

    // Addresses compare as the milter keys them (EmailAddress::key()): a receiptList naming
    // "Alice"@ACME.example names alice@acme.example, and receiptsTo spellings of one mailbox
    // give one receipt address. The request's names are IA5String rfc822Names (ASCII); the
    // recipients' may be UTF-8, folded by Unicode's lower-case mapping as every look-up is.
    void duty_compares_address_keys()
    {
        const std::vector<std::string> us{"alice@acme.example", "domain-signing-authority@acme.example"};
        cms::ReceiptRequest request{Bytes(8, 1), cms::ReceiptsFrom::List, {"\"Alice\"@ACME.example"},
                                    {"Dave@partner.example", "\"dave\"@Partner.Example", "NOT-AN-ADDRESS"}, 0};
        const auto d = cms::receipt_duty(request, std::nullopt, us);
        CPPUNIT_ASSERT_MESSAGE(d.reason, d.answer);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, d.to.size());
        CPPUNIT_ASSERT_EQUAL(std::string("dave@partner.example"), d.to[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("not-an-address"), d.to[1]);  // kept, never made an address
        // receipt_duty's own contract: `names` in any case, UTF-8 letters too.
        cms::ReceiptRequest utf8 = request;
        utf8.from_list = {"\u00dcnal@example.org"};
        CPPUNIT_ASSERT(cms::receipt_duty(utf8, std::nullopt, {"\u00fcnal@example.org"}).answer);
        CPPUNIT_ASSERT(cms::receipt_duty(utf8, std::nullopt, {"\u00dcNAL@EXAMPLE.org"}).answer);
        CPPUNIT_ASSERT(!cms::receipt_duty(utf8, std::nullopt, {"unal@example.org"}).answer);
    }

    void ml_history_decodes()
    {
        const Bytes absent = tlv(0x30, ml_data({}));
        CPPUNIT_ASSERT(last_ml(absent).policy == Kind::Absent);
        const Bytes none = tlv(0x30, cat({ml_data({}), ml_data(Bytes{0x80, 0x00})}));
        CPPUNIT_ASSERT(last_ml(none).policy == Kind::None);
        // The last MLData decides: an earlier none is superseded.
        const Bytes later = tlv(0x30, cat({ml_data(Bytes{0x80, 0x00}), ml_data(names_policy(0xA1, {"o@x.example"}))}));
        const Ml instead = last_ml(later);
        CPPUNIT_ASSERT(instead.policy == Kind::InsteadOf);
        CPPUNIT_ASSERT(instead.names == std::vector<std::string>{"o@x.example"});
        const Ml add =
            last_ml(tlv(0x30, ml_data(names_policy(0xA2, {"a@x.example", "b@x.example"}))));
        CPPUNIT_ASSERT(add.policy == Kind::InAdditionTo);
        CPPUNIT_ASSERT((add.names == std::vector<std::string>{"a@x.example", "b@x.example"}));
        // Truncations, an empty history and an address with a space are refused.
        for (std::size_t n = 0; n < later.size(); ++n) {
            bool refused = false;
            try {
                last_ml(ByteView(later.data(), n));
            } catch (const Error& e) {
                refused = e.failure() == Failure::MalformedMessage;
            }
            CPPUNIT_ASSERT(refused);
        }
        for (const Bytes& bad : {Bytes{0x30, 0x00}, tlv(0x30, ml_data(names_policy(0xA1, {"o x@x.example"})))}) {
            bool refused = false;
            try {
                last_ml(bad);
            } catch (const Error& e) {
                refused = e.failure() == Failure::MalformedMessage;
            }
            CPPUNIT_ASSERT(refused);
        }
    }

    // dave (OpenSSL) asks alice for a receipt; the gateway's key (domain-signing)
    // answers.
    void signed_receipt_verifies_with_openssl()
    {
        test::TempDir d;
        const auto& pki = test::program_pki();
        const Bytes original =
            signed_by_openssl(d, "dave", "-receipt_request_all -receipt_request_to dave@partner.example");
        const cms::ReceiptSubject subject = subject_of(original);
        test::SoftSigner signer(pki / "domain-signing.key.pem", pki / "domain-signing.cert.der",
                                {pki / "sub-ca.cert.der"});
        cms::SignOptions o;
        o.signing_time = 1764547200;
        const cms::SignedReceipt sr = cms::sign_receipt(signer, subject, o);

        // What it holds: the original's content type, identifier and signature
        // value.
        CPPUNIT_ASSERT(sr.receipt.content_type == cms::oid::kData);
        CPPUNIT_ASSERT(sr.receipt.content_identifier == subject.request.content_identifier);
        CPPUNIT_ASSERT(sr.receipt.originator_signature == subject.signature);
        const auto sd = cms::decode_signed_content_info(sr.der);
        CPPUNIT_ASSERT_EQUAL(std::string(cms::oid::kReceipt), sd.econtent_type);
        CPPUNIT_ASSERT(cms::decode_receipt(*sd.econtent) == sr.receipt);
        // msgSigDigest: SHA-256 of the original DER signedAttrs (SET OF), computed
        // here directly.
        const cms::Attribute* msd = sd.signers.at(0).find_signed(cms::oid::kMsgSigDigest);
        CPPUNIT_ASSERT(msd && msd->values.size() == 1);
        CPPUNIT_ASSERT(cms::decode_msg_sig_digest_value(msd->values[0]) == sha256(subject.signed_attributes_der));
        CPPUNIT_ASSERT(sd.signers.at(0).find_signed(cms::oid::kReceiptRequest) == nullptr);
        CPPUNIT_ASSERT(sd.signers.at(0).find_signed(cms::oid::kSecurityLabel) == nullptr);
        // A labelled original: the receipt carries the same label (RFC 2634 §2.4; found by
        // a BouncyCastle-made labelled request, whose receipt came back without it).
        cms::ReceiptSubject labelled = subject;
        const Bytes label = {0x31, 0x0d, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x02, 0x01, 0x01};
        labelled.security_label = label;
        const auto lsd = cms::decode_signed_content_info(cms::sign_receipt(signer, labelled, o).der);
        const cms::Attribute* carried = lsd.signers.at(0).find_signed(cms::oid::kSecurityLabel);
        CPPUNIT_ASSERT(carried && carried->values.size() == 1 && carried->values[0] == label);
        // Our verifier: the signature holds and the content type attribute is
        // id-ct-receipt.
        MemorySource in(sr.der);
        MemorySink content;
        const auto v = cms::verify_encapsulated(in, content);
        CPPUNIT_ASSERT(v.signers.size() == 1 && v.signers[0].signature_valid);

        // OpenSSL's own receipt check against the original message.
        const std::string receipt = (d.path() / "receipt.der").string();
        test::write_file(receipt, std::string(sr.der.begin(), sr.der.end()));
        test::run("OPENSSL_CONF=/dev/null openssl cms -verify_receipt " + receipt + " -rctform DER -in " +
                  (d.path() / "original.der").string() + " -inform DER -CAfile " + (pki / "root-ca.cert.pem").string() +
                  " -purpose any >/dev/null 2>&1");
        // ... and it refuses the receipt against another message with another
        // request.
        signed_by_openssl(d, "dave", "-receipt_request_all -receipt_request_to dave@partner.example");
        bool refused = false;
        try {
            test::run("OPENSSL_CONF=/dev/null openssl cms -verify_receipt " + receipt + " -rctform DER -in " +
                      (d.path() / "original.der").string() + " -inform DER -CAfile " +
                      (pki / "root-ca.cert.pem").string() + " -purpose any >/dev/null 2>&1");
        } catch (const std::exception&) {
            refused = true;
        }
        CPPUNIT_ASSERT(refused);
    }

    void signed_receipt_refusals()
    {
        test::TempDir d;
        const auto& pki = test::program_pki();
        cms::ReceiptSubject s =
            subject_of(signed_by_openssl(d, "dave", "-receipt_request_first -receipt_request_to dave@partner.example"));
        test::SoftSigner signer(pki / "domain-signing.key.pem", pki / "domain-signing.cert.der");
        cms::ReceiptSubject no_attrs = s;
        no_attrs.signed_attributes_der.clear();
        cms::ReceiptSubject no_signature = s;
        no_signature.signature.clear();
        cms::ReceiptSubject bad_type = s;
        bad_type.content_type = "not an oid";
        for (const auto& bad : {no_attrs, no_signature, bad_type}) {
            bool refused = false;
            try {
                cms::sign_receipt(signer, bad, {});
            } catch (const Error& e) {
                refused = e.failure() == Failure::MalformedMessage;
            }
            CPPUNIT_ASSERT(refused);
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReceiptAnswerTest);
