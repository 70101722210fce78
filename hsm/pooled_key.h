// One private key on a token, used on our own session pool (session_pool.h): the signatures
// of several milter threads run at once, one per pooled session ([hsm] sessions of them),
// instead of queueing on pkcs11-helper's one session lock per token (TOOLCHAIN.md), and a
// failed operation never makes the helper reset its session and log in again. The seam
// helper_key.h names; HelperKey remains for a module the pool cannot reach directly.
// Inputs: digests/DigestInfos (or, for Ed25519, messages) we built.
#pragma once
#include <memory>
#include <string>

#include "hsm/helper_key.h"
#include "hsm/session_pool.h"

namespace ssm::hsm {

class PooledKey final : public KeyBackend {
public:
    // key: the certificate's private key (its CKA_ID and public values, key_match.h).
    PooledKey(std::shared_ptr<SessionPool> pool, KeyMatch key, std::string description);
    Bytes sign(const CK_MECHANISM& mechanism, ByteView input) override;
    const std::string& description() const override { return m_description; }

private:
    std::shared_ptr<SessionPool> m_pool;
    KeyMatch m_key;
    std::string m_description;
};

}  // namespace ssm::hsm
