// PKCS#10 certificate requests signed by a private key inside the token: the key is offered
// to GnuTLS as a gnutls_privkey_t (gnutls_privkey_import_ext4) whose callbacks run C_Sign on
// our own session. Inputs: administrator options (subject, addresses), already checked.
#pragma once
#include <string>
#include <vector>

#include <gnutls/abstract.h>

#include "base/bytes.h"
#include "hsm/token_writer.h"

namespace ssm::hsm {

enum class KeyKind { Rsa, Ecdsa, Ed25519 };

struct CsrRequest {
    std::string subject;              // RFC 4514, e.g. "CN=Alice,O=Acme"
    std::vector<std::string> emails;  // rfc822Name SANs
    KeyKind kind = KeyKind::Rsa;      // keyEncipherment for RSA, keyAgreement for ECDSA keys
    unsigned bits = 2048;
};

// The CSR in PEM. public_key: the pair's public half; key: the private key object.
// Throws ssm::Error(PolicyViolation) for a subject GnuTLS cannot parse, HsmUnavailable when
// the token does not sign.
std::string make_csr(const TokenWriter& token, CK_OBJECT_HANDLE key, gnutls_pubkey_t public_key,
                     const CsrRequest& request);

}  // namespace ssm::hsm
