// Recipient certificates for one configuration snapshot: the trust store and the sources of
// [pki]/[directory] (rebuilt on reload) in their order: the static folder, the imported
// certificates, one cached LDAP source per [[directory.ldap]], the harvested certificates,
// the cached DNS SMIMEA source of [directory.smimea] (all but the first in the one LMDB
// environment of [directory] cache, open for the process lifetime), plus the archive
// certificate. The LMDB-backed sources share the harvest store's memo of parsed
// certificates (directory/certificate_memo.h), which outlives reloads like the store itself.
#pragma once
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/email_address.h"
#include "directory/certificate_choice.h"
#include "directory/harvest_store.h"
#include "directory/ldap_group_members.h"
#include "milter/config.h"
#include "policy/labels.h"
#include "policy/match.h"
#include "policy/address_extensions.h"
#include "pki/trust_store.h"

namespace ssm::milter {

class Certificates {
public:
    // Throws ConfigError naming the file when the archive certificate cannot be read or a
    // [[directory.ldap]] entry cannot be used (unreadable password file, ...). Without a
    // harvest store LDAP answers are not cached. `harvest_failure` (non-empty: why the
    // [directory] cache could not be opened, see open_harvest_store) stands in for the imported
    // and harvested certificates: a look-up that reaches them is DirectoryUnavailable (451
    // 4.7.1 where encryption is mandatory), never "no certificate" (550) for a local fault.
    // `replaces`: the certificates of the configuration this one replaces (a reload), or null;
    // its trust store's fetched CRLs and OCSP answers are kept when the [pki] settings and
    // files they depend on are the same (pki::TrustStoreConfig::replaces).
    static std::shared_ptr<const Certificates> load(const Config& config,
                                                    std::shared_ptr<directory::HarvestStore> harvest,
                                                    const std::string& harvest_failure = {},
                                                    const Certificates* replaces = nullptr);
    // The same with the [directory] cache's harvest store opened here (open_harvest_store):
    // for the ssmctl commands, which load once; the daemon keeps one store across reloads.
    static std::shared_ptr<const Certificates> load(const Config& config);

    // The best encryption certificate for the address, with reasons for every rejection.
    // Throws ssm::Error(Failure::DirectoryUnavailable) when a source cannot be reached.
    // `budget`: the SMTP transaction's revocation time, shared by all its validations
    // (MessageProcessor::revocation_budget); null: each validation gets one of its own.
    directory::Choice find(const EmailAddress& address, std::time_t now,
                           const directory::SharedBudget& budget = nullptr) const;
    // The same decision over answers already got from the sources (ssmctl cert lookup).
    directory::Choice find(const EmailAddress& address, std::time_t now,
                           const directory::CertificateResolver::SourceAnswer& ask) const;
    // find() for a recipient's own address: when no certificate is found for it as written
    // (none names it: one that names it but is refused, revoked or expired say, is the answer),
    // the address without its extension (the same cut the rules match with, by the address's
    // domain: [policy] recipient_delimiter for ours, a partner's own set or the partners'
    // default for theirs; "ceo+x@" is delivered to ceo's mailbox) is asked of every source
    // again, and its certificate, if any, is chosen with Choice::found_under naming that
    // address. The rejection reasons of both look-ups are kept. A source that cannot be reached
    // for the address as written is an error as in find() (it might hold that address's
    // certificate).
    directory::Choice find_for_mailbox(const EmailAddress& address, std::time_t now,
                                       const directory::SharedBudget& budget = nullptr) const;
    // The same rule over another way of deciding for one address (ssmctl cert lookup decides
    // over the sources' answers it has printed): `decide` for the address, then, when it
    // chose none, for the address without its extension.
    using Decide = std::function<directory::Choice(const EmailAddress&)>;
    directory::Choice find_for_mailbox(const EmailAddress& address, const Decide& decide) const;
    const std::optional<Bytes>& archive_certificate() const { return m_archive; }
    const pki::TrustStore& trust() const { return *m_trust; }
    // Where valid signers' certificates are stored (may be null: no cache folder).
    directory::HarvestStore* harvest() const { return m_harvest.get(); }
    // The sources in the order they are asked (ssmctl cert lookup explains each).
    const std::vector<std::shared_ptr<directory::CertificateSource>>& sources() const { return m_sources; }
    // The group directory of [directory.groups] for from_group/to_group rules; null when none
    // is configured (such rules then answer 451 4.7.1).
    const policy::GroupMembership* groups() const { return m_groups.get(); }
    // Recipients' clearances from [directory.groups] ([labels] clearance_attribute); null when
    // not configured (clearances then come from [[clearance]] only).
    const policy::ClearanceDirectory* clearances() const { return m_clearances.get(); }
    // The members of [[mail_list]] members_group groups, from [directory.groups]; null when no
    // list has one.
    const directory::GroupMemberDirectory* group_members() const { return m_group_members.get(); }

private:
    std::shared_ptr<directory::HarvestStore> m_harvest;
    std::vector<std::shared_ptr<directory::CertificateSource>> m_sources;
    std::shared_ptr<const pki::TrustStore> m_trust;
    std::unique_ptr<directory::CertificateResolver> m_resolver;
    std::optional<Bytes> m_archive;
    std::shared_ptr<const policy::GroupMembership> m_groups;
    std::shared_ptr<const policy::ClearanceDirectory> m_clearances;
    std::shared_ptr<const directory::GroupMemberDirectory> m_group_members;
    policy::AddressExtensions m_extensions;
};

// Opens the harvested-certificate store in [directory] cache; nullptr (and a warning) when
// the folder cannot be used, so signing still works without it; then `failure` (when given)
// says why, for Certificates::load.
std::shared_ptr<directory::HarvestStore> open_harvest_store(const Config& config, std::string* failure = nullptr);

}  // namespace ssm::milter
