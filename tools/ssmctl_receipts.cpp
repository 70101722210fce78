// `ssmctl receipts` (see ssmctl_receipts.h). Store texts (Message-ID, addresses, details)
// came from messages: they are sanitised before printing.
#include "tools/ssmctl_receipts.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "base/error.h"
#include "base/joined.h"
#include "base/log.h"
#include "base/utc_time.h"
#include "directory/lmdb.h"
#include "directory/receipt_store.h"
#include "tools/ssmctl_exit.h"

namespace ssm::tools {
namespace {


bool answered(const directory::ReceiptRequestRecord& r)
{
    return std::any_of(r.received.begin(), r.received.end(), [](const auto& x) { return x.valid; });
}

void print(const directory::ReceiptRequestRecord& r, std::ostream& out)
{
    const auto valid = std::count_if(r.received.begin(), r.received.end(), [](const auto& x) { return x.valid; });
    out << "request id=" << directory::identifier_hex(r.content_identifier) << " requested=" << iso8601_utc(r.requested_at)
        << " message-id=" << log::sanitise(r.message_id) << " from=" << log::sanitise(r.sender)
        << " to=" << log::sanitise(joined(r.recipients, "-"), 2048) << " receipts=" << r.received.size()
        << " valid=" << valid << "\n";
    for (const auto& x : r.received) {
        out << "  receipt from=" << log::sanitise(x.from) << " received=" << iso8601_utc(x.received_at)
            << " result=" << (x.valid ? "valid" : "mismatch");
        if (!x.valid) out << " detail=" << log::sanitise(x.detail);
        out << "\n";
    }
}

}  // namespace

int receipts_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err)
{
    const std::string sub = args.empty() ? "list" : args[0];
    const bool list = sub == "list" || sub == "--pending";
    bool pending = sub == "--pending";
    if (list) {
        for (std::size_t i = sub == "list" ? 1 : 0; i < args.size(); ++i) {
            if (args[i] != "--pending") {
                err << "usage: ssmctl receipts [list [--pending] | show ID | expire DAYS]\n";
                return kExitUsage;
            }
            pending = true;
        }
    }
    std::optional<Bytes> id;
    long days = 0;
    if (sub == "show") {
        if (args.size() != 2 || !(id = directory::identifier_from_hex(args[1]))) {
            err << "usage: ssmctl receipts show ID (the request's identifier in hex)\n";
            return kExitUsage;
        }
    } else if (sub == "expire") {
        char* end = nullptr;
        if (args.size() == 2) days = std::strtol(args[1].c_str(), &end, 10);
        if (args.size() != 2 || !end || *end || days < 0 || days > 36500) {
            err << "usage: ssmctl receipts expire DAYS\n";
            return kExitUsage;
        }
    } else if (!list) {
        err << "usage: ssmctl receipts [list [--pending] | show ID | expire DAYS]\n";
        return kExitUsage;
    }
    try {
        directory::ReceiptStore store(directory::lmdb::Environment::open(config.directory.cache));
        if (sub == "show") {
            const auto r = id->size() <= smime::cms::kMaxContentIdentifier ? store.find(*id) : std::nullopt;
            if (!r) {
                out << "no request id=" << args[1] << "\n";
                return 1;
            }
            print(*r, out);
        } else if (sub == "expire") {
            out << "expired removed=" << store.expire(std::time(nullptr) - days * 86400) << "\n";
        } else {
            for (const auto& r : store.list())
                if (!pending || !answered(r)) print(r, out);
        }
    } catch (const Error& e) {
        err << "ssmctl: " << e.what() << "\n";
        return kExitUnavailable;
    }
    return 0;
}

}  // namespace ssm::tools
