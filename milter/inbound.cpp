// The inbound pipeline: forged A-R removal -> decrypt (top level only: EFAIL) -> verify
// (detached over the exact received part, or opaque) -> signer validation -> A-R, harvest,
// partner requirements. Bodies stream spool to spool.
#include "milter/inbound.h"

#include <gnutls/x509.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "base/ascii.h"
#include "base/error.h"
#include "base/gnutls_datum.h"
#include "base/log.h"
#include "base/mailbox_list.h"
#include "base/metrics.h"
#include "pki/certificate.h"
#include "policy/inbound_requirements.h"
#include "directory/receipt_store.h"
#include "milter/decryption_scope.h"
#include "milter/network.h"
#include "milter/own_keys.h"
#include "milter/receipts.h"
#include "smime/cms/decompress.h"
#include "smime/cms/decrypt.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"
#include "smime/cms/receipt.h"
#include "smime/cms/verify.h"
#include "smime/mime/content_type.h"
#include "smime/mime/scanner.h"

namespace ssm::milter {

namespace {

using smime::mime::HeaderField;

constexpr std::uint64_t kMaxSignatureObject = 4 * 1024 * 1024;
// Signatures below the top level verified per message (each costs a scan, a copy and a
// verification).
constexpr std::size_t kMaxNestedSignatures = 8;
// Parts below the top level looked at for one per message: more, since what only may be an
// opaque signature (application/pkcs7-mime without smime-type, application/octet-stream named
// *.p7m: forwarded encrypted mail looks the same) is one only when its CMS content type says
// so, and must not use up the signatures of a message that carries a few. Each look copies
// the part's header block and, for a part that may be a signature, copies its body; the
// parts do not overlap and come in body order, so one reader serves them all
// (TrackedSource): all the looks together read the body once and copy at most its size.
constexpr std::size_t kMaxNestedCandidates = 32;

Bytes read_all(const Spool& spool, std::uint64_t limit)
{
    if (spool.size() > limit)
        throw Error(Failure::MalformedMessage, "S/MIME signature object too large");
    MemorySink sink;
    auto r = spool.reader();
    copy_stream(*r, sink);
    return sink.data();
}

// The entity inside a layer just taken off (decrypted or inflated, in `plain`): its Content-*
// fields replace those of `current`, its body goes to a new spool in `replaced`. Returns its
// header block split, for the protected fields it may carry.
EntityHeader take_inner_entity(const Spool& plain, const smime::mime::Limits& limits, const MilterSettings& m,
                               std::vector<HeaderField>& current, std::unique_ptr<Spool>& replaced)
{
    auto pr = plain.reader();
    const smime::mime::HeaderBlock hb = smime::mime::parse_header_block(*pr, limits);
    EntityHeader inner = split_entity_header(hb.fields);
    replaced = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
    smime::mime::BodySource inner_body(*pr, hb.body_offset);
    copy_stream(inner_body, *replaced);
    replace_content_fields(current, inner.content);
    return inner;
}

// RFC 3274: few MUAs open compressed-data, so the gateway inflates it (bounded by
// max_message_size) into a new spool. Null, with the reason added to `detail`, when it does
// not inflate: the layer is then delivered as received.
std::unique_ptr<Spool> inflate_layer(const Spool& der, const MilterSettings& m, std::string& detail)
{
    auto plain = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
    try {
        auto der_reader = der.reader();
        smime::cms::decompress_content(*der_reader, *plain, m.max_message_size);
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage && e.failure() != Failure::MessageTooLarge) throw;
        detail += "decompress-failed " + log::field("reason", e.what()) + " ";
        return nullptr;
    }
    return plain;
}

// RFC 5652 §5.1 (RFC 4853): the content is validly signed by every signer with a valid
// signature, whatever the other SignerInfos say (another signer, or the same one with an
// algorithm we reject).
bool any_pass(const std::vector<SmimeAuthResult>& results)
{
    return std::any_of(results.begin(), results.end(),
                       [](const SmimeAuthResult& r) { return r.result == SmimeResult::Pass; });
}

// Whether some signer's certificate path validated (whatever the From says).
bool any_validated(const std::vector<SmimeAuthResult>& results)
{
    return std::any_of(results.begin(), results.end(), [](const SmimeAuthResult& r) { return r.validated; });
}

// Whether some signer's signature is mathematically right (whatever its certificate).
bool any_signature_valid(const smime::cms::VerifyResult& v)
{
    return std::any_of(v.signers.begin(), v.signers.end(), [](const auto& s) { return s.signature_valid; });
}

std::string issuer_dn(const pki::Certificate& cert)
{
    GnutlsDatum dn;
    if (gnutls_x509_crt_get_issuer_dn3(cert.get(), &dn.d, 0) != GNUTLS_E_SUCCESS) return "";
    const Bytes b = dn.bytes();
    return std::string(b.begin(), b.end());
}

// The addresses a signer must match: every mailbox of the From field. RFC 8551 §3.1 allows
// the Sender too, but the From is what the reader sees and what partner rules are about: a
// valid signature by whoever the Sender names does not vouch for the From.
std::vector<EmailAddress> authors_of(const std::vector<HeaderField>& h)
{
    // RFC 5322 §3.6 allows one From field. With two, a mail client may show the one not
    // compared here, so a signer matched to either would be "pass" for an author the reader
    // may not see: no author at all (as [outbound] from_must_match_sender refuses it).
    const auto froms = smime::mime::fields_named(h, "From");
    if (froms.size() != 1) return {};
    // An entry that is no address ("dave@partner.example, Chief Executive") is shown as an
    // author all the same, and nothing could vouch for it.
    MailboxList list = parse_mailbox_list(froms.front()->value);
    return list.unparsable == 0 ? std::move(list.addresses) : std::vector<EmailAddress>{};
}

// RFC 9788 (a Content-Type with hp=) and RFC 8551 §3.1 (message/rfc822; forwarded=no): a
// reader that knows them shows the header inside the signature in place of the outer one,
// so a signer must vouch for the From found there as well as for the outer one (which other
// readers show). `entity` is the signed entity, `hb` its header block. The authors to match:
// the outer From's and the protected From's; none when the protected From names none.
std::vector<EmailAddress> signed_authors(const std::vector<HeaderField>& fields, ByteSource& entity,
                                         const smime::mime::HeaderBlock& hb, const smime::mime::Limits& limits)
{
    std::vector<EmailAddress> authors = authors_of(fields);
    const HeaderField* ct_field = smime::mime::find_field(hb.fields, "Content-Type");
    const auto ct = ct_field ? smime::mime::parse_content_type(ct_field->value) : std::nullopt;
    if (!ct) return authors;
    std::vector<HeaderField> inner;
    if (ct->param("hp")) {
        inner = hb.fields;
    } else if (ct->is("message", "rfc822") && ascii_lowercase(ct->param("forwarded").value_or("")) == "no") {
        // Over the header limits this throws MessageTooLarge: refused (552) like any header
        // beyond them, never judged without the From it may hold.
        smime::mime::BodySource message(entity, hb.body_offset);
        inner = smime::mime::parse_header_block(message, limits).fields;
    } else {
        return authors;
    }
    if (smime::mime::fields_named(inner, "From").empty()) return authors;  // the outer From is shown
    const std::vector<EmailAddress> shown = authors_of(inner);
    if (shown.empty()) return {};
    authors.insert(authors.end(), shown.begin(), shown.end());
    return authors;
}


// Decrypted content with a layer the gateway did not look into (more S/MIME layers than it
// follows, a compressed layer that stays closed): its signatures, and their labels (§4.1),
// were never seen, and anyone holding a ciphertext for one of our keys can wrap it that way.
// Delivered, it would be content in clear no label check saw: refused (after a decryption,
// [inbound] on_undecryptable turns the refusal into its hold or deliver-as-received).
void refuse_uninspected(InboundOutcome& out, const std::string& what)
{
    out.reply = Reply::reject("554", "5.7.1", "the decrypted content holds " + what);
    out.action = "reject";
    out.detail += "uninspected-layer ";
}

// EFAIL (PRODUCT §3.2) with nested_encrypted = "reject": whether the entity of `fields` and
// `body` is a multipart with an encrypted part among clear ones. Asked of the received body
// and of every entity the gateway opens (decrypted, inflated, signed): an attacker may put a
// captured ciphertext among their own parts inside an encryption to us, or inside an opaque
// signature or a compressed layer, where a look at the received structure does not reach.
bool holds_nested_encryption(const std::vector<HeaderField>& fields, const Spool& body,
                             const smime::mime::Limits& limits)
{
    const HeaderField* ct = smime::mime::find_field(fields, "Content-Type");
    const auto parsed = ct ? smime::mime::parse_content_type(ct->value) : std::nullopt;
    if (!parsed || parsed->type != "multipart") return false;
    auto r = body.reader();
    return has_nested_encrypted_part(smime::mime::scan_body(fields, *r, limits).root);
}

void refuse_nested_encryption(InboundOutcome& out)
{
    out.reply = Reply::reject("554", "5.7.1", "an encrypted part among unencrypted parts is not accepted");
    out.action = "reject";
    out.detail += "nested-encrypted-part ";
}

}  // namespace

SmimeAuthResult InboundProcessor::judge_signer(const smime::cms::SignerVerification& signer,
                                               const std::vector<Bytes>& message_certificates,
                                               const std::vector<EmailAddress>& authors,
                                               const std::string& part)
{
    SmimeAuthResult r;
    r.part = part;
    auto cert = pki::Certificate::parse_der(signer.signer_certificate_der);
    if (!cert) {
        // Not in the message and not held for the From address: the signature cannot be
        // checked at all, which RFC 7281 §3 calls "neutral" (a wrong one is "fail").
        // (A signature refused before its certificate was looked for stays "fail".)
        const bool not_found = signer.failure.empty() || signer.failure == smime::cms::kSignerCertificateNotFound;
        r.result = not_found || signer.unsupported ? SmimeResult::Neutral : SmimeResult::Fail;
        r.reason = signer.failure.empty() ? smime::cms::kSignerCertificateNotFound : signer.failure;
        return r;
    }
    const pki::CertificateFacts facts = pki::facts(*cert);
    r.serial = to_hex(facts.serial);
    if (!signer.unsupported)
        r.algorithm = std::string(smime::scheme_name(signer.scheme)) + "/" +
                      (signer.weak_digest ? std::string("sha-1") : std::string(smime::digest_name(signer.digest)));
    r.issuer = issuer_dn(*cert);
    // The signer's address that the From names (one of its authors; RFC 3183: the domain's
    // signing authority), if the certificate has one; it is also the identifier reported when
    // the check fails.
    // The name under which the certificate speaks for `author`: the address itself, else its
    // domain's signing authority; none when it names neither.
    const auto name_for = [&facts](const EmailAddress& author) -> std::optional<std::string> {
        if (std::string key = author.key(); facts.has_address(key)) return key;
        if (std::string dsa = domain_signing_authority(author.domain().str()); facts.has_address(dsa)) return dsa;
        return std::nullopt;
    };
    std::optional<std::string> from_match;
    for (const auto& author : authors)
        if ((from_match = name_for(author))) break;
    if (from_match) r.identifier = *from_match;
    else if (!facts.email_addresses.empty()) r.identifier = facts.email_addresses.front();
    if (!signer.signature_valid) {
        // RFC 7281 §3: "neutral" for a signature that could not be processed (an algorithm
        // we do not implement), "fail" for one that was checked and is wrong.
        r.result = signer.unsupported ? SmimeResult::Neutral : SmimeResult::Fail;
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
    options.revocation = m_revocation;
    options.revocation_budget = m_revocation_budget;
    // [[pki.anchor]]: the path's anchor must vouch for the sender the signature is matched to
    // (without a From match, for the address reported instead): a partner CA's certificate for
    // one of our own addresses is not a trusted signature of that address, nor harvested.
    options.address = r.identifier;
    const std::time_t now = std::time(nullptr);
    pki::ValidationResult v =
        m_certificates.trust().validate(*cert, extras, now, pki::Purpose::EmailProtection, options);
    // Every other author the certificate also names is vouched for by this signature as much as
    // the one matched (a reader's client, or a receiver of stripped mail, sees "signed" beside
    // each): a partner CA's certificate naming its own address and one of ours must not pass
    // mail From both because the partner's address was listed first.
    if (v.valid() && from_match)
        for (const auto& author : authors) {
            const std::string named[] = {author.key(),
                                         domain_signing_authority(author.domain().str())};
            for (const std::string& a : named) {
                if (a == *from_match || !facts.has_address(a)) continue;
                options.address = a;
                auto other = m_certificates.trust().validate(*cert, extras, now, pki::Purpose::EmailProtection, options);
                if (!other.valid()) {
                    r.identifier = a;  // the author the certificate may not speak for
                    v = std::move(other);
                    break;
                }
            }
            if (!v.valid()) break;
        }
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
    r.validated = true;
    if (!from_match) {
        r.result = SmimeResult::Fail;
        r.reason = "From address does not match the signer certificate";
        return r;
    }
    // RFC 5322 §3.6.2: every mailbox of the From is an author. A reader shown "signed" beside
    // "From: dave@partner.example, ceo@acme.example" takes both as vouched for, but the
    // signature speaks only for the addresses its certificate names: anyone holding a message
    // dave signed could add an author of their choosing.
    for (const auto& author : authors)
        if (!name_for(author)) {
            r.result = SmimeResult::Fail;
            r.reason = "From names an author the signer certificate does not: " + author.key();
            return r;
        }
    r.result = SmimeResult::Pass;
    if (m_harvest && m_config.inbound.harvest) harvest(signer, *from_match, message_certificates, v.path);
    return r;
}

// PRODUCT §3.4: the certificates of a valid signer, for encrypting replies. The signer's
// certificate, and the one its sMIMEEncryptionKeyPreference names (RFC 8551 §2.5.3: a
// separate encryption certificate, carried in the message), for the From address the
// signature was matched to only: another address the certificate also names (another
// domain's, say) is not the author of this message, and storing the certificate for it let
// whoever holds it read mail meant for that address. The CA certificates of the validated path
// and of the message, so that their paths can still be built later (PRODUCT §7).
void InboundProcessor::harvest(const smime::cms::SignerVerification& signer, const std::string& address,
                               const std::vector<Bytes>& message_certificates, const std::vector<Bytes>& path)
{
    std::optional<ByteView> caps;
    if (signer.smime_capabilities_der) caps = ByteView(*signer.smime_capabilities_der);
    std::vector<Bytes> certificates = {signer.signer_certificate_der};
    // RFC 8551's attribute when it names a certificate of the message; else Microsoft's,
    // which Outlook sends (often alone) when a user signs and encrypts with two certificates.
    std::optional<Bytes> preferred =
        smime::cms::signer_preferred_encryption_certificate(signer, message_certificates);
    if (preferred && *preferred != signer.signer_certificate_der) certificates.push_back(std::move(*preferred));
    try {
        if (auto addr = EmailAddress::parse(address))
            for (const Bytes& der : certificates) m_harvest->store(*addr, der, caps);
        // The path's CAs (anchor included: harmless, a lookup finds it as the top) and, bounded,
        // the message's: untrusted chain material, validated again when used.
        std::vector<Bytes> cas(path.size() > 1 ? path.begin() + 1 : path.end(), path.end());
        for (std::size_t i = 0; i < message_certificates.size() && i < 16; ++i) cas.push_back(message_certificates[i]);
        m_harvest->store_intermediates(cas);
    } catch (const std::exception& e) {
        log::warning("harvest-failed", {{"address", address}, {"error", e.what()}});
    }
}

// RFC 5652 lets a sender leave its certificate out of SignedData (some gateways and clients
// do, relying on an earlier exchange). When a signer is not in the message, the certificates
// we already hold for the From address (static folder, imported, harvested from earlier
// signed mail) may name it; they are only candidates: the signer is still validated and
// matched like any other. LDAP directories are not asked here: no network wait at the end
// of the message.
std::vector<Bytes> InboundProcessor::known_signer_certificates(const smime::cms::VerifyResult& v,
                                                               const std::vector<HeaderField>& fields) const
{
    std::vector<Bytes> known;
    const bool missing = std::any_of(v.signers.begin(), v.signers.end(), [](const auto& s) {
        return s.signer_certificate_der.empty();
    });
    const auto authors = authors_of(fields);
    if (!missing || authors.empty()) return known;
    for (const auto& source : m_certificates.sources()) {
        if (source->name().starts_with("ldap:")) continue;
        try {
            for (const auto& c : source->lookup(authors.front())) known.push_back(c.cert.der());
        } catch (const std::exception& e) {
            log::warning("signer-lookup-failed", {{"source", source->name()}, {"error", e.what()}});
        }
    }
    return known;
}

namespace {

// Readers differ on which of two Content-Type fields counts (the first, the last): one shown
// multipart/signed with a pass, another the whole body as text, its unsigned preamble first;
// in a signature part's header, which is not signed, anyone may add a second one that a
// reader renders. The result must be about what every reader sees: a permerror saying
// `what` (the message, the signature part) has more than one. The scanner counts them
// (Part::content_type_fields); the top level counts the MTA's fields.
bool one_content_type(std::size_t content_type_fields, const char* what, std::vector<SmimeAuthResult>& results)
{
    if (content_type_fields <= 1) return true;
    results.push_back({SmimeResult::PermError, std::string(what) + "more than one Content-Type field", "", "", "", ""});
    return false;
}

// The name of a parameter the (one) Content-Type field holds twice, if any (RFC 2045 §5.1
// gives each once; "boundary" and "boundary*" are the same parameter, RFC 2231).
std::optional<std::string> repeated_parameter(const std::vector<HeaderField>& fields)
{
    const HeaderField* field = smime::mime::find_field(fields, "Content-Type");
    const auto ct = field ? smime::mime::parse_content_type(field->value) : std::nullopt;
    if (!ct) return std::nullopt;
    for (std::size_t i = 0; i < ct->params.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (ct->params[j].first == ct->params[i].first) return ct->params[i].first;
    return std::nullopt;
}

// RFC 8551 §3.5: what S/MIME signs is a MIME entity, as id-data. A signature over another
// content type (a time-stamp token, a receipt, another protocol's object under the same key)
// says nothing about mail, and its contentType attribute was what kept it apart: shown as a
// signed message it would make a signer vouch for bytes they never sent as mail. No signer is
// judged (nor harvested, nor its label or receipt request taken); false with a permerror.
bool signs_mime_entity(const smime::cms::VerifyResult& v, std::vector<SmimeAuthResult>& results)
{
    if (v.econtent_type == smime::cms::oid::kData) return true;
    results.push_back(
        {SmimeResult::PermError, "signed content type " + v.econtent_type + " is not id-data", "", "", "", ""});
    return false;
}

// A leaf that may be an opaque signature (RFC 8551 §3.4.2): application/pkcs7-mime labelled
// signed-data or signed-receipt, or without smime-type (S/MIME v2 clients), or
// application/octet-stream named *.p7m (§3.2.1). label_of and the CMS content type decide.
bool may_be_opaque_signature(const smime::mime::Part& p)
{
    if (p.kind != smime::mime::Part::Kind::Leaf || p.type != "application") return false;
    if (p.subtype == "pkcs7-mime" || p.subtype == "x-pkcs7-mime")
        return p.smime_type.empty() || p.smime_type == "signed-data" || p.smime_type == "signed-receipt";
    return p.subtype == "octet-stream" && (names_p7m_file(p.name) || names_p7m_file(p.filename));
}

// The signed parts below `p` (multipart/signed, and leaves that may be opaque signatures; not
// inside one another), with their IMAP part numbers, in order, up to `max` of them.
void signed_parts(const smime::mime::Part& p, const std::string& number, std::size_t max,
                  std::vector<std::pair<const smime::mime::Part*, std::string>>& out)
{
    for (std::size_t i = 0; i < p.children.size() && out.size() < max; ++i) {
        const auto& c = p.children[i];
        const std::string n = (number.empty() ? "" : number + ".") + std::to_string(i + 1);
        if (may_be_opaque_signature(c)) out.emplace_back(&c, n);
        if (c.type != "multipart") continue;
        if (c.subtype == "signed") out.emplace_back(&c, n);
        else signed_parts(c, n, max, out);
    }
}

}  // namespace

// Signatures below the top level, such as a list server's multipart/mixed around a signed
// message with a footer: each is reported with its part (RFC 7281 body.smime-part), but it
// signs only part of the body, so it satisfies no partner rule and is never stripped.
void InboundProcessor::verify_nested(const std::vector<HeaderField>& fields, const Spool& body,
                                     const smime::mime::Limits& limits, std::vector<SmimeAuthResult>& results,
                                     std::string& detail)
{
    const HeaderField* ct = smime::mime::find_field(fields, "Content-Type");
    const auto parsed = ct ? smime::mime::parse_content_type(ct->value) : std::nullopt;
    if (!parsed || parsed->type != "multipart" || parsed->subtype == "signed") return;
    // Mail that was never S/MIME at the top must not be refused for this opportunistic look:
    // a structure beyond the limits just has no nested results.
    std::vector<std::pair<const smime::mime::Part*, std::string>> found;
    smime::mime::ScanResult scan;
    try {
        auto r = body.reader();
        scan = smime::mime::scan_body(fields, *r, limits);
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage && e.failure() != Failure::MessageTooLarge) throw;
        return;
    }
    // One more than looked at: whether some were left.
    signed_parts(scan.root, "", kMaxNestedCandidates + 1, found);
    bool unchecked = found.size() > kMaxNestedCandidates;
    if (unchecked) found.pop_back();
    const auto& m = m_config.milter;
    std::size_t signatures = 0;  // reported: verified, or damaged (permerror)
    auto body_reader = body.reader();
    TrackedSource body_source(*body_reader);
    for (const auto& [part, number] : found) {
        if (signatures == kMaxNestedSignatures) {
            unchecked = true;
            break;
        }
        // The header block as the scanner saw it (to its empty line), in memory: bounded, as
        // parse_header_block refuses a larger one.
        if (part->body_begin - part->begin > limits.max_header_block) continue;
        MemorySink header_bytes;
        {
            SliceSource header_block(body_source, part->begin, part->body_begin);
            copy_stream(header_block, header_bytes);
        }
        smime::mime::HeaderBlock hb;
        try {
            MemorySource header_source(header_bytes.data());
            hb = smime::mime::parse_header_block(header_source, limits);
        } catch (const Error& e) {
            if (e.failure() != Failure::MalformedMessage && e.failure() != Failure::MessageTooLarge) throw;
            continue;
        }
        std::vector<HeaderField> part_fields = fields;  // the author (From) and the part's Content-*
        replace_content_fields(part_fields, split_entity_header(hb.fields).content);
        const SmimeLabel label = label_of(part_fields);
        const bool opaque = label == SmimeLabel::Pkcs7Signed || label == SmimeLabel::Pkcs7Unlabelled;
        if (label != SmimeLabel::Detached && !opaque) continue;
        // The body as parse_header_block reads the part: it ends the header block at a line
        // that is no field, where the scanner reads on to the empty line; such lines start it.
        Spool part_body(m.spool_dir, m.memory_spool_limit);
        const Bytes& header_block = header_bytes.data();
        if (hb.body_offset < header_block.size())
            part_body.write(ByteView(header_block).subspan(static_cast<std::size_t>(hb.body_offset)));
        SliceSource body_of_part(body_source, part->body_begin, part->end);
        copy_stream(body_of_part, part_body);
        // The signed content's IMAP part number, as "1" is for a signature over the whole
        // body: for multipart/signed its first part, for an opaque signature the
        // pkcs7-mime part itself, whose content is the signed entity. Not the number a
        // whole-message pass has ("1" for the first part of a multipart/mixed would read
        // exactly like one), though the other parts beside it (the attacker's "pay account
        // 6666 instead") are signed by no one.
        const std::string signed_number = opaque ? number : number + ".1";
        const auto over_part = [&](SmimeAuthResult res) {
            res.part = signed_number;
            if (res.reason.empty()) res.reason = "signature over part " + res.part + " only, not the whole message";
            results.push_back(std::move(res));
        };
        // What the top level logs of its signature (text after the base64 skipped, a label
        // that was missing or wrong, signer hints left unread) is logged of this one too,
        // followed by the part its results name: a relay's footer inside a list's part is as
        // much worth knowing as one at the top.
        std::string notes;
        std::unique_ptr<Spool> der;  // opaque: the CMS object, its transfer encoding undone
        if (opaque) {
            try {
                CmsBody cms = open_cms_body(label, part_fields, part_body, m.spool_dir, m.memory_spool_limit);
                if (cms.kind != SmimeKind::OpaqueSigned) continue;  // encrypted, compressed, no CMS
                if (!cms.note.empty()) notes += cms.note + " ";
                der = std::move(cms.der);
            } catch (const Error& e) {
                // As verify_layer answers a signature part whose encoding does not decode.
                if (e.failure() != Failure::MalformedMessage) throw;
                ++signatures;
                over_part({SmimeResult::PermError, std::string("malformed signature: ") + e.what(), "", "", "", ""});
                continue;
            }
        }
        ++signatures;
        const SmimeKind kind = opaque ? SmimeKind::OpaqueSigned : SmimeKind::DetachedSigned;
        Layer layer = verify_layer(kind, part_fields, part_body, der.get(), limits);
        notes += layer.log_detail;
        if (!notes.empty()) detail += notes + "part=" + signed_number + " ";
        for (auto& res : layer.results) over_part(std::move(res));
    }
    // Parts that may hold a signature were left (beyond either bound): whatever they hold is
    // not reported, which the log should not hide.
    if (unchecked) detail += "nested-parts-unchecked ";
}

// The results of one signature's signers (none at all is a permerror: nothing vouches for
// the content), the receipts they request (§4.2) and their signed attributes, into `layer`.
void InboundProcessor::judge_signers(const smime::cms::VerifyResult& v, const std::vector<EmailAddress>& authors,
                                     const char* no_signer_reason, Layer& layer)
{
    if (v.signers.empty()) layer.results.push_back({SmimeResult::PermError, no_signer_reason, "", "", "", ""});
    for (const auto& s : v.signers) {
        layer.results.push_back(judge_signer(s, v.certificates, authors, "1"));
        // Every signer's label is kept; process() decides which count (§4.1).
        const SmimeAuthResult& r = layer.results.back();
        const bool passed = r.result == SmimeResult::Pass;
        collect_label(s, r.identifier.empty() ? std::string("an unidentified signer") : r.identifier, m_labels, passed);
    }
    if (m_receipts) collect_receipt_requests(v, layer.results, *m_receipts);
    for (const auto& s : v.signers) {
        layer.signer_attributes.push_back(s.signed_attributes);
        for (const auto& oid : s.ignored_hints)
            layer.log_detail += "signer-hint-ignored " + log::field("attribute", oid) + " ";
        // Our own words ("signer-key-weak=rsa1024"): no sanitising needed.
        for (const auto& note : s.notes) layer.log_detail += note + " ";
    }
}

// One signature layer: the results of its signers (a damaged signature is permerror, RFC
// 7281, never a reason to refuse the mail) and the signed entity's header block, with its
// body copied out when it may be unwrapped (strip_signature, or a CMS object or another
// signature inside).
InboundProcessor::Layer InboundProcessor::verify_layer(SmimeKind kind, const std::vector<HeaderField>& fields,
                                                       const Spool& body, const Spool* der,
                                                       const smime::mime::Limits& limits)
{
    const auto& m = m_config.milter;
    Layer layer;
    std::unique_ptr<Spool> content;  // opaque: the encapsulated entity
    std::uint64_t begin = 0, end = 0;  // detached: the signed entity within `body`
    if (!one_content_type(smime::mime::fields_named(fields, "Content-Type").size(), "", layer.results)) return layer;
    try {
        if (kind == SmimeKind::DetachedSigned) {
            // Likewise a boundary (or protocol) given twice: we would cut the body at one
            // boundary, a reader taking the other sees other parts beside the pass.
            if (const auto param = repeated_parameter(fields)) {
                layer.results.push_back({SmimeResult::PermError, "Content-Type parameter " + *param + " given twice",
                                         "", "", "", ""});
                return layer;
            }
            auto r = body.reader();
            const auto scan = smime::mime::scan_body(fields, *r, limits);
            const auto& root = scan.root;
            if (root.kind != smime::mime::Part::Kind::Multipart || root.children.size() < 2) {
                layer.results.push_back({SmimeResult::PermError, "malformed multipart/signed", "", "", "", ""});
                return layer;
            }
            // RFC 1847 §2.1: exactly two parts. A third is content the signature does not cover
            // that readers show beside (or as part of) the signed message.
            if (root.children.size() > 2) {
                layer.results.push_back({SmimeResult::PermError,
                                         "multipart/signed with " + std::to_string(root.children.size()) +
                                             " parts (two allowed)",
                                         "", "", "", ""});
                return layer;
            }
            const auto& signed_part = root.children[0];
            const auto& sig_part = root.children[1];
            // RFC 8551 §3.5.3: the second part is the signature. Labelled as text (or anything a
            // reader renders), its unsigned attributes, which anyone may add to a genuine
            // signature, would be shown beside the signed part as content of the message.
            // application/octet-stream (smime.p7s) is what some clients send; readers offer it
            // as an attachment.
            if (sig_part.type != "application" ||
                (sig_part.subtype != "pkcs7-signature" && sig_part.subtype != "x-pkcs7-signature" &&
                 sig_part.subtype != "octet-stream")) {
                layer.results.push_back({SmimeResult::PermError,
                                         "signature part is " + sig_part.type + "/" + sig_part.subtype +
                                             ", not application/pkcs7-signature",
                                         "", "", "", ""});
                return layer;
            }
            // The scanner took the first of two Content-Type fields; a reader taking the last
            // renders the part all the same.
            if (!one_content_type(sig_part.content_type_fields, "signature part with ", layer.results)) return layer;
            Spool sig(m.spool_dir, m.memory_spool_limit);
            {
                auto sr = body.reader();
                SliceSource sig_body(*sr, sig_part.body_begin, sig_part.end);
                if (decode_transfer(sig_body, sig_part.transfer_encoding, sig))
                    layer.log_detail += "signature-trailing-text-ignored ";
            }
            const Bytes sig_der = read_all(sig, kMaxSignatureObject);
            const auto verify_content = [&](ByteSource& content) {
                auto v = smime::cms::verify_detached(sig_der, content);
                if (const auto known = known_signer_certificates(v, fields); !known.empty()) {
                    content.rewind();
                    v = smime::cms::verify_detached(sig_der, content, known);
                }
                return v;
            };
            auto cr = body.reader();
            SliceSource signed_content(*cr, signed_part.begin, signed_part.end);
            auto v = verify_content(signed_content);
            // RFC 8551 §3.1.1: the signer hashes the entity with CRLF line ends. Inside an
            // encryption no SMTP hop made them CRLF, and NSS (Thunderbird) and gpgsm (KMail)
            // encrypt a signed entity with bare LFs: when its bytes as they are do not verify,
            // its canonical form is tried, as OpenSSL and the MUAs do.
            // The forms tried: try_line_end_forms.
            const auto verifies_as = [&](const EntityForm& write_form) {
                Spool canonical(m.spool_dir, m.memory_spool_limit);
                signed_content.rewind();
                write_form(signed_content, canonical);
                auto canonical_reader = canonical.reader();
                auto in_form = verify_content(*canonical_reader);
                if (!any_signature_valid(in_form)) return false;
                v = std::move(in_form);
                return true;
            };
            if (scan.bare_line_ends > 0 && !any_signature_valid(v)) try_line_end_forms(verifies_as);
            if (!signs_mime_entity(v, layer.results)) return layer;
            auto er = body.reader();
            SliceSource signed_entity(*er, signed_part.begin, signed_part.end);
            const auto entity_header = smime::mime::parse_header_block(signed_entity, limits);
            judge_signers(v, signed_authors(fields, signed_entity, entity_header, limits), "no signer in the signature",
                          layer);
            begin = signed_part.begin;
            end = signed_part.end;
        } else {
            content = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
            auto dr = der->reader();
            auto v = smime::cms::verify_encapsulated(*dr, *content);
            if (const auto known = known_signer_certificates(v, fields); !known.empty()) {
                content = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
                dr->rewind();
                v = smime::cms::verify_encapsulated(*dr, *content, known);
            }
            if (v.econtent_type != smime::cms::oid::kReceipt && !signs_mime_entity(v, layer.results)) return layer;
            std::vector<EmailAddress> authors;
            if (v.econtent_type == smime::cms::oid::kData) {
                auto er = content->reader();
                const auto entity_header = smime::mime::parse_header_block(*er, limits);
                authors = signed_authors(fields, *er, entity_header, limits);
            } else {
                authors = authors_of(fields);  // a receipt: no MIME entity inside
            }
            judge_signers(v, authors, "no signer in the signed-data", layer);
            if (m_receipts && v.econtent_type == smime::cms::oid::kReceipt) m_receipts->is_receipt = true;
            // A signed receipt (RFC 2634 §2) holds a Receipt, not a MIME entity: it is matched
            // against the request we signed and delivered as received.
            if (v.econtent_type == smime::cms::oid::kReceipt) {
                // A receipt in one part of a message (verify_nested: a list or forwarder around
                // it) is reported as the signature it is, not matched against our requests:
                // what wraps it is not the receipt's sender, and nothing of the match would
                // reach the log.
                if (!m_receipts) return layer;
                if (content->size() > smime::cms::kMaxReceiptDer) {
                    metrics::count_receipt(metrics::ReceiptEvent::ReceivedMalformed);
                    layer.receipt_detail = "receipt=malformed " + log::field("reason", "receipt content over 64 KiB");
                } else {
                    layer.receipt_detail = judge_signed_receipt(m_harvest, v, read_all(*content, smime::cms::kMaxReceiptDer),
                                                                layer.results, std::time(nullptr));
                }
                return layer;
            }
        }
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage) throw;
        layer.results.assign(1, {SmimeResult::PermError, std::string("malformed signature: ") + e.what(), "", "", "", ""});
        return layer;
    }
    auto reader = content ? content->reader() : body.reader();
    std::optional<SliceSource> slice;
    ByteSource* entity = reader.get();
    if (!content) entity = &slice.emplace(*reader, begin, end);
    const auto hb = smime::mime::parse_header_block(*entity, limits);
    layer.entity_fields = hb.fields;
    const bool pass = any_pass(layer.results);
    const SmimeLabel inner = label_of(split_entity_header(hb.fields).content);
    const bool validated = any_validated(layer.results);
    // With nested_encrypted = "reject" an opaque signature's multipart entity is looked into
    // for an encrypted part among clear ones (process()).
    const bool look_for_nested = content && m_config.inbound.reject_nested_encrypted;
    if ((m_strip_signature && pass) || (m_strip_validated && validated) || inner != SmimeLabel::None ||
        look_for_nested) {
        layer.entity_body = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
        smime::mime::BodySource eb(*entity, hb.body_offset);
        copy_stream(eb, *layer.entity_body);
    }
    return layer;
}

HeaderField policy_tag(const std::string& missing)
{
    return {"X-SSM-Policy", "missing " + missing};
}

InboundOutcome InboundProcessor::process(const std::vector<HeaderField>& headers, const Spool& body,
                                         const std::vector<EmailAddress>& recipients,
                                         const policy::Treatment& treatment,
                                         const std::vector<std::string>& required_policies)
{
    m_required_policies = required_policies;
    m_strip_signature = m_config.inbound.strip_signature || treatment.strip_signature;
    switch (treatment.revocation) {
    case policy::RevocationMode::Default: m_revocation.reset(); break;
    case policy::RevocationMode::Off: m_revocation = pki::Revocation::Off; break;
    case policy::RevocationMode::SoftFail: m_revocation = pki::Revocation::SoftFail; break;
    case policy::RevocationMode::HardFail: m_revocation = pki::Revocation::HardFail; break;
    }
    m_revocation_budget = m_shared_budget ? m_shared_budget
                                          : std::make_shared<const pki::RevocationBudget>(
                                                std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    m_config.pki.revocation_time_budget));
    m_labels.clear();
    InboundOutcome out;
    m_receipts = &out.receipts;
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
    std::string unprotected_cipher;  // the decrypted content's cipher while nothing protects it
    // An EnvelopedData (CBC) found inside what was decrypted, left for the reader's client to
    // open: anyone can encrypt a captured CBC ciphertext, altered, to us with AES-GCM or sign
    // it, so neither the layer removed nor a signature around it vouches for its content.
    bool closed_cbc_inside = false;
    bool signature_ok = false;  // some signer of some signature layer passed
    std::vector<HeaderField> restored;  // protected fields found inside the encryption
    std::vector<std::string> actions;
    std::vector<SmimeAuthResult> results;

    const bool reject_nested = m_config.inbound.reject_nested_encrypted;
    if (reject_nested && holds_nested_encryption(current, *body_now, limits)) {
        refuse_nested_encryption(out);
        return out;
    }

    // Layer by layer from the outside: at most one decryption (top level, or inside outer
    // signatures: triple wrapping), signatures verified where they are, signatures inside
    // signatures too. The outer signatures of a triple wrap are taken off for the decryption
    // and put back when the encryption turns out not to be addressed to us.
    struct SignedLayer {
        std::vector<HeaderField> fields;
        std::unique_ptr<Spool> replaced;  // owns *body_now when that is not `body`
        const Spool* body_now;
    };
    std::optional<SignedLayer> signed_layer;
    int unwraps = 0, unwraps_at_save = 0;  // layers taken off (decrypted, inflated, stripped)
    int layer_no = 0;
    for (; layer_no < kMaxLayers; ++layer_no) {
        const SmimeLabel label = label_of(current);
        if (label == SmimeLabel::None) break;
        SmimeKind kind = SmimeKind::DetachedSigned;
        std::unique_ptr<Spool> der;
        bool authenticated = false;
        if (label != SmimeLabel::Detached) {
            CmsBody cms = open_cms_body(label, current, *body_now, m.spool_dir, m.memory_spool_limit);
            if (!cms.note.empty()) out.detail += cms.note + " ";
            kind = cms.kind;
            der = std::move(cms.der);
            authenticated = cms.authenticated;
        }
        if (kind == SmimeKind::None) break;
        if (kind == SmimeKind::Enveloped) {
            if (decrypted) {
                closed_cbc_inside = closed_cbc_inside || !authenticated;
                break;
            }
            auto plain = std::make_unique<Spool>(m.spool_dir, m.memory_spool_limit);
            auto der_reader = der->reader();
            // A ciphertext proves nothing about who may read it: a copy of one made for alice,
            // sent again to another of our mailboxes, must not be opened for that mailbox.
            // Only the keys that belong to every recipient are offered.
            const auto all_keys = m_keys.decrypters();
            const auto keys = keys_covering(all_keys, recipients, m_config);
            smime::cms::DecryptOutcome d;
            try {
                d = smime::cms::decrypt_envelope(*der_reader, keys, *plain);
                if (d.status != smime::cms::DecryptStatus::Decrypted) {  // `plain` untouched (NotForUs)
                    if (auto each = decrypt_for_each_recipient(*der, all_keys, recipients, m_config, *plain)) d = *each;
                }
            } catch (const smime::cms::DecryptionFailed&) {
                // Thrown only once a RecipientInfo named a key offered (decrypt.h).
                if (m_key_matched) *m_key_matched = true;
                throw;
            }
            if (d.status != smime::cms::DecryptStatus::Decrypted) {
                // An outer signature stays on it (below).
                bool other_key = false;
                if (keys.size() != all_keys.size()) {
                    auto again = der->reader();
                    other_key = smime::cms::matching_key(*again, all_keys).has_value();
                }
                out.detail += other_key ? "encrypted-for-another-recipient " : "encrypted-not-for-us ";
                // Not tried for each recipient's own key: say why (own_keys.h).
                if (other_key && recipients.size() > kMaxOwnKeyRecipients) out.detail += "too-many-own-key-recipients ";
                break;
            }
            decrypted = true;
            if (!d.auth_enveloped) unprotected_cipher = d.cipher_name;
            if (m_key_matched) *m_key_matched = true;
            // A receipt request in a signature outside the encryption (triple wrapping without
            // an inner signature) is not answered: anyone can sign a changed ciphertext of
            // ours with their own certificate, and a receipt sent only when the content
            // decrypted and was accepted (never for a held failure) would be a padding oracle
            // by mail (undecryptable.h). A request inside the encryption needs a signature
            // over the intact plaintext (where triple wrapping puts the original's attributes).
            if (m_receipts && !m_receipts->asks.empty()) {
                m_receipts->asks.clear();
                out.detail += "receipt-request=outside-encryption-not-answered ";
            }
            ++unwraps;
            actions.push_back("decrypt");
            out.detail += "decrypted=" + d.key_management + " cipher=" + d.cipher_name + " ";
            const EntityHeader inner = take_inner_entity(*plain, limits, m, current, replaced);
            body_now = replaced.get();
            if (inner.protected_header || !inner.other.empty()) restored = inner.other;
            if (reject_nested && holds_nested_encryption(current, *body_now, limits)) {
                refuse_nested_encryption(out);
                return out;
            }
            continue;
        }
        if (kind == SmimeKind::Compressed) {
            const auto plain = m_config.inbound.decompress ? inflate_layer(*der, m, out.detail) : nullptr;
            if (!plain) {
                if (decrypted) {
                    refuse_uninspected(out, "a compressed layer it could not inflate");
                    return out;
                }
                break;
            }
            actions.push_back("decompress");
            ++unwraps;
            take_inner_entity(*plain, limits, m, current, replaced);
            body_now = replaced.get();
            if (reject_nested && holds_nested_encryption(current, *body_now, limits)) {
                refuse_nested_encryption(out);
                return out;
            }
            continue;
        }
        actions.push_back("verify");
        Layer layer = verify_layer(kind, current, *body_now, der.get(), limits);
        out.detail += layer.log_detail;
        if (!layer.receipt_detail.empty()) {
            actions.push_back("receipt");
            out.detail += layer.receipt_detail + " ";
        }
        const EntityHeader eh = split_entity_header(layer.entity_fields);
        // An opaque signature's entity is not in the received structure (a detached one's is).
        if (reject_nested && kind == SmimeKind::OpaqueSigned && layer.entity_body &&
            holds_nested_encryption(eh.content, *layer.entity_body, limits)) {
            refuse_nested_encryption(out);
            return out;
        }
        // RFC 9788: with sign-then-encrypt the protected fields sit in the signed part.
        if (restored.empty() && eh.protected_header) restored = eh.other;
        const bool validated = any_validated(layer.results);
        const bool pass = any_pass(layer.results);
        const bool outermost_signature = out.signed_layers.empty();
        out.signed_layers.push_back({pass, validated, std::move(layer.signer_attributes)});
        signature_ok = signature_ok || pass;
        if (decrypted && pass) unprotected_cipher.clear();  // a signature inside the encryption
        results.insert(results.end(), layer.results.begin(), layer.results.end());
        if (!layer.entity_body) break;
        // Triple wrapping: the signed entity is the encrypted message. The outer signature
        // covers the ciphertext, so it goes with the decryption (its result stays in A-R).
        // A signature inside a signature (a gateway or list signing signed mail, perhaps
        // around an encryption) is looked into the same way.
        const SmimeLabel inner = label_of(eh.content);
        std::optional<CmsBody> inner_cms;  // opened once: its DER also feeds the inflation below
        if (inner != SmimeLabel::None && inner != SmimeLabel::Detached)
            inner_cms = open_cms_body(inner, eh.content, *layer.entity_body, m.spool_dir, m.memory_spool_limit);
        const SmimeKind inner_kind = inner == SmimeLabel::Detached ? SmimeKind::DetachedSigned
                                     : inner_cms                  ? inner_cms->kind
                                                                  : SmimeKind::None;
        const bool encrypted_inside = !decrypted && inner_kind == SmimeKind::Enveloped;
        if (decrypted && inner_kind == SmimeKind::Enveloped && !inner_cms->authenticated) closed_cbc_inside = true;
        const bool signed_inside = inner_kind == SmimeKind::DetachedSigned || inner_kind == SmimeKind::OpaqueSigned;
        // Compress-then-sign: the signature is taken off (its result stays in A-R) when the
        // content inflates; left on, most MUAs could not show the message.
        std::unique_ptr<Spool> inflated;
        if (inner_kind == SmimeKind::Compressed && m_config.inbound.decompress)
            inflated = inflate_layer(*inner_cms->der, m, out.detail);
        // Decrypted content whose compressed layer stays closed would reach the reader with
        // the signatures and labels inside it never looked at.
        if (decrypted && inner_kind == SmimeKind::Compressed && !inflated) {
            refuse_uninspected(out, "a compressed layer it could not inflate");
            return out;
        }
        const bool strip = (m_strip_signature && pass) ||
                           (m_strip_validated && validated && outermost_signature);
        if (!encrypted_inside && !signed_inside && !inflated && !strip) break;
        // Looking inside without stripping: the received form is kept, to be put back when
        // nothing below is taken off (an encryption not for us, signatures only).
        if ((encrypted_inside || signed_inside) && !signed_layer) {
            signed_layer.emplace(SignedLayer{current, std::move(replaced), body_now});
            unwraps_at_save = unwraps;
        }
        replace_content_fields(current, eh.content);
        replaced = std::move(layer.entity_body);
        body_now = replaced.get();
        if ((strip || inflated) && !encrypted_inside) {
            actions.push_back("strip");
            ++unwraps;
        }
        if (inflated) {
            actions.push_back("decompress");
            ++unwraps;
            take_inner_entity(*inflated, limits, m, current, replaced);
            body_now = replaced.get();
            if (reject_nested && holds_nested_encryption(current, *body_now, limits)) {
                refuse_nested_encryption(out);
                return out;
            }
        }
        if (!encrypted_inside && !signed_inside && !inflated) break;
    }
    // The layer budget ran out with another S/MIME layer below what was decrypted: its
    // signatures (and their labels, §4.1) were never looked at, and anyone holding a
    // ciphertext for one of our keys can wrap it in signatures of their own to get there.
    // Delivered, it would be content in clear that no label check saw: refused.
    if (decrypted && layer_no == kMaxLayers && label_of(current) != SmimeLabel::None) {
        refuse_uninspected(out, "more S/MIME layers than the gateway follows (" + std::to_string(kMaxLayers) + ")");
        return out;
    }
    // Nothing was taken off below the outermost signature looked into: the message goes on
    // as received, every signature on it (their results are reported all the same).
    if (signed_layer && unwraps == unwraps_at_save) {
        current = std::move(signed_layer->fields);
        replaced = std::move(signed_layer->replaced);
        body_now = signed_layer->body_now;
    }

    const std::size_t whole_body_results = results.size();
    m_receipts = nullptr;  // a signature over one part asks nothing of the message's recipients
    if (results.empty()) {
        verify_nested(current, *body_now, limits, results, out.detail);
        if (!results.empty()) actions.push_back("verify-part");
    }

    if (!results.empty())
        out.headers.prepend.push_back({"Authentication-Results", format_auth_results(authserv, results)});
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        out.detail += std::string("smime=") + smime_result_name(r.result) +
                      (i < whole_body_results ? "" : " part=" + r.part) +
                      (r.identifier.empty() ? "" : " " + log::field("signer", r.identifier)) +
                      (r.algorithm.empty() ? "" : " " + log::field("alg", r.algorithm)) +
                      (r.reason.empty() ? "" : " " + log::field("reason", r.reason)) + " ";
    }

    if (decrypted && closed_cbc_inside && unprotected_cipher.empty()) {
        unprotected_cipher = "enveloped-data left encrypted inside";
        out.detail += "inner-enveloped-data ";
    }
    // Content nothing protects is named in the log whatever becomes of the message.
    const bool unprotected = decrypted && !unprotected_cipher.empty();
    if (unprotected) out.detail += "integrity=none ";
    out.signature_passed = signature_ok;
    const policy::RequirementCheck requirements =
        policy::check_requirements(treatment, {signature_ok, decrypted, unprotected});
    if (requirements.refuse) {
        out.reply = Reply::reject("550", "5.7.1", "the sender's policy requires " + requirements.missing);
        out.action = "reject";
        return out;
    }
    if (!requirements.missing.empty()) {
        out.headers.add.push_back(policy_tag(requirements.missing));
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
        bool subject_done = false;
        for (const auto& f : restored) {
            if (!restorable_field(f.name)) continue;  // written by the sender, claimed as ours
            const HeaderField* outer = smime::mime::find_field(headers, f.name);
            if (outer && smime::mime::iequals(f.name, "Subject")) {
                if (subject_done) continue;
                subject_done = true;
                // Every outer Subject gives way to the protected one: readers that show the
                // last of two (RFC 5322 allows one) would show an unprotected one beside a pass.
                const auto subjects = smime::mime::fields_named(headers, "Subject");
                if (subjects.size() > 1 || outer->value != f.value) out.headers.change.push_back({outer->name, 1, f.value});
                for (std::size_t i = 1; i < subjects.size(); ++i)
                    out.headers.remove.push_back({subjects[i]->name, static_cast<int>(i + 1)});
            } else if (!outer) {
                out.headers.add.push_back(f);
            }
        }
    }
    out.action.clear();
    for (const auto& a : actions) out.action += (out.action.empty() ? "" : "+") + a;
    if (out.action.empty()) out.action = "none";
    // Labels of signatures that did not pass restrict only what the gateway decrypted: that
    // content's author is not whoever handed us the ciphertext (a replay with another From, a
    // signer we cannot validate), and a failed signature must not take its label off. Outside
    // an encryption the sender had the content in clear anyway, and an unverified label is a
    // claim anyone can make.
    if (!decrypted) std::erase_if(m_labels, [](const SignedLabel& l) { return !l.verified; });
    out.labels = std::move(m_labels);
    out.decrypted = decrypted;
    if (unprotected) out.unprotected_cipher = unprotected_cipher;
    return out;
}

}  // namespace ssm::milter
