// Streaming BER reader of (Auth)EnvelopedData; see decrypt_stream.h. Untrusted input: this is
// hand-written BER header parsing, so every length is checked against the enclosing element
// and the structure budget before anything is read or allocated.
#include "smime/cms/decrypt_stream.h"

#include <algorithm>
#include <string>

#include "base/error.h"
#include "smime/cms/decrypt.h"
#include "smime/cms/definite_lengths.h"
#include "smime/cms/der_oids.h"
#include "smime/cms/der_length.h"

namespace ssm::smime::cms {
namespace {

void append(Bytes& to, const Bytes& from)
{
    to.insert(to.end(), from.begin(), from.end());
}

Bytes wrap(std::uint8_t tag, const Bytes& body)
{
    Bytes out = der_header(tag, body.size());
    append(out, body);
    return out;
}

// Collects the mac octets, refusing more than any AEAD tag we take (GCM and Poly1305: 16) has
// by a wide margin before they are kept: the segments' lengths come from the sender.
class MacSink final : public ByteSink {
public:
    explicit MacSink(const BerStream& in) : m_in(in) {}
    using ByteSink::write;
    void write(ByteView data) override
    {
        if (data.size() > kMaxMac - m_mac.size()) m_in.malformed("mac too long");
        m_mac.insert(m_mac.end(), data.begin(), data.end());
    }
    Bytes take() { return std::move(m_mac); }

private:
    static constexpr std::size_t kMaxMac = 64;
    const BerStream& m_in;
    Bytes m_mac;
};

}  // namespace

EnvelopedStream::Prefix EnvelopedStream::read_prefix()
{
    m_budget = kMaxEnvelopeStructure;
    const BerHeader ci_h = m_in.header();
    if (ci_h.tag != 0x30) m_in.malformed("ContentInfo is not a SEQUENCE");
    m_ci = m_in.open(ci_h, nullptr);
    const Bytes type = m_in.read_child(m_ci, 0x06, "contentType", m_budget, 4);
    if (der_oid::is(type, der_oid::kAuthEnvelopedData))
        m_authenticated = true;
    else if (!der_oid::is(type, der_oid::kEnvelopedData))
        m_in.malformed("ContentInfo is not (Auth)EnvelopedData");
    m_in.set_context(m_authenticated ? "AuthEnvelopedData" : "EnvelopedData");
    BerHeader h;
    if (!m_in.next_child(m_ci, h) || h.tag != 0xA0) m_in.malformed("missing content [0]");
    m_c0 = m_in.open(h, &m_ci);
    if (!m_in.next_child(m_c0, h) || h.tag != 0x30) m_in.malformed("content is not a SEQUENCE");
    m_ed = m_in.open(h, &m_c0);

    Bytes body = m_in.read_child(m_ed, 0x02, "version", m_budget, 4);
    if (!m_in.next_child(m_ed, h)) m_in.malformed("missing recipientInfos");
    if (h.tag == 0xA0) {  // originatorInfo
        m_in.copy_element(h, &body, m_budget, 4);
        if (!m_in.next_child(m_ed, h)) m_in.malformed("missing recipientInfos");
    }
    if (h.tag != 0x31) m_in.malformed("recipientInfos is not a SET");
    m_in.copy_element(h, &body, m_budget, 4);

    if (!m_in.next_child(m_ed, h) || h.tag != 0x30) m_in.malformed("missing encryptedContentInfo");
    m_eci = m_in.open(h, &m_ed);
    Bytes eci = m_in.read_child(m_eci, 0x06, "contentType", m_budget, 4);
    append(eci, m_in.read_child(m_eci, 0x30, "contentEncryptionAlgorithm", m_budget, 4));
    append(body, wrap(0x30, eci));

    Prefix p;
    p.authenticated = m_authenticated;
    if (m_in.next_child(m_eci, h)) {
        if (h.tag != 0x80 && h.tag != 0xA0) m_in.malformed("unexpected element in encryptedContentInfo");
        m_pending = h;
        p.has_content = true;
    }
    Bytes ci(std::begin(der_oid::kEnvelopedData), std::end(der_oid::kEnvelopedData));
    append(ci, wrap(0xA0, wrap(0x30, body)));
    // originatorInfo and recipientInfos were copied as received, maybe in indefinite lengths
    // (BER streaming encoders): definite for libtasn1 and for comparing issuer Names.
    p.content_info = with_definite_lengths(wrap(0x30, ci));
    return p;
}

void EnvelopedStream::stream_content(ByteSink& out)
{
    if (!m_pending) m_in.malformed("no encryptedContent");
    const BerHeader h = *m_pending;
    m_pending.reset();
    m_in.stream_octets(h, &m_eci, out, 5);
    m_in.expect_end(m_eci, "encryptedContentInfo");
}

EnvelopedStream::Trailer EnvelopedStream::read_trailer()
{
    if (m_pending) m_in.malformed("encryptedContent not read");
    m_budget = kMaxEnvelopeStructure;
    Trailer t;
    BerHeader h;
    bool more = m_in.next_child(m_ed, h);
    if (!m_authenticated) {
        if (more && h.tag == 0xA1) {  // unprotectedAttrs: nothing in them concerns us
            m_in.copy_element(h, nullptr, m_budget, 4);
            more = m_in.next_child(m_ed, h);
        }
    } else {
        if (more && h.tag == 0xA1) {
            t.auth_attrs.emplace();
            m_in.copy_element(h, &*t.auth_attrs, m_budget, 4);
            more = m_in.next_child(m_ed, h);
        }
        if (!more || (h.tag != 0x04 && h.tag != 0x24)) m_in.malformed("missing mac");
        // MessageAuthenticationCode ::= OCTET STRING: a BER encoder may send it constructed,
        // in segments (RFC 5652 §2 allows BER); its value is their concatenation.
        MacSink mac(m_in);
        m_in.stream_octets(h, &m_ed, mac, 5);
        t.mac = mac.take();
        more = m_in.next_child(m_ed, h);
        if (more && h.tag == 0xA2) {  // unauthAttrs
            m_in.copy_element(h, nullptr, m_budget, 4);
            more = m_in.next_child(m_ed, h);
        }
    }
    if (more) m_in.malformed("unexpected element after encryptedContentInfo");
    m_in.expect_end(m_c0, "content [0]");
    m_in.expect_end(m_ci, "ContentInfo");
    if (!m_in.at_eof()) m_in.malformed("trailing bytes after ContentInfo");
    return t;
}

}  // namespace ssm::smime::cms
