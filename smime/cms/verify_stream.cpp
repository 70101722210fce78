// Streaming BER walk of an encapsulated SignedData; see verify_stream.h. Untrusted input:
// the one hand-written BER header reader of the verifier, checked at every step.
#include "smime/cms/verify_stream.h"

#include <gnutls/crypto.h>

#include <algorithm>
#include <array>
#include <memory>

#include "base/error.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/ber_stream.h"
#include "smime/cms/decode.h"
#include "smime/cms/definite_lengths.h"
#include "smime/cms/der_oids.h"
#include "smime/cms/der_length.h"
#include "smime/cms/verify_signature.h"

namespace ssm::smime::cms {
namespace {

// Hashes the content with every digest of digestAlgorithms we know. The SET's elements are
// read one by one (listed_digest_algorithm: one that is no AlgorithmIdentifier is passed over).
void add_listed_digests(ByteView digest_algorithms_set, DigestSet& hashes)
{
    MemorySource src(digest_algorithms_set);
    BerStream r(src, "SignedData");
    const BerHeader set = r.header();
    BerFrame f = r.open(set, nullptr);
    BerHeader h;
    while (r.next_child(f, h)) {
        Bytes tlv;
        std::size_t budget = digest_algorithms_set.size();
        r.copy_element(h, &tlv, budget, 0);
        const auto id = listed_digest_algorithm(tlv);
        if (!id) continue;
        std::string ignored;  // a digest we cannot compute fails its SignerInfo later
        if (const auto d = verify_digest_from_id(*id, ignored)) hashes.add(id->oid, *d);
    }
}

}  // namespace

StreamedSignedData read_signed_data_stream(ByteSource& der, ByteSink& content_out,
                                           std::optional<std::span<const AlgorithmId>> second_pass_digests)
{
    BerStream r(der, "SignedData");
    std::size_t budget = kMaxSignedDataStructure;

    const BerHeader ci_h = r.header();
    if (ci_h.tag != 0x30) r.malformed("ContentInfo is not a SEQUENCE");
    BerFrame ci = r.open(ci_h, nullptr);
    const Bytes type = r.read_child(ci, 0x06, "contentType", budget, 3);
    if (!der_oid::is(type, der_oid::kSignedData))
        r.malformed("ContentInfo is not signedData");
    BerHeader h;
    if (!r.next_child(ci, h) || h.tag != 0xA0) r.malformed("missing content [0]");
    BerFrame c0 = r.open(h, &ci);
    if (!r.next_child(c0, h) || h.tag != 0x30) r.malformed("missing SignedData or not a SEQUENCE");
    BerFrame sd = r.open(h, &c0);

    Bytes body = r.read_child(sd, 0x02, "version", budget, 3);
    const Bytes digest_algorithms = r.read_child(sd, 0x31, "digestAlgorithms", budget, 3);
    body.insert(body.end(), digest_algorithms.begin(), digest_algorithms.end());

    if (!r.next_child(sd, h) || h.tag != 0x30) r.malformed("missing encapContentInfo or not a SEQUENCE");
    BerFrame eci = r.open(h, &sd);
    const Bytes econtent_type = r.read_child(eci, 0x06, "eContentType", budget, 3);
    const Bytes eci_der_header = der_header(0x30, econtent_type.size());
    body.insert(body.end(), eci_der_header.begin(), eci_der_header.end());
    body.insert(body.end(), econtent_type.begin(), econtent_type.end());

    StreamedSignedData out;
    DigestSet hashes;
    if (!second_pass_digests) add_listed_digests(digest_algorithms, hashes);
    for (const auto& id : second_pass_digests.value_or(std::span<const AlgorithmId>())) {
        std::string ignored;
        if (const auto d = verify_digest_from_id(id, ignored)) hashes.add(id.oid, *d);
    }
    if (r.next_child(eci, h)) {
        if (h.tag != 0xA0) r.malformed("unexpected element in encapContentInfo");
        BerFrame ec = r.open(h, &eci);
        BerHeader os;
        if (!r.next_child(ec, os)) r.malformed("empty eContent");
        if (os.tag != 0x04 && os.tag != 0x24) r.malformed("eContent is not an OCTET STRING");
        TeeSink tee(content_out, hashes);
        r.stream_octets(os, &ec, tee, 5);
        out.had_content = true;
        r.expect_end(ec, "eContent");
        r.expect_end(eci, "encapContentInfo");
    }
    // certificates [0], crls [1], signerInfos: copied as received.
    while (r.next_child(sd, h)) r.copy_element(h, &body, budget, 3);
    r.expect_end(c0, "content [0]");
    r.expect_end(ci, "ContentInfo");
    if (!r.at_eof()) r.malformed("trailing bytes after ContentInfo");

    Bytes signed_data = der_header(0x30, body.size());
    signed_data.insert(signed_data.end(), body.begin(), body.end());
    // The parts copied as received may hold indefinite lengths (BER streaming encoders);
    // libtasn1 and the certificate matching want them definite.
    out.signed_data = with_definite_lengths(signed_data);
    out.content_digests = hashes.finish();
    return out;
}

}  // namespace ssm::smime::cms
