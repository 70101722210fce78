// SMIMEA owner names and RDATA (see smimea_record.h).
// SECURITY: the RDATA parser reads only within the span it is given.
#include "directory/smimea_record.h"

#include <nettle/sha2.h>

#include <array>

namespace ssm::directory {

std::string smimea_owner_name(const EmailAddress& address)
{
    // RFC 8162 §3 step 2 (RFC 7929 §3): "Any enclosing double quotes are removed. Any literal
    // quoting is removed." The quotes are syntax of the address, not part of the mailbox's
    // name: hashed, they gave an owner name no publisher computes ("a b"@x is published under
    // SHA-256 of a b).
    const std::string local = address.unquoted_local_part();
    sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, local.size(), reinterpret_cast<const std::uint8_t*>(local.data()));
    std::array<std::uint8_t, SHA256_DIGEST_SIZE> digest{};
    sha256_digest(&ctx, digest.size(), digest.data());
    // 28 octets: 56 hex digits, one label under the 63-octet limit (RFC 8162 §3).
    return to_hex(ByteView(digest.data(), 28)) + "._smimecert." + address.domain().str();
}

bool SmimeaRecord::is_full_end_entity_certificate() const
{
    return selector == 0 && matching_type == 0 && (usage == 1 || usage == 3);
}

std::optional<SmimeaRecord> parse_smimea_rdata(ByteView rdata)
{
    if (rdata.size() < 4) return std::nullopt;
    SmimeaRecord r;
    r.usage = rdata[0];
    r.selector = rdata[1];
    r.matching_type = rdata[2];
    r.data.assign(rdata.begin() + 3, rdata.end());
    return r;
}

}  // namespace ssm::directory
