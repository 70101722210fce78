// Unit tests for the classification of inbound S/MIME layers (milter/inbound_layers.h,
// smime/cms/content_kind.h) and the liberal MIME parameter parsing it relies on: labels as
// real MUAs write them, and the CMS contentType of OpenSSL-made objects deciding over them.
#include <cppunit/extensions/HelperMacros.h>

#include "milter/inbound_layers.h"
#include "smime/cms/content_kind.h"
#include "smime/mime/content_type.h"
#include "smime/mime/scanner.h"
#include "test_support.h"

using namespace ssm;
using namespace ssm::milter;
using smime::mime::HeaderField;

namespace {

// CMS objects made by OpenSSL once per program: DER and base64 (openssl base64, 64 columns).
const std::filesystem::path& cms_dir()
{
    static test::TempDir d;
    static const bool made = [] {
        const auto& pki = test::program_pki();
        const std::string p = pki.string();
        test::run("cd '" + d.path().string() + "' && export OPENSSL_CONF=/dev/null && "
                  "printf 'Content-Type: text/plain\\r\\n\\r\\nhello\\r\\n' > m.txt && "
                  "openssl cms -encrypt -binary -aes-256-cbc -in m.txt -outform DER -out env.der '" + p + "/alice.cert.pem' && "
                  "openssl cms -encrypt -binary -aes-256-gcm -in m.txt -outform DER -out auth.der '" + p + "/alice.cert.pem' && "
                  "openssl cms -sign -binary -nodetach -stream -in m.txt -outform DER -out signed-ber.der -signer '" + p +
                  "/dave.cert.pem' -inkey '" + p + "/dave.key.pem' && "
                  "openssl cms -data_create -in m.txt -outform DER -out data.der && "
                  "head -c 5 env.der > truncated.der && "
                  "for f in env signed-ber; do openssl base64 -in $f.der -out $f.b64; done >/dev/null 2>&1");
        return true;
    }();
    (void)made;
    return d.path();
}

smime::cms::ContentKind peek(const std::string& file)
{
    const Bytes der = to_bytes(test::read_file(cms_dir() / file));
    MemorySource src(der);
    return smime::cms::peek_content_kind(src);
}

std::vector<HeaderField> fields(std::initializer_list<std::pair<const char*, const char*>> l)
{
    std::vector<HeaderField> out;
    for (const auto& [n, v] : l) out.push_back({n, v});
    return out;
}

smime::mime::Part part(const char* type, const char* subtype, std::vector<smime::mime::Part> children = {})
{
    smime::mime::Part p;
    p.type = type;
    p.subtype = subtype;
    p.children = std::move(children);
    return p;
}

}  // namespace

class InboundLayersTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(InboundLayersTest);
    CPPUNIT_TEST(bare_tspecials_in_parameter_values);
    CPPUNIT_TEST(content_disposition_parameters);
    CPPUNIT_TEST(label_table);
    CPPUNIT_TEST(content_kind_of_openssl_objects);
    CPPUNIT_TEST(cms_content_type_decides_over_the_label);
    CPPUNIT_TEST(efail_parts_but_not_triple_wrap);
    CPPUNIT_TEST(efail_parts_by_name_and_second_type);
    CPPUNIT_TEST(restorable_fields);
    CPPUNIT_TEST(signed_entity_with_bare_lfs_and_a_lone_cr);
    CPPUNIT_TEST(line_end_forms_tried);
    CPPUNIT_TEST_SUITE_END();

public:
    void bare_tspecials_in_parameter_values()
    {
        using smime::mime::parse_content_type;
        auto ct = parse_content_type("multipart/signed; protocol=application/pkcs7-signature; micalg=SHA-256; "
                                     "boundary=----=_NextPart_000_0001_01D2");
        CPPUNIT_ASSERT(ct);
        CPPUNIT_ASSERT_EQUAL(std::string("application/pkcs7-signature"), ct->param("protocol").value_or(""));
        CPPUNIT_ASSERT_EQUAL(std::string("SHA-256"), ct->param("micalg").value_or(""));
        CPPUNIT_ASSERT_EQUAL(std::string("----=_NextPart_000_0001_01D2"), ct->param("boundary").value_or(""));
        // A bare value still ends at a comment, a blank or the next parameter.
        ct = parse_content_type("multipart/mixed; boundary=a.b/c(comment);x=y z");
        CPPUNIT_ASSERT_EQUAL(std::string("a.b/c"), ct->param("boundary").value_or(""));
        CPPUNIT_ASSERT_EQUAL(std::string("y"), ct->param("x").value_or(""));
        ct = parse_content_type("multipart/mixed; boundary=\"quoted; with=specials\"");
        CPPUNIT_ASSERT_EQUAL(std::string("quoted; with=specials"), ct->param("boundary").value_or(""));
    }

    void content_disposition_parameters()
    {
        auto cd = smime::mime::parse_content_disposition("Attachment (x); FileName=\"smime.p7m\"; size=12");
        CPPUNIT_ASSERT(cd);
        CPPUNIT_ASSERT_EQUAL(std::string("attachment"), cd->type);
        CPPUNIT_ASSERT_EQUAL(std::string("smime.p7m"), cd->param("filename").value_or(""));
        cd = smime::mime::parse_content_disposition("inline; filename*=utf-8''smime%2Ep7m");
        CPPUNIT_ASSERT_EQUAL(std::string("smime.p7m"), cd->param("filename").value_or(""));
        CPPUNIT_ASSERT(!smime::mime::parse_content_disposition("  ; filename=x"));
    }

    void label_table()
    {
        const struct {
            const char* content_type;
            const char* disposition;  // nullptr: no Content-Disposition
            SmimeLabel want;
        } rows[] = {
            {"multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b", nullptr, SmimeLabel::Detached},
            {"Multipart/Signed; Protocol=\"Application/X-PKCS7-Signature\"; boundary=b", nullptr, SmimeLabel::Detached},
            {"multipart/signed; protocol=application/pkcs7-signature; boundary=b", nullptr, SmimeLabel::Detached},
            {"multipart/signed; protocol=\"application/pgp-signature\"; boundary=b", nullptr, SmimeLabel::None},
            // No protocol (against RFC 1847): micalg tells S/MIME from PGP/MIME; neither, nothing.
            {"multipart/signed; micalg=sha-256; boundary=b", nullptr, SmimeLabel::Detached},
            {"multipart/signed; micalg=\"2.16.840.1.101.3.4.2.1\"; boundary=b", nullptr, SmimeLabel::Detached},
            {"multipart/signed; micalg=PGP-SHA256; boundary=b", nullptr, SmimeLabel::None},
            {"multipart/signed; boundary=b", nullptr, SmimeLabel::None},
            {"application/pkcs7-mime; smime-type=enveloped-data", nullptr, SmimeLabel::Pkcs7Enveloped},
            {"application/x-pkcs7-mime; Smime-Type=\"AuthEnveloped-Data\"", nullptr, SmimeLabel::Pkcs7Enveloped},
            {"application/pkcs7-mime; smime-type=signed-data", nullptr, SmimeLabel::Pkcs7Signed},
            // RFC 2634 §2: a signed receipt is signed-data (holding a Receipt).
            {"application/pkcs7-mime; smime-type=signed-receipt; name=smime.p7m", nullptr, SmimeLabel::Pkcs7Signed},
            {"application/pkcs7-mime; name=smime.p7m", nullptr, SmimeLabel::Pkcs7Unlabelled},
            {"application/pkcs7-mime", nullptr, SmimeLabel::Pkcs7Unlabelled},
            {"application/pkcs7-mime; smime-type=certs-only; name=smime.p7c", nullptr, SmimeLabel::None},
            {"application/pkcs7-mime; smime-type=compressed-data", nullptr, SmimeLabel::Pkcs7Compressed},
            {"application/pkcs7-mime; name=smime.p7c", nullptr, SmimeLabel::None},
            {"application/x-pkcs7-mime; name=\"SMIME.P7Z\"", nullptr, SmimeLabel::Pkcs7Compressed},
            {"application/octet-stream; name=\"SMIME.P7M\"", nullptr, SmimeLabel::Pkcs7Unlabelled},
            {"application/octet-stream", "attachment; filename=smime.p7m", SmimeLabel::Pkcs7Unlabelled},
            {"application/octet-stream; name=report.pdf", "attachment; filename=report.pdf", SmimeLabel::None},
            {"application/octet-stream; name=p7m", nullptr, SmimeLabel::None},
            {"text/plain; name=smime.p7m", nullptr, SmimeLabel::None},
        };
        for (const auto& r : rows) {
            auto h = fields({{"Content-Type", r.content_type}});
            if (r.disposition) h.push_back({"Content-Disposition", r.disposition});
            CPPUNIT_ASSERT_MESSAGE(r.content_type, label_of(h) == r.want);
        }
        CPPUNIT_ASSERT(label_of({}) == SmimeLabel::None);
    }

    void content_kind_of_openssl_objects()
    {
        using smime::cms::ContentKind;
        CPPUNIT_ASSERT(peek("env.der") == ContentKind::EnvelopedData);
        CPPUNIT_ASSERT(peek("auth.der") == ContentKind::AuthEnvelopedData);
        CPPUNIT_ASSERT(peek("signed-ber.der") == ContentKind::SignedData);  // indefinite lengths
        CPPUNIT_ASSERT(peek("data.der") == ContentKind::Other);
        CPPUNIT_ASSERT(peek("truncated.der") == ContentKind::NotCms);
        CPPUNIT_ASSERT(peek("m.txt") == ContentKind::NotCms);
        MemorySource empty(ByteView{});
        CPPUNIT_ASSERT(smime::cms::peek_content_kind(empty) == ContentKind::NotCms);
    }

    void cms_content_type_decides_over_the_label()
    {
        test::TempDir spool;
        auto body_of = [&](const std::string& file) {
            auto s = std::make_unique<Spool>(spool.path().string(), 1 << 20);
            s->write(to_bytes(test::read_file(cms_dir() / file)));
            return s;
        };
        const auto b64 = fields({{"Content-Transfer-Encoding", "Base64"}});
        const struct {
            const char* file;
            SmimeLabel label;
            SmimeKind want;
            const char* note;
        } rows[] = {
            {"env.b64", SmimeLabel::Pkcs7Enveloped, SmimeKind::Enveloped, ""},
            {"env.b64", SmimeLabel::Pkcs7Unlabelled, SmimeKind::Enveloped, "cms-content-type=enveloped-data"},
            {"env.b64", SmimeLabel::Pkcs7Signed, SmimeKind::Enveloped, "cms-content-type=enveloped-data"},
            {"signed-ber.b64", SmimeLabel::Pkcs7Enveloped, SmimeKind::OpaqueSigned, "cms-content-type=signed-data"},
            {"signed-ber.b64", SmimeLabel::Pkcs7Signed, SmimeKind::OpaqueSigned, ""},
            // No CMS object: the label decides (so a damaged one fails as what it claims).
            {"m.txt", SmimeLabel::Pkcs7Enveloped, SmimeKind::Enveloped, ""},
            {"m.txt", SmimeLabel::Pkcs7Signed, SmimeKind::OpaqueSigned, ""},
            {"m.txt", SmimeLabel::Pkcs7Unlabelled, SmimeKind::None, ""},
        };
        for (const auto& r : rows) {
            const auto body = body_of(r.file);
            const bool base64 = std::string(r.file).ends_with(".b64");
            const CmsBody c = open_cms_body(r.label, base64 ? b64 : fields({}), *body, spool.path().string(), 1 << 20);
            CPPUNIT_ASSERT_MESSAGE(r.file, c.kind == r.want);
            CPPUNIT_ASSERT_EQUAL(std::string(r.note), c.note);
        }
        // The decoded object is what OpenSSL wrote.
        const auto body = body_of("env.b64");
        const CmsBody c = open_cms_body(SmimeLabel::Pkcs7Enveloped, b64, *body, spool.path().string(), 1 << 20);
        MemorySink decoded;
        auto r = c.der->reader();
        copy_stream(*r, decoded);
        CPPUNIT_ASSERT(decoded.data() == to_bytes(test::read_file(cms_dir() / "env.der")));
    }

    void efail_parts_but_not_triple_wrap()
    {
        const auto enc = [] { return part("application", "pkcs7-mime"); };
        const auto sig = [] { return part("application", "pkcs7-signature"); };
        const auto text = [] { return part("text", "plain"); };
        CPPUNIT_ASSERT(!has_nested_encrypted_part(enc()));
        CPPUNIT_ASSERT(has_nested_encrypted_part(part("multipart", "mixed", {text(), enc()})));
        CPPUNIT_ASSERT(has_nested_encrypted_part(part("multipart", "mixed", {part("multipart", "alternative", {enc()})})));
        // Triple wrap: the whole signed entity is the encrypted object.
        CPPUNIT_ASSERT(!has_nested_encrypted_part(part("multipart", "signed", {enc(), sig()})));
        // ... but not an encrypted part inside a signed multipart among clear ones.
        CPPUNIT_ASSERT(has_nested_encrypted_part(
            part("multipart", "signed", {part("multipart", "mixed", {text(), enc()}), sig()})));
        CPPUNIT_ASSERT(has_nested_encrypted_part(part("multipart", "mixed", {part("multipart", "signed", {enc(), sig()})})));
        // A certificate sent as an attachment (certs-only, or named .p7c without smime-type) is
        // no encrypted part; signed-data and compressed-data may hold one and still count.
        const auto typed = [](const char* subtype, const char* smime_type, const char* name) {
            smime::mime::Part p = part("application", subtype);
            p.smime_type = smime_type;
            p.name = name;
            return p;
        };
        CPPUNIT_ASSERT(!has_nested_encrypted_part(part("multipart", "mixed", {text(), typed("pkcs7-mime", "certs-only", "x.p7c")})));
        CPPUNIT_ASSERT(!has_nested_encrypted_part(part("multipart", "mixed", {text(), typed("x-pkcs7-mime", "", "Cert.P7C")})));
        CPPUNIT_ASSERT(has_nested_encrypted_part(part("multipart", "mixed", {text(), typed("pkcs7-mime", "enveloped-data", "x.p7c")})));
        CPPUNIT_ASSERT(has_nested_encrypted_part(part("multipart", "mixed", {text(), typed("pkcs7-mime", "signed-data", "")})));
        CPPUNIT_ASSERT(has_nested_encrypted_part(part("multipart", "mixed", {text(), typed("pkcs7-mime", "compressed-data", "")})));
    }

    // What clients open as S/MIME beside the pkcs7-mime label, through the real scanner: an
    // application/octet-stream named *.p7m in Content-Type or Content-Disposition (RFC 8551
    // §3.2.1; the inbound path decrypts those too) and a second Content-Type field claiming
    // pkcs7-mime. Each slipped past nested_encrypted = "reject" (found with EFAIL variants).
    void efail_parts_by_name_and_second_type()
    {
        const auto mixed_with = [](const std::string& part_header) {
            const std::string body = "--b\r\nContent-Type: text/html\r\n\r\n<img src=\"http://x/\r\n--b\r\n" + part_header +
                                     "\r\nContent-Transfer-Encoding: base64\r\n\r\nMIIBAA==\r\n--b\r\nContent-Type: text/html\r\n\r\n\">\r\n--b--\r\n";
            MemorySource src(as_bytes(body));
            return smime::mime::scan_body({{"Content-Type", "multipart/mixed; boundary=b"}}, src, {}).root;
        };
        CPPUNIT_ASSERT(has_nested_encrypted_part(mixed_with("Content-Type: application/pkcs7-mime; smime-type=enveloped-data")));
        CPPUNIT_ASSERT(has_nested_encrypted_part(mixed_with("Content-Type: application/octet-stream; name=smime.p7m")));
        CPPUNIT_ASSERT(has_nested_encrypted_part(mixed_with(
            "Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n filename=\"SMIME.P7M\"")));
        CPPUNIT_ASSERT(has_nested_encrypted_part(mixed_with(
            "Content-Type: text/plain\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data")));
        CPPUNIT_ASSERT(!has_nested_encrypted_part(mixed_with("Content-Type: application/octet-stream; name=report.pdf")));
        CPPUNIT_ASSERT(!has_nested_encrypted_part(
            mixed_with("Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=report.pdf")));
    }

    // Fields inside an encryption are the encrypting party's (anyone's) words: those the
    // gateway removes from outside or writes itself, and trace fields, never come out.
    void restorable_fields()
    {
        const struct {
            const char* name;
            bool want;
        } rows[] = {
            {"Subject", true}, {"From", true}, {"To", true}, {"Cc", true}, {"Date", true}, {"Message-ID", true},
            {"Reply-To", true}, {"Keywords", true}, {"X-Mailer", true}, {"X-SSM", true},
            {"Authentication-Results", false}, {"authentication-results", false}, {"X-SSM-Policy", false},
            {"x-ssm-decrypted", false}, {"X-Ssm-Undecryptable", false}, {"X-SSM-Reinjected", false},
            {"SIO-Label", false}, {"sio-label", false}, {"HP-Outer", false}, {"Received", false},
            {"Return-Path", false}, {"DKIM-Signature", false}, {"ARC-Seal", false}, {"Delivered-To", false},
            {"ARC-Authentication-Results", false}, {"X-SSM-Integrity", false}, {"Received-SPF", false},
            {"received-spf", false},
        };
        for (const auto& r : rows) CPPUNIT_ASSERT_MESSAGE(r.name, restorable_field(r.name) == r.want);
    }

    // Sign-then-encrypt with bare LFs (Thunderbird, KMail) around text holding a lone CR: the
    // signer hashed the CRLF form with the CR kept as it is. Found by
    // tests/integration/test_inbound_shapes.sh (shapes 9 and 21, enc-lf), 2026-12-05: the
    // lone CR was made CRLF too, and the signature failed ("message digest mismatch").
    void signed_entity_with_bare_lfs_and_a_lone_cr()
    {
        const std::string crlf = "Content-Type: text/plain\r\n\r\nover\rprinted\r\nend\r\n\rline\r\n";
        std::string lf;
        for (std::size_t i = 0; i < crlf.size(); ++i) {
            if (crlf.compare(i, 2, "\r\n") == 0) continue;  // drop the CR of each CRLF
            lf += crlf[i];
        }
        // OpenSSL (text mode: its canonical form) verifies the bare-LF form against a
        // signature over the CRLF form.
        const auto& pki = test::program_pki();
        test::TempDir d;
        test::write_file(d.path() / "crlf.txt", crlf);
        test::write_file(d.path() / "lf.txt", lf);
        test::run("cd '" + d.path().string() + "' && export OPENSSL_CONF=/dev/null && "
                  "openssl cms -sign -binary -in crlf.txt -outform DER -out sig.der -signer '" + pki.string() +
                  "/dave.cert.pem' -inkey '" + pki.string() + "/dave.key.pem' && "
                  "openssl cms -verify -noverify -inform DER -in sig.der -content lf.txt -out /dev/null 2>/dev/null");
        for (const std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{4096}}) {
            // Chunked reads: a CR at the end of one read and its LF at the start of the next.
            struct Chunked final : ByteSource {
                MemorySource src;
                std::size_t n;
                Chunked(ByteView v, std::size_t c) : src(v), n(c) {}
                std::size_t read(std::span<std::uint8_t> buf) override { return src.read(buf.first(std::min(n, buf.size()))); }
                void rewind() override { src.rewind(); }
                std::uint64_t size() const override { return src.size(); }
            };
            const Bytes lf_bytes = to_bytes(lf);
            Chunked in(lf_bytes, chunk);
            MemorySink out;
            signed_entity_crlf(in, out);
            CPPUNIT_ASSERT_EQUAL_MESSAGE("chunk " + std::to_string(chunk), crlf, out.str());
        }
    }

    // The forms try_line_end_forms writes, in order, for entities that verify in none: the
    // every-lone-CR-a-line-end form only when the entity holds a lone CR (until 2026-12-05 it
    // was tried for every bare-LF entity, the first form's bytes a second time), never a form
    // with the CRs before a line's LF taken out (a\r\r\n never becomes a\r\n). And none after
    // a form that verifies.
    void line_end_forms_tried()
    {
        struct Case {
            std::string in;
            std::vector<std::string> forms;
        };
        const std::vector<Case> cases = {
            {"a\nb\n", {"a\r\nb\r\n"}},
            {"a\r\nb\n", {"a\r\nb\r\n"}},
            {"a\r\r\nb\n", {"a\r\r\nb\r\n", "a\r\n\r\nb\r\n"}},  // the first CR is a lone one
            {"a\rb\n", {"a\rb\r\n", "a\r\nb\r\n"}},
            {"a\nb\r", {"a\r\nb\r", "a\r\nb\r\n"}},
        };
        for (const auto& c : cases) {
            const Bytes in_bytes = to_bytes(c.in);
            MemorySource in(in_bytes);
            std::vector<std::string> forms;
            const std::size_t tried = try_line_end_forms([&](const EntityForm& form) {
                MemorySink out;
                form(in, out);
                forms.push_back(out.str());
                return false;
            });
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, c.forms.size(), tried);
            CPPUNIT_ASSERT_MESSAGE(c.in, c.forms == forms);
        }
        const Bytes lone = to_bytes(std::string("a\rb\n"));
        MemorySource in(lone);
        std::size_t calls = 0;
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, try_line_end_forms([&](const EntityForm&) { return ++calls > 0; }));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, calls);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(InboundLayersTest);
