// The "own session" route into a PKCS#11 module already loaded and initialised by
// pkcs11-helper: dlopen(RTLD_NOLOAD) gives the same module, C_GetFunctionList its functions,
// and sessions we open share the helper's login. Used for what the helper has no API for
// (key attributes such as CKA_EXTRACTABLE, mechanism lists) and, later, for a session pool.
// Never C_Finalize here: the helper owns the module's initialisation.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <pkcs11-helper-1.0/pkcs11h-core.h>

#include "base/bytes.h"
#include "hsm/key_match.h"

namespace ssm::hsm {

class RawModule {
public:
    // Throws ssm::Error(HsmUnavailable) when the module is not loaded in this process.
    static RawModule attach(const std::string& path);
    RawModule(RawModule&& o) noexcept;
    RawModule& operator=(RawModule&& o) noexcept;
    RawModule(const RawModule&) = delete;
    RawModule& operator=(const RawModule&) = delete;
    ~RawModule();  // dlclose only drops our reference

    CK_FUNCTION_LIST_PTR functions() const noexcept { return m_functions; }
    // The slot holding the token with this label and serial (each only when not empty).
    std::optional<CK_SLOT_ID> find_slot(const std::string& label, const std::string& serial) const;
    // Mechanisms the token supports (empty on error: this is advisory information).
    std::vector<CK_MECHANISM_TYPE> mechanisms(CK_SLOT_ID slot) const;

private:
    RawModule(void* dl, CK_FUNCTION_LIST_PTR f) noexcept : m_dl(dl), m_functions(f) {}
    void* m_dl = nullptr;
    CK_FUNCTION_LIST_PTR m_functions = nullptr;
};

// A read-only session of our own; it is logged in whenever the helper's session is.
class RawSession {
public:
    RawSession(const RawModule& module, CK_SLOT_ID slot);  // throws ssm::Error(HsmUnavailable)
    RawSession(RawSession&& o) noexcept;
    RawSession& operator=(RawSession&&) = delete;
    RawSession(const RawSession&) = delete;
    RawSession& operator=(const RawSession&) = delete;
    ~RawSession();

    CK_SESSION_HANDLE handle() const noexcept { return m_session; }
    CK_FUNCTION_LIST_PTR functions() const noexcept { return m_functions; }

private:
    CK_FUNCTION_LIST_PTR m_functions;
    CK_SESSION_HANDLE m_session = CK_INVALID_HANDLE;
};

// What the token says about the private key of a certificate (key_match.h).
struct PrivateKeyFacts {
    bool present = false;
    unsigned other_keys = 0;  // other private keys under the certificate's CKA_ID
    std::string chosen_by;    // KeyLookup::chosen_by: how the key was told apart from those
    bool can_sign = false;
    bool can_decrypt = false;
    bool can_derive = false;
    bool extractable = false;  // CKA_EXTRACTABLE: the key can leave the token wrapped
    bool sensitive = true;     // CKA_SENSITIVE false: the key can leave in clear
    bool always_authenticate = false;
};

// Best effort: attributes the token refuses to reveal keep their defaults.
PrivateKeyFacts private_key_facts(const RawSession& session, const KeyMatch& key);

// Trims the blank padding of CK_TOKEN_INFO / CK_INFO fixed-size text fields.
std::string fixed_field(const unsigned char* text, std::size_t size);

}  // namespace ssm::hsm

namespace ssm::hsm {
// CKA_LABEL of the certificate object with this CKA_ID and DER value ("" when unknown).
std::string certificate_label(const RawSession& session, ByteView id, ByteView der);
}  // namespace ssm::hsm
