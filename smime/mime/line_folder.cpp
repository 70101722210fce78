// Folding over-long copied lines (see line_folder.h). The current line is held only from its
// last possible fold point on, so a megabyte-long field costs a few hundred octets of memory.
#include "smime/mime/line_folder.h"

#include "base/ascii.h"

namespace ssm::smime::mime {

void LongLineFolder::write(ByteView data)
{
    for (const std::uint8_t c : data) {
        if (m_pending_cr) {
            m_pending_cr = false;
            if (c == '\n') {
                end_line();
                continue;
            }
            add('\r');  // a lone CR (the input is normalised, so not expected): an octet
        }
        if (c == '\r')
            m_pending_cr = true;
        else if (c == '\n')
            end_line();  // a bare LF: written as CRLF like every other line end
        else
            add(c);
    }
}

void LongLineFolder::finish()
{
    if (m_pending_cr) m_line.push_back('\r');
    m_pending_cr = false;
    write_line("");
    m_out.flush();
}

void LongLineFolder::add(std::uint8_t c)
{
    if (m_left_alone) {
        m_out.put(c);
        return;
    }
    m_line.push_back(static_cast<char>(c));
    if (m_written + m_line.size() > kMaxLine) make_room();
}

void LongLineFolder::end_line()
{
    write_line("\r\n");
}

void LongLineFolder::write_line(std::string_view line_end)
{
    m_out.put(std::string_view(m_line));
    m_out.put(line_end);
    m_line.clear();
    m_written = 0;
    m_last_written_text = false;
    m_left_alone = false;
}

void LongLineFolder::emit(std::size_t n)
{
    if (n == 0) return;
    m_out.put(std::string_view(m_line).substr(0, n));
    m_written += n;
    m_last_written_text = !is_wsp(m_line[n - 1]);
    m_line.erase(0, n);
}

void LongLineFolder::make_room()
{
    if (m_mode == Mode::Text && m_written == 0 && m_line.compare(0, 2, "--") == 0) {
        m_left_alone = true;
        emit(m_line.size());
        return;
    }
    while (m_written + m_line.size() > kMaxLine) {
        // The last fold point: white space after a non-white octet with a non-white octet
        // somewhere after it (so the continuation line is not white space alone).
        std::size_t last_text = m_line.size();
        while (last_text > 0 && is_wsp(m_line[last_text - 1])) --last_text;
        std::size_t fold = std::string::npos;
        for (std::size_t i = last_text; i-- > 0;) {
            if (!is_wsp(m_line[i])) continue;
            const bool after_text = i > 0 ? !is_wsp(m_line[i - 1]) : (m_written > 0 && m_last_written_text);
            if (after_text) {
                fold = i;
                break;
            }
        }
        if (fold != std::string::npos) {
            emit(fold);
            m_out.put(std::string_view("\r\n"));
            m_written = 0;
            m_last_written_text = false;
            continue;
        }
        if (m_mode == Mode::Text) {
            // No white space to fold at: a break ignored text can take, before the octet
            // that went over the limit.
            emit(m_line.size() - 1);
            m_out.put(std::string_view("\r\n "));
            m_written = 1;
            m_last_written_text = false;
            return;
        }
        // Header mode, nowhere to fold yet: the line stays long. Everything before a
        // trailing run of white space is written; the run may still become a fold point.
        // Decided 2026-12-05 (a 1100-octet filename= without blanks; the sweep's
        // "long-header-token"): kept verbatim, neither split nor refused.
        // - Splitting a Content-Type/Content-Disposition parameter into RFC 2231 continuations
        //   (name*0=, name*1=) needs the value read exactly as the recipient's reader reads it
        //   (quoted-pairs, comments, raw 8-bit octets, a value already extended with a charset
        //   or numbered; never boundary=: a reader that does not join continuations loses the
        //   structure), in this streaming copy that holds no parser. Any difference changes
        //   the name the recipient sees under a valid signature: worse than a failed one.
        // - Refusing bounces a user's mail for an attachment's name.
        // - Kept, it breaks only a detached signature, only behind a relay that breaks lines
        //   over 998 octets (Postfix's smtp_line_length_limit), as the sender's own MTA would
        //   have broken the unsigned line; an opaque signature carries it inside base64.
        // Revisit with smime/mime/header's parameter parser if such names show up in practice.
        std::size_t keep_from = m_line.size();
        while (keep_from > 0 && is_wsp(m_line[keep_from - 1])) --keep_from;
        // Only white space held: kept while it can still be a fold point (after text), but
        // not past the line limit (memory stays bounded).
        const bool can_fold_here = m_written > 0 && m_last_written_text;
        if (keep_from == 0 && (!can_fold_here || m_line.size() > kMaxLine)) keep_from = m_line.size();
        emit(keep_from);
        return;
    }
}

}  // namespace ssm::smime::mime
