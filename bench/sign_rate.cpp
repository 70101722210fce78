// bench/sign_rate: the token's raw signing rate (no MIME, no CMS) with N threads signing at
// once through hsm::measure_sign_rate, i.e. the upper bound the milter can reach per token.
// Input: command-line arguments from bench/run.sh (trusted); prints "<signatures/s>".
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "base/email_address.h"
#include "bench/parallel_rate.h"
#include "hsm/key_store.h"
#include "hsm/sign_rate.h"

namespace {

int usage()
{
    std::cerr << "usage: sign_rate MODULE TOKEN_LABEL PIN_FILE EMAIL pkcs1|pss|ecdsa THREADS MILLISECONDS\n";
    return 64;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 8) return usage();
    using namespace ssm;
    const auto email = EmailAddress::parse(argv[4]);
    const std::string scheme_name = argv[5];
    const int threads = std::atoi(argv[6]);
    const int ms = std::atoi(argv[7]);
    if (!email || threads < 1 || ms < 1) return usage();
    smime::SignatureScheme scheme;
    if (scheme_name == "pkcs1") scheme = smime::SignatureScheme::RsaPkcs1v15;
    else if (scheme_name == "pss") scheme = smime::SignatureScheme::RsaPss;
    else if (scheme_name == "ecdsa") scheme = smime::SignatureScheme::Ecdsa;
    else return usage();
    try {
        const auto store = hsm::KeyStore::open(bench::token_config(argv[1], argv[2], argv[3], threads));
        const auto signer = store->signer_for(*email);
        if (!signer) {
            std::cerr << "sign_rate: no signing key for " << argv[4] << "\n";
            return 1;
        }
        return bench::print_parallel_rate("sign_rate", threads, [&] {
            return hsm::measure_sign_rate(*signer, smime::DigestAlgorithm::Sha256, scheme,
                                          std::chrono::milliseconds(ms));
        });
    } catch (const std::exception& e) {
        std::cerr << "sign_rate: " << e.what() << "\n";
        return 1;
    }
}
