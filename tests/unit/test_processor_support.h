// Shared by the unit tests that run MessageProcessor on a real SoftHSM token with OpenSSL as the
// independent reader (test_policy_replan.cpp, test_blind_copies.cpp): the configuration around
// their rules, `openssl cms` on a message of ours, and the message as the MTA would deliver it.
// Input: our own fixtures and what the code under test wrote.
#pragma once
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "milter/config.h"
#include "milter/message_processor.h"
#include "milter/message_writer.h"
#include "tests/unit/test_support.h"

namespace ssm::test {

struct ProcessorToken : PkiToken {
    using PkiToken::PkiToken;

    // [milter] (clients in 10.0.0.0/8 are internal), [pki] (the test PKI, revocation off),
    // [directory] (the static folder "certs") and [hsm] (the token), then `rest`.
    std::string base_config(const std::string& rest) const
    {
        return "[milter]\ninternal_networks = [\"10.0.0.0/8\"]\nspool_dir = \"" + dir.path().string() +
               "\"\n[pki]\ntrust_anchors = \"" + (pki / "trust").string() + "\"\nintermediates = \"" +
               (pki / "intermediates").string() + "\"\ncrls = \"\"\nrevocation = \"off\"\n"
               "[directory]\nstatic_certificates = \"" + (dir.path() / "certs").string() + "\"\n"
               "[hsm]\ntoken_label = \"ssm-test\"\npin_file = \"" + (token / "pin").string() + "\"\n" + rest;
    }

    // `openssl cms ARGS` on `message`; the output file's text, or throws with its errors.
    std::string openssl(const std::string& message, const std::string& args) const
    {
        write_file(dir.path() / "in.eml", message);
        const std::string cmd = "OPENSSL_CONF=/dev/null openssl cms " + args + " -in '" +
                                (dir.path() / "in.eml").string() + "' -out '" + (dir.path() / "out.eml").string() +
                                "' 2>'" + (dir.path() / "err").string() + "'";
        if (std::system(cmd.c_str()) != 0)
            throw std::runtime_error("openssl cms " + args + ": " + read_file(dir.path() / "err"));
        return read_file(dir.path() / "out.eml");
    }

    std::string decrypt(const std::string& message, const std::string& who) const
    {
        return openssl(message, "-decrypt -inkey '" + (pki / (who + ".key.pem")).string() + "' -recip '" +
                                    (pki / (who + ".cert.pem")).string() + "'");
    }
};

// The message as the MTA would deliver it after `outcome` (which must carry a header edit):
// the new body, or `body` (the one the processor was given) when only the header changed.
inline std::string delivered(const milter::MessageProcessor& p, const milter::MessageOutcome& outcome,
                             const std::string& body)
{
    MemorySink sink;
    MemorySource original(as_bytes(body));  // a view: `body` outlives it
    auto reader = outcome.new_body ? outcome.new_body->reader() : nullptr;
    milter::write_rewritten_message(p.headers(), *outcome.header_edit,
                                    reader ? *reader : static_cast<ByteSource&>(original), sink);
    return sink.str();
}

}  // namespace ssm::test
