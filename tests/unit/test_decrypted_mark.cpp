// milter/decrypted_mark.h: the mark on mail the gateway decrypted (ours at the top, forged ones
// removed) and the check that finds it quoted in a notice, wherever the reads cut the lines.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>

#include "base/stream.h"
#include "milter/decrypted_mark.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

// Hands out its text `step` bytes a read, so that a line can start in one read and end in
// the next.
class Trickle final : public ByteSource {
public:
    Trickle(std::string text, std::size_t step) : m_text(std::move(text)), m_step(step) {}
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        const std::size_t n = std::min({buf.size(), m_step, m_text.size() - m_pos});
        std::copy_n(m_text.begin() + static_cast<std::ptrdiff_t>(m_pos), n, buf.begin());
        m_pos += n;
        return n;
    }
    void rewind() override { m_pos = 0; }
    std::uint64_t size() const override { return m_text.size(); }

private:
    std::string m_text;
    std::size_t m_step;
    std::size_t m_pos = 0;
};

bool quotes(const std::string& text, std::size_t step = 1 << 20)
{
    Trickle t(text, step);
    return quotes_decrypted_message(t);
}

}  // namespace

class DecryptedMarkTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DecryptedMarkTest);
    CPPUNIT_TEST(notice_quoting_the_mark_is_found);
    CPPUNIT_TEST(mark_elsewhere_in_a_line_is_not_a_quote);
    CPPUNIT_TEST(notice_quoting_the_undecryptable_mark_is_found);
    CPPUNIT_TEST(ours_on_top_forged_ones_removed);
    CPPUNIT_TEST_SUITE_END();

public:
    void notice_quoting_the_mark_is_found()
    {
        // A bounce's returned part: the message's header, our field first.
        const std::string bounce = "--b\r\nContent-Type: message/rfc822\r\n\r\n"
                                   "Received: from x\r\nX-SSM-Decrypted: mx.acme.example\r\nFrom: <m@evil.example>\r\n\r\n"
                                   "text\r\n--b--\r\n";
        for (std::size_t step : {std::size_t(1), std::size_t(3), std::size_t(7), std::size_t(1) << 20})
            CPPUNIT_ASSERT(quotes(bounce, step));
        CPPUNIT_ASSERT(quotes("x-ssm-decrypted: yes\n"));       // at the very start, any case
        CPPUNIT_ASSERT(quotes("a\nX-SSM-DECRYPTED:yes\n", 2));  // LF line ends
    }

    void mark_elsewhere_in_a_line_is_not_a_quote()
    {
        CPPUNIT_ASSERT(!quotes(""));
        CPPUNIT_ASSERT(!quotes("text\r\n> X-SSM-Decrypted: quoted by a person\r\n"));
        CPPUNIT_ASSERT(!quotes("X-SSM-Decrypted\r\n"));  // no colon: not the field
        CPPUNIT_ASSERT(!quotes("X-SSM-Decrypte", 1));    // cut short at the end
        CPPUNIT_ASSERT(!quotes("Subject: X-SSM-Decrypted: no\r\n", 5));
    }

    // A notice (the success DSN, a bounce) that leaves for mail delivered or released still
    // encrypted, but not for mail decrypted, would tell the sender of a changed ciphertext
    // whether it decrypted: both marks stop it (before 2026-12-02 only X-SSM-Decrypted did).
    void notice_quoting_the_undecryptable_mark_is_found()
    {
        const std::string dsn = "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                                "Received: from x\r\nX-SSM-Undecryptable: mx.acme.example\r\nFrom: <m@evil.example>\r\n"
                                "--b--\r\n";
        for (std::size_t step : {std::size_t(1), std::size_t(3), std::size_t(7), std::size_t(1) << 20})
            CPPUNIT_ASSERT(quotes(dsn, step));
        CPPUNIT_ASSERT(quotes("x-ssm-undecryptable:x\n"));
        CPPUNIT_ASSERT(!quotes("X-SSM-Undecryptable\r\n"));       // no colon
        CPPUNIT_ASSERT(!quotes("> X-SSM-Undecryptable: a\r\n"));  // not at a line start
        CPPUNIT_ASSERT(!quotes("X-SSM-Undecrypted: a\r\nX-SSM-Decrypt: b\r\n", 2));
        CPPUNIT_ASSERT(quotes("X-SSM-Undecrypted: a\r\nX-SSM-Decrypted: b\r\n", 2));  // the next line counts
    }

    void ours_on_top_forged_ones_removed()
    {
        const std::vector<smime::mime::HeaderField> received = {
            {"From", "<a@partner.example>"}, {"x-ssm-decrypted", "forged"}, {"X-SSM-Decrypted", "again"}};
        smime::HeaderEdit edit;
        edit.prepend.push_back({"Authentication-Results", "mx.acme.example; smime=pass"});
        mark_decrypted(edit, received, Delivered::Decrypted, "mx.acme.example");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), edit.remove.size());
        CPPUNIT_ASSERT_EQUAL(1, edit.remove[0].index);
        CPPUNIT_ASSERT_EQUAL(2, edit.remove[1].index);
        CPPUNIT_ASSERT_EQUAL(std::string("X-SSM-Decrypted"), edit.prepend.front().name);  // above A-R
        CPPUNIT_ASSERT_EQUAL(std::string("mx.acme.example"), edit.prepend.front().value);

        smime::HeaderEdit clear;
        mark_decrypted(clear, received, Delivered::AsReceived, "mx.acme.example");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), clear.remove.size());
        CPPUNIT_ASSERT(clear.prepend.empty());  // nothing decrypted: nothing marked

        // The mail list's content, encrypted again: the integrity mark alone, on top.
        smime::HeaderEdit again;
        again.prepend.push_back({"Authentication-Results", "mx.acme.example; smime=pass"});
        mark_decrypted(again, received, Delivered::EncryptedAgain, "mx.acme.example", "aes-256-cbc");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), again.remove.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), again.prepend.size());
        CPPUNIT_ASSERT_EQUAL(std::string("X-SSM-Integrity"), again.prepend.front().name);
        smime::HeaderEdit protected_again;
        mark_decrypted(protected_again, received, Delivered::EncryptedAgain, "mx.acme.example");
        CPPUNIT_ASSERT(protected_again.prepend.empty());  // nothing unprotected: no mark
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DecryptedMarkTest);
