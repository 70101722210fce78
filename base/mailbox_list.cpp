// RFC 5322 address fields; see mailbox_list.h. One pass over the value: quoted strings,
// comments and angle addresses are read as units so that their commas, colons and
// semicolons do not split anything; every length is bounded by the value's.
#include "base/mailbox_list.h"

#include <cctype>
#include <string>

#include "base/ascii.h"

namespace ssm {

namespace {

// RFC 5322 §3.4.1 local-part: a dot-atom (atext and dots; RFC 6532 lets UTF-8 in) or a
// quoted string. EmailAddress::parse is more lenient (envelope values); an address field is
// held to the grammar, so that a special such as ';' or '(' taken from between angle
// brackets never ends up in an address that would read differently elsewhere.
bool is_local_part(std::string_view local)
{
    if (local.size() >= 2 && local.front() == '"') {  // one quoted string, nothing around it
        for (std::size_t i = 1; i < local.size(); ++i) {
            if (local[i] == '\\') ++i;
            else if (local[i] == '"') return i == local.size() - 1;
        }
        return false;
    }
    static constexpr std::string_view kAtextSpecials = "!#$%&'*+-/=?^_`{|}~.";
    for (char c : local) {
        const auto u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) || u >= 0x80 || kAtextSpecials.find(c) != std::string_view::npos)) return false;
    }
    return !local.empty();
}

// One entry (a mailbox) being read: the text of its first angle address, and its addr-spec
// text outside any angle brackets with comments and folding white space removed.
struct Entry {
    std::optional<std::string> angle;
    std::string bare;
    bool any = false;     // something other than white space was seen
    bool broken = false;  // an angle address without its '>', a quoted string without its end
    // Text (not a comment) after the angle address, or a second angle address: "<a@x> b@y",
    // "<a@x> <b@y>". The grammar has neither; which one a mail client shows as the author is
    // anyone's guess, so the entry is no address rather than the first one (a From check
    // would compare one address while the reader sees the other).
    bool ambiguous = false;

    void finish(MailboxList& out)
    {
        if (!any) return;
        std::string_view text = angle ? std::string_view(*angle) : std::string_view(bare);
        // obs-route: "@relay1,@relay2:local@domain" inside the angle brackets.
        if (angle && !text.empty() && text.front() == '@')
            if (const auto colon = text.find(':'); colon != std::string_view::npos) text.remove_prefix(colon + 1);
        auto a = broken || ambiguous ? std::nullopt : EmailAddress::parse(text);
        if (a && is_local_part(a->local_part())) out.addresses.push_back(std::move(*a));
        else ++out.unparsable;
        *this = Entry{};
    }
};

// Skips a comment starting at value[i] == '(' (nested, with quoted-pairs); returns the index
// after it (the end of the value when it is not closed).
std::size_t skip_comment(std::string_view value, std::size_t i)
{
    int depth = 0;
    for (; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\\') ++i;
        else if (c == '(') ++depth;
        else if (c == ')' && --depth == 0) return i + 1;
    }
    return value.size();
}

// Reads a quoted string starting at value[i] == '"' into `text` (quotes and quoted-pair
// backslashes kept, as an addr-spec's quoted local part needs); returns the index after it.
// `closed` is false when the value ends before the closing quote.
std::size_t read_quoted(std::string_view value, std::size_t i, std::string& text, bool& closed)
{
    std::size_t j = i + 1;
    for (; j < value.size() && value[j] != '"'; ++j)
        if (value[j] == '\\' && j + 1 < value.size()) ++j;
    closed = j < value.size();
    const std::size_t end = closed ? j + 1 : value.size();
    text.append(value.substr(i, end - i));
    return end;
}

}  // namespace

MailboxList parse_mailbox_list(std::string_view value)
{
    MailboxList out;
    Entry e;
    std::size_t i = 0;
    while (i < value.size()) {
        const char c = value[i];
        if (c == '(') {
            i = skip_comment(value, i);
            if (!e.bare.empty() && e.bare.back() != ' ') e.bare += ' ';  // a comment separates words
        } else if (c == '"') {
            e.any = true;
            if (e.angle) e.ambiguous = true;
            // A quoted display name is dropped once an angle address follows; kept in the bare
            // text it may be a quoted local part.
            bool closed = true;
            i = read_quoted(value, i, e.bare, closed);
            if (!closed) e.broken = true;
        } else if (c == '<') {
            e.any = true;
            if (e.angle) e.ambiguous = true;
            std::string inside;
            std::size_t j = i + 1;
            while (j < value.size() && value[j] != '>') {
                if (value[j] == '"') {
                    bool closed = true;
                    j = read_quoted(value, j, inside, closed);
                } else if (value[j] == '(') {
                    j = skip_comment(value, j);
                } else {
                    if (!is_folding_space(value[j])) inside += value[j];
                    ++j;
                }
            }
            if (!e.angle) e.angle = std::move(inside);
            if (j >= value.size()) e.broken = true;
            i = j < value.size() ? j + 1 : j;
        } else if (c == ',') {
            e.finish(out);
            ++i;
        } else if (c == ':' && !e.angle) {
            e = Entry{};  // a group's display name: its members follow
            ++i;
        } else if (c == ';') {
            e.finish(out);  // the end of a group
            ++i;
        } else if (is_folding_space(c)) {
            // Kept as one space between words: "Alice Smith alice@x" (a display name without
            // angle brackets) must not read as the address "AliceSmithalice@x".
            if (!e.bare.empty() && e.bare.back() != ' ') e.bare += ' ';
            ++i;
        } else {
            e.any = true;
            if (e.angle) e.ambiguous = true;
            e.bare += c;
            ++i;
        }
    }
    e.finish(out);
    return out;
}

std::optional<EmailAddress> first_mailbox(std::string_view value)
{
    auto list = parse_mailbox_list(value);
    if (list.addresses.empty()) return std::nullopt;
    return std::move(list.addresses.front());
}

}  // namespace ssm
