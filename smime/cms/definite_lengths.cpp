// Indefinite BER lengths made definite, and BER in DER form as far as encodings alone tell;
// see definite_lengths.h. Hand-written header parsing on untrusted input, in memory: every
// length is checked against what is left of its parent before anything is read.
#include "smime/cms/definite_lengths.h"

#include "base/error.h"
#include "smime/cms/ber_stream.h"
#include "smime/cms/der_length.h"

namespace ssm::smime::cms {
namespace {

[[noreturn]] void malformed(const char* what)
{
    throw Error(Failure::MalformedMessage, std::string("BER: ") + what);
}

struct Header {
    std::size_t tag_size = 0;  // tag octets
    std::size_t size = 0;      // tag and length octets
    bool constructed = false;
    bool indefinite = false;
    bool eoc = false;
    std::size_t length = 0;  // content octets (definite only)
};

Header read_header(ByteView b, std::size_t pos, std::size_t end)
{
    Header h;
    std::size_t i = pos;
    auto next = [&] {
        if (i >= end) malformed("truncated header");
        return b[i++];
    };
    const std::uint8_t tag = next();
    h.constructed = tag & 0x20;
    if ((tag & 0x1f) == 0x1f) {  // high tag number: base-128 octets, the last without bit 8
        int n = 0;
        while (next() & 0x80)
            if (++n > 4) malformed("tag number too long");
    }
    h.tag_size = i - pos;
    const std::uint8_t first = next();
    if (first == 0x80) {
        if (!h.constructed) malformed("indefinite length on a primitive element");
        h.indefinite = true;
    } else if (first < 0x80) {
        h.length = first;
    } else {
        const int n = first & 0x7f;
        if (n > int(sizeof(std::size_t))) malformed("length too long");
        for (int k = 0; k < n; ++k) {
            if (h.length >> (8 * sizeof(std::size_t) - 8)) malformed("length overflows");
            h.length = (h.length << 8) | next();
        }
    }
    h.size = i - pos;
    h.eoc = tag == 0 && first == 0;
    // Universal tag number 0 is reserved for end-of-contents (X.690 §8.1.5), which is 00 00 and
    // nothing else: copied as an element, 00 01 41 would be a thing no ASN.1 type has.
    if ((tag & 0xdf) == 0 && !h.eoc) malformed("end-of-contents octets other than 00 00");
    if (!h.indefinite && h.length > end - i) malformed("element longer than its parent");
    return h;
}

// The tag octets given, the definite length of `content`, then `content`.
void append_tlv(Bytes& out, ByteView tag, ByteView content)
{
    const Bytes length = der_header(0, content.size());
    out.insert(out.end(), tag.begin(), tag.end());
    out.insert(out.end(), length.begin() + 1, length.end());
    out.insert(out.end(), content.begin(), content.end());
}

// Appends the elements of b[pos, end) to `out`; with `until_eoc`, the elements up to the
// end-of-contents of an indefinite parent (consumed, not copied). Returns the position after
// what was read. `changed` is set when anything was rewritten.
std::size_t copy_elements(ByteView b, std::size_t pos, std::size_t end, bool until_eoc, Bytes& out, bool& changed,
                          int depth)
{
    if (depth > kMaxBerDepth) malformed("nested too deeply");
    while (pos < end) {
        const Header h = read_header(b, pos, end);
        const std::size_t content = pos + h.size;
        if (h.eoc) {
            if (!until_eoc) malformed("end-of-contents inside a definite-length element");
            return content;
        }
        if (!h.constructed) {
            out.insert(out.end(), b.begin() + std::ptrdiff_t(pos), b.begin() + std::ptrdiff_t(content + h.length));
            pos = content + h.length;
            continue;
        }
        Bytes inner;
        bool inner_changed = h.indefinite;
        const std::size_t stop = h.indefinite ? end : content + h.length;
        const std::size_t after = copy_elements(b, content, stop, h.indefinite, inner, inner_changed, depth + 1);
        if (inner_changed) {  // the tag octets as received, then the new definite length
            append_tlv(out, b.subspan(pos, h.tag_size), inner);
            changed = true;
        } else {
            out.insert(out.end(), b.begin() + std::ptrdiff_t(pos), b.begin() + std::ptrdiff_t(after));
        }
        pos = after;
    }
    if (until_eoc) malformed("missing end-of-contents");
    return pos;
}

// Universal string types (X.690 §8.6, §8.7, §8.23; the times are VisibleStrings, §8.25,
// §8.26): constructed in BER at the sender's choice, primitive in DER (§10.2).
bool is_string_type(std::uint8_t primitive_tag)
{
    switch (primitive_tag) {
    case 0x03:  // BIT STRING
    case 0x04:  // OCTET STRING
    case 0x0c:  // UTF8String
    case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17: case 0x18:
    case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1e:
        return true;
    default:
        return false;
    }
}

// The value of a constructed string, and for a BIT STRING the unused bits of its last octet.
struct Joined {
    Bytes value;
    std::uint8_t unused = 0;
};

// The segments of a constructed string, primitive or constructed again, joined into `joined`.
// The segments of a BIT STRING are BIT STRINGs (X.690 §8.6.4), of which only the last may
// have unused bits; those of every other string type are OCTET STRINGs (§8.7.3; a character
// string is encoded as an IMPLICIT OCTET STRING, §8.23.5). Returns the position after them.
std::size_t join_segments(ByteView b, std::size_t pos, std::size_t end, bool until_eoc, bool bit_string,
                          Joined& joined, int depth)
{
    const std::uint8_t segment_tag = bit_string ? 0x03 : 0x04;
    if (depth > kMaxBerDepth) malformed("nested too deeply");
    while (pos < end) {
        const Header h = read_header(b, pos, end);
        const std::size_t content = pos + h.size;
        if (h.eoc) {
            if (!until_eoc) malformed("end-of-contents inside a definite-length element");
            return content;
        }
        if (h.tag_size != 1 || (b[pos] & ~0x20) != segment_tag) malformed("string segment of another type");
        if (h.constructed) {
            pos = join_segments(b, content, h.indefinite ? end : content + h.length, h.indefinite, bit_string, joined,
                                depth + 1);
            continue;
        }
        ByteView v = b.subspan(content, h.length);
        if (bit_string) {
            if (v.empty() || v[0] > 7) malformed("BIT STRING segment without its unused-bits octet");
            if (joined.unused != 0) malformed("BIT STRING segment after one with unused bits");
            joined.unused = v[0];
            v = v.subspan(1);
        }
        joined.value.insert(joined.value.end(), v.begin(), v.end());
        pos = content + h.length;
    }
    if (until_eoc) malformed("missing end-of-contents");
    return pos;
}

// Appends the elements of b[pos, end) in DER form as far as encodings alone tell (see
// in_der_form); the rest as copy_elements.
std::size_t der_elements(ByteView b, std::size_t pos, std::size_t end, bool until_eoc, Bytes& out, int depth)
{
    if (depth > kMaxBerDepth) malformed("nested too deeply");
    while (pos < end) {
        const Header h = read_header(b, pos, end);
        const std::size_t content = pos + h.size;
        if (h.eoc) {
            if (!until_eoc) malformed("end-of-contents inside a definite-length element");
            return content;
        }
        const ByteView tag = b.subspan(pos, h.tag_size);
        if (!h.constructed) {
            ByteView v = b.subspan(content, h.length);
            const std::uint8_t der_true = 0xff;
            if (tag[0] == 0x01 && v.size() == 1 && v[0] != 0) v = ByteView(&der_true, 1);  // BOOLEAN, §11.1
            append_tlv(out, tag, v);
            pos = content + h.length;
            continue;
        }
        const std::size_t stop = h.indefinite ? end : content + h.length;
        const std::uint8_t primitive_tag = std::uint8_t(tag[0] & ~0x20);
        if (h.tag_size == 1 && is_string_type(primitive_tag)) {
            Joined joined;
            pos = join_segments(b, content, stop, h.indefinite, primitive_tag == 0x03, joined, depth + 1);
            if (primitive_tag == 0x03) joined.value.insert(joined.value.begin(), joined.unused);
            append_tlv(out, ByteView(&primitive_tag, 1), joined.value);
            continue;
        }
        Bytes inner;
        pos = der_elements(b, content, stop, h.indefinite, inner, depth + 1);
        append_tlv(out, tag, inner);
    }
    if (until_eoc) malformed("missing end-of-contents");
    return pos;
}

}  // namespace

Bytes in_der_form(ByteView ber)
{
    Bytes out;
    out.reserve(ber.size());
    der_elements(ber, 0, ber.size(), false, out, 0);
    return out;
}

Bytes with_definite_lengths(ByteView ber)
{
    Bytes out;
    out.reserve(ber.size());
    bool changed = false;
    copy_elements(ber, 0, ber.size(), false, out, changed, 0);
    return out;
}

}  // namespace ssm::smime::cms
