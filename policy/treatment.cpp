// Names, parsing and the cipher choice of rule actions. Pure functions over configuration
// values; the only untrusted input is the recipient address in key_owner (already parsed).
#include "policy/treatment.h"

namespace ssm::policy {

const char* direction_name(Direction d)
{
    return d == Direction::Inbound ? "inbound" : "outbound";
}

const char* sign_mode_name(SignMode m)
{
    switch (m) {
    case SignMode::Sender: return "sender";
    case SignMode::Domain: return "domain";
    case SignMode::None: return "none";
    }
    return "none";
}

const char* encrypt_mode_name(EncryptMode m)
{
    switch (m) {
    case EncryptMode::Mandatory: return "mandatory";
    case EncryptMode::Opportunistic: return "opportunistic";
    case EncryptMode::Never: return "never";
    }
    return "never";
}

const char* encrypt_target_name(EncryptTarget t)
{
    switch (t) {
    case EncryptTarget::Recipient: return "recipient";
    case EncryptTarget::Domain: return "domain";
    case EncryptTarget::Address: return "address";
    }
    return "recipient";
}

const char* on_missing_name(OnMissing m)
{
    return m == OnMissing::Reject ? "reject" : "tag";
}

const char* on_no_certificate_name(OnNoCertificate n)
{
    return n == OnNoCertificate::Reject ? "reject" : "return";
}

const char* cipher_name(Cipher c)
{
    switch (c) {
    case Cipher::Default: return "default";
    case Cipher::Auto: return "auto";
    case Cipher::Aes128Cbc: return "aes128-cbc";
    case Cipher::Aes256Cbc: return "aes256-cbc";
    case Cipher::Aes128Gcm: return "aes128-gcm";
    case Cipher::Aes256Gcm: return "aes256-gcm";
    case Cipher::ChaCha20Poly1305: return "chacha20-poly1305";
    }
    return "default";
}

const char* cipher_floor_name(CipherFloor f)
{
    switch (f) {
    case CipherFloor::None: return "none";
    case CipherFloor::Aes256: return "aes256";
    case CipherFloor::Aes128Gcm: return "aes128-gcm";
    case CipherFloor::Aes256Gcm: return "aes256-gcm";
    }
    return "none";
}

const char* recipient_identifier_name(RecipientIdentifier r)
{
    switch (r) {
    case RecipientIdentifier::Default: return "default";
    case RecipientIdentifier::IssuerSerial: return "issuer-serial";
    case RecipientIdentifier::KeyId: return "key-id";
    }
    return "default";
}

std::optional<RecipientIdentifier> parse_recipient_identifier(std::string_view s)
{
    for (RecipientIdentifier r : {RecipientIdentifier::IssuerSerial, RecipientIdentifier::KeyId})
        if (s == recipient_identifier_name(r)) return r;
    return std::nullopt;
}

RecipientIdentifier resolved_identifier(RecipientIdentifier chosen, RecipientIdentifier configured)
{
    return chosen == RecipientIdentifier::Default ? configured : chosen;
}

std::optional<Direction> parse_direction(std::string_view s)
{
    if (s == "inbound" || s == "in") return Direction::Inbound;
    if (s == "outbound" || s == "out") return Direction::Outbound;
    return std::nullopt;
}

std::optional<SignMode> parse_sign_mode(std::string_view s)
{
    if (s == "sender") return SignMode::Sender;
    if (s == "domain") return SignMode::Domain;
    if (s == "none") return SignMode::None;
    return std::nullopt;
}

std::optional<EncryptMode> parse_encrypt_mode(std::string_view s)
{
    if (s == "mandatory") return EncryptMode::Mandatory;
    if (s == "opportunistic") return EncryptMode::Opportunistic;
    if (s == "never") return EncryptMode::Never;
    return std::nullopt;
}

std::optional<EncryptTarget> parse_encrypt_target(std::string_view s)
{
    if (s == "recipient") return EncryptTarget::Recipient;
    if (s == "domain") return EncryptTarget::Domain;
    return std::nullopt;
}

std::optional<OnMissing> parse_on_missing(std::string_view s)
{
    if (s == "reject") return OnMissing::Reject;
    if (s == "tag") return OnMissing::Tag;
    return std::nullopt;
}

std::optional<OnNoCertificate> parse_on_no_certificate(std::string_view s)
{
    for (OnNoCertificate n : {OnNoCertificate::Reject, OnNoCertificate::Return})
        if (s == on_no_certificate_name(n)) return n;
    return std::nullopt;
}

const char* revocation_mode_name(RevocationMode m)
{
    switch (m) {
    case RevocationMode::Default: return "default";
    case RevocationMode::Off: return "off";
    case RevocationMode::SoftFail: return "soft-fail";
    case RevocationMode::HardFail: return "hard-fail";
    }
    return "default";
}

std::optional<RevocationMode> parse_revocation_mode(std::string_view s)
{
    for (RevocationMode m : {RevocationMode::Off, RevocationMode::SoftFail, RevocationMode::HardFail})
        if (s == revocation_mode_name(m)) return m;
    return std::nullopt;
}

namespace {

// "aes-256-gcm" and "aes256-gcm" name the same thing.
std::string undash(std::string_view s)
{
    std::string out(s);
    if (out.rfind("aes-", 0) == 0) out.erase(3, 1);
    return out;
}

bool is_gcm(Cipher c)
{
    return c == Cipher::Aes128Gcm || c == Cipher::Aes256Gcm;
}

bool is_256(Cipher c)
{
    return c == Cipher::Aes256Cbc || c == Cipher::Aes256Gcm || c == Cipher::ChaCha20Poly1305;
}

}  // namespace

std::optional<Cipher> parse_cipher(std::string_view text)
{
    const std::string s = undash(text);
    if (s == "auto") return Cipher::Auto;
    if (s == "aes128-cbc") return Cipher::Aes128Cbc;
    if (s == "aes256-cbc") return Cipher::Aes256Cbc;
    if (s == "aes128-gcm") return Cipher::Aes128Gcm;
    if (s == "aes256-gcm") return Cipher::Aes256Gcm;
    if (s == "chacha20-poly1305") return Cipher::ChaCha20Poly1305;
    return std::nullopt;
}

std::optional<CipherFloor> parse_cipher_floor(std::string_view text)
{
    const std::string s = undash(text);
    if (s == "none" || s == "aes128") return CipherFloor::None;
    if (s == "aes256") return CipherFloor::Aes256;
    if (s == "aes128-gcm") return CipherFloor::Aes128Gcm;
    if (s == "aes256-gcm") return CipherFloor::Aes256Gcm;
    return std::nullopt;
}

bool meets_floor(Cipher c, CipherFloor floor)
{
    switch (floor) {
    case CipherFloor::None: return true;
    case CipherFloor::Aes256: return is_256(c);
    // ChaCha20-Poly1305 is authenticated encryption with a 256-bit key: AES-256-GCM's rank.
    case CipherFloor::Aes128Gcm: return is_gcm(c) || c == Cipher::ChaCha20Poly1305;
    case CipherFloor::Aes256Gcm: return c == Cipher::Aes256Gcm || c == Cipher::ChaCha20Poly1305;
    }
    return false;
}

Cipher raised_to_floor(Cipher c, CipherFloor floor)
{
    if (meets_floor(c, floor)) return c;
    const bool gcm = is_gcm(c) || floor == CipherFloor::Aes128Gcm || floor == CipherFloor::Aes256Gcm;
    const bool k256 = is_256(c) || floor == CipherFloor::Aes256 || floor == CipherFloor::Aes256Gcm;
    if (gcm) return k256 ? Cipher::Aes256Gcm : Cipher::Aes128Gcm;
    return Cipher::Aes256Cbc;
}

CipherFloor stronger_floor(CipherFloor a, CipherFloor b)
{
    if (a == CipherFloor::None) return b;
    if (b == CipherFloor::None || a == b) return a;
    // Any two different non-empty floors together need AES-256-GCM.
    return CipherFloor::Aes256Gcm;
}

std::optional<EmailAddress> key_owner(const Treatment& t, const EmailAddress& rcpt)
{
    switch (t.encrypt_to) {
    case EncryptTarget::Recipient: return rcpt;
    case EncryptTarget::Domain:
        return EmailAddress::parse(domain_confidentiality_authority(rcpt.domain().str()));
    case EncryptTarget::Address: return EmailAddress::parse(t.encrypt_to_address);
    }
    return std::nullopt;
}

std::string describe(const Treatment& t, Direction d)
{
    std::string s;
    if (d == Direction::Inbound) {
        s = std::string("require_signature=") + (t.require_signature ? "yes" : "no") +
            " require_encryption=" + (t.require_encryption ? "yes" : "no");
        if (t.require_integrity) s += " require_integrity=yes";
        if (t.require_signature || t.require_encryption || t.require_integrity)
            s += std::string(" on_missing=") + on_missing_name(t.on_missing);
        for (const auto& oid : t.required_policies) s += " required_policy=" + oid;
        if (t.strip_signature) s += " strip_signature=yes";
        if (t.revocation != RevocationMode::Default) s += std::string(" revocation=") + revocation_mode_name(t.revocation);
        if (t.answer_receipts)
            s += " answer_receipts=yes" + (t.receipt_identity.empty() ? "" : " receipt_identity=" + t.receipt_identity);
        return s;
    }
    s = std::string("sign=") + sign_mode_name(t.sign);
    if (!t.signing_identity.empty()) s += " signing_identity=" + t.signing_identity;
    s += std::string(" encrypt=") + encrypt_mode_name(t.encrypt);
    if (t.encrypt != EncryptMode::Never) {
        s += std::string(" encrypt_to=") +
             (t.encrypt_to == EncryptTarget::Address ? t.encrypt_to_address
                                                     : encrypt_target_name(t.encrypt_to));
        if (t.cipher != Cipher::Default) s += std::string(" cipher=") + cipher_name(t.cipher);
        if (t.minimum_cipher != CipherFloor::None)
            s += std::string(" minimum_cipher=") + cipher_floor_name(t.minimum_cipher);
        if (t.recipient_identifier != RecipientIdentifier::Default)
            s += std::string(" recipient_identifier=") + recipient_identifier_name(t.recipient_identifier);
        if (t.encrypt == EncryptMode::Mandatory && t.no_certificate != OnNoCertificate::Reject)
            s += std::string(" no_certificate=") + on_no_certificate_name(t.no_certificate);
        if (t.header_protection)
            s += std::string(" header_protection=") + (*t.header_protection ? "yes" : "no");
    }
    if (t.strip_trigger) s += " strip_trigger=yes";
    if (!t.security_label.empty()) s += " security_label=" + t.security_label;
    if (t.receipt_request != ReceiptRequest::None) {
        s += std::string(" receipt_request=") + receipt_request_name(t.receipt_request);
        for (const auto& a : t.receipts_to) s += " receipts_to=" + a;
    }
    return s;
}

std::optional<ReceiptRequest> parse_receipt_request(std::string_view s)
{
    if (s.empty() || s == "none") return ReceiptRequest::None;
    if (s == "all") return ReceiptRequest::All;
    if (s == "first-tier") return ReceiptRequest::FirstTier;
    return std::nullopt;
}

const char* receipt_request_name(ReceiptRequest r)
{
    switch (r) {
    case ReceiptRequest::None: return "none";
    case ReceiptRequest::All: return "all";
    case ReceiptRequest::FirstTier: return "first-tier";
    }
    return "none";
}

}  // namespace ssm::policy
