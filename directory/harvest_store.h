// Harvested certificates (PRODUCT §3.4): the certificates of valid signers of inbound mail with
// the SMIMECapabilities they advertised, kept in LMDB so every worker and restart sees them.
// The same store, in database "imported", holds the certificates an administrator imported
// with `ssmctl cert import` (PRODUCT §6; source name "imported").
// SECURITY: what is stored comes from verified signatures or an administrator, but the store
// does not rely on that: it only keeps certificates naming the address, and reads its records
// defensively.
//
// Record format (database "harvest" or "imported" of the folder's LMDB environment), key =
// lower-case address, value = version byte 0x01, count byte N (N <= max_per_address), then N records:
//   seen_at   8 bytes, big-endian two's complement seconds since the epoch
//   cert_len  4 bytes big-endian (1..65536), then the DER certificate
//   has_caps  1 byte (0 or 1); if 1: caps_len 4 bytes big-endian (1..8192), then the DER
//             SMIMECapabilities SEQUENCE
// A value that does not parse exactly (trailing bytes included) is corrupt: logged with the
// address, a lookup throws DirectoryUnavailable (the store cannot be asked about that address:
// 451 4.7.1 where a certificate is mandatory, never "none"), and store() replaces it.
//
// Database "intermediates" (PRODUCT §7: intermediate and cross-certificates from messages):
// the CA certificates verified signed mail carried, so that a harvested certificate's path can
// be built after the message is gone. Key = the first 16 octets of SHA-256 over the CA's
// subject Name as RFC 5280 §7.1 compares it (base/name_compare.h comparable_name: a CA's
// certificates may spell its name otherwise than its own certificate does), then the first 16
// of SHA-256 over its certificate; value = the DER certificate. Entries written before
// 2026-12-06 hash the Name's DER instead: lookups ask under both (a CA stored again under the
// new key comes back once). The §7.1 key depends on the Unicode tables of RFC 4518's
// preparation (libunistring): should they change a non-ASCII Name's key, its entries are still
// found by the Name's bytes when they are its issuers' bytes, else learned again from mail. At most max_intermediates entries (then nothing more is added). Lookups of
// either kind add the CA certificates that issued a found certificate (and theirs, up to
// max_chain_depth levels) as candidates: untrusted chain material for path building. Issued
// means named as its issuer and its key verifies the certificate's signature (pki::signed_by):
// the names are chosen by whoever sent the message.
#pragma once
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>

#include "directory/certificate_memo.h"
#include "directory/certificate_source.h"
#include "directory/lmdb.h"

namespace ssm::directory {

class HarvestStore final : public CertificateSource {
public:
    static constexpr std::size_t max_per_address = 8;
    static constexpr std::size_t max_capabilities_size = 8192;
    static constexpr std::size_t max_intermediates = 4096;
    static constexpr std::size_t max_chain_depth = 4;

    // Opens (creating) the LMDB environment in the folder, or shares the one already open.
    explicit HarvestStore(const std::filesystem::path& folder, const lmdb::EnvironmentOptions& options = {});
    enum class Kind { Harvested, Imported };
    // Beside other stores (the lookup cache) in the same environment. Certificates are read
    // through `memo` (null: a memo of the store's own).
    explicit HarvestStore(std::shared_ptr<lmdb::Environment> env, Kind kind = Kind::Harvested,
                          std::shared_ptr<CertificateMemo> memo = nullptr);

    // Records that `cert_der` was seen for `address` at `seen_at`. The same certificate seen
    // again updates its time, and its capabilities when `caps` is given. Beyond
    // max_per_address certificates the one seen longest ago is dropped. Returns false (and
    // stores nothing) when cert_der is not a certificate naming the address or a value is
    // oversized. Thread-safe; throws ssm::Error on storage failure.
    bool store(const EmailAddress& address, ByteView cert_der, std::optional<ByteView> caps,
               std::time_t seen_at = std::time(nullptr));

    // Keeps the CA certificates among `ders` (others, and unparsable ones, are skipped) in the
    // intermediates database; returns how many were new. Thread-safe; throws ssm::Error on
    // storage failure.
    std::size_t store_intermediates(std::span<const Bytes> ders);

    std::vector<CertificateCandidate> lookup(const EmailAddress& address) override;
    std::string name() const override { return m_source_name; }
    // The environment, for other stores in the same folder (the lookup cache).
    const std::shared_ptr<lmdb::Environment>& environment() const { return m_env; }
    // The memo of parsed certificates, for other stores in the same folder: it lives as long
    // as this store (the process), so a reload does not start it cold.
    const std::shared_ptr<CertificateMemo>& memo() const { return m_memo; }

private:
    std::shared_ptr<lmdb::Environment> m_env;
    std::string m_database;     // "harvest" | "imported"
    std::string m_source_name;  // "harvested" | "imported"
    MDB_dbi m_dbi;
    MDB_dbi m_intermediates_dbi;
    std::shared_ptr<CertificateMemo> m_memo;
};

}  // namespace ssm::directory
