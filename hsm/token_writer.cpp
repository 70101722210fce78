// Read-write token access for the admin tools (see token_writer.h). Values read from the token
// are the administrator's; certificates are still parsed defensively (bad DER: no public key).
#include "hsm/token_writer.h"

#include <gnutls/crypto.h>
#include <libtasn1.h>

#include <algorithm>

#include "base/error.h"
#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"
#include "base/log.h"
#include "hsm/pkcs11_library.h"

namespace ssm::hsm {

namespace {

Bytes export_spki(gnutls_pubkey_t key)
{
    GnutlsDatum out;
    if (gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &out.d) < 0) return {};
    return out.bytes();
}

// CKA_EC_POINT is a DER OCTET STRING holding the point; unwrap it (short or 0x81 length).
Bytes unwrap_octet_string(const Bytes& v)
{
    if (v.size() >= 2 && v[0] == 0x04 && v[1] < 0x80 && v[1] == v.size() - 2)
        return Bytes(v.begin() + 2, v.end());
    if (v.size() >= 3 && v[0] == 0x04 && v[1] == 0x81 && v[2] == v.size() - 3)
        return Bytes(v.begin() + 3, v.end());
    return v;
}

}  // namespace

std::string object_kind(CK_OBJECT_CLASS c)
{
    switch (c) {
    case CKO_CERTIFICATE: return "certificate";
    case CKO_PUBLIC_KEY: return "public key";
    case CKO_PRIVATE_KEY: return "private key";
    default: return "object";
    }
}

Bytes certificate_spki(ByteView der)
{
    auto crt = new_gnutls_crt();
    const gnutls_datum_t d = datum_view(der);
    if (gnutls_x509_crt_import(crt.get(), &d, GNUTLS_X509_FMT_DER) < 0) return {};
    auto key = new_gnutls_pubkey();
    if (gnutls_pubkey_import_x509(key.get(), crt.get(), 0) < 0) return {};
    return export_spki(key.get());
}

Bytes oid_der(const char* dotted)
{
    unsigned char der[64];
    int len = sizeof der;
    if (asn1_object_id_der(dotted, der, &len, 0) != ASN1_SUCCESS)
        throw Error(Failure::Internal, std::string("cannot encode OID ") + dotted);
    return Bytes(der, der + len);
}

TokenWriter::~TokenWriter()
{
    if (m_session != CK_INVALID_HANDLE) m_module->functions()->C_CloseSession(m_session);
}

std::unique_ptr<TokenWriter> TokenWriter::open(const TokenConfig& config)
{
    auto w = std::make_unique<TokenWriter>(Key{});
    w->m_store = KeyStore::open(config);
    const TokenInfo& info = w->m_store->token();
    w->m_module = RawModule::attach(config.module);
    auto slot = w->m_module->find_slot(info.label, info.serial);
    if (!slot)
        throw Error(Failure::HsmUnavailable, "HSM token '" + info.label + "': slot not found");
    w->m_slot = *slot;
    // Login state is per application: this session shares the helper's user login.
    CK_RV rv = w->functions()->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                             nullptr, &w->m_session);
    if (rv != CKR_OK) {
        w->m_session = CK_INVALID_HANDLE;
        throw Error(Failure::HsmUnavailable, "HSM token '" + info.label +
                                                 "': cannot open a read-write session: " +
                                                 rv_name(rv));
    }
    return w;
}

Bytes TokenWriter::attribute(CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) const
{
    return read_attribute(functions(), m_session, h, type);
}

Bytes read_attribute(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE h,
                     CK_ATTRIBUTE_TYPE type)
{
    CK_ATTRIBUTE a{type, nullptr, 0};
    if (f->C_GetAttributeValue(session, h, &a, 1) != CKR_OK) return {};
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0 || a.ulValueLen > 65536)
        return {};
    Bytes v(a.ulValueLen);
    a.pValue = v.data();
    if (f->C_GetAttributeValue(session, h, &a, 1) != CKR_OK) return {};
    v.resize(a.ulValueLen);
    return v;
}

std::vector<TokenObject> TokenWriter::objects() const
{
    return list_objects(functions(), m_session);
}

std::vector<TokenObject> list_objects(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session)
{
    auto attribute = [&](CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
        return read_attribute(f, session, h, type);
    };
    std::vector<CK_OBJECT_HANDLE> handles;
    if (f->C_FindObjectsInit(session, nullptr, 0) == CKR_OK) {
        CK_OBJECT_HANDLE batch[64];
        CK_ULONG n = 0;
        while (f->C_FindObjects(session, batch, 64, &n) == CKR_OK && n > 0)
            handles.insert(handles.end(), batch, batch + n);
        f->C_FindObjectsFinal(session);
    }
    std::vector<TokenObject> out;
    for (CK_OBJECT_HANDLE h : handles) {
        TokenObject o;
        o.handle = h;
        const Bytes cls = attribute(h, CKA_CLASS);
        if (cls.size() != sizeof(CK_OBJECT_CLASS)) continue;
        std::copy(cls.begin(), cls.end(), reinterpret_cast<std::uint8_t*>(&o.object_class));
        if (o.object_class != CKO_CERTIFICATE && o.object_class != CKO_PUBLIC_KEY &&
            o.object_class != CKO_PRIVATE_KEY)
            continue;
        o.id = attribute(h, CKA_ID);
        const Bytes label = attribute(h, CKA_LABEL);
        o.label.assign(label.begin(), label.end());
        if (o.object_class == CKO_CERTIFICATE) {
            o.value = attribute(h, CKA_VALUE);
            o.spki = certificate_spki(o.value);
            out.push_back(std::move(o));
            continue;
        }
        CK_KEY_TYPE type = 0;
        const Bytes kt = attribute(h, CKA_KEY_TYPE);
        if (kt.size() == sizeof type)
            std::copy(kt.begin(), kt.end(), reinterpret_cast<std::uint8_t*>(&type));
        auto key = new_gnutls_pubkey();
        bool ok = false;
        if (type == CKK_RSA) {
            const Bytes n = attribute(h, CKA_MODULUS), e = attribute(h, CKA_PUBLIC_EXPONENT);
            const gnutls_datum_t dn = datum_view(n), de = datum_view(e);
            ok = !n.empty() && !e.empty() && gnutls_pubkey_import_rsa_raw(key.get(), &dn, &de) >= 0;
        } else if (o.object_class == CKO_PUBLIC_KEY && type == CKK_EC) {
            const Bytes p = attribute(h, CKA_EC_PARAMS), q = attribute(h, CKA_EC_POINT);
            const gnutls_datum_t dp = datum_view(p), dq = datum_view(q);
            ok = !p.empty() && !q.empty() && gnutls_pubkey_import_ecc_x962(key.get(), &dp, &dq) >= 0;
        } else if (o.object_class == CKO_PUBLIC_KEY && type == CKK_EC_EDWARDS) {
            const Bytes x = unwrap_octet_string(attribute(h, CKA_EC_POINT));
            const gnutls_datum_t dx = datum_view(x);
            ok = x.size() == 32 && gnutls_pubkey_import_ecc_raw(key.get(), GNUTLS_ECC_CURVE_ED25519,
                                                                &dx, nullptr) >= 0;
        }
        if (ok) o.spki = export_spki(key.get());
        out.push_back(std::move(o));
    }
    return out;
}

Bytes TokenWriter::fresh_id(ByteView preferred) const
{
    const auto present = objects();
    auto used = [&](ByteView id) {
        return std::any_of(present.begin(), present.end(), [&](const TokenObject& o) {
            return std::equal(o.id.begin(), o.id.end(), id.begin(), id.end());
        });
    };
    if (!preferred.empty() && !used(preferred)) return Bytes(preferred.begin(), preferred.end());
    for (int tries = 0; tries < 16; ++tries) {
        Bytes id(20);
        if (gnutls_rnd(GNUTLS_RND_NONCE, id.data(), id.size()) < 0) break;
        if (!used(id)) return id;
    }
    throw Error(Failure::Internal, "cannot choose a fresh CKA_ID");
}

Transaction::~Transaction()
{
    // Undo in reverse order; a failure here leaves an object the admin must delete by hand.
    for (auto it = m_created.rbegin(); it != m_created.rend(); ++it) {
        const CK_RV rv = m_writer.functions()->C_DestroyObject(m_writer.session(), *it);
        if (rv != CKR_OK)
            log::warning("hsm_rollback_failed", {{"token", m_writer.token().label},
                                                 {"reason", rv_name(rv)}});
    }
}

CK_OBJECT_HANDLE Transaction::create(std::vector<CK_ATTRIBUTE> tmpl, const std::string& what)
{
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    const CK_RV rv = m_writer.functions()->C_CreateObject(m_writer.session(), tmpl.data(),
                                                          tmpl.size(), &h);
    if (rv != CKR_OK)
        throw Error(Failure::HsmUnavailable, "token '" + m_writer.token().label +
                                                 "' refused the " + what + ": " + rv_name(rv));
    m_created.push_back(h);
    return h;
}

}  // namespace ssm::hsm
