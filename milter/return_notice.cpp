// The delivery status notification of rule no_certificate = "return" (see return_notice.h).
#include "milter/return_notice.h"

#include "base/ascii.h"
#include "base/utc_time.h"
#include "milter/reinjection.h"

namespace ssm::milter {

namespace {

// Words of `text` on lines of at most 78 octets (a word longer than that stays whole): the
// first line follows `first_used` octets already written on it, later lines start with
// `indent` (a fold in a header field, or nothing in body text). Lines end with CRLF.
std::string wrapped(const std::string& text, std::size_t first_used, const std::string& indent)
{
    std::string out;
    std::size_t used = first_used;
    std::size_t pos = 0;
    bool line_empty = true;
    while (pos < text.size()) {
        const std::size_t space = text.find(' ', pos);
        const std::string word = text.substr(pos, space == std::string::npos ? std::string::npos : space - pos);
        pos = space == std::string::npos ? text.size() : space + 1;
        if (word.empty()) continue;
        if (!line_empty && used + 1 + word.size() > 78) {
            out += "\r\n" + indent;
            used = indent.size();
            line_empty = true;
        }
        if (!line_empty) {
            out += ' ';
            ++used;
        }
        out += word;
        used += word.size();
        line_empty = false;
    }
    return out + "\r\n";
}

// What we copy from the original message's header: printable ASCII only (else nothing).
std::string copied(const std::string& value, std::size_t max)
{
    const auto first = value.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    std::string v = value.substr(first, value.find_last_not_of(" \t\r\n") - first + 1);
    for (char& c : v)
        if (c == '\r' || c == '\n' || c == '\t') c = ' ';  // an unfolded field
    return plain_printable(v, max) ? v : "";
}

// A recipient as the report names it: an address that is not printable ASCII (SMTPUTF8) is
// not copied into the report's fields.
std::string address(const std::string& recipient)
{
    const std::string a = copied(recipient, 320);
    return a.empty() ? "unknown" : a;
}

Bytes bytes_of(const std::string& s)
{
    return Bytes(s.begin(), s.end());
}

}  // namespace

ReturnNoticeText make_return_notice(const ReturnNotice& n, const std::string& unique, std::time_t now)
{
    const std::string boundary = "=_ssm-return-" + unique;
    const std::string date_format = "%a, %d %b %Y %H:%M:%S +0000";  // RFC 5322 §3.3
    std::string h;
    const auto field = [&h](const std::string& name, const std::string& value) { h += name + ": " + value + "\r\n"; };
    if (!n.marker.empty()) field(std::string(kReinjectionHeader), n.marker);
    field("From", "Mail Delivery System <MAILER-DAEMON@" + n.reporting_host + ">");
    field("To", "<" + n.to + ">");
    // Not the original Subject: a subject_tag trigger in it would apply to the notice too
    // (the original, attached, keeps it).
    field("Subject", "Undelivered Mail Returned to Sender (encryption not possible)");
    field("Date", utc_time(now, date_format.c_str()));
    field("Message-ID", "<return." + unique + "@" + n.reporting_host + ">");
    if (const std::string id = copied(n.original_message_id, 250);
        !id.empty() && id.front() == '<' && id.back() == '>' && id.find(' ') == std::string::npos) {
        field("In-Reply-To", id);
        field("References", id);
    }
    field("Auto-Submitted", "auto-replied");  // RFC 3834: an automatic answer
    field("MIME-Version", "1.0");
    h += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n";
    h += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

    h += "--" + boundary + "\r\n";
    h += "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
    h += wrapped("This is the S/MIME gateway at " + n.reporting_host + ".", 0, "");
    h += "\r\n";
    h += wrapped("Your message could not be delivered to the recipients below: the organisation's "
                 "policy requires mail to them to be encrypted, and no usable certificate (public key) "
                 "was found for them. The message was not sent to them, in clear or otherwise.",
                 0, "");
    if (n.others_delivered) h += wrapped("The other recipients of the message received it.", 0, "");
    h += "\r\n";
    h += wrapped("Your message is attached. To reach these recipients, ask them for their "
                 "certificate (a signed message from them is enough) or for another way to send it.",
                 0, "");
    for (const auto& r : n.recipients) {
        h += "\r\n";
        h += wrapped("<" + address(r.recipient) + ">: " + copied(r.reply, 900), 0, "    ");
    }
    h += "\r\n--" + boundary + "\r\n";

    h += "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
    h += "Reporting-MTA: dns; " + n.reporting_host + "\r\n";
    if (n.arrival) h += "Arrival-Date: " + utc_time(n.arrival, date_format.c_str()) + "\r\n";
    for (const auto& r : n.recipients) {
        h += "\r\nFinal-Recipient: rfc822; " + address(r.recipient) + "\r\n";
        h += "Action: failed\r\nStatus: 5.7.1\r\n";
        h += "Diagnostic-Code: " + wrapped("smtp; " + copied(r.reply, 900), 17, " ");
    }
    h += "\r\n--" + boundary + "\r\n";

    h += "Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n";
    // RFC 2046 §5.2.1: 7bit, 8bit or binary only; the original's octets are copied as they came.
    if (n.eight_bit) h += "Content-Transfer-Encoding: 8bit\r\n";
    h += "\r\n";
    return {bytes_of(h), bytes_of("\r\n--" + boundary + "--\r\n")};
}

}  // namespace ssm::milter
