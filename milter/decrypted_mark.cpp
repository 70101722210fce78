// The decrypted-message mark and the notice check (decrypted_mark.h).
#include "milter/decrypted_mark.h"

#include <array>

#include "base/ascii.h"

namespace ssm::milter {

void mark_decrypted(smime::HeaderEdit& edit, const std::vector<smime::mime::HeaderField>& received,
                    bool decrypted, const std::string& by)
{
    int index = 0;
    for (const auto& f : received)
        if (iequals(f.name, kDecryptedField)) edit.remove.push_back({std::string(kDecryptedField), ++index});
    if (decrypted) edit.prepend.insert(edit.prepend.begin(), {std::string(kDecryptedField), by.empty() ? "yes" : by});
}

bool quotes_decrypted_message(ByteSource& body)
{
    // Compares the first bytes of every line with "x-ssm-decrypted:", chunk by chunk: a line
    // may start in one read and go on in the next.
    static constexpr std::string_view kPrefix = "x-ssm-decrypted:";
    std::array<std::uint8_t, 64 * 1024> buf{};
    std::size_t matched = 0;  // bytes of kPrefix matched on the current line; npos: no match
    constexpr std::size_t kNone = std::string_view::npos;
    for (;;) {
        const std::size_t n = body.read(buf);
        if (n == 0) return false;
        for (std::size_t i = 0; i < n; ++i) {
            const char c = static_cast<char>(buf[i]);
            if (c == '\n') {
                matched = 0;
                continue;
            }
            if (matched == kNone) continue;
            if (ascii_lower(c) != kPrefix[matched]) {
                matched = kNone;
                continue;
            }
            if (++matched == kPrefix.size()) return true;
        }
    }
}

}  // namespace ssm::milter
