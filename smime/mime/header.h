// Header fields of a message or MIME part: name helpers, the raw header block of a whole
// message file (ssmctl process), and a view of the body that follows it in the same file.
// Header bytes are untrusted: sizes are bounded by Limits, nothing is interpreted beyond
// field names and the structured values of content_type.h.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "base/stream.h"
#include "smime/mime/content_type.h"
#include "smime/mime/limits.h"

namespace ssm::smime::mime {

// As libmilter hands them over: value without the one space after the colon, folding
// (line end + whitespace) kept inside.
struct HeaderField {
    std::string name;
    std::string value;
};

// Field names compare equal but for ASCII case (base/ascii.h: locale-independent).
using ssm::iequals;
// Content-* fields (RFC 2045 §9): they describe the entity and move with it.
bool is_content_field(std::string_view name);

// Writes "Name: value" CRLF. A line break inside the value stays a fold: one not followed
// by whitespace gets a space and trailing ones are dropped, so an untrusted value can never
// end the header block or start a field of its own.
void write_header_field(ByteSink& out, const HeaderField& field);

// A structured field value folded while it is built, so that lines stay within RFC 5322
// §2.1.1's 78 characters: each piece follows a separator and a space, or the separator and
// a fold (CRLF and a tab, which milter_header_value hands to the MTA as its own fold) when
// the line would grow too long. A line keeps room for one separator character after its
// last piece; a piece longer than a line on its own stays whole. Pieces are folded only
// between, never inside: callers choose where their syntax allows folding white space.
class FoldedValue {
public:
    static constexpr std::size_t kMaxLine = 78;
    // `field_name`: the value starts after "Name: " on the first line.
    explicit FoldedValue(std::string_view field_name);
    // The first piece goes after "Name: " with no separator.
    void add(std::string_view separator, std::string_view piece);
    // Always on a new line (separator, fold, piece).
    void add_on_new_line(std::string_view separator, std::string_view piece);
    const std::string& value() const { return m_value; }

private:
    std::string m_value;
    std::size_t m_line;  // characters on the current line so far
    bool m_started = false;
};

// The first field of that name, or nullptr.
const HeaderField* find_field(const std::vector<HeaderField>& fields, std::string_view name);
// Every field of that name, in order (RFC 5322 allows one From or Sender: two are ambiguous).
std::vector<const HeaderField*> fields_named(const std::vector<HeaderField>& fields, std::string_view name);

struct HeaderBlock {
    std::vector<HeaderField> fields;
    // Where each field is in the source: [first octet, end of its last line end).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> field_ranges;
    std::uint64_t body_offset = 0;  // first body byte; == source size when there is no body
};

// Reads the header block at the start of a raw message (LF or CRLF line ends, folded
// fields). It ends at the first empty line, at a line that is neither a field nor a
// continuation (that line starts the body, as in Python's email parser), or at end of input
// (no body). A leading mbox "From " line is skipped. A field over limits.max_header_field or
// a block over limits.max_header_block throws Error(Failure::MessageTooLarge).
HeaderBlock parse_header_block(ByteSource& src, const Limits& limits);

// The bytes of `inner` from `offset` on, as a source of its own (the body of a message
// file read through parse_header_block). `inner` must outlive it.
class BodySource final : public ByteSource {
public:
    BodySource(ByteSource& inner, std::uint64_t offset);
    std::size_t read(std::span<std::uint8_t> buf) override;
    void rewind() override;
    std::uint64_t size() const override;

private:
    ByteSource& m_inner;
    std::uint64_t m_offset;
    bool m_positioned = false;
};

}  // namespace ssm::smime::mime
