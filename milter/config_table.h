// The one table of configuration keys: type, default, reloadability and documentation.
// It drives parsing (unknown keys are errors), `ssm-milter -n`, and the test that checks
// every key is documented in ssm-milter.toml(5).
#pragma once
#include <span>
#include <string_view>

namespace ssm::milter {

// StringTable: a table of string values under names the administrator chooses (domains).
enum class KeyType { String, Integer, Boolean, Size, Duration, StringArray, IntegerArray, StringTable };

struct KeySpec {
    std::string_view table;          // "milter", "hsm", "rule[]" (array of tables), ...
    std::string_view key;
    KeyType type;
    std::string_view default_value;  // as written in TOML; "" = no default (optional/required)
    bool required;
    bool reloadable;
    std::string_view doc;
};

std::span<const KeySpec> config_keys();
const KeySpec* find_key(std::string_view table, std::string_view key);
bool is_known_table(std::string_view table);
const char* key_type_name(KeyType t);

}  // namespace ssm::milter
