// Spool implementation: memory first, then an unlinked 0600 temp file in the spool dir.
#include "base/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace ssm {

namespace {

[[noreturn]] void io_failure(const std::string& what)
{
    throw Error(Failure::Temporary, what + ": " + std::strerror(errno));
}

void write_all(int fd, const std::uint8_t* p, std::size_t n)
{
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            io_failure("spool write");
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

class FileReader final : public ByteSource {
public:
    FileReader(int fd, std::uint64_t size) : m_fd(fd), m_size(size) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (m_pos >= m_size) return 0;
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), m_size - m_pos));
        for (;;) {
            const ssize_t r = ::pread(m_fd, buf.data(), want, static_cast<off_t>(m_pos));
            if (r < 0) {
                if (errno == EINTR) continue;
                io_failure("spool read");
            }
            m_pos += static_cast<std::uint64_t>(r);
            return static_cast<std::size_t>(r);
        }
    }
    void rewind() override { m_pos = 0; }
    std::uint64_t size() const override { return m_size; }

private:
    int m_fd;
    std::uint64_t m_size;
    std::uint64_t m_pos = 0;
};

}  // namespace

Spool::Spool(std::string dir, std::size_t memory_limit)
    : m_dir(std::move(dir)), m_memory_limit(memory_limit)
{
}

void Spool::move_to_disk()
{
    // O_TMPFILE gives a file with no name at all; fall back to mkstemp + unlink
    // on file systems that lack it.
    UniqueFd fd(::open(m_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!fd) {
        std::string tmpl = m_dir + "/ssm-spool.XXXXXX";
        fd.reset(::mkostemp(tmpl.data(), O_CLOEXEC));
        if (!fd) io_failure("spool create in " + m_dir);
        ::unlink(tmpl.c_str());
        ::fchmod(fd.get(), 0600);
    }
    m_fd = std::move(fd);
    write_all(m_fd.get(), m_memory.data(), m_memory.size());
    Bytes().swap(m_memory);
}

void Spool::write(ByteView data)
{
    if (data.empty()) return;
    if (!m_fd && m_memory.size() + data.size() > m_memory_limit) move_to_disk();
    if (m_fd)
        write_all(m_fd.get(), data.data(), data.size());
    else
        m_memory.insert(m_memory.end(), data.begin(), data.end());
    m_size += data.size();
}

std::unique_ptr<ByteSource> Spool::reader() const
{
    if (m_fd) return std::make_unique<FileReader>(m_fd.get(), m_size);
    return std::make_unique<MemorySource>(ByteView(m_memory.data(), m_memory.size()));
}

void copy_spool(const Spool& spool, ByteSink& out)
{
    auto reader = spool.reader();
    copy_stream(*reader, out);
}

}  // namespace ssm
