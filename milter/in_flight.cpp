// Work in flight (messages, callbacks) and the drain before a stop (in_flight.h says why).
#include "milter/in_flight.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "base/log.h"

namespace ssm::milter {

struct InFlight::State {
    std::mutex mutex;
    std::condition_variable idle;
    std::size_t count = 0;
    bool stopping = false;
};

InFlight::Ticket& InFlight::Ticket::operator=(Ticket&& other) noexcept
{
    if (this != &other) {
        release();
        m_state = std::move(other.m_state);
    }
    return *this;
}

InFlight::Ticket::~Ticket()
{
    release();
}

void InFlight::Ticket::release() noexcept
{
    if (!m_state) return;  // moved from
    {
        std::lock_guard lock(m_state->mutex);
        --m_state->count;
    }
    m_state->idle.notify_all();
    m_state.reset();
}

InFlight::InFlight() : m_state(std::make_shared<State>()) {}

std::optional<InFlight::Ticket> InFlight::begin()
{
    std::lock_guard lock(m_state->mutex);
    if (m_state->stopping) return std::nullopt;
    ++m_state->count;
    return Ticket(m_state);
}

void InFlight::stop()
{
    std::lock_guard lock(m_state->mutex);
    m_state->stopping = true;
}

bool InFlight::wait_idle(std::chrono::milliseconds limit)
{
    std::unique_lock lock(m_state->mutex);
    return m_state->idle.wait_for(lock, limit, [this] { return m_state->count == 0; });
}

std::size_t InFlight::count() const
{
    std::lock_guard lock(m_state->mutex);
    return m_state->count;
}

namespace {
std::atomic<InFlight*> g_stop_drain{nullptr};
}

void set_stop_drain(InFlight* messages) noexcept { g_stop_drain.store(messages); }

void drain_for_stop(std::chrono::milliseconds limit, const std::function<bool()>& cut_short) noexcept
{
    try {
        InFlight* messages = g_stop_drain.load();
        if (!messages) return;
        messages->stop();
        const auto started = std::chrono::steady_clock::now();
        bool idle = messages->wait_idle(std::chrono::milliseconds(0));
        if (!idle) log::notice("stop", {{"waiting_for_messages", std::to_string(messages->count())}});
        while (!idle && std::chrono::steady_clock::now() - started < limit && !cut_short())
            idle = messages->wait_idle(std::chrono::milliseconds(100));
        if (!idle)
            log::warning("stop", {{"error", "stopping with messages still in flight"},
                                  {"messages", std::to_string(messages->count())}});
    } catch (...) {
        // Logging failed: the stop goes on, which is what the signal asked for.
    }
}

}  // namespace ssm::milter
