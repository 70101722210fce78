// HTTP retrieval of revocation data (CRLs from distribution points, OCSP responses) behind an
// interface, and its libcurl implementation. SECURITY: URLs come from untrusted certificates;
// only plain http:// is fetched (RFC 5280/6960 data is signed, TLS adds nothing and invites
// loops), without redirects, with time and size limits. Answers are untrusted bytes.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace ssm::pki {

struct FetchLimits {
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds timeout{5000};  // whole transfer
    std::size_t max_bytes = 4 * 1024 * 1024;  // larger answers are dropped (CRLs can be big)
};

// One request, one answer. nullopt: no usable answer (unreachable, timeout, not HTTP 200,
// oversized, not an http:// URL). Implementations must be safe to call from many threads.
class HttpFetcher {
public:
    virtual ~HttpFetcher() = default;
    virtual std::optional<Bytes> get(const std::string& url, const FetchLimits& limits) const = 0;
    virtual std::optional<Bytes> post(const std::string& url, std::string_view content_type, ByteView body,
                                      const FetchLimits& limits) const = 0;
};

// True for "http://host..." with a non-empty host and no control characters or spaces.
bool is_fetchable_url(std::string_view url);

// libcurl, one easy handle per request (no shared state between threads). Environment proxies
// apply except for loopback addresses.
class CurlFetcher final : public HttpFetcher {
public:
    CurlFetcher();
    std::optional<Bytes> get(const std::string& url, const FetchLimits& limits) const override;
    std::optional<Bytes> post(const std::string& url, std::string_view content_type, ByteView body,
                              const FetchLimits& limits) const override;
};

}  // namespace ssm::pki
