// The token certificates' expiry, for operations (PRODUCT §8): an administrator must learn
// that a signing or decryption certificate runs out before mail starts going out unsigned
// for want of it or partners' mail stops decrypting. Each time the token is opened:
// ssm_certificate_expiry_timestamp_seconds gets one series per certificate whose private key
// is on the token, and those expired or within kExpiryWarning are logged as warnings. The CRL
// files' nextUpdate likewise (an outdated CRL file means no current revocation data).
#pragma once
#include <chrono>
#include <ctime>
#include <vector>

#include "base/metrics.h"
#include "hsm/key_store.h"
#include "pki/trust_store.h"

namespace ssm::milter {

inline constexpr std::chrono::hours kExpiryWarning{30 * 24};

// One sample per identity with a private key: labels label, first address (or ""), serial
// (hex); value notAfter.
std::vector<metrics::GaugeSet::Sample> certificate_expiry_samples(const std::vector<hsm::Identity>& identities);

// Sets the gauge and logs token-certificate-expired / token-certificate-expiring.
void publish_certificate_expiry(const std::vector<hsm::Identity>& identities, std::time_t now);

// ssm_crl_next_update_timestamp_seconds from the CRL files of the configuration in force
// (start and each accepted reload; pki_crl_outdated is logged when they are read).
void publish_crl_next_update(const pki::TrustStore& trust);

}  // namespace ssm::milter
