// Memory-backed streams and the bounded copy loop.
#include "base/stream.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace ssm {

std::size_t MemorySource::read(std::span<std::uint8_t> buf)
{
    const std::size_t n = std::min(buf.size(), m_data.size() - m_pos);
    if (n > 0) std::memcpy(buf.data(), m_data.data() + m_pos, n);
    m_pos += n;
    return n;
}

SliceSource::SliceSource(ByteSource& inner, std::uint64_t begin, std::uint64_t end)
    : m_inner(inner), m_begin(begin), m_end(std::max(begin, end))
{
}

std::size_t SliceSource::read(std::span<std::uint8_t> buf)
{
    if (!m_positioned) {
        m_inner.rewind();
        std::array<std::uint8_t, 16 * 1024> skip;
        std::uint64_t left = m_begin;
        while (left > 0) {
            const std::size_t n = m_inner.read(std::span<std::uint8_t>(
                skip.data(), static_cast<std::size_t>(std::min<std::uint64_t>(skip.size(), left))));
            if (n == 0) break;
            left -= n;
        }
        m_positioned = true;
    }
    const std::uint64_t remaining = (m_end - m_begin) - m_pos;
    if (remaining == 0) return 0;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), remaining));
    const std::size_t n = m_inner.read(buf.first(want));
    m_pos += n;
    return n;
}

void copy_stream(ByteSource& from, ByteSink& to)
{
    std::array<std::uint8_t, 64 * 1024> buf;
    for (;;) {
        const std::size_t n = from.read(buf);
        if (n == 0) break;
        to.write(ByteView(buf.data(), n));
    }
}

}  // namespace ssm
