// Helpers shared by the smime/mime/ unit tests: generated large sources, a streaming
// 7-bit/CRLF checker, third-party tool oracles (coreutils base64, perl MIME::QuotedPrint).
#pragma once
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>

#include "base/error.h"
#include "base/stream.h"
#include "smime/mime/canonical.h"
#include "smime/mime/encoders.h"
#include "smime/mime/header.h"
#include "smime/mime/scanner.h"
#include "tests/unit/test_support.h"

namespace ssm::test::mime {

using namespace ssm::smime::mime;

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

inline GeneratedSource chunked(const std::string& s, std::size_t chunk)
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

inline bool is_clean(const std::string& s)
{
    CleanCheckSink c;
    c.write(std::string_view(s));
    return c.clean();
}

template <class Encoder>
inline std::string encode_chunked(const std::string& in, std::size_t chunk)
{
    MemorySink out;
    Encoder enc(out);
    for (std::size_t i = 0; i < in.size(); i += chunk)
        enc.write(std::string_view(in).substr(i, chunk));
    enc.finish();
    return out.str();
}

inline std::string canonical(const std::vector<HeaderField>& top, const std::string& body,
                      std::size_t chunk = 4096, const Limits& limits = {})
{
    auto src = chunked(body, chunk);
    MemorySink out;
    write_canonical_entity(top, src, out, limits);
    return out.str();
}

inline ScanResult scan(const std::vector<HeaderField>& top, const std::string& body,
                const Limits& limits = {})
{
    MemorySource src(as_bytes(body));
    return scan_body(top, src, limits);
}

inline std::string lf_to_crlf(const std::string& s)
{
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

// Runs a third-party tool over `in` (via files) and returns its output.
inline std::string tool(const std::string& cmd, const std::string& in)
{
    test::TempDir dir;
    test::write_file(dir.path() / "in", in);
    test::run("(" + cmd + ") < " + (dir.path() / "in").string() + " > " +
              (dir.path() / "out").string());
    return test::read_file(dir.path() / "out");
}

inline std::string decode_base64_crlf(const std::string& b64)
{
    return tool("tr -d '\\r' | base64 -d", b64);
}

inline std::string pseudo_random(std::size_t n, unsigned seed)
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

inline long max_rss_kb()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

template <class F>
inline Failure failure_of(F&& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.failure();
    }
    CPPUNIT_FAIL("no ssm::Error thrown");
    return Failure::Internal;
}


}  // namespace ssm::test::mime
