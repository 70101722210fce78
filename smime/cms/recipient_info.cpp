// KTRI/KARI encoding; see recipient_info.h. Versions per RFC 5652 §6.2.1/§6.2.2; the KARI
// originator is always originatorKey with a fresh ephemeral key and no ukm (RFC 5753 §3.1.1,
// RFC 8418 §2).
#include "smime/cms/recipient_info.h"

#include "base/error.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/certificate_id.h"
#include "smime/cms/key_agreement.h"
#include "smime/cms/key_transport.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {
namespace {

// The key id to name the recipient by, or null for issuerAndSerialNumber: when the spec asks
// for it and the certificate carries a subjectKeyIdentifier (the only key id a receiver can
// match against its certificate; none is ever derived here).
const Bytes* key_id_for(const RecipientSpec& spec, const RecipientKey& key)
{
    if (!spec.use_subject_key_identifier || !key.subject_key_id || key.subject_key_id->empty()) return nullptr;
    return &*key.subject_key_id;
}

WrittenRecipientInfo write_ktri(Asn1Node& n, const std::string& f, const RecipientSpec& spec,
                                const RecipientKey& key, const SecretBytes& cek)
{
    n.write_text(f, "ktri");
    const std::string k = f + ".ktri";
    const Bytes* key_id = key_id_for(spec, key);
    // RFC 5652 §6.2.1: version 0 with issuerAndSerialNumber, 2 with subjectKeyIdentifier.
    const int version = key_id ? 2 : 0;
    n.write_uint(k + ".version", unsigned(version));
    if (key_id) {
        n.write_text(k + ".rid", "subjectKeyIdentifier");
        n.write_bytes(k + ".rid.subjectKeyIdentifier", *key_id);
    } else {
        n.write_text(k + ".rid", "issuerAndSerialNumber");
        write_issuer_serial(n, k + ".rid.issuerAndSerialNumber", key.issuer_serial);
    }
    if (spec.rsa == RsaKeyTransport::OaepSha256) {
        write_algorithm_id(n, k + ".keyEncryptionAlgorithm",
                           {oid::kRsaesOaep, rsaes_oaep_params(DigestAlgorithm::Sha256)});
        n.write_bytes(k + ".encryptedKey", rsa_oaep_sha256_encrypt(key, cek));
    } else {
        // rsaEncryption with NULL parameters (RFC 3370 §4.2.1).
        write_algorithm_id(n, k + ".keyEncryptionAlgorithm", {oid::kRsaEncryption, der_null()});
        n.write_bytes(k + ".encryptedKey", rsa_pkcs1v15_encrypt(key, cek));
    }
    return {version, key_id != nullptr};
}

WrittenRecipientInfo write_kari(Asn1Node& n, const std::string& f, const RecipientSpec& spec,
                                const RecipientKey& key, const SecretBytes& cek)
{
    const KeyAgreement ka = agree_and_wrap(key, cek);
    n.write_text(f, "kari");
    const std::string k = f + ".kari";
    n.write_uint(k + ".version", 3);  // RFC 5652 §6.2.2: always 3
    n.write_text(k + ".originator", "originatorKey");
    write_algorithm_id(n, k + ".originator.originatorKey.algorithm", ka.originator_algorithm);
    n.write_bits(k + ".originator.originatorKey.publicKey", ka.originator_public_key);
    n.remove(k + ".ukm");
    write_algorithm_id(n, k + ".keyEncryptionAlgorithm", ka.key_encryption_algorithm);
    n.append(k + ".recipientEncryptedKeys");
    const std::string r = k + ".recipientEncryptedKeys.?LAST";
    const Bytes* key_id = key_id_for(spec, key);
    if (key_id) {
        n.write_text(r + ".rid", "rKeyId");
        n.write_bytes(r + ".rid.rKeyId.subjectKeyIdentifier", *key_id);
        n.remove(r + ".rid.rKeyId.date");
        n.remove(r + ".rid.rKeyId.other");
    } else {
        n.write_text(r + ".rid", "issuerAndSerialNumber");
        write_issuer_serial(n, r + ".rid.issuerAndSerialNumber", key.issuer_serial);
    }
    n.write_bytes(r + ".encryptedKey", ka.encrypted_key);
    return {3, key_id != nullptr};  // RFC 5652 §6.2.2: 3 whatever the rid
}

}  // namespace

WrittenRecipientInfo append_recipient_info(Asn1Node& n, const std::string& field, const RecipientSpec& spec,
                                           const RecipientKey& key, const SecretBytes& cek)
{
    n.append(field);
    const std::string f = field + ".?LAST";
    if (key.type == RecipientKeyType::Rsa) return write_ktri(n, f, spec, key, cek);
    return write_kari(n, f, spec, key, cek);
}

}  // namespace ssm::smime::cms
