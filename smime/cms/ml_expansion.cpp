// mlExpansionHistory codec (see ml_expansion.h). Input is untrusted: libtasn1 parses it
// within a size bound, entry counts and names are checked against RFC 2634's bounds before
// anything is copied out.
#include "smime/cms/ml_expansion.h"

#include <cstdio>

#include "base/error.h"
#include "smime/cms/asn1.h"
#include "smime/cms/general_names.h"

namespace ssm::smime::cms {
namespace {

[[noreturn]] void malformed_history(const std::string& what)
{
    throw Error(Failure::MalformedMessage, "mlExpansionHistory: " + what);
}

std::string generalized_time(std::time_t t)
{
    std::tm tm{};
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        malformed_history("expansion time out of range");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

// RFC 5280 §4.1.2.5.2 form (YYYYMMDDHHMMSSZ); fractions are tolerated and dropped, since
// other MLAs' entries are only compared and shown, never trusted for ordering.
std::time_t parse_generalized_time(const std::string& s)
{
    if (s.size() < 15 || s.back() != 'Z') malformed_history("expansionTime is not YYYYMMDDHHMMSSZ");
    for (std::size_t i = 0; i < 14; ++i)
        if (s[i] < '0' || s[i] > '9') malformed_history("expansionTime is not YYYYMMDDHHMMSSZ");
    const auto num = [&](std::size_t at, std::size_t len) {
        int v = 0;
        for (std::size_t i = 0; i < len; ++i) v = v * 10 + (s[at + i] - '0');
        return v;
    };
    std::tm tm{};
    tm.tm_year = num(0, 4) - 1900;
    tm.tm_mon = num(4, 2) - 1;
    tm.tm_mday = num(6, 2);
    tm.tm_hour = num(8, 2);
    tm.tm_min = num(10, 2);
    tm.tm_sec = num(12, 2);
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        malformed_history("expansionTime out of range");
    return timegm(&tm);
}

void check(const MlData& d)
{
    if (!d.identifier.issuer_serial && d.identifier.subject_key_id.empty())
        malformed_history("an entry without a mailListIdentifier");
    const bool named = d.policy == MlReceiptPolicyKind::InsteadOf || d.policy == MlReceiptPolicyKind::InAdditionTo;
    if (named ? d.names.empty() || d.names.size() > kMaxMlReceiptNames : !d.names.empty())
        malformed_history("insteadOf/inAdditionTo need 1 to 16 addresses, the other policies none");
}

}  // namespace

Bytes encode_ml_expansion_history(const MlExpansionHistory& history)
{
    if (history.empty() || history.size() > kMaxMlExpansionHistory)
        malformed_history("must hold 1 to " + std::to_string(kMaxMlExpansionHistory) + " entries");
    auto n = Asn1Node::create("MLExpansionHistory");
    for (const auto& d : history) {
        check(d);
        n.append("");
        const std::string e = "?LAST";
        if (d.identifier.issuer_serial) {
            n.write_text(e + ".mailListIdentifier", "issuerAndSerialNumber");
            write_issuer_serial(n, e + ".mailListIdentifier.issuerAndSerialNumber", *d.identifier.issuer_serial);
        } else {
            n.write_text(e + ".mailListIdentifier", "subjectKeyIdentifier");
            n.write_bytes(e + ".mailListIdentifier.subjectKeyIdentifier", d.identifier.subject_key_id);
        }
        n.write_text(e + ".expansionTime", generalized_time(d.expansion_time));
        const std::string p = e + ".mlReceiptPolicy";
        switch (d.policy) {
        case MlReceiptPolicyKind::Absent: n.remove(p); break;
        case MlReceiptPolicyKind::None:
            n.write_text(p, "none");  // NULL: selecting the alternative is the whole value
            break;
        case MlReceiptPolicyKind::InsteadOf:
        case MlReceiptPolicyKind::InAdditionTo: {
            const std::string alt = d.policy == MlReceiptPolicyKind::InsteadOf ? "insteadOf" : "inAdditionTo";
            n.write_text(p, alt);
            for (const auto& a : d.names) {
                check_rfc822_name(a, "mlReceiptPolicy");
                write_general_names(n, p + "." + alt, a);
            }
            break;
        }
        }
    }
    return n.encode();
}

MlExpansionHistory decode_ml_expansion_history(ByteView der)
{
    if (der.size() > kMaxMlHistoryDer) malformed_history("over " + std::to_string(kMaxMlHistoryDer) + " octets");
    const auto n = Asn1Node::decode("MLExpansionHistory", der);
    const int count = n.count("");
    if (count <= 0) malformed_history("no entries");
    if (std::size_t(count) > kMaxMlExpansionHistory)
        malformed_history("more than " + std::to_string(kMaxMlExpansionHistory) + " entries");
    MlExpansionHistory out;
    for (int i = 1; i <= count; ++i) {
        const std::string e = "?" + std::to_string(i);
        MlData d;
        const std::string id = n.read_text(e + ".mailListIdentifier");
        if (id == "issuerAndSerialNumber") {
            d.identifier.issuer_serial = read_issuer_serial(n, e + ".mailListIdentifier.issuerAndSerialNumber");
            // An INTEGER has at least one content octet (X.690 §8.3.1); libtasn1 reads an empty one.
            if (d.identifier.issuer_serial->serial.empty()) malformed_history("empty serial number");
        } else if (id == "subjectKeyIdentifier")
            d.identifier.subject_key_id = n.read_bytes(e + ".mailListIdentifier.subjectKeyIdentifier");
        else
            malformed_history("unknown mailListIdentifier form");
        d.expansion_time = parse_generalized_time(n.read_text(e + ".expansionTime"));
        const std::string p = e + ".mlReceiptPolicy";
        if (n.has(p)) {
            const std::string alt = n.read_text(p);
            if (alt == "none") {
                d.policy = MlReceiptPolicyKind::None;
            } else if (alt == "insteadOf" || alt == "inAdditionTo") {
                d.policy = alt == "insteadOf" ? MlReceiptPolicyKind::InsteadOf : MlReceiptPolicyKind::InAdditionTo;
                d.names = read_general_names(n, p + "." + alt, kMaxMlReceiptNames, "mlReceiptPolicy", d.other_names);
                if (d.names.empty() && d.other_names == 0) malformed_history("an empty " + alt);
            } else {
                malformed_history("unknown mlReceiptPolicy");
            }
        }
        out.push_back(std::move(d));
    }
    return out;
}

bool identifies(const MlIdentifier& id, ByteView cert_der)
{
    if (id.issuer_serial) return *id.issuer_serial == issuer_serial_of(cert_der);
    const Bytes ski = subject_key_id_of(cert_der);
    return !ski.empty() && ski == id.subject_key_id;
}

MlIdentifier ml_identifier_of(ByteView cert_der)
{
    MlIdentifier id;
    id.issuer_serial = issuer_serial_of(cert_der);
    return id;
}

std::string describe(const MlIdentifier& id)
{
    static const char* hex = "0123456789abcdef";
    const Bytes& b = id.issuer_serial ? id.issuer_serial->serial : id.subject_key_id;
    std::string s = id.issuer_serial ? "serial:" : "ski:";
    for (const auto c : b) {
        s += hex[c >> 4];
        s += hex[c & 15];
    }
    return s;
}

}  // namespace ssm::smime::cms
