// A streaming BER walker shared by the two CMS readers that cannot hold their input in memory:
// SignedData verification (verify_stream) and (Auth)EnvelopedData decryption (decrypt_stream).
// Input is untrusted: each header is checked (low tags only, lengths ≤ 8 octets, no
// indefinite primitive, well-formed end-of-contents), each child against its definite parent,
// copies against a structure budget, nesting against kMaxBerDepth. Failures are
// Error(MalformedMessage, "<context>: …") or Error(MessageTooLarge) beyond the budget.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/stream.h"

namespace ssm::smime::cms {

// Nesting depth of BER elements followed (segments of constructed OCTET STRINGs included).
inline constexpr int kMaxBerDepth = 32;

struct BerHeader {
    std::uint8_t tag = 0;
    bool indefinite = false;
    std::uint64_t length = 0;
    Bytes raw;  // the header octets as received
    bool constructed() const { return tag & 0x20; }
    bool eoc() const { return tag == 0 && !indefinite && length == 0; }
};

// A constructed element being read: where it ends (definite) or that it ends with an
// end-of-contents (indefinite).
struct BerFrame {
    bool indefinite = false;
    std::uint64_t end = 0;
};

class BerStream {
public:
    // `context` names the structure in error messages ("SignedData", "EnvelopedData").
    BerStream(ByteSource& src, std::string context) : m_src(src), m_context(std::move(context)) {}
    BerStream(const BerStream&) = delete;
    BerStream& operator=(const BerStream&) = delete;

    [[noreturn]] void malformed(const std::string& what) const;
    // Names the structure from here on (once its content type has been read).
    void set_context(std::string context) { m_context = std::move(context); }

    std::uint64_t position() const { return m_consumed; }
    // True when the input has no further octet.
    bool at_eof() { return !fill(); }

    BerHeader header();
    // Sends the next `n` octets to `sink` and/or appends them to `out` (either may be null).
    void take(std::uint64_t n, ByteSink* sink, Bytes* out);

    // Enters the constructed element `h` (just read), which must fit in `parent` if given.
    BerFrame open(const BerHeader& h, const BerFrame* parent);
    // True at the end of a definite frame (an indefinite one ends at its end-of-contents).
    bool at_end(const BerFrame& f);
    // Reads the next child header of `f` into `h`; false at the end of `f` (its
    // end-of-contents, if any, consumed).
    bool next_child(BerFrame& f, BerHeader& h);
    // No further child in `f` (its end-of-contents, if any, consumed).
    void expect_end(BerFrame& f, const char* what);

    // Reads the rest of the element whose header is `h` into `out` (header included; null:
    // skipped), charged to `budget`.
    void copy_element(const BerHeader& h, Bytes* out, std::size_t& budget, int depth);
    // The next child of `f`, which must have tag `tag`, copied whole (header included).
    Bytes read_child(BerFrame& f, std::uint8_t tag, const char* what, std::size_t& budget, int depth);
    // The value of an OCTET STRING whose header `h` was just read (the caller checked its
    // tag): primitive, or constructed from (nested) OCTET STRING segments, to `out`.
    void stream_octets(const BerHeader& h, const BerFrame* parent, ByteSink& out, int depth);

private:
    bool fill();

    ByteSource& m_src;
    std::string m_context;
    std::vector<std::uint8_t> m_buf = std::vector<std::uint8_t>(64 * 1024);
    std::size_t m_pos = 0, m_len = 0;
    std::uint64_t m_consumed = 0;
};

}  // namespace ssm::smime::cms
