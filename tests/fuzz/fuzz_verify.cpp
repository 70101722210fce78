// libFuzzer target for SignedData verification (smime/cms/verify.h), the end of a BER object
// (smime/cms/object_end.h, against the reader's) and the transfer
// decoders (smime/mime/decoders.h): the first byte picks the entry point; the rest is the
// hostile input (opaque ContentInfo streamed in small reads, a detached signature over fixed
// content, base64 (strict, and the body decoder that skips text after it, alone and stopped at the
// BER object's end, compared) or
// quoted-printable text). Hostile input must verify, fail per signer, or
// throw ssm::Error — never crash, leak or report a valid signer without a certificate.
// Build: tests/fuzz/build.sh OUTDIR fuzz_verify (see tests/fuzz/README.md).
// Seeds: the .p7s/.p7m files test_cms_verify makes (openssl, gpgsm, cmsutil) and the RFC
// 4134/9216 vectors.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/error.h"
#include "smime/cms/object_end.h"
#include "smime/cms/verify.h"
#include "smime/mime/decoders.h"

using namespace ssm;
using namespace ssm::smime;

namespace {

// Reads in small, uneven pieces so that the streaming reader's buffer edges get exercised.
class ChoppySource final : public ByteSource {
public:
    explicit ChoppySource(ByteView data) : m_data(data) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const std::size_t n = std::min({buf.size(), m_data.size() - m_pos, std::size_t(1 + m_pos % 13)});
        std::copy_n(m_data.begin() + std::ptrdiff_t(m_pos), n, buf.begin());
        m_pos += n;
        return n;
    }
    void rewind() override { m_pos = 0; }
    std::uint64_t size() const override { return m_data.size(); }

private:
    ByteView m_data;
    std::size_t m_pos = 0;
};

void check(const cms::VerifyResult& r)
{
    for (const auto& s : r.signers) {
        if (s.signature_valid && (s.signer_certificate_der.empty() || !s.failure.empty())) std::abort();
        if (!s.signature_valid && s.failure.empty()) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1) return 0;
    const ByteView in(data + 1, size - 1);
    try {
        switch (data[0] % 4) {
        case 0: {
            // The end smime/cms/object_end.h finds is the CMS reader's: an object the reader
            // takes whole (it refuses any octet after the ContentInfo) is never cut short, and
            // what is cut at a found end has nothing left over for the reader.
            MemorySink prefix;
            cms::BerObjectEnd object(prefix);
            object.write(in);
            object.finish();
            bool read_whole = false;
            try {
                ChoppySource src(in);
                MemorySink out;
                check(cms::verify_encapsulated(src, out));
                read_whole = true;
            } catch (const Error&) {
            }
            if (read_whole && prefix.data().size() != in.size()) std::abort();
            if (object.complete() && prefix.data().size() < in.size()) {
                try {
                    ChoppySource src(prefix.data());
                    MemorySink out;
                    check(cms::verify_encapsulated(src, out));
                } catch (const Error& e) {
                    if (std::string_view(e.what()).find("trailing bytes after ContentInfo") != std::string_view::npos)
                        std::abort();
                }
            }
            break;
        }
        case 1: {
            static const char content[] = "Content-Type: text/plain\r\n\r\nHello, verified world.\r\n";
            MemorySource src(as_bytes(content));
            check(cms::verify_detached(in, src));
            break;
        }
        case 2: {
            MemorySink out;
            bool strict_ok = false;
            try {
                mime::Base64Decoder dec(out);
                dec.write(in);
                dec.finish();
                strict_ok = true;
            } catch (const Error&) {
            }
            // The body decoder (text after the base64 skipped), fed in uneven pieces: what the
            // strict decoder reads it must read the same, with nothing left over.
            MemorySink body_out;
            mime::Base64BodyDecoder body(body_out);
            bool body_ok = false;
            try {
                for (std::size_t i = 0; i < in.size();) {
                    const std::size_t n = std::min(in.size() - i, 1 + i % 7);
                    body.write(in.subspan(i, n));
                    i += n;
                }
                body.finish();
                body_ok = true;
            } catch (const Error&) {
            }
            if (strict_ok && (!body_ok || body_out.data() != out.data() || body.trailing_text())) std::abort();
            // And the other way: what it reads whole, with nothing skipped, the strict one reads.
            if (body_ok && !body.trailing_text() && (!strict_ok || body_out.data() != out.data())) std::abort();
            if (body_out.data().size() > in.size()) std::abort();
            // As milter decode_transfer reads a pkcs7 body: stopped at the end of the BER object
            // (smime/cms/object_end.h). What it passes on is a prefix of what the strict decoder
            // reads, all of it when nothing was skipped.
            MemorySink ended_out;
            cms::BerObjectEnd object(ended_out);
            mime::Base64BodyDecoder ended(object, [&object] { return object.complete(); });
            bool ended_ok = false;
            try {
                for (std::size_t i = 0; i < in.size();) {
                    const std::size_t n = std::min(in.size() - i, 1 + i % 5);
                    ended.write(in.subspan(i, n));
                    i += n;
                }
                ended.finish();
                object.finish();
                ended_ok = true;
            } catch (const Error&) {
            }
            if (strict_ok && !ended_ok) std::abort();
            if (strict_ok) {
                const Bytes& a = ended_out.data();
                const Bytes& b = out.data();
                if (a.size() > b.size() || !std::equal(a.begin(), a.end(), b.begin())) std::abort();
                if (!ended.trailing_text() && !object.trailing_text() && a != b) std::abort();
            }
            break;
        }
        default: {
            MemorySink out;
            mime::QuotedPrintableDecoder dec(out);
            dec.write(in);
            dec.finish();
            if (out.data().size() > in.size()) std::abort();  // decoding never grows the text
            break;
        }
        }
    } catch (const Error&) {
        // Rejected input: the expected outcome for most of it.
    }
    return 0;
}
