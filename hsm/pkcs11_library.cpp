// pkcs11-helper initialisation, providers and prompt hooks. The hooks run inside helper
// calls (with the helper's session mutex held): they only read our registry and never call
// back into the helper. PINs are copied into the helper's buffer and never logged.
#include "hsm/pkcs11_library.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>

#include "base/error.h"
#include "base/log.h"
#include "hsm/refused_pins.h"

namespace ssm::hsm {

std::string rv_name(CK_RV rv)
{
    const char* m = pkcs11h_getMessage(rv);
    if (m && std::strncmp(m, "CKR_", 4) == 0) return m;
    char buf[32];
    std::snprintf(buf, sizeof buf, "CKR_0x%08lx", static_cast<unsigned long>(rv));
    return buf;
}

namespace {

[[noreturn]] void fail(const std::string& what, CK_RV rv)
{
    throw Error(Failure::HsmUnavailable, what + ": " + rv_name(rv));
}

std::mutex g_instance_mutex;
std::weak_ptr<Pkcs11Library> g_instance;  // the one live library, if any

// The PIN the hook last offered in this thread (the hook runs in the thread of the helper
// call that logs in), for remember_if_pin_refused.
struct PinOffer {
    std::string token;  // RefusedPins' key: "label/serial"
    SecureString pin;
    std::int64_t stamp = 0;
};
thread_local std::optional<PinOffer> t_pin_offer;

}  // namespace

// ---- Provider ---------------------------------------------------------------------------

Provider::Provider(std::string reference, const std::string& module)
    : m_reference(std::move(reference)), m_init_args(std::make_unique<CK_C_INITIALIZE_ARGS>())
{
    *m_init_args = CK_C_INITIALIZE_ARGS{};
    m_init_args->flags = CKF_OS_LOCKING_OK;
    CK_RV rv = pkcs11h_registerProvider(m_reference.c_str());
    if (rv != CKR_OK) fail("cannot register PKCS#11 module " + module, rv);
    m_registered = true;
    // From here the destructor removes the provider if a later step throws... but a
    // constructor that throws runs no destructor, so undo by hand on each failure.
    auto undo_and_fail = [&](const std::string& what, CK_RV r) {
        pkcs11h_removeProvider(m_reference.c_str());
        m_registered = false;
        fail(what, r);
    };
    rv = pkcs11h_setProviderProperty(m_reference.c_str(), PKCS11H_PROVIDER_PROPERTY_LOCATION,
                                     module.c_str(), module.size() + 1);
    if (rv != CKR_OK) undo_and_fail("cannot set PKCS#11 module location " + module, rv);
    // The helper stores the pointer, not the struct: it must stay valid while registered.
    CK_C_INITIALIZE_ARGS_PTR args = m_init_args.get();
    rv = pkcs11h_setProviderProperty(m_reference.c_str(), PKCS11H_PROVIDER_PROPERTY_INIT_ARGS,
                                     &args, sizeof args);
    if (rv != CKR_OK) undo_and_fail("cannot set PKCS#11 init args for " + module, rv);
    rv = pkcs11h_initializeProvider(m_reference.c_str());
    if (rv != CKR_OK)
        undo_and_fail("cannot load PKCS#11 module " + module +
                          " (missing file, wrong architecture, or C_Initialize failed)",
                      rv);
}

Provider::Provider(Provider&& o) noexcept
    : m_reference(std::move(o.m_reference)),
      m_init_args(std::move(o.m_init_args)),
      m_registered(o.m_registered)
{
    o.m_registered = false;
}

Provider::~Provider()
{
    if (m_registered) pkcs11h_removeProvider(m_reference.c_str());
}

// ---- Pkcs11Library ----------------------------------------------------------------------

std::shared_ptr<Pkcs11Library> Pkcs11Library::acquire()
{
    std::lock_guard lock(g_instance_mutex);
    if (auto live = g_instance.lock()) return live;
    auto lib = std::make_shared<Pkcs11Library>(Key{});
    g_instance = lib;
    return lib;
}

Pkcs11Library::Pkcs11Library(Key)
{
    CK_RV rv = pkcs11h_initialize();
    if (rv != CKR_OK) fail("cannot initialise libpkcs11-helper", rv);
    auto terminate_and_fail = [](const std::string& what, CK_RV r) {
        pkcs11h_terminate();
        fail(what, r);
    };
    if ((rv = pkcs11h_setLogHook(&Pkcs11Library::log_hook, this)) != CKR_OK)
        terminate_and_fail("pkcs11h_setLogHook", rv);
    pkcs11h_setLogLevel(PKCS11H_LOG_WARN);
    if ((rv = pkcs11h_setPINPromptHook(&Pkcs11Library::pin_prompt_hook, this)) != CKR_OK)
        terminate_and_fail("pkcs11h_setPINPromptHook", rv);
    if ((rv = pkcs11h_setTokenPromptHook(&Pkcs11Library::token_prompt_hook, this)) != CKR_OK)
        terminate_and_fail("pkcs11h_setTokenPromptHook", rv);
    // A daemon has no PIN pad: protected authentication would wait forever.
    if ((rv = pkcs11h_setProtectedAuthentication(FALSE)) != CKR_OK)
        terminate_and_fail("pkcs11h_setProtectedAuthentication", rv);
    // One attempt per login: retrying the same wrong PIN only brings a token closer to lock-out.
    if ((rv = pkcs11h_setMaxLoginRetries(1)) != CKR_OK)
        terminate_and_fail("pkcs11h_setMaxLoginRetries", rv);
    if ((rv = pkcs11h_setPINCachePeriod(PKCS11H_PIN_CACHE_INFINITE)) != CKR_OK)
        terminate_and_fail("pkcs11h_setPINCachePeriod", rv);
}

Pkcs11Library::~Pkcs11Library()
{
    // An acquire() racing with the last release waits until the helper is terminated, so it
    // never initialises a second time underneath this one.
    std::lock_guard lock(g_instance_mutex);
    // Providers first (removeProvider needs an initialised helper), then the helper itself.
    m_providers.clear();
    pkcs11h_terminate();
}

void Pkcs11Library::ensure_provider(const std::string& module)
{
    std::lock_guard lock(m_mutex);
    if (m_providers.count(module)) return;
    const std::string reference = "ssm-" + std::to_string(m_providers.size());
    m_providers.emplace(module, Provider(reference, module));
}

std::shared_ptr<TokenAuth> Pkcs11Library::find_locked(const std::string& label,
                                                      const std::string& serial)
{
    for (auto& e : m_pins) {
        auto a = e.auth.lock();
        if (a && a->label == label && (serial.empty() || a->serial == serial)) return a;
    }
    return nullptr;
}

std::shared_ptr<TokenAuth> Pkcs11Library::find_token(const std::string& label,
                                                     const std::string& serial)
{
    std::lock_guard lock(m_mutex);
    return find_locked(label, serial);
}

std::shared_ptr<TokenAuth> Pkcs11Library::register_token(const std::string& label,
                                                         const std::string& serial,
                                                         SecureString pin, std::int64_t pin_stamp)
{
    std::lock_guard lock(m_mutex);
    std::erase_if(m_pins, [](const PinEntry& e) { return e.auth.expired(); });
    for (auto& e : m_pins) {
        auto a = e.auth.lock();
        if (a->label == label && a->serial == serial) {
            e.pin = std::move(pin);  // a reload may bring a new PIN for the same token
            e.pin_stamp = pin_stamp;
            return a;
        }
    }
    auto a = std::make_shared<TokenAuth>();
    a->label = label;
    a->serial = serial;
    m_pins.push_back(PinEntry{a, std::move(pin), pin_stamp});
    return a;
}

PKCS11H_BOOL Pkcs11Library::pin_prompt_hook(void* global, void*, pkcs11h_token_id_t token,
                                            unsigned retry, char* pin, size_t pin_max) noexcept
{
    try {
        auto* self = static_cast<Pkcs11Library*>(global);
        // A second prompt means the PIN we gave was refused: giving it again cannot help.
        if (retry > 0 || !token || !pin || pin_max == 0) return FALSE;
        std::lock_guard lock(self->m_mutex);
        for (auto& e : self->m_pins) {
            auto a = e.auth.lock();
            if (!a || a->label != token->label || a->serial != token->serialNumber) continue;
            const std::string& p = e.pin.value();
            if (p.size() >= pin_max) return FALSE;
            const std::string token_key = a->label + "/" + a->serial;
            if (auto answer = RefusedPins::instance().refusal(token_key, e.pin, e.pin_stamp)) {
                // Refused before (at a re-login or an open with the same PIN file): another try
                // would only bring the token closer to locking it. The caller fails; the token
                // is opened again, and the PIN file read again, at its next use.
                log::warning("hsm_relogin_not_tried", {{"token", a->label}, {"refused", *answer}});
                return FALSE;
            }
            t_pin_offer = PinOffer{token_key, e.pin.clone(), e.pin_stamp};
            std::memcpy(pin, p.c_str(), p.size() + 1);
            a->pin_prompts.fetch_add(1);
            a->login_epoch.fetch_add(1);
            log::notice("hsm_relogin", {{"token", a->label}});
            return TRUE;
        }
        return FALSE;  // a token nobody opened: do not log in
    } catch (...) {
        return FALSE;
    }
}

void forget_pin_offer() noexcept
{
    t_pin_offer.reset();
}

void remember_if_pin_refused(CK_RV rv) noexcept
{
    try {
        if (t_pin_offer && pin_refused(rv))
            RefusedPins::instance().remember(t_pin_offer->token, t_pin_offer->pin, t_pin_offer->stamp,
                                             rv_name(rv));
    } catch (...) {
        // Out of memory: the refusal is not remembered, as before this register existed.
    }
    t_pin_offer.reset();
}

PKCS11H_BOOL Pkcs11Library::token_prompt_hook(void*, void*, pkcs11h_token_id_t token,
                                              unsigned) noexcept
{
    // Nobody can insert a token for us: fail now (temporary failure), retry on a later call.
    try {
        log::warning("hsm_token_absent", {{"token", token ? token->label : ""}});
    } catch (...) {
    }
    return FALSE;
}

void Pkcs11Library::log_hook(void*, unsigned flags, const char* format, va_list args) noexcept
{
    try {
        char buf[512];
        std::vsnprintf(buf, sizeof buf, format, args);
        const auto level = flags <= PKCS11H_LOG_ERROR ? log::Level::Error : log::Level::Warning;
        log::write(level, "pkcs11_helper", {{"message", buf}});
    } catch (...) {
    }
}

}  // namespace ssm::hsm
