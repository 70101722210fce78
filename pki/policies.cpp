// Certificate policy processing (see policies.h): the valid_policy_tree of RFC 5280 §6.1.
// Untrusted certificates: policies are read through GnuTLS, the policy mappings and policy
// constraints (no GnuTLS 3.7 readers) with base/der_tlv.h; OIDs are compared as dotted strings.
#include "pki/policies.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <utility>

#include <gnutls/x509.h>

#include "base/joined.h"
#include "base/der_tlv.h"

namespace ssm::pki {

std::vector<std::string> certificate_policies(const Certificate& cert)
{
    std::vector<std::string> out;
    for (unsigned i = 0; i < 64; ++i) {
        gnutls_x509_policy_st policy{};
        unsigned critical = 0;
        if (gnutls_x509_crt_get_policy(cert.get(), i, &policy, &critical) < 0) break;
        if (policy.oid && std::find(out.begin(), out.end(), policy.oid) == out.end()) out.emplace_back(policy.oid);
        gnutls_x509_policy_release(&policy);
    }
    return out;
}

namespace {

constexpr std::size_t kNever = std::numeric_limits<std::size_t>::max();  // a SkipCerts beyond any path

// SkipCerts ::= INTEGER (0..MAX), as implicitly tagged contents octets. A value that does not
// read (empty, negative) counts as 0, the strictest reading of an unreadable constraint.
std::size_t skip_certs(const std::uint8_t* p, std::size_t n)
{
    if (n == 0 || (p[0] & 0x80)) return 0;
    if (n > 4) return kNever;
    std::size_t value = 0;
    for (std::size_t i = 0; i < n; ++i) value = (value << 8) | p[i];
    return value;
}

// policyConstraints (RFC 5280 §4.2.1.11): SEQUENCE { requireExplicitPolicy [0] SkipCerts
// OPTIONAL, inhibitPolicyMapping [1] SkipCerts OPTIONAL }. A value that does not read counts
// as 0 for both.
struct PolicyConstraints {
    std::optional<std::size_t> require_explicit;
    std::optional<std::size_t> inhibit_mapping;
};

PolicyConstraints policy_constraints(const Certificate& c)
{
    PolicyConstraints out;
    const auto ext = extension_value(c, "2.5.29.36");
    if (!ext) return out;
    const auto seq = read_tlv(ext->data(), ext->size());
    if (!seq || seq->tag != 0x30 || seq->total != ext->size()) return {0, 0};
    for (std::size_t at = 0; at < seq->length;) {
        const auto field = read_tlv(seq->value + at, seq->length - at);
        if (!field || (field->tag != 0x80 && field->tag != 0x81)) return {0, 0};
        (field->tag == 0x80 ? out.require_explicit : out.inhibit_mapping) = skip_certs(field->value, field->length);
        at += field->total;
    }
    return out;
}

// inhibitAnyPolicy (RFC 5280 §4.2.1.14: SkipCerts, an INTEGER); nullopt when absent. Read
// here: gnutls_x509_crt_get_inhibit_anypolicy of GnuTLS 3.7 fails on the PKITS certificates
// (ASN.1 tag error). A value that does not read counts as 0 (the stricter reading).
std::optional<std::size_t> inhibit_any_policy(const Certificate& c)
{
    const auto ext = extension_value(c, "2.5.29.54");
    if (!ext) return std::nullopt;
    const auto value = read_tlv(ext->data(), ext->size());
    if (!value || value->tag != 0x02 || value->total != ext->size()) return 0;
    return skip_certs(value->value, value->length);
}

// policyMappings (RFC 5280 §4.2.1.5): SEQUENCE OF SEQUENCE { issuerDomainPolicy,
// subjectDomainPolicy } (both OBJECT IDENTIFIERs). Empty when absent; nullopt when it does
// not read (the path is then refused: a mapping we cannot read is not one we may ignore).
using Mapping = std::pair<std::string, std::string>;

std::optional<std::vector<Mapping>> policy_mappings(const Certificate& c)
{
    std::vector<Mapping> out;
    const auto ext = extension_value(c, "2.5.29.33");
    if (!ext) return out;
    const auto seq = read_tlv(ext->data(), ext->size());
    if (!seq || seq->tag != 0x30 || seq->total != ext->size() || seq->length == 0) return std::nullopt;
    for (std::size_t at = 0; at < seq->length;) {
        const auto pair = read_tlv(seq->value + at, seq->length - at);
        if (!pair || pair->tag != 0x30) return std::nullopt;
        const auto issuer = read_tlv(pair->value, pair->length);
        if (!issuer) return std::nullopt;
        const auto subject = read_tlv(pair->value + issuer->total, pair->length - issuer->total);
        if (!subject || issuer->total + subject->total != pair->length) return std::nullopt;
        auto issuer_oid = oid_text(*issuer);
        auto subject_oid = oid_text(*subject);
        if (!issuer_oid || !subject_oid) return std::nullopt;
        out.emplace_back(std::move(*issuer_oid), std::move(*subject_oid));
        at += pair->total;
        if (out.size() > 256) return std::nullopt;  // bounded work per certificate
    }
    return out;
}

bool contains(const std::vector<std::string>& set, std::string_view oid)
{
    return std::find(set.begin(), set.end(), oid) != set.end();
}

// The valid_policy_tree (RFC 5280 §6.1.2 (a)). Nodes live in one vector and refer to their
// parent by index; a deleted node is marked dead. The tree is NULL when its root is dead.
class PolicyTree {
public:
    struct Node {
        std::string valid_policy;
        std::vector<std::string> expected;  // expected_policy_set
        std::size_t parent;                 // kNoParent for the root
        std::size_t depth;
        bool alive;
    };
    static constexpr std::size_t kNoParent = kNever;
    // A path of at most a few dozen certificates with a few policies each: the bound keeps a
    // crafted path (many policies times many mappings) from growing the tree without limit.
    static constexpr std::size_t kMaxNodes = 4096;

    PolicyTree() { m_nodes.push_back({std::string(oid_any_policy), {std::string(oid_any_policy)}, kNoParent, 0, true}); }

    bool null() const { return !m_nodes.front().alive; }
    void make_null()
    {
        for (auto& n : m_nodes) n.alive = false;
    }
    bool too_large() const { return m_nodes.size() >= kMaxNodes; }
    const std::vector<Node>& nodes() const { return m_nodes; }

    std::vector<std::size_t> at_depth(std::size_t depth) const
    {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < m_nodes.size(); ++i)
            if (m_nodes[i].alive && m_nodes[i].depth == depth) out.push_back(i);
        return out;
    }

    bool has_child(std::size_t parent, std::string_view policy) const
    {
        return std::any_of(m_nodes.begin(), m_nodes.end(), [&](const Node& n) {
            return n.alive && n.parent == parent && n.valid_policy == policy;
        });
    }

    void add_child(std::size_t parent, std::string policy, std::vector<std::string> expected)
    {
        if (too_large()) return;  // the caller stops; the path is refused
        const std::size_t depth = m_nodes[parent].depth + 1;
        m_nodes.push_back({std::move(policy), std::move(expected), parent, depth, true});
    }

    Node& node(std::size_t i) { return m_nodes[i]; }

    // Deletes every node of depth `deepest` or less without a child, bottom up (§6.1.3 (d)(3),
    // §6.1.4 (b)(2)): a deleted node can leave its parent childless.
    void prune(std::size_t deepest)
    {
        for (std::size_t d = deepest + 1; d-- > 0;)
            for (std::size_t i : at_depth(d)) {
                const bool childless = std::none_of(m_nodes.begin(), m_nodes.end(), [&](const Node& n) {
                    return n.alive && n.parent == i;
                });
                if (childless) m_nodes[i].alive = false;
            }
    }

    // For each live node of `depth` whose valid_policy is not anyPolicy, the policy it stands
    // for in the trust anchor's domain (§6.1.5 (g) (ii)): the valid_policy of its first
    // ancestor-or-self below anyPolicy nodes only.
    std::vector<std::string> authority_policies(std::size_t depth) const
    {
        std::vector<std::string> out;
        for (std::size_t i : at_depth(depth)) {
            if (m_nodes[i].valid_policy == oid_any_policy) continue;
            std::size_t authority = i;
            for (std::size_t up = i; up != kNoParent; up = m_nodes[up].parent)
                if (m_nodes[up].valid_policy != oid_any_policy) authority = up;
            if (!contains(out, m_nodes[authority].valid_policy)) out.push_back(m_nodes[authority].valid_policy);
        }
        return out;
    }

private:
    std::vector<Node> m_nodes;
};

// §6.1.3 (d): the policies certificate i (depth i) keeps valid.
void process_certificate_policies(PolicyTree& tree, const std::vector<std::string>& asserted, std::size_t i,
                                  bool any_policy_stands)
{
    const std::vector<std::size_t> parents = tree.at_depth(i - 1);
    for (const auto& p : asserted) {
        if (tree.too_large()) return;
        if (p == oid_any_policy) continue;
        bool matched = false;
        for (std::size_t parent : parents)  // (1) (i)
            if (contains(tree.node(parent).expected, p)) {
                tree.add_child(parent, p, {p});
                matched = true;
            }
        if (!matched)  // (1) (ii)
            for (std::size_t parent : parents)
                if (tree.node(parent).valid_policy == oid_any_policy) tree.add_child(parent, p, {p});
    }
    if (contains(asserted, oid_any_policy) && any_policy_stands)  // (2)
        for (std::size_t parent : parents) {
            if (tree.too_large()) return;
            const std::vector<std::string> expected = tree.node(parent).expected;
            for (const auto& e : expected)
                if (!tree.has_child(parent, e)) tree.add_child(parent, e, {e});
        }
    tree.prune(i - 1);  // (3)
}

// §6.1.4 (a), (b): certificate i's policy mappings applied to the nodes of depth i.
std::optional<std::string> process_policy_mappings(PolicyTree& tree, const std::vector<Mapping>& mappings,
                                                   std::size_t i, std::size_t policy_mapping)
{
    for (const auto& [issuer, subject] : mappings)
        if (issuer == oid_any_policy || subject == oid_any_policy)
            return "a CA's policy mapping names anyPolicy (RFC 5280 4.2.1.5)";
    if (tree.null()) return std::nullopt;
    std::vector<std::string> issuers;
    for (const auto& m : mappings)
        if (!contains(issuers, m.first)) issuers.push_back(m.first);
    for (const auto& id_p : issuers) {
        std::vector<std::string> subjects;
        for (const auto& [issuer, subject] : mappings)
            if (issuer == id_p && !contains(subjects, subject)) subjects.push_back(subject);
        const std::vector<std::size_t> level = tree.at_depth(i);
        if (policy_mapping > 0) {  // (b) (1)
            bool found = false;
            for (std::size_t n : level)
                if (tree.node(n).valid_policy == id_p) {
                    tree.node(n).expected = subjects;
                    found = true;
                }
            if (!found && !tree.too_large())
                for (std::size_t n : level)
                    if (tree.node(n).valid_policy == oid_any_policy) {
                        tree.add_child(tree.node(n).parent, id_p, subjects);
                        break;
                    }
        } else {  // (b) (2): mapping inhibited, the mapped policy ends here
            for (std::size_t n : level)
                if (tree.node(n).valid_policy == id_p) tree.node(n).alive = false;
            tree.prune(i - 1);
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> check_policies(const std::vector<const Certificate*>& chain,
                                          std::span<const std::string> required)
{
    const std::size_t n = chain.size();
    if (n == 0) return std::nullopt;
    // §6.1.2: the state variables count certificates still to come before they take effect.
    // initial-explicit-policy is not set for a requirement: a required policy valid at the end
    // (checked below) implies a tree that was never NULL, and the reason is then clearer.
    std::size_t explicit_policy = n + 1;
    std::size_t inhibit_any = n + 1, policy_mapping = n + 1;
    PolicyTree tree;
    for (std::size_t i = 1; i <= n; ++i) {  // certificate i: from the CA next to the anchor to the end entity
        const Certificate& cert = *chain[n - i];
        const bool last = i == n;
        const bool self_issued = is_self_issued(cert);
        const std::vector<std::string> asserted = certificate_policies(cert);
        if (!tree.null() && !asserted.empty())  // §6.1.3 (d)
            process_certificate_policies(tree, asserted, i, inhibit_any > 0 || (!last && self_issued));
        if (asserted.empty()) tree.make_null();  // (e)
        if (tree.too_large()) return "certificate policies of the path too many to process";
        if (explicit_policy == 0 && tree.null())  // (f)
            return "no valid certificate policy below a CA that requires one (requireExplicitPolicy)";
        const PolicyConstraints constraints = policy_constraints(cert);
        if (last) {  // §6.1.5 (a), (b)
            if (explicit_policy > 0) --explicit_policy;
            if (constraints.require_explicit == std::size_t{0}) explicit_policy = 0;
            break;
        }
        const auto mappings = policy_mappings(cert);  // §6.1.4 (a), (b)
        if (!mappings) return "a CA's policy mappings do not read";
        if (auto why = process_policy_mappings(tree, *mappings, i, policy_mapping)) return why;
        if (tree.too_large()) return "certificate policies of the path too many to process";
        if (!self_issued) {  // (h)
            if (explicit_policy > 0) --explicit_policy;
            if (policy_mapping > 0) --policy_mapping;
            if (inhibit_any > 0) --inhibit_any;
        }
        if (constraints.require_explicit && *constraints.require_explicit < explicit_policy)  // (i)
            explicit_policy = *constraints.require_explicit;
        if (constraints.inhibit_mapping && *constraints.inhibit_mapping < policy_mapping)
            policy_mapping = *constraints.inhibit_mapping;
        if (const auto skip = inhibit_any_policy(cert); skip && *skip < inhibit_any) inhibit_any = *skip;  // (j)
    }
    // §6.1.5 (g): the policies valid for the path, in the trust anchor's domain.
    if (required.empty()) {
        if (explicit_policy == 0 && tree.null())
            return "no valid certificate policy for the path (requireExplicitPolicy or inhibitAnyPolicy)";
        return std::nullopt;
    }
    const std::vector<std::string> valid = tree.null() ? std::vector<std::string>{} : tree.authority_policies(n);
    for (const auto& oid : required)
        if (contains(valid, oid)) return std::nullopt;
    if (valid.empty())
        return "no certificate policy is valid along the whole path; one of " + joined(required) + " is required";
    return "the path's valid certificate policies (" + joined(valid) + ") include none of the required " + joined(required);
}

}  // namespace ssm::pki
