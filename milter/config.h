// The loaded configuration: an immutable snapshot shared by all milter threads through
// shared_ptr<const Config>; a reload builds a new one and swaps the pointer.
// Input is the administrator's TOML file (trusted, but every error is reported with
// file:line:column and nothing is guessed).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "hsm/token_config.h"
#include "milter/network.h"
#include "milter/reinjection.h"
#include "policy/labels.h"
#include "policy/policy.h"
#include "smime/algorithms.h"
#include "smime/cms/ml_expansion.h"
#include "smime/sign.h"

namespace ssm::milter {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;  // what() is "file:line:column: message"
};

struct MilterSettings {
    std::string socket;
    std::string user;
    std::string authserv_id;
    std::vector<Network> internal_networks;
    std::vector<std::string> originating_daemons;
    std::string spool_dir;
    std::uint64_t memory_spool_limit = 0;
    std::uint64_t max_message_size = 0;
    std::uint64_t max_header_field_size = 0;
    unsigned max_mime_depth = 0;
    std::string log_level;
};

struct SigningSettings {
    smime::SignatureFormat format = smime::SignatureFormat::Detached;
    smime::DigestAlgorithm digest = smime::DigestAlgorithm::Sha256;
    smime::SignatureScheme rsa_scheme = smime::SignatureScheme::RsaPkcs1v15;
    bool include_chain = true;
};

enum class CipherChoice { Auto, Aes256Gcm, Aes128Gcm, Aes256Cbc, Aes128Cbc, ChaCha20Poly1305 };
enum class KeyTransportChoice { Auto, Pkcs1v15, Oaep };
// Blind recipients of encrypted mail (policy/blind_recipients.h): each in a copy of its own
// through [reinjection] (Separate), or in the one message with the others (Together: their
// RecipientInfos then show every recipient to all).
enum class BlindCopies { Separate, Together };

struct EncryptionSettings {
    CipherChoice cipher = CipherChoice::Auto;
    KeyTransportChoice key_transport = KeyTransportChoice::Auto;
    // How RecipientInfos name certificates; never Default (a rule's Default means this).
    policy::RecipientIdentifier recipient_identifier = policy::RecipientIdentifier::IssuerSerial;
    bool header_protection = true;
    bool obscure_subject = true;
    std::string archive_certificate;  // PEM file; empty: none
    BlindCopies blind_copies = BlindCopies::Separate;
};

// What becomes of a message encrypted to one of our keys that cannot be decrypted, or whose
// decrypted content cannot be processed ([inbound] on_undecryptable; milter/undecryptable.h).
enum class Undecryptable { Hold, Deliver, Reject };

struct InboundSettings {
    bool strip_signature = false;
    bool restore_protected_headers = true;
    bool reject_nested_encrypted = false;
    bool harvest = true;
    bool decompress = true;  // inflate compressed-data layers (RFC 3274)
    Undecryptable on_undecryptable = Undecryptable::Hold;
};

struct OutboundSettings {
    // The From field (or, with several authors, Sender) must name the envelope sender before
    // the gateway signs (policy/sender_check.h).
    bool from_must_match_sender = false;
};

// One [[pki.anchor]]: a trust anchor bound to mail domains (pki/anchor_scope.h).
struct AnchorBinding {
    std::string certificate;           // a file name in trust_anchors, or a SHA-256 fingerprint
    std::vector<std::string> domains;  // lower case; "example.com" or ".example.com"
    std::string where;                 // "file:line:column" of the table, for the trust store's errors
};

// [pki] max_crl_size bounds: a CRL is read whole into memory (and parsed by GnuTLS into some
// ten times its size), so a large one is the administrator's knowing choice.
inline constexpr std::size_t kMinCrlSize = 64 * 1024;
inline constexpr std::size_t kMaxCrlSize = 256 * 1024 * 1024;

struct PkiSettings {
    std::string trust_anchors;
    std::string intermediates;
    std::string crls;
    std::string revocation;
    bool ocsp = true;
    bool crl_distribution_points = true;
    std::chrono::seconds fetch_timeout{5};
    std::size_t max_crl_size = 4 * 1024 * 1024;  // kMinCrlSize..kMaxCrlSize: CRL files and answers
    std::chrono::seconds revocation_time_budget{20};
    std::vector<AnchorBinding> anchors;         // [[pki.anchor]]
    bool unscoped_anchors_any_domain = true;    // unscoped_anchors: "any-domain" (true) or "none"

    // `revocation` as a mode: the loader checked it is one of the three names.
    policy::RevocationMode revocation_mode() const
    {
        return policy::parse_revocation_mode(revocation).value_or(policy::RevocationMode::SoftFail);
    }
};

// One [[directory.ldap]] entry (loaded by config_directory.cpp).
// How to reach one directory: shared by [[directory.ldap]] and [directory.groups].
struct LdapConnectionSettings {
    std::vector<std::string> servers;  // ldap://, ldaps:// or ldapi:// URIs, asked in order
    std::string bind_dn;               // empty: anonymous
    std::string bind_password_file;    // set exactly when bind_dn is
    bool starttls = false;             // only with ldap:// servers
    std::string ca_file;               // empty: the system's CA store
    std::chrono::seconds timeout{5};
    std::string where;                 // "file:line:column" of the table, for later errors
};

struct LdapDirectory : LdapConnectionSettings {
    std::vector<std::string> domains;  // lower case, at least one
    std::string base;
    std::string filter;                // contains %s
    // Bounds on one answer (directory/ldap_source.h; the defaults are the key table's).
    int max_entries = 8;                      // 1..kMaxLdapEntries: the sizelimit sent
    std::size_t max_values = 32;              // 1..kMaxLdapValues: values kept per answer
    std::size_t max_value_bytes = 64 * 1024;  // 1..kMaxLdapValueBytes: longer values skipped
};
// Upper bounds of those keys: an answer is held in memory whole (values x bytes).
inline constexpr int kMaxLdapEntries = 1000;
inline constexpr std::size_t kMaxLdapValues = 1000;
inline constexpr std::size_t kMaxLdapValueBytes = 1024 * 1024;
// Bounds of [directory] max_entry_bytes: below 64 KiB an ordinary person with a few
// certificates would not fit; above 256 MiB one hostile server could take that much memory per
// connection.
inline constexpr std::size_t kMinLdapEntryBytes = 64 * 1024;
inline constexpr std::size_t kMaxLdapEntryBytes = 256 * 1024 * 1024;

// [directory.groups]: where from_group/to_group rules ask for membership.
struct GroupDirectory : LdapConnectionSettings {
    std::string user_base;
    std::string user_filter;           // contains %s
    std::string group_base;            // where groups named by cn are
    bool nested = true;                // groups that are members of groups are followed
    std::chrono::seconds cache_ttl{300};
    // search_references = "ignore": a negative answer beside continuation references is taken
    // (default "fail": no answer, 451).
    bool ignore_search_references = false;
};

// [directory.smimea]: DNS SMIMEA (RFC 8162), DNSSEC-validated, asked after every other source.
struct SmimeaDirectory {
    std::vector<std::string> domains;  // lower case; empty: every recipient domain
    std::string resolver;              // "ADDRESS" or "ADDRESS@PORT"; empty: /etc/resolv.conf
    std::string trust_anchor_file;     // DS/DNSKEY records
    std::chrono::seconds timeout{5};
    bool trust_dane_ee = false;        // usage-3 certificates without a chain to our anchors
    std::string where;                 // "file:line:column" of the table, for later errors
};

struct DirectorySettings {
    std::string cache;
    std::string static_certificates;
    std::chrono::seconds positive_ttl{0};
    std::chrono::seconds negative_ttl{0};
    std::chrono::seconds stale_limit{0};  // 0: never answer from an expired entry
    // The largest entry (one LDAP message) any LDAP client reads: kMinLdapEntryBytes to
    // kMaxLdapEntryBytes (directory/ldap_connection.h SearchLimits::max_pdu_bytes).
    std::size_t max_entry_bytes = 4 * 1024 * 1024;
    std::vector<LdapDirectory> ldap;
    std::optional<GroupDirectory> groups;
    std::optional<SmimeaDirectory> smimea;  // set when [directory.smimea] enabled = true
    // The order the certificate sources are asked in (PRODUCT §6: "in configured order"),
    // each of static, imported, ldap, harvested, smimea once; sources not named follow in
    // that default order.
    std::vector<std::string> source_order{"static", "imported", "ldap", "harvested", "smimea"};
};

// [metrics]: the Prometheus endpoint (milter/metrics_http.h), loopback only (PRODUCT §8).
struct MetricsSettings {
    std::string listen;         // as written ("127.0.0.1:9712"); empty: no endpoint
    sockaddr_storage address{};  // the parsed loopback address and port, when listen is set
};

// [[mail_list]]: a list this gateway expands as an RFC 2634 mail-list agent (PRODUCT §4.3).
struct MailList {
    // One expansion's recipients, the configured and the group's together; larger lists
    // would be better served by the MTA's own expansion.
    static constexpr std::size_t kMaxMembers = 1000;
    EmailAddress address;   // the list address, in one of our [[domain]]s
    EmailAddress identity;  // whose certificate and key on the token decrypt and sign
    std::vector<EmailAddress> members;  // from the configuration (may be empty with members_group)
    // A [directory.groups] group (a DN, or a cn under its group_base) whose members are also
    // the list's; empty: none. Resolved at each expansion (milter/list_members.h).
    std::string members_group;
    // Absent ("keep"): the originator's receipt request stands; else the MLReceiptPolicy we add.
    smime::cms::MlReceiptPolicyKind receipt_policy = smime::cms::MlReceiptPolicyKind::Absent;
    std::vector<std::string> receipts_to;  // insteadOf / inAdditionTo
};

struct Config {
    std::string path;
    MilterSettings milter;
    SigningSettings signing;
    EncryptionSettings encryption;
    InboundSettings inbound;
    OutboundSettings outbound;
    hsm::TokenConfig hsm;
    // [[hsm.token]]: further tokens (other modules or other tokens of one module) whose keys
    // are used beside those of [hsm], asked after it in file order (PRODUCT §5: providers and
    // tokens). Empty: [hsm] alone.
    std::vector<hsm::TokenConfig> more_tokens;
    // [hsm] then each [[hsm.token]].
    std::vector<hsm::TokenConfig> tokens() const
    {
        std::vector<hsm::TokenConfig> all{hsm};
        all.insert(all.end(), more_tokens.begin(), more_tokens.end());
        return all;
    }
    PkiSettings pki;
    DirectorySettings directory;
    ReinjectionSettings reinjection;  // [reinjection]; port 0: off
    MetricsSettings metrics;          // [metrics]; listen empty: off
    // [policy] recipient_delimiter (our [[domain]]s), partner_recipient_delimiters and
    // partner_recipient_delimiter (the others): the extensions one-address patterns of rules,
    // groups and [[clearance]] also match, and the cut of the certificate look-up's second try
    // (read before them; policy/address_extensions.h).
    policy::AddressExtensions address_extensions;
    policy::Policy policy;
    policy::LabelPolicy labels;       // security labels and clearances (PRODUCT §4.1)
    // [labels] clearance_attribute: the attribute of a recipient's entry in [directory.groups]
    // holding RFC 5755 Clearance values; empty: clearances from [[clearance]] only.
    std::string clearance_attribute;
    // [labels] clearance_from_certificate: also read the Clearance in the subjectDirectoryAttributes
    // of the recipient's certificate on the token.
    bool clearance_from_certificate = false;
    std::vector<MailList> mail_lists;  // [[mail_list]] (PRODUCT §4.3)
    // The list `address` names, if any: a list of its own for that exact address first, else
    // the list of the address without its extension (address_extensions): our MTA delivers
    // "team+minutes@" to team's alias, so the gateway must expand it as the list too, or the
    // members would get a message encrypted to the list's key that none of them can open.
    const MailList* mail_list(const EmailAddress& address) const
    {
        if (const MailList* exact = mail_list_exactly(address)) return exact;
        const auto base = address_extensions.base_of(address);
        return base ? mail_list_exactly(*base) : nullptr;
    }
    // The list configured for exactly `address` (no extension cut), if any.
    const MailList* mail_list_exactly(const EmailAddress& address) const
    {
        for (const auto& l : mail_lists)
            if (l.address.same_as(address)) return &l;
        return nullptr;
    }
    // Settings accepted by the file format that this version does not act on yet;
    // logged as warnings at start-up so nobody believes they are in force.
    std::vector<std::string> not_yet_in_force;
};

// Loads and validates a configuration file. Throws ConfigError.
std::shared_ptr<const Config> load_config(const std::string& path);
// The same from text (tests); `name` is used in error messages.
std::shared_ptr<const Config> parse_config(std::string_view text, const std::string& name);

// "64KiB", "1MiB", "2GiB", "512" (bytes); nullopt if malformed.
std::optional<std::uint64_t> parse_size(std::string_view s);
// "30s", "15m", "1h", "1d"; nullopt if malformed.
std::optional<std::chrono::seconds> parse_duration(std::string_view s);

}  // namespace ssm::milter
