// Loads ssm-milter.toml with toml++ and checks it against the key table
// (config_table.cpp): unknown keys, wrong types and bad values are errors naming
// file:line:column. Defaults come from the same table, parsed by the same parser.
#include "milter/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <toml++/toml.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "base/bounded_file.h"
#include "base/email_address.h"
#include "milter/config_loader.h"
#include "milter/config_rules.h"
#include "milter/config_table.h"
#include "pki/anchor_scope.h"

namespace ssm::milter {

using namespace config_detail;

namespace {

void load_milter(Loader& L, const toml::table* t, Config& c)
{
    auto& m = c.milter;
    m.socket = L.str(t, "milter", "socket");
    m.user = L.str(t, "milter", "user");
    m.authserv_id = L.str(t, "milter", "authserv_id");
    // It is written unquoted as the first token of our Authentication-Results field (RFC 8601
    // authserv-id, in practice a host name): anything else would make the field malformed.
    for (const char ch : m.authserv_id) {
        const auto u = static_cast<unsigned char>(ch);
        if (!(std::isalnum(u) || ch == '.' || ch == '-' || ch == '_'))
            L.fail(L.region(t, "authserv_id"), "authserv_id must be a host name (letters, digits, '.', '-')");
    }
    for (const auto& s : L.strings(t, "milter", "internal_networks")) {
        auto n = Network::parse(s);
        if (!n) L.fail(L.region(t, "internal_networks"), "'" + s + "' is not an address or CIDR network");
        m.internal_networks.push_back(*n);
    }
    m.originating_daemons = L.strings(t, "milter", "originating_daemons");
    m.spool_dir = L.str(t, "milter", "spool_dir");
    m.memory_spool_limit = L.size(t, "milter", "memory_spool_limit");
    m.max_message_size = L.size(t, "milter", "max_message_size");
    m.max_header_field_size = L.size(t, "milter", "max_header_field_size");
    m.max_mime_depth = static_cast<unsigned>(L.integer(t, "milter", "max_mime_depth"));
    m.log_level = L.str(t, "milter", "log_level");
    if (m.log_level != "debug" && m.log_level != "info" && m.log_level != "notice" &&
        m.log_level != "warning" && m.log_level != "error")
        L.fail(L.region(t, "log_level"), "log_level must be debug, info, notice, warning or error");
    const std::string& sock = m.socket;
    if (sock.rfind("unix:", 0) != 0 && sock.rfind("local:", 0) != 0 && sock.rfind("inet:", 0) != 0 &&
        sock.rfind("inet6:", 0) != 0)
        L.fail(L.region(t, "socket"), "socket must start with unix:, local:, inet: or inet6:");
}

void load_signing(Loader& L, const toml::table* t, Config& c)
{
    auto& s = c.signing;
    const std::string format = L.str(t, "signing", "format");
    if (format == "detached") s.format = smime::SignatureFormat::Detached;
    else if (format == "opaque") s.format = smime::SignatureFormat::Opaque;
    else L.fail(L.region(t, "format"), "format must be \"detached\" or \"opaque\"");
    auto digest = smime::parse_digest_name(L.str(t, "signing", "digest"));
    if (!digest) L.fail(L.region(t, "digest"), "digest must be sha256, sha384 or sha512");
    s.digest = *digest;
    const std::string scheme = L.str(t, "signing", "rsa_scheme");
    if (scheme == "pkcs1") s.rsa_scheme = smime::SignatureScheme::RsaPkcs1v15;
    else if (scheme == "pss") s.rsa_scheme = smime::SignatureScheme::RsaPss;
    else L.fail(L.region(t, "rsa_scheme"), "rsa_scheme must be \"pkcs1\" or \"pss\"");
    s.include_chain = L.boolean(t, "signing", "include_chain");
}

void load_encryption(Loader& L, const toml::table* t, Config& c)
{
    auto& e = c.encryption;
    const std::string cipher = L.str(t, "encryption", "cipher");
    if (cipher == "auto") e.cipher = CipherChoice::Auto;
    else if (cipher == "aes256-gcm") e.cipher = CipherChoice::Aes256Gcm;
    else if (cipher == "aes128-gcm") e.cipher = CipherChoice::Aes128Gcm;
    else if (cipher == "aes256-cbc") e.cipher = CipherChoice::Aes256Cbc;
    else if (cipher == "aes128-cbc") e.cipher = CipherChoice::Aes128Cbc;
    else if (cipher == "chacha20-poly1305") e.cipher = CipherChoice::ChaCha20Poly1305;
    else L.fail(L.region(t, "cipher"),
                "cipher must be auto, aes256-gcm, aes128-gcm, aes256-cbc, aes128-cbc or chacha20-poly1305");
    const std::string kt = L.str(t, "encryption", "key_transport");
    if (kt == "auto") e.key_transport = KeyTransportChoice::Auto;
    else if (kt == "pkcs1") e.key_transport = KeyTransportChoice::Pkcs1v15;
    else if (kt == "oaep") e.key_transport = KeyTransportChoice::Oaep;
    else L.fail(L.region(t, "key_transport"), "key_transport must be auto, pkcs1 or oaep");
    const auto rid = policy::parse_recipient_identifier(L.str(t, "encryption", "recipient_identifier"));
    if (!rid)
        L.fail(L.region(t, "recipient_identifier"), "recipient_identifier must be \"issuer-serial\" or \"key-id\"");
    e.recipient_identifier = *rid;
    e.header_protection = L.boolean(t, "encryption", "header_protection");
    e.obscure_subject = L.boolean(t, "encryption", "obscure_subject") && e.header_protection;
    e.archive_certificate = L.str(t, "encryption", "archive_certificate");
    const std::string blind = L.str(t, "encryption", "blind_copies");
    if (blind == "separate") e.blind_copies = BlindCopies::Separate;
    else if (blind == "together") e.blind_copies = BlindCopies::Together;
    else L.fail(L.region(t, "blind_copies"), "blind_copies must be separate or together");
}

void load_inbound(Loader& L, const toml::table* t, Config& c)
{
    auto& in = c.inbound;
    in.strip_signature = L.boolean(t, "inbound", "strip_signature");
    in.restore_protected_headers = L.boolean(t, "inbound", "restore_protected_headers");
    in.decompress = L.boolean(t, "inbound", "decompress");
    const std::string nested = L.str(t, "inbound", "nested_encrypted");
    if (nested == "keep") in.reject_nested_encrypted = false;
    else if (nested == "reject") in.reject_nested_encrypted = true;
    else L.fail(L.region(t, "nested_encrypted"), "nested_encrypted must be \"keep\" or \"reject\"");
    in.harvest = L.boolean(t, "inbound", "harvest");
    const std::string undecryptable = L.str(t, "inbound", "on_undecryptable");
    if (undecryptable == "hold") in.on_undecryptable = Undecryptable::Hold;
    else if (undecryptable == "deliver") in.on_undecryptable = Undecryptable::Deliver;
    else if (undecryptable == "reject") in.on_undecryptable = Undecryptable::Reject;
    else L.fail(L.region(t, "on_undecryptable"), "on_undecryptable must be \"hold\", \"deliver\" or \"reject\"");
}

void load_outbound(Loader& L, const toml::table* t, Config& c)
{
    c.outbound.from_must_match_sender = L.boolean(t, "outbound", "from_must_match_sender");
}

// One token's settings: [hsm] itself, or one [[hsm.token]].
hsm::TokenConfig load_token(Loader& L, const toml::table* t, std::string_view table, const std::string& name)
{
    hsm::TokenConfig k;
    k.module = L.str(t, table, "module");
    k.token_label = L.str(t, table, "token_label");
    k.token_serial = L.str(t, table, "token_serial");
    k.pin_file = L.str(t, table, "pin_file");
    k.pin_credential = L.str(t, table, "pin_credential");
    if (k.pin_credential.find('/') != std::string::npos || k.pin_credential == "." || k.pin_credential == "..")
        L.fail(L.region(t, "pin_credential"), "pin_credential is a credential name (LoadCredential=NAME:...), not a path");
    const auto sessions = L.integer(t, table, "sessions");
    if (sessions < 1 || sessions > 256) L.fail(L.region(t, "sessions"), "sessions must be 1..256");
    k.sessions = static_cast<unsigned>(sessions);
    if (k.token_label.empty() && k.token_serial.empty())
        L.fail(L.region(t, "token_label"), name + " needs token_label or token_serial");
    if (k.pin_file.empty() && k.pin_credential.empty())
        L.fail(L.region(t, "pin_file"), name + " needs pin_file or pin_credential");
    return k;
}

void load_hsm(Loader& L, const toml::table* t, Config& c)
{
    // Every other key of [hsm] has a default, the token has none: without the section the
    // error would be "[hsm] needs token_label or token_serial" at a line the file does not have.
    if (!t)
        L.fail({}, "no [hsm] section: add [hsm] with token_label (or token_serial) naming the token that "
                   "holds the gateway's keys; module and pin_file have defaults (ssm-milter.toml(5))");
    c.hsm = load_token(L, t, "hsm", "[hsm]");
    const toml::node* more = t ? t->get("token") : nullptr;
    if (!more) return;
    for (auto& e : *more->as_array()) {
        hsm::TokenConfig k = load_token(L, e.as_table(), "hsm.token[]", "[[hsm.token]]");
        // The same token twice would log in twice and list every key twice.
        for (const auto& earlier : c.tokens())
            if (earlier.module == k.module && hsm::token_matches(earlier.token_label, earlier.token_serial,
                                                                 k.token_label, k.token_serial))
                L.fail(L.region(e.as_table(), k.token_label.empty() ? "token_serial" : "token_label"),
                       "[[hsm.token]] names a token already configured");
        c.more_tokens.push_back(std::move(k));
    }
}

void load_pki(Loader& L, const toml::table* t, Config& c)
{
    c.pki.trust_anchors = L.str(t, "pki", "trust_anchors");
    c.pki.intermediates = L.str(t, "pki", "intermediates");
    c.pki.crls = L.str(t, "pki", "crls");
    c.pki.revocation = L.str(t, "pki", "revocation");
    if (c.pki.revocation != "hard-fail" && c.pki.revocation != "soft-fail" && c.pki.revocation != "off")
        L.fail(L.region(t, "revocation"), "revocation must be hard-fail, soft-fail or off");
    c.pki.ocsp = L.boolean(t, "pki", "ocsp");
    c.pki.crl_distribution_points = L.boolean(t, "pki", "crl_distribution_points");
    c.pki.fetch_timeout = L.duration(t, "pki", "fetch_timeout");
    if (c.pki.fetch_timeout.count() < 1 || c.pki.fetch_timeout.count() > 120)
        L.fail(L.region(t, "fetch_timeout"), "fetch_timeout must be between 1s and 120s");
    const std::uint64_t max_crl = L.size(t, "pki", "max_crl_size");
    if (max_crl < kMinCrlSize || max_crl > kMaxCrlSize)
        L.fail(L.region(t, "max_crl_size"), "max_crl_size must be between 64KiB and 256MiB");
    c.pki.max_crl_size = static_cast<std::size_t>(max_crl);
    c.pki.revocation_time_budget = L.duration(t, "pki", "revocation_time_budget");
    if (c.pki.revocation_time_budget.count() < 1 || c.pki.revocation_time_budget.count() > 600)
        L.fail(L.region(t, "revocation_time_budget"), "revocation_time_budget must be between 1s and 600s");
    const std::string unscoped = L.str(t, "pki", "unscoped_anchors");
    if (unscoped != "any-domain" && unscoped != "none")
        L.fail(L.region(t, "unscoped_anchors"), "unscoped_anchors must be \"any-domain\" or \"none\"");
    c.pki.unscoped_anchors_any_domain = unscoped == "any-domain";
    // [[pki.anchor]]: whether the certificate names a loaded anchor is known only once the trust
    // store is loaded (milter/certificates.cpp reports it with `where`).
    const toml::node* anchors = t ? t->get("anchor") : nullptr;
    if (!anchors) return;
    for (auto& e : *anchors->as_array()) {
        const toml::table* a = e.as_table();
        AnchorBinding b;
        b.certificate = L.str(a, "pki.anchor[]", "certificate");
        if (b.certificate.empty() || b.certificate.find('/') != std::string::npos)
            L.fail(L.region(a, "certificate"),
                   "certificate must be a file name in [pki] trust_anchors or a SHA-256 fingerprint");
        for (const auto& d : L.strings(a, "pki.anchor[]", "domains")) {
            std::string why;
            auto domain = pki::scope_domain(d, why);
            if (!domain)
                L.fail(L.region(a, "domains"),
                       "'" + d + "' is not a domain (\"example.com\" or \".example.com\")" + refusal_suffix(why));
            b.domains.push_back(std::move(*domain));
        }
        if (b.domains.empty()) L.fail(L.region(a, "domains"), "[[pki.anchor]] needs at least one domain");
        b.where = where(c.path, a->source());
        c.pki.anchors.push_back(std::move(b));
    }
}

// PRODUCT §8 puts the metrics on a loopback port: they tell anyone who can read them about our
// partners' traffic.
void load_metrics(Loader& L, const toml::table* t, Config& c)
{
    auto& m = c.metrics;
    m.listen = L.str(t, "metrics", "listen");
    if (m.listen.empty()) return;  // off
    m.address = loopback_endpoint(L, t, m.listen, "listen", "metrics are served on 127.0.0.0/8, ::1 or localhost only").address;
}

}  // namespace

namespace config_detail {

LoopbackEndpoint loopback_endpoint(Loader& L, const toml::table* t, const std::string& value,
                                   const char* key, const std::string& why)
{
    const auto bad = [&](const std::string& what) { L.fail(L.region(t, key), "'" + value + "' " + what); };
    LoopbackEndpoint e;
    const std::size_t colon = value.rfind(':');
    unsigned port = 0;
    const char* end = value.data() + value.size();
    if (colon == std::string::npos || colon == 0 ||
        std::from_chars(value.data() + colon + 1, end, port).ptr != end || port == 0 || port > 65535)
        bad("is not address:port (e.g. 127.0.0.1:10026)");
    e.host = value.substr(0, colon);
    if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
    else if (e.host.find(':') != std::string::npos) bad("needs brackets around an IPv6 address (e.g. [::1]:10026)");
    e.port = static_cast<std::uint16_t>(port);
    // localhost is never asked of the resolver: it could name another host.
    const auto address = parse_ip_address(e.host == "localhost" ? "127.0.0.1" : e.host);
    if (!address) bad("is not an IP address or localhost with a port");
    e.address = *address;
    if (e.address.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&e.address);
        if ((ntohl(in->sin_addr.s_addr) >> 24) != 127) bad("is not a loopback address: " + why);
        in->sin_port = htons(e.port);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.address);
        if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) bad("is not a loopback address: " + why);
        in6->sin6_port = htons(e.port);
    }
    return e;
}

}  // namespace config_detail

std::optional<std::uint64_t> parse_size(std::string_view s)
{
    std::uint64_t n = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec != std::errc() || r.ptr == s.data()) return std::nullopt;
    const std::string_view unit(r.ptr, static_cast<std::size_t>(s.data() + s.size() - r.ptr));
    std::uint64_t mult = 0;
    if (unit.empty() || unit == "B") mult = 1;
    else if (unit == "KiB" || unit == "K" || unit == "k") mult = 1024;
    else if (unit == "MiB" || unit == "M") mult = 1024 * 1024;
    else if (unit == "GiB" || unit == "G") mult = 1024ull * 1024 * 1024;
    else return std::nullopt;
    if (n > UINT64_MAX / mult) return std::nullopt;
    return n * mult;
}

std::optional<std::chrono::seconds> parse_duration(std::string_view s)
{
    std::uint64_t n = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec != std::errc() || r.ptr == s.data() || n > 100ull * 365 * 86400) return std::nullopt;
    const std::string_view unit(r.ptr, static_cast<std::size_t>(s.data() + s.size() - r.ptr));
    std::uint64_t mult = 0;
    if (unit == "s" || unit.empty()) mult = 1;
    else if (unit == "m") mult = 60;
    else if (unit == "h") mult = 3600;
    else if (unit == "d") mult = 86400;
    else return std::nullopt;
    return std::chrono::seconds(n * mult);
}

std::shared_ptr<const Config> parse_config(std::string_view text, const std::string& name)
{
    toml::table root;
    try {
        root = toml::parse(text, name);
    } catch (const toml::parse_error& e) {
        throw ConfigError(where(name, e.source()) + ": " + std::string(e.description()));
    }
    Loader L(name);
    for (auto&& [key, node] : root) {
        const std::string k(key.str());
        if (node.is_table() && k == "directory") {
            L.check_section(*node.as_table(), k,
                            {{"ldap", "directory.ldap[]"}, {"groups", "directory.groups"}, {"smimea", "directory.smimea"}});
        } else if (node.is_table() && k == "hsm") {
            L.check_section(*node.as_table(), k, {{"token", "hsm.token[]"}});
        } else if (node.is_table() && k == "pki") {
            L.check_section(*node.as_table(), k, {{"anchor", "pki.anchor[]"}});
        } else if (node.is_table() && is_known_table(k)) {
            L.check_keys(*node.as_table(), k);
        } else if (node.is_array_of_tables() && is_known_table(k + "[]")) {
            for (auto& e : *node.as_array()) L.check_keys(*e.as_table(), k + "[]");
        } else if (is_known_table(k + "[]")) {
            L.fail(key.source(), "'" + k + "' must be written [[" + k + "]]");
        } else {
            L.fail(key.source(), "unknown section or key '" + k + "'");
        }
    }
    auto c = std::make_shared<Config>();
    c->path = name;
    load_milter(L, subtable(root, "milter"), *c);
    load_signing(L, subtable(root, "signing"), *c);
    load_encryption(L, subtable(root, "encryption"), *c);
    load_inbound(L, subtable(root, "inbound"), *c);
    load_outbound(L, subtable(root, "outbound"), *c);
    load_hsm(L, subtable(root, "hsm"), *c);
    load_pki(L, subtable(root, "pki"), *c);
    load_directory(L, subtable(root, "directory"), *c);
    load_reinjection(L, subtable(root, "reinjection"), *c);
    load_metrics(L, subtable(root, "metrics"), *c);
    auto own_domains = load_address_extensions(L, root, *c);  // before the address patterns that use it
    load_labels(L, root, *c);
    load_policy(L, root, *c, std::move(own_domains));  // [policy], [[domain]], [[rule]]: config_rules.cpp
    load_mail_lists(L, root, *c);
    if (c->policy.uses_groups() && !c->directory.groups)
        L.fail(root.source(), "from_group/to_group rules need a [directory.groups] directory");
    return c;
}

std::shared_ptr<const Config> load_config(const std::string& path)
{
    // The reason is part of the message: "No such file or directory" and "Permission denied"
    // (the daemon's user after start-up) call for different fixes.
    std::string why;
    const auto text = read_bounded_file(path, kMaxConfigFileSize, why);
    if (!text) throw ConfigError(path + ": cannot read the configuration file: " + why);
    return parse_config(*text, path);
}

}  // namespace ssm::milter
