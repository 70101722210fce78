// Unit tests for smime/mime/: encoders against third-party output (coreutils base64, perl
// MIME::QuotedPrint, RFC 4648 vectors), header parsing, the structure scan on well-formed
// and hostile bodies, the canonical entity, limits, chunking independence and memory.
#include <cppunit/extensions/HelperMacros.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <iostream>
#include <set>

#include "base/error.h"
#include "smime/mime/boundary.h"
#include "smime/mime/canonical.h"
#include "smime/mime/encoders.h"
#include "smime/mime/header.h"
#include "smime/mime/scanner.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::smime::mime;

namespace {

// A source made of text segments, each repeated: large bodies without large strings.
// `chunk` caps each read, to exercise chunk boundaries.
class GeneratedSource final : public ByteSource {
public:
    struct Segment {
        std::string text;
        std::uint64_t repeat = 1;
    };
    explicit GeneratedSource(std::vector<Segment> segs, std::size_t chunk = 1 << 20)
        : m_segs(std::move(segs)), m_chunk(chunk)
    {
    }
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        std::size_t n = 0;
        const std::size_t want = std::min(buf.size(), m_chunk);
        while (n < want && m_seg < m_segs.size()) {
            const Segment& s = m_segs[m_seg];
            if (m_rep >= s.repeat || s.text.empty()) {
                ++m_seg;
                m_rep = 0;
                m_off = 0;
                continue;
            }
            const std::size_t k = std::min(want - n, s.text.size() - m_off);
            std::memcpy(buf.data() + n, s.text.data() + m_off, k);
            n += k;
            m_off += k;
            if (m_off == s.text.size()) {
                m_off = 0;
                ++m_rep;
            }
        }
        return n;
    }
    void rewind() override { m_seg = m_rep = m_off = 0; }
    std::uint64_t size() const override
    {
        std::uint64_t total = 0;
        for (const auto& s : m_segs) total += s.text.size() * s.repeat;
        return total;
    }

private:
    std::vector<Segment> m_segs;
    std::size_t m_chunk;
    std::size_t m_seg = 0;
    std::uint64_t m_rep = 0;
    std::size_t m_off = 0;
};

GeneratedSource chunked(const std::string& s, std::size_t chunk)
{
    return GeneratedSource({{s, 1}}, chunk);
}

// Checks, while streaming, that output is 7-bit, NUL-free, CRLF-only, lines <= 998.
class CleanCheckSink final : public ByteSink {
public:
    using ByteSink::write;
    void write(ByteView data) override
    {
        for (const std::uint8_t c : data) {
            ++m_count;
            if (c >= 0x80 || c == 0) m_clean = false;
            if (m_cr) {
                if (c != '\n') m_clean = false;
                m_cr = false;
                m_line = 0;
                continue;
            }
            if (c == '\r') {
                m_cr = true;
            } else if (c == '\n') {
                m_clean = false;
            } else if (++m_line > m_longest) {
                m_longest = m_line;
            }
        }
    }
    bool clean() const { return m_clean && !m_cr && m_longest <= 998; }
    std::uint64_t count() const { return m_count; }
    std::uint64_t longest() const { return m_longest; }

private:
    bool m_clean = true;
    bool m_cr = false;
    std::uint64_t m_line = 0;
    std::uint64_t m_longest = 0;
    std::uint64_t m_count = 0;
};

bool is_clean(const std::string& s)
{
    CleanCheckSink c;
    c.write(std::string_view(s));
    return c.clean();
}

template <class Encoder>
std::string encode_chunked(const std::string& in, std::size_t chunk)
{
    MemorySink out;
    Encoder enc(out);
    for (std::size_t i = 0; i < in.size(); i += chunk)
        enc.write(std::string_view(in).substr(i, chunk));
    enc.finish();
    return out.str();
}

std::string canonical(const std::vector<HeaderField>& top, const std::string& body,
                      std::size_t chunk = 4096, const Limits& limits = {})
{
    auto src = chunked(body, chunk);
    MemorySink out;
    write_canonical_entity(top, src, out, limits);
    return out.str();
}

ScanResult scan(const std::vector<HeaderField>& top, const std::string& body,
                const Limits& limits = {})
{
    MemorySource src(as_bytes(body));
    return scan_body(top, src, limits);
}

std::string lf_to_crlf(const std::string& s)
{
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

// Runs a third-party tool over `in` (via files) and returns its output.
std::string tool(const std::string& cmd, const std::string& in)
{
    test::TempDir dir;
    test::write_file(dir.path() / "in", in);
    test::run("(" + cmd + ") < " + (dir.path() / "in").string() + " > " +
              (dir.path() / "out").string());
    return test::read_file(dir.path() / "out");
}

std::string decode_base64_crlf(const std::string& b64)
{
    return tool("tr -d '\\r' | base64 -d", b64);
}

std::string pseudo_random(std::size_t n, unsigned seed)
{
    std::string s(n, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& c : s) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x & 0xff);
    }
    return s;
}

long max_rss_kb()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

template <class F>
Failure failure_of(F&& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.failure();
    }
    CPPUNIT_FAIL("no ssm::Error thrown");
    return Failure::Internal;
}

const std::vector<HeaderField> no_headers;

}  // namespace

class MimeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MimeTest);
    CPPUNIT_TEST(base64_rfc4648_vectors);
    CPPUNIT_TEST(base64_matches_coreutils_in_any_chunking);
    CPPUNIT_TEST(qp_table);
    CPPUNIT_TEST(qp_round_trips_through_perl_in_any_chunking);
    CPPUNIT_TEST(crlf_normaliser_table);
    CPPUNIT_TEST(content_type_parsing);
    CPPUNIT_TEST(header_block_parsing);
    CPPUNIT_TEST(header_block_limits);
    CPPUNIT_TEST(body_source_reads_rest);
    CPPUNIT_TEST(scan_nested_tree);
    CPPUNIT_TEST(scan_hostile_structures);
    CPPUNIT_TEST(canonical_golden_multipart);
    CPPUNIT_TEST(canonical_golden_message_rfc822);
    CPPUNIT_TEST(canonical_message_with_8bit_header_stays_8bit);
    CPPUNIT_TEST(canonical_leaf_rules);
    CPPUNIT_TEST(canonical_long_lines);
    CPPUNIT_TEST(canonical_binary_garbage_and_empty);
    CPPUNIT_TEST(canonical_unterminated_and_missing_close);
    CPPUNIT_TEST(canonical_chunking_independent);
    CPPUNIT_TEST(canonical_top_header_folds);
    CPPUNIT_TEST(limits_header_line_depth_parts);
    CPPUNIT_TEST(top_headers_to_remove);
    CPPUNIT_TEST(boundaries);
    CPPUNIT_TEST(fifty_megabytes_bounded_memory);
    CPPUNIT_TEST_SUITE_END();

public:
    void base64_rfc4648_vectors()
    {
        struct { const char* in; const char* out; } cases[] = {
            {"", ""},
            {"f", "Zg==\r\n"},
            {"fo", "Zm8=\r\n"},
            {"foo", "Zm9v\r\n"},
            {"foob", "Zm9vYg==\r\n"},
            {"fooba", "Zm9vYmE=\r\n"},
            {"foobar", "Zm9vYmFy\r\n"},
        };
        for (auto& c : cases)
            CPPUNIT_ASSERT_EQUAL(std::string(c.out), encode_chunked<Base64Encoder>(c.in, 1));
        // Bytes 0..99, computed with Python's base64 module: a 76-character line and the rest.
        std::string in;
        for (int i = 0; i < 100; ++i) in.push_back(static_cast<char>(i));
        CPPUNIT_ASSERT_EQUAL(
            std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\r\n"
                        "OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiYw==\r\n"),
            encode_chunked<Base64Encoder>(in, 7));
    }

    void base64_matches_coreutils_in_any_chunking()
    {
        for (std::size_t len : {56u, 57u, 58u, 114u, 1000u, 70001u}) {
            const std::string in = pseudo_random(len, static_cast<unsigned>(len));
            const std::string expected = lf_to_crlf(tool("base64 -w 76", in));
            for (std::size_t chunk : {1u, 7u, 57u, 4096u, 100000u})
                CPPUNIT_ASSERT_EQUAL(expected, encode_chunked<Base64Encoder>(in, chunk));
        }
    }

    void qp_table()
    {
        struct { std::string in; std::string out; } cases[] = {
            {"Hello, world", "Hello, world"},
            {"a=b", "a=3Db"},
            {"trailing space \r\nnext", "trailing space=20\r\nnext"},
            {"tab\t", "tab=09"},
            {"two  spaces inside", "two  spaces inside"},
            {"caf\xc3\xa9", "caf=C3=A9"},
            {"lone\nLF", "lone=0ALF"},
            {"lone\rCR", "lone=0DCR"},
            {"end CR\r", "end CR=0D"},
            {"space then CR \r", "space then CR =0D"},
            {std::string("nul\0x", 5), "nul=00x"},
            {"\x7f\x1b", "=7F=1B"},
            {"From me\r\nFrom you", "=46rom me\r\n=46rom you"},
            {".\r\n.x", "=2E\r\n=2Ex"},
            {"a.b Fx", "a.b Fx"},
            {"\r\n\r\n", "\r\n\r\n"},
            // RFC 2045 §6.7 rule 5: lines of at most 76 characters, soft break '='.
            {std::string(80, 'a'), std::string(75, 'a') + "=\r\n" + std::string(5, 'a')},
            {std::string(74, 'a') + "==", std::string(74, 'a') + "=\r\n=3D=3D"},
            {std::string(75, 'a') + "\r\n", std::string(75, 'a') + "\r\n"},
            {std::string(74, 'a') + " \r\n", std::string(74, 'a') + "=\r\n=20\r\n"},
        };
        for (auto& c : cases)
            for (std::size_t chunk : {1u, 3u, 4096u})
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, c.out,
                                             encode_chunked<QuotedPrintableEncoder>(c.in, chunk));
    }

    void qp_round_trips_through_perl_in_any_chunking()
    {
        // Text with CRLF lines, 8-bit octets, '=', trailing blanks and long lines.
        std::string text;
        const std::string words[] = {"Gr\xc3\xbc\xc3\x9f""e", "a=b", "tab\t", "end ", "From",
                                     ".", std::string(200, 'x'), "\xff\xfe", "plain"};
        for (int i = 0; i < 3000; ++i) {
            text += words[(i * 7) % 9];
            text += (i % 5 == 4) ? "\r\n" : " ";
        }
        const std::string one = encode_chunked<QuotedPrintableEncoder>(text, 1);
        CPPUNIT_ASSERT_EQUAL(one, encode_chunked<QuotedPrintableEncoder>(text, 7));
        CPPUNIT_ASSERT_EQUAL(one, encode_chunked<QuotedPrintableEncoder>(text, 4096));
        CleanCheckSink check;
        check.write(std::string_view(one));
        CPPUNIT_ASSERT(check.clean());
        CPPUNIT_ASSERT(check.longest() <= 76);
        // perl's decode_qp turns hard CRLF breaks into "\n".
        std::string expected;
        for (std::size_t i = 0; i < text.size(); ++i)
            if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n'))
                expected.push_back(text[i]);
        CPPUNIT_ASSERT(expected ==
                       tool("perl -MMIME::QuotedPrint -0777 -ne 'print decode_qp($_)'", one));
    }

    void crlf_normaliser_table()
    {
        struct { std::string in; std::string out; } cases[] = {
            {"a\nb", "a\r\nb"},        {"a\rb", "a\r\nb"},       {"a\r\nb", "a\r\nb"},
            {"a\r", "a\r\n"},          {"\r\r\n", "\r\n\r\n"},   {"\n\n", "\r\n\r\n"},
            {"\r\n\r", "\r\n\r\n"},    {"", ""},                 {"x", "x"},
            {"\n\r", "\r\n\r\n"},
        };
        for (auto& c : cases)
            for (std::size_t chunk : {1u, 2u, 4096u})
                CPPUNIT_ASSERT_EQUAL(c.out, encode_chunked<CrlfNormaliser>(c.in, chunk));
    }

    void content_type_parsing()
    {
        auto ct = parse_content_type("Multipart/Mixed; boundary=\"=_a b\\\"c\"");
        CPPUNIT_ASSERT(ct && ct->is("multipart", "mixed"));
        CPPUNIT_ASSERT_EQUAL(std::string("=_a b\"c"), *ct->param("boundary"));

        ct = parse_content_type("text/plain (a (nested) comment) ;\r\n\tCharSet = \"utf-8\" ; ;");
        CPPUNIT_ASSERT(ct && ct->is("text", "plain"));
        CPPUNIT_ASSERT_EQUAL(std::string("utf-8"), *ct->param("charset"));

        ct = parse_content_type("multipart/alternative;\r\n boundary=simple-1;garbage;x=y");
        CPPUNIT_ASSERT_EQUAL(std::string("simple-1"), *ct->param("boundary"));
        CPPUNIT_ASSERT_EQUAL(std::string("y"), *ct->param("x"));
        CPPUNIT_ASSERT(!ct->param("garbage"));

        // RFC 2231 continuations and encoded segments.
        ct = parse_content_type(
            "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20;"
            " title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"");
        CPPUNIT_ASSERT_EQUAL(std::string("This is even more ***fun*** isn't it!"), *ct->param("title"));
        ct = parse_content_type("application/pdf; name*=utf-8''%E2%82%AC.pdf");
        CPPUNIT_ASSERT_EQUAL(std::string("\xE2\x82\xAC.pdf"), *ct->param("name"));

        for (const char* bad : {"", "text", "/plain", "text/", "(only comment)", "\"q\"/x", "text plain"})
            CPPUNIT_ASSERT_MESSAGE(bad, !parse_content_type(bad));
        CPPUNIT_ASSERT(parse_content_type("text/plain; charset=\"unterminated"));

        CPPUNIT_ASSERT_EQUAL(std::string("base64"), parse_transfer_encoding(" BASE64 (comment)"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), parse_transfer_encoding("  "));
        CPPUNIT_ASSERT(is_content_field("content-type") && is_content_field("Content-ID"));
        CPPUNIT_ASSERT(!is_content_field("MIME-Version") && !is_content_field("Content-"));
        CPPUNIT_ASSERT(iequals("Content-Type", "cONTENT-tYPE") && !iequals("a", "ab"));
    }

    void header_block_parsing()
    {
        struct Case {
            std::string raw;
            std::vector<std::pair<std::string, std::string>> fields;
            std::size_t body_offset;
        };
        const std::vector<Case> cases = {
            {"A: 1\r\nB:2\r\n\r\nbody", {{"A", "1"}, {"B", "2"}}, 13},
            {"A: 1\nB:  2\n\nbody", {{"A", "1"}, {"B", " 2"}}, 12},
            {"Subject: a\n long\n\tfold\nX: y\n\n", {{"Subject", "a\n long\n\tfold"}, {"X", "y"}}, 29},
            {"Subject: a\r\n long\r\n\r\n", {{"Subject", "a\r\n long"}}, 21},
            {"A: 1\nB: 2", {{"A", "1"}, {"B", "2"}}, 9},  // no empty line: no body
            {"From alice@x Mon Jan 1\nA: 1\n\nb", {{"A", "1"}}, 29},
            {"A: 1\nnot a field\nmore", {{"A", "1"}}, 5},  // body starts at the non-field line
            {"Name : v\n\n", {{"Name", "v"}}, 10},
            {"", {}, 0},
            {"\n\nbody", {}, 1},
        };
        for (const auto& c : cases) {
            MemorySource src(as_bytes(c.raw));
            const HeaderBlock hb = parse_header_block(src, Limits{});
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.raw, c.fields.size(), hb.fields.size());
            for (std::size_t i = 0; i < c.fields.size(); ++i) {
                CPPUNIT_ASSERT_EQUAL(c.fields[i].first, hb.fields[i].name);
                CPPUNIT_ASSERT_EQUAL(c.fields[i].second, hb.fields[i].value);
            }
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.raw, std::uint64_t(c.body_offset), hb.body_offset);
        }
    }

    void header_block_limits()
    {
        const std::string long_line = "X-Long: " + std::string(1 << 20, 'a') + "\n\nbody";
        MemorySource src(as_bytes(long_line));
        CPPUNIT_ASSERT(Failure::MessageTooLarge ==
                       failure_of([&] { parse_header_block(src, Limits{}); }));
        // Folding does not escape the field limit.
        std::string folded = "X-Folded: a\n";
        for (int i = 0; i < 2000; ++i) folded += " " + std::string(60, 'b') + "\n";
        MemorySource src2(as_bytes(folded));
        CPPUNIT_ASSERT(Failure::MessageTooLarge ==
                       failure_of([&] { parse_header_block(src2, Limits{}); }));
        // Many small fields: the block limit.
        std::string many;
        for (int i = 0; i < 100000; ++i) many += "X-N: " + std::to_string(i) + "\n";
        MemorySource src3(as_bytes(many));
        CPPUNIT_ASSERT(Failure::MessageTooLarge ==
                       failure_of([&] { parse_header_block(src3, Limits{}); }));
        Limits big;
        big.max_header_block = 10 << 20;
        MemorySource src4(as_bytes(many));
        CPPUNIT_ASSERT_EQUAL(std::size_t(100000), parse_header_block(src4, big).fields.size());
    }

    void body_source_reads_rest()
    {
        const std::string raw = "Content-Type: text/plain\n\n" + std::string(100000, 'z') + "END";
        auto src = chunked(raw, 999);
        const HeaderBlock hb = parse_header_block(src, Limits{});
        BodySource body(src, hb.body_offset);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100003), body.size());
        for (int round = 0; round < 2; ++round) {
            MemorySink sink;
            copy_stream(body, sink);
            CPPUNIT_ASSERT(sink.str() == raw.substr(hb.body_offset));
            body.rewind();
        }
    }

    static std::string slice(const std::string& s, std::uint64_t a, std::uint64_t b)
    {
        return s.substr(a, b - a);
    }

    void scan_nested_tree()
    {
        const std::vector<HeaderField> top = {{"Content-Type", "multipart/mixed; boundary=outer"}};
        const std::string body =
            "preamble\n"
            "--outer\n"
            "Content-Type: multipart/alternative;\n boundary=\"inner\"\n"
            "\n"
            "--inner\n"
            "Content-Type: text/plain\n"
            "\n"
            "plain text\n"
            "--inner\n"
            "Content-Type: text/html; charset=utf-8\n"
            "Content-Transfer-Encoding: 8BIT\n"
            "\n"
            "<p>caf\xc3\xa9</p>\n"
            "--inner--\n"
            "--outer\n"
            "Content-Type: application/pdf\n"
            "Content-Transfer-Encoding: base64\n"
            "\n"
            "JVBERi0=\n"
            "--outer--\n"
            "epilogue\n";
        const ScanResult r = scan(top, body);
        const Part& root = r.root;
        CPPUNIT_ASSERT(root.kind == Part::Kind::Multipart);
        CPPUNIT_ASSERT_EQUAL(std::string("outer"), root.boundary);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), root.children.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), r.part_count);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.max_depth);
        CPPUNIT_ASSERT(!root.closing_boundary_missing);
        const Part& alt = root.children[0];
        CPPUNIT_ASSERT(alt.kind == Part::Kind::Multipart && alt.subtype == "alternative");
        CPPUNIT_ASSERT_EQUAL(std::string("inner"), alt.boundary);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), alt.children.size());
        const Part& plain = alt.children[0];
        CPPUNIT_ASSERT_EQUAL(std::string("plain text"), slice(body, plain.body_begin, plain.end));
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Type: text/plain\n\n"),
                             slice(body, plain.begin, plain.body_begin));
        CPPUNIT_ASSERT(!plain.body.has_8bit && plain.body.has_lf_only);
        const Part& html = alt.children[1];
        CPPUNIT_ASSERT(html.is_text() && html.subtype == "html");
        CPPUNIT_ASSERT_EQUAL(std::string("8bit"), html.transfer_encoding);
        CPPUNIT_ASSERT(html.body.has_8bit);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), html.cte_fields.size());
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Transfer-Encoding: 8BIT\n"),
                             slice(body, html.cte_fields[0].first, html.cte_fields[0].second));
        const Part& pdf = root.children[1];
        CPPUNIT_ASSERT(pdf.type == "application" && pdf.transfer_encoding == "base64");
        CPPUNIT_ASSERT_EQUAL(std::string("JVBERi0="), slice(body, pdf.body_begin, pdf.end));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(body.size()), root.end);

        // multipart/digest: parts without Content-Type are message/rfc822 and recursed into.
        const std::string digest =
            "--d\n\nSubject: one\n\nfirst\n--d\nContent-Type: text/plain\n\nnot a message\n--d--\n";
        const ScanResult d = scan({{"Content-Type", "multipart/digest; boundary=d"}}, digest);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), d.root.children.size());
        CPPUNIT_ASSERT(d.root.children[0].kind == Part::Kind::Message);
        CPPUNIT_ASSERT_EQUAL(std::string("first"),
                             slice(digest, d.root.children[0].children[0].body_begin,
                                   d.root.children[0].children[0].end));
        CPPUNIT_ASSERT(d.root.children[1].kind == Part::Kind::Leaf);
    }

    void scan_hostile_structures()
    {
        const std::vector<HeaderField> mp = {{"Content-Type", "multipart/mixed; boundary=b"}};
        // Delimiter look-alikes: prefix, suffix garbage, padding, CR-only line ends.
        {
            const std::string body = "--b\n\nx\n--bb\n--b x\n-- b\n--b  \t\n\ny\r--b--\rafter";
            const ScanResult r = scan(mp, body);
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.root.children.size());
            const Part& p0 = r.root.children[0];
            CPPUNIT_ASSERT_EQUAL(std::string("x\n--bb\n--b x\n-- b"), slice(body, p0.body_begin, p0.end));
            const Part& p1 = r.root.children[1];
            CPPUNIT_ASSERT_EQUAL(std::string("y"), slice(body, p1.body_begin, p1.end));
            CPPUNIT_ASSERT(!r.root.closing_boundary_missing);
        }
        // Boundary never found: all preamble, no children, close missing.
        {
            const ScanResult r = scan(mp, "no delimiter at all\n--c\n");
            CPPUNIT_ASSERT(r.root.children.empty() && r.root.closing_boundary_missing);
        }
        // An outer delimiter closes an unterminated inner multipart.
        {
            const std::string body =
                "--b\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\ninner\n--b\n\nlast\n--b--\n";
            const ScanResult r = scan(mp, body);
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.root.children.size());
            const Part& in = r.root.children[0];
            CPPUNIT_ASSERT(in.closing_boundary_missing);
            CPPUNIT_ASSERT_EQUAL(std::string("inner"),
                                 slice(body, in.children[0].body_begin, in.children[0].end));
        }
        // A part whose header never ends has no body; one with NULs and bare CRs is recorded.
        {
            static const char raw[] = "--b\nX: 1\n--b\n\na\0b\rc\n--b--";
            const std::string body(raw, sizeof raw - 1);
            const ScanResult r = scan(mp, body);
            CPPUNIT_ASSERT(!r.root.children[0].header_complete);
            CPPUNIT_ASSERT(r.root.children[0].body_begin == r.root.children[0].end);
            CPPUNIT_ASSERT(r.root.children[1].body.has_nul && r.root.children[1].body.has_bare_cr);
        }
        // Garbage and odd Content-Types never throw.
        for (const char* ct : {"multipart/mixed", "multipart/mixed; boundary=\"\"", "garbage",
                               "message/rfc822", "multipart/mixed; boundary=b; boundary=c"}) {
            for (unsigned seed = 1; seed < 6; ++seed) {
                const std::string body = pseudo_random(20000, seed) + "\n--b\n\n\n--b--";
                const ScanResult r = scan({{"Content-Type", ct}}, body);
                CPPUNIT_ASSERT(r.root.end == body.size());
                CPPUNIT_ASSERT(!canonical({{"Content-Type", ct}}, body).empty());
            }
        }
    }

    void canonical_golden_multipart()
    {
        const std::vector<HeaderField> top = {
            {"From", "alice@acme.example"},
            {"MIME-Version", "1.0"},
            {"Content-Type", "multipart/mixed; boundary=\"XX\""},
            {"Subject", "test"},
        };
        const std::string body =
            "This is the preamble.\n"
            "--XX\n"
            "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n"
            "X-Keep:  spaced   value \n"
            "\n"
            "Gr\xc3\xbc\xc3\x9f""e=\n"
            "--XX\n"
            "Content-Type: application/octet-stream\n"
            "Content-Transfer-Encoding: base64\n"
            "\n"
            "AAEC\n"
            "--XX--\n"
            "epilogue\n";
        const std::string expected =
            "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
            "\r\n"
            "This is the preamble.\r\n"
            "--XX\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "X-Keep:  spaced   value \r\n"
            "\r\n"
            "Gr=C3=BC=C3=9Fe=3D\r\n"
            "--XX\r\n"
            "Content-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "\r\n"
            "AAEC\r\n"
            "--XX--\r\n"
            "epilogue\r\n";
        CPPUNIT_ASSERT_EQUAL(expected, canonical(top, body));
        CPPUNIT_ASSERT_EQUAL(expected, canonical(top, lf_to_crlf(body)));
    }

    void canonical_golden_message_rfc822()
    {
        const std::vector<HeaderField> top = {{"Content-Type", "message/rfc822"},
                                              {"Content-Transfer-Encoding", "8bit"}};
        const std::string body =
            "Subject: inner\n"
            "Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n"
            "\n"
            "caf\xc3\xa9\n";
        const std::string expected =
            "Content-Type: message/rfc822\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "\r\n"
            "Subject: inner\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "caf=C3=A9\r\n";
        CPPUNIT_ASSERT_EQUAL(expected, canonical(top, body));
        // A missing CTE in the inner part is added before the empty line.
        const std::string body2 = "Subject: x\nContent-Type: text/plain\n\n\xe9t\xe9\n";
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Type: message/rfc822\r\n"
                                         "Content-Transfer-Encoding: 7bit\r\n\r\n"
                                         "Subject: x\r\nContent-Type: text/plain\r\n"
                                         "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                                         "=E9t=E9\r\n"),
                             canonical(top, body2));
    }

    void canonical_message_with_8bit_header_stays_8bit()
    {
        // Raw UTF-8 in the embedded message's Subject cannot be transfer-encoded: the
        // label stays 8bit (and a 7bit label is corrected to 8bit).
        const std::string body = "Subject: Gr\xc3\xbc\xc3\x9f""e\n\nhello\n";
        for (const char* cte : {"8bit", "7bit"}) {
            const std::string out = canonical(
                {{"Content-Type", "message/rfc822"}, {"Content-Transfer-Encoding", cte}}, body);
            CPPUNIT_ASSERT_EQUAL(std::string("Content-Type: message/rfc822\r\n"
                                             "Content-Transfer-Encoding: 8bit\r\n\r\n"
                                             "Subject: Gr\xc3\xbc\xc3\x9f""e\r\n\r\nhello\r\n"),
                                 out);
        }
        // Encoded message/rfc822 (not allowed, but seen) is copied as a leaf.
        const std::string b64 = "U3ViamVjdDogeA0KDQpoaQ0K\n";
        const std::string out = canonical(
            {{"Content-Type", "message/rfc822"}, {"Content-Transfer-Encoding", "base64"}}, b64);
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Type: message/rfc822\r\n"
                                         "Content-Transfer-Encoding: base64\r\n\r\n"
                                         "U3ViamVjdDogeA0KDQpoaQ0K\r\n"),
                             out);
    }

    void canonical_leaf_rules()
    {
        struct Case {
            std::string ct, cte, body;
            Treatment treatment;
            std::string new_cte;
        };
        const std::string nul("a\0b\n", 4);
        const std::vector<Case> cases = {
            {"text/plain", "", "ascii only\n", Treatment::Copy, ""},
            {"text/plain", "7bit", "caf\xc3\xa9\n", Treatment::QuotedPrintable, "quoted-printable"},
            {"text/plain", "8bit", "ascii\n", Treatment::QuotedPrintable, "quoted-printable"},
            {"text/plain", "8bit", nul, Treatment::Base64, "base64"},
            {"", "", "caf\xc3\xa9\n", Treatment::QuotedPrintable, "quoted-printable"},
            {"application/octet-stream", "binary", nul, Treatment::Base64, "base64"},
            {"image/png", "", "\x89PNG\r\n", Treatment::Base64, "base64"},
            {"text/plain", "base64", "\xff\n", Treatment::Copy, ""},
            {"text/plain", "quoted-printable", "a=3Db\n", Treatment::Copy, ""},
            {"text/plain", "x-uuencode", "\xff\n", Treatment::Copy, ""},
            {"message/delivery-status", "8bit", "Status: 5.0.0\n", Treatment::QuotedPrintable,
             "quoted-printable"},
            {"message/partial; id=x", "8bit", "\xff\n", Treatment::Copy, ""},
            {"multipart/mixed", "8bit", "\xff\n", Treatment::Copy, ""},  // no boundary
            {"text/plain", "8bit", "", Treatment::Copy, ""},
        };
        for (const auto& c : cases) {
            std::vector<HeaderField> top;
            if (!c.ct.empty()) top.push_back({"Content-Type", c.ct});
            if (!c.cte.empty()) top.push_back({"Content-Transfer-Encoding", c.cte});
            const ScanResult r = scan(top, c.body);
            const PartPlan plan = plan_part(r.root);
            const std::string what = c.ct + "/" + c.cte;
            CPPUNIT_ASSERT_MESSAGE(what, plan.treatment == c.treatment);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, c.new_cte, plan.new_transfer_encoding.value_or(""));
            const std::string out = canonical(top, c.body);
            if (c.treatment != Treatment::Copy || c.cte.empty() || c.cte == "7bit")
                CPPUNIT_ASSERT_MESSAGE(what, is_clean(out));
            if (!c.new_cte.empty())
                CPPUNIT_ASSERT_MESSAGE(what, out.find("Content-Transfer-Encoding: " + c.new_cte +
                                                      "\r\n") != std::string::npos);
        }
        // Binary content is encoded byte for byte; line-oriented content gets CRLF first.
        const std::string raw("\x00\n\r\xff", 4);
        for (const char* cte : {"binary", "8bit"}) {
            const std::vector<HeaderField> top = {{"Content-Type", "application/octet-stream"},
                                                  {"Content-Transfer-Encoding", cte}};
            const std::string out = canonical(top, raw);
            const std::string b64 = out.substr(out.find("\r\n\r\n") + 4);
            const std::string want = std::string(cte) == "binary" ? raw : std::string("\x00\r\n\r\n\xff", 6);
            CPPUNIT_ASSERT(decode_base64_crlf(b64) == want);
        }
    }

    void canonical_long_lines()
    {
        for (std::size_t len : {999u, 2000u, 1u << 20}) {
            const std::string body = "short\n" + std::string(len, 'L') + "\nend\n";
            const std::vector<HeaderField> top = {{"Content-Type", "text/plain"}};
            const std::string out = canonical(top, body);
            CPPUNIT_ASSERT(is_clean(out));
            CPPUNIT_ASSERT(out.find("Content-Transfer-Encoding: quoted-printable\r\n") != std::string::npos);
            // perl decodes it back to the text (CRLF -> LF).
            const std::string qp = out.substr(out.find("\r\n\r\n") + 4);
            CPPUNIT_ASSERT(body == tool("perl -MMIME::QuotedPrint -0777 -ne 'print decode_qp($_)'", qp));
        }
        // 998 octets is still fine for 7bit.
        const std::string ok = std::string(998, 'k') + "\n";
        CPPUNIT_ASSERT(plan_part(scan({}, ok).root).treatment == Treatment::Copy);
    }

    void canonical_binary_garbage_and_empty()
    {
        // Empty body: the fields, an empty line, nothing else.
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Type: text/plain\r\n\r\n"),
                             canonical({{"Content-Type", "text/plain"}, {"To", "x@y"}}, ""));
        CPPUNIT_ASSERT_EQUAL(std::string("\r\n"), canonical({}, ""));
        // Pure garbage without Content-Type: text/plain by default, NULs -> base64.
        for (unsigned seed = 1; seed <= 3; ++seed) {
            const std::string garbage = pseudo_random(100000, seed);
            const std::string out = canonical({}, garbage, 7);
            CPPUNIT_ASSERT(is_clean(out));
            CPPUNIT_ASSERT_EQUAL(std::string("Content-Transfer-Encoding: base64\r\n\r\n"),
                                 out.substr(0, 37));
            // What was encoded is the garbage with its line ends made CRLF.
            CPPUNIT_ASSERT(decode_base64_crlf(out.substr(37)) == encode_chunked<CrlfNormaliser>(garbage, 4096));
        }
    }

    void canonical_unterminated_and_missing_close()
    {
        const std::vector<HeaderField> top = {{"Content-Type", "multipart/mixed; boundary=b"}};
        // The last part runs to the end; its 8-bit text is still encoded; nothing is added.
        const std::string body = "pre\n--b\nContent-Type: text/plain\n\ncaf\xc3\xa9";
        CPPUNIT_ASSERT(scan(top, body).root.closing_boundary_missing);
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                                         "pre\r\n--b\r\nContent-Type: text/plain\r\n"
                                         "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                                         "caf=C3=A9"),
                             canonical(top, body));
        // Header block that never ends, at end of input. Its raw 8-bit octet is kept, so the
        // multipart is labelled 8bit.
        const std::string body2 = "--b\nContent-Type: text/plain\nX: \xff";
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Type: multipart/mixed; boundary=b\r\n"
                                         "Content-Transfer-Encoding: 8bit\r\n\r\n"
                                         "--b\r\nContent-Type: text/plain\r\nX: \xff"),
                             canonical(top, body2));
        // Preamble and epilogue kept, bare CRs and LFs made CRLF.
        const std::string body3 = "pre\ramble\n--b\n\nx\n--b--\nepi\rlogue";
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
                                         "pre\r\namble\r\n--b\r\n\r\nx\r\n--b--\r\nepi\r\nlogue"),
                             canonical(top, body3));
    }

    void canonical_chunking_independent()
    {
        const std::vector<HeaderField> top = {{"Content-Type", "multipart/mixed; boundary=\"=_b\""},
                                              {"Content-Transfer-Encoding", "8bit"}};
        std::string body = "--=_b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
        for (int i = 0; i < 500; ++i) body += "line \xc3\xa9 " + std::to_string(i) + " \r\n";
        body += "\r\r\n--=_b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n";
        body += pseudo_random(30000, 9);
        body += "\r\n--=_b\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\n\xe9\r\n--=_b--\r\n";
        const std::string ref = canonical(top, body, 4096);
        CPPUNIT_ASSERT(is_clean(ref));
        CPPUNIT_ASSERT(ref.find("Content-Transfer-Encoding: 7bit\r\n") == std::string::npos ||
                       ref.find("Content-Transfer-Encoding: 7bit\r\n") < 100);
        for (std::size_t chunk : {1u, 2u, 7u, 997u, 1u << 20})
            CPPUNIT_ASSERT(ref == canonical(top, body, chunk));
    }

    void canonical_top_header_folds()
    {
        const std::vector<HeaderField> top = {
            {"Content-Type", "text/plain;\n charset=us-ascii"},
            {"Content-Disposition", "inline\nBcc: injected@x\r\n"},
            {"X-Other", "not moved"},
        };
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Type: text/plain;\r\n charset=us-ascii\r\n"
                                         "Content-Disposition: inline\r\n Bcc: injected@x\r\n"
                                         "\r\nhi\r\n"),
                             canonical(top, "hi\n"));
        // The top CTE is replaced in place, duplicates dropped.
        const std::vector<HeaderField> top2 = {{"Content-Transfer-Encoding", "8bit"},
                                               {"Content-Type", "text/plain"},
                                               {"Content-Transfer-Encoding", "7bit"}};
        CPPUNIT_ASSERT_EQUAL(std::string("Content-Transfer-Encoding: quoted-printable\r\n"
                                         "Content-Type: text/plain\r\n\r\n=FF\r\n"),
                             canonical(top2, "\xff\n"));
    }

    void limits_header_line_depth_parts()
    {
        const std::vector<HeaderField> mp = {{"Content-Type", "multipart/mixed; boundary=b"}};
        // 1 MB header line inside a part.
        const std::string big = "--b\nX-Big: " + std::string(1 << 20, 'h') + "\n\nx\n--b--\n";
        CPPUNIT_ASSERT(Failure::MessageTooLarge == failure_of([&] { scan(mp, big); }));
        CPPUNIT_ASSERT(Failure::MessageTooLarge == failure_of([&] { canonical(mp, big); }));
        // ... but a 1 MB body line is fine, and a larger limit accepts the header.
        CPPUNIT_ASSERT_NO_THROW(scan(mp, "--b\n\n" + std::string(1 << 20, 'h') + "\n--b--\n"));
        Limits roomy;
        roomy.max_header_field = 2 << 20;
        CPPUNIT_ASSERT_NO_THROW(scan(mp, big, roomy));

        // Depth bomb: nested multiparts and nested messages.
        std::string bomb;
        for (int i = 0; i < 40; ++i)
            bomb += "--b" + std::to_string(i) + "\nContent-Type: multipart/mixed; boundary=b" +
                    std::to_string(i + 1) + "\n\n";
        const std::vector<HeaderField> b0 = {{"Content-Type", "multipart/mixed; boundary=b0"}};
        CPPUNIT_ASSERT(Failure::MessageTooLarge == failure_of([&] { scan(b0, bomb); }));
        Limits deep;
        deep.max_depth = 50;
        CPPUNIT_ASSERT_EQUAL(std::size_t(40), scan(b0, bomb, deep).max_depth);
        std::string msgs;
        for (int i = 0; i < 40; ++i) msgs += "Content-Type: message/rfc822\n\n";
        CPPUNIT_ASSERT(Failure::MessageTooLarge ==
                       failure_of([&] { scan({{"Content-Type", "message/rfc822"}}, msgs); }));

        // Part-count bomb.
        GeneratedSource many({{"--b\n\nx\n", 20000}});
        CPPUNIT_ASSERT(Failure::MessageTooLarge ==
                       failure_of([&] { scan_body(mp, many, Limits{}); }));
        Limits lots;
        lots.max_parts = 20001;
        CPPUNIT_ASSERT_EQUAL(std::size_t(20001), scan_body(mp, many, lots).part_count);
    }

    void top_headers_to_remove()
    {
        const std::vector<HeaderField> top = {
            {"Received", "a"}, {"MIME-Version", "1.0"}, {"Content-Type", "text/plain"},
            {"content-id", "<1@x>"}, {"Subject", "s"}, {"Content-ID", "<2@x>"},
        };
        const auto refs = canonical_top_headers_to_remove(top);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), refs.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), refs[0].index);
        CPPUNIT_ASSERT_EQUAL(1, refs[0].occurrence);
        CPPUNIT_ASSERT_EQUAL(std::string("content-id"), refs[1].name);
        CPPUNIT_ASSERT_EQUAL(1, refs[1].occurrence);
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), refs[2].index);
        CPPUNIT_ASSERT_EQUAL(2, refs[2].occurrence);
    }

    void boundaries()
    {
        std::set<std::string> seen;
        for (int i = 0; i < 100; ++i) {
            const std::string b = make_boundary();
            CPPUNIT_ASSERT(b.size() <= 70 && b.rfind("=_", 0) == 0);
            CPPUNIT_ASSERT(seen.insert(b).second);
            // Usable: it parses back from a quoted parameter.
            auto ct = parse_content_type("multipart/signed; boundary=\"" + b + "\"");
            CPPUNIT_ASSERT_EQUAL(b, *ct->param("boundary"));
        }
        // "=_" never appears in our encoders' output, whatever the input.
        const std::string in = pseudo_random(200000, 3) + "=_=_" + std::string(100, '_');
        CPPUNIT_ASSERT(encode_chunked<Base64Encoder>(in, 4096).find("=_") == std::string::npos);
        CPPUNIT_ASSERT(encode_chunked<QuotedPrintableEncoder>(in, 4096).find("=_") == std::string::npos);
    }

    void fifty_megabytes_bounded_memory()
    {
        // ~50 MB: 8-bit text (-> QP), binary (-> base64), long lines, many small parts.
        const std::vector<HeaderField> top = {{"Content-Type", "multipart/mixed; boundary=\"big\""}};
        GeneratedSource src({
            {"--big\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n", 1},
            {"Gr\xc3\xbc\xc3\x9f""e aus K\xc3\xb6ln, = und Leerzeichen am Ende  \n", 600000},
            {"\n--big\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n", 1},
            {pseudo_random(65536, 5), 200},
            {"\n--big\nContent-Type: text/plain\n\n", 1},
            {std::string(100000, 'w'), 100},
            {"\n--big\nContent-Type: text/plain\n\nsmall\n", 1000},
            {"--big--\n", 1},
        });
        CPPUNIT_ASSERT_MESSAGE(std::to_string(src.size()), src.size() > 50u * 1000 * 1000);
        const long before = max_rss_kb();
        CleanCheckSink out;
        write_canonical_entity(top, src, out, Limits{});
        const long growth_kb = max_rss_kb() - before;
        CPPUNIT_ASSERT(out.clean());
        CPPUNIT_ASSERT(out.count() > src.size());
        std::cout << "  50 MB canonicalisation: max RSS grew by " << growth_kb << " KiB\n";
        CPPUNIT_ASSERT_MESSAGE("max RSS grew by " + std::to_string(growth_kb) + " KiB",
                               growth_kb < 16 * 1024);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MimeTest);
