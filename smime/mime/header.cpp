// Header field helpers and the raw header block reader. The input is an untrusted message
// file; memory is bounded by Limits and every line is read through the capped LineReader.
#include "smime/mime/header.h"

#include <algorithm>
#include <array>

#include "base/error.h"
#include "smime/mime/line_reader.h"

namespace ssm::smime::mime {

bool is_content_field(std::string_view name)
{
    return name.size() > 8 && iequals(name.substr(0, 8), "content-");
}

FoldedValue::FoldedValue(std::string_view field_name) : m_line(field_name.size() + 2) {}

void FoldedValue::add(std::string_view separator, std::string_view piece)
{
    if (!m_started) {
        m_started = true;
        m_value = piece;
        m_line += piece.size();
    } else if (m_line + separator.size() + 1 + piece.size() < kMaxLine) {  // <: room for a separator
        m_value.append(separator).append(" ").append(piece);
        m_line += separator.size() + 1 + piece.size();
    } else {
        add_on_new_line(separator, piece);
    }
}

void FoldedValue::add_on_new_line(std::string_view separator, std::string_view piece)
{
    m_started = true;
    m_value.append(separator).append("\r\n\t").append(piece);
    m_line = 1 + piece.size();
}

const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name)
{
    for (const auto& f : fields)
        if (iequals(f.name, name)) return &f;
    return nullptr;
}

std::vector<const HeaderField*> fields_named(const std::vector<HeaderField>& fields, std::string_view name)
{
    std::vector<const HeaderField*> out;
    for (const auto& f : fields)
        if (iequals(f.name, name)) out.push_back(&f);
    return out;
}

namespace {

// Length of the field name when the line starts a field ("Name:" with optional WSP before
// the colon, RFC 5322 §3.6.8 printable characters), else 0.
std::size_t field_name_length(std::string_view line, std::size_t* colon)
{
    std::size_t i = 0;
    while (i < line.size() && line[i] > 32 && line[i] < 127 && line[i] != ':') ++i;
    const std::size_t name_len = i;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (name_len == 0 || i >= line.size() || line[i] != ':') return 0;
    *colon = i;
    return name_len;
}

void append_line_end(std::string& s, Eol e)
{
    switch (e) {
    case Eol::Crlf: s += "\r\n"; break;
    case Eol::Lf: s += "\n"; break;
    case Eol::Cr: s += "\r"; break;
    case Eol::None: break;
    }
}

}  // namespace

HeaderBlock parse_header_block(ByteSource& src, const Limits& limits)
{
    HeaderBlock block;
    Cursor cur(src);
    // One byte more than the limit, so that an over-long line is seen as such.
    LineReader reader(cur, limits.max_header_field + 1);
    Line line;
    std::uint64_t block_bytes = 0;
    std::uint64_t field_bytes = 0;
    bool first = true;
    Eol pending_eol = Eol::None;  // the current field's last line end, added if it continues
    for (;;) {
        if (!reader.next(line)) {
            block.body_offset = cur.pos();  // no empty line: no body
            return block;
        }
        block_bytes += line.end() - line.begin;
        if (block_bytes > limits.max_header_block)
            throw Error(Failure::MessageTooLarge, "header block exceeds the configured limit");
        if (line.length == 0) {
            block.body_offset = line.end();
            return block;
        }
        const bool was_first = first;
        first = false;
        const bool continuation = line.head[0] == ' ' || line.head[0] == '\t';
        if (continuation && !block.fields.empty()) {
            field_bytes += line.end() - line.begin;
            if (field_bytes > limits.max_header_field)
                throw Error(Failure::MessageTooLarge, "header field exceeds the configured limit");
            auto& value = block.fields.back().value;
            append_line_end(value, pending_eol);
            value += line.head;
            pending_eol = line.eol;
            block.field_ranges.back().second = line.end();
            continue;
        }
        if (line.end() - line.begin > limits.max_header_field)
            throw Error(Failure::MessageTooLarge, "header field exceeds the configured limit");
        std::size_t colon = 0;
        const std::size_t name_len = continuation ? 0 : field_name_length(line.head, &colon);
        if (name_len == 0) {
            if (was_first && line.head.rfind("From ", 0) == 0) continue;  // mbox postmark
            block.body_offset = line.begin;
            return block;
        }
        std::string_view value = std::string_view(line.head).substr(colon + 1);
        if (!value.empty() && (value[0] == ' ' || value[0] == '\t')) value.remove_prefix(1);
        block.fields.push_back({line.head.substr(0, name_len), std::string(value)});
        block.field_ranges.emplace_back(line.begin, line.end());
        field_bytes = line.end() - line.begin;
        pending_eol = line.eol;
    }
}

BodySource::BodySource(ByteSource& inner, std::uint64_t offset) : m_inner(inner), m_offset(offset)
{
}

std::size_t BodySource::read(std::span<std::uint8_t> buf)
{
    if (!m_positioned) {
        m_inner.rewind();
        std::array<std::uint8_t, 16 * 1024> skip;
        std::uint64_t left = m_offset;
        while (left > 0) {
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(left, skip.size()));
            const std::size_t n = m_inner.read(std::span(skip.data(), want));
            if (n == 0) break;
            left -= n;
        }
        m_positioned = true;
    }
    return m_inner.read(buf);
}

void BodySource::rewind()
{
    m_positioned = false;
}

std::uint64_t BodySource::size() const
{
    const std::uint64_t total = m_inner.size();
    return total > m_offset ? total - m_offset : 0;
}

void write_header_field(ByteSink& out, const HeaderField& f)
{
    std::string line = f.name + ": ";
    const std::string& v = f.value;
    std::size_t end = v.size();
    while (end > 0 && (v[end - 1] == '\r' || v[end - 1] == '\n')) --end;
    for (std::size_t i = 0; i < end; ++i) {
        const char c = v[i];
        if (c != '\r' && c != '\n') {
            line.push_back(c);
            continue;
        }
        if (c == '\r' && i + 1 < end && v[i + 1] == '\n') ++i;
        line += "\r\n";
        if (i + 1 < end && v[i + 1] != ' ' && v[i + 1] != '\t') line.push_back(' ');
    }
    line += "\r\n";
    out.write(line);
}

}  // namespace ssm::smime::mime
