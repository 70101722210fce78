// Byte stream interfaces that let message bodies flow spool-to-spool without full
// copies in memory. Sources are rewindable because S/MIME needs two passes
// (scan structure, then emit canonical form).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/bytes.h"

namespace ssm {

class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Reads up to buf.size() bytes; returns 0 only at end of stream. Throws ssm::Error.
    virtual std::size_t read(std::span<std::uint8_t> buf) = 0;
    // Starts again from the first byte.
    virtual void rewind() = 0;
    // Total bytes in the stream.
    virtual std::uint64_t size() const = 0;
};

class ByteSink {
public:
    virtual ~ByteSink() = default;
    virtual void write(ByteView data) = 0;
    void write(std::string_view s) { write(as_bytes(s)); }
};

// A source over bytes owned elsewhere (tests, small objects); they must outlive it.
class MemorySource final : public ByteSource {
public:
    explicit MemorySource(ByteView data) : m_data(data) {}
    // Only a view is kept, so a temporary Bytes would be freed before the first read (three
    // unit tests did this; ASan found them): name the bytes first.
    explicit MemorySource(const Bytes&&) = delete;
    std::size_t read(std::span<std::uint8_t> buf) override;
    void rewind() override { m_pos = 0; }
    std::uint64_t size() const override { return m_data.size(); }

private:
    ByteView m_data;
    std::size_t m_pos = 0;
};

// A sink that keeps everything in memory (tests, small objects).
class MemorySink final : public ByteSink {
public:
    using ByteSink::write;
    void write(ByteView data) override { m_data.insert(m_data.end(), data.begin(), data.end()); }
    const Bytes& data() const { return m_data; }
    std::string str() const { return std::string(m_data.begin(), m_data.end()); }

private:
    Bytes m_data;
};

// Writes everything to two sinks (e.g. a spool and a hash).
class TeeSink final : public ByteSink {
public:
    TeeSink(ByteSink& a, ByteSink& b) : m_a(a), m_b(b) {}
    using ByteSink::write;
    void write(ByteView data) override
    {
        m_a.write(data);
        m_b.write(data);
    }

private:
    ByteSink& m_a;
    ByteSink& m_b;
};

// Drops what it is given (a pass whose output is not needed, only its side effects).
class DiscardSink final : public ByteSink {
public:
    using ByteSink::write;
    void write(ByteView) override {}
};

// Counts bytes and forwards them.
class CountingSink final : public ByteSink {
public:
    explicit CountingSink(ByteSink& next) : m_next(next) {}
    using ByteSink::write;
    void write(ByteView data) override
    {
        m_count += data.size();
        m_next.write(data);
    }
    std::uint64_t count() const { return m_count; }

private:
    ByteSink& m_next;
    std::uint64_t m_count = 0;
};

// A source that knows how far it has been read, so that one reader can serve several
// slices in body order (SliceSource) without going back to the first byte for each.
// `inner` must outlive it. Its position is unknown until the first rewind or seek: the
// inner source may have been read before.
class TrackedSource final : public ByteSource {
public:
    explicit TrackedSource(ByteSource& inner) : m_inner(inner) {}
    std::size_t read(std::span<std::uint8_t> buf) override;
    void rewind() override;
    std::uint64_t size() const override { return m_inner.size(); }
    // Moves to `offset`: forward by reading, from the first byte when the offset lies behind
    // (or the position is unknown). At the end of the source when it is shorter.
    void seek(std::uint64_t offset);
    // How far it has been read; nullopt until the first rewind or seek.
    std::optional<std::uint64_t> position() const { return m_known ? std::optional(m_pos) : std::nullopt; }

private:
    ByteSource& m_inner;
    std::uint64_t m_pos = 0;
    bool m_known = false;
};

// The bytes [begin, end) of another source (e.g. one MIME part of a spooled body).
// `inner` must outlive it. Over a plain source the slice rewinds it and skips to `begin`
// (sources are sequential); over a TrackedSource shared by slices it reads on from where
// the last one stopped when it starts at or after that point, so slices taken in body order
// read the body once.
class SliceSource final : public ByteSource {
public:
    SliceSource(ByteSource& inner, std::uint64_t begin, std::uint64_t end);
    SliceSource(TrackedSource& shared, std::uint64_t begin, std::uint64_t end);
    SliceSource(const SliceSource&) = delete;  // m_source may point into the object itself
    SliceSource& operator=(const SliceSource&) = delete;
    std::size_t read(std::span<std::uint8_t> buf) override;
    void rewind() override { m_pos = 0; }
    std::uint64_t size() const override { return m_end - m_begin; }

private:
    std::optional<TrackedSource> m_own;  // over a plain source
    TrackedSource* m_source;
    std::uint64_t m_begin;
    std::uint64_t m_end;
    std::uint64_t m_pos = 0;
};

// Copies a whole source to a sink in bounded chunks.
void copy_stream(ByteSource& from, ByteSink& to);

}  // namespace ssm
