// Header-edit application for offline output; the same index rules as smfi_chgheader.
#include "milter/message_writer.h"

#include <algorithm>
#include <cstdint>

#include "base/ascii.h"

namespace ssm::milter {

void write_rewritten_message(const std::vector<smime::mime::HeaderField>& original,
                             const smime::HeaderEdit& edit, ByteSource& body, ByteSink& out,
                             const std::vector<std::string>* original_text)
{
    for (const auto& h : edit.prepend) smime::mime::write_header_field(out, h);
    for (std::size_t i = 0; i < original.size(); ++i) {
        const auto& h = original[i];
        int index = 1;
        for (std::size_t j = 0; j < i; ++j)
            if (smime::mime::iequals(original[j].name, h.name)) ++index;
        bool removed = false;
        for (const auto& r : edit.remove)
            if (r.index == index && smime::mime::iequals(r.name, h.name)) removed = true;
        const smime::HeaderEdit::Change* changed = nullptr;
        for (const auto& c : edit.change)
            if (c.index == index && smime::mime::iequals(c.name, h.name)) changed = &c;
        if (changed)
            smime::mime::write_header_field(out, {h.name, changed->value});
        else if (!removed && original_text && i < original_text->size())
            out.write(std::string_view((*original_text)[i]));
        else if (!removed)
            smime::mime::write_header_field(out, h);
    }
    for (const auto& h : edit.add) smime::mime::write_header_field(out, h);
    out.write(std::string_view("\r\n"));
    body.rewind();
    copy_stream(body, out);
}

std::string milter_header_value(const std::string& v)
{
    std::string out;
    std::size_t i = 0;
    while (i < v.size()) {
        if (v[i] == '\r' || v[i] == '\n') {
            while (i < v.size() && is_folding_space(v[i])) ++i;
            if (i < v.size() && !out.empty()) out += "\n\t";
            continue;
        }
        out.push_back(v[i++]);
    }
    return out;
}

bool send_body_chunks(ByteSource& body, std::size_t max_chunk, const std::function<bool(ByteView)>& send)
{
    // No larger than the body: a signed 4 KB message then zeroes 8 KB, not 64 KiB.
    const std::size_t chunk = static_cast<std::size_t>(std::clamp<std::uint64_t>(body.size(), 1, max_chunk));
    std::vector<std::uint8_t> buf(chunk);
    bool sent = false;
    for (;;) {
        const std::size_t n = body.read(buf);
        if (n == 0) break;
        if (!send(ByteView(buf.data(), n))) return false;
        sent = true;
    }
    // libmilter sends a zero-length replacement as one empty SMFIR_REPLBODY, which makes
    // Sendmail and Postfix truncate the body.
    return sent || send(ByteView());
}

}  // namespace ssm::milter
