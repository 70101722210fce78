// Helpers shared by unit tests: temporary folders, running fixture scripts, and the demo
// PKI with a SoftHSM token that the token-using tests share.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <string>

#include "base/bytes.h"

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

// Runs a shell command without handing it our descriptors above stderr (a daemon it starts,
// e.g. slapd, would otherwise keep our client sockets open and never see them close); throws
// when it exits non-zero.
inline void run_without_our_descriptors(const std::string& cmd)
{
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::close_range(3, ~0U, 0);
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("command failed: " + cmd);
}

// The source tree (for fixture scripts): SSM_SRCDIR from the test runner, else the tree
// this program was configured from.
inline std::filesystem::path source_dir()
{
    const char* s = std::getenv("SSM_SRCDIR");
    return s ? s : SSM_ABS_TOP_SRCDIR;
}

// The test PKI (tests/fixtures/make-pki.sh, OpenSSL-made), generated on first use, once per
// test program, for tests that only read its files.
inline const std::filesystem::path& program_pki()
{
    static TempDir d;
    static const bool made = [] {
        run("sh '" + (source_dir() / "tests/fixtures/make-pki.sh").string() + "' '" + d.path().string() +
            "' >/dev/null 2>&1");
        return true;
    }();
    (void)made;
    return d.path();
}

// NAME.cert.der of program_pki(): the DER bytes OpenSSL wrote for that certificate.
inline Bytes pki_der(const std::string& name) { return to_bytes(read_file(program_pki() / (name + ".cert.der"))); }

// The test PKI (tests/fixtures/make-pki.sh) and a SoftHSM token holding IDENTITIES
// (make-token.sh's names, space-separated; its default set when empty) in a temp folder.
// SOFTHSM2_CONF is pointed at the token; SoftHSM reads it once per process (at
// C_Initialize), so a test program makes one of these and shares it.
struct PkiToken {
    TempDir dir;
    std::filesystem::path pki = dir.path() / "pki";
    std::filesystem::path token = dir.path() / "token";

    explicit PkiToken(const std::string& identities = "")
    {
        const std::string fixtures = (source_dir() / "tests/fixtures").string();
        run("sh '" + fixtures + "/make-pki.sh' '" + pki.string() + "' >/dev/null");
        run("sh '" + fixtures + "/make-token.sh' '" + pki.string() + "' '" + token.string() + "' " +
            identities + " >/dev/null");
        setenv("SOFTHSM2_CONF", (token / "softhsm2.conf").c_str(), 1);
    }

    std::string pin_file() const { return (token / "pin").string(); }

    // Copies NAME.cert.pem of the PKI into dir/certs (a static certificate folder).
    void copy_certificates(std::initializer_list<const char*> names) const
    {
        std::filesystem::create_directories(dir.path() / "certs");
        for (const char* name : names)
            std::filesystem::copy_file(pki / (std::string(name) + ".cert.pem"),
                                       dir.path() / "certs" / (std::string(name) + ".cert.pem"));
    }
};

}  // namespace ssm::test
