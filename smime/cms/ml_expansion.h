// ESS mlExpansionHistory (RFC 2634 §4.3): the signed attribute a mail-list agent puts in its
// outer signature, one MLData per expansion (list identifier, time, receipt policy). The
// decoder takes untrusted DER from a peer's signed attributes: malformed or oversized input
// (more than 64 entries included) is ssm::Error(MalformedMessage), never a crash.
#pragma once
#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "smime/cms/certificate_id.h"

namespace ssm::smime::cms {

// RFC 2634 ub-ml-expansion-history: an MLA refuses a message whose history already holds
// this many entries (it could not add its own).
inline constexpr std::size_t kMaxMlExpansionHistory = 64;
inline constexpr std::size_t kMaxMlReceiptNames = 16;  // ub-receiptsTo
inline constexpr std::size_t kMaxMlHistoryDer = 64 * 1024;

// EntityIdentifier: the list's certificate, by issuer and serial or by subject key id.
struct MlIdentifier {
    std::optional<IssuerSerial> issuer_serial;
    Bytes subject_key_id;  // used when issuer_serial is not set
    bool operator==(const MlIdentifier&) const = default;
};

// MLReceiptPolicy: where receipts for the expanded message go.
enum class MlReceiptPolicyKind {
    Absent,        // no mlReceiptPolicy: the originator's receiptsTo stands
    None,          // none: no receipts at all
    InsteadOf,     // receipts go to `names` instead of the originator's receiptsTo
    InAdditionTo,  // receipts go to `names` and to the originator's receiptsTo
};

struct MlData {
    MlIdentifier identifier;
    std::time_t expansion_time = 0;  // whole seconds, UTC
    MlReceiptPolicyKind policy = MlReceiptPolicyKind::Absent;
    std::vector<std::string> names;  // InsteadOf / InAdditionTo: one rfc822Name each
    std::size_t other_names = 0;     // decoded GeneralNames without an rfc822Name
    bool operator==(const MlData&) const = default;
};

using MlExpansionHistory = std::vector<MlData>;

// DER of the attribute value (SEQUENCE OF MLData). Refuses (MalformedMessage) an empty or
// over-long history, InsteadOf/InAdditionTo without names (or names with another kind), an
// identifier with neither form, and addresses that are not printable ASCII.
Bytes encode_ml_expansion_history(const MlExpansionHistory& history);
MlExpansionHistory decode_ml_expansion_history(ByteView der);

// Whether `entry` names the certificate `cert_der` (issuer and serial, or its subject key
// identifier when the entry uses that form).
bool identifies(const MlIdentifier& id, ByteView cert_der);
// The identifier of a list certificate (issuer and serial).
MlIdentifier ml_identifier_of(ByteView cert_der);

// "issuer-serial:HEXSERIAL" or "ski:HEX", for logs.
std::string describe(const MlIdentifier& id);

}  // namespace ssm::smime::cms
