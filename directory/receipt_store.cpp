// The signed-receipt store; see receipt_store.h for what it keeps and the record format.
// Records are ours but read defensively: one that does not parse exactly reads as absent.
#include "directory/receipt_store.h"

#include <algorithm>

#include "base/ascii.h"
#include "base/email_address.h"
#include "base/error.h"
#include "directory/record_codec.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/digest.h"

namespace ssm::directory {
namespace {

constexpr std::uint8_t kVersion = 0x02;        // written
constexpr std::uint8_t kVersionNoFrom = 0x01;  // still read: no receiptsFrom (allReceipts)
constexpr std::size_t kSha256Size = 32;

void put_text(Bytes& out, std::string_view s)
{
    if (s.size() > kMaxStoredText) s = s.substr(0, kMaxStoredText);
    record::put_uint(out, s.size(), 2);
    out.insert(out.end(), s.begin(), s.end());
}

bool take_text(record::Reader& r, std::string& s)
{
    std::uint64_t n = 0;
    ByteView b;
    if (!r.uint(2, n) || n > kMaxStoredText || !r.take(n, b)) return false;
    s.assign(reinterpret_cast<const char*>(b.data()), b.size());
    return true;
}

Bytes encode(const ReceiptRequestRecord& rec)
{
    Bytes out{kVersion};
    record::put_time(out, rec.requested_at);
    Bytes sig = rec.signature_sha256;
    sig.resize(kSha256Size);
    record::put_bytes(out, sig);
    put_text(out, smime::cms::digest_algorithm_id(rec.digest).oid);
    put_text(out, std::string_view(reinterpret_cast<const char*>(rec.msg_sig_digest.data()), rec.msg_sig_digest.size()));
    put_text(out, rec.content_type);
    put_text(out, rec.message_id);
    put_text(out, rec.sender);
    const std::size_t n_rcpt = std::min(rec.recipients.size(), kMaxStoredRecipients);
    record::put_uint(out, n_rcpt, 1);
    for (std::size_t i = 0; i < n_rcpt; ++i) put_text(out, rec.recipients[i]);
    record::put_uint(out, static_cast<std::uint64_t>(rec.receipts_from), 1);
    const std::size_t n_list = std::min(rec.receipt_list.size(), smime::cms::kMaxReceiptList);
    record::put_uint(out, n_list, 2);
    for (std::size_t i = 0; i < n_list; ++i) put_text(out, rec.receipt_list[i]);
    const std::size_t n_recv = std::min(rec.received.size(), kMaxStoredReceipts);
    record::put_uint(out, n_recv, 1);
    for (std::size_t i = 0; i < n_recv; ++i) {
        const auto& r = rec.received[i];
        record::put_time(out, r.received_at);
        record::put_uint(out, r.valid ? 0 : 1, 1);
        put_text(out, r.from);
        put_text(out, r.detail);
    }
    return out;
}

std::optional<ReceiptRequestRecord> decode(ByteView key, ByteView value)
{
    record::Reader r(value);
    ReceiptRequestRecord rec;
    rec.content_identifier.assign(key.begin(), key.end());
    std::uint64_t version = 0, count = 0;
    std::int64_t t = 0;
    ByteView sig;
    std::string digest_oid, digest;
    if (!r.uint(1, version) || (version != kVersion && version != kVersionNoFrom) || !record::time(r, t) || !r.take(kSha256Size, sig) ||
        !take_text(r, digest_oid) || !take_text(r, digest) || !take_text(r, rec.content_type) ||
        !take_text(r, rec.message_id) || !take_text(r, rec.sender) || !r.uint(1, count) || count > kMaxStoredRecipients)
        return std::nullopt;
    const auto algorithm = smime::cms::digest_from_oid(digest_oid);
    if (!algorithm) return std::nullopt;
    rec.digest = *algorithm;
    rec.requested_at = static_cast<std::time_t>(t);
    rec.signature_sha256.assign(sig.begin(), sig.end());
    rec.msg_sig_digest = to_bytes(digest);
    for (std::uint64_t i = 0; i < count; ++i) {
        std::string a;
        if (!take_text(r, a)) return std::nullopt;
        rec.recipients.push_back(std::move(a));
    }
    if (version == kVersion) {
        std::uint64_t from = 0;
        if (!r.uint(1, from) || from > static_cast<std::uint64_t>(smime::cms::ReceiptsFrom::List) ||
            !r.uint(2, count) || count > smime::cms::kMaxReceiptList)
            return std::nullopt;
        rec.receipts_from = static_cast<smime::cms::ReceiptsFrom>(from);
        for (std::uint64_t i = 0; i < count; ++i) {
            std::string a;
            if (!take_text(r, a)) return std::nullopt;
            rec.receipt_list.push_back(std::move(a));
        }
    }
    if (!r.uint(1, count) || count > kMaxStoredReceipts) return std::nullopt;
    for (std::uint64_t i = 0; i < count; ++i) {
        ReceivedReceipt rr;
        std::uint64_t result = 0;
        if (!record::time(r, t) || !r.uint(1, result) || result > 1 || !take_text(r, rr.from) || !take_text(r, rr.detail))
            return std::nullopt;
        rr.received_at = static_cast<std::time_t>(t);
        rr.valid = result == 0;
        rec.received.push_back(std::move(rr));
    }
    if (!r.done()) return std::nullopt;
    return rec;
}

std::string_view key_of(ByteView id)
{
    if (id.empty() || id.size() > smime::cms::kMaxContentIdentifier)
        throw Error(Failure::MalformedMessage, "signedContentIdentifier of " + std::to_string(id.size()) + " octets");
    return {reinterpret_cast<const char*>(id.data()), id.size()};
}

ByteView view(const MDB_val& v) { return {static_cast<const std::uint8_t*>(v.mv_data), v.mv_size}; }

// Whether a certificate naming `names` speaks for one of `wanted`: it names the address, or it
// is the signing authority of the address's domain (RFC 3183; a gateway answering for its
// domain's recipients, as answer_receipts does with the domain signing identity by default).
// Addresses compare by address_comparison_key (base/email_address.h): a recipient written
// "ÜNAL@x" at RCPT is the "ünal@x" a certificate names.
bool names_one_of(const std::vector<std::string>& names, const std::vector<std::string>& wanted)
{
    return std::any_of(names.begin(), names.end(), [&](const std::string& name) {
        const std::string n = address_comparison_key(name);
        return std::any_of(wanted.begin(), wanted.end(), [&](const std::string& w) {
            const auto at = w.rfind('@');
            return n == address_comparison_key(w) ||
                   (at != std::string::npos && n == address_comparison_key(domain_signing_authority(w.substr(at + 1))));
        });
    });
}

// Why the receipt's signer was not one the request asked (RFC 2634 §2.2, §2.3); empty when it was.
std::string not_asked(const ReceiptRequestRecord& rec, const std::string& from, const std::vector<std::string>& names)
{
    if (!names_one_of(names, rec.recipients))
        return "receipt signed by " + from + ", whose certificate names none of the message's recipients";
    if (rec.receipts_from == smime::cms::ReceiptsFrom::List && !names_one_of(names, rec.receipt_list))
        return "receipt signed by " + from + ", who is not in the request's receiptList";
    return {};
}

}  // namespace

std::string identifier_hex(ByteView id)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (auto c : id) {
        s.push_back(digits[c >> 4]);
        s.push_back(digits[c & 15]);
    }
    return s;
}

std::optional<Bytes> identifier_from_hex(std::string_view hex)
{
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (hex.empty() || hex.size() % 2) return std::nullopt;
    Bytes out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    return out;
}

ReceiptStore::ReceiptStore(std::shared_ptr<lmdb::Environment> env) : m_env(std::move(env)), m_dbi(m_env->database("receipts"))
{
}

void ReceiptStore::record_request(const ReceiptRequestRecord& record)
{
    if (record.msg_sig_digest.empty() || record.msg_sig_digest.size() > 64 ||
        record.signature_sha256.size() != kSha256Size)
        throw Error(Failure::Internal, "receipt request record without msgSigDigest or signature digest");
    lmdb::Transaction txn(*m_env, lmdb::Transaction::Mode::Write);
    txn.put(m_dbi, key_of(record.content_identifier), encode(record));
    txn.commit();
}

std::optional<ReceiptRequestRecord> ReceiptStore::find(ByteView content_identifier) const
{
    lmdb::Transaction txn(*m_env, lmdb::Transaction::Mode::Read);
    const auto v = txn.get(m_dbi, key_of(content_identifier));
    if (!v) return std::nullopt;
    return decode(content_identifier, *v);
}

ReceiptCheck ReceiptStore::check_receipt(const smime::cms::Receipt& receipt, ByteView msg_sig_digest,
                                         const std::string& from, std::time_t received_at,
                                         const std::vector<std::string>& signer_addresses)
{
    ReceiptCheck check;
    // One write transaction: two receipts for the same message from two workers must not
    // overwrite each other's entry.
    lmdb::Transaction txn(*m_env, lmdb::Transaction::Mode::Write);
    const std::string_view key = key_of(receipt.content_identifier);
    const auto v = txn.get(m_dbi, key);
    std::optional<ReceiptRequestRecord> rec = v ? decode(receipt.content_identifier, *v) : std::nullopt;
    if (!rec) {
        check.detail = "no receipt was requested with identifier " + identifier_hex(receipt.content_identifier);
        return check;
    }
    const Bytes sig = smime::cms::digest_of(smime::DigestAlgorithm::Sha256, receipt.originator_signature);
    if (receipt.content_type != rec->content_type)
        check.detail = "receipt names content type " + receipt.content_type + ", the message had " + rec->content_type;
    else if (sig != rec->signature_sha256)
        check.detail = "receipt names another signature value than the message's";
    else if (!std::equal(msg_sig_digest.begin(), msg_sig_digest.end(), rec->msg_sig_digest.begin(),
                         rec->msg_sig_digest.end()))
        check.detail = "msgSigDigest does not match the message's signed attributes";
    else
        check.detail = not_asked(*rec, from, signer_addresses.empty() ? std::vector<std::string>{from} : signer_addresses);
    check.match = check.detail.empty() ? ReceiptMatch::Valid : ReceiptMatch::Mismatch;

    ReceivedReceipt entry{from, received_at, check.match == ReceiptMatch::Valid, check.detail};
    auto same_from = std::find_if(rec->received.begin(), rec->received.end(),
                                  [&](const ReceivedReceipt& r) { return r.from == from; });
    // A valid receipt stays on record: a later one that does not match (forged, or for
    // another message) must not take the proof of delivery away.
    if (same_from != rec->received.end()) {
        if (entry.valid || !same_from->valid) *same_from = entry;
    } else if (rec->received.size() < kMaxStoredReceipts) {
        rec->received.push_back(entry);
    }
    txn.put(m_dbi, key, encode(*rec));
    txn.commit();
    if (check.match == ReceiptMatch::Valid) check.detail = rec->message_id;
    check.request = std::move(rec);
    return check;
}

std::vector<ReceiptRequestRecord> ReceiptStore::list() const
{
    std::vector<ReceiptRequestRecord> out;
    lmdb::Transaction txn(*m_env, lmdb::Transaction::Mode::Read);
    lmdb::Cursor cursor(txn, m_dbi, *m_env);
    MDB_val k{}, v{};
    for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
        if (auto rec = decode(view(k), view(v))) out.push_back(std::move(*rec));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.requested_at < b.requested_at; });
    return out;
}

std::size_t ReceiptStore::expire(std::time_t before)
{
    std::size_t n = 0;
    lmdb::Transaction txn(*m_env, lmdb::Transaction::Mode::Write);
    {
        lmdb::Cursor cursor(txn, m_dbi, *m_env);
        MDB_val k{}, v{};
        int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
        while (rc == 0) {
            const auto rec = decode(view(k), view(v));
            // A record that no longer parses is dropped too: nothing could ever match it.
            if (!rec || rec->requested_at < before) {
                lmdb::check(mdb_cursor_del(cursor.get(), 0), *m_env, "delete");
                ++n;
            }
            rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
        }
    }
    txn.commit();
    return n;
}

}  // namespace ssm::directory
