// libFuzzer target for inbound CompressedData (smime/cms/decompress.h): the BER walk around the
// content and zlib's inflation of hostile input, with a 256 KiB output cap. Each input is read
// twice, whole and one octet per read: both must end the same way (the same output, or a
// failure of the same class). Allowed failures: MalformedMessage, MessageTooLarge. Anything
// else — a crash, a leak, another class, a count that differs from the output — is a finding.
// Seeds: tests/fuzz/corpus/fuzz_decompress (made by tests/fuzz/make-seeds.sh).
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "base/error.h"
#include "smime/cms/decompress.h"
#include "tests/fuzz/one_byte_source.h"

using namespace ssm;

namespace {

struct Result {
    std::optional<Failure> failure;
    Bytes output;
};

Result run(ByteSource& src)
{
    Result r;
    MemorySink sink;
    try {
        const std::uint64_t n = smime::cms::decompress_content(src, sink, 256 * 1024);
        if (n != sink.data().size()) std::abort();
        r.output = sink.data();
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage && e.failure() != Failure::MessageTooLarge) std::abort();
        r.failure = e.failure();
    }
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    MemorySource whole(ByteView(data, size));
    fuzz::OneByteSource bytes(ByteView(data, size));
    const Result a = run(whole), b = run(bytes);
    if (a.failure != b.failure || a.output != b.output) std::abort();
    return 0;
}
