// Clearances in our recipients' own certificates (PRODUCT §4.1, RFC 5755 §4.4.6, RFC 5913):
// the Clearance attribute in the subjectDirectoryAttributes extension of the certificate the
// token holds for the recipient's address, added to what the directory says. The token's
// certificates were put there by the administrator; their extension is still parsed strictly.
// Authority Clearance Constraints (RFC 5913 §3) of the issuing CAs are not applied.
#pragma once
#include "milter/key_source.h"
#include "policy/labels.h"

namespace ssm::milter {

class CertificateClearances final : public policy::ClearanceDirectory {
public:
    // `directory`: asked first (may be null). Both must outlive this object (one message).
    CertificateClearances(KeySource& keys, const policy::ClearanceDirectory* directory)
        : m_keys(&keys), m_directory(directory) {}
    // The directory's values, then the certificate's. Throws what the directory throws, and
    // ssm::Error(HsmUnavailable) when the token cannot be asked.
    policy::DirectoryClearances clearances(const EmailAddress& recipient) const override;

private:
    KeySource* m_keys;
    const policy::ClearanceDirectory* m_directory;
};

}  // namespace ssm::milter
