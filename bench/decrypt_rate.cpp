// bench/decrypt_rate: the token's raw private-key decryption rate (RSA raw decryption of one
// block, or ECDH derivation; no CMS, no MIME) with N threads at once through
// hsm::measure_decrypt_rate, i.e. the upper bound of inbound decryption per token.
// Input: command-line arguments from bench/run-inbound.sh (trusted); prints "<operations/s>".
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
    std::cerr << "usage: decrypt_rate MODULE TOKEN_LABEL PIN_FILE EMAIL THREADS MILLISECONDS\n";
    return 64;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 7) return usage();
    using namespace ssm;
    hsm::TokenConfig config;
    config.module = argv[1];
    config.token_label = argv[2];
    config.pin_file = argv[3];
    const auto email = EmailAddress::parse(argv[4]);
    const int threads = std::atoi(argv[5]);
    const int ms = std::atoi(argv[6]);
    if (!email || threads < 1 || ms < 1) return usage();
    config.sessions = static_cast<unsigned>(threads);
    try {
        const auto store = hsm::KeyStore::open(config);
        const auto decrypter = store->decrypter_for(*email);
        if (!decrypter) {
            std::cerr << "decrypt_rate: no decryption key for " << argv[4] << "\n";
            return 1;
        }
        std::vector<double> rates(static_cast<std::size_t>(threads), 0.0);
        std::vector<std::string> errors(rates.size());
        std::vector<std::thread> pool;
        for (std::size_t i = 0; i < rates.size(); ++i)
            pool.emplace_back([&, i] {
                try {
                    rates[i] = hsm::measure_decrypt_rate(*decrypter, std::chrono::milliseconds(ms));
                } catch (const std::exception& e) {
                    errors[i] = e.what();
                }
            });
        for (auto& t : pool) t.join();
        double total = 0;
        for (std::size_t i = 0; i < rates.size(); ++i) {
            if (!errors[i].empty()) {
                std::cerr << "decrypt_rate: " << errors[i] << "\n";
                return 1;
            }
            total += rates[i];
        }
        std::cout << static_cast<long>(total) << "\n";
    } catch (const std::exception& e) {
        std::cerr << "decrypt_rate: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
