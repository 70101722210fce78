// Work in flight, counted so that a stop waits for it (ssm-milter(8), SIGNALS).
// Messages: those between MAIL FROM and their end. libmilter cannot let them end: once its
// signal thread has seen SIGTERM, its listener and its worker pool both stop, and a session
// whose next command (the end of the message, say) comes after that is never served again;
// smfi_main returns without waiting for the sessions. So the stop signal is held back
// (milter/sighup.cpp) until the messages in flight have ended.
// Callbacks: those running in libmilter's workers. smfi_main returns without waiting for them
// either, so after the stop's limit (or a second signal) one may still be inside a slow token
// or directory call; run_milter counts them and does not destroy the daemon under one.
// Input: our own callbacks.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

namespace ssm::milter {

class InFlight {
    struct State;

public:
    // Held while one piece of work is in flight: destroying it (or resetting the optional that
    // holds it) ends it. It keeps the count alive, so it may outlive the InFlight.
    class Ticket {
    public:
        Ticket(Ticket&&) noexcept = default;
        Ticket& operator=(Ticket&& other) noexcept;
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket();

    private:
        friend class InFlight;
        explicit Ticket(std::shared_ptr<State> state) : m_state(std::move(state)) {}
        void release() noexcept;
        std::shared_ptr<State> m_state;
    };

    InFlight();

    // A ticket for work that begins now; nullopt once stop() was called.
    std::optional<Ticket> begin();
    // From now on nothing begins.
    void stop();
    // True as soon as nothing is in flight; false when `limit` passed first.
    bool wait_idle(std::chrono::milliseconds limit);
    std::size_t count() const;

private:
    std::shared_ptr<State> m_state;
};

// The messages a stop signal waits for (milter/sighup.cpp); null when none. Set by run_milter
// for the lifetime of smfi_main.
void set_stop_drain(InFlight* messages) noexcept;

// From the signal thread after SIGTERM/SIGINT, before libmilter sees it: no message begins from
// now on (MAIL FROM gets 451 4.3.2), and this waits until the messages in flight have ended,
// at most `limit`, or until `cut_short` (asked every 100 ms: a second stop signal) says to stop
// at once. Logs what is left, if anything. Nothing to wait for without set_stop_drain.
void drain_for_stop(std::chrono::milliseconds limit, const std::function<bool()>& cut_short) noexcept;

}  // namespace ssm::milter
