// Names of failure classes, for logs.
#include "base/error.h"

namespace ssm {

const char* failure_name(Failure f) noexcept
{
    switch (f) {
    case Failure::Temporary: return "temporary";
    case Failure::HsmUnavailable: return "hsm-unavailable";
    case Failure::DirectoryUnavailable: return "directory-unavailable";
    case Failure::MalformedMessage: return "malformed-message";
    case Failure::MessageTooLarge: return "message-too-large";
    case Failure::PolicyViolation: return "policy-violation";
    case Failure::CryptographicFailure: return "cryptographic-failure";
    case Failure::Internal: return "internal";
    }
    return "unknown";
}

}  // namespace ssm
