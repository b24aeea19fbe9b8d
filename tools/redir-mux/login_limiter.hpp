// Failed-login limits for redir-mux serve, per source address and per
// account name (known or not, so a ban says nothing about which names
// exist): max_failures failures within window start a ban of ban_time, during
// which even the right password is refused. State is bounded: at most
// max_keys entries, oldest dropped first.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <string_view>

namespace vredir {

class LoginLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    unsigned max_failures = 5;
    std::chrono::seconds window{300};
    std::chrono::seconds ban_time{300};
    size_t max_keys = 10000;
  };

  LoginLimiter() = default;
  explicit LoginLimiter(Limits limits) : limits_(limits) {}

  // Seconds left on a ban of the address or the account (the longer), 0 when
  // neither is banned.
  long banned_for(std::string_view address, std::string_view user, Clock::time_point now);
  // Records an attempt. A success clears the account's failures (not the
  // address's: one good account must not reset a guessing address).
  void record(std::string_view address, std::string_view user, bool success, Clock::time_point now);

  const Limits& limits() const { return limits_; }

 private:
  struct Entry {
    std::deque<Clock::time_point> failures;
    Clock::time_point banned_until{};
  };
  long left(const std::string& key, Clock::time_point now);
  void fail(const std::string& key, Clock::time_point now);
  void prune(Clock::time_point now);

  Limits limits_;
  std::map<std::string, Entry> entries_;
};

// One parseable log line per attempt (no newline), values made safe:
//   auth result=fail addr=127.0.0.1 user=alice
std::string login_log_line(std::string_view result, std::string_view address, std::string_view user);

}  // namespace vredir
