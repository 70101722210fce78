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

std::size_t TrackedSource::read(std::span<std::uint8_t> buf)
{
    const std::size_t n = m_inner.read(buf);
    m_pos += n;
    return n;
}

void TrackedSource::rewind()
{
    m_inner.rewind();
    m_pos = 0;
    m_known = true;
}

void TrackedSource::seek(std::uint64_t offset)
{
    if (!m_known || offset < m_pos) rewind();
    std::array<std::uint8_t, 16 * 1024> skip;
    while (m_pos < offset) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(skip.size(), offset - m_pos));
        if (read(std::span<std::uint8_t>(skip.data(), want)) == 0) break;
    }
}

SliceSource::SliceSource(ByteSource& inner, std::uint64_t begin, std::uint64_t end)
    : m_own(std::in_place, inner), m_source(&*m_own), m_begin(begin), m_end(std::max(begin, end))
{
}

SliceSource::SliceSource(TrackedSource& shared, std::uint64_t begin, std::uint64_t end)
    : m_source(&shared), m_begin(begin), m_end(std::max(begin, end))
{
}

std::size_t SliceSource::read(std::span<std::uint8_t> buf)
{
    const std::uint64_t remaining = (m_end - m_begin) - m_pos;
    if (remaining == 0) return 0;
    // After a rewind, or when another slice moved a shared source in between.
    const std::uint64_t at = m_begin + m_pos;
    if (m_source->position() != at) m_source->seek(at);
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), remaining));
    const std::size_t n = m_source->read(buf.first(want));
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
