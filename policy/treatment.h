// What a rule decides for a recipient (the actions of a [[rule]]): signing, encryption and
// its algorithms, header protection, the Subject trigger tag, and inbound requirements.
// Values come from the administrator's configuration (trusted, validated when parsed).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/email_address.h"

namespace ssm::policy {

enum class Direction { Inbound, Outbound };
enum class SignMode { Sender, Domain, None };
enum class EncryptMode { Mandatory, Opportunistic, Never };
// What happens to inbound mail that lacks a required signature or encryption (§3.5).
enum class OnMissing { Reject, Tag };
// Outbound: a recipient for whom encryption is mandatory and no usable certificate is found
// (PRODUCT §2.4): its RCPT is refused (550 5.7.1), or it is accepted and the message returned
// to the sender with an explanation (a delivery status notification through [reinjection]),
// the other recipients getting the message as planned.
enum class OnNoCertificate { Reject, Return };
// Revocation checking of a partner's signer certificates (PRODUCT §7: soft-fail or hard-fail
// per policy); Default: [pki] revocation.
enum class RevocationMode { Default, Off, SoftFail, HardFail };
// Whose certificate encryption uses (Open Group S/MIME Secure Messaging modes):
// the recipient's (gateway-to-desktop), domain-confidentiality-authority@<recipient
// domain> (gateway-to-gateway, RFC 3183), or one configured address.
enum class EncryptTarget { Recipient, Domain, Address };
// Content encryption preference. Default: the [encryption] cipher; Auto: the best AES cipher
// every recipient advertised (RFC 8551 §2.7.1, choose_cipher in cipher_choice.h; never
// ChaCha20-Poly1305: only chosen by name, like the others it is then used whatever the
// recipients advertise).
enum class Cipher { Default, Auto, Aes128Cbc, Aes256Cbc, Aes128Gcm, Aes256Gcm, ChaCha20Poly1305 };
// The weakest content encryption a rule accepts. The floors are strengths (key size, then
// authenticated encryption): ChaCha20-Poly1305 (256-bit key, AEAD) ranks with AES-256-GCM and
// meets every floor, so no floor names it.
enum class CipherFloor { None, Aes256, Aes128Gcm, Aes256Gcm };
// How a RecipientInfo names the recipient's certificate (RFC 5652 §6.2.1/§6.2.2): by
// issuerAndSerialNumber, or by its subjectKeyIdentifier (KTRI version 2, KARI rKeyId), which
// some receivers (wolfSSL 5.5 for KARI) need. Per RecipientInfo, so recipients with different
// choices share one message. Default: the [encryption] recipient_identifier.
enum class RecipientIdentifier { Default, IssuerSerial, KeyId };

const char* direction_name(Direction d);
const char* sign_mode_name(SignMode m);
const char* encrypt_mode_name(EncryptMode m);
const char* encrypt_target_name(EncryptTarget t);
const char* on_missing_name(OnMissing m);
const char* on_no_certificate_name(OnNoCertificate n);  // "reject", "return"
const char* revocation_mode_name(RevocationMode m);  // "default", "off", "soft-fail", "hard-fail"
const char* cipher_name(Cipher c);
const char* cipher_floor_name(CipherFloor f);
const char* recipient_identifier_name(RecipientIdentifier r);  // "issuer-serial", "key-id"
std::optional<Direction> parse_direction(std::string_view s);  // "inbound"/"in", "outbound"/"out"
std::optional<SignMode> parse_sign_mode(std::string_view s);
std::optional<EncryptMode> parse_encrypt_mode(std::string_view s);
// "recipient" or "domain" (an address is handled by the caller: EncryptTarget::Address).
std::optional<EncryptTarget> parse_encrypt_target(std::string_view s);
std::optional<OnMissing> parse_on_missing(std::string_view s);
std::optional<OnNoCertificate> parse_on_no_certificate(std::string_view s);  // "reject", "return"
std::optional<RevocationMode> parse_revocation_mode(std::string_view s);  // "off", "soft-fail", "hard-fail"
// "auto", "aes256-gcm", "aes128-gcm", "aes256-cbc", "aes128-cbc" ("aes-256-gcm" too),
// "chacha20-poly1305".
std::optional<Cipher> parse_cipher(std::string_view s);
// "none", "aes128" (same as none: every cipher we write is AES), "aes256", "aes128-gcm",
// "aes256-gcm" (dashed spellings such as "aes-256" too).
std::optional<CipherFloor> parse_cipher_floor(std::string_view s);
// "issuer-serial" or "key-id".
std::optional<RecipientIdentifier> parse_recipient_identifier(std::string_view s);
// The identifier a RecipientInfo uses: `chosen` (a rule's), or `configured` (the [encryption]
// recipient_identifier) when the rule left it Default. One place, so that a message's own
// recipients and a mail list's members are named alike.
RecipientIdentifier resolved_identifier(RecipientIdentifier chosen, RecipientIdentifier configured);

// Whether `c` is as strong as `floor` asks (choose_cipher, cipher_choice.h, raises to it).
bool meets_floor(Cipher c, CipherFloor floor);
// `c` made as strong as `floor` asks, keeping what it has (GCM, a 256-bit key); `c` itself
// when it meets the floor.
Cipher raised_to_floor(Cipher c, CipherFloor floor);
// The stronger of two floors (recipients of one message share the strongest).
CipherFloor stronger_floor(CipherFloor a, CipherFloor b);

enum class ReceiptRequest { None, All, FirstTier };
std::optional<ReceiptRequest> parse_receipt_request(std::string_view s);  // none|all|first-tier
const char* receipt_request_name(ReceiptRequest r);

struct Treatment {
    SignMode sign = SignMode::None;
    std::string signing_identity;  // set: sign with this address's key (lower case)
    EncryptMode encrypt = EncryptMode::Never;
    EncryptTarget encrypt_to = EncryptTarget::Recipient;
    std::string encrypt_to_address;  // EncryptTarget::Address (lower case)
    Cipher cipher = Cipher::Default;
    CipherFloor minimum_cipher = CipherFloor::None;
    RecipientIdentifier recipient_identifier = RecipientIdentifier::Default;
    OnNoCertificate no_certificate = OnNoCertificate::Reject;  // with EncryptMode::Mandatory
    std::optional<bool> header_protection;  // unset: [encryption] header_protection
    bool strip_trigger = false;             // remove the matched Subject tag
    // Outbound: the [[security_label]] signed in when the MUA gave no SIO-Label (§4.1).
    std::string security_label;
    // Outbound: ask for signed receipts (§4.2, RFC 2634 §2) from all recipients or only the
    // first tier (not those reached through a mailing list); receipts go to `receipts_to`
    // (empty: the author's address).
    ReceiptRequest receipt_request = ReceiptRequest::None;
    std::vector<std::string> receipts_to{};
    // Inbound: the gateway answers receipt requests for these recipients itself (§4.2), signing
    // with `receipt_identity` (empty: the recipient domain's signing identity).
    bool answer_receipts = false;
    std::string receipt_identity;
    // Inbound partner requirements (§3.5).
    bool require_signature = false;
    bool require_encryption = false;
    // Decrypted content must be integrity-protected: AuthEnvelopedData, or a signature that
    // passed inside the encryption (CBC alone can be altered by whoever captured it, EFAIL).
    bool require_integrity = false;
    OnMissing on_missing = OnMissing::Reject;
    std::vector<std::string> required_policies{};  // signer certificate policy OIDs
    RevocationMode revocation = RevocationMode::Default;
    // Inbound: remove the verified signature layer for these recipients (PRODUCT §3.3: users
    // whose clients cannot show S/MIME), beside [inbound] strip_signature for everyone.
    bool strip_signature = false;

    bool operator==(const Treatment& o) const = default;
};

// The address whose certificate encrypts for `rcpt` under `t` (nullopt: the configured
// address does not parse, which configuration loading prevents).
std::optional<EmailAddress> key_owner(const Treatment& t, const EmailAddress& rcpt);

// One line for logs and ssmctl: "sign=domain encrypt=mandatory encrypt_to=domain ...";
// only non-default fields after sign and encrypt.
std::string describe(const Treatment& t, Direction d);

}  // namespace ssm::policy
