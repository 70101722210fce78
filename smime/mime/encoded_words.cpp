// RFC 2047 encoded-words; see encoded_words.h. Charset conversion is glibc's iconv (every
// charset mail clients use, no further library); base64 through the body's Base64Decoder.
#include "smime/mime/encoded_words.h"

#include <iconv.h>
#include <nettle/base64.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "base/ascii.h"
#include "base/error.h"
#include "smime/mime/decoders.h"

namespace ssm::smime::mime {

namespace {

// RAII for one iconv conversion descriptor.
class Iconv {
public:
    Iconv(const std::string& to, const std::string& from) : m_cd(iconv_open(to.c_str(), from.c_str())) {}
    ~Iconv()
    {
        if (ok()) iconv_close(m_cd);
    }
    Iconv(const Iconv&) = delete;
    Iconv& operator=(const Iconv&) = delete;
    bool ok() const { return m_cd != reinterpret_cast<iconv_t>(-1); }
    iconv_t get() const { return m_cd; }

private:
    iconv_t m_cd;
};

// `bytes` in `charset` as UTF-8; nullopt for a charset iconv does not know or bytes that are
// not valid in it.
std::optional<std::string> to_utf8(std::string_view charset, const std::string& bytes)
{
    std::string cs = ascii_lowercase(charset);
    if (const auto star = cs.find('*'); star != std::string::npos) cs.resize(star);  // RFC 2231 language
    if (cs == "utf-8" || cs == "utf8" || cs == "us-ascii") return bytes;
    Iconv cd("UTF-8", cs);
    if (!cd.ok()) return std::nullopt;
    std::string out(bytes.size() * 4 + 16, '\0');  // UTF-8 of any single-byte charset fits
    char* in = const_cast<char*>(bytes.data());     // iconv's interface; it does not write there
    std::size_t in_left = bytes.size(), out_left = out.size();
    char* o = out.data();
    if (iconv(cd.get(), &in, &in_left, &o, &out_left) == static_cast<std::size_t>(-1)) return std::nullopt;
    out.resize(out.size() - out_left);
    return out;
}

std::optional<std::string> decode_q(std::string_view t)
{
    std::string out;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] == '_') {
            out += ' ';
        } else if (t[i] == '=') {
            if (i + 2 >= t.size()) return std::nullopt;  // two hex digits must follow
            const int h = hex_digit_value(t[i + 1]), l = hex_digit_value(t[i + 2]);
            if (h < 0 || l < 0) return std::nullopt;
            out += static_cast<char>(h * 16 + l);
            i += 2;
        } else {
            out += t[i];
        }
    }
    return out;
}

std::optional<std::string> decode_b(std::string_view t)
{
    MemorySink out;
    try {
        Base64Decoder decoder(out);
        decoder.write(t);
        decoder.finish();
    } catch (const Error&) {
        return std::nullopt;  // not base64: the word stays as it is
    }
    return out.str();
}

// The encoded-word starting at value[i] ("=?"): its decoded UTF-8 text and its end, or nullopt.
std::optional<std::pair<std::string, std::size_t>> encoded_word_at(std::string_view value, std::size_t i)
{
    // RFC 2047 §2: at most 75 characters; a little slack for senders that ignore it, but a
    // bound all the same (the search for the end of a word must not scan the whole field).
    constexpr std::size_t kMaxWord = 1000;
    const std::string_view rest = value.substr(i, kMaxWord);
    const auto q1 = rest.find('?', 2);
    if (q1 == std::string_view::npos || q1 == 2) return std::nullopt;
    if (q1 + 2 >= rest.size() || rest[q1 + 2] != '?') return std::nullopt;
    const char enc = rest[q1 + 1];
    const auto end = rest.find("?=", q1 + 3);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view charset = rest.substr(2, q1 - 2), text = rest.substr(q1 + 3, end - q1 - 3);
    for (char c : text)
        if (is_folding_space(c)) return std::nullopt;
    std::optional<std::string> bytes;
    if (enc == 'Q' || enc == 'q') bytes = decode_q(text);
    else if (enc == 'B' || enc == 'b') bytes = decode_b(text);
    if (!bytes) return std::nullopt;
    auto utf8 = to_utf8(charset, *bytes);
    if (!utf8) return std::nullopt;
    return std::make_pair(std::move(*utf8), i + end + 2);
}

}  // namespace

DecodedText decode_encoded_words(std::string_view value)
{
    DecodedText out;
    std::string pending_space;  // white space after an encoded-word, dropped if another follows
    bool after_word = false;
    std::size_t i = 0;
    while (i < value.size()) {
        if (value[i] == '\r' || value[i] == '\n') {  // unfold
            ++i;
            continue;
        }
        if (is_folding_space(value[i])) {
            (after_word ? pending_space : out.text) += value[i];
            ++i;
            continue;
        }
        if (value.compare(i, 2, "=?") == 0)
            if (auto word = encoded_word_at(value, i)) {
                pending_space.clear();  // §6.2: between two encoded-words it is not text
                out.text += word->first;
                out.had_encoded_words = true;
                after_word = true;
                i = word->second;
                continue;
            }
        out.text += pending_space;
        pending_space.clear();
        after_word = false;
        out.text += value[i++];
    }
    out.text += pending_space;
    return out;
}

std::string encode_unstructured(std::string_view text)
{
    bool plain = text.find("=?") == std::string_view::npos;
    for (char c : text)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) plain = false;
    if (plain) return std::string(text);
    // 45 octets give 60 base64 characters: "=?UTF-8?B?" + 60 + "?=" = 72 <= 75.
    constexpr std::size_t kChunk = 45;
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t n = std::min(kChunk, text.size() - i);
        // Never end a chunk inside a UTF-8 sequence (continuation octets are 10xxxxxx).
        while (n > 1 && i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) --n;
        std::string b64(BASE64_ENCODE_RAW_LENGTH(n), '\0');
        base64_encode_raw(b64.data(), n, reinterpret_cast<const std::uint8_t*>(text.data() + i));
        if (!out.empty()) out += "\r\n ";
        out += "=?UTF-8?B?" + b64 + "?=";
        i += n;
    }
    return out;
}

}  // namespace ssm::smime::mime
