// Fixtures of the SignedData verification tests: one folder per test process holding the
// OpenSSL-made PKI and messages signed by real peers (openssl cms in every variant, gpgsm
// and NSS cmsutil with the key imported from PKCS#12), made by the shell script below.
// Test-only; it trusts the files it generates itself.
#pragma once
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "smime/cms/verify.h"
#include "tests/unit/test_support.h"

namespace ssm::verifytest {

namespace fs = std::filesystem;

// $1 = source tree, run inside the fixture folder. gpgsm and cmsutil steps record their
// failure in a file instead of stopping the script, so that the tests name the peer.
inline const char* const kFixtureScript = R"SH(
set -eu
src=$1
sh "$src/tests/fixtures/make-pki.sh" pki >/dev/null
export OPENSSL_CONF=/dev/null
P=pki
printf 'Content-Type: text/plain\r\n\r\nHello, verified world.\r\n' > content.txt
alice="-signer $P/alice.cert.pem -inkey $P/alice.key.pem"
s() { name=$1; shift; openssl cms -sign -binary -in content.txt -outform DER -out "$name" "$@"; }
s rsa256.p7s $alice -md sha256
s rsa384.p7s $alice -md sha384
s rsa512.p7s $alice -md sha512
s rsa256.p7m $alice -nodetach
s rsa-stream.p7m $alice -nodetach -stream

s pss-max.p7s $alice -keyopt rsa_padding_mode:pss
s pss-hashlen.p7s $alice -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:-1
s pss384.p7m $alice -md sha384 -nodetach -keyopt rsa_padding_mode:pss
s pss512.p7s $alice -md sha512 -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:-1
s pss-mgf1sha1.p7s $alice -md sha256 -keyopt rsa_padding_mode:pss -keyopt rsa_mgf1_md:sha1
s pss-mgf1sha1.p7m $alice -md sha256 -nodetach -keyopt rsa_padding_mode:pss -keyopt rsa_mgf1_md:sha1 -keyopt rsa_pss_saltlen:-1
s pss512-mgf1sha256.p7s $alice -md sha512 -keyopt rsa_padding_mode:pss -keyopt rsa_mgf1_md:sha256
s pss-sha1.p7s $alice -md sha1 -keyopt rsa_padding_mode:pss
s p256.p7s -signer $P/bob.cert.pem -inkey $P/bob.key.pem
s p256.p7m -signer $P/bob.cert.pem -inkey $P/bob.key.pem -nodetach -stream
s p384.p7s -signer $P/erin.cert.pem -inkey $P/erin.key.pem -md sha384
s noattr.p7s $alice -noattr
s noattr.p7m $alice -noattr -nodetach
s nocerts.p7s $alice -nocerts
s two.p7s $alice -signer $P/bob.cert.pem -inkey $P/bob.key.pem
s cades.p7s $alice -cades
s cades-nocerts.p7s $alice -cades -nocerts
s cades-sha1.p7s $alice -cades -md sha1
s md5.p7s $alice -md md5
s keyid.p7s $alice -keyid
# Microsoft's encryption key preference with one value, and (malformed) with two: DER put
# together by ess_sign.py, signed by openssl dgst.
ess() { out=$1; shift; python3 "$src/tests/fixtures/ess_sign.py" $P/alice.cert.der /dev/null content.txt - - "$out" $P/alice.key.pem "$@"; }
ess ms-one-value.p7s $P/carol.cert.der
ess ms-two-values.p7s $P/carol.cert.der,$P/dave.cert.der
# alice2: alice's key in a second certificate whose serial differs in the last octet only,
# so that a test can point a SignerInfo's sid at it by patching that octet.
serial=$(openssl x509 -in $P/alice.cert.pem -noout -serial | sed 's/.*=//')
last=$(printf '%s' "$serial" | tail -c 2)
serial2=$(printf '%s%02X' "$(printf '%s' "$serial" | head -c $((${#serial} - 2)))" $(( 0x$last ^ 1 )))
openssl req -new -key $P/alice.key.pem -subj "/O=SSM Test/CN=alice@acme.example" -out alice2.csr
printf '[ee]\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectAltName=email:alice@acme.example\n' > alice2.ext
openssl x509 -req -in alice2.csr -CA $P/sub-ca.cert.pem -CAkey $P/sub-ca.key.pem -set_serial 0x$serial2 \
  -days 365 -extfile alice2.ext -extensions ee -outform DER -out alice2.cert.der 2>/dev/null
printf '%s' "$serial" > alice.serial; printf '%s' "$serial2" > alice2.serial
export_p12() {
  openssl pkcs12 -export -in $P/alice.cert.pem -inkey $P/alice.key.pem -name alice -passout pass:test \
    -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 -out alice.p12
}
export_p12

gpgsm_fixtures() {
  G=$PWD/gnupg; mkdir -m 700 "$G"
  printf 'disable-crl-checks\ndisable-dirmngr\nno-common-certs-import\n' > "$G/gpgsm.conf"
  printf 'allow-loopback-pinentry\ns2k-count 65536\n' > "$G/gpg-agent.conf"  # cheapest key protection
  printf '%s S relax\n' "$(openssl x509 -in $P/root-ca.cert.pem -noout -fingerprint -sha1 | sed 's/.*=//;s/://g')" > "$G/trustlist.txt"
  GNUPGHOME=$G gpgsm --batch --import $P/root-ca.cert.pem $P/sub-ca.cert.pem >gpgsm.log 2>&1
  # gpgsm 2.2.40 fails to decrypt about one in 150 OpenSSL-made PKCS#12 files ("error parsing
  # or decrypting"), depending on the export's random salt: up to three fresh exports.
  for attempt in 1 2 3; do
    echo test | GNUPGHOME=$G gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 --import alice.p12 >import.log 2>&1
    cat import.log >>gpgsm.log
    grep -q 'error parsing or decrypting the PKCS#12' import.log || break
    export_p12
  done
  echo test | GNUPGHOME=$G gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 -u alice@acme.example \
    --detach-sign -o gpgsm.p7s content.txt >>gpgsm.log 2>&1
  echo test | GNUPGHOME=$G gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 -u alice@acme.example \
    --sign -o gpgsm.p7m content.txt >>gpgsm.log 2>&1
}
gpgsm_fixtures || echo gpgsm > gpgsm.failed
[ -d gnupg ] && GNUPGHOME=$PWD/gnupg gpgconf --kill gpg-agent >/dev/null 2>&1 || true

nss_fixtures() {
  mkdir nss
  certutil -N --empty-password -d sql:nss >nss.log 2>&1
  certutil -A -n ssm-test-root -t "C,C,C" -i $P/root-ca.cert.der -d sql:nss >>nss.log 2>&1
  certutil -A -n ssm-test-sub -t ",," -i $P/sub-ca.cert.der -d sql:nss >>nss.log 2>&1
  pk12util -i alice.p12 -d sql:nss -W test -K '' >>nss.log 2>&1
  cmsutil -S -N alice -i content.txt -d sql:nss -o nss.p7m >>nss.log 2>&1
  cmsutil -S -T -N alice -i content.txt -d sql:nss -o nss.p7s >>nss.log 2>&1
}
nss_fixtures || echo nss > nss.failed
# wolfSSL's PKCS#7 (libwolfssl-dev) through the interop peer tool, compiled here: its default
# signed attributes carry a signingTime libtasn1 cannot decode (wolfSSL 5.5.4 writes the year's
# tens digit as a space).
wolf_fixtures() {
  cc -std=c11 -O1 -Wall -Wextra -Werror -o wolfpkcs7 "$src/tests/interop/wolfssl/wolfpkcs7.c" \
    $(pkg-config --cflags --libs wolfssl) >wolf.log 2>&1
  ./wolfpkcs7 sign --cert $P/alice.cert.pem --key $P/alice.key.pem --detached content.txt wolf.p7s >>wolf.log 2>&1
  ./wolfpkcs7 sign --cert $P/alice.cert.pem --key $P/alice.key.pem --sid ski content.txt wolf.p7m >>wolf.log 2>&1
}
wolf_fixtures || echo wolf > wolf.failed
)SH";

inline const fs::path& fixtures()
{
    static test::TempDir dir;
    static const bool made = [] {
        test::write_file(dir.path() / "make.sh", kFixtureScript);
        test::run("cd " + dir.path().string() + " && sh make.sh " + test::source_dir().string() + " >setup.log 2>&1");
        return true;
    }();
    (void)made;
    return dir.path();
}

// Output of a shell command (throws when it fails).
inline std::string cmsverify_shell(const std::string& cmd)
{
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed");
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (pclose(p) != 0) throw std::runtime_error("command failed: " + cmd);
    return out;
}

inline Bytes file_bytes(const fs::path& p) { return to_bytes(test::read_file(p)); }
inline Bytes fixture(const std::string& name) { return file_bytes(fixtures() / name); }
inline Bytes pki_cert(const std::string& name) { return fixture("pki/" + name + ".cert.der"); }

inline smime::cms::VerifyResult detached(const Bytes& sig, const Bytes& content,
                                         std::span<const Bytes> extra = {})
{
    MemorySource src(content);
    return smime::cms::verify_detached(sig, src, extra);
}

struct Opaque {
    smime::cms::VerifyResult result;
    Bytes content;
};
inline Opaque opaque(const Bytes& der, std::span<const Bytes> extra = {})
{
    MemorySource src(der);
    MemorySink out;
    Opaque o;
    o.result = smime::cms::verify_encapsulated(src, out, extra);
    o.content = out.data();
    return o;
}

// The failure class of what `f` throws (Internal when it throws nothing).
template <class F>
Failure failure_of(F&& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.failure();
    }
    return Failure::Internal;
}

}  // namespace ssm::verifytest
