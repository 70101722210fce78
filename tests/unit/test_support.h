// Helpers shared by unit tests: temporary folders and running fixture scripts.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace ssm::test {

// A temporary folder removed (with its content) when the object goes away.
class TempDir {
public:
    TempDir()
    {
        std::string tmpl = (std::filesystem::temp_directory_path() / "ssm-test.XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        m_path = tmpl;
    }
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

inline std::string read_file(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_file(const std::filesystem::path& p, const std::string& data)
{
    std::ofstream out(p, std::ios::binary);
    out << data;
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

// Runs a shell command; throws when it exits non-zero.
inline void run(const std::string& cmd)
{
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

// The source tree (for fixture scripts): SSM_SRCDIR from the test runner, else the tree
// this program was configured from.
inline std::filesystem::path source_dir()
{
    const char* s = std::getenv("SSM_SRCDIR");
    return s ? s : SSM_ABS_TOP_SRCDIR;
}

}  // namespace ssm::test
