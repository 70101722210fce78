// Unit tests for the one outcome of undecryptable mail addressed to our keys
// (milter/undecryptable.h): per [inbound] on_undecryptable, what the SMTP client sees and
// what the MTA keeps, and which failures stay visible (token outages only).
#include <cppunit/extensions/HelperMacros.h>

#include "milter/undecryptable.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

std::shared_ptr<const Config> config_with(const std::string& mode)
{
    std::string text = "[hsm]\ntoken_label = \"t\"\n[milter]\nauthserv_id = \"mx.acme.example\"\n";
    if (!mode.empty()) text += "[inbound]\non_undecryptable = \"" + mode + "\"\n";
    return parse_config(text, "test.toml");
}

MessageOutcome refused(const std::string& detail)
{
    MessageOutcome out;
    out.reply = Reply::reject("550", "5.7.1", "the sender's policy requires a valid S/MIME signature");
    out.action = "reject";
    out.detail = detail;
    return out;
}

// The header as an outsider may send it: our marks and a result claiming our authserv-id.
const std::vector<smime::mime::HeaderField> kReceived = {
    {"X-SSM-Undecryptable", "forged"},
    {"Authentication-Results", "other.example; smime=pass"},
    {"Authentication-Results", "mx.acme.example; smime=pass"},
    {"X-SSM-Decrypted", "forged"},
    {"X-SSM-Policy", "forged"},
    {"Subject", "figures"},
};

bool removes(const smime::HeaderEdit& e, const std::string& name, int index)
{
    for (const auto& r : e.remove)
        if (r.name == name && r.index == index) return true;
    return false;
}

}  // namespace

class UndecryptableTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(UndecryptableTest);
    CPPUNIT_TEST(modes_table);
    CPPUNIT_TEST(forged_fields_never_pass);
    CPPUNIT_TEST(which_failures_are_hidden);
    CPPUNIT_TEST(hidden_reply_is_one_field);
    CPPUNIT_TEST_SUITE_END();

public:
    // The hidden reply may quote input (reply_for keeps the text of a parse error, a label
    // reader's message, a certificate's address): written as one escaped field of the detail
    // (log::field), so that it cannot end its quotes and add a field of its own, as a forged
    // undecryptable= or rule= would. Until 2026-12-02 it was put in quotes as it came.
    void hidden_reply_is_one_field()
    {
        MessageOutcome failed;
        failed.reply = Reply::reject("554", "5.6.0", "malformed message: x\" undecryptable=deliver rule=\"y");
        failed.action = "reject";
        failed.detail = "failure=malformed-message";
        const auto out = undecryptable_outcome(*config_with(""), kReceived, std::move(failed));
        CPPUNIT_ASSERT_EQUAL(std::string("failure=malformed-message hidden_reply=\"554 5.6.0 malformed message: "
                                         "x\\x22 undecryptable=deliver rule=\\x22y\" undecryptable=hold"),
                             out.detail);
    }

    void modes_table()
    {
        struct Case {
            const char* mode;  // "" = the default
            Verdict verdict;
            const char* action;
            bool held;
            const char* reply;
        } cases[] = {
            {"", Verdict::Accept, "hold", true, "accept"},
            {"hold", Verdict::Accept, "hold", true, "accept"},
            {"deliver", Verdict::Accept, "deliver-encrypted", false, "accept"},
            {"reject", Verdict::Reject, "reject", false, "554 5.7.5 the message could not be decrypted"},
        };
        for (const auto& c : cases) {
            const auto config = config_with(c.mode);
            const MessageOutcome out = undecryptable_outcome(*config, kReceived, refused("decrypted=x"));
            CPPUNIT_ASSERT_MESSAGE(c.mode, out.reply.verdict == c.verdict);
            CPPUNIT_ASSERT_EQUAL(std::string(c.reply), out.reply.str());
            CPPUNIT_ASSERT_EQUAL(std::string(c.action), out.action);
            CPPUNIT_ASSERT_EQUAL(c.held, !out.quarantine.empty());
            // Delivered or held as received: never a new body.
            CPPUNIT_ASSERT(!out.new_body);
            // The log keeps what happened, and what would have been answered.
            CPPUNIT_ASSERT(out.detail.find("decrypted=x hidden_reply=\"550 5.7.1 the sender's policy") == 0);
            CPPUNIT_ASSERT(out.detail.find(std::string(" undecryptable=") + (*c.mode ? c.mode : "hold")) !=
                           std::string::npos);
            if (c.verdict == Verdict::Accept) {
                CPPUNIT_ASSERT(out.header_edit);
                CPPUNIT_ASSERT_EQUAL(std::size_t(1), out.header_edit->prepend.size());
                CPPUNIT_ASSERT_EQUAL(std::string("X-SSM-Undecryptable"), out.header_edit->prepend[0].name);
                CPPUNIT_ASSERT_EQUAL(std::string("mx.acme.example"), out.header_edit->prepend[0].value);
            } else {
                CPPUNIT_ASSERT(!out.header_edit);
            }
        }
    }

    void forged_fields_never_pass()
    {
        const auto config = config_with("deliver");
        const MessageOutcome out = undecryptable_outcome(*config, kReceived, refused(""));
        const auto& e = *out.header_edit;
        CPPUNIT_ASSERT(removes(e, "X-SSM-Undecryptable", 1));
        CPPUNIT_ASSERT(removes(e, "X-SSM-Decrypted", 1));
        CPPUNIT_ASSERT(removes(e, "X-SSM-Policy", 1));
        CPPUNIT_ASSERT(removes(e, "Authentication-Results", 2));   // claims our authserv-id
        CPPUNIT_ASSERT(!removes(e, "Authentication-Results", 1));  // another host's stays
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), e.remove.size());
        CPPUNIT_ASSERT(e.add.empty() && e.change.empty());

        smime::HeaderEdit only;
        remove_undecryptable_marks(only, kReceived);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), only.remove.size());
        CPPUNIT_ASSERT(removes(only, "X-SSM-Undecryptable", 1));
    }

    void which_failures_are_hidden()
    {
        MessageOutcome accepted;
        accepted.reply = Reply::accept();
        CPPUNIT_ASSERT(!hides_undecryptable(accepted, std::nullopt));
        // Every refusal and every temporary failure that may depend on the content...
        CPPUNIT_ASSERT(hides_undecryptable(refused(""), std::nullopt));
        const Failure hidden[] = {Failure::CryptographicFailure, Failure::MalformedMessage, Failure::MessageTooLarge,
                                  Failure::PolicyViolation, Failure::DirectoryUnavailable, Failure::Temporary,
                                  Failure::Internal};
        for (const Failure f : hidden) {
            MessageOutcome out;
            out.reply = reply_for(f, "x");
            CPPUNIT_ASSERT_MESSAGE(failure_name(f), hides_undecryptable(out, f));
        }
        // ...but a token outage, the same whatever the ciphertext holds: the MTA retries.
        MessageOutcome token;
        token.reply = reply_for(Failure::HsmUnavailable, "token gone");
        CPPUNIT_ASSERT(!hides_undecryptable(token, Failure::HsmUnavailable));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(UndecryptableTest);
