// `ssmctl hsm list|import|keygen` (see ssmctl_hsm.h). Token-provided text is sanitised
// before printing; PINs, passwords and key material are never printed.
#include "tools/ssmctl_hsm.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>

#include "base/ascii.h"
#include "base/bounded_file.h"
#include "base/email_address.h"
#include "base/error.h"
#include "base/gnutls_handles.h"
#include "base/joined.h"
#include "base/log.h"
#include "base/secure_buffer.h"
#include "base/utc_time.h"
#include "hsm/key_generation.h"
#include "hsm/key_import.h"
#include "hsm/key_store.h"
#include "hsm/token_writer.h"
#include "pki/certificate.h"
#include "tools/ssmctl_exit_codes.h"

namespace ssm::tools {

namespace {

std::string key_name(const hsm::Identity& id)
{
    // An id-RSASSA-PSS key is named so whether or not we can sign with it (sign= says).
    if (id.rsa_pss) return "rsa-pss-" + std::to_string(id.key_bits);
    if (!id.key_type_supported) return "unsupported";
    switch (id.key_type) {
    case smime::KeyType::Rsa: return "rsa-" + std::to_string(id.key_bits);
    case smime::KeyType::Ec: return "ec-p" + std::to_string(id.key_bits);
    case smime::KeyType::Ed25519: return "ed25519";
    }
    return "unknown";
}

// The synopses of ssmctl(8), word for word (test_ssmctl_usage.sh compares them).
constexpr const char* kList = "ssmctl hsm list [--token T]";
constexpr const char* kImport = "ssmctl hsm import FILE.p12|CERT.pem|CERT.der [--password-file F] [--label L] [--token T]";
constexpr const char* kKeygen =
    "ssmctl hsm keygen --type TYPE --subject DN [--email ADDR]... --csr OUT.pem [--label L] [--token T]";

// Private keys whose CKA_ID no certificate carries: generated keys waiting for their
// certificate. The milter never uses them (keys are found through certificates).
void list_loose_keys(const hsm::TokenConfig& config, const std::vector<hsm::Identity>& ids,
                     std::ostream& out)
{
    try {
        hsm::RawModule module = hsm::RawModule::attach(config.module);
        auto slot = module.find_slot(config.token_label, config.token_serial);
        if (!slot) return;
        hsm::RawSession session(module, *slot);
        const auto objects = hsm::list_objects(session.functions(), session.handle());
        for (const auto& o : objects) {
            if (o.object_class != CKO_PRIVATE_KEY) continue;
            if (std::any_of(ids.begin(), ids.end(), [&](const hsm::Identity& i) { return i.id == o.id; }))
                continue;
            Bytes spki = o.spki;
            for (const auto& p : objects)
                if (spki.empty() && p.object_class == CKO_PUBLIC_KEY && p.id == o.id) spki = p.spki;
            std::string type = "unknown";
            auto key = new_gnutls_pubkey();
            const gnutls_datum_t d{spki.data(), static_cast<unsigned>(spki.size())};
            unsigned bits = 0;
            if (!spki.empty() && gnutls_pubkey_import(key.get(), &d, GNUTLS_X509_FMT_DER) >= 0) {
                const int pk = gnutls_pubkey_get_pk_algorithm(key.get(), &bits);
                // GnuTLS counts P-521 as 528 bits (66 octets): the curve names the key.
                gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
                if (pk == GNUTLS_PK_ECDSA) gnutls_pubkey_export_ecc_raw(key.get(), &curve, nullptr, nullptr);
                type = pk == GNUTLS_PK_RSA ? "rsa-" + std::to_string(bits)
                       : pk == GNUTLS_PK_ECDSA
                           ? (curve == GNUTLS_ECC_CURVE_SECP256R1   ? std::string("ec-p256")
                              : curve == GNUTLS_ECC_CURVE_SECP384R1 ? std::string("ec-p384")
                              : curve == GNUTLS_ECC_CURVE_SECP521R1 ? std::string("ec-p521")
                                                                    : "ec-" + std::to_string(bits))
                       : pk == GNUTLS_PK_EDDSA_ED25519 ? std::string("ed25519")
                                                       : std::string("unknown");
            }
            out << "key label=" << log::sanitise(o.label) << " id=" << to_hex(o.id)
                << " key=" << type << " certificate=none (no certificate yet)\n";
        }
    } catch (const std::exception&) {
        // Advisory: the certificates above are what the milter uses.
    }
}

// The PKCS#12 password: from --password-file, else typed on the terminal without echo, else
// one line of standard input.
SecureString read_password(const std::string& file)
{
    if (!file.empty()) return read_secret_file(file);
    std::string line;
    if (isatty(STDIN_FILENO)) {
        std::cerr << "PKCS#12 password: " << std::flush;
        termios old{};
        tcgetattr(STDIN_FILENO, &old);
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        std::getline(std::cin, line);
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        std::cerr << "\n";
    } else {
        std::getline(std::cin, line);
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return SecureString(std::move(line));
}

int hsm_import(const hsm::TokenConfig& config, const std::vector<std::string>& args,
               std::ostream& out, std::ostream& err)
{
    std::string file, password_file, label;
    const std::string usage = "usage: " + std::string(kImport) + "\n";
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--password-file" && i + 1 < args.size()) password_file = args[++i];
        else if (a == "--label" && i + 1 < args.size()) label = args[++i];
        else if (file.empty() && !a.empty() && a[0] != '-') file = a;
        else {
            err << usage;
            return kExitUsage;
        }
    }
    if (file.empty()) {
        err << usage;
        return kExitUsage;
    }
    // A file that cannot be read is the administrator's to fix, as in `cert import`:
    // ssmctl(8) gives it 64 and the reason. 4 MiB, as for certificates: a PKCS#12 file of a
    // key and its chain has a few KiB. An input of this command: a pipe too (/dev/stdin, <(...)).
    std::string why;
    const auto text = read_bounded_input(file, pki::max_pem_file_size, why);
    if (!text) {
        err << "ssmctl hsm import: cannot read " << file << ": " << why << "\n";
        return kExitUsage;
    }
    const Bytes data(text->begin(), text->end());
    try {
        const bool p12 = hsm::looks_like_pkcs12(data);
        SecureString password;
        if (p12) {
            try {
                password = read_password(password_file);
            } catch (const std::runtime_error& e) {  // --password-file cannot be read: as FILE
                err << "ssmctl hsm import: " << e.what() << "\n";
                return kExitUsage;
            }
        }
        auto token = hsm::TokenWriter::open(config);
        const hsm::ImportResult r = p12 ? hsm::import_pkcs12(*token, data, password, label)
                                        : hsm::import_certificate(*token, data, label);
        if (p12) {
            out << "imported label=" << log::sanitise(r.label) << " id=" << to_hex(r.id)
                << " key=" << r.key << " private_key=non-extractable";
            std::string cas;
            for (const auto& c : r.ca_labels) cas += (cas.empty() ? "" : ",") + log::sanitise(c);
            out << " ca_certificates=" << (cas.empty() ? "-" : cas) << "\n";
        } else {
            out << "attached certificate label=" << log::sanitise(r.label) << " id=" << to_hex(r.id)
                << "\n";
        }
    } catch (const std::exception& e) {
        err << "ssmctl hsm import: " << file << ": " << e.what() << "\n";
        return kExitUnavailable;
    }
    return 0;
}

// Why GnuTLS cannot take `subject` as the request's DN, or empty when it can. The request is
// made after C_GenerateKeyPair (hsm/key_generation.cpp, which destroys the pair again when
// this fails there): asked here first, a typo costs no key generation and is a usage error.
// gnutls_x509_crt_set_dn parses the string as gnutls_x509_crq_set_dn does (one RFC 4514
// reader in GnuTLS).
std::string subject_refusal(const std::string& subject)
{
    const GnutlsCrt scratch = new_gnutls_crt();
    const char* bad = nullptr;
    if (gnutls_x509_crt_set_dn(scratch.get(), subject.c_str(), &bad) >= 0) return {};
    // The administrator's own text, shown as typed but for control and non-ASCII octets ('?').
    return "cannot parse --subject '" + with_unprintable_replaced(subject) + "'" +
           (bad ? " near '" + with_unprintable_replaced(bad) + "'" : std::string()) +
           " (expected e.g. \"CN=Alice Example,O=Acme\")";
}

int hsm_keygen(const hsm::TokenConfig& config, const std::vector<std::string>& args,
               std::ostream& out, std::ostream& err)
{
    std::string type, subject, csr, label;
    std::vector<std::string> emails;
    const std::string usage = "usage: " + std::string(kKeygen) + "\n";
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const bool has = i + 1 < args.size();
        if (a == "--type" && has) type = args[++i];
        else if (a == "--subject" && has) subject = args[++i];
        else if (a == "--email" && has) emails.push_back(args[++i]);
        else if (a == "--csr" && has) csr = args[++i];
        else if (a == "--label" && has) label = args[++i];
        else {
            err << usage;
            return kExitUsage;
        }
    }
    if (type.empty() || subject.empty() || csr.empty()) {
        err << usage;
        return kExitUsage;
    }
    // Arguments that are wrong are usage errors (ssmctl(8): 64), told before the CSR file is
    // made and the token opened: exit 2 says a token or directory was unavailable, and would
    // send the administrator to the token for a typo.
    const auto spec = hsm::parse_key_spec(type);
    if (!spec) {
        err << "ssmctl hsm keygen: unknown --type '" << log::sanitise(type) << "' (one of "
            << hsm::key_spec_names() << ")\n";
        return kExitUsage;
    }
    for (const auto& e : emails) {
        if (!EmailAddress::parse(e)) {  // as generate_key reads them
            err << "ssmctl hsm keygen: not an e-mail address: '" << log::sanitise(e) << "'\n";
            return kExitUsage;
        }
    }
    if (const std::string why = subject_refusal(subject); !why.empty()) {
        err << "ssmctl hsm keygen: " << why << "\n";
        return kExitUsage;
    }
    // Opened first: a CSR that cannot be written must not leave a new key pair behind.
    errno = 0;
    std::ofstream f(csr, std::ios::binary | std::ios::trunc);
    if (!f) {
        // The reason (a missing folder, permissions) is what the administrator needs to act.
        err << "ssmctl hsm keygen: cannot write " << csr << (errno != 0 ? std::string(": ") + std::strerror(errno) : "")
            << "\n";
        return kExitUsage;
    }
    try {
        auto token = hsm::TokenWriter::open(config);
        const hsm::GeneratedKey g = hsm::generate_key(*token, *spec, subject, emails, label);
        if (!(f << g.csr_pem) || !f.flush()) {
            // The pair stays (committed); the message names it so it can be found and removed.
            err << "ssmctl hsm keygen: cannot write " << csr << " (key pair id="
                << to_hex(g.id) << " was generated)\n";
            return kExitUnavailable;
        }
        out << "generated label=" << log::sanitise(g.label) << " id=" << to_hex(g.id)
            << " key=" << spec->name << " csr=" << csr << "\n";
    } catch (const std::exception& e) {
        f.close();
        std::remove(csr.c_str());  // no empty request left behind
        err << "ssmctl hsm keygen: " << e.what() << "\n";
        return kExitUnavailable;
    }
    return 0;
}

int hsm_list_token(const hsm::TokenConfig& config, std::ostream& out, std::ostream& err)
{
    std::unique_ptr<hsm::KeyStore> store;
    try {
        store = hsm::KeyStore::open(config);
    } catch (const std::exception& e) {
        err << "ssmctl hsm list: " << e.what() << "\n";
        return kExitUnavailable;
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
            << " key=" << key_name(id) << " email=" << joined(emails, "-")
            << " not_after=" << utc_time(id.not_after, "%Y-%m-%d") << (id.is_ca ? " ca=yes" : "")
            << " private_key=" << (id.has_private_key ? "yes" : "no");
        if (id.has_private_key) {
            out << " key_attributes=" << joined(attrs, "none")
                << " extractable=" << (id.key_extractable ? "yes" : "no");
        }
        // The key management the inbound side can undo with the key (PRODUCT §5: RSA v1.5 and
        // OAEP decryption, ECDH derivation), named as [encryption] key_transport names them: the
        // token does raw RSA (CKM_RSA_X_509) and the gateway removes either padding itself.
        const char* decrypt = !id.decrypt_usable                    ? "none"
                              : id.key_type == smime::KeyType::Rsa ? "rsa-pkcs1,rsa-oaep"
                                                                   : "ecdh";
        out << " sign=" << joined(schemes, "none") << " decrypt=" << decrypt << "\n";
    }
    list_loose_keys(config, store->identities(), out);
    return 0;
}

}  // namespace

int hsm_list(const std::vector<hsm::TokenConfig>& tokens, std::ostream& out, std::ostream& err)
{
    // Every token, also after one that cannot be opened: the administrator sees them all.
    int status = 0;
    for (const auto& t : tokens)
        if (hsm_list_token(t, out, err) != 0) status = kExitUnavailable;
    return status;
}

int hsm_command(const std::vector<hsm::TokenConfig>& tokens, const std::vector<std::string>& args,
                std::ostream& out, std::ostream& err)
{
    const std::string usage = "usage: " + std::string(kList) + "\n       " + kImport + "\n       " + kKeygen + "\n";
    const std::string sub = args.empty() ? "" : args[0];
    std::vector<std::string> rest;
    // --token names the configured token to work on by label or serial ([hsm] or one
    // [[hsm.token]]); without it import and keygen write to [hsm] and list shows them all.
    std::vector<hsm::TokenConfig> chosen = tokens;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] != "--token") {
            rest.push_back(args[i]);
            continue;
        }
        if (i + 1 >= args.size()) {
            err << usage;
            return kExitUsage;
        }
        const std::string& want = args[++i];
        const auto it = std::find_if(tokens.begin(), tokens.end(), [&](const hsm::TokenConfig& t) {
            return (!t.token_label.empty() && t.token_label == want) || (!t.token_serial.empty() && iequals(t.token_serial, want));
        });
        if (it == tokens.end()) {
            err << "ssmctl hsm: no configured token '" << log::sanitise(want) << "' ([hsm] or [[hsm.token]], by label or serial)\n";
            return kExitUsage;
        }
        chosen = {*it};
    }
    if (sub == "list" && rest.empty()) return hsm_list(chosen, out, err);
    if (sub == "import") return hsm_import(chosen.front(), rest, out, err);
    if (sub == "keygen") return hsm_keygen(chosen.front(), rest, out, err);
    err << usage;
    return kExitUsage;
}

}  // namespace ssm::tools
