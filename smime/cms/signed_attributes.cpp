// Signed attribute values and the Attribute list codec; see signed_attributes.h.
#include "smime/cms/signed_attributes.h"

#include <cstdio>

#include "base/error.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/certificate_id.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {

Bytes content_type_value(std::string_view content_type_oid)
{
    auto n = Asn1Node::create("ContentType");
    n.write_oid("", content_type_oid);
    return n.encode();
}

Bytes signing_time_value(std::time_t t)
{
    std::tm tm{};
    if (!gmtime_r(&t, &tm)) throw Error(Failure::Internal, "signing time out of range");
    const int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) throw Error(Failure::Internal, "signing time out of range");
    char buf[32];
    auto n = Asn1Node::create("Time");
    if (year >= 1950 && year < 2050) {
        std::snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        n.write_text("", "utcTime");
        n.write_text("utcTime", buf);
    } else {
        std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        n.write_text("", "generalTime");
        n.write_text("generalTime", buf);
    }
    return n.encode();
}

Bytes message_digest_value(ByteView digest)
{
    auto n = Asn1Node::create("MessageDigest");
    n.write_bytes("", digest);
    return n.encode();
}

Bytes smime_capabilities_value()
{
    struct Cap {
        const char* oid;
        std::optional<Bytes> params;
    };
    // Content encryption first (strongest first), then key transport, then signatures.
    // RFC 8551 §2.5.2: capabilities are listed in order of preference; parameters absent
    // where the algorithm has no variant the peer must know about.
    const std::vector<Cap> caps = {
        {oid::kAes256Gcm, std::nullopt},
        {oid::kAes128Gcm, std::nullopt},
        {oid::kChaCha20Poly1305, std::nullopt},  // RFC 8103 §4: parameters absent
        {oid::kAes256Cbc, std::nullopt},
        {oid::kAes128Cbc, std::nullopt},
        {oid::kRsaesOaep, rsaes_oaep_params(DigestAlgorithm::Sha256)},
        {oid::kRsaEncryption, std::nullopt},
        {oid::kEcdsaSha256, std::nullopt},
        {oid::kEcdsaSha384, std::nullopt},
        {oid::kEcdsaSha512, std::nullopt},
        {oid::kRsassaPss, rsassa_pss_params(DigestAlgorithm::Sha256)},
        {oid::kSha256WithRsa, std::nullopt},
        {oid::kSha384WithRsa, std::nullopt},
        {oid::kSha512WithRsa, std::nullopt},
        {oid::kEd25519, std::nullopt},
    };
    auto n = Asn1Node::create("SMIMECapabilities");
    for (const auto& c : caps) {
        n.append("");
        n.write_oid("?LAST.capabilityID", c.oid);
        if (c.params)
            n.write_bytes("?LAST.parameters", *c.params);
        else
            n.remove("?LAST.parameters");
    }
    return n.encode();
}

Bytes signing_certificate_v2_value(ByteView cert_der)
{
    const IssuerSerial id = issuer_serial_of(cert_der);
    auto n = Asn1Node::create("SigningCertificateV2");
    n.append("certs");
    n.remove("certs.?LAST.hashAlgorithm");  // DEFAULT id-sha256
    n.write_bytes("certs.?LAST.certHash", digest_of(DigestAlgorithm::Sha256, cert_der));
    n.append("certs.?LAST.issuerSerial.issuer");
    n.write_text("certs.?LAST.issuerSerial.issuer.?LAST", "directoryName");
    n.write_bytes("certs.?LAST.issuerSerial.issuer.?LAST.directoryName", id.issuer_der);
    n.write_bytes("certs.?LAST.issuerSerial.serialNumber", id.serial);
    n.remove("policies");
    return n.encode();
}

Bytes encryption_key_preference_value(ByteView cert_der)
{
    auto n = Asn1Node::create("SMIMEEncryptionKeyPreference");
    n.write_text("", "issuerAndSerialNumber");
    write_issuer_serial(n, "issuerAndSerialNumber", issuer_serial_of(cert_der));
    return n.encode();
}

namespace {

// The certificate among `certs` with that issuer and serial, or (by_key_id) that
// subjectKeyIdentifier.
std::optional<Bytes> certificate_named(const std::optional<IssuerSerial>& by_serial,
                                       const std::optional<Bytes>& by_key_id, std::span<const Bytes> certs)
{
    if (!by_serial && (!by_key_id || by_key_id->empty())) return std::nullopt;  // an empty id would match a certificate without one
    for (const Bytes& der : certs) {
        try {
            if (by_serial ? issuer_serial_of(der) == *by_serial : subject_key_id_of(der) == *by_key_id) return der;
        } catch (const Error&) {
            continue;  // a certificate that does not parse names nothing
        }
    }
    return std::nullopt;
}

}  // namespace

Bytes microsoft_encryption_key_preference_value(ByteView cert_der)
{
    auto n = Asn1Node::create("IssuerAndSerialNumber");
    write_issuer_serial(n, "", issuer_serial_of(cert_der));
    return n.encode();
}

std::optional<Bytes> preferred_encryption_certificate(ByteView value, std::span<const Bytes> certs) noexcept
{
    try {
        const auto n = Asn1Node::decode("SMIMEEncryptionKeyPreference", value);
        const std::string form = n.read_text("");
        if (form == "issuerAndSerialNumber")
            return certificate_named(read_issuer_serial(n, "issuerAndSerialNumber"), std::nullopt, certs);
        if (form == "receipentKeyId")
            return certificate_named(std::nullopt, n.read_bytes("receipentKeyId.subjectKeyIdentifier"), certs);
        if (form == "subjectAltKeyIdentifier")
            return certificate_named(std::nullopt, n.read_bytes("subjectAltKeyIdentifier"), certs);
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

std::optional<Bytes> microsoft_preferred_encryption_certificate(ByteView value,
                                                                std::span<const Bytes> certs) noexcept
{
    try {
        const auto n = Asn1Node::decode("IssuerAndSerialNumber", value);
        return certificate_named(read_issuer_serial(n, ""), std::nullopt, certs);
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

void write_attributes(Asn1Node& node, const std::string& field, const std::vector<Attribute>& attrs)
{
    const std::string last = field.empty() ? "?LAST" : field + ".?LAST";
    for (const auto& a : attrs) {
        node.append(field);
        node.write_oid(last + ".attrType", a.oid);
        for (const auto& v : a.values) {
            node.append(last + ".attrValues");
            node.write_bytes(last + ".attrValues.?LAST", v);
        }
    }
}

std::vector<Attribute> read_attributes(const Asn1Node& node, const std::string& field)
{
    std::vector<Attribute> out;
    const int n = node.count(field);
    for (int i = 1; i <= n; ++i) {
        const std::string at = field + ".?" + std::to_string(i);
        Attribute a;
        a.oid = node.read_oid(at + ".attrType");
        const int m = node.count(at + ".attrValues");
        for (int j = 1; j <= m; ++j)
            a.values.push_back(node.read_bytes(at + ".attrValues.?" + std::to_string(j)));
        out.push_back(std::move(a));
    }
    return out;
}

std::vector<std::string> parse_smime_capabilities(ByteView der) noexcept
{
    // Capability lists are short; a peer sending thousands is not describing itself.
    constexpr int kMaxCapabilities = 256;
    try {
        const auto caps = Asn1Node::decode("SMIMECapabilities", der);
        const int n = caps.count("");
        if (n > kMaxCapabilities) return {};
        std::vector<std::string> out;
        for (int i = 1; i <= n; ++i) out.push_back(caps.read_oid("?" + std::to_string(i) + ".capabilityID"));
        return out;
    } catch (...) {
        return {};  // malformed (Error) or out of memory: treated as "nothing advertised"
    }
}

}  // namespace ssm::smime::cms
