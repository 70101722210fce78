// What S/MIME layer an inbound body is (PRODUCT §3): the MIME label read liberally (the
// x- types of old clients, a missing smime-type, application/octet-stream named *.p7m as
// RFC 8551 §3.2.1 allows), then, for CMS bodies, the ContentInfo itself, which decides; and
// the split of an entity's header block into Content-* and other (RFC 9788 protected) fields.
// Header fields and bodies are attacker input.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/spool.h"
#include "base/stream.h"
#include "smime/mime/header.h"
#include "smime/mime/scanner.h"

namespace ssm::milter {

enum class SmimeKind { None, Enveloped, DetachedSigned, OpaqueSigned, Compressed };

// S/MIME layers followed: sign(encrypt(sign)) is the deepest RFC 2634 §1.1 nesting; with
// compression (RFC 3274) on either side of a signature that is two layers more.
inline constexpr int kMaxLayers = 6;

// The fields of an entity's header block: Content-* ones and the others (RFC 9788 protected).
struct EntityHeader {
    std::vector<smime::mime::HeaderField> content;
    std::vector<smime::mime::HeaderField> other;
    bool protected_header = false;  // Content-Type has hp="cipher" or hp="clear"
};
EntityHeader split_entity_header(const std::vector<smime::mime::HeaderField>& fields);

// Whether a field found inside an encryption we removed, or in a signed entity's protected
// header (RFC 9788), may be put on the delivered message. Anyone can encrypt to our users
// (their certificates are public) and write any field there, so never one the gateway removes
// from the outer header or writes itself (Authentication-Results, X-SSM-*, SIO-Label), a trace
// field (Received, Return-Path, DKIM-Signature, ARC-*: no protected header carries those,
// smime::fields_to_protect), nor HP-Outer (RFC 9788 §2.2: it describes the outer header).
bool restorable_field(std::string_view name);

// Replaces `current`'s Content-* fields by `content`.
void replace_content_fields(std::vector<smime::mime::HeaderField>& current,
                            const std::vector<smime::mime::HeaderField>& content);

// What the Content-* fields claim. Pkcs7Unlabelled: a CMS body without (usable) smime-type.
enum class SmimeLabel { None, Detached, Pkcs7Enveloped, Pkcs7Signed, Pkcs7Compressed, Pkcs7Unlabelled };

SmimeLabel label_of(const std::vector<smime::mime::HeaderField>& content_fields);

// Whether a file name ends in ".p7m", in any case: application/octet-stream so named may be a
// CMS object (RFC 8551 §3.2.1).
bool names_p7m_file(std::string_view name);

// A CMS body: its DER/BER (transfer encoding undone) and what it is. The ContentInfo's
// contentType wins over the label; when the body is no CMS object we know, the label
// decides (so a damaged one fails as what it claims to be) and unlabelled ones are None.
struct CmsBody {
    SmimeKind kind = SmimeKind::None;
    std::unique_ptr<Spool> der;
    std::string note;  // for the log when the label was missing or wrong, else empty
    bool label_only = false;  // the body is no CMS object we know: `kind` is the label's claim
    bool authenticated = false;  // AuthEnvelopedData: its content cannot be altered unseen
    bool trailing_text = false;  // text after the base64 was skipped (also in `note`)
};
CmsBody open_cms_body(SmimeLabel label, const std::vector<smime::mime::HeaderField>& content_fields,
                      const Spool& body, const std::string& spool_dir, std::size_t memory_limit);

// Whether the body really is a CMS EnvelopedData or AuthEnvelopedData (its ContentInfo says
// so, whatever the label): mail its author encrypted end to end. A label alone proves
// nothing: a plaintext or an opaque signature labelled enveloped-data is not encrypted.
bool holds_encryption(const std::vector<smime::mime::HeaderField>& content_fields, const Spool& body,
                      const std::string& spool_dir, std::size_t memory_limit);

// Whether the body is an encryption at the top or under signatures only (triple wrapping:
// multipart/signed parts, opaque signed-data), as its structure shows without decrypting
// anything (a mail list asks it before its key is used, mail_list.cpp). Compressed layers
// and more than `max_layers` signatures are not looked into (false).
bool encrypted_under_signatures(const std::vector<smime::mime::HeaderField>& content_fields, const Spool& body,
                                const smime::mime::Limits& limits, const std::string& spool_dir,
                                std::size_t memory_limit, int max_layers);

// Undoes the Content-Transfer-Encoding ("base64", "quoted-printable", else none; base64 also
// under an identity label, or none, when the body opens as base64 and not as BER) of a body
// holding one CMS object into `out`, up to the end of the object (its BER length, or the end
// of its base64). Text a relay appended after it is skipped: true when that held more than
// whitespace, for the log. A body that is no BER object is copied whole.
bool decode_transfer(ByteSource& src, const std::string& cte, ByteSink& out);

// EFAIL (PRODUCT §3.2): an encrypted part somewhere below `root` other than the whole
// body — or the whole signed entity of a multipart/signed, which is triple wrapping.
bool has_nested_encrypted_part(const smime::mime::Part& root);

// A signed entity with bare LF line ends (inside an encryption no SMTP hop made them CRLF;
// NSS and gpgsm encrypt it so) written in the form its signer hashed (RFC 8551 §3.1.1), as
// OpenSSL, NSS and gpgsm read it: an LF not after a CR becomes CRLF. A lone CR ends no line
// for them: it is an octet of the text and is kept. Returns the number of lone CRs (a CR
// followed by no LF), which try_line_end_forms uses.
std::uint64_t signed_entity_crlf(ByteSource& in, ByteSink& out);

// Writes `in` in one line-end form into `out`.
using EntityForm = std::function<void(ByteSource& in, ByteSink& out)>;

// The forms a signed entity with bare line ends may have had when it was signed, tried in turn
// (`verifies_as` writes the entity in a form and verifies that) until one verifies: first
// signed_entity_crlf; then, only when the entity holds a lone CR, every lone CR a line end too
// (a relay that rewrote the line ends to CR alone). Without a lone CR the second form is the
// first one's bytes again: a second verification for nothing. Returns the forms tried.
std::size_t try_line_end_forms(const std::function<bool(const EntityForm&)>& verifies_as);

}  // namespace ssm::milter
