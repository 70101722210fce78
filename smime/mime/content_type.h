// Parsing of MIME structured field values (RFC 2045 §5.1, §6.1; RFC 2231 parameter
// continuations and charset/percent encoding). Values come from untrusted mail: parsing is
// liberal, never throws, and garbage yields nullopt so the caller applies the RFC default.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ssm::smime::mime {

struct ContentType {
    std::string type;     // lower-cased
    std::string subtype;  // lower-cased
    // Parameter names lower-cased, values unquoted (RFC 2231 segments joined and
    // percent-decoded; the charset/language prefix is dropped). A parameter given twice
    // (plainly, as plain and segmented, or one segment number twice) is listed twice.
    std::vector<std::pair<std::string, std::string>> params;

    // The first value of a parameter, or nullopt.
    std::optional<std::string> param(std::string_view name) const;
    bool is(std::string_view t, std::string_view s) const { return type == t && subtype == s; }
};

// Parses a Content-Type value ("multipart/mixed; boundary=\"x\" (comment)").
// RFC 2045 §5.1 token character: visible US-ASCII except the tspecials.
bool is_token_char(char c);

std::optional<ContentType> parse_content_type(std::string_view value);

// Parses a Content-Disposition value (RFC 2183: "attachment; filename=x.p7m") into `type`
// (the disposition, lower-cased; `subtype` empty) and the parameters.
std::optional<ContentType> parse_content_disposition(std::string_view value);

// Parses a Content-Transfer-Encoding value into a lower-cased token ("" if none); a quoted
// string holding exactly a token ("base64", as some senders write it) is that token.
std::string parse_transfer_encoding(std::string_view value);

// What closes a field value the parsers above read leniently (an unterminated quoted string or
// comment ends the value there): "" when nothing is left open, "\"" for a quoted string, one
// ')' per open comment; nullopt when it ends in a lone backslash, a quoted-pair cut short that
// an appended octet would complete instead of closing. Text appended to the value after the
// closer is read as more of the value, not as part of the open string or comment.
std::optional<std::string> value_closer(std::string_view value);

// A field value without the white space at its end, line ends of folding included (where a
// parameter appended to it starts).
std::string_view without_trailing_blanks(std::string_view value);

}  // namespace ssm::smime::mime
