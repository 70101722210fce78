// Cutting the extension off a local part (Postfix split_addr semantics). The delimiter set
// is configuration; the local part is an already parsed, untrusted address.
#include "policy/recipient_delimiter.h"

#include "base/ascii.h"

namespace ssm::policy {

namespace {

// The content of a quoted local part ("a..b+x" -> a..b+x); the text itself when unquoted.
// EmailAddress keeps quotes only where the content needs them, and only whole.
std::string unquoted(const std::string& local)
{
    if (local.size() < 2 || local.front() != '"' || local.back() != '"') return local;
    std::string content;
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
        if (local[i] == '\\' && i + 2 < local.size()) ++i;
        content += local[i];
    }
    return content;
}

// Local parts Postfix never splits, whatever the delimiter.
bool reserved(std::string_view local)
{
    return iequals(local, "postmaster") || iequals(local, "mailer-daemon") || iequals(local, "double-bounce");
}

bool owner_or_request(std::string_view local)
{
    constexpr std::string_view kOwner = "owner-", kRequest = "-request";
    return (local.size() >= kOwner.size() && iequals(local.substr(0, kOwner.size()), kOwner)) ||
           (local.size() > kRequest.size() && iequals(local.substr(local.size() - kRequest.size()), kRequest));
}

}  // namespace

std::optional<RecipientDelimiter> RecipientDelimiter::parse(std::string_view chars)
{
    for (const char c : chars)
        if (c <= ' ' || c > '~' || std::string_view("@\"\\<>,*").find(c) != std::string_view::npos)
            return std::nullopt;
    return RecipientDelimiter(std::string(chars));
}

std::optional<EmailAddress> RecipientDelimiter::base_of(const EmailAddress& address) const
{
    if (m_chars.empty()) return std::nullopt;
    const std::string local = unquoted(address.local_part());
    if (reserved(local)) return std::nullopt;
    if (m_chars.find('-') != std::string::npos && owner_or_request(local)) return std::nullopt;
    const std::size_t cut = local.find_first_of(m_chars);
    if (cut == 0 || cut == std::string::npos) return std::nullopt;
    // Quoted again in full: EmailAddress drops the quotes where the base needs none.
    std::string quoted = "\"";
    for (const char c : local.substr(0, cut)) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return EmailAddress::parse(quoted + "\"@" + address.domain().str());
}

}  // namespace ssm::policy
