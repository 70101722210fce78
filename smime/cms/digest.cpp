// Streaming digests over gnutls_hash; see digest.h.
#include "smime/cms/digest.h"

#include "base/error.h"

namespace ssm::smime::cms {

Hasher::Hasher(DigestAlgorithm algorithm) : m_algorithm(algorithm)
{
    int rc = gnutls_hash_init(&m_handle, gnutls_digest(algorithm));
    if (rc < 0) {
        m_handle = nullptr;
        throw Error(Failure::Internal, std::string("gnutls_hash_init: ") + gnutls_strerror(rc));
    }
}

Hasher::~Hasher()
{
    if (m_handle) gnutls_hash_deinit(m_handle, nullptr);
}

void Hasher::write(ByteView data)
{
    if (!m_handle) throw Error(Failure::Internal, "Hasher used after finish()");
    if (data.empty()) return;
    int rc = gnutls_hash(m_handle, data.data(), data.size());
    if (rc < 0) throw Error(Failure::Internal, std::string("gnutls_hash: ") + gnutls_strerror(rc));
}

Bytes Hasher::finish()
{
    if (!m_handle) throw Error(Failure::Internal, "Hasher finished twice");
    Bytes out(digest_size(m_algorithm));
    gnutls_hash_deinit(m_handle, out.data());
    m_handle = nullptr;
    return out;
}

Bytes digest_of(DigestAlgorithm algorithm, ByteView data)
{
    Hasher h(algorithm);
    h.write(data);
    return h.finish();
}

}  // namespace ssm::smime::cms
