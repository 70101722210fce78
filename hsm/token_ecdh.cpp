// ECDH inside the token (see token_ecdh.h).
#include "hsm/token_ecdh.h"

namespace ssm::hsm {

CK_RV token_ecdh(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, ByteView peer, Bytes& z,
                 CK_ULONG& returned)
{
    // SoftHSM 2.6.1 takes the raw point and the DER OCTET STRING alike (tried): raw is what
    // PKCS#11 v2.40 names first.
    CK_ECDH1_DERIVE_PARAMS params{CKD_NULL, 0, nullptr, static_cast<CK_ULONG>(peer.size()),
                                  const_cast<std::uint8_t*>(peer.data())};
    CK_MECHANISM mech{CKM_ECDH1_DERIVE, &params, sizeof params};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_GENERIC_SECRET;
    CK_ULONG length = z.size();
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    // A session object, readable once and destroyed below: Z is what CMS wants.
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},           {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE_LEN, &length, sizeof length}, {CKA_SENSITIVE, &no, sizeof no},
        {CKA_EXTRACTABLE, &yes, sizeof yes},     {CKA_TOKEN, &no, sizeof no},
    };
    CK_OBJECT_HANDLE secret = CK_INVALID_HANDLE;
    CK_RV r = f->C_DeriveKey(s, &mech, key, tmpl, 6, &secret);
    if (r != CKR_OK) return r;
    CK_ATTRIBUTE value{CKA_VALUE, z.data(), z.size()};
    r = f->C_GetAttributeValue(s, secret, &value, 1);
    returned = value.ulValueLen;
    const CK_RV destroyed = f->C_DestroyObject(s, secret);
    return r != CKR_OK ? r : destroyed;
}

}  // namespace ssm::hsm
