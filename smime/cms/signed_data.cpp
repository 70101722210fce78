// SignedData encoder: builds every structure with libtasn1 (cms.asn) and, for encapsulated
// content, splices the eContent header in with computed 64-bit lengths so the content can
// be streamed. Inputs are trusted (our options, our token's certificates).
#include "smime/cms/signed_data.h"

#include <algorithm>
#include <mutex>

#include "base/error.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/asn1.h"
#include "smime/cms/certificate_id.h"
#include "smime/cms/der_length.h"
#include "smime/cms/digest.h"
#include "smime/cms/signed_attributes.h"

namespace ssm::smime {

// Here rather than in signer.h: it needs the CMS encoders, and only users of this encoder
// call it. A failure (unparsable certificate) throws and leaves it unset, so the next
// message tries again and fails the same way. (A mutex, not std::call_once: a throwing
// call_once callable is not portable with GCC 12's libstdc++.) Once set, m_facts never
// changes, so the reference stays valid after the lock is released.
const SignerFacts& Signer::facts() const
{
    std::lock_guard lock(m_facts_mutex);
    if (!m_facts) {
        const Bytes& cert = certificate_der();
        cms::IssuerSerial id = cms::issuer_serial_of(cert);
        m_facts = std::make_unique<const SignerFacts>(SignerFacts{
            std::move(id.issuer_der), std::move(id.serial), cms::signing_certificate_v2_value(cert)});
    }
    return *m_facts;
}

}  // namespace ssm::smime

namespace ssm::smime::cms {
namespace {

void check_options(const Signer& signer, const SignOptions& o, ByteView content_digest)
{
    if (key_type_for(o.scheme) != signer.key_type())
        throw Error(Failure::Internal, "signature scheme does not fit the signer's key type");
    if (o.scheme == SignatureScheme::Ed25519 && o.digest != DigestAlgorithm::Sha512)
        throw Error(Failure::Internal, "Ed25519 in CMS requires SHA-512 (RFC 8419 §3.1)");
    if (content_digest.size() != digest_size(o.digest))
        throw Error(Failure::Internal, "content digest length does not match the digest algorithm");
    if (o.content_type_oid.empty()) throw Error(Failure::Internal, "empty content type");
}

std::vector<Attribute> signed_attributes(const Signer& signer, const SignOptions& o,
                                         ByteView content_digest)
{
    const Bytes& cert = signer.certificate_der();
    // The same for every message: encoded once per process.
    static const Bytes capabilities = smime_capabilities_value();
    std::vector<Attribute> attrs = {
        {oid::kContentType, {content_type_value(o.content_type_oid)}},
        {oid::kSigningTime, {signing_time_value(o.signing_time)}},
        {oid::kMessageDigest, {message_digest_value(content_digest)}},
        {oid::kSmimeCapabilities, {capabilities}},
        {oid::kSigningCertificateV2, {signer.facts().signing_certificate_v2}},
    };
    // Microsoft's attribute beside RFC 8551's, as NSS (Thunderbird) signs: Outlook looks for it.
    if (o.encryption_certificate_der && !same_certificate(*o.encryption_certificate_der, cert)) {
        attrs.push_back({oid::kEncrypKeyPref,
                         {encryption_key_preference_value(*o.encryption_certificate_der)}});
        attrs.push_back({oid::kMicrosoftEncrypKeyPref,
                         {microsoft_encryption_key_preference_value(*o.encryption_certificate_der)}});
    }
    for (const auto& extra : o.extra_signed_attributes) {
        // An attribute type may appear once in signedAttrs (RFC 5652 §5.3).
        const std::string& type = extra.first;
        if (std::any_of(attrs.begin(), attrs.end(), [&](const Attribute& a) { return a.oid == type; }))
            throw Error(Failure::Internal, "signed attribute given twice: " + type);
        attrs.push_back({type, {extra.second}});
    }
    return attrs;
}

}  // namespace

SignedDataParts encode_signed_data(Signer& signer, const SignOptions& o, ByteView content_digest,
                                   std::optional<std::uint64_t> encapsulated_length)
{
    check_options(signer, o, content_digest);
    const Bytes& cert = signer.certificate_der();

    auto sd = Asn1Node::create("SignedData");
    // RFC 5652 §5.1: version 3 when eContentType is not id-data, else 1 (we use only
    // issuerAndSerialNumber and X.509 certificates).
    sd.write_uint("version", o.content_type_oid == oid::kData ? 1 : 3);
    sd.append("digestAlgorithms");
    sd.write_bytes("digestAlgorithms.?LAST", encode_algorithm_id(digest_algorithm_id(o.digest)));
    sd.write_oid("encapContentInfo.eContentType", o.content_type_oid);
    sd.remove("encapContentInfo.eContent");  // spliced in below when encapsulated
    if (o.include_chain) {
        sd.append("certificates");
        sd.write_bytes("certificates.?LAST", cert);
        for (const auto& c : signer.chain_der()) {
            sd.append("certificates");
            sd.write_bytes("certificates.?LAST", c);
        }
        // The encryption certificate sMIMEEncryptionKeyPreference names: a recipient has it
        // only from here (RFC 8551 §2.5.3).
        if (o.encryption_certificate_der && !same_certificate(*o.encryption_certificate_der, cert)) {
            sd.append("certificates");
            sd.write_bytes("certificates.?LAST", *o.encryption_certificate_der);
        }
    } else {
        sd.remove("certificates");
    }
    sd.remove("crls");

    sd.append("signerInfos");
    const std::string si = "signerInfos.?1";
    sd.write_uint(si + ".version", 1);  // issuerAndSerialNumber: the widest interop
    sd.write_text(si + ".sid", "issuerAndSerialNumber");
    const SignerFacts& facts = signer.facts();
    write_issuer_serial(sd, si + ".sid.issuerAndSerialNumber", {facts.issuer_der, facts.serial});
    write_algorithm_id(sd, si + ".digestAlgorithm", digest_algorithm_id(o.digest));
    write_attributes(sd, si + ".signedAttrs", signed_attributes(signer, o, content_digest));
    write_algorithm_id(sd, si + ".signatureAlgorithm", signature_algorithm_id(o.scheme, o.digest));
    sd.remove(si + ".unsignedAttrs");

    // RFC 5652 §5.4: the signature covers the DER of the attributes with the SET OF tag,
    // not the [0] IMPLICIT tag they carry in SignerInfo. Encoding the very element we send
    // (then retagging) guarantees that signed and sent bytes are the same.
    Bytes to_sign = sd.encode(si + ".signedAttrs");
    if (to_sign.empty() || to_sign[0] != 0xA0)
        throw Error(Failure::Internal, "signedAttrs did not encode as [0]");
    to_sign[0] = 0x31;

    Bytes signature = o.scheme == SignatureScheme::Ed25519
                          ? signer.sign_message(o.scheme, to_sign)
                          : signer.sign_digest(o.scheme, o.digest, digest_of(o.digest, to_sign));
    if (signature.empty()) throw Error(Failure::Internal, "signer returned an empty signature");
    sd.write_bytes(si + ".signature", signature);

    auto ci = Asn1Node::create("ContentInfo");
    ci.write_oid("contentType", oid::kSignedData);
    ci.write_bytes("content", sd.encode());
    Bytes ci_der = ci.encode();
    SignedDataParts parts = encapsulated_length ? splice_encapsulated(ci_der, *encapsulated_length)
                                                : SignedDataParts{std::move(ci_der), {}, {}, {}};
    parts.signed_attributes_der = std::move(to_sign);
    parts.signature = std::move(signature);
    return parts;
}

SignedDataParts splice_encapsulated(ByteView ci_der, std::uint64_t n)
{
    // Locate the pieces with libtasn1; only the lengths that depend on n are computed.
    const auto ci = Asn1Node::decode("ContentInfo", ci_der);
    if (ci.read_oid("contentType") != oid::kSignedData)
        throw Error(Failure::Internal, "splice_encapsulated needs a SignedData");
    const Bytes sd_der = ci.read_bytes("content");
    const auto sd = Asn1Node::decode("SignedData", sd_der);
    if (sd.has("encapContentInfo.eContent") && sd.read_optional("encapContentInfo.eContent"))
        throw Error(Failure::Internal, "SignedData already has eContent");
    const auto [e_begin, e_end] = sd.locate(sd_der, "encapContentInfo");
    const DerHeader sd_hdr = parse_der_header(sd_der);
    const DerHeader e_hdr = parse_der_header(ByteView(sd_der).subspan(e_begin));
    if (sd_hdr.header_size + sd_hdr.length != sd_der.size() || e_begin < sd_hdr.header_size ||
        e_begin + e_hdr.header_size + e_hdr.length != e_end)
        throw Error(Failure::Internal, "unexpected SignedData layout");
    const ByteView type_tlv = ByteView(sd_der).subspan(e_begin + e_hdr.header_size, e_hdr.length);

    // eContent [0] EXPLICIT OCTET STRING (primitive, definite: the DER form).
    const std::uint64_t octets_tlv = der_tlv_size(n);
    const std::uint64_t explicit_tlv = der_tlv_size(octets_tlv);
    const std::uint64_t encap_len = checked_add(type_tlv.size(), explicit_tlv);
    const std::uint64_t old_encap_tlv = e_end - e_begin;
    const std::uint64_t sd_len = checked_add(sd_hdr.length - old_encap_tlv, der_tlv_size(encap_len));
    const Bytes outer_type = content_type_value(oid::kSignedData);
    const std::uint64_t ci_len = checked_add(outer_type.size(), der_tlv_size(der_tlv_size(sd_len)));

    SignedDataParts out;
    auto put = [&out](ByteView b) { out.head.insert(out.head.end(), b.begin(), b.end()); };
    put(der_header(0x30, ci_len));                      // ContentInfo
    put(outer_type);                                    //   contentType
    put(der_header(0xA0, der_tlv_size(sd_len)));        //   content [0] EXPLICIT
    put(der_header(0x30, sd_len));                      //     SignedData
    put(ByteView(sd_der).subspan(sd_hdr.header_size, e_begin - sd_hdr.header_size));
    put(der_header(0x30, encap_len));                   //       encapContentInfo
    put(type_tlv);                                      //         eContentType
    put(der_header(0xA0, octets_tlv));                  //         eContent [0] EXPLICIT
    put(der_header(0x04, n));                           //           OCTET STRING header
    out.tail.assign(sd_der.begin() + std::ptrdiff_t(e_end), sd_der.end());
    return out;
}

}  // namespace ssm::smime::cms
