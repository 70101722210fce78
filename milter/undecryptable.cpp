// The uniform outcome for undecryptable mail addressed to our keys (undecryptable.h).
#include "milter/undecryptable.h"

#include <unistd.h>

#include "base/ascii.h"
#include "base/log.h"
#include "milter/auth_results.h"
#include "milter/decrypted_mark.h"
#include "milter/security_labels.h"

namespace ssm::milter {

namespace {

std::string authserv_of(const Config& config)
{
    if (!config.milter.authserv_id.empty()) return config.milter.authserv_id;
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

// The removal of every field named `name` in `received` for which `remove` holds.
template <typename Pred>
void remove_fields(smime::HeaderEdit& edit, const std::vector<smime::mime::HeaderField>& received,
                   std::string_view name, Pred remove)
{
    int index = 0;
    for (const auto& f : received) {
        if (!iequals(f.name, name)) continue;
        ++index;
        if (remove(f)) edit.remove.push_back({std::string(name), index});
    }
}

}  // namespace

bool hides_undecryptable(const MessageOutcome& failed, std::optional<Failure> failure)
{
    if (failed.reply.verdict == Verdict::Accept) return false;
    return failure != Failure::HsmUnavailable;
}

MessageOutcome undecryptable_outcome(const Config& config, const std::vector<smime::mime::HeaderField>& received,
                                     MessageOutcome failed)
{
    MessageOutcome out;
    // The log keeps what would have been answered (for key-dependent causes one reply).
    // The reply may quote input: one escaped field (log::field), like every value in a detail.
    out.detail = std::move(failed.detail) + " " + log::field("hidden_reply", failed.reply.str());
    const Undecryptable mode = config.inbound.on_undecryptable;
    if (mode == Undecryptable::Reject) {
        out.reply = reply_for(Failure::CryptographicFailure, "");
        out.action = "reject";
        out.detail += " undecryptable=reject";
        return out;
    }
    // Accepted as received: what no check has seen is not decrypted, and nothing the sender
    // wrote may pass for our verdict (results claiming our authserv-id, our policy tag, our
    // marks, SIO-Label fields).
    out.reply = Reply::accept();
    const std::string authserv = authserv_of(config);
    smime::HeaderEdit edit;
    remove_fields(edit, received, "Authentication-Results",
                  [&](const smime::mime::HeaderField& f) { return claims_authserv_id(f.value, authserv); });
    remove_fields(edit, received, "X-SSM-Policy", [](const auto&) { return true; });
    mark_decrypted(edit, received, Delivered::AsReceived, authserv);
    remove_undecryptable_marks(edit, received);
    // SIO-Label fields are ours alone too (security_labels.h): a sender's would pass for a
    // label this gateway verified on a message nobody could read.
    replace_sio_labels(edit, received, {});
    edit.prepend.push_back({std::string(kUndecryptableField), authserv});
    out.header_edit = std::move(edit);
    if (mode == Undecryptable::Hold) {
        out.quarantine = kHoldReason;
        out.action = "hold";
        out.detail += " undecryptable=hold";
    } else {
        out.action = "deliver-encrypted";
        out.detail += " undecryptable=deliver";
    }
    return out;
}

void remove_undecryptable_marks(smime::HeaderEdit& edit, const std::vector<smime::mime::HeaderField>& received)
{
    remove_fields(edit, received, kUndecryptableField, [](const auto&) { return true; });
}

}  // namespace ssm::milter
