// libFuzzer target for base/email_address.h: envelope addresses, From/Sender fields and the
// e-mail names in certificates are untrusted, and since RFC 6531/9598 support they may hold
// UTF-8 local parts and U-label domains (IDNA conversion through GnuTLS/libidn2). Findings: a
// crash, a leak, a parsed value that is not in its one canonical form (parsing its own str()
// must give the same str(), and its key() must parse to itself), a domain that is not ASCII
// after parsing, any control character surviving into an address, or a space or angle
// bracket into a certificate key (an address may hold spaces inside a quoted local part).
// Input: first byte picks the reader (address, domain, certificate key ASCII, certificate key
// UTF-8), the rest is the text.
// Build: tests/fuzz/build.sh OUTDIR fuzz_address (see tests/fuzz/README.md).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/email_address.h"

namespace {

void require(bool ok)
{
    if (!ok) std::abort();
}

bool has_control(std::string_view s)
{
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

bool is_ascii(std::string_view s)
{
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

void check_domain(const ssm::Domain& d)
{
    require(!d.str().empty() && is_ascii(d.str()) && !has_control(d.str()));
    require(d.str().find_first_of(" <>@") == std::string::npos);
    const auto again = ssm::Domain::parse(d.str());
    require(again && *again == d && again->is_or_under(d));
}

void check_address(const ssm::EmailAddress& a)
{
    check_domain(a.domain());
    require(!a.local_part().empty() && !has_control(a.str()));
    const auto again = ssm::EmailAddress::parse(a.str());
    require(again && again->str() == a.str() && again->same_as(a) && a.same_as(*again));
    // The key is an address with that key (it is kept as text and parsed again).
    const auto keyed = ssm::EmailAddress::parse(a.key());
    require(keyed && keyed->key() == a.key() && keyed->str() == a.key() && keyed->same_as(a));
}

void check_key(const std::string& key, bool utf8)
{
    require(!has_control(key) && key.find_first_of(" <>") == std::string::npos);
    if (!utf8) require(is_ascii(key));
    // A key is itself a plain address in key form: keying it again changes nothing.
    const auto again = ssm::certificate_address_key(key, true);
    require(again && *again == key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 4) {
    case 0:
        if (const auto a = ssm::EmailAddress::parse(text)) check_address(*a);
        break;
    case 1:
        if (const auto d = ssm::Domain::parse(text)) check_domain(*d);
        break;
    default: {
        const bool utf8 = data[0] % 4 == 3;
        if (const auto k = ssm::certificate_address_key(text, utf8)) check_key(*k, utf8);
        break;
    }
    }
    return 0;
}
