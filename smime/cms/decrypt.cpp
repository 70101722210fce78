// decrypt_envelope: match RecipientInfos to our keys, recover the content key, stream the
// content through the cipher, check the trailer; see decrypt.h. The message is untrusted;
// after a match every failure is funnelled into one DecryptionFailed (RFC 3218).
#include "smime/cms/decrypt.h"

#include <gnutls/x509.h>
#include <nettle/memops.h>

#include <algorithm>
#include <memory>

#include "base/gnutls_handles.h"
#include "smime/cms/asn1.h"
#include "smime/cms/certificate_id.h"
#include "smime/cms/decrypt_content.h"
#include "smime/cms/decrypt_key.h"
#include "smime/cms/decrypt_stream.h"
#include "smime/cms/definite_lengths.h"
#include "smime/cms/enveloped_decode.h"

namespace ssm::smime::cms {
namespace {

// How RecipientInfos can name one of our certificates.
struct OurKey {
    std::shared_ptr<Decrypter> key;
    std::optional<IssuerSerial> issuer_serial;
    std::optional<Bytes> subject_key_id;
};

std::optional<Bytes> subject_key_id_of(ByteView der)
{
    const GnutlsCrt crt = new_gnutls_crt();
    gnutls_datum_t d{const_cast<std::uint8_t*>(der.data()), unsigned(der.size())};
    if (gnutls_x509_crt_import(crt.get(), &d, GNUTLS_X509_FMT_DER) < 0) return std::nullopt;
    Bytes ski(64);
    std::size_t size = ski.size();
    unsigned critical = 0;
    if (gnutls_x509_crt_get_subject_key_id(crt.get(), ski.data(), &size, &critical) < 0) return std::nullopt;
    ski.resize(size);
    return ski;
}

std::vector<OurKey> identify(const std::vector<std::shared_ptr<Decrypter>>& keys)
{
    std::vector<OurKey> out;
    for (const auto& k : keys) {
        if (!k) continue;
        OurKey o{k, std::nullopt, subject_key_id_of(k->certificate_der())};
        try {
            o.issuer_serial = issuer_serial_of(k->certificate_der());
        } catch (const Error&) {  // a certificate that does not parse names nothing
        }
        out.push_back(std::move(o));
    }
    return out;
}

bool names(const RecipientIdView& rid, const OurKey& k)
{
    if (rid.issuer_serial) return k.issuer_serial && *rid.issuer_serial == *k.issuer_serial;
    return rid.subject_key_id && k.subject_key_id && *rid.subject_key_id == *k.subject_key_id;
}

struct Match {
    const RecipientInfoView* ri = nullptr;
    const EncryptedKeyView* encrypted = nullptr;
    const OurKey* key = nullptr;
};

Match find_match(const EnvelopedDataView& v, const std::vector<OurKey>& ours)
{
    for (const auto& ri : v.recipients) {
        if (ri.kind != "ktri" && ri.kind != "kari") continue;
        for (const auto& ek : ri.keys)
            for (const auto& k : ours)
                if (names(ek.rid, k)) return {&ri, &ek, &k};
    }
    return {};
}

// The tag of the content (read again from `der`, rewound; nothing written) with `aad` as the
// additional authenticated data, compared with `mac`.
bool tag_matches(ByteSource& der, const ContentAlgorithm& alg, const SecretBytes& cek, ByteView aad, ByteView mac)
{
    der.rewind();
    EnvelopedStream again(der);
    again.read_prefix();  // the same octets as the first time
    DiscardSink discard;
    ContentDecryptor dec(alg, cek, discard, aad);
    again.stream_content(dec);
    again.read_trailer();
    return dec.finish(mac);
}

// RFC 5083 §2.1: authAttrs are the AEAD's additional authenticated data (GCM and
// ChaCha20-Poly1305 alike: the rule is AuthEnvelopedData's), DER-encoded with the EXPLICIT
// SET OF tag instead of the [1] IMPLICIT tag they are sent with. They follow the content,
// which has been decrypted by then: the plaintext of GCM (CTR) and of ChaCha20 (a key stream)
// does not depend on them, only the tag does. So the content is read a second time to
// compute the tag with them. False when the tag does not match. The sender MACs their DER
// (§2.1): attributes sent in indefinite length are tried in their definite form, which is
// their DER when the values inside are DER; attributes otherwise not in DER (out of DER order,
// strings in segments) are tried again in DER (in_der_form, then libtasn1's encoder, which
// sorts SET OF), as verify.cpp does for signed attributes. That third pass depends on the
// encoding received and on the tag failing, which any changed key or content makes it do
// alike, so it tells an attacker nothing the outcome does not (RFC 3218).
bool tag_with_auth_attrs(ByteSource& der, const ContentAlgorithm& alg, const SecretBytes& cek,
                         const Bytes& auth_attrs, ByteView mac)
{
    if (auth_attrs.size() < 2 || auth_attrs[0] != 0xA1) return false;
    Bytes aad = with_definite_lengths(auth_attrs);
    aad[0] = 0x31;  // SET OF
    if (tag_matches(der, alg, cek, aad, mac)) return true;
    const Bytes in_der = Asn1Node::decode("Attributes", in_der_form(aad)).encode();
    return in_der != aad && tag_matches(der, alg, cek, in_der, mac);
}

// The content key of one match: one key operation (RSA decryption or ECDH) on its key. Never
// fails on bad key material: an invalid block yields a random key (decrypt_key.h).
RecoveredKey recover_key(const Match& m, const ContentAlgorithm& alg)
{
    return m.ri->kind == "ktri"
               ? recover_ktri_key(*m.key->key, m.ri->key_encryption_algorithm, m.encrypted->encrypted_key, alg.key_size)
               : recover_kari_key(*m.key->key, *m.ri, m.encrypted->encrypted_key, alg.key_size);
}

// Everything after the match(es): the content key of every match, which must all be the same
// key, then the content decrypted once with it. Throws DecryptionFailed for cryptographic
// failures it sees itself; the caller maps the rest.
DecryptOutcome decrypt_matched(ByteSource& der, EnvelopedStream& in, const EnvelopedStream::Prefix& prefix,
                               const EnvelopedDataView& v, const std::vector<Match>& matches, ByteSink& plaintext)
{
    std::string why;
    const auto alg = content_algorithm_of(v.content_encryption_algorithm, &why);
    if (!alg)
        throw DecryptionFailed("unsupported content encryption " + v.content_encryption_algorithm.oid +
                               (why.empty() ? "" : ": " + why));
    if (alg->aead != prefix.authenticated)
        throw DecryptionFailed("content cipher does not fit the content type");
    if (!prefix.has_content) throw DecryptionFailed("detached encryptedContent");

    RecoveredKey cek = recover_key(matches.front(), *alg);
    // Every other match must unwrap the same key. Compared in constant time and folded into
    // one flag read only after the content, like `valid` (RFC 3218): an invalid block is a
    // random key, so it is a mismatch, not a failure of its own.
    bool all_valid = cek.valid, same = true;
    std::string problem = cek.problem;
    for (std::size_t i = 1; i < matches.size(); ++i) {
        const RecoveredKey other = recover_key(matches[i], *alg);
        all_valid &= other.valid;
        same &= other.cek.size() == cek.cek.size() && memeql_sec(other.cek.data(), cek.cek.data(), cek.cek.size()) == 1;
        if (problem.empty()) problem = other.problem;
    }

    // With an invalid key this still runs to the end, on a random key (RFC 3218 §2.3).
    ContentDecryptor dec(*alg, cek.cek, plaintext);
    in.stream_content(dec);
    const EnvelopedStream::Trailer t = in.read_trailer();
    bool content_ok = dec.finish(t.mac ? ByteView(*t.mac) : ByteView());
    // With authAttrs the tag above (without them) means nothing: recomputed with them, also on
    // a random key, so that every failure takes the same way (RFC 3218).
    if (t.auth_attrs && t.mac) content_ok = tag_with_auth_attrs(der, *alg, cek.cek, *t.auth_attrs, *t.mac);
    if (!all_valid) throw DecryptionFailed(cek.key_management + ": " + problem);
    if (!same) throw DecryptionFailed("the recipients' keys unwrap different content keys");
    if (!content_ok)
        throw DecryptionFailed(!alg->aead ? "CBC padding or length invalid"
                               : alg->gnutls == GNUTLS_CIPHER_CHACHA20_POLY1305 ? "Poly1305 tag mismatch"
                                                                                : "GCM tag mismatch");

    const Match& m = matches.front();
    DecryptOutcome out;
    out.status = DecryptStatus::Decrypted;
    out.cipher = alg->cipher;
    out.cipher_name = alg->name;
    out.key_management = cek.key_management;
    out.recipient_certificate_der = m.key->key->certificate_der();
    out.auth_enveloped = prefix.authenticated;
    out.content_type = v.content_type;
    return out;
}

// decrypt_matched with every failure after a match funnelled into DecryptionFailed, except
// those that do not depend on the message's secrets (token, sink, internal).
DecryptOutcome decrypt_mapped(ByteSource& der, EnvelopedStream& in, const EnvelopedStream::Prefix& prefix,
                              const EnvelopedDataView& v, const std::vector<Match>& matches, ByteSink& plaintext)
{
    try {
        return decrypt_matched(der, in, prefix, v, matches, plaintext);
    } catch (const DecryptionFailed&) {
        throw;
    } catch (const Error& e) {
        switch (e.failure()) {
        case Failure::MalformedMessage:
        case Failure::MessageTooLarge:
        case Failure::PolicyViolation:
        case Failure::CryptographicFailure:
            throw DecryptionFailed(std::string(failure_name(e.failure())) + ": " + e.what());
        default:
            throw;  // token, sink (spool) and internal failures keep their class
        }
    }
}

}  // namespace

DecryptOutcome decrypt_envelope(ByteSource& der, const std::vector<std::shared_ptr<Decrypter>>& keys,
                                ByteSink& plaintext)
{
    EnvelopedStream in(der);
    const EnvelopedStream::Prefix prefix = in.read_prefix();
    const EnvelopedDataView v = decode_enveloped_prefix(prefix.content_info, prefix.authenticated);
    const std::vector<OurKey> ours = identify(keys);
    const Match m = find_match(v, ours);
    if (!m.ri) return {};  // NotForUs
    return decrypt_mapped(der, in, prefix, v, {m}, plaintext);
}

DecryptOutcome decrypt_envelope_for_each(ByteSource& der,
                                         const std::vector<std::vector<std::shared_ptr<Decrypter>>>& key_sets,
                                         ByteSink& plaintext)
{
    if (key_sets.empty()) return {};
    EnvelopedStream in(der);
    const EnvelopedStream::Prefix prefix = in.read_prefix();
    const EnvelopedDataView v = decode_enveloped_prefix(prefix.content_info, prefix.authenticated);
    // Every set's key is named before any is used: whether a key operation happens at all
    // must not depend on another set's outcome.
    std::vector<std::vector<OurKey>> ours;  // owns what the matches point into
    ours.reserve(key_sets.size());
    std::vector<Match> matches;
    for (const auto& set : key_sets) {
        ours.push_back(identify(set));
        const Match m = find_match(v, ours.back());
        if (!m.ri) return {};  // NotForUs
        // The same key on the same encryptedKey (a recipient listed twice in the envelope,
        // or two addresses of one key) is one key operation, not one per set: the token work
        // is bounded by the distinct keys named. Decided on the naming alone (public).
        const bool again = std::any_of(matches.begin(), matches.end(), [&](const Match& seen) {
            return seen.encrypted == m.encrypted && seen.key->key == m.key->key;
        });
        if (!again) matches.push_back(m);
    }
    return decrypt_mapped(der, in, prefix, v, matches, plaintext);
}

std::optional<Bytes> matching_key(ByteSource& der, const std::vector<std::shared_ptr<Decrypter>>& keys)
{
    EnvelopedStream in(der);
    const EnvelopedStream::Prefix prefix = in.read_prefix();
    const EnvelopedDataView v = decode_enveloped_prefix(prefix.content_info, prefix.authenticated);
    const std::vector<OurKey> ours = identify(keys);
    const Match m = find_match(v, ours);
    if (!m.ri) return std::nullopt;
    return m.key->key->certificate_der();
}

}  // namespace ssm::smime::cms
