// Key pairs generated inside the token (`ssmctl hsm keygen`, PRODUCT §5): the private key is
// made by C_GenerateKeyPair as a sensitive, non-extractable token object and never leaves;
// a PKCS#10 request for it is signed by the token (csr.h). Inputs are administrator options,
// checked here (key type, subject, addresses) before anything is written.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "hsm/csr.h"
#include "hsm/token_writer.h"

namespace ssm::hsm {

struct KeySpec {
    std::string name;  // "rsa-2048", ..., "ec-p521", "ed25519"
    KeyKind kind = KeyKind::Rsa;
    unsigned bits = 2048;             // RSA modulus bits, curve size
    const char* curve_oid = nullptr;  // CKA_EC_PARAMS of an ECDSA or EdDSA key (RFC 5480, 8410)
};

// nullopt for an unknown name; the known ones are listed by key_spec_names().
std::optional<KeySpec> parse_key_spec(const std::string& name);
const char* key_spec_names();

struct GeneratedKey {
    Bytes id;
    std::string label;
    std::string csr_pem;
};

// Generates the pair, then the CSR (subject in RFC 4514 form, e-mail addresses as rfc822Name
// SANs, keyUsage and extendedKeyUsage emailProtection). On any failure the pair is destroyed
// again. Throws ssm::Error (PolicyViolation for bad options or a label in use,
// HsmUnavailable when the token refuses).
GeneratedKey generate_key(TokenWriter& token, const KeySpec& spec, const std::string& subject,
                          const std::vector<std::string>& emails, const std::string& label);

}  // namespace ssm::hsm
