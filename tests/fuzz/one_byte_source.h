// A ByteSource that hands out at most one byte per read, for the fuzz targets that check a
// parser's result does not depend on how its input is chunked. Its input is the fuzzer's
// untrusted bytes, only copied out.
#pragma once
#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "base/stream.h"

namespace ssm::fuzz {

class OneByteSource final : public ByteSource {
public:
    explicit OneByteSource(ByteView data) : m_inner(data), m_size(data.size()) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        return m_inner.read(buf.subspan(0, buf.empty() ? 0 : 1));
    }
    void rewind() override { m_inner.rewind(); }
    std::uint64_t size() const override { return m_size; }

private:
    MemorySource m_inner;
    std::uint64_t m_size;
};

}  // namespace ssm::fuzz
