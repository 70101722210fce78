// Reinjection of split-off copies: the authenticated marker and the all-or-nothing hand-over
// of several copies to the listener (milter/smtp_client.h says why that is not libcurl).
#include "milter/reinjection.h"

#include <gnutls/crypto.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <type_traits>

#include "base/ascii.h"
#include "base/error.h"
#include "base/joined.h"
#include "base/log.h"
#include "milter/smtp_client.h"

namespace ssm::milter {

namespace {

// A v=1 or v=3 marker has no origin fields (a_field, c_field empty): its MAC input is the
// version label, the time, the nonce and the envelope; a v=3 marker's also the body digest.
std::string marker_mac(const ReinjectionSettings& settings, std::string_view version, std::string_view time_text,
                       std::string_view nonce, std::string_view a_field, std::string_view c_field,
                       std::string_view sender, std::vector<std::string> recipients,
                       std::string_view body_digest = {})
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
    if (version == "2") {
        add(a_field);
        add(c_field);
    }
    if (version == "3") add(body_digest);
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

// "v=1; t=...; n=...; mac=...", "v=3; t=...; n=...; b=...; mac=..." or
// "v=2; t=...; n=...; a=...; c=...; mac=..." exactly in this order and form.
struct ParsedMarker {
    std::string_view version, time_text, nonce, a_field, c_field, body_digest, mac;
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
    if (version != std::string_view("1") && version != std::string_view("2") && version != std::string_view("3"))
        return std::nullopt;
    m.version = *version;
    auto t = take("t="), n = take("n=");
    if (!t || !n) return std::nullopt;
    if (m.version == "3") {
        auto b = take("b=", 64);
        if (!b || b->size() != 64) return std::nullopt;
        m.body_digest = *b;
    }
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

// An envelope address as the SMTP client writes it into MAIL FROM and RCPT TO: verbatim, so a
// CR or LF in it would end the command and start another of the sender's choosing (an extra
// RCPT TO, a second transaction). The MTA's envelope is the source; one
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

std::string as_made_body_digest(ByteSource& body)
{
    gnutls_hash_hd_t hash = nullptr;
    if (gnutls_hash_init(&hash, GNUTLS_DIG_SHA256) != 0) throw Error(Failure::Internal, "SHA-256 unavailable");
    const std::unique_ptr<std::remove_pointer_t<gnutls_hash_hd_t>, void (*)(gnutls_hash_hd_t)> guard(
        hash, [](gnutls_hash_hd_t h) { gnutls_hash_deinit(h, nullptr); });
    // A run of CR and LF is held back until a byte that is neither shows it is not the end.
    std::string held;
    std::uint8_t buf[8192];
    body.rewind();
    while (const std::size_t n = body.read(buf)) {
        std::size_t kept = n;  // bytes up to and with the last that is neither CR nor LF
        while (kept > 0 && (buf[kept - 1] == '\r' || buf[kept - 1] == '\n')) --kept;
        if (kept > 0) {
            if (!held.empty()) gnutls_hash(hash, held.data(), held.size());
            held.clear();
            gnutls_hash(hash, buf, kept);
        }
        held.append(reinterpret_cast<const char*>(buf) + kept, n - kept);
    }
    std::uint8_t digest[32];
    gnutls_hash_output(hash, digest);
    return to_hex(ByteView(digest, sizeof digest));
}

std::string make_as_made_marker(const ReinjectionSettings& settings, std::string_view sender,
                                std::vector<std::string> recipients, std::time_t now, std::string_view body_digest)
{
    std::uint8_t nonce[12];
    if (gnutls_rnd(GNUTLS_RND_NONCE, nonce, sizeof nonce) != 0)
        throw Error(Failure::Temporary, "no random nonce for the reinjection marker");
    const std::string time_text = std::to_string(static_cast<long long>(now));
    const std::string nonce_text = to_hex(ByteView(nonce, sizeof nonce));
    if (body_digest.size() != 64) throw Error(Failure::Internal, "an as-made marker needs the body's digest");
    return "v=3; t=" + time_text + "; n=" + nonce_text + "; b=" + std::string(body_digest) +
           "; mac=" + marker_mac(settings, "3", time_text, nonce_text, "", "", sender, std::move(recipients),
                                 body_digest);
}

bool reinjection_marker_valid(const ReinjectionSettings& settings, std::string_view value,
                              std::string_view sender, std::vector<std::string> recipients, std::time_t now,
                              ReinjectedOrigin* origin, bool* as_made, std::string* made_body_digest,
                              MarkerIdentity* identity)
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
                                               parsed->a_field, parsed->c_field, sender, std::move(recipients),
                                               parsed->body_digest)))
            return false;
    } catch (const Error&) {
        return false;
    }
    if (origin) *origin = std::move(carried);
    if (as_made) *as_made = parsed->version == "3";
    if (made_body_digest) *made_body_digest = std::string(parsed->body_digest);
    if (identity)
        *identity = {std::string(parsed->mac), static_cast<std::time_t>(made)};
    return true;
}

void submit_all(const ReinjectionSettings& settings, const std::vector<Submission>& submissions,
                std::size_t* failed)
{
    for (std::size_t i = 0; i < submissions.size(); ++i) {
        if (failed) *failed = i;
        check_envelope_address(submissions[i].sender);
        for (const auto& r : submissions[i].recipients) check_envelope_address(r);
    }
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(settings.timeout);
    // Copies go in batches of at most kMaxOpenCopySessions sessions. Within a batch every copy
    // is staged (all but its final dot) before any dot is sent, so a failure there unwinds the
    // batch with each session closed before its dot. The cap exists because a staged session
    // holds one of the listener's smtpd processes until our dot: a message with more copies
    // than the listener has processes (Postfix's default_process_limit, 100), or many such
    // messages at once, would wait on its own sessions until the timeout and be deferred on
    // every retry. Past the first batch the all-or-nothing window widens to the batches
    // already sent (logged below as reinjection-partial).
    std::size_t committed = 0;
    try {
        for (std::size_t first = 0; first < submissions.size(); first += kMaxOpenCopySessions) {
            const std::size_t end = std::min(submissions.size(), first + kMaxOpenCopySessions);
            std::vector<SmtpSession> sessions;
            sessions.reserve(end - first);
            for (std::size_t i = first; i < end; ++i) {
                if (failed) *failed = i;
                // The EHLO name libcurl sent before (its URL path); listeners may log or match it.
                sessions.emplace_back(settings.host, settings.port, timeout, "ssm-milter");
                sessions.back().stage(submissions[i].sender, submissions[i].recipients, *submissions[i].message);
            }
            for (auto& session : sessions) {
                if (failed) *failed = committed;
                session.commit();
                ++committed;
            }
        }
    } catch (const Error& e) {
        if (committed == 0) throw;  // nothing went out: all or nothing held
        // The window left: some copies are the listener's, the rest were dropped before their
        // dot. The original is deferred (or refused) and the ones that went out will go again
        // on its retry; the administrator sees which.
        // Copies separated by ";", the recipients of one copy by ",".
        std::string sent, not_sent;
        for (std::size_t i = 0; i < submissions.size(); ++i) {
            std::string& list = i < committed ? sent : not_sent;
            list += (list.empty() ? "" : ";") + joined(submissions[i].recipients, "<>");
        }
        log::error("reinjection-partial", {{"sent", sent},
                                           {"not_sent", not_sent},
                                           {"copies", std::to_string(submissions.size())},
                                           {"error", e.what()}});
        throw Error(e.failure(), std::string(e.what()) + " (after " + std::to_string(committed) + " of " +
                                     std::to_string(submissions.size()) + " copies went out)");
    }
}

void submit_copy(const ReinjectionSettings& settings, std::string_view sender,
                 const std::vector<std::string>& recipients, ByteSource& message)
{
    submit_all(settings, {Submission{std::string(sender), recipients, &message}});
}

}  // namespace ssm::milter
