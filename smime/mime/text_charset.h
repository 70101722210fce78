// The charset that honestly names text which came without one (RFC 2045's default,
// us-ascii, is only true of 7-bit octets). The octets are untrusted mail of any size: they
// are read once, in chunks, with constant state.
#pragma once
#include "base/stream.h"
#include "base/utf8.h"

namespace ssm::smime::mime {

// "us-ascii" when `text` holds no octet over 0x7f, "utf-8" when it is valid UTF-8, else
// "unknown-8bit" (RFC 1428). Reads `text` from its first octet, up to the first octet
// that is not UTF-8; leaves it rewound.
const char* unlabelled_text_charset(ByteSource& text);

// The same rule for octets already run through `checked`: "utf-8" when they were complete,
// well-formed UTF-8 with an octet over 0x7f among them, and so on.
const char* unlabelled_text_charset(const Utf8Checker& checked, bool eight_bit);

}  // namespace ssm::smime::mime
