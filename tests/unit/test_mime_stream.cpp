// Unit tests for smime/mime/ (part 3): the word-at-a-time fast paths (line splitting, CRLF
// normalisation, facts gathered while spooling), bulk base64 (both line paths) and the
// canonical entity size, each against a plain
// byte-at-a-time reference on pseudo-random input in many chunkings.
#include <cppunit/extensions/HelperMacros.h>

#include <functional>
#include <optional>

#include "smime/mime/base64_lines.h"
#include "smime/mime/body_facts.h"
#include "smime/mime/decoders.h"
#include "smime/mime/line_reader.h"
#include "tests/unit/test_mime_support.h"

using namespace ssm;
using namespace ssm::smime::mime;
using namespace ssm::test::mime;

namespace {

// Input over a small alphabet rich in what the fast paths must notice.
std::string spiky(std::size_t n, unsigned seed)
{
    static const char alphabet[] = {'a', 'b', ' ', '\t', '\r', '\n', '\0', '\x80', '\xe9', '-',
                                    'x', 'y', 'z', '0', '1', '2'};
    const std::string r = pseudo_random(n, seed);
    std::string s(n, 'a');
    for (std::size_t i = 0; i < n; ++i) s[i] = alphabet[static_cast<unsigned char>(r[i]) % sizeof alphabet];
    return s;
}

// The line splitter as first written, one byte at a time (the reference).
std::vector<Line> reference_lines(const std::string& in, std::size_t cap)
{
    std::vector<Line> out;
    std::size_t i = 0;
    while (i < in.size()) {
        Line l;
        l.begin = i;
        for (;;) {
            if (i == in.size()) break;
            const auto c = static_cast<unsigned char>(in[i++]);
            if (c == '\n') {
                l.eol = Eol::Lf;
                break;
            }
            if (c == '\r') {
                if (i < in.size() && in[i] == '\n') {
                    ++i;
                    l.eol = Eol::Crlf;
                } else {
                    l.eol = Eol::Cr;
                }
                break;
            }
            ++l.length;
            if (c >= 0x80) l.has_8bit = true;
            if (c == 0) l.has_nul = true;
            if (l.head.size() < cap)
                l.head.push_back(static_cast<char>(c));
            else if (c != ' ' && c != '\t')
                l.tail_is_wsp = false;
        }
        out.push_back(l);
    }
    return out;
}

std::string reference_crlf(const std::string& in)
{
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') {
            out += "\r\n";
            ++i;
        } else if (in[i] == '\r' || in[i] == '\n') {
            out += "\r\n";
        } else {
            out += in[i];
        }
    }
    return out;
}

// The Base64BodyDecoder over `text` written `chunk` octets at a time; with `object_size`, asked
// whether the object is complete (the octets written against that size, as
// milter/inbound_layers.cpp asks the CMS object's own length). `trailing`: trailing_text().
std::string body_decode(const std::string& text, std::size_t chunk, std::optional<std::size_t> object_size,
                        bool& trailing)
{
    MemorySink out;
    std::function<bool()> complete;
    if (object_size) complete = [&out, n = *object_size] { return out.data().size() >= n; };
    Base64BodyDecoder dec(out, complete);
    for (std::size_t i = 0; i < text.size(); i += chunk) dec.write(std::string_view(text).substr(i, chunk));
    dec.finish();
    trailing = dec.trailing_text();
    return std::string(as_chars(out.data()));
}

std::string with_eol(const std::string& lf_text, const std::string& eol)
{
    std::string out;
    for (char c : lf_text) out += c == '\n' ? eol : std::string(1, c);
    return out;
}

}  // namespace

class MimeStreamTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MimeStreamTest);
    CPPUNIT_TEST(line_reader_matches_reference);
    CPPUNIT_TEST(crlf_normaliser_matches_reference);
    CPPUNIT_TEST(base64_over_many_output_blocks);
    CPPUNIT_TEST(base64_line_paths_agree_with_coreutils);
    CPPUNIT_TEST(base64_body_decoder_reads_mua_layouts_as_the_strict_one);
    CPPUNIT_TEST(base64_pieces_encoded_apart_are_read_while_the_object_is_incomplete);
    CPPUNIT_TEST(base64_pieces_joined_inside_a_line);
    CPPUNIT_TEST(base64_rows_of_equals_after_the_object_are_the_trailer);
    CPPUNIT_TEST(canonical_size_is_what_is_written);
    CPPUNIT_TEST(spooled_facts_match_the_scan);
    CPPUNIT_TEST_SUITE_END();

public:
    void line_reader_matches_reference()
    {
        for (unsigned seed = 1; seed <= 60; ++seed) {
            std::string in = spiky(seed * 13 % 400, seed);
            if (seed % 3 == 0) in = std::string(90, 'q') + "\r" + in;  // a long line, CR at the end
            for (std::size_t cap : {0u, 1u, 5u, 208u}) {
                const std::vector<Line> expected = reference_lines(in, cap);
                for (std::size_t chunk : {1u, 3u, 8u, 9u, 64u * 1024u}) {
                    auto src = chunked(in, chunk);
                    Cursor cur(src);
                    LineReader reader(cur, cap);
                    Line l;
                    std::size_t k = 0;
                    while (reader.next(l)) {
                        CPPUNIT_ASSERT(k < expected.size());
                        const Line& e = expected[k++];
                        CPPUNIT_ASSERT_EQUAL(e.begin, l.begin);
                        CPPUNIT_ASSERT_EQUAL(e.length, l.length);
                        CPPUNIT_ASSERT(e.eol == l.eol);
                        CPPUNIT_ASSERT_EQUAL(e.head, l.head);
                        CPPUNIT_ASSERT_EQUAL(e.tail_is_wsp, l.tail_is_wsp);
                        CPPUNIT_ASSERT_EQUAL(e.has_8bit, l.has_8bit);
                        CPPUNIT_ASSERT_EQUAL(e.has_nul, l.has_nul);
                    }
                    CPPUNIT_ASSERT_EQUAL(expected.size(), k);
                    CPPUNIT_ASSERT_EQUAL(static_cast<std::uint64_t>(in.size()), cur.pos());
                }
            }
        }
    }

    void crlf_normaliser_matches_reference()
    {
        for (unsigned seed = 1; seed <= 80; ++seed) {
            const std::string in = spiky(seed * 7 % 300, seed + 1000);
            const std::string expected = reference_crlf(in);
            for (std::size_t chunk : {1u, 2u, 7u, 8u, 33u, 4096u})
                CPPUNIT_ASSERT_EQUAL(expected, encode_chunked<CrlfNormaliser>(in, chunk));
        }
        // One long run larger than the output buffer passes through whole.
        const std::string big = lf_to_crlf(std::string(40000, 'x') + "\n" + std::string(30000, 'y') + "\n");
        CPPUNIT_ASSERT_EQUAL(big, encode_chunked<CrlfNormaliser>(big, 1 << 20));
    }

    void base64_over_many_output_blocks()
    {
        // More than two 256 KiB output blocks, in chunkings that split lines and blocks.
        const std::string in = pseudo_random(600001, 5);
        const std::string expected = lf_to_crlf(tool("base64 -w 76", in));
        for (std::size_t chunk : {57u, 1000u, 65536u, 1u << 20})
            CPPUNIT_ASSERT_EQUAL(expected, encode_chunked<Base64Encoder>(in, chunk));
    }

    void base64_line_paths_agree_with_coreutils()
    {
        // Both whole-line paths (the one this CPU takes and the portable table) on every
        // octet value in every position.
        const std::size_t lines = 300;
        std::string in = pseudo_random(lines * kBase64LineIn, 11);
        for (std::size_t i = 0; i < 256; ++i) in[i] = static_cast<char>(i);
        const std::string expected = lf_to_crlf(tool("base64 -w 76", in));
        std::string fast(lines * kBase64LineOut, '\0');
        std::string portable(lines * kBase64LineOut, '\0');
        const auto* src = reinterpret_cast<const std::uint8_t*>(in.data());
        encode_base64_lines(src, lines, reinterpret_cast<std::uint8_t*>(fast.data()));
        encode_base64_lines_portable(src, lines, reinterpret_cast<std::uint8_t*>(portable.data()));
        CPPUNIT_ASSERT_EQUAL(expected, fast);
        CPPUNIT_ASSERT_EQUAL(expected, portable);
    }

    // The body decoder (text after a pkcs7 body's base64 skipped, decoders.h) against the
    // strict one it replaced on the layouts MUAs and relays give coreutils' base64 (a
    // third-party encoder): 76- and 64-character and unbroken lines, LF or CRLF, spaces and
    // tabs at line ends, no final line end, an empty object. Whatever the strict decoder reads
    // it must read the same with nothing skipped; with a multipart's closing boundary lines
    // (or a footer part) after it, it must read the object alone and report the text.
    void base64_body_decoder_reads_mua_layouts_as_the_strict_one()
    {
        const auto decode = [](auto& dec, const std::string& text, std::size_t chunk) {
            for (std::size_t i = 0; i < text.size(); i += chunk) dec.write(std::string_view(text).substr(i, chunk));
            dec.finish();
        };
        const std::string tails[] = {"\r\n--b--\r\n", "--b--\n\n", "\r\n--b\r\nContent-Type: text/plain\r\n\r\nfooter\r\n--b--\r\n"};
        for (std::size_t size : {0u, 1u, 2u, 3u, 57u, 58u, 301u, 2000u})
            for (const char* wrap : {"-w 76", "-w 64", "-w 0"})
                for (int layout = 0; layout < 4; ++layout) {
                    const std::string object = pseudo_random(size, unsigned(size) + 3);
                    std::string text = tool(std::string("base64 ") + wrap, object);
                    if (layout == 1) text = lf_to_crlf(text);
                    if (layout == 2) {  // white space a relay left at the line ends
                        std::string padded;
                        for (char c : text) padded += c == '\n' ? std::string(" \t\r\n") : std::string(1, c);
                        text = padded;
                    }
                    if (layout == 3 && !text.empty() && text.back() == '\n') text.pop_back();  // no final line end
                    const std::string what = std::to_string(size) + " octets, " + wrap + ", layout " + std::to_string(layout);
                    MemorySink strict_out;
                    Base64Decoder strict(strict_out);
                    decode(strict, text, text.size() + 1);
                    CPPUNIT_ASSERT_MESSAGE(what, strict_out.data() == Bytes(object.begin(), object.end()));
                    for (std::size_t chunk : {std::size_t(1), std::size_t(5), text.size() + 1}) {
                        MemorySink out;
                        Base64BodyDecoder dec(out);
                        decode(dec, text, chunk);
                        CPPUNIT_ASSERT_MESSAGE(what, out.data() == strict_out.data());
                        CPPUNIT_ASSERT_MESSAGE(what, !dec.trailing_text());
                        for (const auto& tail : tails) {
                            MemorySink tailed_out;
                            Base64BodyDecoder tailed(tailed_out);
                            if (size == 0) {  // no object at all: no base64 before the text
                                CPPUNIT_ASSERT_THROW_MESSAGE(what, decode(tailed, text + tail, chunk), Error);
                                continue;
                            }
                            const bool ended = !text.empty() && text.back() == '\n';
                            decode(tailed, text + (ended ? "" : "\r\n") + tail, chunk);
                            CPPUNIT_ASSERT_MESSAGE(what + ", tail " + tail, tailed_out.data() == strict_out.data());
                            CPPUNIT_ASSERT_MESSAGE(what + ", tail " + tail, tailed.trailing_text());
                        }
                    }
                }
    }

    // An object cut into pieces, each encoded by coreutils base64 on its own and the texts
    // joined, so that padding stands inside the body ("TQ==" then "TWFu..."). Asked whether
    // the object is complete (as milter/inbound_layers.cpp asks the CMS object's own length;
    // here the octets written against the object's size), the decoder reads on after the
    // padding until it is, and still skips and reports what follows it, also text of base64
    // letters alone. Without the question the first padding ends the base64, as before.
    // Until 2026-12-04 the first padding ended it either way (the object came out truncated).
    void base64_pieces_encoded_apart_are_read_while_the_object_is_incomplete()
    {
        const std::string object = pseudo_random(200, 41);
        // 7 and 40 octets: "==" padding; 53: "="; 100: none (the last piece).
        std::string pieces;
        for (const auto& [at, n] : {std::pair<std::size_t, std::size_t>{0, 7}, {7, 40}, {47, 53}, {100, 100}})
            pieces += tool("base64 -w 76", object.substr(at, n));
        CPPUNIT_ASSERT(pieces.find("==\n") != std::string::npos && pieces.find("=\n") < pieces.size() - 2);
        const auto run = [&](const std::string& text, std::size_t chunk, bool ask, bool& trailing) {
            MemorySink out;
            Base64BodyDecoder dec(out, ask ? std::function<bool()>([&] {
                return out.data().size() >= object.size();
            })
                                           : std::function<bool()>());
            for (std::size_t i = 0; i < text.size(); i += chunk) dec.write(std::string_view(text).substr(i, chunk));
            dec.finish();
            trailing = dec.trailing_text();
            return std::string(as_chars(out.data()));
        };
        for (const std::string& eol : {std::string("\n"), std::string("\r\n")}) {
            std::string text;
            for (char c : pieces) text += c == '\n' ? eol : std::string(1, c);
            for (std::size_t chunk : {std::size_t(1), std::size_t(5), text.size() + 1}) {
                const std::string what = "chunk " + std::to_string(chunk) + (eol.size() == 2 ? " CRLF" : " LF");
                bool trailing = false;
                CPPUNIT_ASSERT_MESSAGE(what, run(text, chunk, true, trailing) == object);
                CPPUNIT_ASSERT_MESSAGE(what, !trailing);
                // Footers after the object: skipped and reported, base64 letters or not.
                for (const char* footer : {"Thanks", "Regards", "-- \r\nsent from a list"}) {
                    CPPUNIT_ASSERT_MESSAGE(what + footer, run(text + footer + eol, chunk, true, trailing) == object);
                    CPPUNIT_ASSERT_MESSAGE(what + footer, trailing);
                }
                // The object complete at a padded piece: the next base64 line is no piece of it.
                const std::string first_two = tool("base64 -w 76", object.substr(0, 7)) + tool("base64 -w 76", object.substr(7));
                std::string short_text;
                for (char c : first_two + tool("base64 -w 76", std::string("more"))) short_text += c == '\n' ? eol : std::string(1, c);
                CPPUNIT_ASSERT_MESSAGE(what, run(short_text, chunk, true, trailing) == object);
                CPPUNIT_ASSERT_MESSAGE(what, trailing);
                // Without asking: the first padding ends the base64, the rest is the trailer.
                CPPUNIT_ASSERT_MESSAGE(what, run(text, chunk, false, trailing) == object.substr(0, 7));
                CPPUNIT_ASSERT_MESSAGE(what, trailing);
                // A line after the padding that is no fresh base64 ('=' or a character outside
                // the alphabet) ends it, asked or not.
                const std::string bad = tool("base64", object.substr(0, 7)) + "=AAA" + eol + "AAAA" + eol;
                CPPUNIT_ASSERT_MESSAGE(what, run(bad, chunk, true, trailing) == object.substr(0, 7));
                CPPUNIT_ASSERT_MESSAGE(what, trailing);
            }
        }
    }

    // Pieces joined with no line break between them (a streaming encoder that pads at each
    // flush and writes one unbroken line; a gateway that joins pieces and wraps the text
    // again): the padding stands inside a line, "QUJD" "RA==" "RUY=" as "QUJDRA==RUY=". Read
    // as pieces on lines of their own are: on while the object is incomplete, also beyond the
    // first kMaxHeldLine octets of a line (no longer held there), and once the object is
    // complete the rest is the trailer; without the question the first padding ends the
    // base64. A line that is not base64 throughout, pieces and all, is the trailer whole, as
    // before. Until 2026-12-04 a held line with padding inside was the trailer whole (the
    // object truncated; "invalid base64" as the first line) and an unbroken one was refused.
    void base64_pieces_joined_inside_a_line()
    {
        // 7 and 40 octets: "==" padding; 53: "="; 100: none. 3000 octets cut at 1000 ("==")
        // and 1500 ("="): both paddings beyond the first kMaxHeldLine octets of the line.
        const std::string small = pseudo_random(200, 41), big = pseudo_random(3000, 43);
        const auto joined = [](const std::string& object, std::initializer_list<std::size_t> cuts) {
            std::string text;
            std::size_t at = 0;
            for (std::size_t cut : cuts) {
                text += tool("base64 -w 0", object.substr(at, cut - at));
                at = cut;
            }
            return text + tool("base64 -w 0", object.substr(at));
        };
        const std::string small_line = joined(small, {7, 47, 100}), big_line = joined(big, {1000, 1500});
        CPPUNIT_ASSERT(small_line.find("==") < small_line.size() - 2);
        CPPUNIT_ASSERT(big_line.find('=') > Base64BodyDecoder::kMaxHeldLine && big_line.find('=') < big_line.size() - 2);
        const std::string rewrapped = tool("fold -w 76", small_line) + "\n";  // padding mid-line, lines of 76
        CPPUNIT_ASSERT(rewrapped.find("==") < 76 && rewrapped[rewrapped.find("==") + 2] != '\n');
        for (const std::string eol : {"\n", "\r\n"})
            for (std::size_t chunk : {std::size_t(1), std::size_t(5), std::size_t(1 << 16)}) {
                const std::string what = "chunk " + std::to_string(chunk) + (eol.size() == 2 ? " CRLF" : " LF");
                bool trailing = true;
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string("ABCDEF"), body_decode("QUJDRA==RUY=" + eol, chunk, 6, trailing));
                CPPUNIT_ASSERT_MESSAGE(what, !trailing);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string("ABCDEF"), body_decode("QUJD\r\nRA== RUY=" + eol, chunk, 6, trailing));
                CPPUNIT_ASSERT_MESSAGE(what, !trailing);
                for (const auto& [object, text] : {std::pair{&small, small_line + "\n"}, std::pair{&big, big_line + "\n"},
                                                   std::pair{&small, rewrapped}}) {
                    const std::string t = with_eol(text, eol), w = what + ", " + std::to_string(object->size()) + " octets";
                    CPPUNIT_ASSERT_MESSAGE(w, body_decode(t, chunk, object->size(), trailing) == *object);
                    CPPUNIT_ASSERT_MESSAGE(w, !trailing);
                    // A footer after the last piece: skipped and reported.
                    CPPUNIT_ASSERT_MESSAGE(w, body_decode(t + "Thanks" + eol, chunk, object->size(), trailing) == *object);
                    CPPUNIT_ASSERT_MESSAGE(w, trailing);
                    // The object complete at the first padding: what follows it in the line is
                    // no piece of it.
                    const std::size_t first = object == &small ? 7 : 1000;
                    CPPUNIT_ASSERT_MESSAGE(w, body_decode(t, chunk, first, trailing) == object->substr(0, first));
                    CPPUNIT_ASSERT_MESSAGE(w, trailing);
                    // Without asking: the first padding ends the base64, in a line as at its end.
                    CPPUNIT_ASSERT_MESSAGE(w, body_decode(t, chunk, std::nullopt, trailing) == object->substr(0, first));
                    CPPUNIT_ASSERT_MESSAGE(w, trailing);
                }
                // After the padding, a rest that is no base64 from a fresh start: the line is no
                // base64, the trailer whole (the object incomplete: refused by its reader).
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string("ABC"), body_decode("QUJD" + eol + "RA==R!UY=" + eol, chunk, 6, trailing));
                CPPUNIT_ASSERT_MESSAGE(what, trailing);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string("ABC"), body_decode("QUJD" + eol + "RA===RUY=" + eol, chunk, 6, trailing));
                CPPUNIT_ASSERT_MESSAGE(what, trailing);
            }
    }

    // A row of '=' after the object (a footer's rule: an AV gateway's note, a disclaimer) is no
    // padding and no data, whether the object's last group was padded, left unpadded (its
    // padding not needed to know the object complete) or whole: the trailer, skipped and
    // reported; nothing of it reaches the object.
    void base64_rows_of_equals_after_the_object_are_the_trailer()
    {
        const std::string object = pseudo_random(200, 47);  // 200 = 3 * 66 + 2: one '=' of padding
        const std::string wrapped = tool("base64 -w 76", object);
        std::string unpadded = wrapped;
        unpadded.erase(unpadded.rfind('='), 1);
        const std::string rule(50, '='), footer = "Scanned by the gateway anti-virus.";
        const struct {
            std::string text, expect;
        } cases[] = {
            {"QUJDRA==\n", "ABCD"},
            {"QUJDRA\n", "ABCD"},
            {"QUJDRA=\n", "ABCD"},
            {"QUJD\n", "ABC"},
            {wrapped, object},
            {unpadded, object},
            {tool("base64 -w 76", object.substr(0, 198)), object.substr(0, 198)},
        };
        for (const auto& c : cases)
            for (const std::string eol : {"\n", "\r\n"})
                for (const std::string& after : {rule + "\n" + footer + "\n", rule + "\n", "\n" + rule + "\n", "==" + rule + "\n"})
                    for (std::size_t chunk : {std::size_t(1), std::size_t(5), std::size_t(1 << 16)}) {
                        const std::string what = std::to_string(c.expect.size()) + " octets, chunk " + std::to_string(chunk);
                        bool trailing = false;
                        CPPUNIT_ASSERT_MESSAGE(what, body_decode(with_eol(c.text + after, eol), chunk, c.expect.size(), trailing) == c.expect);
                        CPPUNIT_ASSERT_MESSAGE(what, trailing);
                    }
    }

    void canonical_size_is_what_is_written()
    {
        // Identity plans (computed from the scan) and re-encoding ones (counted), with every
        // kind of line end, a CR at the very end, no line end at the end.
        const std::vector<std::vector<HeaderField>> tops = {
            {},
            {{"Content-Type", "text/plain"}},
            {{"Content-Type", "text/plain; charset=utf-8"}, {"Content-Transfer-Encoding", "8bit"}},
            {{"Content-Type", "application/octet-stream"}, {"Content-Transfer-Encoding", "binary"}},
            {{"Content-Type", "multipart/mixed; boundary=b"}, {"Subject", "x"}},
            {{"Content-Type", "text/plain;\r\n\tcharset=us-ascii"}, {"Content-Transfer-Encoding", "base64"}},
        };
        std::vector<std::string> bodies = {
            "", "x", "\r", "\n", "a\r\nb\nc\rd\r", "a\nb\n",
            "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\nContent-Transfer-Encoding: 8bit\n\n\xe9\n--b--\n",
            "--b\r\n\r\n" + std::string(1200, 'l') + "\r\n--b--\r\n",
        };
        for (unsigned seed = 1; seed <= 20; ++seed) bodies.push_back(spiky(seed * 37 % 500, seed + 77));
        for (const auto& top : tops)
            for (const auto& body : bodies)
                for (std::size_t chunk : {1u, 5u, 4096u}) {
                    auto src = chunked(body, chunk);
                    const ScanResult s = scan_body(top, src, {});
                    MemorySink out;
                    write_canonical_entity(top, s, src, out);
                    CPPUNIT_ASSERT_EQUAL(static_cast<std::uint64_t>(out.data().size()),
                                         canonical_entity_size(top, s, src));
                }
    }

    void spooled_facts_match_the_scan()
    {
        // A single part: facts gathered in any chunking are the scan's; a multipart (or an
        // embedded message) is scanned whatever facts are given.
        const std::vector<HeaderField> leaf = {{"Content-Type", "text/plain"}};
        const std::vector<HeaderField> multi = {{"Content-Type", "multipart/mixed; boundary=b"}};
        const std::vector<HeaderField> message = {{"Content-Type", "message/rfc822"}};
        std::vector<std::string> bodies = {"", "\r", "\n", "a\r", "a\r\n", "a\rb", "\r\r\n\n",
                                           "x\xe9\0y", std::string(2000, 'w') + "\r\nz"};
        for (unsigned seed = 1; seed <= 40; ++seed) bodies.push_back(spiky(seed * 53 % 700, seed + 300));
        bodies.push_back("--b\r\nContent-Type: text/plain\r\n\r\nhi\n--b--\r\n");
        for (const auto& body : bodies)
            for (std::size_t chunk : {1u, 2u, 3u, 17u, 4096u}) {
                BodyFacts facts;
                for (std::size_t i = 0; i < body.size(); i += chunk)
                    facts.write(std::string_view(body).substr(i, chunk));
                facts.finish();
                for (const auto* top : {&leaf, &multi, &message}) {
                    auto src = chunked(body, 4096);
                    const ScanResult scanned = scan_body(*top, src, {});
                    const ScanResult known = scan_body(*top, src, {}, &facts);
                    const LineFacts& a = scanned.root.body;
                    const LineFacts& b = known.root.body;
                    CPPUNIT_ASSERT_EQUAL(a.has_8bit, b.has_8bit);
                    CPPUNIT_ASSERT_EQUAL(a.has_nul, b.has_nul);
                    CPPUNIT_ASSERT_EQUAL(a.has_bare_cr, b.has_bare_cr);
                    CPPUNIT_ASSERT_EQUAL(a.has_lf_only, b.has_lf_only);
                    CPPUNIT_ASSERT_EQUAL(a.longest_line, b.longest_line);
                    CPPUNIT_ASSERT_EQUAL(scanned.bare_line_ends, known.bare_line_ends);
                    CPPUNIT_ASSERT_EQUAL(scanned.root.end, known.root.end);
                    CPPUNIT_ASSERT_EQUAL(scanned.part_count, known.part_count);
                    MemorySink out_a, out_b;
                    write_canonical_entity(*top, scanned, src, out_a);
                    write_canonical_entity(*top, known, src, out_b);
                    CPPUNIT_ASSERT(out_a.data() == out_b.data());
                }
            }
        // Facts of another body are refused, not trusted.
        BodyFacts other;
        other.write(std::string_view("abc"));
        other.finish();
        auto src = chunked("abcd", 4096);
        CPPUNIT_ASSERT(Failure::Internal == failure_of([&] { scan_body(leaf, src, {}, &other); }));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MimeStreamTest);
