// The decrypted-message mark and the notice check (decrypted_mark.h).
#include "milter/decrypted_mark.h"

#include <array>

#include "base/ascii.h"

namespace ssm::milter {

void mark_decrypted(smime::HeaderEdit& edit, const std::vector<smime::mime::HeaderField>& received,
                    Delivered delivered, const std::string& by, const std::string& unprotected_cipher)
{
    int index = 0, integrity_index = 0;
    for (const auto& f : received) {
        if (iequals(f.name, kDecryptedField)) edit.remove.push_back({std::string(kDecryptedField), ++index});
        if (iequals(f.name, kIntegrityField)) edit.remove.push_back({std::string(kIntegrityField), ++integrity_index});
    }
    if (delivered == Delivered::AsReceived) return;
    if (!unprotected_cipher.empty()) edit.prepend.insert(edit.prepend.begin(), integrity_mark(unprotected_cipher));
    if (delivered == Delivered::Decrypted)
        edit.prepend.insert(edit.prepend.begin(), {std::string(kDecryptedField), by.empty() ? "yes" : by});
}

smime::mime::HeaderField integrity_mark(const std::string& unprotected_cipher)
{
    return {std::string(kIntegrityField), "none (" + unprotected_cipher + ", no valid signature inside the encryption)"};
}

bool quotes_decrypted_message(ByteSource& body)
{
    // Compares the first bytes of every line with each prefix, chunk by chunk: a line may
    // start in one read and go on in the next. The X-SSM-Undecryptable mark counts as well:
    // a notice that left only for mail the gateway could not decrypt would tell whoever chose
    // the envelope sender whether a changed ciphertext decrypted (undecryptable.h).
    static constexpr std::array<std::string_view, 2> kPrefixes = {"x-ssm-decrypted:", "x-ssm-undecryptable:"};
    std::array<std::uint8_t, 64 * 1024> buf{};
    std::size_t matched = 0;  // bytes matched on the current line, of every prefix still alive
    std::array<bool, kPrefixes.size()> alive{};
    alive.fill(true);
    for (;;) {
        const std::size_t n = body.read(buf);
        if (n == 0) return false;
        for (std::size_t i = 0; i < n; ++i) {
            const char c = ascii_lower(static_cast<char>(buf[i]));
            if (c == '\n') {
                matched = 0;
                alive.fill(true);
                continue;
            }
            for (std::size_t p = 0; p < kPrefixes.size(); ++p) {
                if (!alive[p]) continue;
                if (matched >= kPrefixes[p].size() || kPrefixes[p][matched] != c) {
                    alive[p] = false;
                    continue;
                }
                if (matched + 1 == kPrefixes[p].size()) return true;
            }
            ++matched;
        }
    }
}

}  // namespace ssm::milter
