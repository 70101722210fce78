// The MIME structure scanner: a line-driven state machine over a stack of open entities.
// Input is untrusted and streamed; per line only a capped head is kept, per entity a few
// offsets and flags, so memory is bounded by Limits::max_parts, not by the message size.
#include "smime/mime/scanner.h"

#include <algorithm>
#include <optional>

#include "base/ascii.h"
#include "base/error.h"
#include "smime/mime/body_facts.h"
#include "smime/mime/content_type.h"
#include "smime/mime/line_reader.h"

namespace ssm::smime::mime {

void LineFacts::add(const LineFacts& o)
{
    has_8bit |= o.has_8bit;
    has_nul |= o.has_nul;
    has_bare_cr |= o.has_bare_cr;
    has_lf_only |= o.has_lf_only;
    longest_line = std::max(longest_line, o.longest_line);
}

namespace {

// RFC 2046 allows 70 characters; longer ones are accepted up to this, then ignored
// (the multipart is treated as a leaf). The head kept of body lines covers it.
constexpr std::size_t max_boundary = 200;
constexpr std::size_t body_head_cap = max_boundary + 8;

LineFacts facts_of(const Line& l)
{
    LineFacts f;
    f.has_8bit = l.has_8bit;
    f.has_nul = l.has_nul;
    f.has_bare_cr = l.eol == Eol::Cr;
    f.has_lf_only = l.eol == Eol::Lf;
    f.longest_line = l.length;
    return f;
}

// Facts of a header field as we will write it ("Name: value", folding kept).
LineFacts facts_of_field(const HeaderField& h)
{
    LineFacts f;
    std::uint64_t len = h.name.size() + 2;
    for (std::size_t i = 0; i < h.value.size(); ++i) {
        const auto c = static_cast<unsigned char>(h.value[i]);
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < h.value.size() && h.value[i + 1] == '\n') ++i;
            f.longest_line = std::max(f.longest_line, len);
            len = 0;
            continue;
        }
        if (c >= 0x80) f.has_8bit = true;
        if (c == 0) f.has_nul = true;
        ++len;
    }
    f.longest_line = std::max(f.longest_line, len);
    return f;
}

// 0: not a delimiter of `boundary`; 1: a delimiter; 2: the close delimiter.
int match_delimiter(const Line& l, const std::string& boundary)
{
    const std::string_view head = l.head;
    if (head.size() < boundary.size() + 2 || head.compare(0, 2, "--") != 0 ||
        head.compare(2, boundary.size(), boundary) != 0)
        return 0;
    std::string_view rest = head.substr(boundary.size() + 2);
    int kind = 1;
    if (rest.substr(0, 2) == "--") {
        kind = 2;
        rest.remove_prefix(2);
    }
    // Only transport padding (linear white space) may follow.
    if (rest.find_first_not_of(" \t") != std::string_view::npos || !l.tail_is_wsp) return 0;
    return kind;
}

bool is_identity_encoding(const std::string& cte)
{
    return cte.empty() || cte == "7bit" || cte == "8bit" || cte == "binary";
}

enum class State { Header, Body, Child, Epilogue };
enum class FieldKind { None, Other, ContentType, TransferEncoding, Disposition };

struct Frame {
    Part* part = nullptr;
    State state = State::Header;
    std::size_t depth = 0;
    bool in_digest = false;  // default type message/rfc822 (RFC 2046 §5.1.5)
    FieldKind field = FieldKind::None;
    std::uint64_t field_bytes = 0;
    std::string field_value;
    std::optional<std::string> content_type;
    std::optional<std::string> transfer_encoding;
    std::optional<std::string> disposition;
    bool later_type_pkcs7 = false;  // a second Content-Type field claims application/pkcs7-mime
};

bool is_pkcs7_mime(const ContentType& ct)
{
    return ct.type == "application" && (ct.subtype == "pkcs7-mime" || ct.subtype == "x-pkcs7-mime");
}

class Scanner {
public:
    Scanner(const Limits& limits, ScanResult& result) : m_limits(limits), m_result(result) {}

    void run(const std::vector<HeaderField>& top, ByteSource& body, const BodyFacts* known)
    {
        Part& root = m_result.root;
        Frame f;
        f.part = &root;
        for (const auto& h : top) {
            if (!is_content_field(h.name)) continue;
            root.header.add(facts_of_field(h));
            if (iequals(h.name, "Content-Type")) {
                ++root.content_type_fields;
                if (!f.content_type) f.content_type = h.value;
            }
            if (iequals(h.name, "Content-Transfer-Encoding") && !f.transfer_encoding)
                f.transfer_encoding = h.value;
            if (iequals(h.name, "Content-Disposition") && !f.disposition) f.disposition = h.value;
        }
        m_result.part_count = 1;
        m_stack.push_back(std::move(f));
        begin_body(m_stack.back());
        if (known && root.kind == Part::Kind::Leaf) {
            // A single part: every line is a body line of the root, nothing else is looked
            // for (delimiters only matter inside a multipart), so the gathered facts are
            // exactly what the loop below would find.
            if (!known->finished() || known->size() != body.size())
                throw Error(Failure::Internal, "body facts do not describe this body");
            root.body = known->facts();
            m_result.bare_line_ends = known->bare_line_ends();
            close_frame(m_stack.back(), known->size());
            m_stack.pop_back();
            return;
        }

        Cursor cur(body);
        LineReader reader(cur, body_head_cap);
        Line line;
        for (;;) {
            reader.set_head_cap(m_stack.back().state == State::Header ? m_limits.max_header_field + 1
                                                                      : body_head_cap);
            if (!reader.next(line)) break;
            if (line.eol == Eol::Lf || line.eol == Eol::Cr) ++m_result.bare_line_ends;
            on_line(line);
            m_eol_begin = line.begin + line.length;
        }
        const std::uint64_t eof = cur.pos();
        while (!m_stack.empty()) {
            close_frame(m_stack.back(), eof);
            m_stack.pop_back();
        }
    }

private:
    void on_line(const Line& l)
    {
        if (l.head.size() >= 2 && l.head[0] == '-' && l.head[1] == '-') {
            for (std::size_t i = m_stack.size(); i-- > 0;) {
                const Frame& f = m_stack[i];
                if (f.part->kind != Part::Kind::Multipart ||
                    (f.state != State::Body && f.state != State::Child))
                    continue;
                if (const int m = match_delimiter(l, f.part->boundary)) {
                    on_delimiter(i, l, m == 2);
                    return;
                }
            }
        }
        Frame& top = m_stack.back();
        if (top.state == State::Header)
            header_line(top, l);
        else
            top.part->body.add(facts_of(l));
    }

    void on_delimiter(std::size_t index, const Line& l, bool close)
    {
        // Everything opened inside the multipart ends where the delimiter's line end starts.
        while (m_stack.size() > index + 1) {
            close_frame(m_stack.back(), m_eol_begin);
            m_stack.pop_back();
        }
        Frame& f = m_stack[index];
        f.part->body.add(facts_of(l));
        if (close) {
            f.state = State::Epilogue;
            return;
        }
        f.state = State::Child;
        Part child;
        child.begin = l.end();
        push_child(f, std::move(child), f.part->subtype == "digest");
    }

    void push_child(Frame& parent, Part child, bool in_digest)
    {
        if (++m_result.part_count > m_limits.max_parts)
            throw Error(Failure::MessageTooLarge, "MIME part count exceeds the configured limit");
        if (parent.depth + 1 > m_limits.max_depth)
            throw Error(Failure::MessageTooLarge, "MIME nesting exceeds the configured depth");
        m_result.max_depth = std::max(m_result.max_depth, parent.depth + 1);
        parent.part->children.push_back(std::move(child));
        Frame f;
        f.part = &parent.part->children.back();
        f.depth = parent.depth + 1;
        f.in_digest = in_digest;
        m_stack.push_back(std::move(f));  // `parent` may dangle from here on
    }

    void header_line(Frame& f, const Line& l)
    {
        Part& p = *f.part;
        p.header.add(facts_of(l));
        if (l.length == 0) {
            finish_field(f);
            p.header_blank_line = l.begin;
            p.body_begin = l.end();
            begin_body(f);
            return;
        }
        const std::uint64_t bytes = l.end() - l.begin;
        const bool continuation = l.head[0] == ' ' || l.head[0] == '\t';
        if (continuation && f.field != FieldKind::None) {
            f.field_bytes += bytes;
            check_field_size(f.field_bytes);
            if (f.field != FieldKind::Other) f.field_value += l.head;
            if (f.field == FieldKind::TransferEncoding) p.cte_fields.back().second = l.end();
            if (f.field == FieldKind::ContentType && !f.content_type) {
                p.content_type_end = l.begin + l.length;
                p.content_type_last_line = l.length;
            }
            return;
        }
        finish_field(f);
        check_field_size(bytes);
        f.field_bytes = bytes;
        f.field = FieldKind::Other;
        const auto colon = l.head.find(':');
        if (colon == std::string::npos) return;  // not a field: kept, carries no meaning
        std::string_view name = std::string_view(l.head).substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        if (iequals(name, "Content-Type")) {
            f.field = FieldKind::ContentType;
            ++p.content_type_fields;
            if (!f.content_type) {
                p.content_type_end = l.begin + l.length;
                p.content_type_last_line = l.length;
            }
        } else if (iequals(name, "Content-Transfer-Encoding")) {
            f.field = FieldKind::TransferEncoding;
            p.cte_fields.emplace_back(l.begin, l.end());
        } else if (iequals(name, "Content-Disposition")) {
            f.field = FieldKind::Disposition;
        } else {
            return;
        }
        f.field_value = l.head.substr(colon + 1);
    }

    void check_field_size(std::uint64_t bytes) const
    {
        if (bytes > m_limits.max_header_field)
            throw Error(Failure::MessageTooLarge, "MIME header field exceeds the configured limit");
    }

    // The first Content-Type and Content-Transfer-Encoding fields count (duplicates are
    // invalid, RFC 2045 §3; the first is what most readers use). A later Content-Type that
    // claims pkcs7-mime is remembered: some reader may take that one (EFAIL, PRODUCT §3.2).
    void finish_field(Frame& f)
    {
        if (f.field == FieldKind::ContentType && f.content_type)
            if (const auto later = parse_content_type(f.field_value); later && is_pkcs7_mime(*later))
                f.later_type_pkcs7 = true;
        if (f.field == FieldKind::ContentType && !f.content_type) f.content_type = f.field_value;
        if (f.field == FieldKind::Disposition && !f.disposition) f.disposition = f.field_value;
        if (f.field == FieldKind::TransferEncoding && !f.transfer_encoding)
            f.transfer_encoding = f.field_value;
        f.field = FieldKind::None;
        f.field_value.clear();
    }

    // Applies the declared type and encoding (with RFC 2045/2046 defaults).
    void resolve(Frame& f)
    {
        Part& p = *f.part;
        if (f.in_digest) {
            p.type = "message";
            p.subtype = "rfc822";
        }
        if (f.content_type) {
            p.has_content_type = true;
            // RFC 2045 §5.2: an unparsable Content-Type means text/plain.
            if (auto ct = parse_content_type(*f.content_type)) {
                p.type = ct->type;
                p.subtype = ct->subtype;
                p.boundary = ct->param("boundary").value_or("");
                p.smime_type = ascii_lowercase(ct->param("smime-type").value_or(""));
                p.name = ct->param("name").value_or("");
                const std::optional<std::string> closer = value_closer(*f.content_type);
                p.charset_missing = p.type == "text" && !ct->param("charset") && closer;
                p.content_type_closer = closer.value_or("");
                const std::string_view v = without_trailing_blanks(*f.content_type);
                p.content_type_ends_in_semicolon = p.content_type_closer.empty() && !v.empty() && v.back() == ';';
            } else {
                p.type = "text";
                p.subtype = "plain";
            }
        } else {
            p.charset_missing = p.type == "text";  // not in a digest: message/rfc822 there
        }
        if (f.transfer_encoding) p.transfer_encoding = parse_transfer_encoding(*f.transfer_encoding);
        if (f.disposition)
            if (const auto d = parse_content_disposition(*f.disposition)) p.filename = d->param("filename").value_or("");
        p.later_type_pkcs7 = f.later_type_pkcs7;
    }

    void begin_body(Frame& f)
    {
        resolve(f);
        Part& p = *f.part;
        f.state = State::Body;
        if (p.type == "multipart" && !p.boundary.empty() && p.boundary.size() <= max_boundary) {
            p.kind = Part::Kind::Multipart;
        } else if (p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global") &&
                   is_identity_encoding(p.transfer_encoding)) {
            // The body is a whole message: scan its header block and body as an entity.
            p.kind = Part::Kind::Message;
            f.state = State::Child;
            Part child;
            child.begin = p.body_begin;
            push_child(f, std::move(child), false);
        }
    }

    void close_frame(Frame& f, std::uint64_t cut)
    {
        Part& p = *f.part;
        if (f.state == State::Header) {
            // No empty line: a header block without body.
            finish_field(f);
            resolve(f);
            p.header_complete = false;
            p.body_begin = p.end = p.header_blank_line = std::max(p.begin, cut);
        } else {
            p.end = std::max(p.body_begin, cut);
        }
        if (p.kind == Part::Kind::Multipart && f.state != State::Epilogue)
            p.closing_boundary_missing = true;
    }

    const Limits& m_limits;
    ScanResult& m_result;
    std::vector<Frame> m_stack;
    std::uint64_t m_eol_begin = 0;  // where the previous line's line end started
};

}  // namespace

ScanResult scan_body(const std::vector<HeaderField>& top_headers, ByteSource& body,
                     const Limits& limits, const BodyFacts* known)
{
    ScanResult result;
    Scanner(limits, result).run(top_headers, body, known);
    return result;
}

}  // namespace ssm::smime::mime
