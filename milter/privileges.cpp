// setgid/initgroups/setuid to the configured user; refuses to go on half-dropped.
#include "milter/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ssm::milter {

std::string drop_privileges(const std::string& user)
{
    if (::geteuid() != 0 || user.empty() || user == "root") return "";
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
        return "user '" + user + "' does not exist (set [milter] user, or create it)";
    if (::initgroups(pw.pw_name, pw.pw_gid) != 0 || ::setgid(pw.pw_gid) != 0 ||
        ::setuid(pw.pw_uid) != 0)
        return "cannot switch to user '" + user + "': " + std::strerror(errno);
    if (::setuid(0) == 0) return "still able to regain root after switching to '" + user + "'";
    return "";
}

}  // namespace ssm::milter
