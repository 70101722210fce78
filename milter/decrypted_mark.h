// Keeping decrypted text from going back out in a notice (a decryption oracle otherwise): the
// gateway opens a ciphertext for the envelope recipient its key covers (decryption_scope.h),
// but whoever sent it chose the envelope sender, and the notices the MTA makes later (a bounce
// when the next hop refuses the message, the success notice DSN asks for) quote the message
// as delivered — decrypted — to that sender. Anyone holding a copy of a ciphertext a partner
// encrypted to one of our users could read it that way. So mail the gateway decrypted carries
// an X-SSM-Decrypted field at the top of its header (above every field the sender wrote, so a
// notice that quotes only part of the message still quotes it), and a notice (null envelope
// sender) that quotes such a field is refused. The field is not secret and needs no proof: a
// forged one only gets its own notice refused, and fields arriving from outside are removed.
// Input: the header fields and the body are untrusted.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/stream.h"
#include "smime/mime/header.h"
#include "smime/sign.h"

namespace ssm::milter {

inline constexpr std::string_view kDecryptedField = "X-SSM-Decrypted";
// EFAIL (PRODUCT §3.2): CBC content is malleable. Whoever holds a ciphertext can change its
// plaintext block by block (CBC gadgets: "<img src=..." before the secret) with the padding
// intact, so only an authenticated cipher (AuthEnvelopedData) or a signature inside the
// encryption that passes shows the content is what its author encrypted. Decrypted content
// with neither is marked so with this field (value "none (cipher, ...)"), for delivery rules
// and readers of the header; one arriving from outside is removed.
inline constexpr std::string_view kIntegrityField = "X-SSM-Integrity";

// The X-SSM-Integrity field for content decrypted from `unprotected_cipher` that nothing
// protects (neither authenticated nor signed inside the encryption by a signer that passes).
smime::mime::HeaderField integrity_mark(const std::string& unprotected_cipher);

// What the gateway did to the content it delivers, for the marks it writes.
enum class Delivered {
    AsReceived,        // nothing decrypted here (or held undecrypted): no mark of ours
    Decrypted,         // decrypted text (the inbound path): X-SSM-Decrypted, X-SSM-Integrity
    EncryptedAgain,    // decrypted, then encrypted again (the mail list): X-SSM-Integrity only
};

// The one place the marks are written, for the inbound and the mail-list path alike: adds to
// `edit` the removal of every X-SSM-Decrypted and X-SSM-Integrity field in `received` (the
// header as it arrived); for Decrypted our own X-SSM-Decrypted (value `by`, the authserv-id)
// at the top; and for Decrypted and EncryptedAgain X-SSM-Integrity (below X-SSM-Decrypted, or
// at the top) when `unprotected_cipher` names the cipher of content neither authenticated nor
// signed inside the encryption (empty: it was).
void mark_decrypted(smime::HeaderEdit& edit, const std::vector<smime::mime::HeaderField>& received,
                    Delivered delivered, const std::string& by, const std::string& unprotected_cipher = "");

// Whether a line of `body` starts with "X-SSM-Decrypted:" or "X-SSM-Undecryptable:" (any
// case): the notice quotes the header of a message the gateway decrypted, or of one encrypted
// to us that it held or delivered undecrypted (a notice for those alone would tell whether a
// ciphertext decrypted, undecryptable.h). Reads `body` to its end.
bool quotes_decrypted_message(ByteSource& body);

}  // namespace ssm::milter
