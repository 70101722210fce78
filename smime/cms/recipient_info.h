// RecipientInfo writers (RFC 5652 §6.2): KeyTransRecipientInfo for RSA and
// KeyAgreeRecipientInfo for EC/X25519, into a SET OF RecipientInfo of an Asn1Node.
// Inputs: a recipient key read from its (untrusted, already checked) certificate, our CEK.
#pragma once
#include <string>

#include "smime/cms/asn1.h"
#include "smime/cms/envelope.h"
#include "smime/cms/recipient_key.h"
#include "smime/cms/secret_bytes.h"

namespace ssm::smime::cms {

struct WrittenRecipientInfo {
    int version = 0;      // KTRI 0 or 2, KARI 3: the EnvelopedData version follows from it
    bool key_id = false;  // rid by subjectKeyIdentifier / rKeyId (else issuerAndSerialNumber)
};

// Appends one RecipientInfo for `spec` to the SET OF at `field`. A key id asked for and
// absent from the certificate falls back to issuerAndSerialNumber (key_id false).
WrittenRecipientInfo append_recipient_info(Asn1Node& node, const std::string& field, const RecipientSpec& spec,
                                           const RecipientKey& key, const SecretBytes& cek);

}  // namespace ssm::smime::cms
