// Recipients' clearances from our own directory (PRODUCT §4.1): the recipient's entries are
// found with a filter such as (mail=%s) under a base, and the values of one attribute
// (RFC 5755 Clearance, DER; e.g. "clearance;binary") are decoded. Answers are memoised for a
// short time in memory only, and never served once stale (see ldap_clearances.cpp).
// SECURITY: addresses are untrusted envelope values and are escaped into filters (RFC 4515);
// the server's values are untrusted DER, decoded strictly; a value that does not decode is
// logged and grants nothing.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "directory/ldap_connection.h"
#include "policy/labels.h"

namespace ssm::directory {

struct ClearanceDirectorySettings {
    ldap::Client::Settings client;
    std::string user_base;                  // where the people are
    std::string user_filter = "(mail=%s)";  // %s: the escaped address
    std::string attribute = "clearance;binary";
    std::chrono::seconds cache_ttl{300};    // 0: ask every time
    ldap::References search_references = ldap::References::Fail;  // "no entry" beside them
};

class LdapClearances final : public policy::ClearanceDirectory {
public:
    explicit LdapClearances(ClearanceDirectorySettings settings);
    // Throws ssm::Error(Failure::DirectoryUnavailable) when no server answers. An entry larger
    // than the client's max_pdu_bytes ([directory] max_entry_bytes) is an answer, logged
    // clearance-entry-too-large: entry_too_large and no values (the directory sends it so at
    // every retry).
    policy::DirectoryClearances clearances(const EmailAddress& recipient) const override;
    std::uint64_t searches_sent() const { return m_client->searches_sent(); }

private:
    policy::DirectoryClearances ask(const EmailAddress& recipient) const;

    ClearanceDirectorySettings m_settings;
    std::string m_attribute_type;  // the attribute without options, as answers are matched
    std::unique_ptr<ldap::Client> m_client;
    mutable std::mutex m_mutex;
    // lower-case address -> (answer, expiry); guarded by m_mutex.
    mutable std::map<std::string, std::pair<policy::DirectoryClearances, std::chrono::steady_clock::time_point>> m_memo;
};

}  // namespace ssm::directory
