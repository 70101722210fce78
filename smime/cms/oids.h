// Object identifiers of the CMS layer, as dotted strings (libtasn1's form). Names follow
// the RFC that defines each one; nothing here is read from input.
#pragma once

namespace ssm::smime::cms::oid {

// Content types (RFC 5652 §4-6, RFC 5083, RFC 2634)
inline constexpr const char* kData = "1.2.840.113549.1.7.1";
inline constexpr const char* kSignedData = "1.2.840.113549.1.7.2";
inline constexpr const char* kEnvelopedData = "1.2.840.113549.1.7.3";
inline constexpr const char* kAuthEnvelopedData = "1.2.840.113549.1.9.16.1.23";
inline constexpr const char* kReceipt = "1.2.840.113549.1.9.16.1.1";

// Signed attributes (RFC 5652 §11, RFC 8551 §2.5, RFC 2634/5035)
inline constexpr const char* kContentType = "1.2.840.113549.1.9.3";
inline constexpr const char* kMessageDigest = "1.2.840.113549.1.9.4";
inline constexpr const char* kSigningTime = "1.2.840.113549.1.9.5";
inline constexpr const char* kSmimeCapabilities = "1.2.840.113549.1.9.15";
inline constexpr const char* kReceiptRequest = "1.2.840.113549.1.9.16.2.1";
inline constexpr const char* kSecurityLabel = "1.2.840.113549.1.9.16.2.2";
inline constexpr const char* kMlExpandHistory = "1.2.840.113549.1.9.16.2.3";
inline constexpr const char* kContentHint = "1.2.840.113549.1.9.16.2.4";
inline constexpr const char* kMsgSigDigest = "1.2.840.113549.1.9.16.2.5";
inline constexpr const char* kContentIdentifier = "1.2.840.113549.1.9.16.2.7";
inline constexpr const char* kEquivalentLabels = "1.2.840.113549.1.9.16.2.9";
inline constexpr const char* kEncrypKeyPref = "1.2.840.113549.1.9.16.2.11";
inline constexpr const char* kSigningCertificate = "1.2.840.113549.1.9.16.2.12";
// Microsoft's encryption key preference (szOID_MICROSOFT_Encryption_Key_Preference): an
// IssuerAndSerialNumber, what Outlook puts in its signatures, often without RFC 8551's.
inline constexpr const char* kMicrosoftEncrypKeyPref = "1.3.6.1.4.1.311.16.4";
inline constexpr const char* kSigningCertificateV2 = "1.2.840.113549.1.9.16.2.47";

// Digests (RFC 5754)
inline constexpr const char* kSha1 = "1.3.14.3.2.26";  // RFC 3370 §2.1
inline constexpr const char* kSha256 = "2.16.840.1.101.3.4.2.1";
inline constexpr const char* kSha384 = "2.16.840.1.101.3.4.2.2";
inline constexpr const char* kSha512 = "2.16.840.1.101.3.4.2.3";

// RSA (RFC 8017, RFC 4055)
inline constexpr const char* kRsaEncryption = "1.2.840.113549.1.1.1";
inline constexpr const char* kRsaesOaep = "1.2.840.113549.1.1.7";
inline constexpr const char* kMgf1 = "1.2.840.113549.1.1.8";
inline constexpr const char* kPSpecified = "1.2.840.113549.1.1.9";
inline constexpr const char* kRsassaPss = "1.2.840.113549.1.1.10";
inline constexpr const char* kSha256WithRsa = "1.2.840.113549.1.1.11";
inline constexpr const char* kSha384WithRsa = "1.2.840.113549.1.1.12";
inline constexpr const char* kSha512WithRsa = "1.2.840.113549.1.1.13";

// Elliptic curves (RFC 5480, RFC 5758, RFC 8410/8419)
inline constexpr const char* kEcPublicKey = "1.2.840.10045.2.1";
inline constexpr const char* kSecp256r1 = "1.2.840.10045.3.1.7";
inline constexpr const char* kSecp384r1 = "1.3.132.0.34";
inline constexpr const char* kEcdsaSha256 = "1.2.840.10045.4.3.2";
inline constexpr const char* kEcdsaSha384 = "1.2.840.10045.4.3.3";
inline constexpr const char* kEcdsaSha512 = "1.2.840.10045.4.3.4";
inline constexpr const char* kX25519 = "1.3.101.110";
inline constexpr const char* kEd25519 = "1.3.101.112";

// Content encryption and key wrap (RFC 3565, RFC 5084, RFC 8103)
inline constexpr const char* kAes128Cbc = "2.16.840.1.101.3.4.1.2";
inline constexpr const char* kAes128Wrap = "2.16.840.1.101.3.4.1.5";
inline constexpr const char* kAes128Gcm = "2.16.840.1.101.3.4.1.6";
inline constexpr const char* kAes256Cbc = "2.16.840.1.101.3.4.1.42";
inline constexpr const char* kAes256Wrap = "2.16.840.1.101.3.4.1.45";
inline constexpr const char* kAes256Gcm = "2.16.840.1.101.3.4.1.46";
inline constexpr const char* kChaCha20Poly1305 = "1.2.840.113549.1.9.16.3.18";  // id-alg-AEADChaCha20Poly1305

// Key agreement (RFC 5753 with SEC 1 / RFC 5008 scheme ids, RFC 8418)
inline constexpr const char* kEcdhStdSha1Kdf = "1.3.133.16.840.63.0.2";  // OpenSSL's default
inline constexpr const char* kEcdhStdSha256Kdf = "1.3.132.1.11.1";
inline constexpr const char* kEcdhStdSha384Kdf = "1.3.132.1.11.2";
inline constexpr const char* kEcdhStdSha512Kdf = "1.3.132.1.11.3";
inline constexpr const char* kEcdhStdHkdfSha256 = "1.2.840.113549.1.9.16.3.19";  // RFC 8418
inline constexpr const char* kHkdfSha256 = "1.2.840.113549.1.9.16.3.28";  // RFC 8619

}  // namespace ssm::smime::cms::oid
