// Bounded DER reading (see der_tlv.h).
#include "base/der_tlv.h"

namespace ssm {

std::optional<Tlv> read_tlv(const std::uint8_t* p, std::size_t n)
{
    if (n < 2 || (p[0] & 0x1f) == 0x1f) return std::nullopt;
    Tlv t;
    t.tag = p[0];
    std::size_t header = 2, length = p[1];
    if (length & 0x80) {
        const std::size_t octets = length & 0x7f;
        if (octets == 0 || octets > 4 || n < 2 + octets) return std::nullopt;
        length = 0;
        for (std::size_t i = 0; i < octets; ++i) length = (length << 8) | p[2 + i];
        header += octets;
    }
    if (length > n - header) return std::nullopt;
    t.value = p + header;
    t.length = length;
    t.total = header + length;
    return t;
}

std::optional<Tlv> tbs_field(const Tlv& tbs, TbsField which)
{
    std::size_t at = 0;
    auto field = read_tlv(tbs.value, tbs.length);
    if (field && field->tag == 0xa0) {  // version
        at += field->total;
        field = read_tlv(tbs.value + at, tbs.length - at);
    }
    for (int skip = static_cast<int>(which); field && skip > 0; --skip) {
        at += field->total;
        field = read_tlv(tbs.value + at, tbs.length - at);
    }
    return field;
}

std::optional<std::string> oid_text(const Tlv& oid)
{
    if (oid.tag != 0x06 || oid.length == 0 || oid.length > 64) return std::nullopt;
    std::string out;
    std::uint64_t arc = 0;
    bool first = true;
    for (std::size_t i = 0; i < oid.length; ++i) {
        const std::uint8_t octet = oid.value[i];
        if (arc == 0 && octet == 0x80) return std::nullopt;  // a leading 0x80: not minimal
        arc = (arc << 7) | (octet & 0x7f);
        if (arc > 0xffffffffu) return std::nullopt;
        if (octet & 0x80) {
            if (i + 1 == oid.length) return std::nullopt;  // the last arc does not end
            continue;
        }
        if (first) {  // the first octets hold two arcs: 40 * X + Y, X in 0..2
            const std::uint64_t x = arc < 80 ? arc / 40 : 2;
            out = std::to_string(x) + "." + std::to_string(arc - 40 * x);
            first = false;
        } else {
            out += "." + std::to_string(arc);
        }
        arc = 0;
    }
    return out;
}

namespace {

std::size_t length_octets(std::uint64_t length)
{
    if (length < 0x80) return 0;  // short form: the length fits in the first octet
    std::size_t n = 0;
    for (std::uint64_t v = length; v != 0; v >>= 8) ++n;
    return n;
}

}  // namespace

std::size_t der_header_size(std::uint64_t length)
{
    return 2 + length_octets(length);
}

std::vector<std::uint8_t> der_header(std::uint8_t tag, std::uint64_t length)
{
    std::vector<std::uint8_t> out{tag};
    const std::size_t n = length_octets(length);
    if (n == 0) {
        out.push_back(std::uint8_t(length));
        return out;
    }
    out.push_back(std::uint8_t(0x80 | n));
    for (std::size_t i = n; i-- > 0;) out.push_back(std::uint8_t(length >> (8 * i)));
    return out;
}

}  // namespace ssm
