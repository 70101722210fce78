// Bringing keys and certificates into the token (`ssmctl hsm import`, PRODUCT §5): a PKCS#12
// file becomes a non-extractable private key, its public key and certificate under one fresh
// CKA_ID (found by KeyStore through the certificate, like make-token.sh's objects), plus the
// bag's CA certificates; a lone certificate is attached to the key pair it belongs to.
// The files are administrator input but parsed as untrusted (GnuTLS); nothing is written
// before every check passed, and a failed write removes what was created.
#pragma once
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/secure_buffer.h"
#include "hsm/token_writer.h"

namespace ssm::hsm {

struct ImportResult {
    std::string label;
    Bytes id;
    std::string key;  // "rsa-2048", "ec-p256", "ed25519"; empty for a certificate import
    std::vector<std::string> ca_labels;  // CA certificates added from the bag
};

// Throws ssm::Error: PolicyViolation for a file or key we refuse (wrong password, damaged
// file, unsupported key, duplicate key or label), HsmUnavailable when the token refuses.
ImportResult import_pkcs12(TokenWriter& token, ByteView p12, const SecureString& password,
                           const std::string& label);

// A PEM or DER certificate whose private key is on the token: stored with that key's CKA_ID.
ImportResult import_certificate(TokenWriter& token, ByteView file, const std::string& label);

// True when the file looks like a PKCS#12 PFX rather than a certificate (PEM or DER).
bool looks_like_pkcs12(ByteView file);

}  // namespace ssm::hsm
