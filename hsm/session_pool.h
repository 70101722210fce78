// A small pool of our own PKCS#11 sessions on a token pkcs11-helper has logged in to
// (raw_module.h), so private-key operations of milter threads run in parallel instead of
// queueing on the helper's one session mutex, and so a failed operation never makes the
// helper reset its session and log in again (the cascade TOOLCHAIN describes). Each session
// is used by one thread at a time. Inputs: key ids from the token's own certificates.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "hsm/helper_key.h"
#include "hsm/key_match.h"
#include "hsm/pkcs11_handles.h"
#include "hsm/raw_module.h"

namespace ssm::hsm {

class SessionPool {
public:
    // login_key: the helper's id of any certificate with a private key on the token (copied;
    // may be null), used to make the helper log in again (its PIN hook) when the token forgot
    // the login: pkcs11h_token_ensureAccess does not log in unless certificates are private.
    SessionPool(std::shared_ptr<const TokenContext> token, RawModule module, CK_SLOT_ID slot,
                pkcs11h_certificate_id_t login_key, unsigned size);
    ~SessionPool();
    SessionPool(const SessionPool&) = delete;
    SessionPool& operator=(const SessionPool&) = delete;

    using Operation =
        std::function<CK_RV(CK_FUNCTION_LIST_PTR, CK_SESSION_HANDLE, CK_OBJECT_HANDLE key)>;
    // Runs op with the handle of the certificate's private key (key_match.h: under its CKA_ID,
    // of its type and public values, never another key under that id) on a session no other
    // thread uses meanwhile. When the token says the session, the login or the key handle
    // went stale, or that an earlier use left an operation active, repairs that and runs op
    // again (two different repairs at most: a lost login shows first as a stale key handle,
    // then as no login). Returns the final CK_RV; throws
    // Error(HsmUnavailable) only when no session can be opened. op must leave no operation
    // active on the session when it returns (PKCS#11 ends one on any error but
    // CKR_BUFFER_TOO_SMALL: do not ask for sizes).
    CK_RV run(const KeyMatch& key, const Operation& op);

    // Private-key operations attempted (calls of op): for metrics and tests.
    std::uint64_t operations() const { return m_operations.load(); }
    std::size_t size() const { return m_members.size(); }

private:
    struct Member {
        std::optional<RawSession> session;
        std::map<Bytes, CK_OBJECT_HANDLE> keys;  // by KeyMatch::cache_key, for the login epoch below
        std::uint64_t epoch = 0;
        bool busy = false;
    };
    class Lease;

    CK_RV prepare(Member& m, const KeyMatch& match, CK_OBJECT_HANDLE& key);
    bool repair(Member& m, CK_RV rv);
    CK_RV login_again();

    std::shared_ptr<const TokenContext> m_token;  // first: keeps the helper up until we are gone
    RawModule m_module;
    CK_SLOT_ID m_slot;
    CertificateId m_login_key;
    std::mutex m_mutex;  // guards Member::busy
    std::condition_variable m_released;
    std::mutex m_login_mutex;  // one login_again() at a time
    std::vector<Member> m_members;  // never resized: leases hold references
    std::atomic<std::uint64_t> m_operations{0};
};

}  // namespace ssm::hsm
