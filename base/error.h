// Typed per-message failures. Lower layers throw ssm::Error with a failure class;
// the milter guard maps the class to an SMTP reply (milter/reply.h). Expected
// negatives (no certificate, cache miss) are return values, not Errors.
#pragma once
#include <stdexcept>
#include <string>

namespace ssm {

enum class Failure {
    Temporary,             // transient local problem (disk, memory): 451 4.3.0
    HsmUnavailable,        // token absent, login failed, session lost: 451 4.3.0
    DirectoryUnavailable,  // LDAP/cache unreachable: 451 4.7.1
    MalformedMessage,      // MIME/CMS input we cannot process safely: 554 5.6.0
    MessageTooLarge,       // configured size or structure limit exceeded: 552 5.3.4
    PolicyViolation,       // policy cannot be met (e.g. no certificate): 550 5.7.1
    CryptographicFailure,  // a message for our keys that does not decrypt or authenticate:
                           // 554 5.7.5, one uniform answer whatever the cause (RFC 3218)
    Internal,              // a bug or broken invariant: 451 4.3.0 (and loud logs)
};

const char* failure_name(Failure f) noexcept;

class Error : public std::runtime_error {
public:
    Error(Failure failure, const std::string& what) : std::runtime_error(what), m_failure(failure) {}
    Failure failure() const noexcept { return m_failure; }

private:
    Failure m_failure;
};

}  // namespace ssm
