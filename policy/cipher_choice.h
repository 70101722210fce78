// The content cipher of one outbound message: the administrator's choice, or with "auto" the
// best cipher every recipient can read by RFC 8551 §2.7.1, raised to a rule's floor. Input:
// the recipients' advertised capabilities (from their verified signed mail) and configuration.
#pragma once
#include <vector>

#include "policy/treatment.h"

namespace ssm::policy {

// What one recipient said it can decrypt (its SMIMECapabilities, RFC 8551 §2.5.2), reduced to
// the AES ciphers "auto" chooses among. `known` false: no list was harvested with its
// certificate; it is then taken to read AES-256-CBC and AES-128-CBC (§2.7.1.2).
struct AdvertisedCiphers {
    bool known = false;
    std::vector<Cipher> ciphers;  // in no particular order; ChaCha20-Poly1305 is never listed
};

// Why a cipher was chosen, for the log line (`cipher_reason=`).
enum class CipherReason {
    Configured,  // named by a rule or [encryption] cipher
    Advertised,  // auto: the best cipher every recipient with a known list listed
    Default,     // auto: no recipient's capabilities are known (§2.7.1.2: AES-256-CBC)
    NoCommon,    // auto: the lists share no cipher; AES-128-CBC, which every agent must read
    Floor,       // raised to the rule's minimum_cipher
};
const char* cipher_reason_name(CipherReason r);  // configured advertised default no-common floor

struct CipherChoice {
    Cipher cipher;
    CipherReason reason;
};

// `preference` Auto or Default: the first of AES-256-GCM, AES-128-GCM, AES-256-CBC,
// AES-128-CBC (GCM before CBC, then the larger key) that every recipient reads and that meets
// `floor`; when none does, the best one they share raised to the floor, and when they share
// none, AES-128-CBC (mandatory for every S/MIME agent since 3.2, RFC 5751 §2.7 and RFC 8551
// §2.7) raised to the floor. A named preference is used whatever the recipients advertise,
// raised to the floor when weaker.
CipherChoice choose_cipher(Cipher preference, CipherFloor floor, const std::vector<AdvertisedCiphers>& recipients);

// The one preference of recipients who share an envelope although their rules may name
// different ciphers (a mail list's members when no [reinjection] can send them envelopes of
// their own, §4.3): each entry a rule's cipher with Default
// already read as the [encryption] cipher, and `advertised` (same order, or empty) what each
// recipient listed. All alike: that one (Auto included). Otherwise the strongest named one
// (authenticated encryption before CBC, then the larger key; AES-256-GCM before
// ChaCha20-Poly1305, which fewer agents read) that no other recipient's SMIMECapabilities say
// it cannot read: a weaker one would give the recipient who asked for more less than its own
// outbound mail gets, but one named by another recipient's rule must not make the message
// unreadable for a recipient whose list (harvested with its certificate) leaves it out, as
// its own outbound mail never is. A recipient is taken to read its own rule's cipher, and
// any cipher when nothing was harvested with its certificate (the rules' word stands). None
// such: Auto (choose_cipher: what they all read, raised to the floor). Empty: Auto.
Cipher shared_preference(const std::vector<Cipher>& preferences,
                         const std::vector<AdvertisedCiphers>& advertised = {});

}  // namespace ssm::policy
