// The process-wide libpkcs11-helper state: pkcs11h_initialize/terminate, one registered
// provider per module path, and the PIN/token prompt hooks. Inputs are administrator
// configuration (module paths, PIN files); the helper's C callbacks never let exceptions out.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <pkcs11-helper-1.0/pkcs11h-core.h>

#include "base/secure_buffer.h"

namespace ssm::hsm {

// "CKR_PIN_INCORRECT" for known codes, "CKR_0x000000a0" otherwise: for error messages.
std::string rv_name(CK_RV rv);

// What the PIN hook knows about one token. Shared by the KeyStores and signers of the token;
// the library registry only holds weak references, so a token whose stores are gone is
// forgotten with its PIN.
struct TokenAuth {
    std::string label;
    std::string serial;
    // Incremented each time the helper logs in to this token (through the PIN hook or at open).
    // A login closes the helper's previous session, which invalidates the key handles every
    // pkcs11h_certificate_t of the token cached: signers compare epochs and re-create their
    // certificate objects instead of failing once each (TOOLCHAIN: "the failure-reset cascade").
    std::atomic<std::uint64_t> login_epoch{0};
    // How many times the hook had to answer; exposed for tests and metrics.
    std::atomic<std::uint64_t> pin_prompts{0};
};

// One registered pkcs11-helper provider (a loaded module). The initialisation arguments live
// on the heap so their address, which the helper keeps, survives moves of this object.
class Provider {
public:
    Provider(std::string reference, const std::string& module);  // throws ssm::Error
    Provider(Provider&& o) noexcept;
    Provider& operator=(Provider&&) = delete;
    Provider(const Provider&) = delete;
    Provider& operator=(const Provider&) = delete;
    ~Provider();  // pkcs11h_removeProvider

private:
    std::string m_reference;
    std::unique_ptr<CK_C_INITIALIZE_ARGS> m_init_args;
    bool m_registered = false;
};

// pkcs11-helper has global state (pkcs11h_initialize/terminate, hooks), so there is at most
// one Pkcs11Library per process: acquire() returns the live one or makes a new one, and the
// last KeyStore to let go of it terminates the helper. The helper wants initialise, terminate
// and provider changes on the main thread: open KeyStores at start-up or reload, not in
// milter worker threads. Non-movable because the hooks carry its address.
class Pkcs11Library {
public:
    static std::shared_ptr<Pkcs11Library> acquire();  // throws ssm::Error(HsmUnavailable)
    // Only acquire() can make the key (passkey idiom: make_shared without a public constructor).
    class Key {
        friend class Pkcs11Library;
        Key() = default;
    };
    explicit Pkcs11Library(Key);
    ~Pkcs11Library();
    Pkcs11Library(const Pkcs11Library&) = delete;
    Pkcs11Library& operator=(const Pkcs11Library&) = delete;

    // Loads the module once per path, with CKF_OS_LOCKING_OK so the module locks itself.
    void ensure_provider(const std::string& module);

    // Records the PIN (already verified by a login) that the PIN hook answers for the token,
    // with its file's stamp when it was read (RefusedPins::pin_file_stamp).
    std::shared_ptr<TokenAuth> register_token(const std::string& label, const std::string& serial,
                                              SecureString pin, std::int64_t pin_stamp);
    // The live entry of a token, or nullptr.
    std::shared_ptr<TokenAuth> find_token(const std::string& label, const std::string& serial);

private:
    static PKCS11H_BOOL pin_prompt_hook(void* global, void* user, pkcs11h_token_id_t token,
                                        unsigned retry, char* pin, size_t pin_max) noexcept;
    static PKCS11H_BOOL token_prompt_hook(void* global, void* user, pkcs11h_token_id_t token,
                                          unsigned retry) noexcept;
    static void log_hook(void* global, unsigned flags, const char* format, va_list args) noexcept;

    struct PinEntry {
        std::weak_ptr<TokenAuth> auth;
        SecureString pin;
        std::int64_t pin_stamp = 0;
    };
    std::shared_ptr<TokenAuth> find_locked(const std::string& label, const std::string& serial);

    std::mutex m_mutex;  // guards m_providers and m_pins
    std::map<std::string, Provider> m_providers;
    std::vector<PinEntry> m_pins;
};

// A re-login through the PIN hook (a helper call that found the login gone) offers the PIN
// read when the token was opened; if the token's PIN was changed meanwhile, the token refuses
// it, and that try counts towards locking the PIN like one at open. The hook notes what it
// offered in the calling thread (it runs inside the helper call); the caller passes the call's
// answer here: a refusal is remembered (refused_pins.h), so that neither the hook nor a reopen
// with the same PIN file offers that PIN again. Call forget_pin_offer() before the helper call.
void forget_pin_offer() noexcept;
void remember_if_pin_refused(CK_RV rv) noexcept;

}  // namespace ssm::hsm
