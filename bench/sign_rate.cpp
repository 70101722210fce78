// bench/sign_rate: the token's raw signing rate (no MIME, no CMS) with N threads signing at
// once through hsm::measure_sign_rate, i.e. the upper bound the milter can reach per token.
// Input: command-line arguments from bench/run.sh (trusted); prints "<signatures/s>".
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "base/email_address.h"
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
    hsm::TokenConfig config;
    config.module = argv[1];
    config.token_label = argv[2];
    config.pin_file = argv[3];
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
    config.sessions = static_cast<unsigned>(threads);
    try {
        const auto store = hsm::KeyStore::open(config);
        const auto signer = store->signer_for(*email);
        if (!signer) {
            std::cerr << "sign_rate: no signing key for " << argv[4] << "\n";
            return 1;
        }
        std::vector<double> rates(static_cast<std::size_t>(threads), 0.0);
        std::vector<std::string> errors(rates.size());
        std::vector<std::thread> pool;
        for (std::size_t i = 0; i < rates.size(); ++i)
            pool.emplace_back([&, i] {
                try {
                    rates[i] = hsm::measure_sign_rate(*signer, smime::DigestAlgorithm::Sha256,
                                                      scheme, std::chrono::milliseconds(ms));
                } catch (const std::exception& e) {
                    errors[i] = e.what();
                }
            });
        for (auto& t : pool) t.join();
        double total = 0;
        for (std::size_t i = 0; i < rates.size(); ++i) {
            if (!errors[i].empty()) {
                std::cerr << "sign_rate: " << errors[i] << "\n";
                return 1;
            }
            total += rates[i];
        }
        std::cout << static_cast<long>(total) << "\n";
    } catch (const std::exception& e) {
        std::cerr << "sign_rate: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
