// RSA key transport of a content-encryption key (KeyTransRecipientInfo.encryptedKey):
// PKCS#1 v1.5 through GnuTLS, and RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017 §7.1,
// RFC 4055), written here on nettle's MGF1 and GMP because neither GnuTLS 3.7 nor nettle
// 3.8 offers OAEP. Inputs: a recipient key already read from its certificate, our own CEK.
#pragma once
#include "base/bytes.h"
#include "smime/cms/recipient_key.h"
#include "smime/cms/secret_bytes.h"

namespace ssm::smime::cms {

Bytes rsa_pkcs1v15_encrypt(const RecipientKey& key, const SecretBytes& message);
// `label` is empty in CMS (pSourceFunc pSpecified with an empty string, the default).
Bytes rsa_oaep_sha256_encrypt(const RecipientKey& key, const SecretBytes& message);

}  // namespace ssm::smime::cms
