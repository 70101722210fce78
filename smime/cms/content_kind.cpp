// The ContentInfo peek of content_kind.h. Untrusted input through BerStream (every header
// checked); at most the SEQUENCE header and one short OID are read and kept.
#include "smime/cms/content_kind.h"

#include "base/error.h"
#include "smime/cms/ber_stream.h"
#include "smime/cms/der_oids.h"

namespace ssm::smime::cms {

using der_oid::is;

ContentKind peek_content_kind(ByteSource& der)
{
    BerStream r(der, "ContentInfo");
    try {
        const BerHeader ci_h = r.header();
        if (ci_h.tag != 0x30) return ContentKind::NotCms;
        BerFrame ci = r.open(ci_h, nullptr);
        std::size_t budget = 64;  // an OID longer than this is not one we know
        const Bytes type = r.read_child(ci, 0x06, "contentType", budget, 1);
        if (is(type, der_oid::kSignedData)) return ContentKind::SignedData;
        if (is(type, der_oid::kEnvelopedData)) return ContentKind::EnvelopedData;
        if (is(type, der_oid::kAuthEnvelopedData)) return ContentKind::AuthEnvelopedData;
        if (is(type, der_oid::kCompressedData)) return ContentKind::CompressedData;
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
