// libFuzzer target for smime/mime/: the input's first line is a top-level Content-Type,
// the second a Content-Transfer-Encoding, the rest the body. Checks that scanning and
// canonicalisation either finish or throw ssm::Error, that the output never holds a bare
// CR or LF, that it is the same when the body is read in 1-byte chunks, and that its size is
// what canonical_entity_size said.
// Build: tests/fuzz/build.sh OUTDIR fuzz_mime (see tests/fuzz/README.md).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/stream.h"
#include "smime/mime/canonical.h"
#include "tests/fuzz/one_byte_source.h"

namespace {

using namespace ssm;
using namespace ssm::smime::mime;
using ssm::fuzz::OneByteSource;

std::string_view take_line(std::string_view& s)
{
    const auto nl = s.find('\n');
    const std::string_view line = s.substr(0, nl);
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<HeaderField> top;
    top.push_back({"Content-Type", std::string(take_line(in))});
    top.push_back({"Content-Transfer-Encoding", std::string(take_line(in))});
    Limits limits;
    limits.max_header_field = 4096;
    limits.max_depth = 8;
    limits.max_parts = 200;

    std::string first;
    bool threw = false;
    try {
        MemorySource body(as_bytes(in));
        MemorySink out;
        write_canonical_entity(top, body, out, limits);
        first = out.str();
    } catch (const Error&) {
        threw = true;
    }
    try {
        OneByteSource body(as_bytes(in));
        MemorySink out;
        write_canonical_entity(top, body, out, limits);
        if (threw || out.str() != first) std::abort();  // chunking changed the result
    } catch (const Error&) {
        if (!threw) std::abort();
    }
    if (!threw) {
        // The size the CMS encoder is promised up front is what the writer writes.
        MemorySource body(as_bytes(in));
        const ScanResult scan = scan_body(top, body, limits);
        if (canonical_entity_size(top, scan, body) != first.size()) std::abort();
    }
    for (std::size_t i = 0; i < first.size(); ++i) {
        if (first[i] == '\r' && (i + 1 == first.size() || first[i + 1] != '\n')) std::abort();
        if (first[i] == '\n' && (i == 0 || first[i - 1] != '\r')) std::abort();
    }
    return 0;
}
