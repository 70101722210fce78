// The SIO-Label header field (RFC 7444 §2): a display marking with its colours and/or a
// security label (type ":ess" ESSSecurityLabel, ":x411" X.411 SecurityLabel, ":xml" XML
// label), as MIME parameters with RFC 2231 continuations and charset encoding. The value comes
// from a MUA or a peer's mail and is untrusted: parsing is strict (unknown parameters or label
// types, duplicates, bad quoting, bad base64, a label that does not decode: ssm::Error
// (MalformedMessage)), because a label decides who may read the message.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "smime/cms/security_label.h"

namespace ssm::smime::mime {

// Bounds (ours; RFC 7444 sets none): the whole field value, a display marking, the decoded
// label, and the RFC 2231 sections of one parameter.
inline constexpr std::size_t kMaxSioLabelField = 128 * 1024;
inline constexpr std::size_t kMaxSioMarking = 1024;        // octets of UTF-8
inline constexpr std::size_t kMaxSioLabelOctets = cms::kMaxLabelDer;
inline constexpr int kMaxSioSections = 4096;

enum class SioLabelType { Ess, X411, Xml };
// ":ess", ":x411", ":xml": the parameter values RFC 7444 defines.
std::string_view sio_label_type_name(SioLabelType t);

struct SioLabel {
    std::optional<std::string> marking;  // display marking, UTF-8 without control characters
    std::optional<std::string> fgcolor;  // CSS colour: a name (letters) or #rgb / #rrggbb
    std::optional<std::string> bgcolor;
    std::optional<SioLabelType> type;    // present exactly when `label` is
    Bytes label;                          // the base64-decoded label parameter (DER or XML)
    // The decoded label when type is :ess (filled by parse_sio_label; format_sio_label writes
    // `label`, and checks that this, when set, is what `label` holds).
    std::optional<cms::SecurityLabel> ess;
    bool operator==(const SioLabel&) const = default;
};

// Parses a field value as libmilter hands it over (folding kept: CRLF or LF followed by
// whitespace). Parameter names are case-insensitive; each may appear once, whole or in RFC
// 2231 sections (name*0, name*1, ... and name*=charset'lang'%XX with utf-8 or us-ascii).
// At least a marking or a label must be present; colours need a marking; type and label go
// together; :ess labels must decode as strict-DER ESSSecurityLabel.
SioLabel parse_sio_label(std::string_view value);

// The field value for `label` (without "SIO-Label:"), folded with CRLF + TAB so that no line
// exceeds 78 characters; long or non-ASCII values are split into RFC 2231 sections. The same
// rules as parse_sio_label apply (ssm::Error(MalformedMessage) otherwise), so that
// parse_sio_label(format_sio_label(x)) == x.
std::string format_sio_label(const SioLabel& label);

// A label carrying `ess` (type :ess, label = its DER) and an optional display marking.
SioLabel sio_label_for(const cms::SecurityLabel& ess, std::optional<std::string> marking = std::nullopt);

}  // namespace ssm::smime::mime
