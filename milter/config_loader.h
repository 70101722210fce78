// Internal to the configuration loader: the Loader helper (values with defaults from the key
// table, errors as file:line:column) shared by config.cpp and the per-section files
// (config_directory.cpp, ...). Input is the administrator's TOML file, already parsed by toml++.
#pragma once
#include <sys/socket.h>
#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "milter/config.h"
#include "milter/config_table.h"

namespace ssm::milter::config_detail {

// Upper bounds of the files the configuration is read from (base/bounded_file.h), far above
// any real one (a configuration has a few KiB, a list of a million addresses some 30 MiB) and
// low enough that a wrong path (a log file, /dev/zero) is refused instead of filling memory.
inline constexpr std::size_t kMaxConfigFileSize = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxListFileSize = 64 * 1024 * 1024;

// "FILE:LINE:COLUMN", or "FILE" alone for a region with no position (line 0: what the file
// lacks, such as a section it does not have, is at no line of it).
inline std::string where(const std::string& name, const toml::source_region& r)
{
    if (r.begin.line == 0) return name;
    return name + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

// A key table as the administrator writes its header: "[[rule]]" for an array of tables
// (the key table's "rule[]"), "[milter]" for a table.
inline std::string written_table(std::string_view table_name)
{
    if (table_name.ends_with("[]")) return "[[" + std::string(table_name.substr(0, table_name.size() - 2)) + "]]";
    return "[" + std::string(table_name) + "]";
}

class Loader {
public:
    explicit Loader(std::string name) : m_name(std::move(name)) {}

    [[noreturn]] void fail(const toml::source_region& r, const std::string& msg) const
    {
        throw ConfigError(where(m_name, r) + ": " + msg);
    }

    // Every key of `t` must be in the table `table_name` and have the right type.
    void check_keys(const toml::table& t, std::string_view table_name) const
    {
        for (auto&& [key, node] : t) {
            const KeySpec* spec = find_key(table_name, key.str());
            if (!spec)
                fail(key.source(), "unknown key '" + std::string(key.str()) + "' in " + written_table(table_name));
            check_type(*spec, node);
        }
        for (const auto& spec : config_keys())
            if (spec.table == table_name && spec.required && !t.contains(spec.key))
                fail(t.source(), written_table(table_name) + " needs the key '" + std::string(spec.key) + "'");
    }

    // A section with nested tables ([directory] with [[directory.ldap]], [directory.groups]...;
    // [hsm] with [[hsm.token]]): each nested key written as its form demands and checked
    // against its own table, every other key against the section's.
    struct Nested {
        std::string_view key;    // "ldap"
        std::string_view table;  // "directory.ldap[]" (array of tables) or "directory.groups"
    };
    void check_section(const toml::table& t, std::string_view section, std::initializer_list<Nested> nested) const
    {
        for (auto&& [key, node] : t) {
            // Not key itself in the lambda: clang 14 (the sanitizer build) cannot capture a
            // structured binding.
            const std::string_view key_name = key.str();
            const auto n = std::find_if(nested.begin(), nested.end(), [&](const Nested& x) { return x.key == key_name; });
            if (n != nested.end()) {
                const bool array = n->table.ends_with("[]");
                const std::string name = std::string(section) + "." + std::string(n->key);
                if (array && !node.is_array_of_tables()) fail(key.source(), name + " must be written [[" + name + "]]");
                if (!array && !node.is_table()) fail(key.source(), name + " must be written [" + name + "]");
                if (array)
                    for (auto& e : *node.as_array()) check_keys(*e.as_table(), n->table);
                else
                    check_keys(*node.as_table(), n->table);
                continue;
            }
            const KeySpec* spec = find_key(section, key.str());
            if (!spec) fail(key.source(), "unknown key '" + std::string(key.str()) + "' in " + written_table(section));
            check_type(*spec, node);
        }
    }

    void check_type(const KeySpec& spec, const toml::node& node) const
    {
        bool ok = false;
        switch (spec.type) {
        case KeyType::String: ok = node.is_string(); break;
        case KeyType::Integer: ok = node.is_integer() && *node.value<std::int64_t>() >= 0; break;
        case KeyType::Boolean: ok = node.is_boolean(); break;
        case KeyType::Size:
            ok = (node.is_string() && parse_size(*node.value<std::string>())) ||
                 (node.is_integer() && *node.value<std::int64_t>() >= 0);
            break;
        case KeyType::Duration:
            ok = (node.is_string() && parse_duration(*node.value<std::string>())) ||
                 (node.is_integer() && *node.value<std::int64_t>() >= 0);
            break;
        case KeyType::StringArray:
            ok = node.is_array();
            if (ok)
                for (auto& e : *node.as_array()) ok = ok && e.is_string();
            break;
        case KeyType::IntegerArray:
            ok = node.is_array();
            if (ok)
                for (auto& e : *node.as_array()) ok = ok && e.is_integer();
            break;
        case KeyType::StringTable:
            ok = node.is_table();
            if (ok)
                for (auto&& [name, value] : *node.as_table()) ok = ok && value.is_string();
            break;
        }
        if (!ok)
            fail(node.source(), "'" + std::string(spec.key) + "' must be a " +
                                    key_type_name(spec.type));
    }

    // The node for a key, or the default from the key table (parsed as TOML).
    toml::node_view<const toml::node> get(const toml::table* t, std::string_view table,
                                          std::string_view key)
    {
        if (t) {
            if (const toml::node* n = t->get(key)) return toml::node_view<const toml::node>(n);
        }
        const KeySpec* spec = find_key(table, key);
        if (!spec || spec->default_value.empty()) return {};
        m_defaults.push_back(
            std::make_unique<toml::table>(toml::parse("v = " + std::string(spec->default_value))));
        return toml::node_view<const toml::node>(m_defaults.back()->get("v"));
    }

    std::string str(const toml::table* t, std::string_view table, std::string_view key)
    {
        return get(t, table, key).value_or(std::string());
    }

    std::vector<std::string> strings(const toml::table* t, std::string_view table,
                                     std::string_view key)
    {
        std::vector<std::string> out;
        if (auto v = get(t, table, key); v && v.is_array())
            for (auto& e : *v.as_array()) out.push_back(*e.value<std::string>());
        return out;
    }

    std::uint64_t size(const toml::table* t, std::string_view table, std::string_view key)
    {
        auto v = get(t, table, key);
        if (v.is_integer()) return static_cast<std::uint64_t>(*v.value<std::int64_t>());
        return parse_size(v.value_or(std::string("0"))).value_or(0);
    }

    std::chrono::seconds duration(const toml::table* t, std::string_view table,
                                  std::string_view key)
    {
        auto v = get(t, table, key);
        if (v.is_integer()) return std::chrono::seconds(*v.value<std::int64_t>());
        return parse_duration(v.value_or(std::string("0"))).value_or(std::chrono::seconds(0));
    }

    std::int64_t integer(const toml::table* t, std::string_view table, std::string_view key)
    {
        return get(t, table, key).value_or(std::int64_t(0));
    }

    bool boolean(const toml::table* t, std::string_view table, std::string_view key)
    {
        return get(t, table, key).value_or(false);
    }

    toml::source_region region(const toml::table* t, std::string_view key) const
    {
        if (t)
            if (const toml::node* n = t->get(key)) return n->source();
        return t ? t->source() : toml::source_region{};
    }

private:
    std::string m_name;
    std::vector<std::unique_ptr<toml::table>> m_defaults;
};

inline const toml::table* subtable(const toml::table& root, std::string_view key)
{
    const toml::node* n = root.get(key);
    return n ? n->as_table() : nullptr;
}

// [directory] and its [[directory.ldap]] entries (config_directory.cpp).
void load_directory(Loader& L, const toml::table* t, Config& c);

// A loopback endpoint written "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT" (the value of
// KEY in table T, named TABLE in errors, WHY saying why it must be loopback). The address has
// its port set; host is the text before the colon, brackets removed. config.cpp.
struct LoopbackEndpoint {
    sockaddr_storage address{};
    std::string host;
    std::uint16_t port = 0;
};
LoopbackEndpoint loopback_endpoint(Loader& L, const toml::table* t, const std::string& value,
                                   const char* key, const std::string& why);

// [reinjection] (config_reinjection.cpp).
void load_reinjection(Loader& L, const toml::table* t, Config& c);

// [labels], [[security_label]], [[clearance]], [[label_equivalence]] (config_labels.cpp);
// before load_policy, which checks the rules' security_label names against c.labels.
void load_labels(Loader& L, const toml::table& root, Config& c);

// [[mail_list]] (config_mail_list.cpp); after load_policy, which knows our [[domain]]s.
void load_mail_lists(Loader& L, const toml::table& root, Config& c);

}  // namespace ssm::milter::config_detail
