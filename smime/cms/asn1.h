// libtasn1 glue for the CMS module: the compiled cms.asn definitions (loaded once, shared
// read-only by all threads) and Asn1Node, the one RAII owner of an asn1_node. Values read
// from a decoded node are attacker-controlled; every accessor checks sizes and presence.
#pragma once
#include <libtasn1.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/bytes.h"

namespace ssm::smime::cms {

// The parsed cms.asn module ("SSM-CMS.<Type>"). Throws ssm::Error(Internal) if the
// compiled table does not load (a build defect).
asn1_node_const definitions();

class Asn1Node {
public:
    Asn1Node() = default;
    // An empty structure of a type of cms.asn, e.g. "SignedData".
    static Asn1Node create(std::string_view type);
    // Decodes DER (and BER, as OpenSSL's -stream output uses) into a structure of `type`.
    // The whole input must be consumed. Throws ssm::Error(MalformedMessage), naming the
    // structure `name` (empty: `type`; for a type decoded in place of another it resembles).
    static Asn1Node decode(std::string_view type, ByteView der, std::string_view name = {});

    ~Asn1Node();
    Asn1Node(Asn1Node&& other) noexcept : m_node(std::exchange(other.m_node, nullptr)) {}
    Asn1Node& operator=(Asn1Node&& other) noexcept;
    Asn1Node(const Asn1Node&) = delete;
    Asn1Node& operator=(const Asn1Node&) = delete;

    asn1_node get() const { return m_node; }

    // Writers (failures are our bugs: ssm::Error(Internal) naming the field).
    // OCTET STRING / BIT-less raw values, ANY (a whole DER TLV), INTEGER (two's complement).
    void write_bytes(const std::string& field, ByteView value);
    void write_oid(const std::string& field, std::string_view oid);
    // BIT STRING of whole octets (public keys): libtasn1 counts BIT STRING lengths in bits.
    void write_bits(const std::string& field, ByteView octets);
    // INTEGER from a non-negative number.
    void write_uint(const std::string& field, unsigned long value);
    // Character types, times ("YYMMDDHHMMSSZ"), and the selected alternative of a CHOICE.
    void write_text(const std::string& field, std::string_view text);
    // Adds an element to a SET OF / SEQUENCE OF; fill it through "<field>.?LAST".
    void append(const std::string& field);
    // Leaves an OPTIONAL element out.
    void remove(const std::string& field);

    // Readers (missing or oversized values: ssm::Error(MalformedMessage) naming the field).
    Bytes read_bytes(const std::string& field) const;
    std::optional<Bytes> read_optional(const std::string& field) const;
    std::string read_oid(const std::string& field) const;
    // BIT STRING content octets (unused trailing bits, if any, read as zero).
    Bytes read_bits(const std::string& field) const;
    std::string read_text(const std::string& field) const;  // also: which CHOICE alternative
    long read_small_int(const std::string& field) const;    // INTEGERs such as versions
    int count(const std::string& field) const;              // elements of a SET OF/SEQUENCE OF
    bool has(const std::string& field) const;               // OPTIONAL present?

    // DER of the whole structure, or of one element (with its own tag, e.g. [0] IMPLICIT).
    Bytes encode(const std::string& field = "") const;
    // Where the element `field` lies in `der` (the encoding this node was decoded from or
    // encoded to): [first, last) byte offsets.
    std::pair<std::size_t, std::size_t> locate(ByteView der, const std::string& field) const;

private:
    explicit Asn1Node(asn1_node node) : m_node(node) {}
    asn1_node m_node = nullptr;
};

}  // namespace ssm::smime::cms
