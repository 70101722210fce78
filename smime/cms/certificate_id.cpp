// issuerAndSerialNumber from certificates via GnuTLS; see certificate_id.h.
#include "smime/cms/certificate_id.h"

#include <gnutls/x509.h>

#include <algorithm>

#include "base/error.h"
#include "base/gnutls_datum.h"

namespace ssm::smime::cms {
namespace {

class Certificate {
public:
    explicit Certificate(ByteView der)
    {
        if (gnutls_x509_crt_init(&m_crt) < 0) throw Error(Failure::Temporary, "gnutls_x509_crt_init");
        const gnutls_datum_t d = datum_view(der);
        int rc = gnutls_x509_crt_import(m_crt, &d, GNUTLS_X509_FMT_DER);
        if (rc < 0) {
            gnutls_x509_crt_deinit(m_crt);
            throw Error(Failure::MalformedMessage,
                        std::string("certificate does not parse: ") + gnutls_strerror(rc));
        }
    }
    ~Certificate() { gnutls_x509_crt_deinit(m_crt); }
    Certificate(const Certificate&) = delete;
    Certificate& operator=(const Certificate&) = delete;
    gnutls_x509_crt_t get() const { return m_crt; }

private:
    gnutls_x509_crt_t m_crt = nullptr;
};

}  // namespace

Bytes subject_key_id_of(ByteView cert_der)
{
    Certificate crt(cert_der);
    unsigned char buf[64];
    size_t size = sizeof buf;
    unsigned critical = 0;
    if (gnutls_x509_crt_get_subject_key_id(crt.get(), buf, &size, &critical) != GNUTLS_E_SUCCESS) return {};
    return Bytes(buf, buf + size);
}

IssuerSerial issuer_serial_of(ByteView cert_der)
{
    Certificate crt(cert_der);
    IssuerSerial id;
    gnutls_datum_t dn{nullptr, 0};
    int rc = gnutls_x509_crt_get_raw_issuer_dn(crt.get(), &dn);
    if (rc < 0) throw Error(Failure::MalformedMessage, "certificate issuer unreadable");
    id.issuer_der.assign(dn.data, dn.data + dn.size);
    gnutls_free(dn.data);

    unsigned char serial[64];  // RFC 5280 caps serials at 20 octets; be lenient
    size_t size = sizeof serial;
    rc = gnutls_x509_crt_get_serial(crt.get(), serial, &size);
    if (rc < 0) throw Error(Failure::MalformedMessage, "certificate serial unreadable");
    id.serial.assign(serial, serial + size);
    return id;
}

namespace {

ByteView serial_value(ByteView v)
{
    while (v.size() > 1 && (v[0] == 0x00 || (v[0] == 0xff && (v[1] & 0x80)))) v = v.subspan(1);
    return v;
}

}  // namespace

bool same_serial(ByteView a, ByteView b) noexcept
{
    const ByteView x = serial_value(a), y = serial_value(b);
    return std::equal(x.begin(), x.end(), y.begin(), y.end());
}

bool same_certificate(ByteView a, ByteView b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void write_issuer_serial(Asn1Node& node, const std::string& field, const IssuerSerial& id)
{
    const std::string prefix = field.empty() ? "" : field + ".";
    node.write_bytes(prefix + "issuer", id.issuer_der);  // Name is ANY: the whole DER
    node.write_bytes(prefix + "serialNumber", id.serial);
}

IssuerSerial read_issuer_serial(const Asn1Node& node, const std::string& field)
{
    const std::string prefix = field.empty() ? "" : field + ".";
    return {node.read_bytes(prefix + "issuer"), node.read_bytes(prefix + "serialNumber")};
}

}  // namespace ssm::smime::cms
