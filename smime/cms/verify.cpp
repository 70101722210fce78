// SignedData verification; see verify.h. Untrusted input throughout: decoding failures of
// the whole object are MalformedMessage, anything wrong with one SignerInfo is its reason.
#include "smime/cms/verify.h"

#include <gnutls/x509.h>

#include <algorithm>
#include <memory>

#include "base/error.h"
#include "base/gnutls_datum.h"
#include "smime/cms/asn1.h"
#include "smime/cms/certificate_id.h"
#include "smime/cms/decode.h"
#include "smime/cms/definite_lengths.h"
#include "base/name_compare.h"
#include "smime/cms/oids.h"
#include "smime/cms/signed_attributes.h"
#include "smime/cms/verify_signature.h"
#include "smime/cms/verify_stream.h"

namespace ssm::smime::cms {
namespace {

using Digests = std::vector<std::pair<std::string, Bytes>>;

bool same_bytes(ByteView a, ByteView b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

std::optional<Bytes> subject_key_id(ByteView cert_der)
{
    gnutls_x509_crt_t crt = nullptr;
    if (gnutls_x509_crt_init(&crt) < 0) throw Error(Failure::Temporary, "gnutls_x509_crt_init");
    std::unique_ptr<gnutls_x509_crt_int, decltype(&gnutls_x509_crt_deinit)> owner(crt, &gnutls_x509_crt_deinit);
    const gnutls_datum_t d = datum_view(cert_der);
    if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0) return std::nullopt;
    unsigned char id[128];
    size_t size = sizeof id;
    unsigned critical = 0;
    if (gnutls_x509_crt_get_subject_key_id(crt, id, &size, &critical) < 0) return std::nullopt;
    return Bytes(id, id + size);
}

bool names_certificate(const SignerInfoView& si, ByteView cert)
{
    try {
        if (si.issuer_serial) {
            const IssuerSerial id = issuer_serial_of(cert);
            return id == *si.issuer_serial;
        }
        const auto ski = subject_key_id(cert);
        return ski && si.subject_key_id && *ski == *si.subject_key_id;
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage) throw;
        return false;  // a certificate that does not parse names no signer
    }
}

const Bytes* find_certificate(const SignerInfoView& si, const std::vector<Bytes>& carried,
                              std::span<const Bytes> extra)
{
    for (const auto& c : carried)
        if (names_certificate(si, c)) return &c;
    for (const auto& c : extra)
        if (names_certificate(si, c)) return &c;
    return nullptr;
}

// UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5652 §11.3 requires these
// forms); anything else is left unread rather than guessed. That includes a value libtasn1
// will not decode: wolfSSL 5.5.4 writes the year's tens digit as a space (" 61202134342Z").
// The signature covers the attribute's bytes whatever they say, and the time is only a claim
// of the signer's, so an unreadable one must not fail the signature.
std::optional<std::time_t> parse_signing_time(ByteView value)
{
    std::string which, s;
    try {
        const auto t = Asn1Node::decode("Time", value);
        which = t.read_text("");
        s = t.read_text(which);
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage) throw;
        return std::nullopt;
    }
    const bool utc = which == "utcTime";
    const std::size_t year_digits = utc ? 2 : 4;
    if (s.size() != year_digits + 11 || s.back() != 'Z' ||
        !std::all_of(s.begin(), s.end() - 1, [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    auto num = [&](std::size_t at, std::size_t n) { return std::stoi(s.substr(at, n)); };
    std::tm tm{};
    int year = num(0, year_digits);
    if (utc) year += year < 50 ? 2000 : 1900;
    tm.tm_year = year - 1900;
    tm.tm_mon = num(year_digits, 2) - 1;
    tm.tm_mday = num(year_digits + 2, 2);
    tm.tm_hour = num(year_digits + 4, 2);
    tm.tm_min = num(year_digits + 6, 2);
    tm.tm_sec = num(year_digits + 8, 2);
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return std::nullopt;
    return timegm(&tm);
}

// ESS signingCertificate (SHA-1, RFC 2634 §5.4) or signingCertificateV2 (RFC 5035 §3): the
// first ESSCertID names the signer certificate, by hash and, when present, issuer/serial. The
// issuer is a Name the signer may have rebuilt rather than copied (another string type, case,
// spacing): it is compared as RFC 5280 §7.1 asks (same_name), as the sid's issuer is.
std::string check_signing_certificate(ByteView value, ByteView cert, bool v2)
{
    const std::string name = v2 ? "signingCertificateV2" : "signingCertificate";
    const std::string mismatch = name + " does not match the signer certificate";
    const auto sc = Asn1Node::decode(v2 ? "SigningCertificateV2" : "SigningCertificate", value);
    if (sc.count("certs") < 1) return mismatch;
    AlgorithmId hash{oid::kSha1, std::nullopt};
    if (v2) {
        const auto oid = sc.read_optional("certs.?1.hashAlgorithm.algorithm");
        hash = oid ? read_algorithm_id(sc, "certs.?1.hashAlgorithm") : AlgorithmId{oid::kSha256, std::nullopt};
    }
    std::string reason;
    const auto d = verify_digest_from_id(hash, reason);
    if (!d) return name + ": " + reason;
    if (!same_bytes(sc.read_bytes("certs.?1.certHash"), verify_digest_of(*d, cert))) return mismatch;
    if (!sc.read_optional("certs.?1.issuerSerial.serialNumber")) return "";
    const IssuerSerial id = issuer_serial_of(cert);
    if (!same_serial(sc.read_bytes("certs.?1.issuerSerial.serialNumber"), id.serial))
        return mismatch;
    const std::string names = "certs.?1.issuerSerial.issuer";
    for (int i = 1, n = sc.count(names); i <= n; ++i) {
        const std::string at = names + ".?" + std::to_string(i);
        if (sc.read_text(at) == "directoryName" && same_name(sc.read_bytes(at + ".directoryName"), id.issuer_der))
            return "";
    }
    return mismatch;
}

const Bytes* find_digest(const Digests& digests, const std::string& oid)
{
    for (const auto& [o, d] : digests)
        if (o == oid) return &d;
    return nullptr;
}

// The attribute checks and the signature, in an order that makes the reason specific:
// structure, then signature (a changed attribute), then messageDigest (changed content),
// then the ESS certificate binding (a substituted certificate with the same key).
// `content` is the content itself when the caller kept it (see PureContent), else null.
void verify_signer(const SignerInfoView& si, const std::string& econtent_type, const Digests& digests,
                   const Bytes* content, const std::vector<Bytes>& carried, std::span<const Bytes> extra,
                   SignerVerification& v)
{
    std::string reason;
    const auto digest = verify_digest_from_id(si.digest_algorithm, reason);
    if (!digest) return void(v.failure = reason);
    v.weak_digest = digest->weak();
    if (digest->sha2) v.digest = *digest->sha2;
    const auto check = signature_check_from_id(si.signature_algorithm, *digest, reason);
    if (!check) return void(v.failure = reason);
    v.scheme = check->scheme;

    const Attribute* content_type = nullptr;
    const Attribute* message_digest = nullptr;
    const Attribute* signing_cert_v2 = nullptr;
    const Attribute* signing_cert = nullptr;
    for (std::size_t i = 0; i < si.signed_attributes.size(); ++i) {
        const Attribute& a = si.signed_attributes[i];
        for (std::size_t j = 0; j < i; ++j)
            if (si.signed_attributes[j].oid == a.oid) return void(v.failure = "duplicate signed attribute " + a.oid);
        for (const auto& value : a.values) v.signed_attributes.emplace_back(a.oid, value);
        // Every attribute we interpret is single-valued (RFC 5652 §11, RFC 8551 §2.5, RFC 5035).
        // Those the verification rests on fail the signer when they are not (as OpenSSL's
        // CMS checks contentType, messageDigest and signingTime); those we read only as the
        // sender's hints (capabilities, key preferences) are ignored instead and named in
        // `ignored_hints`: their bytes stay covered by the signature, and a hint we cannot read
        // says nothing about whether the content is what the signer signed.
        const Attribute** slot = a.oid == oid::kContentType             ? &content_type
                                 : a.oid == oid::kMessageDigest         ? &message_digest
                                 : a.oid == oid::kSigningCertificateV2  ? &signing_cert_v2
                                 : a.oid == oid::kSigningCertificate    ? &signing_cert
                                                                        : nullptr;
        const bool hint = a.oid == oid::kSmimeCapabilities || a.oid == oid::kEncrypKeyPref ||
                          a.oid == oid::kMicrosoftEncrypKeyPref;
        if (a.values.size() != 1) {
            if (hint) {
                v.ignored_hints.push_back(a.oid);
                continue;
            }
            if (slot || a.oid == oid::kSigningTime)
                return void(v.failure = "signed attribute " + a.oid + " must have exactly one value");
        }
        if (slot) *slot = &a;
        if (a.oid == oid::kSigningTime) v.signing_time = parse_signing_time(a.values[0]);
        if (a.oid == oid::kSmimeCapabilities) v.smime_capabilities_der = a.values[0];
        if (a.oid == oid::kEncrypKeyPref) v.encryption_key_preference_der = a.values[0];
        if (a.oid == oid::kMicrosoftEncrypKeyPref) v.microsoft_key_preference_der = a.values[0];
    }

    const Bytes* cert = find_certificate(si, carried, extra);
    if (!cert) return void(v.failure = kSignerCertificateNotFound);
    v.signer_certificate_der = *cert;
    const SignerKey key(*cert);  // one import per signer, whatever is verified below
    if (const auto weak = key.weak()) v.notes.push_back("signer-key-weak=" + *weak);

    const bool with_attributes = !si.signed_attributes.empty();
    if (with_attributes) {
        if (!content_type) return void(v.failure = "contentType attribute missing");
        if (!message_digest) return void(v.failure = "messageDigest attribute missing");
        if (Asn1Node::decode("ContentType", content_type->values[0]).read_oid("") != econtent_type)
            return void(v.failure = "contentType attribute does not match the content");
    } else if (econtent_type != oid::kData) {
        return void(v.failure = "signed attributes missing for a content type other than data");  // RFC 5652 §5.3
    }

    const Bytes* content_digest = find_digest(digests, si.digest_algorithm.oid);
    if (!content_digest) return void(v.failure = "digest algorithm not listed in digestAlgorithms");

    if (with_attributes) {
        auto over = [&](const Bytes& attrs) {
            return key.verify(*check, *digest, attrs, verify_digest_of(*digest, attrs), si.signature);
        };
        reason = over(si.signed_attributes_der);
        // RFC 5652 §5.4: the signature is over the DER of the attributes ("a separate
        // encoding"). The octets received are tried first (what OpenSSL and GnuTLS check; a
        // signer that sends its attributes out of DER order mostly signs what it sends);
        // attributes received otherwise than in DER (out of DER order, or from a BER encoder:
        // strings in segments, long-form lengths) are tried again in DER (in_der_form, then
        // libtasn1's encoder, which sorts SET OF), and that is then what the signer signed:
        // the attributes read above are the same values either way.
        if (!reason.empty()) {
            const Bytes in_der =
                Asn1Node::decode("Attributes", in_der_form(si.signed_attributes_der)).encode();
            if (in_der != si.signed_attributes_der && over(in_der).empty()) {
                reason.clear();
                v.signed_attributes_der = in_der;
            }
        }
    } else if (check->scheme == SignatureScheme::Ed25519) {
        // Pure EdDSA over the content itself (RFC 8419 §3): only when it was kept.
        reason = content ? key.verify(*check, *digest, *content, {}, si.signature)
                         : "unsupported algorithm Ed25519 without signed attributes in this form";
    } else {
        reason = key.verify(*check, *digest, {}, *content_digest, si.signature);
    }
    if (!reason.empty()) return void(v.failure = reason);

    if (with_attributes &&
        !same_bytes(Asn1Node::decode("MessageDigest", message_digest->values[0]).read_bytes(""), *content_digest))
        return void(v.failure = "message digest mismatch");

    if (signing_cert_v2) reason = check_signing_certificate(signing_cert_v2->values[0], *cert, true);
    if (reason.empty() && signing_cert) reason = check_signing_certificate(signing_cert->values[0], *cert, false);
    if (!reason.empty()) return void(v.failure = reason);
    v.signature_valid = true;
}

VerifyResult verify_all(const SignedDataView& sd, const Digests& digests, const Bytes* content,
                        std::span<const Bytes> extra)
{
    VerifyResult r;
    r.econtent_type = sd.econtent_type;
    r.certificates = sd.certificates;
    for (const auto& si : sd.signers) {
        SignerVerification v;
        v.signature = si.signature;
        v.signed_attributes_der = si.signed_attributes_der;
        try {
            verify_signer(si, sd.econtent_type, digests, content, sd.certificates, extra, v);
        } catch (const Error& e) {
            // A malformed attribute value or key concerns this signer only.
            if (e.failure() != Failure::MalformedMessage) throw;
            v.signature_valid = false;
            v.failure = std::string("malformed signer information: ") + e.what();
        }
        v.unsupported = !v.signature_valid && v.failure.rfind("unsupported algorithm", 0) == 0;
        r.signers.push_back(std::move(v));
    }
    return r;
}

// Keeps the content for pure Ed25519 up to kMaxPureContent; beyond it the signer is
// reported as unverifiable rather than making memory follow the message size.
constexpr std::size_t kMaxPureContent = 64 * 1024 * 1024;
class PureContent final : public ByteSink {
public:
    explicit PureContent(bool wanted) : m_wanted(wanted) {}
    using ByteSink::write;
    void write(ByteView data) override
    {
        if (!m_wanted) return;
        if (data.size() > kMaxPureContent - m_data.size()) {
            m_wanted = false;
            Bytes().swap(m_data);
            return;
        }
        m_data.insert(m_data.end(), data.begin(), data.end());
    }
    const Bytes* get() const { return m_wanted ? &m_data : nullptr; }

private:
    bool m_wanted;
    Bytes m_data;
};

bool needs_pure_content(const SignedDataView& sd)
{
    return std::any_of(sd.signers.begin(), sd.signers.end(), [](const SignerInfoView& si) {
        return si.signed_attributes.empty() && si.signature_algorithm.oid == oid::kEd25519;
    });
}

// The digests the SignerInfos name that we compute and `hashed` lacks (digestAlgorithms did
// not list them), each once.
std::vector<AlgorithmId> unlisted_digests(const SignedDataView& sd, const Digests& hashed)
{
    std::vector<AlgorithmId> out;
    for (const auto& si : sd.signers) {
        const std::string& oid = si.digest_algorithm.oid;
        std::string ignored;  // reported per signer by verify_signer
        if (find_digest(hashed, oid) || !verify_digest_from_id(si.digest_algorithm, ignored)) continue;
        if (std::none_of(out.begin(), out.end(), [&](const AlgorithmId& a) { return a.oid == oid; }))
            out.push_back(si.digest_algorithm);
    }
    return out;
}

}  // namespace

VerifyResult verify_detached(ByteView signature_der, ByteSource& content, std::span<const Bytes> extra_certificates)
{
    // BER streaming encoders send indefinite lengths; libtasn1 wants some of them definite.
    const SignedDataView sd = decode_signed_content_info(with_definite_lengths(signature_der));
    if (sd.econtent) throw Error(Failure::MalformedMessage, "detached signature carries encapsulated content");
    // One pass over the (possibly large) content for every digest the signers use.
    DigestSet hashes;
    for (const auto& si : sd.signers) {
        std::string ignored;  // reported per signer by verify_signer
        if (const auto d = verify_digest_from_id(si.digest_algorithm, ignored)) hashes.add(si.digest_algorithm.oid, *d);
    }
    // Ed25519 without signed attributes signs the content itself: keep it, within a bound.
    PureContent kept(needs_pure_content(sd));
    TeeSink both(hashes, kept);
    content.rewind();
    copy_stream(content, both);
    return verify_all(sd, hashes.finish(), kept.get(), extra_certificates);
}

VerifyResult verify_encapsulated(ByteSource& der, ByteSink& content_out, std::span<const Bytes> extra_certificates)
{
    der.rewind();
    const StreamedSignedData streamed = read_signed_data_stream(der, content_out);
    const SignedDataView sd = decode_signed_data(streamed.signed_data);
    if (!streamed.had_content) throw Error(Failure::MalformedMessage, "opaque signed-data without content");
    const std::vector<AlgorithmId> unlisted = unlisted_digests(sd, streamed.content_digests);
    const bool pure = needs_pure_content(sd);
    if (unlisted.empty() && !pure) return verify_all(sd, streamed.content_digests, nullptr, extra_certificates);
    // The content had already gone by when the SignerInfos were read. Rare: a second pass
    // hashes it with the digests digestAlgorithms did not list (RFC 5652 §5.1 makes that SET
    // a hint for one-pass processing, which independent signers leave empty or fill with
    // another digest), those alone, and collects it for pure Ed25519 without signed attributes.
    PureContent kept(pure);
    der.rewind();
    const StreamedSignedData again = read_signed_data_stream(der, kept, std::span<const AlgorithmId>(unlisted));
    Digests digests = streamed.content_digests;
    digests.insert(digests.end(), again.content_digests.begin(), again.content_digests.end());
    return verify_all(sd, digests, kept.get(), extra_certificates);
}

std::optional<Bytes> signer_preferred_encryption_certificate(const SignerVerification& signer,
                                                             std::span<const Bytes> certs) noexcept
{
    if (signer.encryption_key_preference_der)
        if (auto named = preferred_encryption_certificate(*signer.encryption_key_preference_der, certs)) return named;
    if (signer.microsoft_key_preference_der)
        return microsoft_preferred_encryption_certificate(*signer.microsoft_key_preference_der, certs);
    return std::nullopt;
}

}  // namespace ssm::smime::cms
