// Streaming BER walk (ber_stream.h) of a ContentInfo holding (Auth)EnvelopedData, in three steps so that the
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
#include "smime/cms/ber_stream.h"

namespace ssm::smime::cms {

class EnvelopedStream {
public:
    // Errors name "(Auth)EnvelopedData" until the content type tells which it is.
    explicit EnvelopedStream(ByteSource& src) : m_in(src, "(Auth)EnvelopedData") {}
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
        std::optional<Bytes> auth_attrs;  // AuthEnvelopedData authAttrs: the [1] element as received
        std::optional<Bytes> mac;         // AuthEnvelopedData
    };
    // Reads everything after the encryptedContentInfo to the end of the input.
    Trailer read_trailer();

private:
    BerStream m_in;
    std::size_t m_budget = 0;
    bool m_authenticated = false;
    BerFrame m_ci, m_c0, m_ed, m_eci;
    std::optional<BerHeader> m_pending;  // a header read ahead (the element after the content)
};

}  // namespace ssm::smime::cms
