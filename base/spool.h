// Message spool: bytes kept in memory up to a threshold, then moved to a private
// temporary file (mode 0600, unlinked at creation so nothing is left behind on any
// exit path). Holds untrusted message content; never logged.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "base/stream.h"
#include "base/unique_fd.h"

namespace ssm {

class Spool final : public ByteSink {
public:
    Spool(std::string dir, std::size_t memory_limit);
    ~Spool() override = default;
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    using ByteSink::write;
    void write(ByteView data) override;
    std::uint64_t size() const { return m_size; }
    bool on_disk() const { return m_fd.get() >= 0; }
    // A reader over what was written so far; the spool must outlive it.
    std::unique_ptr<ByteSource> reader() const;

private:
    void move_to_disk();

    std::string m_dir;
    std::size_t m_memory_limit;
    Bytes m_memory;
    UniqueFd m_fd;  // the file once the spool is on disk
    std::uint64_t m_size = 0;
};

// Writes everything the spool holds to `out`.
void copy_spool(const Spool& spool, ByteSink& out);

}  // namespace ssm
