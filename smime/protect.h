// Protecting a whole outbound message: sign, encrypt, or sign-then-encrypt (RFC 8551),
// with header protection (RFC 9788) when encrypting. The result is a header edit against
// the original top-level fields plus the new body, so the milter can apply it in one go.
// Input is a message our users sent, still handled as untrusted bytes.
#pragma once
#include <optional>
#include <string_view>
#include <vector>

#include "base/stream.h"
#include "smime/cms/envelope.h"
#include "smime/mime/body_facts.h"
#include "smime/mime/header.h"
#include "smime/sign.h"

namespace ssm::smime {

struct EncryptParameters {
    std::vector<cms::RecipientSpec> recipients;  // one RecipientInfo each (archive included)
    cms::ContentCipher cipher = cms::ContentCipher::Aes256Cbc;
};

struct ProtectRequest {
    Signer* signer = nullptr;  // sign when set
    SignParameters sign;
    std::optional<EncryptParameters> encrypt;
    bool header_protection = true;  // RFC 9788 inner header fields, when encrypting
    bool obscure_subject = false;   // outer Subject becomes "[...]", when encrypting
    // Fields written inside the encryption above the entity's Content-* fields, with or without
    // header protection: a mark the decrypting reader must see, bound to the ciphertext.
    std::vector<mime::HeaderField> inner_fields;
    std::string spool_dir;
    std::size_t memory_spool_limit = 1024 * 1024;
    // Facts of the body gathered while it was spooled (finished), if the caller has them:
    // a single-part body is then not scanned a second time before encryption.
    const mime::BodyFacts* body_facts = nullptr;
    // Triple wrapping (RFC 2634 §1.1), with a signer and encryption: the encrypted entity is
    // signed again with these parameters, so that a security label is readable outside the
    // encryption (by mail guards and the recipient's gateway) and bound to the ciphertext.
    std::optional<SignParameters> outer_signature;
};

struct ProtectResult {
    HeaderEdit headers;
    std::optional<SignResult> signature;        // the (inner) signature
    std::optional<SignResult> outer_signature;  // triple wrapping's outer one
    std::optional<cms::ContentCipher> cipher;
    std::size_t recipients = 0;
    std::vector<std::string> key_management;  // EnvelopeEncoder::key_management()
    // Positions in EncryptParameters::recipients named by issuerAndSerialNumber although a key
    // id was asked for (EnvelopeEncoder::issuer_serial_fallbacks()).
    std::vector<std::size_t> issuer_serial_fallbacks;
};

// Writes the new body to `out`. Throws ssm::Error.
ProtectResult protect_message(const std::vector<mime::HeaderField>& headers, ByteSource& body,
                              const ProtectRequest& request, ByteSink& out);

// Fields that describe transport or another server's verdict, not the message (Received,
// Return-Path, Authentication-Results, ARC-*, DKIM-Signature, ...): they stay outside only,
// and one found inside a protected part is no field of the message either.
bool is_trace_field(std::string_view name);

// The header fields copied into the protected part: every field but the Content-* ones,
// trace or transport fields that belong to the envelope (Received, Return-Path, ...) and Bcc.
std::vector<mime::HeaderField> fields_to_protect(const std::vector<mime::HeaderField>& headers);

// RFC 9788 §2.2: one "HP-Outer: Name: value" per protected field, the value it keeps on the
// outside of the encrypted message (every Subject "[...]" when it is obscured).
std::vector<mime::HeaderField> hp_outer_fields(const std::vector<mime::HeaderField>& protected_fields,
                                               bool subject_obscured);

}  // namespace ssm::smime
