// Header-edit application for offline output; the same index rules as smfi_chgheader.
#include "milter/message_writer.h"

namespace ssm::milter {

namespace {

void write_field(ByteSink& out, const smime::mime::HeaderField& h)
{
    out.write(h.name);
    out.write(std::string_view(": "));
    out.write(h.value);
    out.write(std::string_view("\r\n"));
}

}  // namespace

void write_rewritten_message(const std::vector<smime::mime::HeaderField>& original,
                             const smime::HeaderEdit& edit, ByteSource& body, ByteSink& out)
{
    for (std::size_t i = 0; i < original.size(); ++i) {
        const auto& h = original[i];
        int index = 1;
        for (std::size_t j = 0; j < i; ++j)
            if (smime::mime::iequals(original[j].name, h.name)) ++index;
        bool removed = false;
        for (const auto& r : edit.remove)
            if (r.index == index && smime::mime::iequals(r.name, h.name)) removed = true;
        if (!removed) write_field(out, h);
    }
    for (const auto& h : edit.add) write_field(out, h);
    out.write(std::string_view("\r\n"));
    body.rewind();
    copy_stream(body, out);
}

}  // namespace ssm::milter
