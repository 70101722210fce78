// Real servers for the revocation tests: a CRL web server (python3 -m http.server, or a
// handler script of the test's) and an `openssl ocsp` responder, started on free loopback
// ports by the test and stopped (by their own pid) when the owning object goes away; and the
// openssl fixture scripts that make their PKI. Test-only; trusts what it starts.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pki/certificate.h"
#include "pki/trust_store.h"
#include "tests/unit/test_support.h"

namespace ssm::test {

// A loopback port nobody listens on right now (the kernel picks it; a race with other programs
// is possible but unlikely within the test's lifetime).
inline int free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

// Whether something listens on `port` (IPv4 or IPv6), read from /proc/net so that no probe
// connection is made: `openssl ocsp` stalls on a connection that closes without a request.
inline bool port_listening(int port)
{
    char hex[8];
    std::snprintf(hex, sizeof hex, ":%04X", port);
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state;
            fields >> slot >> local >> remote >> state;
            if (state == "0A" && local.size() > 5 && local.compare(local.size() - 5, 5, hex) == 0) return true;
        }
    }
    return false;
}

// A child process with stdout and stderr in `log`, running in `cwd`, killed in the destructor.
class Server {
public:
    Server(const std::vector<std::string>& argv, const std::filesystem::path& cwd, const std::filesystem::path& log,
           int port)
        : m_log(log)
    {
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        m_pid = ::fork();
        if (m_pid < 0) throw std::runtime_error("fork failed");
        if (m_pid == 0) {
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd < 0 || ::chdir(cwd.c_str()) != 0) ::_exit(127);
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
        for (int i = 0; i < 100 && !port_listening(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (!port_listening(port)) {
            stop();
            throw std::runtime_error(argv[0] + " did not listen on port " + std::to_string(port));
        }
    }
    ~Server() { stop(); }
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void stop()
    {
        if (m_pid <= 0) return;
        ::kill(m_pid, SIGTERM);
        int status = 0;
        ::waitpid(m_pid, &status, 0);
        m_pid = -1;
    }

    // Occurrences of `needle` in the server's log so far.
    std::size_t count(const std::string& needle) const
    {
        std::string text;
        try {
            text = read_file(m_log);
        } catch (const std::exception&) {
            return 0;
        }
        std::size_t n = 0;
        for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
        return n;
    }

private:
    pid_t m_pid = -1;
    std::filesystem::path m_log;
};

// Shell functions every fixture script may call (defined before the script runs, so `set -eu`
// and `cd "$1"` in the script still come first): cadir, issue and make_root, the openssl CA
// steps the revocation and reload tests share.
inline const char* const openssl_ca_functions = R"SH(
# cadir NAME: an `openssl ca` folder for the CA whose certificate and key are NAME.pem, NAME.key.
cadir() {
  mkdir -p $1/new; : > $1/index.txt; echo 1000 > $1/serial; echo 1000 > $1/crlnumber
  printf '[ca]\ndefault_ca=c\n[c]\ndir=%s\ndatabase=$dir/index.txt\nnew_certs_dir=$dir/new\ncertificate=%s.pem\nprivate_key=%s.key\nserial=$dir/serial\ncrlnumber=$dir/crlnumber\ndefault_md=sha256\npolicy=p\nunique_subject=no\ndefault_crl_days=2\ndefault_days=365\n[p]\ncommonName=supplied\n' $1 $1 $1 > $1/ca.cnf
}
# issue CA NAME EXTENSIONS
issue() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $2.key 2>/dev/null
  openssl req -new -key $2.key -subj "/CN=$2" -out $2.csr 2>/dev/null
  printf '[x]\n%b\n' "$3" > $2.ext
  openssl ca -batch -notext -config $1/ca.cnf -in $2.csr -out $2.pem -extfile $2.ext -extensions x 2>>openssl.log
}
# make_root: rev-root, a self-signed EC P-256 CA (root.pem, root.key), and its ca folder.
make_root() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem -subj /CN=rev-root \
    -days 365 -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
    -addext subjectKeyIdentifier=hash 2>/dev/null
  cadir root
}
)SH";

// Runs the sh fixture `script` (after openssl_ca_functions) with the folder `dir` and `ports` as
// its arguments. The scripts send openssl's complaints to dir/openssl.log, shown when the script
// fails.
inline void run_pki_script(const std::filesystem::path& dir, const char* script, const std::vector<int>& ports)
{
    write_file(dir / "make.sh", std::string(openssl_ca_functions) + script);
    std::string cmd = "sh '" + (dir / "make.sh").string() + "' '" + dir.string() + "'";
    for (const int port : ports) cmd += " " + std::to_string(port);
    run(cmd + " || (cat '" + (dir / "openssl.log").string() + "'; false)");
}

// The (first) certificate in dir/NAME.pem, as the fixture script made it.
inline pki::Certificate fixture_certificate(const std::filesystem::path& dir, const std::string& name)
{
    auto v = pki::Certificate::load_file(dir / (name + ".pem"));
    return std::move(v.front());
}

// A web server on 127.0.0.1:`port` for the files in dir/www, logging each request to
// dir/web-server.log: python3's http.server, or the `handler` script when given (run as
// `python3 handler.py PORT FOLDER`).
inline std::unique_ptr<Server> web_server(const std::filesystem::path& dir, int port, const char* handler = nullptr)
{
    std::vector<std::string> argv{"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
                                  "--directory", (dir / "www").string()};
    if (handler) {
        write_file(dir / "handler.py", handler);
        argv = {"python3", (dir / "handler.py").string(), std::to_string(port), (dir / "www").string()};
    }
    return std::make_unique<Server>(argv, dir, dir / "web-server.log", port);
}

// A result's description and every note, for an assertion's message.
inline std::string notes(const pki::ValidationResult& r)
{
    std::string out;
    for (const auto& n : r.notes) out += n + "\n";
    return r.describe() + " | " + out;
}

// Whether a note of `r` holds `text`.
inline bool any_note(const pki::ValidationResult& r, const std::string& text)
{
    for (const auto& n : r.notes)
        if (n.find(text) != std::string::npos) return true;
    return false;
}

// Whether `r`'s description or a note holds `text`.
inline bool mentions(const pki::ValidationResult& r, const std::string& text)
{
    return r.describe().find(text) != std::string::npos || any_note(r, text);
}

}  // namespace ssm::test
