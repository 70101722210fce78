// Where a received CMS body ends (smime/cms/object_end.h) and the transfer decoders that stop
// there (smime/mime/decoders.h): SignedData made by `openssl cms -sign` (definite DER and
// -stream indefinite BER, sized so that their base64 ends without padding), encoded by openssl
// base64 and Python's binascii (quoted-printable), followed by the footers relays append ("Regards", "--",
// "Thanks", "Hi=", whose letters are all base64), with CRLF, LF and CR-only line ends.
#include <cppunit/extensions/HelperMacros.h>

#include <optional>

#include "smime/cms/object_end.h"
#include "smime/mime/decoders.h"
#include "tests/unit/test_cms_verify_support.h"

using namespace ssm;
using namespace ssm::smime;
using namespace ssm::verifytest;

namespace {

enum class Encoding { Base64, Base64Unbroken, QuotedPrintable, Binary };

struct Decoded {
    std::optional<Failure> failure;
    Bytes out;
    bool trailing = false;
    bool complete = false;
};

// As milter/inbound_layers.cpp decode_transfer: the decoder into a BerObjectEnd, whose end
// the base64 decoder asks for (`ask_end` false: the decoder alone, as before the object end
// was known).
Decoded decode(Encoding e, const std::string& text, std::size_t chunk, bool ask_end = true)
{
    Decoded d;
    MemorySink sink;
    cms::BerObjectEnd object(sink);
    try {
        const auto feed = [&](ByteSink& s) {
            for (std::size_t i = 0; i < text.size(); i += chunk) s.write(std::string_view(text).substr(i, chunk));
        };
        if (e == Encoding::Base64 || e == Encoding::Base64Unbroken) {
            std::function<bool()> end;
            if (ask_end) end = [&object] { return object.complete(); };
            mime::Base64BodyDecoder dec(object, end);
            feed(dec);
            dec.finish();
            d.trailing = dec.trailing_text();
        } else if (e == Encoding::QuotedPrintable) {
            mime::QuotedPrintableDecoder dec(object);
            feed(dec);
            dec.finish();
        } else {
            feed(object);
        }
        object.finish();
    } catch (const Error& err) {
        d.failure = err.failure();
    }
    d.out = sink.data();
    d.trailing = d.trailing || object.trailing_text();
    d.complete = object.complete();
    return d;
}

std::string with_line_ends(const std::string& lf_text, const std::string& eol)
{
    std::string out;
    for (char c : lf_text) out += c == '\n' ? eol : std::string(1, c);
    return out;
}

}  // namespace

class CmsTrailingTextTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsTrailingTextTest);
    CPPUNIT_TEST(object_end_finds_definite_and_indefinite_ends);
    CPPUNIT_TEST(footers_of_base64_letters_after_unpadded_base64);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        // Opaque signatures of content whose length makes the DER a multiple of 3 octets (no
        // '=' at the end of its base64): openssl chooses the encoding, we only pick the size.
        const fs::path dir = m_dir.path();
        const std::string pki = (fixtures() / "pki").string();
        for (const bool stream : {false, true}) {
            Bytes found;
            for (int pad = 0; pad < 9 && (found.empty() || (!stream && m_one_over.empty())); ++pad) {
                test::write_file(dir / "content.txt", "Content-Type: text/plain\r\n\r\nHello" + std::string(pad, '!') + "\r\n");
                test::run("OPENSSL_CONF=/dev/null openssl cms -sign -binary -nodetach " +
                          std::string(stream ? "-stream " : "") + "-signer " + pki + "/alice.cert.pem -inkey " + pki +
                          "/alice.key.pem -in " + (dir / "content.txt").string() + " -outform DER -out " +
                          (dir / "o.der").string() + " 2>/dev/null");
                Bytes der = file_bytes(dir / "o.der");
                if (der.size() % 3 == 1 && !stream && m_one_over.empty()) m_one_over = der;
                if (der.size() % 3 == 0 && found.empty()) found = std::move(der);
            }
            CPPUNIT_ASSERT_MESSAGE("no multiple-of-3 signature", !found.empty());
            if (!stream) CPPUNIT_ASSERT_MESSAGE("no signature of 3n+1 octets", !m_one_over.empty());
            (stream ? m_indefinite : m_definite) = found;
        }
        CPPUNIT_ASSERT(m_definite[1] != 0x80 && m_indefinite[1] == 0x80);
    }

    // The encoding of `der` by a third-party tool, with LF line ends.
    std::string encode(const Bytes& der, Encoding e)
    {
        const fs::path in = m_dir.path() / "enc.in", out = m_dir.path() / "enc.out";
        test::write_file(in, std::string(as_chars(der)));
        switch (e) {
        case Encoding::Base64: test::run("openssl base64 -in " + in.string() + " -out " + out.string()); break;
        case Encoding::Base64Unbroken:
            test::run("openssl base64 -A -in " + in.string() + " -out " + out.string() + " && echo >>" + out.string());
            break;
        case Encoding::QuotedPrintable:
            // Binary quoted-printable (istext=False: CR and LF octets as =0D, =0A), as a
            // gateway must encode an object; its only line breaks are soft ones.
            test::run("python3 -c 'import binascii, sys; sys.stdout.buffer.write(binascii.b2a_qp(open(sys.argv[1], \"rb\").read(), istext=False))' " +
                      in.string() + " >" + out.string());
            break;
        case Encoding::Binary: return std::string(as_chars(der));
        }
        std::string text = test::read_file(out);
        std::erase(text, '\r');  // LF line ends (CR octets of the object are =0D)
        return text;
    }

    void object_end_finds_definite_and_indefinite_ends()
    {
        for (const Bytes* der : {&m_definite, &m_indefinite}) {
            const std::string what0 = der == &m_definite ? "definite" : "indefinite";
            const std::string body(as_chars(*der));
            const Bytes cut(der->begin(), der->end() - 1);
            struct Case {
                std::string what, text;
                const Bytes* expect;
                bool complete, trailing;
            };
            const std::string garbage = "Hello, this is no BER object at all\r\n";
            const Case cases[] = {
                {"alone", body, der, true, false},
                {"line ends after", body + "\r\n\r\n \t\r\n", der, true, false},
                {"footer after", body + "\r\n-- \r\nRegards\r\n", der, true, true},
                {"end-of-contents after", body + std::string("\0\0", 2), der, true, true},
                {"a second object after", body + body, der, true, true},
                {"cut short", std::string(as_chars(cut)), &cut, false, false},
            };
            for (const auto& c : cases)
                for (std::size_t chunk : {std::size_t(1), std::size_t(2), std::size_t(77), c.text.size()}) {
                    const std::string what = what0 + ", " + c.what + ", chunk " + std::to_string(chunk);
                    const Decoded d = decode(Encoding::Binary, c.text, chunk);
                    CPPUNIT_ASSERT_MESSAGE(what, !d.failure);
                    CPPUNIT_ASSERT_MESSAGE(what, d.out == *c.expect);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, c.complete, d.complete);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, c.trailing, d.trailing);
                }
        }
        // What is no BER object of the expected kind passes whole, as a plain copy would: text,
        // another outer tag, an end-of-contents at the top, a length of more than 8 octets.
        for (const std::string& text : {std::string("Hello, no BER object\r\nRegards\r\n"), std::string("\x31\x03\x02\x01\x00tail"),
                                        std::string("\x30\x80\x04\x80\x00\x00tail", 10), std::string("\x30\x89\x01") + std::string(12, '\1')}) {
            const Decoded d = decode(Encoding::Binary, text, 1);
            CPPUNIT_ASSERT_MESSAGE(text, !d.failure && d.out == to_bytes(text) && !d.trailing);
            CPPUNIT_ASSERT_MESSAGE(text, !d.complete);
        }
    }

    void footers_of_base64_letters_after_unpadded_base64()
    {
        // Footer lines made of base64 letters alone (and '=' where padding could be) cannot be
        // told from data by their characters: only the object's end says where the data stops.
        const std::string footers[] = {"Regards\n", "\n--\nThanks\n", "Hi=\n", "\nThanks", "Best\n",
                                       "\nCAUTION: This email originated from outside the organization.\n"};
        for (const Bytes* der : {&m_definite, &m_indefinite})
            for (const Encoding e : {Encoding::Base64, Encoding::Base64Unbroken, Encoding::QuotedPrintable, Encoding::Binary})
                for (const std::string eol : {"\r\n", "\n", "\r"}) {
                    // Line ends are changed in the encodings (in binary they are data).
                    const bool base64 = e == Encoding::Base64 || e == Encoding::Base64Unbroken;
                    const std::string encoded = e != Encoding::Binary ? with_line_ends(encode(*der, e), eol) : encode(*der, e);
                    const std::string what0 = std::string(der == &m_definite ? "definite" : "indefinite") + ", encoding " +
                                              std::to_string(int(e)) + ", eol " + std::to_string(eol.size()) +
                                              (eol == "\r" ? " CR" : "");
                    if (base64)
                        CPPUNIT_ASSERT_MESSAGE(what0, encoded.find('=') == std::string::npos);
                    {
                        const Decoded d = decode(e, encoded, encoded.size());
                        CPPUNIT_ASSERT_MESSAGE(what0, !d.failure && d.out == *der && !d.trailing && d.complete);
                    }
                    for (const std::string& footer : footers)
                        for (std::size_t chunk : {std::size_t(1), std::size_t(3), std::size_t(64), std::size_t(1000)}) {
                            const std::string text = encoded + with_line_ends(footer, eol);
                            const std::string what = what0 + ", footer '" + footer + "', chunk " + std::to_string(chunk);
                            const Decoded d = decode(e, text, chunk);
                            CPPUNIT_ASSERT_MESSAGE(what, !d.failure);
                            CPPUNIT_ASSERT_MESSAGE(what, d.out == *der);
                            CPPUNIT_ASSERT_MESSAGE(what, d.trailing && d.complete);
                        }
                }
        // Base64 re-wrapped at a width that is no multiple of 4 can leave the padding of the
        // last group alone on a line: it is the object's, not a footer. An object with one
        // octet in its last group ends "xx=="; broken after "xx", the object is complete
        // before the "==" line.
        {
            std::string b64 = encode(m_one_over, Encoding::Base64Unbroken);
            b64.pop_back();  // its line end
            CPPUNIT_ASSERT(b64.size() > 4 && b64.compare(b64.size() - 2, 2, "==") == 0);
            for (std::size_t cut : {2, 3}) {
                const std::string text = b64.substr(0, b64.size() - cut) + "\r\n" + b64.substr(b64.size() - cut) +
                                         "\r\nRegards\r\n";
                for (std::size_t chunk : {std::size_t(1), std::size_t(5), text.size()}) {
                    const Decoded d = decode(Encoding::Base64, text, chunk);
                    CPPUNIT_ASSERT_MESSAGE("cut " + std::to_string(cut), !d.failure && d.out == m_one_over && d.trailing);
                }
            }
            // The padding left out (some encoders omit it) and a footer in its place: the object
            // is whole, the bits left are the last group's zero fill.
            const std::string unpadded = b64.substr(0, b64.size() - 2) + "\r\nRegards\r\n";
            const Decoded d = decode(Encoding::Base64, unpadded, 7);
            CPPUNIT_ASSERT_MESSAGE("padding left out", !d.failure && d.out == m_one_over && d.trailing);
            // The same with nothing after it, or blank lines only: read the same, not refused
            // as truncated base64 (a disclaimer appended must not be what makes it readable).
            for (const std::string tail : {"", "\r\n", "\r\n\r\n \t\r\n"}) {
                const std::string bare = b64.substr(0, b64.size() - 2) + tail;
                for (std::size_t chunk : {std::size_t(1), std::size_t(7), bare.size()}) {
                    const Decoded e = decode(Encoding::Base64, bare, chunk);
                    CPPUNIT_ASSERT_MESSAGE("padding left out, no footer, tail of " + std::to_string(tail.size()),
                                           !e.failure && e.out == m_one_over && !e.trailing && e.complete);
                }
            }
            // Without the object's end the strict rule stays: the base64 is truncated.
            CPPUNIT_ASSERT(decode(Encoding::Base64, b64.substr(0, b64.size() - 2), 7, false).failure ==
                           Failure::MalformedMessage);
        }
        // Without the object's end the base64 decoder reads "Regards" as data (the gap this
        // closes): the object comes out damaged or the base64 is refused.
        const std::string encoded = with_line_ends(encode(m_definite, Encoding::Base64), "\r\n");
        const Decoded blind = decode(Encoding::Base64, encoded + "Regards\r\n", 64, false);
        CPPUNIT_ASSERT(blind.failure || blind.out != m_definite);
    }

private:
    test::TempDir m_dir;
    Bytes m_definite, m_indefinite;
    Bytes m_one_over;  // definite, 3n + 1 octets: its base64 ends "=="
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsTrailingTextTest);
