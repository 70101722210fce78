// libFuzzer target for smime/mime/header.h: parse_header_block on hostile bytes (inbound, the
// decrypted entity and the inner header block of a signed message are parsed with it; anyone
// can encrypt to us) and write_header_field on what it returns. Findings beyond crashes and
// leaks: a result that depends on how the input is chunked, a body offset past the input, and
// any value that, written back, starts a header field of its own or ends the block (header
// injection): writing the fields and parsing them again must give the same field names.
// Every field value is also read as an RFC 5322 address list (base/mailbox_list.h, for From):
// each address found must read back as itself, alone and in angle brackets. And every value
// is read as RFC 2047 text (smime/mime/encoded_words.h, for Subject triggers): its decoded
// text, encoded again, must decode to the same text.
// Build: tests/fuzz/build.sh OUTDIR fuzz_mime_header (see tests/fuzz/README.md).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "base/mailbox_list.h"
#include "base/stream.h"
#include "smime/mime/content_type.h"
#include "smime/mime/encoded_words.h"
#include "smime/mime/header.h"
#include "tests/fuzz/one_byte_source.h"

namespace {

using namespace ssm;
using namespace ssm::smime::mime;
using ssm::fuzz::OneByteSource;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const ByteView in(data, size);
    Limits limits;
    limits.max_header_field = 2048;
    limits.max_header_block = 16 * 1024;
    HeaderBlock a;
    try {
        MemorySource src(in);
        a = parse_header_block(src, limits);
    } catch (const Error&) {
        try {
            OneByteSource src(in);
            (void)parse_header_block(src, limits);
        } catch (const Error&) {
            return 0;
        }
        std::abort();  // only one of the two readings threw
    }
    OneByteSource one(in);
    const HeaderBlock b = parse_header_block(one, limits);
    if (b.body_offset != a.body_offset || b.fields.size() != a.fields.size()) std::abort();
    for (std::size_t i = 0; i < a.fields.size(); ++i)
        if (a.fields[i].name != b.fields[i].name || a.fields[i].value != b.fields[i].value)
            std::abort();
    if (a.body_offset > size) std::abort();

    MemorySink out;
    for (const auto& f : a.fields) {
        if (f.name.empty()) std::abort();
        write_header_field(out, f);
        if (iequals(f.name, "Content-Type")) (void)parse_content_type(f.value);
        const std::string text = decode_encoded_words(f.value).text;
        if (decode_encoded_words(encode_unstructured(text)).text != text) std::abort();
        for (const auto& address : parse_mailbox_list(f.value).addresses) {
            const std::string text = address.str();
            const auto bare = first_mailbox(text), angled = first_mailbox("<" + text + ">");
            if (!bare || !angled || bare->str() != text || angled->str() != text) std::abort();
        }
    }
    out.write(as_bytes(std::string_view("\r\nbody\r\n")));
    Limits loose;  // our own output may be longer than the input limit (folds get a space)
    loose.max_header_field = 64 * 1024;
    loose.max_header_block = 1024 * 1024;
    MemorySource again(out.data());
    const HeaderBlock c = parse_header_block(again, loose);
    if (c.fields.size() != a.fields.size()) std::abort();  // a value made or hid a field
    for (std::size_t i = 0; i < a.fields.size(); ++i)
        if (c.fields[i].name != a.fields[i].name) std::abort();
    if (c.body_offset + 6 != out.data().size()) std::abort();  // the block ended elsewhere
    return 0;
}
