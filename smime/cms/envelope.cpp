// EnvelopedData/AuthEnvelopedData encoder: every structure is built by libtasn1 from
// cms.asn with encryptedContent left out; then the encryptedContent [0] IMPLICIT OCTET
// STRING header is spliced in with lengths computed from the content length, so the
// ciphertext can stream between head and tail. Recipient certificates are untrusted.
#include "smime/cms/envelope.h"

#include <algorithm>

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/der_length.h"
#include "smime/cms/oids.h"
#include "smime/cms/recipient_info.h"
#include "smime/cms/recipient_key.h"
#include "smime/cms/signed_attributes.h"

namespace ssm::smime::cms {
namespace {

// The streamed ContentInfo: head, then the ciphertext, then tail (mac for the AEADs).
struct Layout {
    Bytes head;
    Bytes tail;
    std::size_t mac_offset = 0;
    std::uint64_t total = 0;
};

// `inner` is the DER of the (Auth)EnvelopedData without encryptedContent; `eci` names its
// EncryptedContentInfo. Produces ContentInfo head/tail around `enc_len` ciphertext octets.
Layout splice(const Bytes& inner, const char* type, const char* content_type,
              const std::string& eci, std::uint64_t enc_len, bool aead)
{
    // Offsets come from libtasn1 decoding our own encoding (locate needs a decoded node).
    const auto node = Asn1Node::decode(type, inner);
    const auto [e_begin, e_end] = node.locate(inner, eci);
    const DerHeader in_hdr = parse_der_header(inner);
    const DerHeader e_hdr = parse_der_header(ByteView(inner).subspan(e_begin));
    if (in_hdr.header_size + in_hdr.length != inner.size() || e_begin < in_hdr.header_size ||
        e_begin + e_hdr.header_size + e_hdr.length != e_end)
        throw Error(Failure::Internal, "unexpected EnvelopedData layout");

    // encryptedContent [0] IMPLICIT OCTET STRING: primitive, context tag 0 (0x80).
    const std::uint64_t eci_len = checked_add(e_hdr.length, der_tlv_size(enc_len));
    const std::uint64_t inner_len =
        checked_add(in_hdr.length - (e_end - e_begin), der_tlv_size(eci_len));
    const Bytes type_tlv = content_type_value(content_type);
    const std::uint64_t ci_len = checked_add(type_tlv.size(), der_tlv_size(der_tlv_size(inner_len)));

    Layout l;
    auto put = [&l](ByteView b) { l.head.insert(l.head.end(), b.begin(), b.end()); };
    put(der_header(0x30, ci_len));                   // ContentInfo
    put(type_tlv);                                   //   contentType
    put(der_header(0xA0, der_tlv_size(inner_len)));  //   content [0] EXPLICIT
    put(der_header(0x30, inner_len));                //     (Auth)EnvelopedData
    put(ByteView(inner).subspan(in_hdr.header_size, e_begin - in_hdr.header_size));
    put(der_header(0x30, eci_len));                  //       EncryptedContentInfo
    put(ByteView(inner).subspan(e_begin + e_hdr.header_size, std::size_t(e_hdr.length)));
    put(der_header(0x80, enc_len));                  //         encryptedContent header
    l.tail.assign(inner.begin() + std::ptrdiff_t(e_end), inner.end());
    if (aead) {
        const auto [m_begin, m_end] = node.locate(inner, "mac");
        if (m_begin < e_end || m_end - m_begin != 2 + kAeadTagSize)
            throw Error(Failure::Internal, "unexpected AuthEnvelopedData mac layout");
        l.mac_offset = m_end - kAeadTagSize - e_end;
    }
    l.total = checked_add(checked_add(l.head.size(), enc_len), l.tail.size());
    if (l.total != der_tlv_size(ci_len)) throw Error(Failure::Internal, "EnvelopedData length mismatch");
    return l;
}

}  // namespace

EnvelopeEncoder::EnvelopeEncoder(const std::vector<RecipientSpec>& recipients, ContentCipher cipher,
                                 std::uint64_t content_length, ByteSink& out)
    : m_out(out), m_aead(is_aead(cipher))
{
    if (recipients.empty()) throw Error(Failure::Internal, "EnvelopeEncoder needs a recipient");
    const std::uint64_t enc_len = encrypted_length(cipher, content_length);

    SecretBytes cek(content_key_size(cipher));
    random_key_bytes(cek.data(), cek.size());
    Bytes iv(iv_size(cipher));
    random_bytes(iv.data(), iv.size());

    const char* type = m_aead ? "AuthEnvelopedData" : "EnvelopedData";
    const std::string eci = m_aead ? "authEncryptedContentInfo" : "encryptedContentInfo";
    auto node = Asn1Node::create(type);
    node.remove("originatorInfo");
    bool all_version_0 = true;
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        const RecipientSpec& spec = recipients[i];
        const RecipientKey key = recipient_key_of(spec.certificate_der);
        const WrittenRecipientInfo written = append_recipient_info(node, "recipientInfos", spec, key, cek);
        if (written.version != 0) all_version_0 = false;
        if (spec.use_subject_key_identifier && !written.key_id) m_issuer_serial_fallbacks.push_back(i);
        const std::string name = key_management_name(key.type, spec.rsa == RsaKeyTransport::OaepSha256);
        if (std::find(m_key_management.begin(), m_key_management.end(), name) == m_key_management.end())
            m_key_management.push_back(name);
    }
    // RFC 5652 §6.1: no originatorInfo, no unprotectedAttrs, no pwri/ori here, so 0 when
    // every RecipientInfo is version 0, else 2. RFC 5083 §2.1: AuthEnvelopedData is always 0.
    node.write_uint("version", m_aead || all_version_0 ? 0 : 2);
    node.write_oid(eci + ".contentType", oid::kData);
    write_algorithm_id(node, eci + ".contentEncryptionAlgorithm",
                       content_encryption_algorithm_id(cipher, iv));
    node.remove(eci + ".encryptedContent");
    if (m_aead) {
        node.remove("authAttrs");
        node.write_bytes("mac", Bytes(kAeadTagSize, 0));  // placeholder, the tag replaces it
        node.remove("unauthAttrs");
    } else {
        node.remove("unprotectedAttrs");
    }
    const Bytes inner = node.encode();
    Layout l = splice(inner, type, m_aead ? oid::kAuthEnvelopedData : oid::kEnvelopedData, eci,
                      enc_len, m_aead);

    // The cipher copies the key; after this the CEK exists only inside GnuTLS's handle (or
    // the nettle context of ChaCha20-Poly1305).
    m_encryptor = std::make_unique<ContentEncryptor>(cipher, cek, iv, content_length, m_out);
    m_tail = std::move(l.tail);
    m_mac_offset = l.mac_offset;
    m_total_size = l.total;
    m_out.write(l.head);
}

EnvelopeEncoder::~EnvelopeEncoder() = default;

ByteSink& EnvelopeEncoder::plaintext()
{
    if (m_finished) throw Error(Failure::Internal, "EnvelopeEncoder already finished");
    return *m_encryptor;
}

void EnvelopeEncoder::finish()
{
    if (m_finished) throw Error(Failure::Internal, "EnvelopeEncoder::finish called twice");
    const Bytes tag = m_encryptor->finish();
    m_finished = true;
    m_encryptor.reset();  // deinit wipes the key schedule now, not at destruction
    if (m_aead) {
        if (tag.size() != kAeadTagSize || m_mac_offset + kAeadTagSize > m_tail.size())
            throw Error(Failure::Internal, "AEAD tag does not fit the mac field");
        std::copy(tag.begin(), tag.end(), m_tail.begin() + std::ptrdiff_t(m_mac_offset));
    }
    m_out.write(m_tail);
}

}  // namespace ssm::smime::cms
