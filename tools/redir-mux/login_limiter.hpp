// Failed-login limits for redir-mux serve.
//
// A source is an address prefix: the /32 of an IPv4 address, the /64 of an
// IPv6 one (one host has a whole /64 to itself). Failures count against the
// source and against (source, account):
//  - max_failures failures for one account from one source within window
//    ban that pair for ban_time; max_source_failures failures from one source
//    (any accounts) ban the source. During a ban even the right password is
//    refused.
//  - An account's failures from every source never lock it: from slow_after
//    failures within window on, each answer to a login for it waits slow_base,
//    doubled per further failure, at most slow_cap. Wrong passwords from one
//    source never stop the right password from another.
// begin() checks and counts in one step: an attempt counts as a failure from
// the moment it starts until finish() says it succeeded, so parallel attempts
// cannot all be evaluated before the ban lands. State is bounded: at most
// max_keys entries, the stalest dropped first.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
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
    unsigned max_source_failures = 10;
    std::chrono::seconds window{300};
    std::chrono::seconds ban_time{300};
    unsigned slow_after = 5;
    std::chrono::milliseconds slow_base{250};
    std::chrono::milliseconds slow_cap{3000};
    size_t max_keys = 10000;
  };
  struct Verdict {
    long banned_s = 0;                   // > 0: refused, seconds left on the ban
    std::chrono::milliseconds delay{0};  // wait this long before answering
    uint64_t ticket = 0;                 // for finish(), when not banned
  };

  LoginLimiter() = default;
  explicit LoginLimiter(Limits limits) : limits_(limits) {}

  Verdict begin(std::string_view source, std::string_view account, Clock::time_point now);
  // Ends an attempt begin() let through. An unknown ticket is ignored.
  void finish(uint64_t ticket, bool success, Clock::time_point now);

  const Limits& limits() const { return limits_; }
  size_t entries() const { return entries_.size(); }

 private:
  struct Entry {
    std::deque<Clock::time_point> failures;
    unsigned in_flight = 0;
    Clock::time_point banned_until{};
  };
  struct Attempt {
    std::string pair, source, account;
  };
  long ban_left(const std::string& key, Clock::time_point now) const;
  void expire(Entry& e, Clock::time_point now) const;
  void count_failure(const std::string& key, unsigned limit, Clock::time_point now);
  void prune(Clock::time_point now);

  Limits limits_;
  std::map<std::string, Entry> entries_;
  std::map<uint64_t, Attempt> attempts_;
  uint64_t next_ticket_ = 1;
};

// The limiter's key for an address: the address itself for IPv4 (and
// IPv4-mapped IPv6), its /64 prefix ("2001:db8:0:1::/64") for IPv6, the
// text as it is otherwise ("unix").
std::string source_key(std::string_view address);

// One parseable log line per attempt (no newline), peer values quoted and
// escaped: auth result=fail addr=127.0.0.1 user="alice"
std::string login_log_line(std::string_view result, std::string_view address, std::string_view user);

}  // namespace vredir
