// Unit tests for smime/mime/encoded_words.h (RFC 2047 in the Subject): decoding what mail
// clients write (Q and B, several charsets, adjacent and folded words, broken words left as
// they are), and encoding UTF-8 text again in words of at most 75 characters that decode back.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "smime/mime/encoded_words.h"

using namespace ssm::smime::mime;

class EncodedWordsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(EncodedWordsTest);
    CPPUNIT_TEST(decodes_what_clients_write);
    CPPUNIT_TEST(leaves_what_is_no_encoded_word);
    CPPUNIT_TEST(encodes_and_decodes_back);
    CPPUNIT_TEST_SUITE_END();

public:
    void decodes_what_clients_write()
    {
        const struct { const char* value; const char* text; } rows[] = {
            {"=?iso-8859-1?Q?Vertrags=E4nderung?=", "Vertrags\xc3\xa4nderung"},
            {"=?UTF-8?B?R3LDvMOfZQ==?=", "Gr\xc3\xbc\xc3\x9f" "e"},
            {"=?windows-1252?q?=80_100?=", "\xe2\x82\xac 100"},
            {"=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
            {"Re: =?utf-8?q?a?= =?utf-8?q?b?=", "Re: ab"},          // §6.2: the space between words goes
            {"=?utf-8?q?a?=\r\n\t=?utf-8?q?b?= c", "ab c"},        // folded, then text
            {"=?utf-8*en?q?lang?=", "lang"},                       // RFC 2231 language suffix
            {"a =?utf-8?q?b?= c", "a b c"},
        };
        for (const auto& r : rows) {
            const DecodedText d = decode_encoded_words(r.value);
            CPPUNIT_ASSERT_MESSAGE(r.value, d.had_encoded_words);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.value, std::string(r.text), d.text);
        }
    }

    void leaves_what_is_no_encoded_word()
    {
        for (const char* v : {"plain subject", "=?utf-8?x?y?=", "=?utf-8?q?bad=Z?=", "=?nosuchcharset?q?x?=",
                              "=?utf-8?q?with space?=", "=?utf-8?b?!!!?=", "=?", "=?utf-8?", "=?utf-8?q?unended"}) {
            const DecodedText d = decode_encoded_words(v);
            CPPUNIT_ASSERT_MESSAGE(v, !d.had_encoded_words);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(v, std::string(v), d.text);
        }
        CPPUNIT_ASSERT_EQUAL(std::string("a b"), decode_encoded_words("a\r\n b").text);  // unfolded
    }

    void encodes_and_decodes_back()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("plain ASCII"), encode_unstructured("plain ASCII"));
        CPPUNIT_ASSERT_EQUAL(std::string("=?UTF-8?B?PT8gbG9va3MgZW5jb2RlZA==?="), encode_unstructured("=? looks encoded"));
        std::string long_text;
        for (int i = 0; i < 40; ++i) long_text += "Vertrags\xc3\xa4nderung ";  // 2-octet sequences to split around
        const std::string encoded = encode_unstructured(long_text);
        std::size_t start = 0;
        while (start < encoded.size()) {  // every word at most 75 characters, folds between them
            const std::size_t end = std::min(encoded.find("\r\n ", start), encoded.size());
            CPPUNIT_ASSERT(end - start <= 75);
            start = end + 3;
        }
        CPPUNIT_ASSERT_EQUAL(long_text, decode_encoded_words(encoded).text);
        const std::string bytes("\x01\xff\xc3", 3);  // not even UTF-8: still round trips
        CPPUNIT_ASSERT(bytes == decode_encoded_words(encode_unstructured(bytes)).text);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(EncodedWordsTest);
