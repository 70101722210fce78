// Classification of inbound S/MIME layers; see inbound_layers.h. Untrusted input: labels
// are only hints, the CMS contentType is read through the checked BER walker.
#include "milter/inbound_layers.h"

#include <span>

#include "base/error.h"
#include "smime/cms/content_kind.h"
#include "smime/cms/object_end.h"
#include "smime/cms/verify.h"
#include "smime/mime/content_type.h"
#include "smime/mime/decoders.h"
#include "smime/mime/encoders.h"
#include "smime/protect.h"

namespace ssm::milter {

namespace {

using smime::mime::HeaderField;
using smime::mime::iequals;

bool is_pkcs7_mime_type(const std::string& type, const std::string& subtype)
{
    return type == "application" && (subtype == "pkcs7-mime" || subtype == "x-pkcs7-mime");
}

// A file name's extension, in any case.
bool ends_with(std::string_view name, std::string_view suffix)
{
    return name.size() >= suffix.size() && iequals(name.substr(name.size() - suffix.size()), suffix);
}

}  // namespace

bool names_p7m_file(std::string_view name)
{
    return ends_with(name, ".p7m");
}

EntityHeader split_entity_header(const std::vector<HeaderField>& fields)
{
    EntityHeader e;
    for (const auto& f : fields) {
        if (smime::mime::is_content_field(f.name)) {
            e.content.push_back(f);
            if (iequals(f.name, "Content-Type"))
                if (auto ct = smime::mime::parse_content_type(f.value); ct && ct->param("hp"))
                    e.protected_header = true;
        } else if (!iequals(f.name, "MIME-Version")) {
            e.other.push_back(f);
        }
    }
    return e;
}

bool restorable_field(std::string_view name)
{
    static constexpr std::string_view kOurs = "X-SSM-";
    if (name.size() >= kOurs.size() && iequals(name.substr(0, kOurs.size()), kOurs)) return false;
    return !smime::is_trace_field(name) && !iequals(name, "SIO-Label") && !iequals(name, "HP-Outer");
}

void replace_content_fields(std::vector<HeaderField>& current, const std::vector<HeaderField>& content)
{
    std::vector<HeaderField> next;
    for (auto& f : current)
        if (!smime::mime::is_content_field(f.name)) next.push_back(f);
    next.insert(next.end(), content.begin(), content.end());
    current = std::move(next);
}

SmimeLabel label_of(const std::vector<HeaderField>& h)
{
    const HeaderField* field = smime::mime::find_field(h, "Content-Type");
    if (!field) return SmimeLabel::None;
    const auto ct = smime::mime::parse_content_type(field->value);
    if (!ct) return SmimeLabel::None;
    if (ct->is("multipart", "signed")) {
        const std::string protocol = ct->param("protocol").value_or("");
        if (protocol.empty()) {
            // RFC 1847 requires protocol, and some senders drop it anyway (OpenSSL verifies such
            // mail): micalg then tells S/MIME (sha-256, sha1, an OID) from PGP/MIME (pgp-sha256,
            // RFC 3156). Without either, nothing says what the signature is.
            const std::string micalg = ct->param("micalg").value_or("");
            return !micalg.empty() && !iequals(std::string_view(micalg).substr(0, 4), "pgp-") ? SmimeLabel::Detached
                                                                                                 : SmimeLabel::None;
        }
        if (iequals(protocol, "application/pkcs7-signature") || iequals(protocol, "application/x-pkcs7-signature"))
            return SmimeLabel::Detached;
        return SmimeLabel::None;
    }
    if (is_pkcs7_mime_type(ct->type, ct->subtype)) {
        const std::string type = ct->param("smime-type").value_or("");
        if (iequals(type, "enveloped-data") || iequals(type, "authEnveloped-data")) return SmimeLabel::Pkcs7Enveloped;
        // A signed receipt (RFC 2634 §2) is signed-data holding a Receipt.
        if (iequals(type, "signed-data") || iequals(type, "signed-receipt")) return SmimeLabel::Pkcs7Signed;
        // RFC 3274 / RFC 8551 §3.6; without smime-type its §3.2.1 file name (.p7z) says so.
        const std::string name = ct->param("name").value_or("");
        if (iequals(type, "compressed-data") || (type.empty() && ends_with(name, ".p7z")))
            return SmimeLabel::Pkcs7Compressed;
        // S/MIME v2 clients omit smime-type; certs-only is not ours, and without smime-type
        // its file name (.p7c) says so.
        if (!type.empty() || ends_with(name, ".p7c")) return SmimeLabel::None;
        return SmimeLabel::Pkcs7Unlabelled;
    }
    // RFC 8551 §3.2.1: application/octet-stream named *.p7m is application/pkcs7-mime.
    if (ct->is("application", "octet-stream")) {
        if (names_p7m_file(ct->param("name").value_or(""))) return SmimeLabel::Pkcs7Unlabelled;
        if (const HeaderField* cd = smime::mime::find_field(h, "Content-Disposition"))
            if (const auto d = smime::mime::parse_content_disposition(cd->value);
                d && names_p7m_file(d->param("filename").value_or("")))
                return SmimeLabel::Pkcs7Unlabelled;
    }
    return SmimeLabel::None;
}

namespace {

// RFC 2045 §6.1: without a Content-Transfer-Encoding field a body is 7bit. A CMS object is
// binary and opens with its SEQUENCE tag 0x30, which no base64 text does: a body labelled
// 7bit, 8bit or binary (or not labelled) that opens with 'M', that tag's first base64 letter,
// is base64 whose field a gateway dropped or rewrote. OpenSSL reads every pkcs7 body as base64
// whatever the field says. Safe as parse_transfer_encoding's lenience is: the encoding is
// outside every signature, and a body that is not base64 fails to decode.
bool base64_labelled_identity(ByteSource& src, const std::string& cte)
{
    if (!cte.empty() && cte != "7bit" && cte != "8bit" && cte != "binary") return false;
    src.rewind();
    std::uint8_t c = 0;
    while (src.read(std::span(&c, 1)) == 1 && (c == '\r' || c == '\n' || c == ' ' || c == '\t')) {
    }
    src.rewind();
    return c == 'M';
}

}  // namespace

bool decode_transfer(ByteSource& src, const std::string& labelled_cte, ByteSink& out)
{
    const std::string cte = base64_labelled_identity(src, labelled_cte) ? "base64" : labelled_cte;
    src.rewind();
    // The object's own length says where it ends (smime::cms::BerObjectEnd): what follows is
    // no part of it in any transfer encoding, and in base64 it ends the decoding there, since
    // footer text of base64 letters alone cannot be told from data by its characters.
    smime::cms::BerObjectEnd object(out);
    bool trailing = false;
    if (cte == "base64") {
        smime::mime::Base64BodyDecoder dec(object, [&object] { return object.complete(); });
        copy_stream(src, dec);
        dec.finish();
        trailing = dec.trailing_text();
    } else if (cte == "quoted-printable") {
        smime::mime::QuotedPrintableDecoder dec(object);
        copy_stream(src, dec);
        dec.finish();
    } else {
        copy_stream(src, object);
    }
    object.finish();
    return trailing || object.trailing_text();
}

CmsBody open_cms_body(SmimeLabel label, const std::vector<HeaderField>& h, const Spool& body,
                      const std::string& spool_dir, std::size_t memory_limit)
{
    CmsBody c;
    c.der = std::make_unique<Spool>(spool_dir, memory_limit);
    {
        const HeaderField* f = smime::mime::find_field(h, "Content-Transfer-Encoding");
        auto r = body.reader();
        // A disclaimer or list footer after the base64 is outside the object and every
        // protection in it: skipped and logged. It never becomes part of a decrypted or
        // unwrapped body; a body delivered as received keeps it where the relay put it.
        c.trailing_text = decode_transfer(*r, f ? smime::mime::parse_transfer_encoding(f->value) : "", *c.der);
        if (c.trailing_text) c.note = "cms-trailing-text-ignored";
    }
    auto dr = c.der->reader();
    const auto kind = smime::cms::peek_content_kind(*dr);
    c.authenticated = kind == smime::cms::ContentKind::AuthEnvelopedData;
    switch (kind) {
    case smime::cms::ContentKind::SignedData: c.kind = SmimeKind::OpaqueSigned; break;
    case smime::cms::ContentKind::EnvelopedData:
    case smime::cms::ContentKind::AuthEnvelopedData: c.kind = SmimeKind::Enveloped; break;
    case smime::cms::ContentKind::CompressedData: c.kind = SmimeKind::Compressed; break;
    case smime::cms::ContentKind::Other:
    case smime::cms::ContentKind::NotCms:
        c.label_only = true;
        c.kind = label == SmimeLabel::Pkcs7Enveloped   ? SmimeKind::Enveloped
                 : label == SmimeLabel::Pkcs7Signed     ? SmimeKind::OpaqueSigned
                 : label == SmimeLabel::Pkcs7Compressed ? SmimeKind::Compressed
                                                        : SmimeKind::None;
        return c;
    }
    const bool agrees = (label == SmimeLabel::Pkcs7Enveloped && c.kind == SmimeKind::Enveloped) ||
                        (label == SmimeLabel::Pkcs7Signed && c.kind == SmimeKind::OpaqueSigned) ||
                        (label == SmimeLabel::Pkcs7Compressed && c.kind == SmimeKind::Compressed);
    if (!agrees)
        c.note += std::string(c.note.empty() ? "" : " ") + "cms-content-type=" + smime::cms::content_kind_name(kind);
    return c;
}

bool holds_encryption(const std::vector<HeaderField>& content_fields, const Spool& body,
                      const std::string& spool_dir, std::size_t memory_limit)
{
    const SmimeLabel label = label_of(content_fields);
    if (label == SmimeLabel::None || label == SmimeLabel::Detached) return false;
    try {
        const CmsBody cms = open_cms_body(label, content_fields, body, spool_dir, memory_limit);
        return cms.kind == SmimeKind::Enveloped && !cms.label_only;
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage) throw;
        return false;  // not even its transfer encoding decodes
    }
}

bool encrypted_under_signatures(const std::vector<HeaderField>& content_fields, const Spool& body,
                                const smime::mime::Limits& limits, const std::string& spool_dir,
                                std::size_t memory_limit, int max_layers)
{
    std::vector<HeaderField> fields = content_fields;
    const Spool* now = &body;
    std::unique_ptr<Spool> owned;  // the signed entity's body below the top
    try {
        for (int layer = 0; layer < max_layers; ++layer) {
            const SmimeLabel label = label_of(fields);
            if (label == SmimeLabel::None) return false;
            Spool entity(spool_dir, memory_limit);  // the signed entity, header block and body
            if (label == SmimeLabel::Detached) {
                auto r = now->reader();
                const auto scan = smime::mime::scan_body(fields, *r, limits);
                if (scan.root.kind != smime::mime::Part::Kind::Multipart || scan.root.children.empty()) return false;
                auto pr = now->reader();
                SliceSource part(*pr, scan.root.children[0].begin, scan.root.children[0].end);
                copy_stream(part, entity);
            } else {
                const CmsBody cms = open_cms_body(label, fields, *now, spool_dir, memory_limit);
                if (cms.label_only) return false;  // no CMS object: no key of ours opens it
                if (cms.kind == SmimeKind::Enveloped) return true;
                if (cms.kind != SmimeKind::OpaqueSigned) return false;  // compressed: not inflated here
                auto dr = cms.der->reader();
                smime::cms::verify_encapsulated(*dr, entity);  // the content only: no signer judged here
            }
            auto er = entity.reader();
            const auto hb = smime::mime::parse_header_block(*er, limits);
            fields = hb.fields;
            auto next = std::make_unique<Spool>(spool_dir, memory_limit);
            smime::mime::BodySource eb(*er, hb.body_offset);
            copy_stream(eb, *next);
            owned = std::move(next);
            now = owned.get();
        }
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage) throw;
    }
    return false;  // damaged, or deeper than the inbound path follows
}

namespace {

// A certs-only part (RFC 8551 §3.7: certificates, no content; the .p7c name without an
// smime-type) cannot hide an encrypted body. Every other pkcs7-mime part may, signed-data
// and compressed-data included (an encryption inside them).
bool certs_only(const smime::mime::Part& p)
{
    return p.smime_type == "certs-only" || (p.smime_type.empty() && ends_with(p.name, ".p7c"));
}

// A part S/MIME readers may open as pkcs7-mime: labelled so (certs-only aside), an
// application/octet-stream named *.p7m (RFC 8551 §3.2.1, in Content-Type or
// Content-Disposition), or a second Content-Type saying so.
bool may_be_opened_as_cms(const smime::mime::Part& p)
{
    if (is_pkcs7_mime_type(p.type, p.subtype)) return !certs_only(p);
    if (p.type == "application" && p.subtype == "octet-stream" &&
        (names_p7m_file(p.name) || names_p7m_file(p.filename)))
        return true;
    return p.later_type_pkcs7;
}

bool encrypted_below(const smime::mime::Part& p, bool whole)
{
    if (!whole && may_be_opened_as_cms(p)) return true;
    for (std::size_t i = 0; i < p.children.size(); ++i) {
        // The signed entity of multipart/signed is the whole content of its layer.
        const bool child_whole = whole && p.type == "multipart" && p.subtype == "signed" && i == 0;
        if (encrypted_below(p.children[i], child_whole)) return true;
    }
    return false;
}

}  // namespace

bool has_nested_encrypted_part(const smime::mime::Part& root)
{
    return encrypted_below(root, true);
}

std::uint64_t signed_entity_crlf(ByteSource& in, ByteSink& out)
{
    // Not CrlfNormaliser: that one makes a lone CR a line end too, and the signer's form
    // keeps it (OpenSSL's text mode ends lines at LF only).
    std::uint8_t buf[16384];
    Bytes chunk;
    bool after_cr = false;  // the last octet of the previous read was a CR
    std::uint64_t lone_cr = 0;
    in.rewind();
    while (const std::size_t n = in.read(buf)) {
        chunk.clear();
        for (std::size_t i = 0; i < n; ++i) {
            if (after_cr && buf[i] != '\n') ++lone_cr;
            if (buf[i] == '\n' && !after_cr) chunk.push_back('\r');
            chunk.push_back(buf[i]);
            after_cr = buf[i] == '\r';
        }
        out.write(chunk);
    }
    if (after_cr) ++lone_cr;
    return lone_cr;
}

std::size_t try_line_end_forms(const std::function<bool(const EntityForm&)>& verifies_as)
{
    std::uint64_t lone_cr = 0;
    if (verifies_as([&](ByteSource& in, ByteSink& out) { lone_cr = signed_entity_crlf(in, out); })) return 1;
    if (lone_cr == 0) return 1;
    // Not tried: a form with the CRs before a line's LF taken out, as OpenSSL's text mode
    // writes it ("a\r\r\n" signed as "a\r\n"). OpenSSL's own S/MIME output carries that form,
    // so no genuine OpenSSL mail needs it; and with it anyone could add CRs before line ends
    // of a signed entity unnoticed, where a reader taking a lone CR as a line end (as
    // LineReader does) sees "Content-Type: text/html\r" end the header block early: the
    // fields after it become body text under a pass.
    verifies_as([](ByteSource& in, ByteSink& out) {
        smime::mime::CrlfNormaliser crlf(out);
        in.rewind();
        copy_stream(in, crlf);
        crlf.finish();
    });
    return 2;
}

}  // namespace ssm::milter
