// Whole-line base64 (see base64_lines.h): a portable table path and an SSSE3 path chosen
// once at run time. The only architecture-specific code of the MIME layer lives here.
#include "smime/mime/base64_lines.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ssm::smime::mime {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Every 12-bit value as its two base64 characters (RFC 4648 §4), 8 KiB in .rodata.
struct PairTable {
    char c[4096][2];
};
constexpr PairTable make_pairs()
{
    PairTable t{};
    for (int v = 0; v < 4096; ++v) {
        t.c[v][0] = alphabet[v >> 6];
        t.c[v][1] = alphabet[v & 63];
    }
    return t;
}
constexpr PairTable pairs = make_pairs();

// `groups` groups of three octets to four characters each.
void encode_groups(const std::uint8_t* s, std::size_t groups, std::uint8_t* d)
{
    for (std::size_t g = 0; g < groups; ++g, s += 3, d += 4) {
        const std::uint32_t v = (std::uint32_t(s[0]) << 16) | (std::uint32_t(s[1]) << 8) | s[2];
        std::memcpy(d, pairs.c[v >> 12], 2);
        std::memcpy(d + 2, pairs.c[v & 0xfff], 2);
    }
}

}  // namespace

void encode_base64_lines_portable(const std::uint8_t* src, std::size_t lines, std::uint8_t* dst)
{
    for (std::size_t k = 0; k < lines; ++k, src += kBase64LineIn, dst += kBase64LineOut) {
        encode_groups(src, kBase64LineIn / 3, dst);
        dst[76] = '\r';
        dst[77] = '\n';
    }
}

namespace {

#if defined(__x86_64__)
// Twelve octets (of a 16-octet load) to sixteen characters.
__attribute__((target("ssse3"))) inline __m128i encode12(__m128i in)
{
    // Each 32-bit lane gets octets b1 b0 b2 b1 (little-endian), so that the four 6-bit
    // fields can be moved into place with one multiply-high and one multiply-low.
    in = _mm_shuffle_epi8(in, _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1));
    const __m128i t0 = _mm_and_si128(in, _mm_set1_epi32(0x0fc0fc00));
    const __m128i t1 = _mm_mulhi_epu16(t0, _mm_set1_epi32(0x04000040));
    const __m128i t2 = _mm_and_si128(in, _mm_set1_epi32(0x003f03f0));
    const __m128i t3 = _mm_mullo_epi16(t2, _mm_set1_epi32(0x01000010));
    const __m128i idx = _mm_or_si128(t1, t3);  // sixteen 6-bit values
    // Value -> character as value + offset, the offset picked by range: 0..25 'A',
    // 26..51 'a' - 26, 52..61 '0' - 52, 62 '+' - 62, 63 '/' - 63.
    __m128i r = _mm_subs_epu8(idx, _mm_set1_epi8(51));  // 0 for 0..51, 1..12 for 52..63
    const __m128i below26 = _mm_cmpgt_epi8(_mm_set1_epi8(26), idx);
    r = _mm_or_si128(r, _mm_and_si128(below26, _mm_set1_epi8(13)));  // 13 for 0..25
    const __m128i offsets = _mm_setr_epi8(
        'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
        '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
    return _mm_add_epi8(_mm_shuffle_epi8(offsets, r), idx);
}

__attribute__((target("ssse3"))) void lines_ssse3(const std::uint8_t* src, std::size_t lines,
                                                  std::uint8_t* dst)
{
    for (std::size_t k = 0; k < lines; ++k, src += kBase64LineIn, dst += kBase64LineOut) {
        // Octets 0..47 in four steps (the last load ends at octet 51 < 57), 48..56 by table.
        for (std::size_t b = 0; b < 4; ++b) {
            const __m128i in = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 12 * b));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 16 * b), encode12(in));
        }
        encode_groups(src + 48, 3, dst + 64);
        dst[76] = '\r';
        dst[77] = '\n';
    }
}

using LinesFn = void (*)(const std::uint8_t*, std::size_t, std::uint8_t*);
// __builtin_cpu_init first: GCC documents it as required when the check runs from a static
// initializer, whose order against libgcc's own CPU-model constructor is not guaranteed.
const LinesFn chosen = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("ssse3") ? lines_ssse3 : encode_base64_lines_portable;
}();
#endif

}  // namespace

void encode_base64_lines(const std::uint8_t* src, std::size_t lines, std::uint8_t* dst)
{
#if defined(__x86_64__)
    chosen(src, lines, dst);
#else
    encode_base64_lines_portable(src, lines, dst);
#endif
}

}  // namespace ssm::smime::mime
