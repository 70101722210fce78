// `ssmctl hsm list` (see ssmctl_hsm.h). Token-provided text is sanitised before printing.
#include "tools/ssmctl_hsm.h"

#include <algorithm>
#include <ctime>
#include <string>

#include "base/error.h"
#include "base/log.h"
#include "hsm/key_store.h"

namespace ssm::tools {

namespace {

std::string key_name(const hsm::Identity& id)
{
    if (!id.key_type_supported) return "unsupported";
    switch (id.key_type) {
    case smime::KeyType::Rsa: return "rsa-" + std::to_string(id.key_bits);
    case smime::KeyType::Ec: return "ec-p" + std::to_string(id.key_bits);
    case smime::KeyType::Ed25519: return "ed25519";
    }
    return "unknown";
}

std::string date(std::time_t t)
{
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

std::string join(const std::vector<std::string>& parts, const char* empty)
{
    if (parts.empty()) return empty;
    std::string s;
    for (const auto& p : parts) s += (s.empty() ? "" : ",") + p;
    return s;
}

}  // namespace

int hsm_list(const hsm::TokenConfig& config, std::ostream& out, std::ostream& err)
{
    std::unique_ptr<hsm::KeyStore> store;
    try {
        store = hsm::KeyStore::open(config);
    } catch (const std::exception& e) {
        err << "ssmctl hsm list: " << e.what() << "\n";
        return 2;
    }
    const hsm::TokenInfo& t = store->token();
    out << "token label=" << log::sanitise(t.label) << " serial=" << log::sanitise(t.serial)
        << " manufacturer=" << log::sanitise(t.manufacturer) << " model=" << log::sanitise(t.model)
        << " module=" << log::sanitise(t.module) << "\n";
    auto identities = store->identities();
    // Token enumeration order is arbitrary: list by CKA_ID so output is stable between runs.
    std::sort(identities.begin(), identities.end(),
              [](const hsm::Identity& a, const hsm::Identity& b) { return a.id < b.id; });
    for (const auto& id : identities) {
        std::vector<std::string> emails;
        for (const auto& e : id.email_addresses) emails.push_back(log::sanitise(e));
        std::vector<std::string> schemes;
        for (auto s : id.sign_schemes) schemes.emplace_back(smime::scheme_name(s));
        std::vector<std::string> attrs;
        if (id.key_can_sign) attrs.emplace_back("sign");
        if (id.key_can_decrypt) attrs.emplace_back("decrypt");
        if (id.key_can_derive) attrs.emplace_back("derive");
        out << "certificate label=" << log::sanitise(id.label) << " id=" << to_hex(id.id)
            << " key=" << key_name(id) << " email=" << join(emails, "-")
            << " not_after=" << date(id.not_after) << (id.is_ca ? " ca=yes" : "")
            << " private_key=" << (id.has_private_key ? "yes" : "no");
        if (id.has_private_key) {
            out << " key_attributes=" << join(attrs, "none")
                << " extractable=" << (id.key_extractable ? "yes" : "no");
        }
        // What the inbound side can do with the key: raw RSA (padding removed by us) or ECDH.
        const char* decrypt = !id.decrypt_usable                    ? "none"
                              : id.key_type == smime::KeyType::Rsa ? "rsa-raw"
                                                                   : "ecdh";
        out << " sign=" << join(schemes, "none") << " decrypt=" << decrypt << "\n";
    }
    return 0;
}

}  // namespace ssm::tools
