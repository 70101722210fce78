// Reading and writing the fixed-width fields of the directory's LMDB records (harvest store,
// lookup cache). The reader never reads past its input: every take() is bounds-checked, so a
// truncated or corrupt record fails to parse instead of being guessed at.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/bytes.h"

namespace ssm::directory::record {

class Reader {
public:
    explicit Reader(ByteView in) : m_in(in) {}
    // The next n bytes; false (and nothing consumed) when fewer remain.
    bool take(std::size_t n, ByteView& out)
    {
        if (n > m_in.size() - m_pos) return false;
        out = m_in.subspan(m_pos, n);
        m_pos += n;
        return true;
    }
    // A big-endian unsigned integer of `width` bytes (at most 8).
    bool uint(std::size_t width, std::uint64_t& v)
    {
        ByteView b;
        if (width > 8 || !take(width, b)) return false;
        v = 0;
        for (auto c : b) v = (v << 8) | c;
        return true;
    }
    bool done() const { return m_pos == m_in.size(); }

private:
    ByteView m_in;
    std::size_t m_pos = 0;
};

inline void put_uint(Bytes& out, std::uint64_t v, std::size_t width)
{
    for (std::size_t i = width; i-- > 0;) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

inline void put_bytes(Bytes& out, ByteView b)
{
    out.insert(out.end(), b.begin(), b.end());
}

// Seconds since the epoch as 8 bytes of two's complement (times before 1970 survive).
inline void put_time(Bytes& out, std::int64_t t)
{
    put_uint(out, static_cast<std::uint64_t>(t), 8);
}

inline bool time(Reader& r, std::int64_t& t)
{
    std::uint64_t v = 0;
    if (!r.uint(8, v)) return false;
    t = static_cast<std::int64_t>(v);
    return true;
}

}  // namespace ssm::directory::record
