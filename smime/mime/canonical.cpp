// Second pass: writes the canonical entity from the scan and the rewound source. Every
// byte comes either from the source through a normaliser/encoder or from the fixed text
// here, in source order, so the output is a deterministic function of the input.
// Top-level header values are untrusted: line breaks inside them are forced to be folds.
#include "smime/mime/canonical.h"

#include <algorithm>
#include <map>

#include "base/ascii.h"
#include "base/error.h"
#include "smime/mime/content_type.h"
#include "smime/mime/decoders.h"
#include "smime/mime/encoders.h"
#include "smime/mime/line_folder.h"
#include "smime/mime/line_reader.h"
#include "smime/mime/text_charset.h"

namespace ssm::smime::mime {

namespace {

enum class OutClass { SevenBit = 0, EightBit = 1, Binary = 2 };

OutClass class_of(const LineFacts& f)
{
    if (f.has_nul || f.longest_line > 998) return OutClass::Binary;
    return f.has_8bit ? OutClass::EightBit : OutClass::SevenBit;
}

std::optional<OutClass> declared_class(const std::string& cte)
{
    if (cte.empty() || cte == "7bit") return OutClass::SevenBit;
    if (cte == "8bit") return OutClass::EightBit;
    if (cte == "binary") return OutClass::Binary;
    return std::nullopt;
}

// Header blocks and a multipart's own lines (preamble, delimiters, epilogue) are written
// through LongLineFolder, which keeps their lines within 998 octets, so only their octets
// count. (A header line with no white space to fold at stays long, for the reasons given in
// line_folder.cpp; it is labelled as if folded, since no label would carry it through SMTP
// intact either.)
OutClass class_after_folding(const LineFacts& f)
{
    if (f.has_nul) return OutClass::Binary;
    return f.has_8bit ? OutClass::EightBit : OutClass::SevenBit;
}

OutClass class_of_own_lines(const Part& p)
{
    return p.kind == Part::Kind::Multipart ? class_after_folding(p.body) : class_of(p.body);
}

bool folds_header(const Part& p)
{
    return p.header.longest_line > LongLineFolder::kMaxLine;
}

bool folds_own_lines(const Part& p)
{
    return p.kind == Part::Kind::Multipart && p.body.longest_line > LongLineFolder::kMaxLine;
}

const char* class_name(OutClass c)
{
    return c == OutClass::SevenBit ? "7bit" : (c == OutClass::EightBit ? "8bit" : "binary");
}

// Types that RFC 2046 forbids to encode: multipart/*, and the message/* subtypes that are
// whole messages or pieces of one. (Other message/* types, such as delivery-status, are
// line-oriented text and encoded like text.)
bool must_not_encode(const Part& p)
{
    if (p.type == "multipart") return true;
    return p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global" ||
                                   p.subtype == "partial" || p.subtype == "external-body");
}

// What a composite part's written form is: the worst of its header, its own lines and its
// children, each child visited once (planning a multipart through plan_part here visited every
// subtree twice per level: 2^depth, 25 s of CPU for 31 nested levels of 2 KB).
OutClass composite_class(const Part& p);

OutClass output_class(const Part& p)
{
    if (p.kind != Part::Kind::Leaf) return composite_class(p);
    OutClass c = class_after_folding(p.header);
    if (plan_part(p).treatment == Treatment::Copy) c = std::max(c, class_of(p.body));
    return c;  // re-encoded leaves are 7bit
}

OutClass composite_class(const Part& p)
{
    OutClass c = std::max(class_after_folding(p.header), class_of_own_lines(p));
    for (const auto& child : p.children) c = std::max(c, output_class(child));
    return c;
}

}  // namespace

PartPlan plan_part(const Part& p)
{
    PartPlan plan;
    const auto declared = declared_class(p.transfer_encoding);
    if (p.kind != Part::Kind::Leaf) {
        plan.treatment = Treatment::Recurse;
        const OutClass out = composite_class(p);
        // Relabel only when the label is wrong; an absent label already means 7bit.
        if (declared && *declared != out) plan.new_transfer_encoding = class_name(out);
        return plan;
    }
    // Already encoded, but in lines no transport carries (RFC 5322 §2.1.1: 998 octets; some
    // mailers write a whole base64 attachment as one line): base64 text is wrapped again,
    // quoted-printable decoded and encoded again, or an MTA would break the lines after
    // signing and the signature with them. Quoted-printable that holds raw 8-bit octets or
    // NULs (text labelled quoted-printable but never encoded) is encoded again too, so that
    // the signed entity is 7-bit (RFC 8551 §3.1.2, §3.1.3); the decoder passes such octets
    // through, as readers do. Base64 holding raw 8-bit octets or NULs (garbage a broken mailer
    // or relay put in; outside the alphabet, so every decoder skips it) is written again
    // without them, for the same reason. The decoded content stays the same.
    if (p.header_complete && p.body_begin != p.end && !must_not_encode(p)) {
        const bool dirty = !p.body.seven_bit_clean();  // long lines, raw 8-bit octets or NULs
        if (p.transfer_encoding == "base64" && dirty) plan.treatment = Treatment::Rewrap;
        if (p.transfer_encoding == "quoted-printable" && dirty) plan.treatment = Treatment::Requote;
        if (plan.treatment != Treatment::Copy) return plan;
    }
    // Nothing to encode, an encoding we must not touch, or one we do not know.
    if (!p.header_complete || p.body_begin == p.end || !declared || must_not_encode(p))
        return plan;
    const bool needs = *declared != OutClass::SevenBit || !p.body.seven_bit_clean();
    if (!needs) return plan;
    const bool text_like = p.type == "text" || p.type == "message";
    if (text_like && !p.body.has_nul) {
        plan.treatment = Treatment::QuotedPrintable;
        plan.new_transfer_encoding = "quoted-printable";
    } else {
        plan.treatment = Treatment::Base64;
        plan.new_transfer_encoding = "base64";
    }
    return plan;
}

bool output_is_7bit(const Part& part)
{
    return output_class(part) == OutClass::SevenBit;
}

namespace {

// Base64 text in lines of 76 characters (RFC 2045 §6.8). Only the alphabet and padding are
// kept: white space, line ends and every other octet are dropped, since decoders ignore them
// (RFC 2045 §6.8: "Any characters outside of the base64 alphabet are to be ignored"), and
// raw 8-bit octets or NULs left in would make the signed entity 8-bit. Nothing is decoded,
// nothing can fail.
// An '=' is kept only where it is padding, as Python's binascii (non-strict) reads it: the
// third or fourth character of a group ("QUI=", "QQ=="; the second '=' may come after other
// dropped octets), whatever follows. A group's first or second character cannot be padding:
// that '=' is dropped. A single '=' after two characters followed by a third one is not
// padding either: Python reads on as if it were absent, and so does nettle (our
// Base64Decoder) once it is gone (it refused it where it stood). Data after a closed padding
// is kept with that padding: readers differ there (Python and OpenSSL stop, JavaMail and our
// Base64BodyDecoder read on as a new piece), and each reads the output as it read the input.
class Base64Rewrapper final : public ByteSink {
public:
    explicit Base64Rewrapper(ByteSink& out) : m_out(out) {}
    using ByteSink::write;
    void write(ByteView data) override
    {
        for (const std::uint8_t c : data) {
            if (is_base64_letter(c)) {
                m_held_pad = false;  // "QQ=Q": that '=' was no padding
                put(static_cast<char>(c));
                m_in_group = (m_in_group + 1) % 4;
            } else if (c == '=') {
                equals();
            }
        }
    }
    void finish()
    {
        if (m_held_pad) put('=');  // "QQ=" at the end: truncated either way, kept as it came
        m_held_pad = false;
        if (!m_line.empty()) flush();
    }

private:
    static bool is_base64_letter(std::uint8_t c)
    {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
               c == '/';
    }

    void equals()
    {
        if (m_in_group == 3 || m_held_pad) {  // "QUI=", or "QQ==": the group closes
            if (m_held_pad) put('=');
            put('=');
            m_held_pad = false;
            m_in_group = 0;
        } else if (m_in_group == 2) {
            m_held_pad = true;  // padding only if another '=' comes before the next letter
        }
        // After 0 or 1 characters of a group: no padding, dropped.
    }

    void put(char c)
    {
        m_line.push_back(c);
        if (m_line.size() == 76) flush();
    }

    void flush()
    {
        m_line += "\r\n";
        m_out.write(std::string_view(m_line));
        m_line.clear();
    }

    ByteSink& m_out;
    std::string m_line;
    int m_in_group = 0;       // letters of the current 4-character group written
    bool m_held_pad = false;  // a '=' after two letters, not yet known to be padding
};

void write_cte(ByteSink& out, const std::string& cte)
{
    out.write("Content-Transfer-Encoding: " + cte + "\r\n");
}

// The top-level Content-* fields in their order (a replaced Content-Transfer-Encoding in
// place of the first one, appended when there was none), folded, and the empty line; an
// added Content-Type (see charset_labels) first.
void write_top_fields(const std::vector<HeaderField>& fields, const std::optional<HeaderField>& added_type,
                      const std::optional<std::string>& new_transfer_encoding, ByteSink& out)
{
    LongLineFolder folded(out, LongLineFolder::Mode::Header);
    if (added_type) write_header_field(folded, *added_type);
    bool cte_written = false;
    for (const auto& f : fields) {
        if (!is_content_field(f.name)) continue;
        if (new_transfer_encoding && iequals(f.name, "Content-Transfer-Encoding")) {
            if (!cte_written) write_cte(folded, *new_transfer_encoding);
            cte_written = true;
            continue;
        }
        write_header_field(folded, f);
    }
    if (new_transfer_encoding && !cte_written) write_cte(folded, *new_transfer_encoding);
    folded.write(std::string_view("\r\n"));
    folded.finish();
}

// The charset each text part gets when its 8-bit octets are re-encoded while its type names
// none (see CharsetLabels below).
using CharsetLabels = std::map<const Part*, const char*>;

// A top-level Content-Type value with a charset parameter added: after what closes a quoted
// string or comment left open (the parser ended the value there), else with trailing blanks
// and an empty last parameter dropped. (write_top_fields folds the field if it grows long.)
std::string with_charset(const std::string& value, const std::string& closer, const char* charset)
{
    if (!closer.empty()) return value + closer + "; charset=" + charset;
    std::string_view v = without_trailing_blanks(value);
    if (!v.empty() && v.back() == ';') v = without_trailing_blanks(v.substr(0, v.size() - 1));
    return std::string(v) + "; charset=" + charset;
}

class Writer {
public:
    // `crlf_only`: the body has no bare LF or lone CR (the scan counted none), so the
    // normaliser would pass it unchanged and is skipped for body bytes (one scan less).
    Writer(Cursor& cur, ByteSink& out, bool crlf_only, const CharsetLabels& labels)
        : m_cur(cur), m_out(out), m_copy(out), m_crlf_only(crlf_only), m_labels(labels)
    {
    }

    void top(const std::vector<HeaderField>& fields, const Part& root)
    {
        const PartPlan plan = plan_part(root);
        const auto label = m_labels.find(&root);
        if (label == m_labels.end()) {
            write_top_fields(fields, std::nullopt, plan.new_transfer_encoding, m_out);
        } else if (!root.has_content_type) {
            const HeaderField added{"Content-Type", std::string("text/plain; charset=") + label->second};
            write_top_fields(fields, added, plan.new_transfer_encoding, m_out);
        } else {
            std::vector<HeaderField> labelled = fields;
            for (auto& f : labelled)
                if (iequals(f.name, "Content-Type")) {  // the first one counts (scanner.cpp)
                    f.value = with_charset(f.value, root.content_type_closer, label->second);
                    break;
                }
            write_top_fields(labelled, std::nullopt, plan.new_transfer_encoding, m_out);
        }
        body(root, plan);
    }

private:
    // One normaliser for all copied ranges (finish() leaves it ready for the next), so
    // that thousands of small parts do not each allocate an output buffer.
    void copy_normalised(std::uint64_t to)
    {
        if (m_crlf_only) {
            m_cur.copy_to(to, m_out);  // m_copy is always flushed between copies
            return;
        }
        m_cur.copy_to(to, m_copy);
        m_copy.finish();
    }

    // A range of lines, some over 998 octets, folded on the way (line_folder.h).
    void copy_folded(std::uint64_t to, LongLineFolder::Mode mode)
    {
        LongLineFolder folder(m_out, mode);
        CrlfNormaliser lines(folder);
        m_cur.copy_to(to, lines);
        lines.finish();
        folder.finish();
    }

    // Part of `p`'s header block, up to `to`.
    void copy_header(const Part& p, std::uint64_t to)
    {
        if (folds_header(p))
            copy_folded(to, LongLineFolder::Mode::Header);
        else
            copy_normalised(to);
    }

    // A multipart's preamble, delimiter lines and epilogue, up to `to`.
    void copy_own_lines(const Part& p, std::uint64_t to)
    {
        if (folds_own_lines(p))
            copy_folded(to, LongLineFolder::Mode::Text);
        else
            copy_normalised(to);
    }

    // A nested part's header block is copied with its edits: a replaced (or added)
    // Content-Transfer-Encoding field, other such fields dropped, and a charset label.
    struct HeaderEdit {
        std::uint64_t at;      // copy up to here, then write `text`
        std::uint64_t resume;  // and go on from here (past a dropped field)
        std::string text;
    };

    void entity(const Part& p)
    {
        const PartPlan plan = plan_part(p);
        std::vector<HeaderEdit> edits;
        if (plan.new_transfer_encoding && p.header_complete) {
            const std::string cte = "Content-Transfer-Encoding: " + *plan.new_transfer_encoding + "\r\n";
            if (p.cte_fields.empty()) edits.push_back({p.header_blank_line, p.header_blank_line, cte});
            // The first Content-Transfer-Encoding field is replaced in place, others dropped.
            for (std::size_t i = 0; i < p.cte_fields.size(); ++i)
                edits.push_back({p.cte_fields[i].first, p.cte_fields[i].second, i == 0 ? cte : std::string()});
        }
        // The parameter goes on a line of its own (folded), so no line grows past 998 octets but
        // by what closes an open quoted string or comment and the ';' (and when even that does
        // not fit, no label: as before). In a header block the folder breaks (another field's
        // line over 998 octets) the edit is safe too: the folder leaves a line of at most 998
        // octets as it is, so the Content-Type's last line reaches the edit unchanged and of
        // the length the scanner measured, and the edit's own line starts a new one.
        if (const auto label = m_labels.find(&p); label != m_labels.end() && p.header_complete) {
            const std::string semicolon = p.content_type_ends_in_semicolon ? "" : ";";
            const std::uint64_t last_line =
                p.content_type_last_line + p.content_type_closer.size() + semicolon.size();
            if (p.content_type_end == 0)
                edits.push_back({p.header_blank_line, p.header_blank_line,
                                 std::string("Content-Type: text/plain; charset=") + label->second + "\r\n"});
            else if (last_line <= LongLineFolder::kMaxLine)
                edits.push_back({p.content_type_end, p.content_type_end,
                                 p.content_type_closer + semicolon + "\r\n charset=" + label->second});
        }
        std::stable_sort(edits.begin(), edits.end(),
                         [](const HeaderEdit& a, const HeaderEdit& b) { return a.at < b.at; });
        for (const auto& e : edits) {
            copy_header(p, e.at);
            m_out.write(std::string_view(e.text));
            m_cur.skip_to(e.resume);
        }
        copy_header(p, p.body_begin);
        body(p, plan);
    }

    void body(const Part& p, const PartPlan& plan)
    {
        switch (plan.treatment) {
        case Treatment::Copy: copy_normalised(p.end); break;
        case Treatment::QuotedPrintable: {
            QuotedPrintableEncoder qp(m_out);
            encode(p, qp);
            qp.finish();
            break;
        }
        case Treatment::Base64: {
            Base64Encoder b64(m_out);
            encode(p, b64);
            b64.finish();
            break;
        }
        case Treatment::Rewrap: {
            Base64Rewrapper lines(m_out);
            m_cur.copy_to(p.end, lines);
            lines.finish();
            break;
        }
        case Treatment::Requote: {
            QuotedPrintableEncoder qp(m_out);
            QuotedPrintableDecoder decoded(qp);
            encode(p, decoded);
            decoded.finish();
            qp.finish();
            break;
        }
        case Treatment::Recurse:
            for (const auto& child : p.children) {
                copy_own_lines(p, child.begin);  // preamble or delimiter line
                entity(child);
            }
            copy_own_lines(p, p.end);  // close delimiter and epilogue
            break;
        }
    }

    // Declared-binary content is taken byte for byte; anything declared line-oriented
    // (7bit, 8bit, nothing) gets CRLF line ends first, as it had on the wire.
    void encode(const Part& p, ByteSink& encoder)
    {
        if (p.transfer_encoding == "binary" || m_crlf_only) {
            m_cur.copy_to(p.end, encoder);
            return;
        }
        CrlfNormaliser n(encoder);
        m_cur.copy_to(p.end, n);
        n.finish();
    }

    Cursor& m_cur;
    ByteSink& m_out;
    CrlfNormaliser m_copy;
    bool m_crlf_only;
    const CharsetLabels& m_labels;
};

// Text whose 8-bit octets are re-encoded (quoted-printable or base64) while its type names no
// charset: once encoded, the RFC 2045 default (charset=us-ascii) would misname them, and a
// reader would decode them as ASCII. Such parts get the charset their octets honestly have
// (text_charset.h: utf-8, or unknown-8bit), the top level as nested ones.
bool needs_charset_label(const Part& p)
{
    if (p.kind != Part::Kind::Leaf || !p.charset_missing || !p.body.has_8bit) return false;
    const Treatment t = plan_part(p).treatment;
    return t == Treatment::QuotedPrintable || t == Treatment::Base64;
}

void parts_needing_labels(const Part& p, std::vector<const Part*>& out)
{
    if (needs_charset_label(p)) out.push_back(&p);
    for (const auto& child : p.children) parts_needing_labels(child, out);
}

// Reads `body` once more, only when some part needs a label (rare: mailers label 8-bit
// text), checking each such part's octets in source order; leaves `body` rewound.
CharsetLabels charset_labels(const Part& root, ByteSource& body)
{
    std::vector<const Part*> parts;
    parts_needing_labels(root, parts);
    CharsetLabels labels;
    if (parts.empty()) return labels;
    body.rewind();
    {
        Cursor cur(body);
        for (const Part* p : parts) {  // depth first: source order, no part inside another
            cur.skip_to(p->body_begin);
            Utf8Checker utf8;
            cur.copy_to(p->end, utf8);
            labels[p] = unlabelled_text_charset(utf8, true);
        }
    }
    body.rewind();
    return labels;
}

}  // namespace

void write_canonical_entity(const std::vector<HeaderField>& top_headers, const ScanResult& scan,
                            ByteSource& body, ByteSink& out)
{
    const CharsetLabels labels = charset_labels(scan.root, body);
    Cursor cur(body);
    Writer(cur, out, scan.bare_line_ends == 0, labels).top(top_headers, scan.root);
}

void write_canonical_entity(const std::vector<HeaderField>& top_headers, ByteSource& body,
                            ByteSink& out, const Limits& limits)
{
    const ScanResult scan = scan_body(top_headers, body, limits);
    write_canonical_entity(top_headers, scan, body, out);
}

namespace {

// Whether the writer copies this part and all inside it unchanged (line ends apart).
bool copied_unchanged(const Part& p)
{
    if (folds_header(p) || folds_own_lines(p)) return false;
    const PartPlan plan = plan_part(p);
    if (plan.new_transfer_encoding) return false;
    if (plan.treatment != Treatment::Copy && plan.treatment != Treatment::Recurse) return false;
    return std::all_of(p.children.begin(), p.children.end(), copied_unchanged);
}

}  // namespace

std::uint64_t canonical_entity_size(const std::vector<HeaderField>& top_headers,
                                    const ScanResult& scan, ByteSource& body)
{
    DiscardSink null;
    CountingSink count(null);
    if (!copied_unchanged(scan.root)) {
        write_canonical_entity(top_headers, scan, body, count);
        return count.count();
    }
    // Writer::top with no field replaced: the Content-* fields and the empty line, then
    // every body octet of [0, root.end) through the same normaliser, split only at line
    // boundaries, so each bare LF or lone CR adds exactly one octet.
    write_top_fields(top_headers, std::nullopt, std::nullopt, count);
    return count.count() + scan.root.end + scan.bare_line_ends;
}

std::vector<TopFieldRef> canonical_top_headers_to_remove(const std::vector<HeaderField>& top)
{
    std::vector<TopFieldRef> out;
    std::map<std::string, int> seen;  // lower-cased name -> occurrences so far
    for (std::size_t i = 0; i < top.size(); ++i) {
        const int occurrence = ++seen[ascii_lowercase(top[i].name)];
        if (is_content_field(top[i].name)) out.push_back({i, top[i].name, occurrence});
    }
    return out;
}

}  // namespace ssm::smime::mime
