// bench/null_milter: a libmilter program that does no S/MIME work, to measure what any milter
// with ssm-milter's protocol profile costs Postfix on this machine (bench/run.sh rows "null
// milter"). Not installed; its input is the local Postfix of the benchmark.
//
//   null_milter SOCKET MODE
//     MODE "pass":    the callbacks and no-reply flags ssm-milter registers and negotiates
//                     (connect, MAIL, RCPT, headers, body, end of message), every step answered
//                     with CONTINUE and nothing changed: the milter protocol and libmilter alone.
//     MODE "rewrite": the same, and at the end of the message the edits a detached signature
//                     makes (two header changes, one header added, the body replaced by the
//                     received body plus a 3 KB base64 part), with no cryptography: what Postfix
//                     spends applying a signing milter's edits.
#include <libmilter/mfapi.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace {

bool g_rewrite = false;

struct Session {
    std::string body;
};

Session* session(SMFICTX* ctx) { return static_cast<Session*>(smfi_getpriv(ctx)); }

sfsistat on_negotiate(SMFICTX*, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                      unsigned long* pf0, unsigned long* pf1, unsigned long* pf2, unsigned long* pf3)
{
    // The same request as milter/callbacks.cpp on_negotiate.
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_DELRCPT);
    *pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NOEOH | SMFIP_NR_CONN | SMFIP_NR_MAIL |
                 SMFIP_NR_HDR | SMFIP_NR_BODY);
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

sfsistat on_connect(SMFICTX* ctx, char*, _SOCK_ADDR*)
{
    // One allocation per session, as ssm-milter's per-connection context; freed in on_close.
    smfi_setpriv(ctx, std::make_unique<Session>().release());
    return SMFIS_CONTINUE;
}

sfsistat on_envfrom(SMFICTX* ctx, char**)
{
    if (Session* s = session(ctx)) s->body.clear();
    return SMFIS_CONTINUE;
}

sfsistat on_envrcpt(SMFICTX*, char**) { return SMFIS_CONTINUE; }
sfsistat on_header(SMFICTX*, char*, char*) { return SMFIS_CONTINUE; }

sfsistat on_body(SMFICTX* ctx, unsigned char* data, size_t len)
{
    if (Session* s = session(ctx)) s->body.append(reinterpret_cast<const char*>(data), len);
    return SMFIS_CONTINUE;
}

sfsistat on_eom(SMFICTX* ctx)
{
    Session* s = session(ctx);
    if (!g_rewrite || !s) return SMFIS_CONTINUE;
    const std::string boundary = "----=_null_milter_boundary";
    std::string body = "This is an S/MIME signed message\r\n\r\n--" + boundary + "\r\n" + s->body + "\r\n--" +
                       boundary + "\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n" +
                       "Content-Transfer-Encoding: base64\r\n\r\n";
    for (int line = 0; line < 40; ++line) body += std::string(76, 'A') + "\r\n";
    body += "--" + boundary + "--\r\n";
    std::string ct = "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n\tboundary=\"" +
                     boundary + "\"";
    smfi_chgheader(ctx, const_cast<char*>("Content-Type"), 1, ct.data());
    smfi_chgheader(ctx, const_cast<char*>("Content-Transfer-Encoding"), 1, nullptr);
    smfi_addheader(ctx, const_cast<char*>("MIME-Version"), const_cast<char*>("1.0"));
    for (std::size_t off = 0; off < body.size(); off += 65535) {
        const std::size_t n = std::min<std::size_t>(65535, body.size() - off);
        smfi_replacebody(ctx, reinterpret_cast<unsigned char*>(body.data() + off), static_cast<int>(n));
    }
    return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx)
{
    std::unique_ptr<Session> s(session(ctx));
    smfi_setpriv(ctx, nullptr);
    return SMFIS_CONTINUE;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 3 || (std::strcmp(argv[2], "pass") != 0 && std::strcmp(argv[2], "rewrite") != 0)) {
        std::fprintf(stderr, "usage: null_milter SOCKET pass|rewrite\n");
        return 2;
    }
    g_rewrite = std::strcmp(argv[2], "rewrite") == 0;
    smfiDesc desc{};
    desc.xxfi_name = const_cast<char*>("null-milter");
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_DELRCPT;
    desc.xxfi_connect = on_connect;
    desc.xxfi_envfrom = on_envfrom;
    desc.xxfi_envrcpt = on_envrcpt;
    desc.xxfi_header = on_header;
    desc.xxfi_body = on_body;
    desc.xxfi_eom = on_eom;
    desc.xxfi_close = on_close;
    desc.xxfi_negotiate = on_negotiate;
    if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS) {
        std::fprintf(stderr, "null_milter: cannot register on %s\n", argv[1]);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
