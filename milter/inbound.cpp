// The inbound pipeline: forged A-R removal -> decrypt (top level only: EFAIL) -> verify
// (detached over the exact received part, or opaque) -> signer validation -> A-R, harvest,
// partner requirements. Bodies stream spool to spool.
#include "milter/inbound.h"

#include <gnutls/x509.h>
#include <unistd.h>

#include <ctime>

#include "base/ascii.h"
#include "base/error.h"
#include "base/gnutls_datum.h"
#include "base/log.h"
#include "pki/certificate.h"
#include "smime/cms/decrypt.h"
#include "smime/cms/verify.h"
#include "smime/mime/decoders.h"
#include "smime/mime/scanner.h"

namespace ssm::milter {

namespace {

using smime::mime::HeaderField;

enum class SmimeKind { None, Enveloped, DetachedSigned, OpaqueSigned };

constexpr std::uint64_t kMaxSignatureObject = 4 * 1024 * 1024;

std::optional<smime::mime::ContentType> content_type(const std::vector<HeaderField>& h)
{
    const HeaderField* ct = smime::mime::find_field(h, "Content-Type");
    if (!ct) return std::nullopt;
    return smime::mime::parse_content_type(ct->value);
}

std::string transfer_encoding(const std::vector<HeaderField>& h)
{
    const HeaderField* f = smime::mime::find_field(h, "Content-Transfer-Encoding");
    return f ? smime::mime::parse_transfer_encoding(f->value) : "";
}

bool is_pkcs7_mime(const smime::mime::ContentType& ct)
{
    return ct.type == "application" && (ct.subtype == "pkcs7-mime" || ct.subtype == "x-pkcs7-mime");
}

SmimeKind classify(const std::vector<HeaderField>& h)
{
    const auto ct = content_type(h);
    if (!ct) return SmimeKind::None;
    if (ct->type == "multipart" && ct->subtype == "signed") {
        const std::string protocol = ct->param("protocol").value_or("");
        if (smime::mime::iequals(protocol, "application/pkcs7-signature") ||
            smime::mime::iequals(protocol, "application/x-pkcs7-signature"))
            return SmimeKind::DetachedSigned;
        return SmimeKind::None;
    }
    if (!is_pkcs7_mime(*ct)) return SmimeKind::None;
    const std::string type = ct->param("smime-type").value_or("");
    if (smime::mime::iequals(type, "enveloped-data") || smime::mime::iequals(type, "authEnveloped-data"))
        return SmimeKind::Enveloped;
    if (smime::mime::iequals(type, "signed-data")) return SmimeKind::OpaqueSigned;
    // No smime-type (older clients): the .p7m name is the convention for encrypted mail.
    const std::string name = ct->param("name").value_or("");
    if (type.empty() && name.size() >= 4 && smime::mime::iequals(name.substr(name.size() - 4), ".p7m"))
        return SmimeKind::Enveloped;
    return SmimeKind::None;
}

// Undoes a Content-Transfer-Encoding into `out`.
void decode_transfer(ByteSource& src, const std::string& cte, ByteSink& out)
{
    src.rewind();
    if (cte == "base64") {
        smime::mime::Base64Decoder dec(out);
        copy_stream(src, dec);
        dec.finish();
    } else if (cte == "quoted-printable") {
        smime::mime::QuotedPrintableDecoder dec(out);
        copy_stream(src, dec);
        dec.finish();
    } else {
        copy_stream(src, out);
    }
}

Bytes read_all(const Spool& spool, std::uint64_t limit)
{
    if (spool.size() > limit)
        throw Error(Failure::MalformedMessage, "S/MIME signature object too large");
    MemorySink sink;
    auto r = spool.reader();
    copy_stream(*r, sink);
    return sink.data();
}

std::string issuer_dn(const pki::Certificate& cert)
{
    GnutlsDatum dn;
    if (gnutls_x509_crt_get_issuer_dn3(cert.get(), &dn.d, 0) != GNUTLS_E_SUCCESS) return "";
    const Bytes b = dn.bytes();
    return std::string(b.begin(), b.end());
}

std::optional<EmailAddress> author_of(const std::vector<HeaderField>& h)
{
    const HeaderField* from = smime::mime::find_field(h, "From");
    if (!from) return std::nullopt;
    return EmailAddress::parse(from->value);
}

std::string local_host_name()
{
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

// The fields of an entity's header block: Content-* ones and the others (RFC 9788 protected).
struct EntityHeader {
    std::vector<HeaderField> content;
    std::vector<HeaderField> other;
    bool protected_header = false;  // Content-Type has hp="cipher" or hp="clear"
};

EntityHeader split_entity_header(const std::vector<HeaderField>& fields)
{
    EntityHeader e;
    for (const auto& f : fields) {
        if (smime::mime::is_content_field(f.name)) {
            e.content.push_back(f);
            if (smime::mime::iequals(f.name, "Content-Type"))
                if (auto ct = smime::mime::parse_content_type(f.value); ct && ct->param("hp"))
                    e.protected_header = true;
        } else if (!smime::mime::iequals(f.name, "MIME-Version")) {
            e.other.push_back(f);
        }
    }
    return e;
}

// Replaces `current`'s Content-* fields by `content`.
void replace_content_fields(std::vector<HeaderField>& current, const std::vector<HeaderField>& content)
{
    std::vector<HeaderField> next;
    for (auto& f : current)
        if (!smime::mime::is_content_field(f.name)) next.push_back(f);
    next.insert(next.end(), content.begin(), content.end());
    current = std::move(next);
}

bool has_nested_encrypted_part(const smime::mime::Part& p, bool top)
{
    if (!top && p.type == "application" && (p.subtype == "pkcs7-mime" || p.subtype == "x-pkcs7-mime"))
        return true;
    for (const auto& c : p.children)
        if (has_nested_encrypted_part(c, false)) return true;
    return false;
}

}  // namespace

SmimeAuthResult InboundProcessor::judge_signer(const smime::cms::SignerVerification& signer,
                                               const std::vector<Bytes>& message_certificates,
                                               const std::vector<HeaderField>& headers,
                                               const std::string& part)
{
    SmimeAuthResult r;
    r.part = part;
    auto cert = pki::Certificate::parse_der(signer.signer_certificate_der);
    if (!cert) {
        r.result = SmimeResult::Fail;
        r.reason = signer.failure.empty() ? "signer certificate not in message" : signer.failure;
        return r;
    }
    const pki::CertificateFacts facts = pki::facts(*cert);
    r.serial = to_hex(facts.serial);
    r.issuer = issuer_dn(*cert);
    if (!facts.email_addresses.empty()) r.identifier = facts.email_addresses.front();
    if (!signer.signature_valid) {
        r.result = SmimeResult::Fail;
        r.reason = signer.failure;
        return r;
    }
    if (signer.weak_digest) {
        r.result = SmimeResult::Fail;
        r.reason = "weak digest algorithm (SHA-1)";
        return r;
    }
    std::vector<pki::Certificate> extras;
    for (const auto& der : message_certificates)
        if (auto c = pki::Certificate::parse_der(der)) extras.push_back(std::move(*c));
    pki::ValidationOptions options;
    options.required_policies = m_required_policies;
    const pki::ValidationResult v = m_certificates.trust().validate(
        *cert, extras, std::time(nullptr), pki::Purpose::EmailProtection, options);
    if (!v.valid()) {
        r.result = v.has(pki::Problem::RevocationUnknown) ? SmimeResult::TempError : SmimeResult::Fail;
        r.reason = v.describe();
        return r;
    }
    if (facts.key_usage && !facts.key_usage->digital_signature && !facts.key_usage->non_repudiation) {
        r.result = SmimeResult::Fail;
        r.reason = "key usage does not allow digital signatures";
        return r;
    }
    const auto author = author_of(headers);
    bool matches = false;
    if (author) {
        const std::string lower = ascii_lowercase(author->str());
        if (facts.has_address(lower)) {
            matches = true;
            r.identifier = lower;
        } else if (facts.has_address("domain-signing-authority@" + author->domain().str())) {
            matches = true;  // RFC 3183 domain signature
            r.identifier = "domain-signing-authority@" + author->domain().str();
        }
    }
    if (!matches) {
        r.result = SmimeResult::Fail;
        r.reason = "From address does not match the signer certificate";
        return r;
    }
    r.result = SmimeResult::Pass;
    if (m_harvest && m_config.inbound.harvest) {
        for (const auto& a : facts.email_addresses) {
            auto addr = EmailAddress::parse(a);
            if (!addr) continue;
            std::optional<ByteView> caps;
            if (signer.smime_capabilities_der) caps = ByteView(*signer.smime_capabilities_der);
            try {
                m_harvest->store(*addr, signer.signer_certificate_der, caps);
            } catch (const std::exception& e) {
                log::warning("harvest-failed", {{"address", a}, {"error", e.what()}});
            }
        }
    }
    return r;
}

InboundOutcome InboundProcessor::process(const std::vector<HeaderField>& headers, const Spool& body,
                                         const policy::Treatment& treatment,
                                         const std::vector<std::string>& required_policies)
{
    m_required_policies = required_policies;
    InboundOutcome out;
    out.reply = Reply::accept();
    const auto& m = m_config.milter;
    const std::string authserv = m.authserv_id.empty() ? local_host_name() : m.authserv_id;
    smime::mime::Limits limits;
    limits.max_header_field = m.max_header_field_size;
    limits.max_depth = m.max_mime_depth;

    // Forged results claiming our authserv-id, and our own policy tag, never pass through.
    int ar_index = 0, tag_index = 0;
    for (const auto& h : headers) {
        if (smime::mime::iequals(h.name, "Authentication-Results")) {
            ++ar_index;
            if (claims_authserv_id(h.value, authserv)) out.headers.remove.push_back({h.name, ar_index});
        } else if (smime::mime::iequals(h.name, "X-SSM-Policy")) {
            out.headers.remove.push_back({h.name, ++tag_index});
        }
    }

    std::vector<HeaderField> current = headers;
    const Spool* body_now = &body;
    std::unique_ptr<Spool> replaced;  // the body after decryption or unwrapping
    bool decrypted = false;
    std::vector<HeaderField> restored;  // protected fields found inside the encryption
    std::vector<std::string> actions;
    std::vector<SmimeAuthResult> results;

    SmimeKind kind = classify(current);
    if (kind == SmimeKind::Enveloped) {
        Spool der(m.spool_dir, m.memory_spool_limit);
        {
            auto r = body_now->reader();
            decode_transfer(*r, transfer_encoding(current), der);
        }
        auto plain = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
        auto der_reader = der.reader();
        const smime::cms::DecryptOutcome d =
            smime::cms::decrypt_envelope(*der_reader, m_keys.decrypters(), *plain);
        if (d.status == smime::cms::DecryptStatus::Decrypted) {
            decrypted = true;
            actions.push_back("decrypt");
            out.detail += "decrypted=" + d.key_management + " ";
            auto pr = plain->reader();
            const smime::mime::HeaderBlock hb = smime::mime::parse_header_block(*pr, limits);
            const EntityHeader inner = split_entity_header(hb.fields);
            replaced = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
            smime::mime::BodySource inner_body(*pr, hb.body_offset);
            copy_stream(inner_body, *replaced);
            body_now = replaced.get();
            replace_content_fields(current, inner.content);
            if (inner.protected_header || !inner.other.empty()) restored = inner.other;
            kind = classify(current);
        } else {
            out.detail += "encrypted-not-for-us ";
        }
    }

    if (!decrypted && m_config.inbound.reject_nested_encrypted) {
        if (const auto ct = content_type(current); ct && ct->type == "multipart") {
            auto r = body_now->reader();
            const auto scan = smime::mime::scan_body(current, *r, limits);
            if (has_nested_encrypted_part(scan.root, true)) {
                out.reply = Reply::reject("554", "5.7.1",
                                          "an encrypted part among unencrypted parts is not accepted");
                out.action = "reject";
                out.detail += "nested-encrypted-part ";
                return out;
            }
        }
    }

    std::vector<HeaderField> unwrapped_content;  // Content-* after removing a signature layer
    std::unique_ptr<Spool> unwrapped;
    if (kind == SmimeKind::DetachedSigned) {
        actions.push_back("verify");
        auto r = body_now->reader();
        const auto scan = smime::mime::scan_body(current, *r, limits);
        const auto& root = scan.root;
        if (root.kind != smime::mime::Part::Kind::Multipart || root.children.size() < 2) {
            results.push_back({SmimeResult::PermError, "malformed multipart/signed", "", "", "", ""});
        } else {
            const auto& signed_part = root.children[0];
            const auto& sig_part = root.children[1];
            Spool sig(m.spool_dir, m.memory_spool_limit);
            {
                auto sr = body_now->reader();
                SliceSource sig_body(*sr, sig_part.body_begin, sig_part.end);
                decode_transfer(sig_body, sig_part.transfer_encoding, sig);
            }
            const Bytes sig_der = read_all(sig, kMaxSignatureObject);
            auto cr = body_now->reader();
            SliceSource content(*cr, signed_part.begin, signed_part.end);
            const auto v = smime::cms::verify_detached(sig_der, content);
            if (v.signers.empty())
                results.push_back({SmimeResult::PermError, "no signer in the signature", "", "", "", ""});
            for (const auto& s : v.signers) results.push_back(judge_signer(s, v.certificates, current, "1"));
            auto er = body_now->reader();
            SliceSource entity(*er, signed_part.begin, signed_part.end);
            const auto hb = smime::mime::parse_header_block(entity, limits);
            // RFC 9788: with sign-then-encrypt the protected fields sit in the signed part.
            if (const EntityHeader eh = split_entity_header(hb.fields); restored.empty() && eh.protected_header)
                restored = eh.other;
            if (m_config.inbound.strip_signature && !results.empty() &&
                results.front().result == SmimeResult::Pass) {
                unwrapped_content = split_entity_header(hb.fields).content;
                unwrapped = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
                smime::mime::BodySource eb(entity, hb.body_offset);
                copy_stream(eb, *unwrapped);
            }
        }
    } else if (kind == SmimeKind::OpaqueSigned) {
        actions.push_back("verify");
        Spool der(m.spool_dir, m.memory_spool_limit);
        {
            auto r = body_now->reader();
            decode_transfer(*r, transfer_encoding(current), der);
        }
        auto content = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
        auto dr = der.reader();
        const auto v = smime::cms::verify_encapsulated(*dr, *content);
        if (v.signers.empty())
            results.push_back({SmimeResult::PermError, "no signer in the signed-data", "", "", "", ""});
        for (const auto& s : v.signers) results.push_back(judge_signer(s, v.certificates, current, "1"));
        auto cr = content->reader();
        const auto hb = smime::mime::parse_header_block(*cr, limits);
        if (const EntityHeader eh = split_entity_header(hb.fields); restored.empty() && eh.protected_header)
            restored = eh.other;
        if (m_config.inbound.strip_signature && !results.empty() &&
            results.front().result == SmimeResult::Pass) {
            unwrapped_content = split_entity_header(hb.fields).content;
            unwrapped = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
            smime::mime::BodySource eb(*cr, hb.body_offset);
            copy_stream(eb, *unwrapped);
        }
    }
    if (unwrapped) {
        replace_content_fields(current, unwrapped_content);
        replaced = std::move(unwrapped);
        body_now = replaced.get();
        actions.push_back("strip");
    }

    if (!results.empty())
        out.headers.prepend.push_back({"Authentication-Results", format_auth_results(authserv, results)});
    const bool signature_ok = !results.empty() && results.front().result == SmimeResult::Pass;
    for (const auto& r : results)
        out.detail += std::string("smime=") + smime_result_name(r.result) +
                      (r.identifier.empty() ? "" : " signer=" + r.identifier) +
                      (r.reason.empty() ? "" : " reason=\"" + r.reason + "\"") + " ";

    std::string missing;
    if (treatment.require_signature && !signature_ok) missing = "a valid S/MIME signature";
    if (treatment.require_encryption && !decrypted)
        missing += std::string(missing.empty() ? "" : " and ") + "encryption";
    if (!missing.empty()) {
        if (treatment.on_missing == policy::OnMissing::Reject) {
            out.reply = Reply::reject("550", "5.7.1", "the sender's policy requires " + missing);
            out.action = "reject";
            return out;
        }
        out.headers.add.push_back({"X-SSM-Policy", "missing " + missing});
        actions.push_back("tag");
    }

    if (replaced) {
        // The Content-* fields of the new body replace the received ones.
        smime::HeaderEdit moved = smime::content_fields_moved_inside(headers);
        out.headers.remove.insert(out.headers.remove.end(), moved.remove.begin(), moved.remove.end());
        for (const auto& f : current)
            if (smime::mime::is_content_field(f.name)) out.headers.add.push_back(f);
        out.new_body = std::move(replaced);
    }
    // Protected fields (RFC 9788) come back only from inside an encryption we removed or a
    // signature that verified; otherwise they are as untrusted as the outer ones.
    if (m_config.inbound.restore_protected_headers && (decrypted || signature_ok)) {
        for (const auto& f : restored) {
            const HeaderField* outer = smime::mime::find_field(headers, f.name);
            if (outer && smime::mime::iequals(f.name, "Subject") && outer->value != f.value)
                out.headers.change.push_back({outer->name, 1, f.value});
            else if (!outer)
                out.headers.add.push_back(f);
        }
    }
    out.action.clear();
    for (const auto& a : actions) out.action += (out.action.empty() ? "" : "+") + a;
    if (out.action.empty()) out.action = "none";
    return out;
}

}  // namespace ssm::milter
