// The ContentInfo peek of content_kind.h. Untrusted input through BerStream (every header
// checked); at most the SEQUENCE header and one short OID are read and kept.
#include "smime/cms/content_kind.h"

#include <algorithm>
#include <iterator>

#include "base/error.h"
#include "smime/cms/ber_stream.h"

namespace ssm::smime::cms {
namespace {

// DER of the content-type OBJECT IDENTIFIERs we act on (RFC 5652 §5.1, §6.1; RFC 5083 §1;
// RFC 3274 §1.1).
constexpr std::uint8_t kSignedDataOid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
constexpr std::uint8_t kEnvelopedDataOid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03};
constexpr std::uint8_t kAuthEnvelopedDataOid[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
                                                  0x01, 0x09, 0x10, 0x01, 0x17};
constexpr std::uint8_t kCompressedDataOid[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                               0x0d, 0x01, 0x09, 0x10, 0x01, 0x09};

template <std::size_t N>
bool is(const Bytes& b, const std::uint8_t (&oid)[N])
{
    return std::equal(b.begin(), b.end(), std::begin(oid), std::end(oid));
}

}  // namespace

ContentKind peek_content_kind(ByteSource& der)
{
    BerStream r(der, "ContentInfo");
    try {
        const BerHeader ci_h = r.header();
        if (ci_h.tag != 0x30) return ContentKind::NotCms;
        BerFrame ci = r.open(ci_h, nullptr);
        std::size_t budget = 64;  // an OID longer than this is not one we know
        const Bytes type = r.read_child(ci, 0x06, "contentType", budget, 1);
        if (is(type, kSignedDataOid)) return ContentKind::SignedData;
        if (is(type, kEnvelopedDataOid)) return ContentKind::EnvelopedData;
        if (is(type, kAuthEnvelopedDataOid)) return ContentKind::AuthEnvelopedData;
        if (is(type, kCompressedDataOid)) return ContentKind::CompressedData;
        return ContentKind::Other;
    } catch (const Error&) {
        return ContentKind::NotCms;
    }
}

const char* content_kind_name(ContentKind k) noexcept
{
    switch (k) {
    case ContentKind::SignedData: return "signed-data";
    case ContentKind::EnvelopedData: return "enveloped-data";
    case ContentKind::AuthEnvelopedData: return "authEnveloped-data";
    case ContentKind::CompressedData: return "compressed-data";
    case ContentKind::Other: return "other";
    case ContentKind::NotCms: return "not-cms";
    }
    return "not-cms";
}

}  // namespace ssm::smime::cms
