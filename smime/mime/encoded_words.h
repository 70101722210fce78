// RFC 2047 encoded-words in unstructured header fields (the Subject): decoded to UTF-8 so a
// policy can match what the author typed, and UTF-8 text encoded again for a field we rewrite.
// Mail clients encode a whole Subject as soon as it holds one non-ASCII character
// ("=?iso-8859-1?Q?=5Bencrypt=5D_Vertrags=E4nderung?="): a trigger tag matched only against the
// raw value would miss it and the mail would leave unencrypted.
// Input is untrusted: malformed encoded-words stay as they are (RFC 2047 §6.3), charsets iconv
// does not know too; the output is never longer than a bounded multiple of the input.
#pragma once
#include <string>
#include <string_view>

namespace ssm::smime::mime {

struct DecodedText {
    std::string text;              // UTF-8 where the encoded-words decoded; folds unfolded
    bool had_encoded_words = false;  // at least one encoded-word was decoded
};

// RFC 2047 §6.1/§6.2: "=?charset?Q|B?text?=" words are decoded (charset converted to UTF-8
// with iconv; the "*language" suffix of RFC 2231 ignored); white space between two adjacent
// encoded-words is dropped; folding (CRLF before white space) is removed.
DecodedText decode_encoded_words(std::string_view value);

// A field value for UTF-8 `text`: as it is when it is printable ASCII without "=?"; else
// "=?UTF-8?B?...?=" words of at most 75 characters (never splitting a UTF-8 sequence),
// separated by folds (CRLF SP).
std::string encode_unstructured(std::string_view text);

}  // namespace ssm::smime::mime
