// Content cipher choice by RFC 8551 §2.7.1 (see cipher_choice.h). Pure function: the
// capabilities come from harvested signed mail (verified before they were stored).
#include "policy/cipher_choice.h"

#include <algorithm>

namespace ssm::policy {

namespace {

// The order "auto" prefers: authenticated encryption first (EFAIL), then the larger key.
constexpr Cipher kPreference[] = {Cipher::Aes256Gcm, Cipher::Aes128Gcm, Cipher::Aes256Cbc, Cipher::Aes128Cbc};

bool reads(const AdvertisedCiphers& r, Cipher c)
{
    if (!r.known) return c == Cipher::Aes256Cbc || c == Cipher::Aes128Cbc;
    return std::find(r.ciphers.begin(), r.ciphers.end(), c) != r.ciphers.end();
}

bool all_read(const std::vector<AdvertisedCiphers>& recipients, Cipher c)
{
    return std::all_of(recipients.begin(), recipients.end(), [c](const auto& r) { return reads(r, c); });
}

}  // namespace

const char* cipher_reason_name(CipherReason r)
{
    switch (r) {
    case CipherReason::Configured: return "configured";
    case CipherReason::Advertised: return "advertised";
    case CipherReason::Default: return "default";
    case CipherReason::NoCommon: return "no-common";
    case CipherReason::Floor: return "floor";
    }
    return "configured";
}

CipherChoice choose_cipher(Cipher preference, CipherFloor floor, const std::vector<AdvertisedCiphers>& recipients)
{
    if (preference != Cipher::Auto && preference != Cipher::Default) {
        if (meets_floor(preference, floor)) return {preference, CipherReason::Configured};
        return {raised_to_floor(preference, floor), CipherReason::Floor};
    }
    // Nobody to ask (an archive certificate alone): as for a recipient with no list.
    static const std::vector<AdvertisedCiphers> kNobody{AdvertisedCiphers{}};
    const auto& rcpts = recipients.empty() ? kNobody : recipients;
    const bool any_known = std::any_of(rcpts.begin(), rcpts.end(), [](const auto& r) { return r.known; });
    for (Cipher c : kPreference)
        if (all_read(rcpts, c) && meets_floor(c, floor))
            return {c, any_known ? CipherReason::Advertised : CipherReason::Default};
    // Nothing they share meets the floor: the administrator's order wins over their lists.
    for (Cipher c : kPreference)
        if (all_read(rcpts, c)) return {raised_to_floor(c, floor), CipherReason::Floor};
    // No cipher in common (a milter cannot split the message, §2.7.3): the one every agent
    // must read.
    if (meets_floor(Cipher::Aes128Cbc, floor)) return {Cipher::Aes128Cbc, CipherReason::NoCommon};
    return {raised_to_floor(Cipher::Aes128Cbc, floor), CipherReason::Floor};
}

Cipher shared_preference(const std::vector<Cipher>& preferences, const std::vector<AdvertisedCiphers>& advertised)
{
    if (preferences.empty()) return Cipher::Auto;
    if (std::all_of(preferences.begin(), preferences.end(), [&](Cipher c) { return c == preferences.front(); }))
        return preferences.front();
    // Strength order; Auto and Default name no cipher.
    const auto rank = [](Cipher c) {
        switch (c) {
        case Cipher::Aes128Cbc: return 1;
        case Cipher::Aes256Cbc: return 2;
        case Cipher::Aes128Gcm: return 3;
        case Cipher::ChaCha20Poly1305: return 4;
        case Cipher::Aes256Gcm: return 5;
        case Cipher::Default:
        case Cipher::Auto: return 0;
        }
        return 0;
    };
    // Whether recipient i may get `c`: its own rule's cipher, or one its list (when one was
    // harvested) names. ChaCha20-Poly1305 is never in a list (AdvertisedCiphers).
    const auto accepts = [&](std::size_t i, Cipher c) {
        if (preferences[i] == c || i >= advertised.size() || !advertised[i].known) return true;
        const auto& listed = advertised[i].ciphers;
        return std::find(listed.begin(), listed.end(), c) != listed.end();
    };
    std::vector<Cipher> named;
    for (Cipher c : preferences)
        if (rank(c) > 0 && std::find(named.begin(), named.end(), c) == named.end()) named.push_back(c);
    std::sort(named.begin(), named.end(), [&](Cipher a, Cipher b) { return rank(a) > rank(b); });
    for (Cipher c : named) {
        bool everyone = true;
        for (std::size_t i = 0; i < preferences.size() && everyone; ++i) everyone = accepts(i, c);
        if (everyone) return c;
    }
    return Cipher::Auto;
}

}  // namespace ssm::policy
