// Unit tests for Authentication-Results formatting and authserv-id recognition.
#include <cppunit/extensions/HelperMacros.h>

#include "milter/auth_results.h"

using namespace ssm::milter;

class AuthResultsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuthResultsTest);
    CPPUNIT_TEST(formats_rfc7281_properties);
    CPPUNIT_TEST(quotes_values_and_drops_controls);
    CPPUNIT_TEST(lines_within_78_characters);
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
        // Folded between properties where a line would pass 78 characters.
        CPPUNIT_ASSERT_EQUAL(std::string("mx.acme.example;\r\n\tsmime=pass body.smime-identifier=alice@partner.example "
                                         "body.smime-part=1\r\n\tbody.smime-serial=0a1b "
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
        CPPUNIT_ASSERT(v.find("\r\n\t") == 3);  // the only line breaks are our own folds
        CPPUNIT_ASSERT_EQUAL(std::string("mx;\r\n\tsmime=fail reason=\"certificate expiredX-Injected: yes \\\"quoted\\\"\""), v);
    }

    // RFC 5322 §2.1.1: no line over 78 characters (the first counted from the field name), folded
    // only where RFC 8601 allows white space: before a result, a reason or a property. A value
    // longer than a line on its own keeps its line. Unfolded, the field reads as before folding.
    void lines_within_78_characters()
    {
        SmimeAuthResult a;
        a.result = SmimeResult::Fail;
        a.reason = "From address does not match the signer's certificate (alice@partner.example)";
        a.identifier = "alice.longname@subsidiary.partner.example";
        a.part = "1";
        a.serial = "3a9f5c0e7d21b4468f0a9e3c5d7b1f2e4a6c8e01";
        a.issuer = "CN=Partner Issuing CA 2024,OU=Trust Services,O=Partner Example Holding AG,C=DE";
        SmimeAuthResult b;
        b.result = SmimeResult::Pass;
        b.identifier = "bob@partner.example";
        b.part = "1.2";
        b.serial = "01";
        b.issuer = "CN=Partner CA,O=Partner";
        const std::string v = format_auth_results("mx.acme.example", {a, b});
        const std::string field = "Authentication-Results: " + v;
        std::size_t lines = 0;
        for (std::size_t start = 0; start < field.size(); ++lines) {
            std::size_t end = field.find("\r\n", start);
            if (end == std::string::npos) end = field.size();
            const std::string line = field.substr(start, end - start);
            const bool one_piece = line.size() > 1 && line[0] == '\t' && line.find(' ') == std::string::npos;
            // or one quoted value (no quote inside these), with the ';' before the next result
            const std::size_t q = line.find('"', line.find('"') + 1);
            const bool quoted_piece = (line.rfind("\treason=\"", 0) == 0 || line.rfind("\tbody.smime-issuer=\"", 0) == 0) &&
                                      (q + 1 == line.size() || (q + 2 == line.size() && line.back() == ';'));
            CPPUNIT_ASSERT_MESSAGE(line, line.size() <= 78 || one_piece || quoted_piece);
            if (start > 0) {
                CPPUNIT_ASSERT_MESSAGE(line, line[0] == '\t');
                const bool at_result = line.rfind("\tsmime=", 0) == 0 && field[start - 3] == ';';
                const bool at_property = line.rfind("\treason=", 0) == 0 || line.rfind("\tbody.smime-", 0) == 0;
                CPPUNIT_ASSERT_MESSAGE(line, at_result || at_property);
            }
            start = end == field.size() ? end : end + 2;
        }
        CPPUNIT_ASSERT(lines > 3);  // the properties were folded, not only the results
        // The reason (80 characters quoted) is one piece: it keeps a line of its own.
        CPPUNIT_ASSERT(v.find("\r\n\treason=\"From address does not match the signer's certificate "
                              "(alice@partner.example)\"\r\n\t") != std::string::npos);
        std::string unfolded = v;
        for (std::size_t i; (i = unfolded.find("\r\n\t")) != std::string::npos;) unfolded.replace(i, 3, " ");
        CPPUNIT_ASSERT_EQUAL(std::string("mx.acme.example; smime=fail reason=\"" + a.reason + "\" body.smime-identifier=" +
                                         a.identifier + " body.smime-part=1 body.smime-serial=" + a.serial +
                                         " body.smime-issuer=\"" + a.issuer + "\"; smime=pass body.smime-identifier=" +
                                         b.identifier + " body.smime-part=1.2 body.smime-serial=01 body.smime-issuer=\"" +
                                         b.issuer + "\""),
                             unfolded);
        // A long authserv-id: "none" moves to the next line rather than pass 78.
        const std::string id(60, 'm');
        CPPUNIT_ASSERT_EQUAL(id + ";\r\n\tnone", format_auth_results(id, {}));
        CPPUNIT_ASSERT_EQUAL(id, *auth_results_authserv_id(format_auth_results(id, {})));
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
        // The same host name written as an absolute domain name (a reader that compares host
        // names takes it for ours); two dots are no spelling of it.
        CPPUNIT_ASSERT(claims_authserv_id("mx.acme.example.; smime=pass", "mx.acme.example"));
        CPPUNIT_ASSERT(claims_authserv_id("MX.ACME.EXAMPLE. ; smime=pass", "mx.acme.example."));
        CPPUNIT_ASSERT(claims_authserv_id("mx.acme.example; smime=pass", "mx.acme.example."));
        CPPUNIT_ASSERT(!claims_authserv_id("mx.acme.example..; smime=pass", "mx.acme.example"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuthResultsTest);
