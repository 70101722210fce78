// The envelopes of the copies made in full (a mail list's further envelopes, v=3 markers,
// milter/reinjection.h) that this process is handing to the reinjection listener right now.
// Such a copy's envelope (the list mail's sender, a group of members) was never judged at RCPT:
// the members were planned as the list's mail. When the listener runs the milter on it, its
// RCPT TO would be judged for that sender and that loopback client, and a refusal there would
// defer or refuse the whole list message on every retry. A recipient whose envelope is here is
// therefore answered at the end of the header instead, once the marker can be read
// (MessageProcessor::expect_made_copies): delivered as made with a valid v=3 marker, refused with
// the RCPT's own reply otherwise. Being here grants nothing by itself: the marker decides.
// Input: envelope text from our own hand-over and from the MTA (compared as one mailbox,
// EmailAddress::key(), however quoted; text that is no address lower-cased).
#pragma once
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ssm::milter {

class MadeCopiesInFlight {
public:
    // Held while one hand-over's made copies are with the listener; destroying it takes their
    // envelopes out. Must not outlive the MadeCopiesInFlight it came from.
    class Ticket {
    public:
        Ticket(Ticket&& other) noexcept : m_owner(other.m_owner), m_keys(std::move(other.m_keys))
        {
            other.m_owner = nullptr;
        }
        Ticket& operator=(Ticket&&) = delete;
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket();

    private:
        friend class MadeCopiesInFlight;
        using Key = std::pair<std::string, std::string>;
        Ticket(MadeCopiesInFlight* owner, std::vector<Key> keys) : m_owner(owner), m_keys(std::move(keys)) {}
        MadeCopiesInFlight* m_owner;
        std::vector<Key> m_keys;
    };

    // The envelope of one made copy, from now until the ticket ends.
    Ticket begin(std::string_view sender, const std::vector<std::string>& recipients);
    // Whether a made copy from `sender` to `recipient` is being handed over now.
    bool expects(std::string_view sender, std::string_view recipient) const;

private:
    mutable std::mutex m_mutex;
    std::map<Ticket::Key, std::size_t> m_envelopes;  // (sender, recipient) lower-cased -> count
};

}  // namespace ssm::milter
