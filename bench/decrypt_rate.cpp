// bench/decrypt_rate: the token's raw private-key decryption rate (RSA raw decryption of one
// block, or ECDH derivation; no CMS, no MIME) with N threads at once through
// hsm::measure_decrypt_rate, i.e. the upper bound of inbound decryption per token.
// Input: command-line arguments from bench/run-inbound.sh (trusted); prints "<operations/s>".
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
    std::cerr << "usage: decrypt_rate MODULE TOKEN_LABEL PIN_FILE EMAIL THREADS MILLISECONDS\n";
    return 64;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 7) return usage();
    using namespace ssm;
    const auto email = EmailAddress::parse(argv[4]);
    const int threads = std::atoi(argv[5]);
    const int ms = std::atoi(argv[6]);
    if (!email || threads < 1 || ms < 1) return usage();
    try {
        const auto store = hsm::KeyStore::open(bench::token_config(argv[1], argv[2], argv[3], threads));
        const auto decrypter = store->decrypter_for(*email);
        if (!decrypter) {
            std::cerr << "decrypt_rate: no decryption key for " << argv[4] << "\n";
            return 1;
        }
        return bench::print_parallel_rate("decrypt_rate", threads, [&] {
            return hsm::measure_decrypt_rate(*decrypter, std::chrono::milliseconds(ms));
        });
    } catch (const std::exception& e) {
        std::cerr << "decrypt_rate: " << e.what() << "\n";
        return 1;
    }
}
