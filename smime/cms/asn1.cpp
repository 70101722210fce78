// libtasn1 glue: loads the compiled cms.asn once and wraps asn1_node. Decoding takes
// untrusted DER/BER; reads are size-checked and report the field that was wrong.
#include "smime/cms/asn1.h"

#include <climits>
#include <vector>

#include "base/error.h"

// asn1Parser writes C: `const asn1_static_node cms_asn1_tab[] = {...}` after including
// <libtasn1.h> (itself extern "C"-safe). configure.ac has no C compiler, so rather than
// compiling the generated .c we include it here, in the one C++ translation unit that uses
// it: its initialisers are valid C++ (string literals convert to const void*), and a const
// namespace-scope array has internal linkage in C++, so no symbol clashes and no extern "C"
// are needed. The build dir is on the include path (-I$(top_builddir)); local.mk makes this
// object depend on the generated file.
#include "smime/cms/cms_asn1_tab.c"

namespace ssm::smime::cms {
namespace {

constexpr const char* kModule = "SSM-CMS.";
// Our structures are small (content octets are streamed around libtasn1); anything larger
// handed to the decoder is refused before libtasn1 sees it.
constexpr std::size_t kMaxDecode = std::size_t(INT_MAX);

class Definitions {
public:
    Definitions()
    {
        char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = {};
        m_rc = asn1_array2tree(cms_asn1_tab, &m_tree, err);
        m_error = err;
    }
    ~Definitions() { asn1_delete_structure(&m_tree); }
    Definitions(const Definitions&) = delete;
    Definitions& operator=(const Definitions&) = delete;
    asn1_node_const tree() const
    {
        if (m_rc != ASN1_SUCCESS)
            throw Error(Failure::Internal, "cms.asn does not load: " + m_error);
        return m_tree;
    }

private:
    asn1_node m_tree = nullptr;
    int m_rc = ASN1_SUCCESS;
    std::string m_error;
};

[[noreturn]] void fail(Failure f, const std::string& what, const std::string& field, int rc)
{
    throw Error(f, "ASN.1 " + what + " '" + field + "': " + asn1_strerror(rc));
}

}  // namespace

asn1_node_const definitions()
{
    static const Definitions defs;  // C++ guarantees one thread-safe initialisation
    return defs.tree();
}

Asn1Node Asn1Node::create(std::string_view type)
{
    asn1_node node = nullptr;
    std::string name = kModule + std::string(type);
    int rc = asn1_create_element(definitions(), name.c_str(), &node);
    if (rc != ASN1_SUCCESS) fail(Failure::Internal, "create", name, rc);
    return Asn1Node(node);
}

Asn1Node Asn1Node::decode(std::string_view type, ByteView der, std::string_view name)
{
    const std::string what(name.empty() ? type : name);
    if (der.size() > kMaxDecode) throw Error(Failure::MessageTooLarge, "ASN.1 object too large");
    Asn1Node n = create(type);
    char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = {};
    int len = int(der.size());
    int rc = asn1_der_decoding2(&n.m_node, der.data(), &len, 0, err);
    if (rc != ASN1_SUCCESS)
        throw Error(Failure::MalformedMessage,
                    "cannot decode " + what + ": " + asn1_strerror(rc) + " " + err);
    if (std::size_t(len) != der.size())
        throw Error(Failure::MalformedMessage, "trailing bytes after " + what);
    return n;
}

Asn1Node::~Asn1Node()
{
    if (m_node) asn1_delete_structure(&m_node);
}

Asn1Node& Asn1Node::operator=(Asn1Node&& other) noexcept
{
    if (this != &other) {
        if (m_node) asn1_delete_structure(&m_node);
        m_node = std::exchange(other.m_node, nullptr);
    }
    return *this;
}

void Asn1Node::write_bytes(const std::string& field, ByteView value)
{
    if (value.size() > kMaxDecode) throw Error(Failure::Internal, "ASN.1 value too large");
    // libtasn1 reads len 0 as "NUL-terminated string": pointing at a NUL byte keeps an empty
    // value empty instead of reading from a null pointer.
    static const std::uint8_t empty = 0;
    int rc = asn1_write_value(m_node, field.c_str(), value.empty() ? &empty : value.data(),
                              int(value.size()));
    if (rc != ASN1_SUCCESS) fail(Failure::Internal, "write", field, rc);
}

void Asn1Node::write_bits(const std::string& field, ByteView octets)
{
    if (octets.size() > kMaxDecode / 8) throw Error(Failure::Internal, "BIT STRING too large");
    static const std::uint8_t empty = 0;
    int rc = asn1_write_value(m_node, field.c_str(), octets.empty() ? &empty : octets.data(),
                              int(octets.size() * 8));
    if (rc != ASN1_SUCCESS) fail(Failure::Internal, "write", field, rc);
}

void Asn1Node::write_oid(const std::string& field, std::string_view oid)
{
    write_text(field, oid);
}

void Asn1Node::write_uint(const std::string& field, unsigned long value)
{
    std::string dec = std::to_string(value);
    int rc = asn1_write_value(m_node, field.c_str(), dec.c_str(), 0);  // 0: decimal string
    if (rc != ASN1_SUCCESS) fail(Failure::Internal, "write", field, rc);
}

void Asn1Node::write_text(const std::string& field, std::string_view text)
{
    std::string s(text);
    int rc = asn1_write_value(m_node, field.c_str(), s.c_str(), int(s.size()));
    if (rc != ASN1_SUCCESS) fail(Failure::Internal, "write", field, rc);
}

void Asn1Node::append(const std::string& field)
{
    int rc = asn1_write_value(m_node, field.c_str(), "NEW", 1);
    if (rc != ASN1_SUCCESS) fail(Failure::Internal, "append to", field, rc);
}

void Asn1Node::remove(const std::string& field)
{
    int rc = asn1_write_value(m_node, field.c_str(), nullptr, 0);
    if (rc != ASN1_SUCCESS) fail(Failure::Internal, "remove", field, rc);
}

std::optional<Bytes> Asn1Node::read_optional(const std::string& field) const
{
    int len = 0;
    int rc = asn1_read_value(m_node, field.c_str(), nullptr, &len);
    if (rc == ASN1_ELEMENT_NOT_FOUND || rc == ASN1_VALUE_NOT_FOUND) return std::nullopt;
    if (rc == ASN1_SUCCESS) return Bytes{};  // present and empty
    if (rc != ASN1_MEM_ERROR || len < 0) fail(Failure::MalformedMessage, "read", field, rc);
    Bytes out(std::size_t(len) + 1);  // +1: OIDs and strings come NUL-terminated
    int size = int(out.size());
    rc = asn1_read_value(m_node, field.c_str(), out.data(), &size);
    if (rc != ASN1_SUCCESS || size < 0 || std::size_t(size) > out.size())
        fail(Failure::MalformedMessage, "read", field, rc);
    out.resize(std::size_t(size));
    return out;
}

Bytes Asn1Node::read_bytes(const std::string& field) const
{
    auto v = read_optional(field);
    if (!v) throw Error(Failure::MalformedMessage, "ASN.1 field '" + field + "' is missing");
    return std::move(*v);
}

std::string Asn1Node::read_text(const std::string& field) const
{
    Bytes b = read_bytes(field);
    std::string s(b.begin(), b.end());
    while (!s.empty() && s.back() == '\0') s.pop_back();
    return s;
}

std::string Asn1Node::read_oid(const std::string& field) const
{
    return read_text(field);
}

Bytes Asn1Node::read_bits(const std::string& field) const
{
    int bits = 0;
    int rc = asn1_read_value(m_node, field.c_str(), nullptr, &bits);
    if (rc == ASN1_SUCCESS && bits == 0) return {};
    if (rc != ASN1_MEM_ERROR || bits < 0) fail(Failure::MalformedMessage, "read", field, rc);
    Bytes out((std::size_t(bits) + 7) / 8);
    int size = int(out.size());
    rc = asn1_read_value(m_node, field.c_str(), out.data(), &size);
    // On success libtasn1 reports the length in bits again.
    if (rc != ASN1_SUCCESS || size != bits) fail(Failure::MalformedMessage, "read", field, rc);
    return out;
}

long Asn1Node::read_small_int(const std::string& field) const
{
    Bytes b = read_bytes(field);
    if (b.empty() || b.size() > 4)
        throw Error(Failure::MalformedMessage, "ASN.1 INTEGER '" + field + "' out of range");
    long v = (b[0] & 0x80) ? -1 : 0;
    for (auto c : b) v = (v << 8) | c;
    return v;
}

int Asn1Node::count(const std::string& field) const
{
    int n = 0;
    int rc = asn1_number_of_elements(m_node, field.c_str(), &n);
    if (rc == ASN1_ELEMENT_NOT_FOUND) return 0;
    if (rc != ASN1_SUCCESS) fail(Failure::MalformedMessage, "count", field, rc);
    return n;
}

bool Asn1Node::has(const std::string& field) const
{
    return asn1_find_node(m_node, field.c_str()) != nullptr;
}

Bytes Asn1Node::encode(const std::string& field) const
{
    char err[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = {};
    int len = 0;
    int rc = asn1_der_coding(m_node, field.c_str(), nullptr, &len, err);
    if (rc != ASN1_MEM_ERROR) fail(Failure::Internal, std::string("encode (") + err + ")", field, rc);
    Bytes out(static_cast<std::size_t>(len));
    rc = asn1_der_coding(m_node, field.c_str(), out.data(), &len, err);
    if (rc != ASN1_SUCCESS) fail(Failure::Internal, std::string("encode (") + err + ")", field, rc);
    out.resize(std::size_t(len));
    return out;
}

std::pair<std::size_t, std::size_t> Asn1Node::locate(ByteView der, const std::string& field) const
{
    if (der.size() > kMaxDecode) throw Error(Failure::MessageTooLarge, "ASN.1 object too large");
    int start = 0, end = 0;
    int rc = asn1_der_decoding_startEnd(m_node, der.data(), int(der.size()), field.c_str(),
                                        &start, &end);
    if (rc != ASN1_SUCCESS || start < 0 || end < start || std::size_t(end) >= der.size())
        fail(Failure::MalformedMessage, "locate", field, rc);
    return {std::size_t(start), std::size_t(end) + 1};
}

}  // namespace ssm::smime::cms
