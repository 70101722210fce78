// Clearances over LDAP: one search per recipient (its entries, asking for the clearance
// attribute only). Why a memo in memory and not the LMDB cache of certificates: a clearance
// that is withdrawn must stop granting soon, so an answer is reused only for cache_ttl and
// never past it when the directory is down (no stale-if-error: the message waits, 451 4.7.1),
// and the answers are small and cheap to ask again after a restart.
#include "directory/ldap_clearances.h"

#include "base/ascii.h"
#include "base/log.h"

namespace ssm::directory {

namespace {

constexpr std::size_t kMaxMemo = 10000;  // bounded: addresses are untrusted

}  // namespace

LdapClearances::LdapClearances(ClearanceDirectorySettings settings)
    : m_settings(std::move(settings)),
      m_attribute_type(m_settings.attribute.substr(0, m_settings.attribute.find(';'))),
      m_client(std::make_unique<ldap::Client>(m_settings.client))
{
}

policy::DirectoryClearances LdapClearances::clearances(const EmailAddress& recipient) const
{
    const std::string key = recipient.key();
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(m_mutex);
        if (auto it = m_memo.find(key); it != m_memo.end() && it->second.second > now) return it->second.first;
    }
    policy::DirectoryClearances found = ask(recipient);
    if (m_settings.cache_ttl.count() > 0) {
        std::lock_guard lock(m_mutex);
        if (m_memo.size() >= kMaxMemo) m_memo.clear();
        m_memo[key] = {found, now + m_settings.cache_ttl};
    }
    return found;
}

policy::DirectoryClearances LdapClearances::ask(const EmailAddress& recipient) const
{
    ldap::SearchRequest people;
    people.base = m_settings.user_base;
    people.filter = ldap::make_filter(m_settings.user_filter, recipient.directory_form());
    people.attributes = {m_settings.attribute};
    people.absent_base_is_failure = true;  // configured: not there is no answer, not "none"
    // An entry larger than max_entry_bytes (megabytes of clearance values) comes back the same
    // at every retry: taken for an outage, the message waited (451) until it bounced days
    // later. It is this recipient's answer: its clearance cannot be read, so it grants nothing
    // (fail closed: not cleared, 550), as an unreadable value grants nothing.
    people.entry_too_large_is_answer = true;
    const auto answer = m_client->search(people);
    if (answer.entry_too_large) {
        log::warning("clearance-entry-too-large",
                     {{"recipient", recipient.str()},
                      {"server", answer.server},
                      {"max_entry_bytes", std::to_string(m_settings.client.limits.max_pdu_bytes)}});
        policy::DirectoryClearances none;
        none.entry_too_large = true;
        return none;
    }
    // No entry here, and part of user_base on a server referred to (not asked): the recipient's
    // entry, and its clearance, may be there. "No clearance" would refuse the recipient as not
    // cleared where the directory only did not say: no answer, the message waits (451), unless
    // search_references is Ignore.
    if (answer.entries.empty())
        ldap::refuse_unseen(answer.references, "clearance of " + recipient.str(), m_settings.search_references);
    policy::DirectoryClearances out;
    for (const auto& entry : answer.entries) {
        // Matched by type: servers answer "clearance;binary" for "clearance" and back.
        for (const Bytes* value : entry.values(m_attribute_type)) {
            try {
                out.values.push_back(smime::cms::decode_clearance(*value));
            } catch (const Error& e) {
                ++out.unreadable;
                log::warning("clearance-unreadable", {{"recipient", recipient.str()},
                                                      {"entry", entry.dn},
                                                      {"server", answer.server},
                                                      {"error", e.what()}});
            }
        }
    }
    return out;
}

}  // namespace ssm::directory
