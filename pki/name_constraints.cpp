// The path walk of name constraints (see name_constraints.h): per CA, per certificate below it,
// per name, its form's subtrees (pki/name_match.h). Input is untrusted; names reach reasons only
// through printable().
#include "pki/name_constraints.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "pki/general_names.h"
#include "pki/name_match.h"

namespace ssm::pki {

namespace {

// A name for a reason: text forms through printable(), addresses in their usual notation.
std::string name_text(const GeneralName& n)
{
    std::string text(name_form_text(n.form));
    if (n.form == NameForm::IpAddress && (n.value.size() == 4 || n.value.size() == 16)) {
        std::string out;
        for (std::size_t i = 0; i < n.value.size(); ++i) {
            std::array<char, 8> part{};
            const unsigned octet = static_cast<unsigned char>(n.value[i]);
            if (n.value.size() == 4) std::snprintf(part.data(), part.size(), "%s%u", i ? "." : "", octet);
            else std::snprintf(part.data(), part.size(), "%s%02x", i && i % 2 == 0 ? ":" : "", octet);
            out += part.data();
        }
        return text + " " + out;
    }
    if (n.form == NameForm::Rfc822 || n.form == NameForm::Dns || n.form == NameForm::Uri ||
        n.form == NameForm::Directory)
        return text + " '" + printable(n.value) + "'";
    return text;
}

bool compared(NameForm f)
{
    return f == NameForm::Rfc822 || f == NameForm::Dns || f == NameForm::Directory || f == NameForm::Uri ||
           f == NameForm::IpAddress;
}

// Why `name` breaks `subtrees` (nullopt when it does not).
std::optional<std::string> check_name(const GeneralName& name, const NameSubtrees& subtrees)
{
    const auto of_form = [&](const GeneralName& s) { return s.form == name.form; };
    const bool permitted_any = std::any_of(subtrees.permitted.begin(), subtrees.permitted.end(), of_form);
    const bool excluded_any = std::any_of(subtrees.excluded.begin(), subtrees.excluded.end(), of_form);
    if (!permitted_any && !excluded_any) return std::nullopt;  // its form is not constrained
    if (!compared(name.form)) return "has " + name_text(name) + ", a form not compared, under the subtrees of that form";
    if (!name.readable) return "has " + name_text(name) + " that does not read, under the subtrees of its form";
    bool inside = !permitted_any;
    for (const GeneralName& s : subtrees.permitted) {
        if (!of_form(s)) continue;
        const Match m = in_subtree(name, s, false);
        if (m == Match::Unreadable) return "has " + name_text(name) + " that cannot be compared with the permitted subtrees";
        inside = inside || m == Match::In;
    }
    if (!inside) return "has " + name_text(name) + " outside the permitted subtrees";
    for (const GeneralName& s : subtrees.excluded) {
        if (!of_form(s)) continue;
        const Match m = in_subtree(name, s, true);
        if (m == Match::Unreadable) return "has " + name_text(name) + " that cannot be compared with the excluded subtrees";
        if (m == Match::In) return "has " + name_text(name) + " in an excluded subtree";
    }
    return std::nullopt;
}

}  // namespace

std::optional<NameViolation> check_name_constraints(const std::vector<const Certificate*>& chain)
{
    using Names = std::optional<std::vector<GeneralName>>;  // nullopt: they do not read
    std::vector<std::optional<Names>> names(chain.size());  // each certificate's, read when first needed
    for (std::size_t k = 1; k < chain.size(); ++k) {
        const auto subtrees = name_subtrees(*chain[k]);
        if (subtrees && subtrees->empty()) continue;
        for (std::size_t j = 0; j < k; ++j) {
            if (j > 0 && is_self_issued(*chain[j])) continue;  // a self-issued CA (key rollover) is exempt
            if (!subtrees) return NameViolation{j, k, "is below the unreadable name constraints"};
            if (!names[j]) names[j] = certificate_names(*chain[j]);
            if (!*names[j]) return NameViolation{j, k, "has names that do not read, under the name constraints"};
            for (const GeneralName& name : **names[j])
                if (auto why = check_name(name, *subtrees)) return NameViolation{j, k, std::move(*why)};
        }
    }
    return std::nullopt;
}

}  // namespace ssm::pki
