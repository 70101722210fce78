/* wolfpkcs7: wolfSSL's PKCS#7/CMS code (wolfcrypt/pkcs7.c, libwolfssl-dev) as a command-line
 * S/MIME peer, in the manner of hxtool: sign, verify, envelope, unenvelope. It reads and writes
 * DER ContentInfo objects only; the MIME around them is the test's (as a MUA would make it).
 * Compiled at test time by tests/integration/test_interop_wolfssl.sh. Input messages are
 * untrusted (made by ssm-milter under test); every answer is wolfSSL's own, and any wolfSSL
 * failure prints its error code and text and exits 1 (usage errors: 64).
 *
 *   wolfpkcs7 sign --cert C --key K [--chain C]... [--alg rsa|ecdsa|rsa-pss]
 *             [--digest sha256|sha384|sha512] [--sid ias|ski] [--detached] [--no-attrs] IN OUT
 *   wolfpkcs7 verify --root R [--content F] [--signer-out S.der] IN OUT
 *   wolfpkcs7 envelope --cipher NAME [--kdf sha1|sha224|sha256|sha384|sha512]
 *             [--wrap aes128|aes192|aes256] --recip ktri|kari:ias|ski:CERT... IN OUT
 *   wolfpkcs7 unenvelope --cert C --key K IN OUT
 * Certificates and keys: DER or PEM (keys PKCS#8 or traditional). NAME: aes128-cbc,
 * aes192-cbc, aes256-cbc, des3-cbc (EnvelopedData); aes128-gcm, aes192-gcm, aes256-gcm,
 * aes128-ccm, aes192-ccm, aes256-ccm (AuthEnvelopedData, RFC 5083/5084). verify checks the
 * signature (wc_PKCS7_VerifySignedData) and then the signer's chain with a wolfSSL certificate
 * manager holding only the root R: each certificate of the message is added as a CA only once
 * it verifies under what is already trusted. It prints "signer: <subject>". */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/pkcs7.h>
#include <wolfssl/wolfcrypt/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_USAGE = 64, MAX_ITEMS = 8 };

typedef struct {
    byte *data;
    word32 size;
} Buf;

static void buf_free(Buf *b)
{
    free(b->data);
    b->data = NULL;
    b->size = 0;
}

/* wolf_failed WHAT RC: wolfSSL's error code and its own text, then the caller exits 1. */
static int wolf_failed(const char *what, int rc)
{
    fprintf(stderr, "wolfpkcs7: %s: wolfSSL error %d (%s)\n", what, rc, wc_GetErrorString(rc));
    return 1;
}

static int read_file(const char *path, Buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "wolfpkcs7: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 65536, n = 0;
    byte *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        byte *q = realloc(p, cap * 2);
        if (!q) {
            free(p);
            p = NULL;
            break;
        }
        p = q;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!p || err) {
        free(p);
        fprintf(stderr, "wolfpkcs7: cannot read %s\n", path);
        return -1;
    }
    out->data = p;
    out->size = (word32)n;
    return 0;
}

static int write_file(const char *path, const byte *data, word32 size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "wolfpkcs7: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* read_der PATH KEY OUT: a certificate (KEY 0) or private key (KEY 1), PEM turned into DER by
 * wolfSSL itself. */
static int read_der(const char *path, int key, Buf *out)
{
    Buf raw = {0};
    if (read_file(path, &raw) != 0)
        return -1;
    if (raw.size < 11 || memcmp(raw.data, "-----BEGIN ", 11) != 0) {
        *out = raw;
        return 0;
    }
    byte *der = malloc(raw.size);
    int n = der ? (key ? wc_KeyPemToDer(raw.data, (int)raw.size, der, (int)raw.size, NULL)
                       : wc_CertPemToDer(raw.data, (int)raw.size, der, (int)raw.size, CERT_TYPE))
                : MEMORY_E;
    buf_free(&raw);
    if (n <= 0) {
        free(der);
        fprintf(stderr, "wolfpkcs7: %s: wolfSSL error %d (%s)\n", path, n, wc_GetErrorString(n));
        return -1;
    }
    out->data = der;
    out->size = (word32)n;
    return 0;
}

typedef struct {
    const char *cert, *key, *root, *content, *signer_out, *cipher, *in, *out;
    const char *chain[MAX_ITEMS], *recip[MAX_ITEMS];
    int nchain, nrecip, detached, no_attrs, ski;
    int alg, hash, kdf, wrap;
} Opts;

static int lookup(const char *const names[], const int values[], const char *name, int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0) {
            *out = values[i];
            return 0;
        }
    fprintf(stderr, "wolfpkcs7: unknown name %s\n", name);
    return -1;
}

static int parse(int argc, char **argv, Opts *o)
{
    static const char *const algs[] = {"rsa", "ecdsa", "rsa-pss", NULL};
    static const int alg_v[] = {RSAk, ECDSAk, RSAPSSk};
    static const char *const hashes[] = {"sha1", "sha224", "sha256", "sha384", "sha512", NULL};
    static const int hash_v[] = {SHAh, SHA224h, SHA256h, SHA384h, SHA512h};
    static const int kdf_v[] = {dhSinglePass_stdDH_sha1kdf_scheme, dhSinglePass_stdDH_sha224kdf_scheme,
                                dhSinglePass_stdDH_sha256kdf_scheme, dhSinglePass_stdDH_sha384kdf_scheme,
                                dhSinglePass_stdDH_sha512kdf_scheme};
    static const char *const wraps[] = {"aes128", "aes192", "aes256", NULL};
    static const int wrap_v[] = {AES128_WRAP, AES192_WRAP, AES256_WRAP};
    o->alg = RSAk;
    o->hash = SHA256h;
    o->kdf = dhSinglePass_stdDH_sha256kdf_scheme;
    o->wrap = AES256_WRAP;
    int pos = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1, rc = 0;
        if (strcmp(a, "--detached") == 0) {
            o->detached = 1;
            takes = 0;
        } else if (strcmp(a, "--no-attrs") == 0) {
            o->no_attrs = 1;
            takes = 0;
        } else if (!v && strncmp(a, "--", 2) == 0) {
            rc = -1;
        } else if (strcmp(a, "--cert") == 0) {
            o->cert = v;
        } else if (strcmp(a, "--key") == 0) {
            o->key = v;
        } else if (strcmp(a, "--root") == 0) {
            o->root = v;
        } else if (strcmp(a, "--content") == 0) {
            o->content = v;
        } else if (strcmp(a, "--signer-out") == 0) {
            o->signer_out = v;
        } else if (strcmp(a, "--cipher") == 0) {
            o->cipher = v;
        } else if (strcmp(a, "--chain") == 0 && o->nchain < MAX_ITEMS) {
            o->chain[o->nchain++] = v;
        } else if (strcmp(a, "--recip") == 0 && o->nrecip < MAX_ITEMS) {
            o->recip[o->nrecip++] = v;
        } else if (strcmp(a, "--alg") == 0) {
            rc = lookup(algs, alg_v, v, &o->alg);
        } else if (strcmp(a, "--digest") == 0) {
            rc = lookup(hashes, hash_v, v, &o->hash);
        } else if (strcmp(a, "--kdf") == 0) {
            rc = lookup(hashes, kdf_v, v, &o->kdf);
        } else if (strcmp(a, "--wrap") == 0) {
            rc = lookup(wraps, wrap_v, v, &o->wrap);
        } else if (strcmp(a, "--sid") == 0) {
            o->ski = strcmp(v, "ski") == 0;
            rc = o->ski || strcmp(v, "ias") == 0 ? 0 : -1;
        } else if (strncmp(a, "--", 2) != 0 && pos < 2) {
            *(pos++ == 0 ? &o->in : &o->out) = a;
            takes = 0;
        } else {
            rc = -1;
        }
        if (rc != 0) {
            fprintf(stderr, "wolfpkcs7: bad argument %s\n", a);
            return -1;
        }
        i += takes;
    }
    return pos == 2 ? 0 : -1;
}

static int do_sign(const Opts *o)
{
    Buf in = {0}, cert = {0}, key = {0}, chain[MAX_ITEMS] = {{0}}, out = {0};
    PKCS7 *p7 = NULL;
    WC_RNG rng;
    int have_rng = 0, rc = 1, n;
    if (!o->cert || !o->key) {
        fprintf(stderr, "wolfpkcs7 sign: --cert and --key are required\n");
        return EXIT_USAGE;
    }
    if (read_file(o->in, &in) || read_der(o->cert, 0, &cert) || read_der(o->key, 1, &key))
        goto done;
    for (int i = 0; i < o->nchain; i++)
        if (read_der(o->chain[i], 0, &chain[i]))
            goto done;
    if ((n = wc_InitRng(&rng)) != 0) {
        rc = wolf_failed("wc_InitRng", n);
        goto done;
    }
    have_rng = 1;
    p7 = wc_PKCS7_New(NULL, INVALID_DEVID);
    if (!p7) {
        rc = wolf_failed("wc_PKCS7_New", MEMORY_E);
        goto done;
    }
    if ((n = wc_PKCS7_InitWithCert(p7, cert.data, cert.size)) != 0) {
        rc = wolf_failed("wc_PKCS7_InitWithCert", n);
        goto done;
    }
    for (int i = 0; i < o->nchain; i++)
        if ((n = wc_PKCS7_AddCertificate(p7, chain[i].data, chain[i].size)) != 0) {
            rc = wolf_failed("wc_PKCS7_AddCertificate", n);
            goto done;
        }
    p7->rng = &rng;
    p7->content = in.data;
    p7->contentSz = in.size;
    p7->contentOID = DATA;
    p7->privateKey = key.data;
    p7->privateKeySz = key.size;
    p7->encryptOID = o->alg;
    p7->hashOID = o->hash;
    if ((n = wc_PKCS7_SetSignerIdentifierType(p7, o->ski ? CMS_SKID : CMS_ISSUER_AND_SERIAL_NUMBER)) != 0) {
        rc = wolf_failed("wc_PKCS7_SetSignerIdentifierType", n);
        goto done;
    }
    if (o->detached && (n = wc_PKCS7_SetDetached(p7, 1)) != 0) {
        rc = wolf_failed("wc_PKCS7_SetDetached", n);
        goto done;
    }
    if (o->no_attrs && (n = wc_PKCS7_NoDefaultSignedAttribs(p7)) != 0) {
        rc = wolf_failed("wc_PKCS7_NoDefaultSignedAttribs", n);
        goto done;
    }
    out.size = in.size + 16384;
    for (int i = 0; i < o->nchain; i++)
        out.size += chain[i].size;
    if (!(out.data = malloc(out.size)))
        goto done;
    n = wc_PKCS7_EncodeSignedData(p7, out.data, out.size);
    if (n <= 0) {
        rc = wolf_failed("wc_PKCS7_EncodeSignedData", n);
        goto done;
    }
    rc = write_file(o->out, out.data, (word32)n) == 0 ? 0 : 1;
done:
    wc_PKCS7_Free(p7);
    if (have_rng)
        wc_FreeRng(&rng);
    for (int i = 0; i < o->nchain; i++)
        buf_free(&chain[i]);
    buf_free(&in);
    buf_free(&cert);
    buf_free(&key);
    buf_free(&out);
    return rc;
}

/* check_chain CM P7: the signer certificate verifies under the root alone, or after the
 * message's certificates that themselves verify have been added as CAs (at most a pass per
 * certificate, so any order works). */
static int check_chain(WOLFSSL_CERT_MANAGER *cm, PKCS7 *p7)
{
    int added[MAX_PKCS7_CERTS] = {0}, progress = 1, n;
    while (progress) {
        progress = 0;
        for (int i = 0; i < MAX_PKCS7_CERTS; i++) {
            if (!p7->cert[i] || added[i] || (p7->cert[i] == p7->verifyCert && p7->certSz[i] == p7->verifyCertSz))
                continue;
            if (wolfSSL_CertManagerVerifyBuffer(cm, p7->cert[i], p7->certSz[i], WOLFSSL_FILETYPE_ASN1) ==
                    WOLFSSL_SUCCESS &&
                wolfSSL_CertManagerLoadCABuffer(cm, p7->cert[i], p7->certSz[i], WOLFSSL_FILETYPE_ASN1) ==
                    WOLFSSL_SUCCESS)
                added[i] = progress = 1;
        }
    }
    n = wolfSSL_CertManagerVerifyBuffer(cm, p7->verifyCert, p7->verifyCertSz, WOLFSSL_FILETYPE_ASN1);
    return n == WOLFSSL_SUCCESS ? 0 : wolf_failed("signer certificate chain (wolfSSL_CertManagerVerifyBuffer)", n);
}

static int print_subject(const byte *der, word32 size)
{
    WOLFSSL_X509 *x = wolfSSL_X509_d2i(NULL, der, (int)size);
    if (!x)
        return wolf_failed("wolfSSL_X509_d2i (signer)", ASN_PARSE_E);
    char *s = wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(x), NULL, 0);
    printf("signer: %s\n", s ? s : "?");
    XFREE(s, NULL, DYNAMIC_TYPE_OPENSSL);
    wolfSSL_X509_free(x);
    return 0;
}

static int do_verify(const Opts *o)
{
    Buf in = {0}, content = {0};
    PKCS7 *p7 = NULL;
    WOLFSSL_CERT_MANAGER *cm = NULL;
    int rc = 1, n;
    if (!o->root) {
        fprintf(stderr, "wolfpkcs7 verify: --root is required\n");
        return EXIT_USAGE;
    }
    if (read_file(o->in, &in) || (o->content && read_file(o->content, &content)))
        goto done;
    if (!(p7 = wc_PKCS7_New(NULL, INVALID_DEVID))) {
        rc = wolf_failed("wc_PKCS7_New", MEMORY_E);
        goto done;
    }
    if ((n = wc_PKCS7_InitWithCert(p7, NULL, 0)) != 0) {
        rc = wolf_failed("wc_PKCS7_InitWithCert", n);
        goto done;
    }
    if (o->content) {   /* detached: wolfSSL hashes the content it is handed */
        p7->content = content.data;
        p7->contentSz = content.size;
    }
    if ((n = wc_PKCS7_VerifySignedData(p7, in.data, in.size)) != 0) {
        rc = wolf_failed("wc_PKCS7_VerifySignedData", n);
        goto done;
    }
    if (!p7->verifyCert || p7->verifyCertSz == 0) {
        fprintf(stderr, "wolfpkcs7: no signer certificate was used (degenerate SignedData?)\n");
        goto done;
    }
    if (!(cm = wolfSSL_CertManagerNew())) {
        rc = wolf_failed("wolfSSL_CertManagerNew", MEMORY_E);
        goto done;
    }
    if ((n = wolfSSL_CertManagerLoadCA(cm, o->root, NULL)) != WOLFSSL_SUCCESS) {
        rc = wolf_failed("wolfSSL_CertManagerLoadCA (root)", n);
        goto done;
    }
    if (check_chain(cm, p7) != 0 || print_subject(p7->verifyCert, p7->verifyCertSz) != 0)
        goto done;
    if (o->signer_out && write_file(o->signer_out, p7->verifyCert, p7->verifyCertSz) != 0)
        goto done;
    rc = write_file(o->out, o->content ? content.data : p7->content, o->content ? content.size : p7->contentSz) == 0
             ? 0
             : 1;
done:
    wolfSSL_CertManagerFree(cm);
    wc_PKCS7_Free(p7);
    buf_free(&in);
    buf_free(&content);
    return rc;
}

/* cipher_oid NAME AUTH: wolfSSL's OID sum of a content cipher; AUTH 1 for AuthEnvelopedData. */
static int cipher_oid(const char *name, int *auth, int *oid)
{
    static const char *const names[] = {"aes128-cbc", "aes192-cbc", "aes256-cbc", "des3-cbc", "aes128-gcm",
                                        "aes192-gcm", "aes256-gcm", "aes128-ccm", "aes192-ccm", "aes256-ccm", NULL};
    static const int oids[] = {AES128CBCb, AES192CBCb, AES256CBCb, DES3b, AES128GCMb,
                               AES192GCMb, AES256GCMb, AES128CCMb, AES192CCMb, AES256CCMb};
    if (lookup(names, oids, name, oid) != 0)
        return -1;
    *auth = strstr(name, "-cbc") == NULL;
    return 0;
}

static int do_envelope(const Opts *o)
{
    Buf in = {0}, certs[MAX_ITEMS] = {{0}}, out = {0};
    PKCS7 *p7 = NULL;
    WC_RNG rng;
    int have_rng = 0, rc = 1, n, auth = 0, oid = 0;
    if (!o->cipher || o->nrecip == 0 || cipher_oid(o->cipher, &auth, &oid) != 0) {
        fprintf(stderr, "wolfpkcs7 envelope: --cipher NAME and --recip are required\n");
        return EXIT_USAGE;
    }
    if (read_file(o->in, &in))
        goto done;
    if ((n = wc_InitRng(&rng)) != 0) {
        rc = wolf_failed("wc_InitRng", n);
        goto done;
    }
    have_rng = 1;
    if (!(p7 = wc_PKCS7_New(NULL, INVALID_DEVID))) {
        rc = wolf_failed("wc_PKCS7_New", MEMORY_E);
        goto done;
    }
    if ((n = wc_PKCS7_InitWithCert(p7, NULL, 0)) != 0) {
        rc = wolf_failed("wc_PKCS7_InitWithCert", n);
        goto done;
    }
    p7->rng = &rng;
    p7->content = in.data;
    p7->contentSz = in.size;
    p7->contentOID = DATA;
    p7->encryptOID = oid;
    for (int i = 0; i < o->nrecip; i++) {   /* KIND:FORM:CERT */
        const char *spec = o->recip[i];
        int kari = strncmp(spec, "kari:", 5) == 0;
        if ((!kari && strncmp(spec, "ktri:", 5) != 0) || (strncmp(spec + 5, "ski:", 4) && strncmp(spec + 5, "ias:", 4))) {
            fprintf(stderr, "wolfpkcs7: --recip %s: expected ktri|kari:ski|ias:CERT\n", spec);
            rc = EXIT_USAGE;
            goto done;
        }
        int form = strncmp(spec + 5, "ski:", 4) == 0 ? CMS_SKID : CMS_ISSUER_AND_SERIAL_NUMBER;
        if (read_der(spec + 9, 0, &certs[i]))
            goto done;
        n = kari ? wc_PKCS7_AddRecipient_KARI(p7, certs[i].data, certs[i].size, o->wrap, o->kdf, NULL, 0, form)
                 : wc_PKCS7_AddRecipient_KTRI(p7, certs[i].data, certs[i].size, form);
        if (n < 0) {
            rc = wolf_failed(kari ? "wc_PKCS7_AddRecipient_KARI" : "wc_PKCS7_AddRecipient_KTRI", n);
            goto done;
        }
    }
    out.size = in.size + 4096 + 2048 * (word32)o->nrecip;
    if (!(out.data = malloc(out.size)))
        goto done;
    n = auth ? wc_PKCS7_EncodeAuthEnvelopedData(p7, out.data, out.size)
             : wc_PKCS7_EncodeEnvelopedData(p7, out.data, out.size);
    if (n <= 0) {
        rc = wolf_failed(auth ? "wc_PKCS7_EncodeAuthEnvelopedData" : "wc_PKCS7_EncodeEnvelopedData", n);
        goto done;
    }
    rc = write_file(o->out, out.data, (word32)n) == 0 ? 0 : 1;
done:
    wc_PKCS7_Free(p7);
    if (have_rng)
        wc_FreeRng(&rng);
    for (int i = 0; i < o->nrecip; i++)
        buf_free(&certs[i]);
    buf_free(&in);
    buf_free(&out);
    return rc;
}

/* is_auth_enveloped DER: the ContentInfo's contentType is id-ct-authEnvelopedData (RFC 5083),
 * looked for in the first octets (SEQUENCE header, then the OID). */
static int is_auth_enveloped(const Buf *der)
{
    static const byte oid[] = {0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x17};
    for (word32 i = 0; i + sizeof oid <= der->size && i < 8; i++)
        if (memcmp(der->data + i, oid, sizeof oid) == 0)
            return 1;
    return 0;
}

static int do_unenvelope(const Opts *o)
{
    Buf in = {0}, cert = {0}, key = {0}, out = {0};
    PKCS7 *p7 = NULL;
    WC_RNG rng;   /* KARI: wolfSSL's ECDH uses the RNG for blinding */
    int have_rng = 0, rc = 1, n;
    if (!o->cert || !o->key) {
        fprintf(stderr, "wolfpkcs7 unenvelope: --cert and --key are required\n");
        return EXIT_USAGE;
    }
    if (read_file(o->in, &in) || read_der(o->cert, 0, &cert) || read_der(o->key, 1, &key))
        goto done;
    if ((n = wc_InitRng(&rng)) != 0) {
        rc = wolf_failed("wc_InitRng", n);
        goto done;
    }
    have_rng = 1;
    if (!(p7 = wc_PKCS7_New(NULL, INVALID_DEVID))) {
        rc = wolf_failed("wc_PKCS7_New", MEMORY_E);
        goto done;
    }
    if ((n = wc_PKCS7_InitWithCert(p7, cert.data, cert.size)) != 0) {
        rc = wolf_failed("wc_PKCS7_InitWithCert", n);
        goto done;
    }
    p7->rng = &rng;
    p7->privateKey = key.data;
    p7->privateKeySz = key.size;
    out.size = in.size;
    if (!(out.data = malloc(out.size)))
        goto done;
    int auth = is_auth_enveloped(&in);
    n = auth ? wc_PKCS7_DecodeAuthEnvelopedData(p7, in.data, in.size, out.data, out.size)
             : wc_PKCS7_DecodeEnvelopedData(p7, in.data, in.size, out.data, out.size);
    if (n <= 0) {
        rc = wolf_failed(auth ? "wc_PKCS7_DecodeAuthEnvelopedData" : "wc_PKCS7_DecodeEnvelopedData", n);
        goto done;
    }
    rc = write_file(o->out, out.data, (word32)n) == 0 ? 0 : 1;
done:
    wc_PKCS7_Free(p7);
    if (have_rng)
        wc_FreeRng(&rng);
    buf_free(&in);
    buf_free(&cert);
    buf_free(&key);
    buf_free(&out);
    return rc;
}

int main(int argc, char **argv)
{
    Opts o;
    memset(&o, 0, sizeof o);
    if (argc < 2 || parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: wolfpkcs7 sign|verify|envelope|unenvelope [options] IN OUT\n");
        return EXIT_USAGE;
    }
    if (wolfSSL_Init() != WOLFSSL_SUCCESS)
        return wolf_failed("wolfSSL_Init", -1);
    int rc = EXIT_USAGE;
    if (strcmp(argv[1], "sign") == 0)
        rc = do_sign(&o);
    else if (strcmp(argv[1], "verify") == 0)
        rc = do_verify(&o);
    else if (strcmp(argv[1], "envelope") == 0)
        rc = do_envelope(&o);
    else if (strcmp(argv[1], "unenvelope") == 0)
        rc = do_unenvelope(&o);
    else
        fprintf(stderr, "wolfpkcs7: unknown command %s\n", argv[1]);
    wolfSSL_Cleanup();
    return rc;
}
