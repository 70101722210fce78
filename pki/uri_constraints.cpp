// URI name constraints of a path (see uri_constraints.h). Certificates, their URIs and the
// constraints are untrusted: everything is read with bounds, and what does not read or parse
// counts against the certificate.
#include "pki/uri_constraints.h"

#include <algorithm>

#include <gnutls/x509.h>

#include "base/ascii.h"

namespace ssm::pki {

namespace {

constexpr std::size_t max_name_size = 64 * 1024;
constexpr unsigned max_names = 256;

// Lower-cased; nullopt unless it is a domain name (letters, digits, '-', '_', '.'; not an IPv4
// address). One trailing dot (the root) is dropped so that "host.example.com." is that host.
std::optional<std::string> domain_name(std::string_view text)
{
    if (text.size() > 1 && text.back() == '.') text.remove_suffix(1);
    if (text.empty() || text.size() > 253) return std::nullopt;
    std::string out = ascii_lowercase(text);
    const bool chars_ok = std::all_of(out.begin(), out.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    });
    const bool ipv4 = std::all_of(out.begin(), out.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (!chars_ok || ipv4) return std::nullopt;
    return out;
}

struct UriSubtrees {
    std::vector<std::string> permitted, excluded;
    bool unreadable = false;  // the extension or one of its URI subtrees does not read
    bool any() const { return unreadable || !permitted.empty() || !excluded.empty(); }
};

using ConstraintGetter = int (*)(gnutls_x509_name_constraints_t, unsigned, unsigned*, gnutls_datum_t*);

void read_subtrees(gnutls_x509_name_constraints_t nc, ConstraintGetter get, std::vector<std::string>& out,
                   bool& unreadable)
{
    for (unsigned i = 0;; ++i) {
        unsigned type = 0;
        gnutls_datum_t name{nullptr, 0};
        const int rc = get(nc, i, &type, &name);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return;
        if (rc < 0) {
            unreadable = true;
            return;
        }
        if (type != GNUTLS_SAN_URI) continue;
        const std::string_view text(reinterpret_cast<const char*>(name.data), name.data ? name.size : 0);
        // A domain constraint keeps its leading dot; anything but a domain name is unreadable.
        const bool domain = !text.empty() && text.front() == '.';
        auto base = domain_name(domain ? text.substr(1) : text);
        if (!base) {
            unreadable = true;
            continue;
        }
        out.push_back(domain ? "." + *base : *base);
    }
}

UriSubtrees uri_subtrees(const Certificate& ca)
{
    UriSubtrees s;
    gnutls_x509_name_constraints_t nc = nullptr;
    if (gnutls_x509_name_constraints_init(&nc) < 0) {
        s.unreadable = true;
        return s;
    }
    unsigned critical = 0;
    const int rc = gnutls_x509_crt_get_name_constraints(ca.get(), nc, 0, &critical);
    if (rc >= 0) {
        read_subtrees(nc, gnutls_x509_name_constraints_get_permitted, s.permitted, s.unreadable);
        read_subtrees(nc, gnutls_x509_name_constraints_get_excluded, s.excluded, s.unreadable);
    } else if (rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
        s.unreadable = true;
    }
    gnutls_x509_name_constraints_deinit(nc);
    return s;
}

// The URIs among a certificate's subject alternative names: their hosts (nullopt: no domain
// name). Sets `unreadable` when the names do not all read.
std::vector<std::optional<std::string>> uri_hosts(const Certificate& cert, bool& unreadable)
{
    std::vector<std::optional<std::string>> out;
    std::vector<char> buf(256);
    for (unsigned i = 0; i < max_names; ++i) {
        std::size_t size = buf.size();
        int type = gnutls_x509_crt_get_subject_alt_name(cert.get(), i, buf.data(), &size, nullptr);
        if (type == GNUTLS_E_SHORT_MEMORY_BUFFER && size <= max_name_size) {
            buf.resize(size + 1);
            size = buf.size();
            type = gnutls_x509_crt_get_subject_alt_name(cert.get(), i, buf.data(), &size, nullptr);
        }
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return out;
        if (type < 0 || size > buf.size()) {
            unreadable = true;
            return out;
        }
        if (type == GNUTLS_SAN_URI) out.push_back(uri_host(std::string_view(buf.data(), size)));
    }
    unreadable = true;  // more names than we read
    return out;
}

}  // namespace

std::optional<std::string> uri_host(std::string_view uri)
{
    const std::size_t colon = uri.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    const bool scheme_ok = std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
               c == '.';
    });
    std::string_view rest = uri.substr(colon + 1);
    if (!scheme_ok || rest.substr(0, 2) != "//") return std::nullopt;  // no authority: no host
    rest.remove_prefix(2);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    if (!authority.empty() && authority.front() == '[') return std::nullopt;  // an IP literal
    return domain_name(authority.substr(0, authority.find(':')));
}

bool in_uri_subtree(std::string_view host, std::string_view constraint)
{
    if (constraint.empty()) return false;
    if (constraint.front() != '.') return host == constraint;
    return host.size() > constraint.size() && host.substr(host.size() - constraint.size()) == constraint;
}

std::optional<UriViolation> check_uri_name_constraints(const std::vector<const Certificate*>& chain)
{
    for (std::size_t k = 1; k < chain.size(); ++k) {
        const UriSubtrees subtrees = uri_subtrees(*chain[k]);
        if (!subtrees.any()) continue;
        for (std::size_t j = 0; j < k; ++j) {
            if (j > 0 && is_self_issued(*chain[j])) continue;  // a self-issued CA (key rollover) is exempt
            bool unreadable = false;
            const auto hosts = uri_hosts(*chain[j], unreadable);
            if (unreadable) return UriViolation{j, k, "has alternative names that do not read"};
            for (const auto& host : hosts) {
                if (!host) return UriViolation{j, k, "has a URI without a domain name as its host"};
                if (subtrees.unreadable)
                    return UriViolation{j, k, "has a URI and the URI name constraints do not read"};
                const auto in = [&](const std::string& c) { return in_uri_subtree(*host, c); };
                const auto& permitted = subtrees.permitted;
                if (!permitted.empty() && std::none_of(permitted.begin(), permitted.end(), in))
                    return UriViolation{j, k, "has a URI outside the permitted subtrees"};
                if (std::any_of(subtrees.excluded.begin(), subtrees.excluded.end(), in))
                    return UriViolation{j, k, "has a URI in an excluded subtree"};
            }
        }
    }
    return std::nullopt;
}

}  // namespace ssm::pki
