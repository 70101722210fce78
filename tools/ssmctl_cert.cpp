// `ssmctl cert lookup|import` and `ssmctl cache flush` (see ssmctl_cert.h). The sources are
// built exactly as the daemon builds them (milter::Certificates), so a lookup here uses and
// fills the same LMDB cache; imported files are untrusted input, parsed by GnuTLS with size
// limits, and every certificate is still checked when it is chosen.
#include "tools/ssmctl_cert.h"

#include <ctime>
#include <exception>
#include <map>
#include <optional>

#include "base/bounded_file.h"
#include "base/error.h"
#include "base/log.h"
#include "pki/pkcs7_bundle.h"
#include "directory/certificate_choice.h"
#include "directory/harvest_store.h"
#include "directory/lookup_cache.h"
#include "milter/certificates.h"
#include "pki/certificate.h"
#include "tools/ssmctl_exit.h"

namespace ssm::tools {

namespace {

// ssmctl's key=value output quotes certificate names, addresses and errors as log lines do
// (log::quote).

// The end of a certificate's line: usable=yes, or usable=no with every reason.
void write_usable(std::ostream& out, const std::vector<std::string>& problems)
{
    if (problems.empty()) {
        out << " usable=yes\n";
        return;
    }
    std::string why;
    for (const auto& p : problems) why += (why.empty() ? "" : "; ") + p;
    out << " usable=no reason=" << log::quote(why) << "\n";
}

std::string describe(const pki::CertificateFacts& f)
{
    return "subject=" + log::quote(f.subject) + " serial=" + to_hex(f.serial) +
           " not_after=" + pki::format_time(f.not_after);
}

// The certificates of a PKCS#7 SignedData (certs-only or not; signatures are not looked at).
std::optional<std::vector<pki::Certificate>> bundle_certificates(ByteView data, pki::BundleEncoding encoding)
{
    const auto ders = pki::pkcs7_certificates(data, encoding);
    if (!ders || ders->empty()) return std::nullopt;
    std::vector<pki::Certificate> out;
    for (const auto& der : *ders) {
        auto cert = pki::Certificate::parse_der(der);
        if (!cert) return std::nullopt;
        out.push_back(std::move(*cert));
    }
    return out;
}

// PEM certificates, PEM PKCS#7, one DER certificate or DER PKCS#7, in that order of tries.
std::optional<std::vector<pki::Certificate>> read_certificates(const std::string& text)
{
    if (text.find("-----BEGIN CERTIFICATE-----") != std::string::npos) return pki::Certificate::from_pem(text);
    if (text.find("-----BEGIN PKCS7-----") != std::string::npos)
        return bundle_certificates(as_bytes(text), pki::BundleEncoding::Pem);
    if (auto one = pki::Certificate::parse_der(as_bytes(text))) {
        std::vector<pki::Certificate> v;
        v.push_back(std::move(*one));
        return v;
    }
    return bundle_certificates(as_bytes(text), pki::BundleEncoding::Der);
}

std::shared_ptr<const milter::Certificates> load_sources(const milter::Config& config, std::ostream& err)
{
    try {
        return milter::Certificates::load(config);
    } catch (const std::exception& e) {
        err << e.what() << "\n";
        return nullptr;
    }
}

// One source's answer as its lookup gave it: the candidates, or what it threw. The daemon's
// decision is then made over these answers (not by asking every source a second time).
struct SourceAnswer {
    directory::LookupAnswer answer;
    std::exception_ptr error;
};

// One source's part of `cert lookup`: prints what the source answered and returns it.
SourceAnswer explain_source(directory::CertificateSource& source, const EmailAddress& address,
                            const pki::TrustStore& trust, bool trust_dane_ee, std::time_t now, std::ostream& out)
{
    SourceAnswer answer;
    out << "source=" << log::quote(source.name());
    auto* cached = dynamic_cast<directory::CachingSource*>(&source);
    if (cached && !cached->serves(address)) {
        out << " asked=no reason=\"domain not served\"\n";
        return answer;
    }
    const auto before = cached ? cached->peek(address) : std::nullopt;
    try {
        answer.answer = source.answer(address);
    } catch (const Error& e) {
        answer.error = std::current_exception();
        out << " unavailable=" << log::quote(e.what());
        if (before) out << " cached_age=" << (now - before->fetched_at) << "s";
        out << "\n";
        return answer;
    }
    const auto& candidates = answer.answer.candidates;
    std::optional<std::time_t> age;
    if (cached && !answer.answer.complete()) {
        out << " cache=not-stored";  // a cut answer is the source's, fresh, and never stored
    } else if (cached) {
        const auto after = cached->peek(address);
        // The same record before and after: the answer came from the cache; an expired one
        // stood in for a source that could not be asked (stale-if-error).
        const bool same = before && after && before->fetched_at == after->fetched_at;
        out << (!same ? " cache=miss" : cached->is_fresh(*after) ? " cache=hit" : " cache=stale");
        if (after) age = now - after->fetched_at;
    }
    out << " candidates=" << candidates.size();
    if (age) out << " age=" << *age << "s";
    if (!answer.answer.complete()) out << " cut=" << log::quote(answer.answer.cut);
    out << "\n";
    const std::string key = directory::address_key(address);
    const std::vector<pki::Certificate> intermediates = directory::chain_certificates(candidates);
    for (const auto& c : candidates) {
        const pki::CertificateFacts f = pki::facts(c.cert);
        out << "  candidate " << describe(f) << " source=" << log::quote(c.source);
        if (age) out << " age=" << *age << "s";
        if (c.harvested_at) out << " stored=" << pki::format_time(c.harvested_at);
        if (c.dane_ee) out << " dane_ee=yes";
        if (f.is_ca && !f.has_address(key)) {  // as choose_encryption_certificate uses it
            out << " intermediate=yes\n";
            continue;
        }
        const auto problems = directory::candidate_problems(c, key, trust, now, trust_dane_ee, intermediates);
        write_usable(out, problems);
    }
    return answer;
}

}  // namespace

int cert_lookup(const milter::Config& config, const std::string& address_text, std::ostream& out, std::ostream& err)
{
    const auto address = EmailAddress::parse(address_text);
    if (!address) {
        err << "ssmctl: '" << address_text << "' is not an e-mail address\n";
        return kExitUsage;
    }
    const auto certificates = load_sources(config, err);
    if (!certificates) return kExitConfig;
    const std::time_t now = std::time(nullptr);
    const bool trust_dane_ee = config.directory.smimea && config.directory.smimea->trust_dane_ee;
    // Every source explained for `who`, then the daemon's own decision over those answers.
    const auto decide = [&](const EmailAddress& who) {
        if (who.str() != address->str()) out << "mailbox=" << log::quote(who.str()) << "\n";
        std::map<const directory::CertificateSource*, SourceAnswer> answers;
        for (const auto& source : certificates->sources())
            answers[source.get()] = explain_source(*source, who, certificates->trust(), trust_dane_ee, now, out);
        const auto answered = [&](directory::CertificateSource& source) {
            const auto it = answers.find(&source);
            if (it == answers.end()) return source.answer(who);
            if (it->second.error) std::rethrow_exception(it->second.error);
            return it->second.answer;
        };
        return certificates->find(who, now, answered);
    };
    try {
        // As the milter decides for a recipient: none for the address as written, then its
        // mailbox's, the address without its extension (cut by its domain's delimiters: [policy]
        // recipient_delimiter for ours, the partner's own or partner_recipient_delimiter).
        const directory::Choice choice = certificates->find_for_mailbox(*address, decide);
        if (choice.chosen) {
            out << "chosen " << describe(choice.chosen->facts) << " source=" << log::quote(choice.chosen->source);
            if (choice.found_under) out << " found_under=" << log::quote(choice.found_under->str());
            out << "\n";
            return kExitFound;
        }
        std::string why;
        for (const auto& r : choice.rejected_reasons) why += (why.empty() ? "" : "; ") + r;
        out << "chosen none reason=" << log::quote(why.empty() ? "no source holds a certificate for the address" : why)
            << "\n";
        return kExitNone;
    } catch (const Error& e) {
        out << "chosen none unavailable=" << log::quote(e.what()) << "\n";
        return kExitUnavailable;
    }
}

int cert_import(const milter::Config& config, const std::string& file, std::ostream& out, std::ostream& err)
{
    // An input of this command, not a file of the daemon: a pipe too (/dev/stdin, <(...)).
    std::string why;
    const auto text = read_bounded_input(file, pki::max_pem_file_size, why);
    if (!text) {  // ssmctl(8): 64, with the reason
        err << "ssmctl: cannot read " << file << ": " << why << "\n";
        return kExitUsage;
    }
    auto certs = read_certificates(*text);
    if (!certs || certs->empty()) {
        err << "ssmctl: " << file << " holds no certificate (PEM or DER, or PKCS#7 certs-only)\n";
        return kExitNone;
    }

    auto harvest = milter::open_harvest_store(config);
    if (!harvest) {
        err << "ssmctl: cannot open the certificate store in " << config.directory.cache << "\n";
        return kExitUnavailable;
    }
    const auto certificates = load_sources(config, err);
    if (!certificates) return kExitConfig;
    directory::HarvestStore imported(harvest->environment(), directory::HarvestStore::Kind::Imported);
    const std::time_t now = std::time(nullptr);
    std::size_t stored = 0;
    // The bundle's CA certificates: kept as chain material (PRODUCT §7), so that the imported
    // end entities' paths are built from them as from a directory's bundle.
    std::vector<pki::Certificate> chain;
    std::vector<Bytes> chain_der;
    for (const auto& cert : *certs)
        if (pki::facts(cert).is_ca) {
            if (auto copy = pki::Certificate::parse_der(cert.der())) chain.push_back(std::move(*copy));
            chain_der.push_back(cert.der());
        }
    try {
        if (!chain_der.empty()) imported.store_intermediates(chain_der);
        for (const auto& cert : *certs) {
            const pki::CertificateFacts f = pki::facts(cert);
            if (f.email_addresses.empty()) {
                out << "skipped " << describe(f) << " reason=\"no e-mail address\"\n";
                continue;
            }
            for (const auto& a : f.email_addresses) {
                const auto address = EmailAddress::parse(a);
                if (!address || !imported.store(*address, cert.der(), std::nullopt, now)) {
                    out << "skipped " << describe(f) << " address=" << log::quote(a) << " reason=\"not storable\"\n";
                    continue;
                }
                ++stored;
                out << "imported address=" << log::quote(a) << " " << describe(f);
                const auto problems = directory::encryption_problems(cert, f, a, certificates->trust(), now, chain);
                // Stored anyway when not usable: it may become usable (a CA added, notBefore reached).
                write_usable(out, problems);
            }
        }
    } catch (const Error& e) {
        err << "ssmctl: " << e.what() << "\n";
        return kExitUnavailable;
    }
    return stored ? kExitFound : kExitNone;
}

int cache_flush(const milter::Config& config, const std::string* address_text, std::ostream& out, std::ostream& err)
{
    std::optional<EmailAddress> address;
    if (address_text) {
        address = EmailAddress::parse(*address_text);
        if (!address) {
            err << "ssmctl: '" << *address_text << "' is not an e-mail address\n";
            return kExitUsage;
        }
    }
    try {
        auto env = directory::lmdb::Environment::open(config.directory.cache);
        if (address) {
            const bool removed = directory::flush_cache_entry(*env, *address);
            out << "flushed address=" << log::quote(directory::address_key(*address)) << " removed=" << (removed ? 1 : 0)
                << "\n";
        } else {
            out << "flushed removed=" << directory::flush_cache(*env) << "\n";
        }
    } catch (const Error& e) {
        err << "ssmctl: " << e.what() << "\n";
        return kExitUnavailable;
    }
    return 0;
}

int cert_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err)
{
    if (args.size() == 2 && args[0] == "lookup") return cert_lookup(config, args[1], out, err);
    if (args.size() == 2 && args[0] == "import") return cert_import(config, args[1], out, err);
    err << "usage: ssmctl cert lookup ADDR\n"
           "       ssmctl cert import FILE\n";
    return kExitUsage;
}

int cache_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err)
{
    if (args.size() == 1 && args[0] == "flush") return cache_flush(config, nullptr, out, err);
    if (args.size() == 2 && args[0] == "flush") return cache_flush(config, &args[1], out, err);
    err << "usage: ssmctl cache flush [ADDR]\n";
    return kExitUsage;
}

}  // namespace ssm::tools
