// Indefinite BER lengths made definite, and BER in DER form as far as encodings alone tell;
// see definite_lengths.h. Hand-written header parsing on untrusted input, in memory: every
// length is checked against what is left of its parent before anything is read.
#include "smime/cms/definite_lengths.h"

#include <span>
#include <vector>

#include "base/error.h"
#include "smime/cms/ber_stream.h"
#include "smime/cms/der_length.h"

namespace ssm::smime::cms {
namespace {

[[noreturn]] void malformed_ber(const char* what)
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
        if (i >= end) malformed_ber("truncated header");
        return b[i++];
    };
    const std::uint8_t tag = next();
    h.constructed = tag & 0x20;
    if ((tag & 0x1f) == 0x1f) {  // high tag number: base-128 octets, the last without bit 8
        int n = 0;
        while (next() & 0x80)
            if (++n > 4) malformed_ber("tag number too long");
    }
    h.tag_size = i - pos;
    const std::uint8_t first = next();
    if (first == 0x80) {
        if (!h.constructed) malformed_ber("indefinite length on a primitive element");
        h.indefinite = true;
    } else if (first < 0x80) {
        h.length = first;
    } else {
        const int n = first & 0x7f;
        if (n > int(sizeof(std::size_t))) malformed_ber("length too long");
        for (int k = 0; k < n; ++k) {
            if (h.length >> (8 * sizeof(std::size_t) - 8)) malformed_ber("length overflows");
            h.length = (h.length << 8) | next();
        }
    }
    h.size = i - pos;
    h.eoc = tag == 0 && first == 0;
    // Universal tag number 0 is reserved for end-of-contents (X.690 §8.1.5), which is 00 00 and
    // nothing else: copied as an element, 00 01 41 would be a thing no ASN.1 type has.
    if ((tag & 0xdf) == 0 && !h.eoc) malformed_ber("end-of-contents octets other than 00 00");
    if (!h.indefinite && h.length > end - i) malformed_ber("element longer than its parent");
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

// One element met by walk(): its header, its first octet, and where its content starts and
// may run to (its definite end, or its parent's end when it ends with an end-of-contents).
struct Element {
    Header h;
    std::size_t pos = 0;
    std::size_t content = 0;
    std::size_t stop = 0;
    ByteView tag(ByteView b) const { return b.subspan(pos, h.tag_size); }
};

// The walk every function below shares: the elements of b[pos, end) in order, each handed to
// `visit`, which returns the position after it; with `until_eoc`, those up to the
// end-of-contents of an indefinite parent (consumed, not visited). Returns the position after
// what was read. A constructed element's visitor walks its content again at depth + 1.
template <typename Visit>
std::size_t walk(ByteView b, std::size_t pos, std::size_t end, bool until_eoc, int depth, Visit&& visit)
{
    if (depth > kMaxBerDepth) malformed_ber("nested too deeply");
    while (pos < end) {
        Element e;
        e.h = read_header(b, pos, end);
        e.pos = pos;
        e.content = pos + e.h.size;
        if (e.h.eoc) {
            if (!until_eoc) malformed_ber("end-of-contents inside a definite-length element");
            return e.content;
        }
        e.stop = e.h.indefinite ? end : e.content + e.h.length;
        pos = visit(e);
    }
    if (until_eoc) malformed_ber("missing end-of-contents");
    return pos;
}

// with_definite_lengths in two passes, so that each octet is copied once however deep it
// lies: measure() finds the constructed elements that hold an indefinite length (themselves
// or below) and the content length each will have; write() then copies the input, giving
// those elements their new length and every other element its octets as received.
struct NewLength {
    std::size_t pos;     // where the element starts in the input
    std::size_t length;  // its content octets in the output
};

// Adds to `size` the output size of the elements of b[pos, end); appends a NewLength for each
// element to rewrite, in input order. Returns the position after the elements.
std::size_t measure(ByteView b, std::size_t pos, std::size_t end, bool until_eoc, int depth, std::size_t& size,
                    std::vector<NewLength>& rewritten)
{
    return walk(b, pos, end, until_eoc, depth, [&](const Element& e) {
        if (!e.h.constructed) {
            size += e.h.size + e.h.length;
            return e.content + e.h.length;
        }
        const std::size_t slot = rewritten.size();
        rewritten.push_back({e.pos, 0});
        std::size_t inner = 0;
        const std::size_t after = measure(b, e.content, e.stop, e.h.indefinite, depth + 1, inner, rewritten);
        if (!e.h.indefinite && rewritten.size() == slot + 1) {  // nothing to rewrite inside: kept whole
            rewritten.pop_back();
            size += after - e.pos;
        } else {
            rewritten[slot].length = inner;
            size += e.h.tag_size + der_header_size(inner) - 1 + inner;
        }
        return after;
    });
}

// Appends the elements of b[pos, end) to `out`, those at the front of `rewritten` (measure's
// list, consumed as they are met) with their tag octets as received and their new length.
std::size_t write(ByteView b, std::size_t pos, std::size_t end, bool until_eoc, int depth,
                  std::span<const NewLength>& rewritten, Bytes& out)
{
    return walk(b, pos, end, until_eoc, depth, [&](const Element& e) {
        if (rewritten.empty() || rewritten.front().pos != e.pos) {  // definite, as measure saw
            const std::size_t after = e.content + e.h.length;
            out.insert(out.end(), b.begin() + std::ptrdiff_t(e.pos), b.begin() + std::ptrdiff_t(after));
            return after;
        }
        const Bytes length = der_header(0, rewritten.front().length);
        rewritten = rewritten.subspan(1);
        const ByteView tag = e.tag(b);
        out.insert(out.end(), tag.begin(), tag.end());
        out.insert(out.end(), length.begin() + 1, length.end());
        return write(b, e.content, e.stop, e.h.indefinite, depth + 1, rewritten, out);
    });
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
    return walk(b, pos, end, until_eoc, depth, [&](const Element& e) {
        if (e.h.tag_size != 1 || (b[e.pos] & ~0x20) != segment_tag) malformed_ber("string segment of another type");
        if (e.h.constructed)
            return join_segments(b, e.content, e.stop, e.h.indefinite, bit_string, joined, depth + 1);
        ByteView v = b.subspan(e.content, e.h.length);
        if (bit_string) {
            if (v.empty() || v[0] > 7) malformed_ber("BIT STRING segment without its unused-bits octet");
            if (joined.unused != 0) malformed_ber("BIT STRING segment after one with unused bits");
            joined.unused = v[0];
            v = v.subspan(1);
        }
        joined.value.insert(joined.value.end(), v.begin(), v.end());
        return e.content + e.h.length;
    });
}

// Appends the elements of b[pos, end) in DER form as far as encodings alone tell (see
// in_der_form).
std::size_t der_elements(ByteView b, std::size_t pos, std::size_t end, bool until_eoc, Bytes& out, int depth)
{
    return walk(b, pos, end, until_eoc, depth, [&](const Element& e) {
        const ByteView tag = e.tag(b);
        if (!e.h.constructed) {
            ByteView v = b.subspan(e.content, e.h.length);
            const std::uint8_t der_true = 0xff;
            if (tag[0] == 0x01 && v.size() == 1 && v[0] != 0) v = ByteView(&der_true, 1);  // BOOLEAN, §11.1
            append_tlv(out, tag, v);
            return e.content + e.h.length;
        }
        const std::uint8_t primitive_tag = std::uint8_t(tag[0] & ~0x20);
        if (e.h.tag_size == 1 && is_string_type(primitive_tag)) {
            Joined joined;
            const std::size_t after =
                join_segments(b, e.content, e.stop, e.h.indefinite, primitive_tag == 0x03, joined, depth + 1);
            if (primitive_tag == 0x03) joined.value.insert(joined.value.begin(), joined.unused);
            append_tlv(out, ByteView(&primitive_tag, 1), joined.value);
            return after;
        }
        // Rebuilt per level (each octet copied once per enclosing element): signed and
        // authenticated attributes are small and shallow.
        Bytes inner;
        const std::size_t after = der_elements(b, e.content, e.stop, e.h.indefinite, inner, depth + 1);
        append_tlv(out, tag, inner);
        return after;
    });
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
    std::vector<NewLength> rewritten;
    std::size_t size = 0;
    measure(ber, 0, ber.size(), false, 0, size, rewritten);
    Bytes out;
    out.reserve(size);
    std::span<const NewLength> pending(rewritten);
    write(ber, 0, ber.size(), false, 0, pending, out);
    return out;
}

}  // namespace ssm::smime::cms
