// Reading rfc822Name and SmtpUTF8Mailbox subjectAltNames (see certificate_mailboxes.h). Input
// is an untrusted certificate: fixed-size buffers, bounded name count, libtasn1 for the DER.
#include "base/certificate_mailboxes.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string_view>

#include <libtasn1.h>

#include "base/bytes.h"
#include "base/email_address.h"
#include "base/log.h"
#include "base/repeat_filter.h"

namespace ssm {

namespace {

constexpr unsigned max_names = 256;  // real certificates have a handful

// The text of an otherName value that GnuTLS hands out as DER: a UTF8String, nothing else.
std::optional<std::string_view> utf8_string(const unsigned char* der, std::size_t size)
{
    const unsigned char* str = nullptr;
    unsigned int len = 0;
    if (asn1_decode_simple_der(ASN1_ETYPE_UTF8_STRING, der, static_cast<unsigned>(size), &str, &len) !=
        ASN1_SUCCESS)
        return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(str), len);
}

// The certificate's SHA-256 fingerprint in hex; empty when GnuTLS cannot give it.
std::string fingerprint(gnutls_x509_crt_t crt)
{
    std::array<unsigned char, 32> digest{};
    std::size_t size = digest.size();
    if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, digest.data(), &size) < 0 || size != digest.size())
        return {};
    return to_hex(ByteView(digest.data(), size));
}

// Whether the refused names of the certificate `fingerprint` are to be logged now: once per
// certificate and process. The certificate cache, the harvest store and every look-up read one
// certificate again and again, and one bad certificate among them flooded the log with the same
// line. 4096 fingerprints of 64 characters are some 512 KiB with the map's overhead.
bool first_refusal_of(const std::string& fingerprint)
{
    static RepeatFilter once_per_certificate(4096, std::chrono::seconds(0));
    return once_per_certificate.should_log(fingerprint);
}

}  // namespace

CertificateMailboxes san_mailboxes(gnutls_x509_crt_t crt)
{
    CertificateMailboxes out;
    std::vector<std::string> refused;  // SmtpUTF8Mailbox names with U-label domains, logged
    for (unsigned seq = 0; seq < max_names; ++seq) {
        std::array<unsigned char, 1024> buf{};
        std::size_t size = buf.size();
        const int type = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf.data(), &size, nullptr);
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
        if (type == GNUTLS_E_SHORT_MEMORY_BUFFER) out.named_any = true;
        if (type < 0) continue;  // oversized or unreadable: not an address we use
        size = std::min(size, buf.size());
        std::optional<std::string> key;
        if (type == GNUTLS_SAN_RFC822NAME) {
            out.named_any = true;
            key = certificate_address_key(std::string_view(reinterpret_cast<const char*>(buf.data()), size), false);
        } else if (type == GNUTLS_SAN_OTHERNAME) {
            std::array<char, 128> oid{};
            std::size_t oid_size = oid.size();
            if (gnutls_x509_crt_get_subject_alt_othername_oid(crt, seq, oid.data(), &oid_size) < 0 ||
                std::strncmp(oid.data(), oid_smtp_utf8_mailbox, oid.size()) != 0)
                continue;
            out.named_any = true;
            const auto text = utf8_string(buf.data(), size);
            if (text && smtp_utf8_domain_not_a_labels(*text)) refused.emplace_back(*text);
            if (text) key = certificate_address_key(*text, true);
        }
        if (key && std::find(out.keys.begin(), out.keys.end(), *key) == out.keys.end())
            out.keys.push_back(std::move(*key));
    }
    if (!refused.empty())
        if (const std::string sha256 = fingerprint(crt); first_refusal_of(sha256))
            for (const auto& name : refused)
                log::warning("certificate_address_refused",
                             {{"name", name},
                              {"certificate", sha256},
                              {"reason", "SmtpUTF8Mailbox domain in U-labels (RFC 9598 3: A-labels only)"}});
    return out;
}

std::vector<std::string> subject_email_keys(gnutls_x509_crt_t crt)
{
    std::vector<std::string> out;
    for (unsigned i = 0; i < 16; ++i) {
        std::array<char, 512> buf{};
        std::size_t size = buf.size();
        const int rc = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_PKCS9_EMAIL, i, 0, buf.data(), &size);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
        if (rc < 0) continue;  // oversized or unreadable: not an address we use
        auto key = certificate_address_key(std::string_view(buf.data(), std::min(size, buf.size())), false);
        if (key && std::find(out.begin(), out.end(), *key) == out.end()) out.push_back(std::move(*key));
    }
    return out;
}

std::vector<std::string> certificate_mailbox_keys(gnutls_x509_crt_t crt)
{
    CertificateMailboxes san = san_mailboxes(crt);
    return san.named_any ? std::move(san.keys) : subject_email_keys(crt);
}

}  // namespace ssm
