// libcurl implementation of HttpFetcher (see http_fetcher.h). The URL and the answer are
// untrusted: the scheme is checked before libcurl sees the URL, libcurl is restricted to HTTP
// without redirects, and the body is cut off at the size limit while it arrives.
#include "pki/http_fetcher.h"

#include <memory>
#include <mutex>

#include <curl/curl.h>

#include "base/log.h"

namespace ssm::pki {

namespace {

struct EasyDeleter {
    void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

struct Sink {
    Bytes data;
    std::size_t limit = 0;
    bool overflow = false;
};

extern "C" std::size_t write_body(char* ptr, std::size_t size, std::size_t nmemb, void* user)
{
    auto* sink = static_cast<Sink*>(user);
    const std::size_t n = size * nmemb;  // libcurl guarantees size == 1
    if (n > sink->limit - sink->data.size()) {
        sink->overflow = true;
        return 0;  // aborts the transfer
    }
    sink->data.insert(sink->data.end(), ptr, ptr + n);
    return n;
}

// libcurl's global initialisation is not thread-safe: done once, before any handle exists.
void global_init()
{
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::optional<Bytes> perform(const std::string& url, const FetchLimits& limits, const curl_slist* headers,
                             std::optional<ByteView> post_body)
{
    if (!is_fetchable_url(url)) return std::nullopt;
    global_init();
    Easy easy(curl_easy_init());
    if (!easy) return std::nullopt;
    CURL* c = easy.get();
    Sink sink;
    sink.limit = limits.max_bytes;
    bool ok = curl_easy_setopt(c, CURLOPT_URL, url.c_str()) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&  // threads: no SIGALRM
              curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1") == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count())) ==
                  CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.timeout.count())) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes)) ==
                  CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_USERAGENT, "ssm-milter") == CURLE_OK;
    if (ok && headers) ok = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    if (ok && post_body) {
        ok = curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body->data()) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size())) ==
                 CURLE_OK;
    }
    if (!ok) return std::nullopt;
    const CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
        // Not a passing network trouble: the same answer will be too large next time, and the
        // administrator's fix is [pki] max_crl_size, so it is said at warning level.
        log::warning("pki_fetch_too_large", {{"url", url}, {"limit", std::to_string(limits.max_bytes)},
                                             {"key", "[pki] max_crl_size"}});
        return std::nullopt;
    }
    if (rc != CURLE_OK || status != 200) {
        log::debug("pki_fetch_failed", {{"url", url},
                                        {"error", curl_easy_strerror(rc)},
                                        {"http_status", std::to_string(status)}});
        return std::nullopt;
    }
    return std::move(sink.data);
}

}  // namespace

bool is_fetchable_url(std::string_view url)
{
    constexpr std::string_view scheme = "http://";
    if (url.size() <= scheme.size() || url.size() > 2048) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if ((url[i] | 0x20) != scheme[i] && url[i] != scheme[i]) return false;
    for (char ch : url)
        if (static_cast<unsigned char>(ch) <= 0x20 || static_cast<unsigned char>(ch) >= 0x7f) return false;
    return url[scheme.size()] != '/';
}

CurlFetcher::CurlFetcher()
{
    global_init();
}

std::optional<Bytes> CurlFetcher::get(const std::string& url, const FetchLimits& limits) const
{
    return perform(url, limits, nullptr, std::nullopt);
}

std::optional<Bytes> CurlFetcher::post(const std::string& url, std::string_view content_type, ByteView body,
                                       const FetchLimits& limits) const
{
    Slist headers(curl_slist_append(nullptr, ("Content-Type: " + std::string(content_type)).c_str()));
    if (!headers) return std::nullopt;
    return perform(url, limits, headers.get(), body);
}

}  // namespace ssm::pki
