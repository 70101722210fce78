// One private key on a token, reached through pkcs11-helper: owns the pkcs11h_certificate_t
// and runs raw C_Sign operations under the helper's per-token session lock. KeyBackend is the
// seam: PooledKey (pooled_key.h) signs on our own sessions instead and is used whenever the
// module can be reached directly; this class remains for when it cannot. Inputs:
// digests/DigestInfos we built.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "hsm/pkcs11_handles.h"
#include "hsm/pkcs11_library.h"

namespace ssm::hsm {

// Raw private-key operations with a PKCS#11 mechanism. Implementations are thread-safe and
// throw ssm::Error(Failure::HsmUnavailable) naming the CKR code on failure.
class KeyBackend {
public:
    virtual ~KeyBackend() = default;
    virtual Bytes sign(const CK_MECHANISM& mechanism, ByteView input) = 0;
    virtual const std::string& description() const = 0;  // "key 'alice' on token 'x'"
};

// State shared by every key of one token: keeps the helper (and the PIN registry entry)
// alive as long as any signer of the token exists.
struct TokenContext {
    std::shared_ptr<Pkcs11Library> library;
    std::shared_ptr<TokenAuth> auth;
    std::string label;
};

class HelperKey final : public KeyBackend {
public:
    // id: a certificate id from enumeration (duplicated here).
    HelperKey(std::shared_ptr<const TokenContext> token, pkcs11h_certificate_id_t id,
              std::string key_label);
    Bytes sign(const CK_MECHANISM& mechanism, ByteView input) override;
    const std::string& description() const override { return m_description; }

private:
    pkcs11h_certificate_t current_certificate();  // m_mutex held

    std::shared_ptr<const TokenContext> m_token;
    CertificateId m_id;
    std::string m_description;
    std::mutex m_mutex;                    // guards m_certificate and m_epoch
    Certificate m_certificate;             // re-created after another login to the token
    std::optional<std::uint64_t> m_epoch;  // login epoch m_certificate belongs to
};

}  // namespace ssm::hsm
