// The signing keys of one PKCS#11 token, found through their certificates (PRODUCT §5, §2.1).
// Opened once at start-up or reload from the [hsm] configuration; afterwards thread-safe
// and read-only. Certificates on the token are the administrator's and trusted to say which
// address a key signs for; we still parse them defensively and skip what does not parse.
//
// Recovery (best effort, measured with SoftHSM 2.6.1 and pkcs11-helper 1.29):
// - A lost session or login (another login, CKR_SESSION_HANDLE_INVALID, ...): the helper
//   resets the session and logs in again through our PIN hook inside the failing call; our
//   login epochs (helper_key.h) keep that to one login per event instead of a cascade.
// - A token that leaves the slot: operations throw HsmUnavailable (CKR_TOKEN_NOT_PRESENT,
//   451 4.3.0). Modules that notice a returning token in C_GetSlotList are found again by the
//   helper on the next call. SoftHSM does not: it needs C_Finalize/C_Initialize, which only
//   happens when every KeyStore and signer is released (the helper terminates) and a store is
//   opened again. pkcs11h_plugAndPlay is not used: it re-initialises with C_Initialize(NULL)
//   (losing CKF_OS_LOCKING_OK) without taking the session locks. The daemon's
//   milter::TokenKeySource does the reopen: it drops the store on HsmUnavailable and opens a
//   new one for the next message; tests/integration/test_token_outage.sh shows a SoftHSM
//   token folder taken away and brought back under a running milter.
// Decryption (RSA raw, ECDH) runs on a pool of our own sessions (session_pool.h,
// TokenConfig::sessions wide), not through the helper: see token_decrypter.h for why.
// X25519: SoftHSM 2.6.1 has no CKK_EC_MONTGOMERY key type (C_CreateObject answers
// CKR_ATTRIBUTE_VALUE_INVALID) and neither pkcs11-tool nor p11tool imports X25519 keys, so
// X25519 certificates are never offered as decrypters (logged at open).
// Shutdown: release the store and signers after libmilter's threads have stopped, so the
// helper terminates on the main thread.
#pragma once
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/email_address.h"
#include "hsm/helper_key.h"
#include "hsm/pkcs11_handles.h"
#include "hsm/session_pool.h"
#include "hsm/token_config.h"
#include "smime/algorithms.h"
#include "smime/decrypter.h"
#include "smime/signer.h"

namespace ssm::hsm {

struct TokenInfo {
    std::string module;
    std::string label;
    std::string serial;
    std::string manufacturer;
    std::string model;
};

struct Identity {
    Bytes certificate_der;
    // Lower-case rfc822Name SANs (the subject DN's emailAddress when there are none).
    std::vector<std::string> email_addresses;
    smime::KeyType key_type = smime::KeyType::Rsa;  // meaningless when !key_type_supported
    unsigned key_bits = 0;
    bool rsa_pss = false;  // an id-RSASSA-PSS key (CertFacts::rsa_pss), supported or not
    // Such a key signs rsa-pss only, and when its parameters name a hash, with that one alone
    // (CertFacts::rsa_pss_digest; smime::KeyRestriction); it never decrypts (RFC 4055 §1.2).
    std::optional<smime::DigestAlgorithm> rsa_pss_digest;
    std::string label;  // CKA_LABEL of the certificate object
    Bytes id;           // CKA_ID shared by certificate and key
    bool has_private_key = false;
    std::time_t not_after = 0;
    Bytes serial;  // the certificate's serialNumber octets
    // Beyond the basic facts, for `ssmctl hsm list` and selection:
    std::time_t not_before = 0;
    bool key_type_supported = false;
    bool is_ca = false;
    bool key_can_sign = false;
    bool key_can_decrypt = false;
    bool key_can_derive = false;
    bool key_extractable = false;
    std::vector<smime::SignatureScheme> sign_schemes;  // what signer_for can do with it
    // What decrypter_for can do with it: RSA raw decryption (key CKA_DECRYPT, keyUsage
    // keyEncipherment, CKM_RSA_X_509, never an id-RSASSA-PSS key) or ECDH on P-256/P-384 (CKA_DERIVE, keyAgreement,
    // CKM_ECDH1_DERIVE), through our own session pool.
    bool decrypt_usable = false;
};

class KeyStore {
public:
    // Loads the module, finds the token, logs in with the PIN from pin_file and lists the
    // certificates. Throws ssm::Error(Failure::HsmUnavailable) naming the module, token label
    // and PIN file (never the PIN) when any of them is wrong. Call from the main thread.
    static std::unique_ptr<KeyStore> open(const TokenConfig& config);
    ~KeyStore();
    KeyStore(const KeyStore&) = delete;
    KeyStore& operator=(const KeyStore&) = delete;

    const TokenInfo& token() const { return m_info; }
    // Logins the helper had to make again after open() (PIN hook calls): for metrics; a
    // healthy token stays at 0, a recovery after a session loss adds one.
    std::uint64_t relogin_count() const { return m_token->auth->pin_prompts.load(); }
    std::vector<Identity> identities() const;

    // The newest currently valid certificate for this address whose key is on the token and
    // may sign (keyUsage digitalSignature or nonRepudiation); nullptr when there is none.
    // The chain holds the CA certificates on the token above it, root excluded.
    std::shared_ptr<smime::Signer> signer_for(const EmailAddress& address) const;
    std::shared_ptr<smime::Signer> signer_for_certificate(ByteView der) const;

    // Private keys for inbound mail. Validity is not checked: mail encrypted to a certificate
    // that has since expired must still open. nullptr / empty when nothing can decrypt.
    std::shared_ptr<smime::Decrypter> decrypter_for_certificate(ByteView der) const;
    // Every decrypt_usable certificate; match RecipientInfos against their certificates.
    std::vector<std::shared_ptr<smime::Decrypter>> decrypters() const;
    // Convenience: the newest currently valid decrypt_usable certificate for the address.
    std::shared_ptr<smime::Decrypter> decrypter_for(const EmailAddress& address) const;
    // That certificate alone (no decrypter made): what a signature names as the signer's
    // encryption certificate, asked once per signed message.
    std::optional<Bytes> encryption_certificate_for(const EmailAddress& address) const;
    // Private-key operations attempted on our own sessions (sign, decrypt, derive): for tests.
    std::uint64_t token_operations() const;

private:
    struct Entry {
        Identity identity;
        CertificateId helper_id;
    };
    class Key {  // only open() makes one (passkey idiom)
        friend class KeyStore;
        Key() = default;
    };

public:
    explicit KeyStore(Key) {}

private:
    std::shared_ptr<smime::Signer> make_signer(const Entry& entry) const;
    std::vector<Bytes> chain_for(const Entry& entry) const;
    std::shared_ptr<smime::Decrypter> make_decrypter(const Entry& entry) const;
    const Entry* decryption_entry_for(const EmailAddress& address) const;

    std::shared_ptr<TokenContext> m_token;  // first: outlives the helper objects below
    TokenInfo m_info;
    std::vector<Entry> m_entries;  // immutable after open()
    mutable std::mutex m_signers_mutex;
    mutable std::map<Bytes, std::shared_ptr<smime::Signer>> m_signers;  // by certificate DER
    std::shared_ptr<SessionPool> m_pool;  // null when the module cannot be reached directly
    mutable std::map<Bytes, std::shared_ptr<smime::Decrypter>> m_decrypters;  // m_signers_mutex
};

}  // namespace ssm::hsm
