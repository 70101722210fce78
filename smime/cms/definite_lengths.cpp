// Indefinite BER lengths made definite; see definite_lengths.h. Hand-written header parsing
// on untrusted input, in memory: every length is checked against what is left of its parent
// before anything is read.
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
    if (!h.indefinite && h.length > end - i) malformed("element longer than its parent");
    return h;
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
            const Bytes length = der_header(0, inner.size());
            out.insert(out.end(), b.begin() + std::ptrdiff_t(pos), b.begin() + std::ptrdiff_t(pos + h.tag_size));
            out.insert(out.end(), length.begin() + 1, length.end());
            out.insert(out.end(), inner.begin(), inner.end());
            changed = true;
        } else {
            out.insert(out.end(), b.begin() + std::ptrdiff_t(pos), b.begin() + std::ptrdiff_t(after));
        }
        pos = after;
    }
    if (until_eoc) malformed("missing end-of-contents");
    return pos;
}

}  // namespace

Bytes with_definite_lengths(ByteView ber)
{
    Bytes out;
    out.reserve(ber.size());
    bool changed = false;
    copy_elements(ber, 0, ber.size(), false, out, changed, 0);
    return out;
}

}  // namespace ssm::smime::cms
