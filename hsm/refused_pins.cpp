// The register of refused PINs (see refused_pins.h).
#include "hsm/refused_pins.h"

#include <sys/stat.h>

namespace ssm::hsm {

bool pin_refused(CK_RV rv)
{
    // CKR_PIN_LOCKED is not among them: a locked token counts nothing more, and an officer
    // who unlocks it with the same PIN should not need a restart of ours.
    return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE;
}

RefusedPins& RefusedPins::instance()
{
    static RefusedPins pins;
    return pins;
}

std::int64_t RefusedPins::pin_file_stamp(const std::string& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return std::int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::optional<std::string> RefusedPins::refusal(const std::string& token, const SecureString& pin,
                                                std::int64_t file_stamp)
{
    std::lock_guard lock(m_mutex);
    const auto it = m_refused.find(token);
    if (it == m_refused.end() || it->second.file_stamp != file_stamp ||
        it->second.pin.value() != pin.value())
        return std::nullopt;
    return it->second.answer;
}

void RefusedPins::remember(const std::string& token, const SecureString& pin, std::int64_t file_stamp,
                           const std::string& answer)
{
    std::lock_guard lock(m_mutex);
    Refusal& r = m_refused[token];
    r.pin = pin.clone();
    r.file_stamp = file_stamp;
    r.answer = answer;
}

}  // namespace ssm::hsm
