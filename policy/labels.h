// Security labels and clearances (PRODUCT §4.1, RFC 2634 §5.4): the labels our policy names,
// each recipient's clearance, and the equivalences that map a partner's label onto ours.
// The tables come from the administrator (trusted, checked when loaded); the labels asked
// about come from a MUA's header or a peer's verified signature (well-formed, but a claim).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/email_address.h"
#include "policy/address_pattern.h"
#include "smime/cms/clearance.h"
#include "smime/cms/security_label.h"

namespace ssm::policy {

using smime::cms::SecurityLabel;

// A [[security_label]]: a label our policy knows by name and by display marking.
struct NamedLabel {
    std::string name;
    std::string marking;  // the SIO-Label marking (RFC 7444) that selects it and shows it
    SecurityLabel label;
};

// A [[clearance]]: which labels of one policy the matching recipients may receive.
struct Clearance {
    AddressList recipients;
    std::string policy_id;
    std::vector<int> classifications;     // allowed; a label without one counts as 0 (unmarked)
    std::vector<std::string> categories;  // category_text() of each category they may see
};

// A [[label_equivalence]]: a partner's label (policy and classification) means one of ours.
struct LabelEquivalence {
    std::string policy_id;               // the partner's security policy
    std::optional<int> classification;   // nullopt: the partner's label carries none
    std::string label;                   // name of one of our NamedLabels
    std::vector<Domain> domains;         // empty: from anyone; outbound: where it is announced
};

// A recipient's clearances as a directory holds them (RFC 5755 Clearance values of the
// recipient's entry), for recipients no [[clearance]] entry decides. Implemented over LDAP by
// directory/ldap_clearances; null: no directory is asked.
struct DirectoryClearances {
    std::vector<smime::cms::ClearanceValue> values;  // decoded (strict DER)
    std::size_t unreadable = 0;  // values that did not decode (logged by the source, never a grant)
    // The recipient's entry is larger than [directory] max_entry_bytes: not read, so none of
    // its values is known (logged by the source; not cleared, like an unreadable value).
    bool entry_too_large = false;
};
class ClearanceDirectory {
public:
    virtual ~ClearanceDirectory() = default;
    // Throws ssm::Error(Failure::DirectoryUnavailable) when the directory cannot be asked.
    virtual DirectoryClearances clearances(const EmailAddress& recipient) const = 0;
};

// The clearance a decoded RFC 5755 Clearance value grants: its policy, the classifications of
// the bits of its classList, its categories as category_text().
Clearance clearance_from(const smime::cms::ClearanceValue& value);

enum class UnknownLabelPolicy { Reject, Accept };

// A received label as our policy sees it.
struct MappedLabel {
    bool known = false;   // false: neither our policy nor mappable onto it
    SecurityLabel label;  // ours when known, else the received one
    std::string via;      // "own-policy", "label_equivalence", "equivalentLabels" (for logs)
};

class LabelPolicy {
public:
    LabelPolicy() = default;
    LabelPolicy(std::vector<NamedLabel> labels, std::vector<Clearance> clearances,
                std::vector<LabelEquivalence> equivalences, UnknownLabelPolicy unknown);

    const NamedLabel* by_name(std::string_view name) const;
    const NamedLabel* by_marking(std::string_view marking) const;
    // The named label that is exactly `l` (same DER), if any.
    const NamedLabel* by_label(const SecurityLabel& l) const;
    // A policy is ours when a [[security_label]] or a [[clearance]] names it.
    bool knows_policy(std::string_view policy_id) const;

    // Maps the securityLabel of one verified signature, with the equivalentLabels of the same
    // signature (RFC 2634 §5.4), onto our policy: our own policy first, then a configured
    // equivalence of the label, then each equivalent label in the signer's order (ours, or
    // configured). A configured equivalence maps only labels without security categories
    // (categories it does not name could not be honoured) and, with `domains`, only mail whose
    // author is in one of them.
    MappedLabel map(const SecurityLabel& received, const std::vector<SecurityLabel>& equivalents,
                    const std::optional<Domain>& author_domain) const;

    // Why `rcpt` may not receive a message labelled `ours` (a label of our policy); nullopt
    // when cleared. The first [[clearance]] in file order with the label's policy and a
    // matching recipient pattern decides; no such entry: not cleared.
    std::optional<std::string> clearance_problem(const EmailAddress& rcpt, const SecurityLabel& ours) const;
    // The same with the directory as a second source: a matching [[clearance]] entry still
    // decides; otherwise the recipient is cleared when one of its directory clearances for
    // the label's policy allows the label; none (or none readable): not cleared. `directory`
    // null: as above. Throws what ClearanceDirectory::clearances throws.
    std::optional<std::string> clearance_problem(const EmailAddress& rcpt, const SecurityLabel& ours,
                                                 const ClearanceDirectory* directory) const;

    // Outbound: the partner forms of `named` for mail to these recipient domains (the
    // equivalences that name `named` and list one of the domains), for an equivalentLabels
    // attribute. Empty when none applies.
    std::vector<SecurityLabel> equivalents_for(const NamedLabel& named,
                                               const std::vector<Domain>& recipient_domains) const;

    // The display marking for a label of our policy: the marking of the named label with the
    // same policy and classification, else its privacy mark, else empty.
    std::string marking_for(const SecurityLabel& l) const;

    UnknownLabelPolicy unknown_policy() const { return m_unknown; }
    const std::vector<NamedLabel>& labels() const { return m_labels; }

private:
    std::optional<SecurityLabel> configured(const SecurityLabel& partner,
                                            const std::optional<Domain>& author_domain) const;

    std::vector<NamedLabel> m_labels;
    std::vector<Clearance> m_clearances;
    std::vector<LabelEquivalence> m_equivalences;
    UnknownLabelPolicy m_unknown = UnknownLabelPolicy::Reject;
};

// "TYPE-OID:HEX" of a category (HEX: the value's DER, lower case), as [[clearance]] and
// [[security_label]] write categories.
std::string category_text(const smime::cms::SecurityCategory& c);
// The category for such a text; nullopt when the OID or the hex is malformed (the value's
// DER form is checked when the label is encoded).
std::optional<smime::cms::SecurityCategory> parse_category_text(std::string_view text);
// "policy=OID class=N" (class omitted when absent), for logs and replies.
std::string describe_label(const SecurityLabel& l);

}  // namespace ssm::policy
