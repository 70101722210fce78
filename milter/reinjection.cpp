// Reinjection of split-off copies: the authenticated marker and the SMTP submission (libcurl,
// already used for CRL/OCSP fetches, rather than a hand-written SMTP client).
#include "milter/reinjection.h"

#include <curl/curl.h>
#include <gnutls/crypto.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <mutex>

#include "base/ascii.h"
#include "base/error.h"

namespace ssm::milter {

namespace {

// A v=1 marker has no origin fields (a_field, c_field empty): its MAC input is unchanged.
std::string marker_mac(const ReinjectionSettings& settings, std::string_view version, std::string_view time_text,
                       std::string_view nonce, std::string_view a_field, std::string_view c_field,
                       std::string_view sender, std::vector<std::string> recipients)
{
    for (auto& r : recipients) r = ascii_lowercase(r);
    std::sort(recipients.begin(), recipients.end());
    // NUL separates the fields: none of them can contain one (SMTP envelope text, hex).
    std::string input = "ssm-reinjection-v" + std::string(version);
    auto add = [&input](std::string_view field) {
        input.push_back('\0');
        input.append(field);
    };
    add(time_text);
    add(nonce);
    if (version != "1") {
        add(a_field);
        add(c_field);
    }
    add(ascii_lowercase(sender));
    for (const auto& r : recipients) add(r);
    std::uint8_t digest[32];
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, settings.secret.data(), settings.secret.size(), input.data(),
                         input.size(), digest) != 0)
        throw Error(Failure::Internal, "HMAC-SHA256 failed");
    return to_hex(ByteView(digest, sizeof digest));
}

// Constant-time comparison: the MAC must not leak through timing.
bool same_text(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

// An origin field: "-" for empty, else the text in lower-case hexadecimal.
std::string origin_field(std::string_view text)
{
    return text.empty() ? std::string("-") : to_hex(as_bytes(text));
}

// Its inverse, strict: nullopt for anything origin_field does not write, and for a control
// character or space (the values are an SMTP AUTH name and an address).
std::optional<std::string> origin_text(std::string_view field)
{
    if (field == "-") return std::string();
    if (field.size() % 2 != 0) return std::nullopt;
    const auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string text;
    for (std::size_t i = 0; i < field.size(); i += 2) {
        const int high = digit(field[i]), low = digit(field[i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        const int value = high * 16 + low;
        if (value < 0x21 || value == 0x7f) return std::nullopt;
        text.push_back(static_cast<char>(value));
    }
    return text;
}

// "v=1; t=...; n=...; mac=..." or "v=2; t=...; n=...; a=...; c=...; mac=..." exactly in this
// order and form.
struct ParsedMarker {
    std::string_view version, time_text, nonce, a_field, c_field, mac;
};

std::optional<ParsedMarker> parse_marker(std::string_view value)
{
    auto take = [&value](std::string_view key, std::size_t max = 128) -> std::optional<std::string_view> {
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        if (value.substr(0, key.size()) != key) return std::nullopt;
        value.remove_prefix(key.size());
        const std::size_t end = value.find(';');
        std::string_view field = value.substr(0, end);
        value = end == std::string_view::npos ? std::string_view{} : value.substr(end + 1);
        while (!field.empty() && (field.back() == ' ' || field.back() == '\t' || field.back() == '\r' ||
                                  field.back() == '\n'))
            field.remove_suffix(1);
        if (field.empty() || field.size() > max) return std::nullopt;
        return field;
    };
    ParsedMarker m;
    const auto version = take("v=");
    if (version != std::string_view("1") && version != std::string_view("2")) return std::nullopt;
    m.version = *version;
    auto t = take("t="), n = take("n=");
    if (!t || !n) return std::nullopt;
    if (m.version == "2") {
        // An SMTP AUTH name of up to 256 bytes; an IPv6 address in text.
        auto a = take("a=", 512), c = take("c=", 2 * 46);
        if (!a || !c) return std::nullopt;
        m.a_field = *a;
        m.c_field = *c;
    }
    auto mac = take("mac=");
    if (!mac || !value.empty()) return std::nullopt;
    m.time_text = *t;
    m.nonce = *n;
    m.mac = *mac;
    return m;
}

struct EasyDeleter {
    void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

struct ReadState {
    ByteSource* source;
    std::string error;
};

// libcurl read callback: no exception may cross it.
std::size_t read_message(char* buffer, std::size_t size, std::size_t count, void* user) noexcept
{
    auto* state = static_cast<ReadState*>(user);
    try {
        return state->source->read(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(buffer), size * count));
    } catch (const std::exception& e) {
        state->error = e.what();
        return CURL_READFUNC_ABORT;
    }
}

// An envelope address as libcurl writes it into MAIL FROM and RCPT TO: libcurl (7.88) copies
// it verbatim, so a CR or LF in it would end the command and start another of the sender's
// choosing (an extra RCPT TO, a second transaction). The MTA's envelope is the source; one
// that hands us such text (a local submission, a lax MTA) gets its message refused instead.
void check_envelope_address(std::string_view address)
{
    for (const char c : address) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            throw Error(Failure::PolicyViolation,
                        "reinjection: an envelope address holds a control character (" + std::to_string(u) + ")");
    }
}

}  // namespace

std::string make_reinjection_marker(const ReinjectionSettings& settings, std::string_view sender,
                                    std::vector<std::string> recipients, std::time_t now,
                                    const ReinjectedOrigin& origin)
{
    std::uint8_t nonce[12];
    if (gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof nonce) != 0)
        throw Error(Failure::Temporary, "no random nonce for the reinjection marker");
    const std::string time_text = std::to_string(static_cast<long long>(now));
    const std::string nonce_text = to_hex(ByteView(nonce, sizeof nonce));
    if (origin.empty())
        return "v=1; t=" + time_text + "; n=" + nonce_text +
               "; mac=" + marker_mac(settings, "1", time_text, nonce_text, "", "", sender, std::move(recipients));
    const std::string a = origin_field(origin.auth_user), c = origin_field(origin.client);
    if (a.size() > 512 || c.size() > 2 * 46)
        throw Error(Failure::Temporary, "the client's name or address is too long for the reinjection marker");
    return "v=2; t=" + time_text + "; n=" + nonce_text + "; a=" + a + "; c=" + c +
           "; mac=" + marker_mac(settings, "2", time_text, nonce_text, a, c, sender, std::move(recipients));
}

bool reinjection_marker_valid(const ReinjectionSettings& settings, std::string_view value,
                              std::string_view sender, std::vector<std::string> recipients, std::time_t now,
                              ReinjectedOrigin* origin)
{
    if (!settings.enabled() || settings.secret.empty()) return false;
    const auto parsed = parse_marker(value);
    if (!parsed) return false;
    long long made = 0;
    const auto* end = parsed->time_text.data() + parsed->time_text.size();
    if (auto [p, ec] = std::from_chars(parsed->time_text.data(), end, made); ec != std::errc{} || p != end)
        return false;
    // A copy from "the future" beyond clock skew between threads is not ours either.
    if (made > static_cast<long long>(now) + 300) return false;
    if (static_cast<long long>(now) - made > settings.marker_lifetime.count()) return false;
    ReinjectedOrigin carried;
    if (parsed->version == "2") {
        auto a = origin_text(parsed->a_field), c = origin_text(parsed->c_field);
        if (!a || !c) return false;
        carried = {std::move(*a), std::move(*c)};
    }
    try {
        if (!same_text(parsed->mac, marker_mac(settings, parsed->version, parsed->time_text, parsed->nonce,
                                               parsed->a_field, parsed->c_field, sender, std::move(recipients))))
            return false;
    } catch (const Error&) {
        return false;
    }
    if (origin) *origin = std::move(carried);
    return true;
}

void submit_copy(const ReinjectionSettings& settings, std::string_view sender,
                 const std::vector<std::string>& recipients, ByteSource& message)
{
    check_envelope_address(sender);
    for (const auto& r : recipients) check_envelope_address(r);
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
    if (!easy) throw Error(Failure::Temporary, "reinjection: curl_easy_init failed");
    std::unique_ptr<curl_slist, SlistDeleter> rcpts;
    for (const auto& r : recipients) {
        curl_slist* grown = curl_slist_append(rcpts.get(), ("<" + r + ">").c_str());
        if (!grown) throw Error(Failure::Temporary, "reinjection: out of memory");
        rcpts.release();
        rcpts.reset(grown);
    }
    // The URL path is the EHLO name libcurl sends.
    // An IPv6 address goes in brackets (the configuration's "[::1]:10027" arrives without them).
    const std::string host =
        settings.host.find(':') != std::string::npos ? "[" + settings.host + "]" : settings.host;
    const std::string url = "smtp://" + host + ":" + std::to_string(settings.port) + "/ssm-milter";
    const std::string from = "<" + std::string(sender) + ">";
    ReadState state{&message, {}};
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* c = easy.get();
    const long timeout_ms = static_cast<long>(std::chrono::milliseconds(settings.timeout).count());
    const bool ok = curl_easy_setopt(c, CURLOPT_URL, url.c_str()) == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp") == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_NOPROXY, "*") == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str()) == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts.get()) == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message) == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_READDATA, &state) == CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size())) ==
                        CURLE_OK &&
                    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer) == CURLE_OK;
    if (!ok) throw Error(Failure::Temporary, "reinjection: cannot set up the SMTP client");
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        long reply = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply);
        std::string why = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
        if (!state.error.empty()) why = state.error;
        // A 5xx answer is final: retrying the original message would meet it again forever.
        const Failure kind = reply >= 500 && reply < 600 ? Failure::PolicyViolation : Failure::Temporary;
        throw Error(kind, "reinjection to " + settings.host + ":" + std::to_string(settings.port) +
                              " failed (reply " + std::to_string(reply) + "): " + why);
    }
}

}  // namespace ssm::milter
