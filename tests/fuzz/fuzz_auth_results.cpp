// libFuzzer target for milter/auth_results.h: incoming Authentication-Results values are
// hostile (any sender can forge one), and so are the strings we format into ours (reason,
// signer address, issuer DN come from certificates in the message). Input: first byte picks
// the mode, the rest is NUL-separated fields. Findings: a crash, a leak, a forged field we
// would keep though it names our authserv-id, or output that breaks out of its quoting or adds
// a header line of its own.
// Build: tests/fuzz/build.sh OUTDIR fuzz_auth_results (see tests/fuzz/README.md).
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "milter/auth_results.h"

using namespace ssm::milter;

namespace {

std::vector<std::string_view> split_fields(std::string_view s)
{
    std::vector<std::string_view> out;
    for (;;) {
        const auto z = s.find('\0');
        out.push_back(s.substr(0, z));
        if (z == std::string_view::npos) return out;
        s.remove_prefix(z + 1);
    }
}

// An authserv-id as our configuration would hold it: a non-empty RFC 5322 dot-atom-ish token.
bool is_token(std::string_view s)
{
    if (s.empty()) return false;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || std::string_view("()<>,;:\\\"/[]?=").find(c) != std::string_view::npos)
            return false;
    }
    return true;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// A host name written absolute (one trailing dot) is the same name.
std::string_view without_root(std::string_view s)
{
    return s.size() > 1 && s.back() == '.' ? s.substr(0, s.size() - 1) : s;
}

std::string swap_case(std::string_view s)
{
    std::string out(s);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        c = static_cast<char>(std::isupper(u) ? std::tolower(u) : std::toupper(u));
    }
    return out;
}

// Checks a formatted field value: quoted strings closed, CR/LF only as CRLF TAB folds, either
// ";" fold "smime=" between results (or ";" fold "none") or a fold before a reason or property;
// exactly one "smime=" result per entry outside quotes; and a line over 78 characters (the first
// counted from the field name) only when it holds a single piece (no white space outside quotes).
void check_formatted(const std::string& v, std::size_t results)
{
    bool quoted = false;
    std::size_t folds = 0;
    std::size_t line = std::string_view("Authentication-Results: ").size();
    std::size_t spaces = 0;  // outside quotes, on this line
    const auto end_line = [&] {
        if (line > 78 && spaces > 0) std::abort();
        line = 0;
        spaces = 0;
    };
    for (std::size_t i = 0; i < v.size(); ++i) {
        const char c = v[i];
        ++line;
        if (quoted) {
            if (c == '\\') {
                if (++i >= v.size()) std::abort();  // escape at the very end
                ++line;
            } else if (c == '"') {
                quoted = false;
            }
            if (c == '\r' || c == '\n' || c == '\0') std::abort();  // control char kept in a quote
            continue;
        }
        if (c == '"') quoted = true;
        if (c == ' ') ++spaces;
        if (c == '\r') {
            --line;
            if (v.compare(i, 3, "\r\n\t") != 0 || i == 0) std::abort();
            if (v[i - 1] == ';') {
                if (v.compare(i + 3, 6, "smime=") == 0)
                    ++folds;
                else if (results != 0 || v.compare(i + 3, std::string::npos, "none") != 0)
                    std::abort();
            } else if (v.compare(i + 3, 7, "reason=") != 0 && v.compare(i + 3, 11, "body.smime-") != 0) {
                std::abort();
            }
            end_line();
            i += 1;  // the LF; the TAB starts the next line
        } else if (c == '\n' && (i == 0 || v[i - 1] != '\r')) {
            std::abort();  // a bare LF would end the header field early
        } else if (c == '\0') {
            std::abort();
        }
    }
    end_line();
    if (quoted) std::abort();
    if (folds != results) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
        // An incoming field value, and a configured authserv-id to compare with.
        const auto f = split_fields(in);
        const std::string_view value = f[0];
        const std::string_view ours = f.size() > 1 ? f[1] : std::string_view("mx.example.org");
        const auto id = auth_results_authserv_id(value);
        if (id) {
            if (id->empty()) std::abort();
            // Whatever id we read, the value claims it, in any letter case.
            if (!claims_authserv_id(value, *id) || !claims_authserv_id(value, swap_case(*id)))
                std::abort();
            // One trailing dot names the same host ("mx.example.org." is "mx.example.org").
            if (claims_authserv_id(value, ours) != (lower(without_root(*id)) == lower(without_root(ours))))
                std::abort();
        } else if (!claims_authserv_id(value, ours)) {
            std::abort();  // unparseable values must count as claims (removed)
        }
        return 0;
    }
    // Our own field: the first field is the authserv-id, then six per result.
    const auto f = split_fields(in);
    const std::string_view authserv = f[0];
    std::vector<SmimeAuthResult> results;
    for (std::size_t i = 1; i < f.size() && results.size() < 8; i += 6) {
        SmimeAuthResult r;
        r.result = static_cast<SmimeResult>(f[i].empty() ? 0 : static_cast<unsigned char>(f[i][0]) % 7);
        const auto at = [&](std::size_t k) { return i + k < f.size() ? std::string(f[i + k]) : std::string(); };
        r.reason = at(1);
        r.identifier = at(2);
        r.part = at(3);
        r.serial = at(4);
        r.issuer = at(5);
        results.push_back(std::move(r));
    }
    const std::string v = format_auth_results(authserv, results);
    if (!is_token(authserv)) return 0;  // configuration checks the authserv-id; not ours to test
    check_formatted(v, results.size());
    // A gateway downstream that trusts us must read our id back out of our own field.
    const auto id = auth_results_authserv_id(v);
    if (!id || *id != authserv) std::abort();
    if (!claims_authserv_id(v, swap_case(authserv))) std::abort();
    return 0;
}
