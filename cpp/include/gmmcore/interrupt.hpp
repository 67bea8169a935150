#pragma once
// Cooperative interruption of long native work. A host that wants to cancel a
// call (a GUI's Cancel button, a service's deadline, Python's Ctrl-C) makes a
// StopToken and installs it with an InterruptScope on the thread that calls
// gmmcore. Every pass over samples then checks the token between blocks of
// rows (also on its OpenMP worker threads), fit_mixture and em_train between
// iterations, and the call throws Interrupted soon after a stop is requested.
// An uninterrupted call computes exactly what it computes without a token.
//
//   gmmcore::StopToken token;                  // token.request_stop() from any thread
//   gmmcore::InterruptScope scope(token);      // on the thread that runs the fit
//   auto result = gmmcore::fit_mixture<double>(x, {}, options, {}, false, 0);
#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace gmmcore {

// The work was stopped through a StopToken before it finished; nothing the
// call was computing is returned, and its arguments are untouched.
class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("gmmcore: interrupted") {}
};

class StopToken {
 public:
  using Clock = std::chrono::steady_clock;

  // `poll`, if given, is called on the thread that installed the token (never
  // on a worker thread), once per `interval` at most, the first time one
  // interval after the InterruptScope began; returning true requests a stop.
  // Python's bindings poll for pending signals this way.
  explicit StopToken(std::function<bool()> poll = {},
                     std::chrono::milliseconds interval = std::chrono::milliseconds(50))
      : poll_(std::move(poll)), interval_(interval) {}
  StopToken(const StopToken&) = delete;
  StopToken& operator=(const StopToken&) = delete;

  // Thread-safe; may be called from any thread, any number of times.
  void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }

  // Throws Interrupted if a stop was requested (polling first when due).
  void check() {
    if (!stop_requested() && poll_ && std::this_thread::get_id() == owner_) {
      const auto now = Clock::now();
      if (now - last_poll_ >= interval_) {
        last_poll_ = now;
        if (poll_()) request_stop();
      }
    }
    if (stop_requested()) throw Interrupted();
  }

 private:
  friend class InterruptScope;
  std::atomic<bool> stop_{false};
  std::function<bool()> poll_;
  std::chrono::milliseconds interval_;
  std::thread::id owner_;
  Clock::time_point last_poll_{};
};

namespace detail {
// The token of the gmmcore call running on this thread (null: none).
inline StopToken*& current_stop_token() noexcept {
  thread_local StopToken* token = nullptr;
  return token;
}

// Installs `token` on this thread for the lifetime of the object, restoring
// the previous one after (a worker thread of a parallel pass gets its
// caller's token this way).
class TokenBinding {
 public:
  explicit TokenBinding(StopToken* token) noexcept : previous_(current_stop_token()) { current_stop_token() = token; }
  ~TokenBinding() { current_stop_token() = previous_; }
  TokenBinding(const TokenBinding&) = delete;
  TokenBinding& operator=(const TokenBinding&) = delete;

 private:
  StopToken* previous_;
};

// Throws Interrupted if this thread's token asks to stop.
inline void check_interrupt() {
  if (StopToken* token = current_stop_token()) token->check();
}
}  // namespace detail

// Makes `token` the stop token of every gmmcore call this thread makes while
// the scope lives; this thread becomes the one that runs its poll.
class InterruptScope {
 public:
  // The first poll comes one interval in: a short call never pays for one.
  explicit InterruptScope(StopToken& token) : binding_(&token) {
    token.owner_ = std::this_thread::get_id();
    token.last_poll_ = StopToken::Clock::now();
  }

 private:
  detail::TokenBinding binding_;
};

}  // namespace gmmcore
