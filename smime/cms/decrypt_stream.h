// Streaming BER walk of a ContentInfo holding (Auth)EnvelopedData, in three steps so that the
// content key can be recovered between them: the structures before the encrypted content
// (bounded, in memory), the encrypted content octets (streamed to a sink), the trailer
// (unprotected attributes, mac). Input is untrusted: every length is checked against its
// parent and a budget, nesting is bounded; failures are Error(MalformedMessage) or
// Error(MessageTooLarge) beyond kMaxEnvelopeStructure.
#pragma once
#include <cstdint>
#include <optional>

#include "base/bytes.h"
#include "base/stream.h"

namespace ssm::smime::cms {

class EnvelopedStream {
public:
    explicit EnvelopedStream(ByteSource& src) : m_src(src) {}
    EnvelopedStream(const EnvelopedStream&) = delete;
    EnvelopedStream& operator=(const EnvelopedStream&) = delete;

    struct Prefix {
        bool authenticated = false;  // AuthEnvelopedData
        // A DER ContentInfo of type envelopedData (also for AuthEnvelopedData, whose leading
        // fields are the same) with version, originatorInfo, recipientInfos and the
        // encryptedContentInfo minus encryptedContent, copied as received:
        // decode_enveloped_content_info reads it.
        Bytes content_info;
        bool has_content = false;  // encryptedContent present (not detached)
    };
    Prefix read_prefix();

    // Sends the encryptedContent octets to `out` (primitive or constructed from segments).
    void stream_content(ByteSink& out);

    struct Trailer {
        bool has_auth_attrs = false;   // AuthEnvelopedData authAttrs (we do not support them)
        std::optional<Bytes> mac;      // AuthEnvelopedData
    };
    // Reads everything after the encryptedContentInfo to the end of the input.
    Trailer read_trailer();

    struct Header {
        std::uint8_t tag = 0;
        bool indefinite = false;
        std::uint64_t length = 0;
        Bytes raw;  // the header octets as received
        bool constructed() const { return tag & 0x20; }
        bool eoc() const { return tag == 0 && !indefinite && length == 0; }
    };
    // A constructed element being read: where it ends (definite) or that it ends with an
    // end-of-contents (indefinite).
    struct Frame {
        bool indefinite = false;
        std::uint64_t end = 0;
    };

private:
    bool fill();
    std::uint8_t byte();
    Header header();
    void take(std::uint64_t n, ByteSink* sink, Bytes* out);
    Frame open(const Header& h, const Frame* parent);
    bool at_end(const Frame& f);
    bool next_child(Frame& f, Header& h);
    void expect_end(Frame& f, const char* what);
    Bytes read_child(Frame& f, std::uint8_t tag, const char* what);
    void copy_element(const Header& h, Bytes* out, int depth);
    void stream_octets(const Header& h, const Frame& parent, ByteSink& out, int depth);

    ByteSource& m_src;
    Bytes m_buf = Bytes(64 * 1024);
    std::size_t m_pos = 0, m_len = 0;
    std::uint64_t m_consumed = 0;
    std::size_t m_budget = 0;
    bool m_authenticated = false;
    Frame m_ci, m_c0, m_ed, m_eci;
    std::optional<Header> m_pending;  // a header read ahead (the element after the content)
};

}  // namespace ssm::smime::cms
