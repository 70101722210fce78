// sign / encrypt / sign-then-encrypt composition. Signing streams spool to spool; encryption
// alone streams the canonical entity from the body through the cipher, with no spool between.
#include "smime/protect.h"

#include "base/error.h"
#include "base/spool.h"
#include "smime/mime/canonical.h"
#include "smime/mime/content_type.h"
#include "smime/mime/encoders.h"
#include "smime/mime/text_charset.h"

namespace ssm::smime {

bool is_trace_field(std::string_view name)
{
    static const char* const trace[] = {"Received", "Return-Path", "Delivered-To", "X-Original-To",
                                        "Authentication-Results", "ARC-Seal",
                                        "ARC-Message-Signature", "ARC-Authentication-Results",
                                        "DKIM-Signature",
                                        // RFC 7208 §9.1: an SPF verifier's result, a trace field
                                        "Received-SPF"};
    for (const char* t : trace)
        if (mime::iequals(name, t)) return true;
    return false;
}

namespace {

// `value` with hp="cipher" appended, when appending changes nothing else: after a malformed
// value (an unterminated quoted string or comment) the new text would become part of the last
// parameter (a boundary, say) and the entity would no longer parse as it did. Such a value
// stays as it is; the protected header then reads as an ordinary one.
std::string with_hp_cipher(const std::string& value)
{
    const std::string marked = value + "; hp=\"cipher\"";
    const auto before = mime::parse_content_type(value);
    const auto after = mime::parse_content_type(marked);
    if (!before || !after || after->type != before->type || after->subtype != before->subtype ||
        after->param("hp") != std::optional<std::string>("cipher"))
        return value;
    for (const auto& [name, v] : before->params)
        if (after->param(name) != std::optional<std::string>(v) && name != "hp") return value;
    return marked;
}

// The entity's own Content-* fields, with hp="cipher" on Content-Type (RFC 9788 §2.1.1)
// when the header is protected. A Content-Type made for that names the charset `body` is
// really in (8-bit octets are re-encoded; us-ascii would misname them).
std::vector<mime::HeaderField> inner_content_fields(const std::vector<mime::HeaderField>& headers,
                                                    bool header_protection, ByteSource& body)
{
    std::vector<mime::HeaderField> out;
    bool have_type = false;
    for (const auto& h : headers) {
        if (!mime::is_content_field(h.name)) continue;
        mime::HeaderField f = h;
        if (mime::iequals(h.name, "Content-Type") && !have_type) {
            have_type = true;
            if (header_protection) f.value = with_hp_cipher(f.value);
        }
        out.push_back(std::move(f));
    }
    if (!have_type && header_protection)
        out.insert(out.begin(), {"Content-Type", std::string("text/plain; charset=") +
                                                     mime::unlabelled_text_charset(body) + "; hp=\"cipher\""});
    return out;
}

const char* smime_type(cms::ContentCipher c)
{
    return cms::is_aead(c) ? "authEnveloped-data" : "enveloped-data";
}

}  // namespace

std::vector<mime::HeaderField> fields_to_protect(const std::vector<mime::HeaderField>& headers)
{
    std::vector<mime::HeaderField> out;
    // Bcc stays out: every recipient decrypts the protected header section, and a blind copy
    // must not be told to the others (RFC 5322 §3.6.3). Postfix removes Bcc before the milter
    // sees it; Sendmail hands it over.
    for (const auto& h : headers)
        if (!mime::is_content_field(h.name) && !mime::iequals(h.name, "MIME-Version") &&
            !is_trace_field(h.name) && !mime::iequals(h.name, "Bcc"))
            out.push_back(h);
    return out;
}

std::vector<mime::HeaderField> hp_outer_fields(const std::vector<mime::HeaderField>& protected_fields,
                                               bool subject_obscured)
{
    std::vector<mime::HeaderField> out;
    for (const auto& f : protected_fields) {
        std::string value = f.value;
        // Every Subject field: protect_message obscures each one outside (a second one in
        // clear would tell what the first hides).
        if (mime::iequals(f.name, "Subject") && subject_obscured) value = "[...]";
        // The value as it stands after "Name: " on the outside, white space at its start kept
        // out of the copy (write_header_field puts one space after the colon).
        const std::size_t start = value.find_first_not_of(" \t");
        out.push_back({"HP-Outer", f.name + ": " + (start == std::string::npos ? "" : value.substr(start))});
    }
    return out;
}

ProtectResult protect_message(const std::vector<mime::HeaderField>& headers, ByteSource& body,
                              const ProtectRequest& request, ByteSink& out)
{
    ProtectResult result;
    if (!request.signer && !request.encrypt)
        throw Error(Failure::Internal, "protect_message: nothing to do");

    if (!request.encrypt) {
        Spool scratch(request.spool_dir, request.memory_spool_limit);
        SignResult r = sign_message(headers, body, *request.signer, request.sign, scratch, out);
        result.headers = r.headers;
        result.signature = r;
        return result;
    }
    if (request.encrypt->recipients.empty())
        throw Error(Failure::Internal, "protect_message: encryption without recipients");

    const bool hp = request.header_protection;
    std::vector<mime::HeaderField> protected_fields;
    if (hp) {
        // RFC 9788 §4.2, §2.2: the protected header section, then one HP-Outer field per field
        // left outside (with the value it has there), so that a receiver can tell which fields
        // were confidential (obscured Subject) and which were exposed.
        protected_fields = fields_to_protect(headers);
        const auto outer = hp_outer_fields(protected_fields, request.obscure_subject);
        protected_fields.insert(protected_fields.end(), outer.begin(), outer.end());
    }
    protected_fields.insert(protected_fields.end(), request.inner_fields.begin(), request.inner_fields.end());
    const std::vector<mime::HeaderField> inner_top = inner_content_fields(headers, hp, body);

    // Triple wrapping: the encrypted entity is spooled, then signed into `out`.
    const bool triple = request.signer && request.outer_signature;
    std::optional<Spool> encrypted;
    if (triple) encrypted.emplace(request.spool_dir, request.memory_spool_limit);
    mime::Base64Encoder b64(triple ? static_cast<ByteSink&>(*encrypted) : out);
    if (request.signer) {
        // The plaintext of the envelope: the signed inner entity, spooled (its size is
        // known only once it is written).
        Spool inner(request.spool_dir, request.memory_spool_limit);
        SignParameters sp = request.sign;
        sp.protected_fields = protected_fields;
        Spool sig_scratch(request.spool_dir, request.memory_spool_limit);
        Spool signed_body(request.spool_dir, request.memory_spool_limit);
        SignResult r = sign_message(inner_top, body, *request.signer, sp, sig_scratch, signed_body);
        for (const auto& f : r.headers.add)
            if (mime::is_content_field(f.name)) mime::write_header_field(inner, f);
        inner.write(std::string_view("\r\n"));
        copy_spool(signed_body, inner);
        result.signature = r;
        cms::EnvelopeEncoder envelope(request.encrypt->recipients, request.encrypt->cipher,
                                      inner.size(), b64);
        copy_spool(inner, envelope.plaintext());
        envelope.finish();
        result.key_management = envelope.key_management();
        result.issuer_serial_fallbacks = envelope.issuer_serial_fallbacks();
    } else {
        // The plaintext: the protected fields and the canonical entity, whose size the scan
        // tells, so it streams from the body through the cipher with no spool between.
        MemorySink fields;  // bounded by the header limits the milter enforced
        for (const auto& f : protected_fields) mime::write_header_field(fields, f);
        const mime::ScanResult scan =
            mime::scan_body(inner_top, body, request.sign.limits, request.body_facts);
        const std::uint64_t size =
            fields.data().size() + mime::canonical_entity_size(inner_top, scan, body);
        cms::EnvelopeEncoder envelope(request.encrypt->recipients, request.encrypt->cipher, size,
                                      b64);
        envelope.plaintext().write(fields.data());
        mime::write_canonical_entity(inner_top, scan, body, envelope.plaintext());
        envelope.finish();
        result.key_management = envelope.key_management();
        result.issuer_serial_fallbacks = envelope.issuer_serial_fallbacks();
    }
    b64.finish();
    result.cipher = request.encrypt->cipher;
    result.recipients = request.encrypt->recipients.size();

    result.headers = content_fields_moved_inside(headers);
    const std::vector<mime::HeaderField> enveloped = {
        {"Content-Type", std::string("application/pkcs7-mime; smime-type=") + smime_type(request.encrypt->cipher) +
                             ";\r\n\tname=\"smime.p7m\""},  // folded: at most 78 characters a line
        {"Content-Transfer-Encoding", "base64"},
        {"Content-Disposition", "attachment; filename=\"smime.p7m\""}};
    if (triple) {
        Spool scratch(request.spool_dir, request.memory_spool_limit);
        auto reader = encrypted->reader();
        SignResult o = sign_message(enveloped, *reader, *request.signer, *request.outer_signature, scratch, out);
        for (const auto& f : o.headers.add)
            if (mime::is_content_field(f.name)) result.headers.add.push_back(f);
        result.outer_signature = std::move(o);
    } else {
        result.headers.add.insert(result.headers.add.end(), enveloped.begin(), enveloped.end());
    }
    // Every Subject field, not only the first: a header with two (a script, a forwarded
    // draft) would otherwise carry the second one's text in clear beside the envelope.
    if (request.obscure_subject) {
        int index = 0;
        for (const auto& h : headers)
            if (mime::iequals(h.name, "Subject")) result.headers.change.push_back({h.name, ++index, "[...]"});
    }
    return result;
}

}  // namespace ssm::smime
