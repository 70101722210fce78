// The end of one BER object in a stream; see object_end.h. Untrusted input: every header is
// read octet by octet into a fixed buffer, lengths are counted down, never added.
#include "smime/cms/object_end.h"

#include <algorithm>

#include "base/ascii.h"
#include "smime/cms/ber_stream.h"

namespace ssm::smime::cms {

namespace {

constexpr std::size_t kBlock = 16 * 1024;

}  // namespace

void BerObjectEnd::flush()
{
    if (m_pending.empty()) return;
    m_next.write(ByteView(m_pending.data(), m_pending.size()));
    m_pending.clear();
}

void BerObjectEnd::pass(ByteView data)
{
    if (data.empty()) return;
    if (m_pending.size() + data.size() > kBlock) flush();
    if (data.size() >= kBlock) {
        m_next.write(data);
        return;
    }
    m_pending.insert(m_pending.end(), data.begin(), data.end());
}

void BerObjectEnd::element_ended()
{
    m_state = m_open == 0 ? State::Done : State::Header;
}

// One octet of a header: the tag, the first length octet, then its long-form length octets.
// Not folded with BerStream::header (ber_stream.cpp), which reads the same fields: that pull
// reader takes a whole header at once and throws a reason for the first bad octet, while this
// push reader must stop at any octet and resume, and on a header it cannot follow passes the
// rest through untracked for BerStream to name the fault; a decoder serving both would be a
// resumable state machine with two error policies, harder to read than either.
void BerObjectEnd::header_octet(std::uint8_t c)
{
    m_header[m_header_size++] = c;
    if (m_header_size == 1) {
        // High tag numbers are not CMS (BerStream refuses them too); the outer element must be
        // the one expected.
        if ((c & 0x1f) == 0x1f || (!m_started && c != m_outer_tag)) m_state = State::Untracked;
        return;
    }
    const std::uint8_t first = m_header[1];
    const std::size_t length_octets = first < 0x80 ? 0 : first & 0x7f;
    if (first == 0xff || length_octets > 8) {
        m_state = State::Untracked;
        return;
    }
    if (m_header_size < 2 + length_octets) return;  // more length octets to come

    const std::uint8_t tag = m_header[0];
    const bool indefinite = first == 0x80;
    std::uint64_t length = first < 0x80 ? first : 0;
    for (std::size_t i = 0; i < length_octets; ++i) length = (length << 8) | m_header[2 + i];
    m_header_size = 0;
    m_started = true;
    if (tag == 0) {
        // End-of-contents: closes the innermost open indefinite element.
        if (indefinite || length != 0 || m_open == 0) {
            m_state = State::Untracked;
            return;
        }
        --m_open;
        element_ended();
        return;
    }
    if (indefinite) {
        if (!(tag & 0x20) || m_open >= kMaxBerDepth) {
            m_state = State::Untracked;
            return;
        }
        ++m_open;
        return;
    }
    // A definite element is skipped whole: its length covers whatever it holds (indefinite
    // elements inside included).
    m_content_left = length;
    if (length == 0) element_ended();
    else m_state = State::Content;
}

void BerObjectEnd::write(ByteView data)
{
    std::size_t i = 0;
    while (i < data.size()) {
        switch (m_state) {
        case State::Untracked:
            pass(data.subspan(i));
            return;
        case State::Done:
            for (; i < data.size() && !m_trailing; ++i) m_trailing = !is_ascii_space(static_cast<char>(data[i]));
            return;
        case State::Content: {
            const std::size_t n = std::size_t(std::min<std::uint64_t>(m_content_left, data.size() - i));
            pass(data.subspan(i, n));
            i += n;
            m_content_left -= n;
            if (m_content_left == 0) element_ended();
            break;
        }
        case State::Header:
            pass(data.subspan(i, 1));
            header_octet(data[i]);
            ++i;
            break;
        }
    }
}

}  // namespace ssm::smime::cms
