// Our own sessions on a module pkcs11-helper has loaded (see raw_module.h). Values read
// from the token are trusted as much as the token itself; text fields are bounded copies.
#include "hsm/raw_module.h"

#include <dlfcn.h>

#include <utility>

#include "base/error.h"
#include "hsm/pkcs11_library.h"
#include "hsm/token_config.h"

namespace ssm::hsm {

std::string fixed_field(const unsigned char* text, std::size_t size)
{
    std::string s(reinterpret_cast<const char*>(text), size);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
    return s;
}

RawModule RawModule::attach(const std::string& path)
{
    // RTLD_NOLOAD: only the copy the helper loaded, never a second initialisation.
    void* dl = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (!dl) throw Error(Failure::HsmUnavailable, "PKCS#11 module " + path + " is not loaded");
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(dl, "C_GetFunctionList"));
    CK_FUNCTION_LIST_PTR f = nullptr;
    CK_RV rv = get_list ? get_list(&f) : CKR_FUNCTION_NOT_SUPPORTED;
    if (rv != CKR_OK || !f) {
        dlclose(dl);
        throw Error(Failure::HsmUnavailable,
                    "C_GetFunctionList failed for " + path + ": " + rv_name(rv));
    }
    return RawModule(dl, f);
}

RawModule::RawModule(RawModule&& o) noexcept
    : m_dl(std::exchange(o.m_dl, nullptr)), m_functions(std::exchange(o.m_functions, nullptr))
{
}

RawModule& RawModule::operator=(RawModule&& o) noexcept
{
    if (this != &o) {
        if (m_dl) dlclose(m_dl);
        m_dl = std::exchange(o.m_dl, nullptr);
        m_functions = std::exchange(o.m_functions, nullptr);
    }
    return *this;
}

RawModule::~RawModule()
{
    if (m_dl) dlclose(m_dl);
}

std::optional<CK_SLOT_ID> RawModule::find_slot(const std::string& label,
                                               const std::string& serial) const
{
    CK_ULONG count = 0;
    if (m_functions->C_GetSlotList(CK_TRUE, nullptr, &count) != CKR_OK) return std::nullopt;
    std::vector<CK_SLOT_ID> slots(count);
    if (m_functions->C_GetSlotList(CK_TRUE, slots.data(), &count) != CKR_OK) return std::nullopt;
    slots.resize(count);
    for (CK_SLOT_ID slot : slots) {
        CK_TOKEN_INFO info{};
        if (m_functions->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
        if (token_matches(label, serial, fixed_field(info.label, sizeof info.label),
                          fixed_field(info.serialNumber, sizeof info.serialNumber)))
            return slot;
    }
    return std::nullopt;
}

std::vector<CK_MECHANISM_TYPE> RawModule::mechanisms(CK_SLOT_ID slot) const
{
    CK_ULONG count = 0;
    if (m_functions->C_GetMechanismList(slot, nullptr, &count) != CKR_OK) return {};
    std::vector<CK_MECHANISM_TYPE> out(count);
    if (m_functions->C_GetMechanismList(slot, out.data(), &count) != CKR_OK) return {};
    out.resize(count);
    return out;
}

RawSession::RawSession(const RawModule& module, CK_SLOT_ID slot) : m_functions(module.functions())
{
    CK_RV rv = m_functions->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &m_session);
    if (rv != CKR_OK) {
        m_session = CK_INVALID_HANDLE;
        throw Error(Failure::HsmUnavailable, "C_OpenSession failed: " + rv_name(rv));
    }
}

RawSession::RawSession(RawSession&& o) noexcept
    : m_functions(o.m_functions), m_session(std::exchange(o.m_session, CK_INVALID_HANDLE))
{
}

RawSession::~RawSession()
{
    if (m_session != CK_INVALID_HANDLE) m_functions->C_CloseSession(m_session);
}

namespace {

// Finds at most one object; CK_INVALID_HANDLE when there is none.
CK_OBJECT_HANDLE find_one(const RawSession& s, CK_ATTRIBUTE* tmpl, CK_ULONG n)
{
    auto f = s.functions();
    if (f->C_FindObjectsInit(s.handle(), tmpl, n) != CKR_OK) return CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG found = 0;
    if (f->C_FindObjects(s.handle(), &h, 1, &found) != CKR_OK || found == 0) h = CK_INVALID_HANDLE;
    f->C_FindObjectsFinal(s.handle());
    return h;
}

// Reads one CK_BBOOL attribute; returns fallback when the token does not answer.
bool read_bool(const RawSession& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, bool fallback)
{
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE a{type, &v, sizeof v};
    if (s.functions()->C_GetAttributeValue(s.handle(), h, &a, 1) != CKR_OK) return fallback;
    return v == CK_TRUE;
}

}  // namespace

PrivateKeyFacts private_key_facts(const RawSession& session, const KeyMatch& key)
{
    PrivateKeyFacts facts;
    const KeyLookup found = find_private_key(session.functions(), session.handle(), key);
    facts.other_keys = found.others;
    facts.chosen_by = found.chosen_by;
    const CK_OBJECT_HANDLE h = found.handle;
    if (h == CK_INVALID_HANDLE) return facts;
    facts.present = true;
    facts.can_sign = read_bool(session, h, CKA_SIGN, false);
    facts.can_decrypt = read_bool(session, h, CKA_DECRYPT, false);
    facts.can_derive = read_bool(session, h, CKA_DERIVE, false);
    facts.extractable = read_bool(session, h, CKA_EXTRACTABLE, false);
    facts.sensitive = read_bool(session, h, CKA_SENSITIVE, true);
    facts.always_authenticate = read_bool(session, h, CKA_ALWAYS_AUTHENTICATE, false);
    return facts;
}

}  // namespace ssm::hsm

namespace ssm::hsm {

std::string certificate_label(const RawSession& session, ByteView id, ByteView der)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_ID, const_cast<std::uint8_t*>(id.data()), id.size()},
        {CKA_VALUE, const_cast<std::uint8_t*>(der.data()), der.size()},
    };
    const CK_OBJECT_HANDLE h = find_one(session, tmpl, 3);
    if (h == CK_INVALID_HANDLE) return {};
    CK_ATTRIBUTE a{CKA_LABEL, nullptr, 0};
    auto f = session.functions();
    if (f->C_GetAttributeValue(session.handle(), h, &a, 1) != CKR_OK) return {};
    if (a.ulValueLen == 0 || a.ulValueLen > 1024) return {};  // CK_UNAVAILABLE_INFORMATION too
    std::string label(a.ulValueLen, '\0');
    a.pValue = label.data();
    if (f->C_GetAttributeValue(session.handle(), h, &a, 1) != CKR_OK) return {};
    label.resize(a.ulValueLen);
    return label;
}

}  // namespace ssm::hsm
