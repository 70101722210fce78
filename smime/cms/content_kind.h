// Which CMS content type a received object is, read from its ContentInfo alone (RFC 5652
// §3): receivers must not trust the MIME label (smime-type may be absent, as from S/MIME v2
// clients, or wrong). Input is untrusted; only the first few octets are read.
#pragma once
#include "base/stream.h"

namespace ssm::smime::cms {

enum class ContentKind { SignedData, EnvelopedData, AuthEnvelopedData, CompressedData, Other, NotCms };

// Reads the ContentInfo SEQUENCE header and its contentType OID from `der` (from where it
// stands; the caller rewinds). NotCms when those octets are not a ContentInfo at all
// (garbage, truncation); Other for a ContentInfo of another type (certs-only, data...).
ContentKind peek_content_kind(ByteSource& der);

const char* content_kind_name(ContentKind k) noexcept;

}  // namespace ssm::smime::cms
