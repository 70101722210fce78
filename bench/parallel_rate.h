// Shared by the raw token-rate helpers of bench/ (sign_rate, decrypt_rate): opens the token
// named on the command line and runs one measurement per thread at once, printing the sum.
// Input: command-line arguments from the bench scripts (trusted).
#pragma once
#include <cstddef>
#include <exception>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "hsm/key_store.h"

namespace ssm::bench {

// The token of MODULE / TOKEN_LABEL / PIN_FILE with one session per measuring thread.
inline hsm::TokenConfig token_config(const char* module, const char* label, const char* pin_file,
                                     int threads)
{
    hsm::TokenConfig config;
    config.module = module;
    config.token_label = label;
    config.pin_file = pin_file;
    config.sessions = static_cast<unsigned>(threads);
    return config;
}

// Runs measure() (operations/s; may throw) on THREADS threads at once and prints the total
// rate. Returns the exit status: 0, or 1 after printing "PROGRAM: error" for a failed thread.
template <typename Measure>
int print_parallel_rate(const char* program, int threads, Measure measure)
{
    std::vector<double> rates(static_cast<std::size_t>(threads), 0.0);
    std::vector<std::string> errors(rates.size());
    std::vector<std::thread> pool;
    for (std::size_t i = 0; i < rates.size(); ++i)
        pool.emplace_back([&, i] {
            try {
                rates[i] = measure();
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    for (auto& t : pool) t.join();
    double total = 0;
    for (std::size_t i = 0; i < rates.size(); ++i) {
        if (!errors[i].empty()) {
            std::cerr << program << ": " << errors[i] << "\n";
            return 1;
        }
        total += rates[i];
    }
    std::cout << static_cast<long>(total) << "\n";
    return 0;
}

}  // namespace ssm::bench
