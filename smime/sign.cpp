// Message signing: canonical entity -> digest -> SignedData -> new MIME body.
// The entity streams through a spool so memory stays bounded for any message size.
#include "smime/sign.h"

#include "base/ascii.h"
#include "base/error.h"
#include "smime/cms/digest.h"
#include "smime/cms/signed_data.h"
#include "smime/mime/boundary.h"
#include "smime/mime/canonical.h"
#include "smime/mime/encoders.h"

namespace ssm::smime {

namespace {

// Names a signature and digest as the micalg parameter does (RFC 8551 §3.5.3.2).
std::string micalg(DigestAlgorithm d)
{
    return std::string(digest_name(d));
}

}  // namespace

HeaderEdit content_fields_moved_inside(const std::vector<mime::HeaderField>& headers)
{
    HeaderEdit edit;
    std::vector<std::pair<std::string, int>> seen;  // lower-case name -> count so far
    bool has_mime_version = false;
    for (const auto& h : headers) {
        const std::string lower = ascii_lowercase(h.name);
        int index = 1;
        bool found = false;
        for (auto& [name, count] : seen) {
            if (name == lower) {
                index = ++count;
                found = true;
            }
        }
        if (!found) seen.emplace_back(lower, 1);
        if (mime::is_content_field(h.name)) edit.remove.push_back({h.name, index});
        if (lower == "mime-version") has_mime_version = true;
    }
    if (!has_mime_version) edit.add.push_back({"MIME-Version", "1.0"});
    return edit;
}

SignatureScheme scheme_for(KeyType key, SignatureScheme rsa_scheme)
{
    switch (key) {
    case KeyType::Rsa: return rsa_scheme;
    case KeyType::Ec: return SignatureScheme::Ecdsa;
    case KeyType::Ed25519: return SignatureScheme::Ed25519;
    }
    return rsa_scheme;
}

DigestAlgorithm digest_for(SignatureScheme scheme, DigestAlgorithm configured)
{
    return scheme == SignatureScheme::Ed25519 ? DigestAlgorithm::Sha512 : configured;
}

SignatureScheme scheme_for(const Signer& signer, SignatureScheme rsa_scheme)
{
    if (signer.key_type() == KeyType::Rsa && signer.restriction().rsa_pss_only) return SignatureScheme::RsaPss;
    return scheme_for(signer.key_type(), rsa_scheme);
}

DigestAlgorithm digest_for(const Signer& signer, SignatureScheme scheme, DigestAlgorithm configured)
{
    if (scheme == SignatureScheme::RsaPss)
        if (const auto own = signer.restriction().digest) return *own;
    return digest_for(scheme, configured);
}

SignResult sign_message(const std::vector<mime::HeaderField>& headers, ByteSource& body,
                        Signer& signer, const SignParameters& params, Spool& scratch,
                        ByteSink& out)
{
    if (scratch.size() != 0) throw Error(Failure::Internal, "sign_message: scratch spool not empty");
    SignResult result;
    result.scheme = scheme_for(signer, params.rsa_scheme);
    result.digest = digest_for(signer, result.scheme, params.digest);
    result.headers = content_fields_moved_inside(headers);

    // Pass 1: the canonical entity goes to the scratch spool and through the hash.
    cms::Hasher hasher(result.digest);
    {
        TeeSink tee(scratch, hasher);
        for (const auto& f : params.protected_fields) mime::write_header_field(tee, f);
        body.rewind();
        mime::write_canonical_entity(headers, body, tee, params.limits);
    }
    const Bytes digest = hasher.finish();
    result.signed_bytes = scratch.size();

    cms::SignOptions options;
    options.digest = result.digest;
    options.scheme = result.scheme;
    options.include_chain = params.include_chain;
    options.signing_time = params.signing_time;
    options.extra_signed_attributes = params.extra_signed_attributes;
    options.encryption_certificate_der = params.encryption_certificate_der;

    if (params.format == SignatureFormat::Detached) {
        const cms::SignedDataParts der =
            cms::encode_signed_data(signer, options, digest, std::nullopt);
        result.signed_attributes_der = der.signed_attributes_der;
        result.signature = der.signature;
        const std::string boundary = mime::make_boundary();
        out.write(std::string_view("This is an S/MIME signed message.\r\n\r\n--"));
        out.write(boundary);
        out.write(std::string_view("\r\n"));
        copy_spool(scratch, out);
        out.write(std::string_view("\r\n--"));
        out.write(boundary);
        out.write(std::string_view(
            "\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n"));
        {
            mime::Base64Encoder b64(out);
            b64.write(der.head);
            b64.write(der.tail);
            b64.finish();  // ends with CRLF, which the closing delimiter needs before it
        }
        out.write(std::string_view("--"));
        out.write(boundary);
        out.write(std::string_view("--\r\n"));
        // Folded (CRLF and a tab) so that no line passes RFC 5322's 78 characters.
        result.headers.add.push_back(
            {"Content-Type", "multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\tmicalg=" +
                                 micalg(result.digest) + ";\r\n\tboundary=\"" + boundary + "\""});
    } else {
        const cms::SignedDataParts der =
            cms::encode_signed_data(signer, options, digest, scratch.size());
        result.signed_attributes_der = der.signed_attributes_der;
        result.signature = der.signature;
        mime::Base64Encoder b64(out);
        b64.write(der.head);
        copy_spool(scratch, b64);
        b64.write(der.tail);
        b64.finish();
        result.headers.add.push_back(
            {"Content-Type", "application/pkcs7-mime; smime-type=signed-data;\r\n\tname=\"smime.p7m\""});
        result.headers.add.push_back({"Content-Transfer-Encoding", "base64"});
        result.headers.add.push_back(
            {"Content-Disposition", "attachment; filename=\"smime.p7m\""});
    }
    return result;
}

}  // namespace ssm::smime
