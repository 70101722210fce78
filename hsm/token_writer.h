// A read-write session on the configured token for the administrator's tools (`ssmctl hsm
// import`, `ssmctl hsm keygen`): logs in through KeyStore::open (same token, PIN and error
// messages as the milter), lists the token's key and certificate objects with their public
// keys, and creates objects inside a Transaction that destroys them again unless committed,
// so a failure never leaves half an import. Token content is trusted as configuration.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "hsm/key_store.h"
#include "hsm/raw_module.h"
#include "hsm/token_config.h"

namespace ssm::hsm {

// One certificate, public key or private key object on the token.
struct TokenObject {
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    CK_OBJECT_CLASS object_class = CKO_DATA;
    Bytes id;
    std::string label;
    Bytes value;  // certificates: the DER
    // The DER SubjectPublicKeyInfo when the object reveals it (certificates, public keys,
    // RSA private keys); empty otherwise (EC private keys carry no public point).
    Bytes spki;
};

std::string object_kind(CK_OBJECT_CLASS c);  // "certificate", "public key", "private key"

class TokenWriter {
public:
    // Throws ssm::Error(HsmUnavailable) naming module, token and PIN file on failure.
    static std::unique_ptr<TokenWriter> open(const TokenConfig& config);
    ~TokenWriter();
    TokenWriter(const TokenWriter&) = delete;
    TokenWriter& operator=(const TokenWriter&) = delete;

    const TokenInfo& token() const { return m_store->token(); }
    CK_FUNCTION_LIST_PTR functions() const { return m_module->functions(); }
    CK_SESSION_HANDLE session() const { return m_session; }
    std::vector<CK_MECHANISM_TYPE> mechanisms() const { return m_module->mechanisms(m_slot); }

    // Every certificate, public and private key object (a fresh search each call).
    std::vector<TokenObject> objects() const;
    // preferred when no object carries it yet, else a random 20-byte id nobody uses.
    Bytes fresh_id(ByteView preferred) const;
    // A CK_ATTRIBUTE value read back (empty when the token does not reveal it).
    Bytes attribute(CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) const;

    class Key {  // only open() makes one (passkey idiom)
        friend class TokenWriter;
        Key() = default;
    };
    explicit TokenWriter(Key) {}

private:
    std::unique_ptr<KeyStore> m_store;  // first: keeps the helper and its login alive
    std::optional<RawModule> m_module;
    CK_SLOT_ID m_slot = 0;
    CK_SESSION_HANDLE m_session = CK_INVALID_HANDLE;
};

// Objects created on the token; destroyed in reverse order unless commit() was called.
class Transaction {
public:
    explicit Transaction(const TokenWriter& writer) : m_writer(writer) {}
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    // C_CreateObject; throws ssm::Error(HsmUnavailable) with `what` and the CKR name.
    CK_OBJECT_HANDLE create(std::vector<CK_ATTRIBUTE> tmpl, const std::string& what);
    // Records objects made another way (C_GenerateKeyPair).
    void adopt(CK_OBJECT_HANDLE h) { m_created.push_back(h); }
    void commit() noexcept { m_created.clear(); }

private:
    const TokenWriter& m_writer;
    std::vector<CK_OBJECT_HANDLE> m_created;
};

// Every certificate, public and private key object visible to this session.
std::vector<TokenObject> list_objects(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session);
// A CK_ATTRIBUTE value (empty when the token does not reveal it).
Bytes read_attribute(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE h,
                     CK_ATTRIBUTE_TYPE type);
// The DER SubjectPublicKeyInfo of a certificate (empty when it does not parse).
Bytes certificate_spki(ByteView der);
// DER of an OBJECT IDENTIFIER given in dotted form (CKA_EC_PARAMS).
Bytes oid_der(const char* dotted);

}  // namespace ssm::hsm
