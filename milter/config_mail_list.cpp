// Loads [[mail_list]] (PRODUCT §4.3): the lists this gateway expands as an RFC 2634 mail-list
// agent. Input is the administrator's file (trusted): every bad value is an error naming
// file:line:column, so a list that could not be expanded never gets past `ssm-milter -n`.
#include <set>

#include "base/ascii.h"
#include "directory/ldap_group_members.h"
#include "milter/config_loader.h"
#include "smime/cms/general_names.h"

namespace ssm::milter::config_detail {

namespace {

constexpr std::string_view kList = "mail_list[]";
constexpr std::size_t kMaxMembers = MailList::kMaxMembers;

EmailAddress address(Loader& L, const toml::table* t, std::string_view key, const std::string& text)
{
    auto a = EmailAddress::parse(text);
    if (!a || text.find_first_of("<> \t") != std::string::npos)
        L.fail(L.region(t, key), "'" + text + "' is not an email address");
    return *a;
}

// members_group: named as from_group/to_group name groups, in the one group directory.
std::string group(Loader& L, const toml::table* t, const Config& c)
{
    const std::string g = L.str(t, kList, "members_group");
    const auto& groups = c.directory.groups;
    if (!groups)
        L.fail(L.region(t, "members_group"), "members_group needs a [directory.groups] directory to read the group from");
    if (g.empty()) L.fail(L.region(t, "members_group"), "members_group must name a group (a DN or a cn)");
    if (directory::is_group_dn(g)) {
        if (!directory::ldap::is_valid_dn(g)) L.fail(L.region(t, "members_group"), "'" + g + "' is not an LDAP DN");
    } else if (groups->group_base.empty()) {
        L.fail(L.region(t, "members_group"), "members_group '" + g + "' is a cn, but [directory.groups] has no group_base "
                                             "(name the group by its DN)");
    }
    return g;
}

MailList load_list(Loader& L, const toml::table* t, const Config& c)
{
    const std::string text = L.str(t, kList, "address");
    MailList l{address(L, t, "address", text), address(L, t, "address", text), {}, {}, {}, {}};
    if (!c.policy.is_own_domain(l.address.domain()))
        L.fail(L.region(t, "address"), "list address " + text + " is not in one of our [[domain]]s");
    if (t->contains("identity")) l.identity = address(L, t, "identity", L.str(t, kList, "identity"));
    for (const auto& m : L.strings(t, kList, "members")) {
        EmailAddress a = address(L, t, "members", m);
        if (a.same_as(l.address)) L.fail(L.region(t, "members"), "the list " + text + " cannot be its own member");
        for (const auto& seen : l.members)
            if (seen.same_as(a)) L.fail(L.region(t, "members"), "member " + m + " is named twice");
        l.members.push_back(std::move(a));
    }
    if (t->contains("members_group")) l.members_group = group(L, t, c);
    if (!t->contains("members") && l.members_group.empty())
        L.fail(t->source(), "[[mail_list]] " + text + " needs members, members_group or both");
    if ((l.members.empty() && l.members_group.empty()) || l.members.size() > kMaxMembers)
        L.fail(L.region(t, "members"), "members must name 1 to " + std::to_string(kMaxMembers) + " addresses");

    using Kind = smime::cms::MlReceiptPolicyKind;
    const std::string policy = L.str(t, kList, "receipt_policy");
    if (policy == "keep") l.receipt_policy = Kind::Absent;
    else if (policy == "none") l.receipt_policy = Kind::None;
    else if (policy == "insteadOf") l.receipt_policy = Kind::InsteadOf;
    else if (policy == "inAdditionTo") l.receipt_policy = Kind::InAdditionTo;
    else L.fail(L.region(t, "receipt_policy"), "receipt_policy must be keep, none, insteadOf or inAdditionTo");
    const bool named = l.receipt_policy == Kind::InsteadOf || l.receipt_policy == Kind::InAdditionTo;
    for (const auto& r : L.strings(t, kList, "receipts_to")) {
        l.receipts_to.push_back(address(L, t, "receipts_to", r).key());
        try {
            smime::cms::check_rfc822_name(l.receipts_to.back(), "receipts_to");
        } catch (const std::exception& e) {
            L.fail(L.region(t, "receipts_to"), e.what());
        }
    }
    if (named && (l.receipts_to.empty() || l.receipts_to.size() > smime::cms::kMaxMlReceiptNames))
        L.fail(L.region(t, "receipts_to"), "receipt_policy " + policy + " needs receipts_to with 1 to 16 addresses");
    if (!named && t->contains("receipts_to"))
        L.fail(L.region(t, "receipts_to"), "receipts_to goes with receipt_policy insteadOf or inAdditionTo only");
    return l;
}

}  // namespace

void load_mail_lists(Loader& L, const toml::table& root, Config& c)
{
    const toml::node* n = root.get("mail_list");
    if (!n) return;
    for (auto& e : *n->as_array()) {
        const toml::table* t = e.as_table();
        MailList l = load_list(L, t, c);
        if (c.mail_list_exactly(l.address)) L.fail(L.region(t, "address"), "a second [[mail_list]] for " + l.address.str());
        c.mail_lists.push_back(std::move(l));
    }
}

}  // namespace ssm::milter::config_detail
