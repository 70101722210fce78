// PINs a token refused, remembered per token for the life of the process, so the same wrong
// PIN is never offered twice: every wrong try counts towards the token locking its user PIN
// (most HSMs lock after 3 to 10), and the daemon reopens the token for each message while it
// cannot be used (milter::TokenKeySource), which would lock it within seconds of mail. A PIN
// is offered again once the PIN file changes (new content, or only a new modification time:
// `touch` re-arms one try) or the process restarts. Inputs: PIN file contents (secret: kept
// in wiping buffers, never logged).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <pkcs11-helper-1.0/pkcs11h-core.h>

#include "base/secure_buffer.h"

namespace ssm::hsm {

// Whether a login answer says the PIN itself is wrong (and so counts as a failed try).
bool pin_refused(CK_RV rv);

class RefusedPins {
public:
    // The process-wide register (internally synchronised).
    static RefusedPins& instance();

    // The PIN file's modification time in nanoseconds (0 when it cannot be read).
    static std::int64_t pin_file_stamp(const std::string& path);

    // The CKR name the token gave for this PIN from a file last modified at `file_stamp`
    // (st_mtim in nanoseconds, see pin_file_stamp), or
    // nullopt when it was not refused.
    std::optional<std::string> refusal(const std::string& token, const SecureString& pin,
                                       std::int64_t file_stamp);
    void remember(const std::string& token, const SecureString& pin, std::int64_t file_stamp,
                  const std::string& answer);

private:
    struct Refusal {
        SecureString pin;
        std::int64_t file_stamp = 0;
        std::string answer;
    };
    std::mutex m_mutex;
    std::map<std::string, Refusal> m_refused;  // by token ("label/serial"): its last refusal
};

}  // namespace ssm::hsm
