// Indefinite BER lengths made definite (smime/cms/definite_lengths.h), table-driven: the shapes
// BER streaming encoders send (indefinite SEQUENCEs around an AlgorithmIdentifier without
// parameters, a definite SET around an indefinite element, constructed OCTET STRINGs, a high
// tag number, contents of 128 octets and more) and the malformed encodings it must refuse; and
// BER in DER form as far as the encoding alone tells (in_der_form: lengths, string segments,
// BOOLEAN), for attributes signed or MACed as DER. The vectors are hand-written X.690
// encodings, each small enough to check by eye.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "base/error.h"
#include "smime/cms/definite_lengths.h"

using namespace ssm;

namespace {

Bytes hex(std::string h)
{
    std::erase(h, ' ');
    Bytes b;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) b.push_back(std::uint8_t(std::stoi(h.substr(i, 2), nullptr, 16)));
    return b;
}

struct Rewrite {
    const char* name;
    std::string in, out;  // hex; out empty: `in` unchanged
};

const Rewrite kRewrites[] = {
    {"DER unchanged", "30 06 06 01 2a 04 01 00", ""},
    {"non-minimal definite length kept", "30 81 03 06 01 2a", ""},
    {"indefinite SEQUENCE", "30 80 06 01 2a 00 00", "30 03 06 01 2a"},
    {"AlgorithmIdentifier without parameters", "30 80 06 09 60 86 48 01 65 03 04 02 01 00 00",
     "30 0b 06 09 60 86 48 01 65 03 04 02 01"},
    {"indefinite inside a definite SET", "31 07 30 80 06 01 2a 00 00", "31 05 30 03 06 01 2a"},
    {"indefinite inside indefinite", "30 80 30 80 04 01 41 00 00 00 00", "30 05 30 03 04 01 41"},
    {"constructed OCTET STRING", "24 80 04 01 41 04 01 42 00 00", "24 06 04 01 41 04 01 42"},
    {"empty indefinite element", "02 01 01 30 80 00 00", "02 01 01 30 00"},
    {"high tag number", "3f 81 01 80 04 01 41 00 00", "3f 81 01 03 04 01 41"},
};

// in_der_form: what X.690 §10-11 fix without the ASN.1 type.
const Rewrite kDerForms[] = {
    {"DER unchanged", "31 0b 30 09 06 01 2a 31 04 04 02 41 42", ""},
    {"long-form lengths shortened", "30 81 06 04 82 00 02 41 42", "30 04 04 02 41 42"},
    {"indefinite lengths", "31 80 30 80 06 01 2a 31 80 04 01 41 00 00 00 00 00 00", "31 0a 30 08 06 01 2a 31 03 04 01 41"},
    {"OCTET STRING segments joined", "24 80 04 02 41 42 04 01 43 00 00", "04 03 41 42 43"},
    {"nested OCTET STRING segments", "24 0b 24 80 04 01 41 00 00 04 02 42 43", "04 03 41 42 43"},
    {"UTF8String in OCTET STRING segments (pyasn1)", "2c 80 04 02 c3 a9 04 01 21 00 00", "0c 03 c3 a9 21"},
    {"UTCTime in segments", "37 80 04 06 32 36 31 32 30 34 04 07 31 30 32 37 30 30 5a 00 00",
     "17 0d 32 36 31 32 30 34 31 30 32 37 30 30 5a"},
    {"BIT STRING segments, unused bits in the last", "23 80 03 02 00 ff 03 02 04 f0 00 00", "03 03 04 ff f0"},
    {"empty constructed OCTET STRING", "24 80 00 00", "04 00"},
    {"BOOLEAN TRUE as FF", "30 03 01 01 01", "30 03 01 01 ff"},
    {"segments under a context tag kept (the type is not known)", "a0 80 04 01 41 04 01 42 00 00",
     "a0 06 04 01 41 04 01 42"},
    {"SET OF order kept (libtasn1 sorts it)", "31 06 04 01 42 04 01 41", ""},
};

const std::pair<const char*, const char*> kDerFormMalformed[] = {
    {"segment of another type", "24 80 0c 01 41 00 00"},
    {"BIT STRING segment with unused bits before the last", "23 80 03 02 04 f0 03 02 00 ff 00 00"},
    {"BIT STRING segment without its unused-bits octet", "23 80 03 00 00 00"},
    {"segments without end-of-contents", "24 80 04 01 41"},
    {"segment longer than its string", "24 03 04 02 41"},
};

const std::pair<const char*, const char*> kMalformed[] = {
    {"no end-of-contents", "30 80 06 01 2a"},
    {"indefinite primitive", "04 80 41 00 00"},
    {"end-of-contents in a definite element", "30 02 00 00"},
    {"child longer than its parent", "30 03 04 05 41"},
    {"element longer than the input", "04 05 41"},
    {"truncated header", "30"},
    {"length of nine octets", "30 89 01 00 00 00 00 00 00 00 00"},
    {"tag number too long", "3f 81 81 81 81 81 01 00"},
    {"end-of-contents with a length", "30 80 00 01 41 00 00"},
    {"end-of-contents constructed", "30 80 20 00 00 00"},
};

// True when `convert` refuses `h` (hex) as a malformed message, not another failure.
template <typename Convert>
bool refused_as_malformed(Convert convert, const char* h)
{
    try {
        (void)convert(hex(h));
    } catch (const Error& e) {
        return e.failure() == Failure::MalformedMessage;
    }
    return false;
}

}  // namespace

class CmsDefiniteLengthsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsDefiniteLengthsTest);
    CPPUNIT_TEST(rewrites);
    CPPUNIT_TEST(long_content);
    CPPUNIT_TEST(malformed);
    CPPUNIT_TEST(depth_limit);
    CPPUNIT_TEST(deep_nesting);
    CPPUNIT_TEST(der_forms);
    CPPUNIT_TEST(der_form_malformed);
    CPPUNIT_TEST_SUITE_END();

public:
    void rewrites()
    {
        for (const auto& r : kRewrites) {
            const Bytes in = hex(r.in);
            const Bytes want = r.out.empty() ? in : hex(r.out);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.name, to_hex(want), to_hex(smime::cms::with_definite_lengths(in)));
        }
    }

    // 200 content octets: the new length takes the long form (81 c8 inside, 81 cb around).
    void long_content()
    {
        Bytes in = hex("30 80 04 81 c8");
        in.insert(in.end(), 200, 0x41);
        in.insert(in.end(), {0, 0});
        Bytes want = hex("30 81 cb 04 81 c8");
        want.insert(want.end(), 200, 0x41);
        CPPUNIT_ASSERT_EQUAL(to_hex(want), to_hex(smime::cms::with_definite_lengths(in)));
    }

    void malformed()
    {
        for (const auto& [name, h] : kMalformed)
            CPPUNIT_ASSERT_MESSAGE(name, refused_as_malformed(smime::cms::with_definite_lengths, h));
    }

    // 32 nested indefinite SEQUENCEs are followed (ber_stream.h's kMaxBerDepth), 34 are not.
    void depth_limit()
    {
        auto nested = [](int n) {
            Bytes b;
            for (int i = 0; i < n; ++i) b.insert(b.end(), {0x30, 0x80});
            for (int i = 0; i < n; ++i) b.insert(b.end(), {0, 0});
            return b;
        };
        CPPUNIT_ASSERT_NO_THROW((void)smime::cms::with_definite_lengths(nested(32)));
        CPPUNIT_ASSERT_THROW((void)smime::cms::with_definite_lengths(nested(34)), Error);
    }

    // 30 levels, indefinite SEQUENCEs and definite SETs with three length octets in turn, around
    // 300 content octets and an element with a long-form length and no indefinite one inside:
    // every level gets its shortest definite length, the inner element is kept as received.
    void deep_nesting()
    {
        // Tag, shortest definite length, content: how each level must come out.
        auto definite = [](std::uint8_t tag, const Bytes& content) {
            Bytes b{tag};
            const std::size_t n = content.size();
            if (n < 0x80) b.push_back(std::uint8_t(n));
            else if (n < 0x100) b.insert(b.end(), {0x81, std::uint8_t(n)});
            else b.insert(b.end(), {0x82, std::uint8_t(n >> 8), std::uint8_t(n)});
            b.insert(b.end(), content.begin(), content.end());
            return b;
        };
        Bytes in = hex("30 81 03 06 01 2a 04 82 01 2c");
        in.insert(in.end(), 300, 0x41);
        Bytes want = in;
        for (int level = 0; level < 30; ++level) {
            const std::uint8_t tag = level % 2 ? 0x31 : 0x30;
            Bytes wrapped{tag};
            if (level % 2) {
                wrapped.insert(wrapped.end(), {0x82, std::uint8_t(in.size() >> 8), std::uint8_t(in.size())});
                wrapped.insert(wrapped.end(), in.begin(), in.end());
            } else {
                wrapped.push_back(0x80);
                wrapped.insert(wrapped.end(), in.begin(), in.end());
                wrapped.insert(wrapped.end(), {0, 0});
            }
            in = std::move(wrapped);
            want = definite(tag, want);
        }
        CPPUNIT_ASSERT_EQUAL(to_hex(want), to_hex(smime::cms::with_definite_lengths(in)));
        // Already definite (the output again): returned unchanged, octet for octet.
        CPPUNIT_ASSERT_EQUAL(to_hex(want), to_hex(smime::cms::with_definite_lengths(want)));
    }

    void der_forms()
    {
        for (const auto& r : kDerForms) {
            const Bytes in = hex(r.in);
            const Bytes want = r.out.empty() ? in : hex(r.out);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.name, to_hex(want), to_hex(smime::cms::in_der_form(in)));
        }
    }

    void der_form_malformed()
    {
        for (const auto& [name, h] : kDerFormMalformed)
            CPPUNIT_ASSERT_MESSAGE(name, refused_as_malformed(smime::cms::in_der_form, h));
        // The rules with_definite_lengths enforces hold here too.
        for (const auto& [name, h] : kMalformed)
            CPPUNIT_ASSERT_MESSAGE(name, refused_as_malformed(smime::cms::in_der_form, h));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsDefiniteLengthsTest);
