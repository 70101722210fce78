// Unit tests for Authentication-Results formatting and authserv-id recognition.
#include <cppunit/extensions/HelperMacros.h>

#include "milter/auth_results.h"

using namespace ssm::milter;

class AuthResultsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuthResultsTest);
    CPPUNIT_TEST(formats_rfc7281_properties);
    CPPUNIT_TEST(quotes_values_and_drops_controls);
    CPPUNIT_TEST(authserv_id_table);
    CPPUNIT_TEST(claims_table);
    CPPUNIT_TEST_SUITE_END();

public:
    void formats_rfc7281_properties()
    {
        SmimeAuthResult r;
        r.result = SmimeResult::Pass;
        r.identifier = "alice@partner.example";
        r.part = "1";
        r.serial = "0a1b";
        r.issuer = "CN=Partner CA,O=Partner";
        CPPUNIT_ASSERT_EQUAL(std::string("mx.acme.example;\r\n\tsmime=pass body.smime-identifier=alice@partner.example "
                                         "body.smime-part=1 body.smime-serial=0a1b "
                                         "body.smime-issuer=\"CN=Partner CA,O=Partner\""),
                             format_auth_results("mx.acme.example", {r}));
        CPPUNIT_ASSERT_EQUAL(std::string("mx.acme.example; none"), format_auth_results("mx.acme.example", {}));
    }

    void quotes_values_and_drops_controls()
    {
        SmimeAuthResult r;
        r.result = SmimeResult::Fail;
        r.reason = "certificate expired\r\nX-Injected: yes \"quoted\"";
        const std::string v = format_auth_results("mx", {r});
        CPPUNIT_ASSERT(v.find("X-Injected: yes") != std::string::npos);
        CPPUNIT_ASSERT(v.find("expiredX-Injected") != std::string::npos);  // CR LF removed
        CPPUNIT_ASSERT(v.find("\\\"quoted\\\"") != std::string::npos);
        CPPUNIT_ASSERT(v.find("\r\n\t") == 3);  // the only line break is our own fold
        CPPUNIT_ASSERT(v.find("\r\n", 4) == std::string::npos);
    }

    void authserv_id_table()
    {
        struct { const char* value; const char* id; } cases[] = {
            {"mx.acme.example; smime=pass", "mx.acme.example"},
            {"  mx.acme.example 1; none", "mx.acme.example"},
            {"(comment) mx.acme.example; spf=pass", "mx.acme.example"},
            {"(nested (comment)) \"quoted.id\"; none", "quoted.id"},
            {"mx.acme.example", "mx.acme.example"},
        };
        for (auto& c : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.value, std::string(c.id), *auth_results_authserv_id(c.value));
        for (const char* bad : {"", "   ", "(unterminated comment", "\"unterminated", "; none"})
            CPPUNIT_ASSERT_MESSAGE(bad, !auth_results_authserv_id(bad).has_value());
    }

    void claims_table()
    {
        CPPUNIT_ASSERT(claims_authserv_id("MX.Acme.Example; smime=pass", "mx.acme.example"));
        CPPUNIT_ASSERT(!claims_authserv_id("mx.other.example; smime=pass", "mx.acme.example"));
        CPPUNIT_ASSERT(claims_authserv_id("(unterminated", "mx.acme.example"));
        CPPUNIT_ASSERT(!claims_authserv_id("mx.acme.example.evil; none", "mx.acme.example"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuthResultsTest);
