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
