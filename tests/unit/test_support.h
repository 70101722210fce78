// Helpers shared by unit tests: temporary folders, running fixture scripts, the demo PKI with
// a SoftHSM token that the token-using tests share, and checks of what they produce (a
// signature checked by GnuTLS, results counted over threads).
#pragma once
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/email_address.h"
#include "base/gnutls_handles.h"

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

// What the code under test writes to stderr (where the log goes in tests) meanwhile.
class StderrCapture {
public:
    explicit StderrCapture(const std::filesystem::path& file)
        : m_file(file), m_saved(::dup(2))
    {
        std::fflush(stderr);
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(fd, 2);
        ::close(fd);
    }
    ~StderrCapture() { restore(); }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    std::string finish()
    {
        restore();
        return read_file(m_file);
    }

private:
    void restore()
    {
        if (m_saved < 0) return;
        std::fflush(stderr);
        ::dup2(m_saved, 2);
        ::close(m_saved);
        m_saved = -1;
    }
    std::filesystem::path m_file;
    int m_saved;
};

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

// Whether this program is the ASan+UBSan build (scripts/build.sh, SSM_ASAN=1). The tests that
// feed tens of megabytes (bounded memory over 50 MB, a 1 MiB header token in small pieces) run
// there on a tenth of it (kSanitizedScale): the same code paths under the sanitizers at a tenth
// of the time (40 s of -O0 instrumented code for one of them), while the optimised build keeps
// the full size and the memory claim (under ASan the RSS is the sanitizer's: shadow memory,
// quarantine).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif
#else
inline constexpr bool kSanitizerBuild = false;
#endif
inline constexpr unsigned kSanitizedScale = kSanitizerBuild ? 10 : 1;

// The source tree (for fixture scripts): SSM_SRCDIR from the test runner, else the tree
// this program was configured from.
inline std::filesystem::path source_dir()
{
    const char* s = std::getenv("SSM_SRCDIR");
    return s ? s : SSM_ABS_TOP_SRCDIR;
}

// Public third-party test vectors (RFC 4134, RFC 9216; tests/vectors/README.md): SSM_VECTORS
// when set, else the copy in the source tree, so a fresh clone needs nothing outside it.
inline std::filesystem::path vectors_dir()
{
    const char* v = std::getenv("SSM_VECTORS");
    return v && *v ? std::filesystem::path(v) : source_dir() / "tests" / "vectors";
}

// The test PKI (tests/fixtures/make-pki.sh, OpenSSL-made), generated on first use, once per
// test program, for tests that only read its files. Within a test run (SSM_TEST_TMP, set by
// tests/run-all.sh) make-pki.sh copies the run's PKI instead of making new keys.
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

// SoftHSM's PKCS#11 module, the one make-token.sh puts the test token in.
inline constexpr const char* softhsm_module = "/usr/lib/softhsm/libsofthsm2.so";

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

    // Makes one more identity with OpenSSL in the PKI folder, issued by the test sub-CA:
    // NAME.key.pem (`openssl genpkey GENPKEY_ARGS`), NAME.cert.pem and NAME.cert.der for
    // subject CN=COMMON_NAME with subjectAltName email:EMAIL and keyUsage KEY_USAGE, and the
    // key unencrypted as NAME.p8.der. SAN, when given, replaces "email:EMAIL" as the
    // subjectAltName value (printf text: "@alt\\n[alt]\\n..." for a section of names).
    void issue_identity(const std::string& name, const std::string& genpkey_args, const std::string& common_name,
                        const std::string& email, const std::string& key_usage, const std::string& san = "") const
    {
        run("cd '" + pki.string() + "' && export OPENSSL_CONF=/dev/null && n='" + name + "' && openssl genpkey " +
            genpkey_args + " -out $n.key.pem 2>/dev/null && openssl req -new -key $n.key.pem -subj '/O=SSM Test/CN=" +
            common_name + "' -out $n.csr 2>/dev/null && printf '[ee]\\nbasicConstraints=critical,CA:false\\n" +
            "keyUsage=critical," + key_usage + "\\nsubjectAltName=" + (san.empty() ? "email:" + email : san) +
            "\\n' > $n.ext && "
            "openssl x509 -req -in $n.csr -CA sub-ca.cert.pem -CAkey sub-ca.key.pem -CAcreateserial -days 365 "
            "-extfile $n.ext -extensions ee -out $n.cert.pem 2>/dev/null && "
            "openssl x509 -in $n.cert.pem -outform DER -out $n.cert.der && "
            "openssl pkcs8 -topk8 -nocrypt -in $n.key.pem -outform DER -out $n.p8.der");
    }

    // Writes NAME.p8.der (with pkcs11-tool's KEY_FLAGS, e.g. "--usage-decrypt") and
    // NAME.cert.der of the PKI folder into the token under the hex ID and the label NAME.
    void import_identity(const std::string& name, const std::string& id, const std::string& key_flags) const
    {
        const std::string p11 = std::string("pkcs11-tool --module ") + softhsm_module +
                                " --token-label ssm-test --login --pin 123456 --id " + id + " --label " + name +
                                " --write-object '" + (pki / name).string();
        run(p11 + ".p8.der' --type privkey " + key_flags + " >/dev/null 2>&1");
        run(p11 + ".cert.der' --type cert >/dev/null 2>&1");
    }

    // Copies NAME.cert.pem of the PKI into dir/certs (a static certificate folder).
    void copy_certificates(std::initializer_list<const char*> names) const
    {
        std::filesystem::create_directories(dir.path() / "certs");
        for (const char* name : names)
            std::filesystem::copy_file(pki / (std::string(name) + ".cert.pem"),
                                       dir.path() / "certs" / (std::string(name) + ".cert.pem"));
    }
};

// True when GnuTLS accepts SIG as ALG's signature of DATA (a hash when IS_HASH, else the
// message itself) by the public key of the DER certificate CERT_DER.
inline bool verify_signature(const Bytes& cert_der, gnutls_sign_algorithm_t alg, const Bytes& data, const Bytes& sig,
                             bool is_hash = true)
{
    const GnutlsCrt crt = new_gnutls_crt();
    const GnutlsPubkey key = new_gnutls_pubkey();
    const gnutls_datum_t c{const_cast<unsigned char*>(cert_der.data()), static_cast<unsigned>(cert_der.size())};
    const gnutls_datum_t d{const_cast<unsigned char*>(data.data()), static_cast<unsigned>(data.size())};
    const gnutls_datum_t s{const_cast<unsigned char*>(sig.data()), static_cast<unsigned>(sig.size())};
    int rc = gnutls_x509_crt_import(crt.get(), &c, GNUTLS_X509_FMT_DER);
    if (rc >= 0) rc = gnutls_pubkey_import_x509(key.get(), crt.get(), 0);
    if (rc >= 0)
        rc = is_hash ? gnutls_pubkey_verify_hash2(key.get(), alg, 0, &d, &s)
                     : gnutls_pubkey_verify_data2(key.get(), alg, 0, &d, &s);
    return rc >= 0;
}

// Calls CHECK(thread, round) for ROUNDS rounds on each of THREADS threads at once; returns how
// many calls returned true. A call that throws counts as false, its message on stderr.
inline int count_true_in_threads(int threads, int rounds, const std::function<bool(int, int)>& check)
{
    std::atomic<int> yes{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (int i = 0; i < rounds; ++i) {
                try {
                    if (check(t, i)) ++yes;
                } catch (const std::exception& e) {
                    std::cerr << "thread " << t << ": " << e.what() << "\n";
                }
            }
        });
    for (auto& th : pool) th.join();
    return yes.load();
}

// Whether every thread of process `pid` is stopped (state T or t in /proc/PID/task/*/stat).
inline bool all_threads_stopped(pid_t pid)
{
    std::error_code ec;
    std::size_t threads = 0;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream in(task.path() / "stat");
        std::string stat;
        std::getline(in, stat);
        const auto close = stat.rfind(") ");  // the command name may hold spaces and parentheses
        if (close == std::string::npos || close + 2 >= stat.size()) return false;
        if (stat[close + 2] != 'T' && stat[close + 2] != 't') return false;
        ++threads;
    }
    return !ec && threads > 0;
}

// A server process stopped (SIGSTOP) while this lives: the kernel still completes connections
// to it, and nothing answers. kill() returns before the signal has stopped every thread of a
// busy process, so this waits (up to 10 s) until each is stopped: without the wait a loaded
// machine let a "frozen" slapd answer a test's first searches (test_ldap_groups under ASan:
// 3 searches sent where 1 was expected).
class FrozenProcess {
public:
    explicit FrozenProcess(pid_t pid) : m_pid(pid)
    {
        if (::kill(m_pid, SIGSTOP) != 0) throw std::runtime_error("cannot stop process " + std::to_string(pid));
        for (int i = 0; i < 1000 && !all_threads_stopped(m_pid); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (!all_threads_stopped(m_pid)) {
            thaw();
            throw std::runtime_error("process " + std::to_string(pid) + " did not stop within 10 s");
        }
    }
    ~FrozenProcess() { thaw(); }
    FrozenProcess(const FrozenProcess&) = delete;
    FrozenProcess& operator=(const FrozenProcess&) = delete;
    void thaw()
    {
        if (m_pid > 0) ::kill(m_pid, SIGCONT);
        m_pid = 0;
    }

private:
    pid_t m_pid;
};

// An address written by the test itself: one that does not parse is the test's own mistake,
// reported (an exception CppUnit shows with the text) rather than dereferenced.
inline EmailAddress addr(const std::string& text)
{
    auto a = EmailAddress::parse(text);
    if (!a) throw std::invalid_argument("test address does not parse: " + text);
    return *a;
}

}  // namespace ssm::test
