// Start-up prerequisites for -n (see host_checks.h).
#include "milter/host_checks.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ssm::milter {

namespace {

// "" when `path` is a regular file this process can read, else why not.
std::string unreadable(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    if (::access(path.c_str(), R_OK) != 0) return std::strerror(errno);
    return "";
}

// "" when `path` is an existing folder, else why not.
std::string not_a_folder(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
    if (!S_ISDIR(st.st_mode)) return "not a folder";
    return "";
}

}  // namespace

std::vector<std::string> host_problems(const Config& config)
{
    std::vector<std::string> out = reloadable_host_problems(config);
    const std::vector<std::string> start = start_host_problems(config);
    out.insert(out.end(), start.begin(), start.end());
    return out;
}

std::vector<std::string> reloadable_host_problems(const Config& config)
{
    std::vector<std::string> out;
    // Every message past memory_spool_limit is spooled there (451 for each when it is missing).
    if (const std::string why = not_a_folder(config.milter.spool_dir); !why.empty())
        out.push_back("[milter] spool_dir " + config.milter.spool_dir + ": " + why);
    // The daemon starts without anchors (a warning), but then no certificate validates: every
    // partner's signature fails and mandatory encryption refuses every recipient. A typo here
    // is caught before that.
    if (const std::string why = not_a_folder(config.pki.trust_anchors); !why.empty())
        out.push_back("[pki] trust_anchors " + config.pki.trust_anchors + ": " + why);
    return out;
}

std::vector<std::string> start_host_problems(const Config& config)
{
    std::vector<std::string> out;
    const auto tokens = config.tokens();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const hsm::TokenConfig& t = tokens[i];
        const std::string section = i == 0 ? "[hsm]" : "[[hsm.token]] " + hsm::token_description(t);
        if (const std::string why = unreadable(t.module); !why.empty())
            out.push_back(section + " module " + t.module + ": " + why);
        if (t.pin_credential.empty()) {
            if (const std::string why = unreadable(t.pin_file); !why.empty())
                out.push_back(section + " pin_file " + t.pin_file + ": " + why);
        } else if (const std::string path = hsm::pin_path(t); !path.empty()) {
            // Under systemd (ExecStartPre=... -n): the credential must be there. Run by hand,
            // outside the unit, there is no credential to check.
            if (const std::string why = unreadable(path); !why.empty())
                out.push_back(section + " pin_credential " + t.pin_credential + " (" + path + "): " + why);
        }
    }
    const std::string& user = config.milter.user;
    if (::geteuid() == 0 && !user.empty() && user != "root") {
        passwd pw{};
        passwd* found = nullptr;
        char buf[16384];
        if (::getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &found) != 0 || !found)
            out.push_back("[milter] user '" + user + "' does not exist (create it, or set another user)");
    }
    return out;
}

}  // namespace ssm::milter
