// Forward-only reading of a rewindable ByteSource by absolute offset, and a line splitter
// that never holds more than a bounded head of a line. Input is untrusted: lines may be of
// any length, end in CRLF, LF or a lone CR, or not end at all.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/stream.h"

namespace ssm::smime::mime {

// Reads a source from its first byte (it is rewound on construction) through a fixed
// buffer, knowing the absolute offset of every byte.
class Cursor {
public:
    explicit Cursor(ByteSource& src);
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;

    std::uint64_t pos() const { return m_base + m_at; }
    int peek()
    {
        if (m_at == m_len && !fill()) return -1;
        return m_buf[m_at];
    }
    int get()
    {
        const int c = peek();
        if (c >= 0) ++m_at;
        return c;
    }
    // The buffered bytes from pos() on, refilled when used up; empty only at end of input.
    // advance(n) consumes n of them (n <= window().size()).
    std::span<const std::uint8_t> window()
    {
        if (m_at == m_len) fill();
        return {m_buf.data() + m_at, m_len - m_at};
    }
    void advance(std::size_t n) { m_at += n; }
    // Passes the bytes from pos() up to `end` (or end of input) to `sink`, in chunks.
    void copy_to(std::uint64_t end, ByteSink& sink);
    // Moves forward to `end` (or end of input) without looking at the bytes.
    void skip_to(std::uint64_t end);

private:
    bool fill();

    ByteSource& m_src;
    std::vector<std::uint8_t> m_buf;
    std::size_t m_len = 0;
    std::size_t m_at = 0;
    std::uint64_t m_base = 0;
    bool m_eof = false;
};

// The index of the first CR or LF in [p, p + n), n when there is none; eight octets at a
// time (mail is mostly short lines, so this beats two memchr calls).
std::size_t find_cr_or_lf(const std::uint8_t* p, std::size_t n);

enum class Eol { None, Crlf, Lf, Cr };

inline std::size_t eol_length(Eol e)
{
    return e == Eol::Crlf ? 2 : (e == Eol::None ? 0 : 1);
}

struct Line {
    std::uint64_t begin = 0;   // absolute offset of the first byte
    std::uint64_t length = 0;  // content bytes, terminator excluded
    Eol eol = Eol::None;       // None only for a last line without a terminator
    std::string head;          // the first min(length, head cap) content bytes
    bool tail_is_wsp = true;   // every content byte beyond `head` is SP or HTAB
    bool has_8bit = false;
    bool has_nul = false;

    std::uint64_t end() const { return begin + length + eol_length(eol); }
    bool complete() const { return head.size() == length; }
};

// Splits input into lines. A lone CR counts as a line end because CrlfNormaliser turns
// it into CRLF: the structure we scan must be the structure we emit.
class LineReader {
public:
    LineReader(Cursor& cur, std::size_t head_cap) : m_cur(cur), m_head_cap(head_cap) {}
    void set_head_cap(std::size_t cap) { m_head_cap = cap; }
    // Reads the next line; false at end of input.
    bool next(Line& line);

private:
    Cursor& m_cur;
    std::size_t m_head_cap;
};

}  // namespace ssm::smime::mime
