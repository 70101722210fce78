// BodyFacts: LineReader's line splitting as a push-mode sink. 8-bit octets and NULs are
// facts of the whole body (CR and LF are neither), so only line lengths and line ends need
// the split; the search for them is find_cr_or_lf, eight octets at a time.
#include "smime/mime/body_facts.h"

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "smime/mime/line_reader.h"

namespace ssm::smime::mime {

namespace {

using Octets16 = std::uint8_t __attribute__((vector_size(16)));  // see line_reader.cpp

// Whether [p, p + n) holds an octet >= 0x80 / a NUL, sixteen octets at a time.
void note_octets(const std::uint8_t* p, std::size_t n, LineFacts& f)
{
    if (f.has_8bit && f.has_nul) return;
    Octets16 any = {};
    Octets16 zero = {};
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        Octets16 v;
        std::memcpy(&v, p + i, 16);
        any |= v;
        zero |= Octets16(v == 0);
    }
    std::uint8_t any1 = 0;
    bool nul = false;
    for (; i < n; ++i) {
        any1 |= p[i];
        nul |= p[i] == 0;
    }
    std::uint64_t w[2];
    std::memcpy(w, &any, sizeof w);
    if (((w[0] | w[1]) & 0x8080808080808080ULL) || (any1 & 0x80)) f.has_8bit = true;
    std::memcpy(w, &zero, sizeof w);
    if ((w[0] | w[1]) || nul) f.has_nul = true;
}

}  // namespace

void BodyFacts::end_line()
{
    m_facts.longest_line = std::max(m_facts.longest_line, m_line);
    m_line = 0;
}

void BodyFacts::write(ByteView data)
{
    if (m_finished) throw Error(Failure::Internal, "BodyFacts written after finish()");
    m_size += data.size();
    note_octets(data.data(), data.size(), m_facts);
    std::size_t i = 0;
    if (m_pending_cr && !data.empty()) {
        m_pending_cr = false;
        if (data[0] == '\n') {
            i = 1;  // CRLF
        } else {
            ++m_bare;  // a lone CR
            m_facts.has_bare_cr = true;
        }
    }
    while (i < data.size()) {
        const std::size_t n = find_cr_or_lf(data.data() + i, data.size() - i);
        m_line += n;
        i += n;
        if (i == data.size()) break;
        const std::uint8_t c = data[i++];
        end_line();
        if (c == '\n') {
            ++m_bare;
            m_facts.has_lf_only = true;
        } else if (i == data.size()) {
            m_pending_cr = true;  // resolved by the next write or by finish()
        } else if (data[i] == '\n') {
            ++i;
        } else {
            ++m_bare;
            m_facts.has_bare_cr = true;
        }
    }
}

void BodyFacts::finish()
{
    if (m_finished) return;
    m_finished = true;
    if (m_pending_cr) {
        m_pending_cr = false;
        ++m_bare;
        m_facts.has_bare_cr = true;
    }
    if (m_line > 0) end_line();  // a last line without a line end
}

}  // namespace ssm::smime::mime
