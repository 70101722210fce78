// Unit tests for `ssmctl receipts` (tools/ssmctl_receipts): listing, --pending, show and
// expire over a real LMDB receipt store in a temp folder; texts that came from messages are
// printed sanitised.
#include <cppunit/extensions/HelperMacros.h>

#include <sstream>

#include "directory/lmdb.h"
#include "directory/receipt_store.h"
#include "milter/config.h"
#include "tools/ssmctl_receipts.h"
#include "test_support.h"

using namespace ssm;

namespace {

directory::ReceiptRequestRecord request(std::uint8_t id, std::time_t at, const std::string& message_id)
{
    directory::ReceiptRequestRecord r;
    r.content_identifier = Bytes(16, id);
    r.requested_at = at;
    r.msg_sig_digest = Bytes(32, 0x11);
    r.signature_sha256 = Bytes(32, 0x22);
    r.content_type = "1.2.840.113549.1.7.1";
    r.message_id = message_id;
    r.sender = "alice@acme.example";
    r.recipients = {"dave@partner.example", "frank@partner.example"};
    return r;
}

struct Run {
    int rc;
    std::string out, err;
};

Run ssmctl(const milter::Config& c, std::vector<std::string> args)
{
    std::ostringstream out, err;
    const int rc = tools::receipts_command(c, args, out, err);
    return {rc, out.str(), err.str()};
}

}  // namespace

class SsmctlReceiptsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SsmctlReceiptsTest);
    CPPUNIT_TEST(list_pending_show_expire);
    CPPUNIT_TEST(usage_errors);
    CPPUNIT_TEST_SUITE_END();

public:
    void list_pending_show_expire()
    {
        test::TempDir d;
        milter::Config c;
        c.directory.cache = (d.path() / "cache").string();
        const std::time_t now = std::time(nullptr);
        {
            directory::ReceiptStore store(directory::lmdb::Environment::open(c.directory.cache));
            auto answered = request(0xaa, now - 3600, "<a@acme.example>");
            answered.received = {{"dave@partner.example", now - 60, true, ""},
                                 {"frank@partner.example", now - 30, false, "msgSigDigest does not match"}};
            store.record_request(answered);
            store.record_request(request(0xbb, now - 40 * 86400, "<old\r\nInjected: x@acme.example>"));
        }
        Run r = ssmctl(c, {});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.rc);
        // Oldest first; the CR LF of a hostile Message-ID is escaped, never a new line.
        const auto old_at = r.out.find("request id=" + std::string(32, 'b'));
        const auto new_at = r.out.find("request id=" + std::string(32, 'a'));
        CPPUNIT_ASSERT(old_at != std::string::npos && new_at != std::string::npos && old_at < new_at);
        CPPUNIT_ASSERT(r.out.find("\\x0d\\x0aInjected") != std::string::npos);
        CPPUNIT_ASSERT(r.out.find("\nInjected") == std::string::npos);
        CPPUNIT_ASSERT(r.out.find("receipts=2 valid=1") != std::string::npos);
        CPPUNIT_ASSERT(r.out.find("  receipt from=dave@partner.example") != std::string::npos);
        CPPUNIT_ASSERT(r.out.find("result=mismatch detail=\"msgSigDigest does not match\"") != std::string::npos);
        CPPUNIT_ASSERT(r.out.find("to=dave@partner.example,frank@partner.example") != std::string::npos);

        r = ssmctl(c, {"list", "--pending"});
        CPPUNIT_ASSERT_EQUAL(0, r.rc);
        CPPUNIT_ASSERT(r.out.find(std::string(32, 'b')) != std::string::npos);
        CPPUNIT_ASSERT(r.out.find(std::string(32, 'a')) == std::string::npos);

        r = ssmctl(c, {"show", std::string(32, 'A')});
        CPPUNIT_ASSERT_EQUAL(0, r.rc);
        CPPUNIT_ASSERT(r.out.find("message-id=<a@acme.example>") != std::string::npos);
        r = ssmctl(c, {"show", std::string(32, 'c')});
        CPPUNIT_ASSERT_EQUAL(1, r.rc);

        r = ssmctl(c, {"expire", "30"});
        CPPUNIT_ASSERT_EQUAL(0, r.rc);
        CPPUNIT_ASSERT_EQUAL(std::string("expired removed=1\n"), r.out);
        r = ssmctl(c, {"list"});
        CPPUNIT_ASSERT(r.out.find(std::string(32, 'b')) == std::string::npos);
        CPPUNIT_ASSERT(r.out.find(std::string(32, 'a')) != std::string::npos);
    }

    void usage_errors()
    {
        test::TempDir d;
        milter::Config c;
        c.directory.cache = (d.path() / "cache").string();
        for (const std::vector<std::string>& a : std::vector<std::vector<std::string>>{
                 {"show"}, {"show", "xyz"}, {"show", "abc"}, {"expire"}, {"expire", "-1"}, {"expire", "3x"},
                 {"list", "--all"}, {"frobnicate"}})
            CPPUNIT_ASSERT_EQUAL(64, ssmctl(c, a).rc);
        // A cache folder that cannot be made: the store is unavailable (2), not a crash.
        test::write_file(d.path() / "file", "x");
        c.directory.cache = (d.path() / "file" / "cache").string();
        CPPUNIT_ASSERT_EQUAL(2, ssmctl(c, {"list"}).rc);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SsmctlReceiptsTest);
