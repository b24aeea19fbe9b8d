#include "login_limiter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

#include "sys/log_text.hpp"

namespace vredir {

namespace {
std::string pair_key(std::string_view source, std::string_view account) {
  return "p:" + std::string(source) + " " + std::string(account);
}
std::string src_key(std::string_view source) { return "s:" + std::string(source); }
std::string account_key(std::string_view account) { return "u:" + std::string(account); }
}  // namespace

std::string source_key(std::string_view address) {
  std::string a(address);
  in6_addr v6{};
  if (::inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      char buf[INET_ADDRSTRLEN];
      if (::inet_ntop(AF_INET, &v6.s6_addr[12], buf, sizeof buf)) return buf;
    }
    in6_addr prefix{};
    std::copy(v6.s6_addr, v6.s6_addr + 8, prefix.s6_addr);
    char buf[INET6_ADDRSTRLEN];
    if (::inet_ntop(AF_INET6, &prefix, buf, sizeof buf)) return std::string(buf) + "/64";
  }
  return a;
}

void LoginLimiter::expire(Entry& e, Clock::time_point now) const {
  while (!e.failures.empty() && now - e.failures.front() > limits_.window) e.failures.pop_front();
}

long LoginLimiter::ban_left(const std::string& key, Clock::time_point now) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.banned_until <= now) return 0;
  auto s = std::chrono::ceil<std::chrono::seconds>(it->second.banned_until - now).count();
  return std::max<long>(1, static_cast<long>(s));
}

LoginLimiter::Verdict LoginLimiter::begin(std::string_view source, std::string_view account,
                                          Clock::time_point now) {
  Verdict v;
  const std::string pk = pair_key(source, account), sk = src_key(source), ak = account_key(account);
  v.banned_s = std::max(ban_left(pk, now), ban_left(sk, now));
  if (v.banned_s > 0) return v;
  // Attempts still being checked count as failures: a burst of parallel
  // guesses meets the limit before any of them is answered.
  auto full = [&](const std::string& key, unsigned limit) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    expire(it->second, now);
    return it->second.failures.size() + it->second.in_flight >= limit;
  };
  if (full(pk, limits_.max_failures) || full(sk, limits_.max_source_failures)) {
    v.banned_s = static_cast<long>(limits_.ban_time.count());
    return v;
  }
  Entry& a = entries_[ak];
  expire(a, now);
  if (a.failures.size() >= limits_.slow_after) {
    size_t doublings = std::min<size_t>(a.failures.size() - limits_.slow_after, 16);
    v.delay = std::min(limits_.slow_cap, limits_.slow_base * (int64_t(1) << doublings));
  }
  entries_[pk].in_flight++;
  entries_[sk].in_flight++;
  v.ticket = next_ticket_++;
  attempts_[v.ticket] = Attempt{pk, sk, ak};
  prune(now);
  return v;
}

void LoginLimiter::count_failure(const std::string& key, unsigned limit, Clock::time_point now) {
  Entry& e = entries_[key];
  e.failures.push_back(now);
  expire(e, now);
  if (limit && e.failures.size() >= limit) {
    e.banned_until = now + limits_.ban_time;
    e.failures.clear();
  }
}

void LoginLimiter::finish(uint64_t ticket, bool success, Clock::time_point now) {
  auto it = attempts_.find(ticket);
  if (it == attempts_.end()) return;
  Attempt a = std::move(it->second);
  attempts_.erase(it);
  for (const std::string* key : {&a.pair, &a.source})
    if (auto e = entries_.find(*key); e != entries_.end() && e->second.in_flight > 0) e->second.in_flight--;
  if (success) {
    // The pair starts afresh; the source and the account do not (one good
    // login must not reset a guessing address or a guessed account).
    if (auto e = entries_.find(a.pair); e != entries_.end()) e->second.failures.clear();
    return;
  }
  count_failure(a.pair, limits_.max_failures, now);
  count_failure(a.source, limits_.max_source_failures, now);
  count_failure(a.account, 0, now);
  prune(now);
}

void LoginLimiter::prune(Clock::time_point now) {
  if (entries_.size() <= limits_.max_keys) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    expire(e, now);
    bool stale = e.banned_until <= now && e.failures.empty() && e.in_flight == 0;
    it = stale ? entries_.erase(it) : std::next(it);
  }
  // Still too many (a flood of live entries): drop the stalest first, but
  // never one with an attempt in flight.
  while (entries_.size() > limits_.max_keys) {
    auto last = [](const Entry& e) {
      return std::max(e.failures.empty() ? Clock::time_point{} : e.failures.back(), e.banned_until);
    };
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->second.in_flight == 0 && (oldest == entries_.end() || last(it->second) < last(oldest->second)))
        oldest = it;
    if (oldest == entries_.end()) break;
    entries_.erase(oldest);
  }
}

std::string login_log_line(std::string_view result, std::string_view address, std::string_view user) {
  return "auth result=" + std::string(result) + " addr=" + std::string(address) + " user=" + log_quote(user, 64);
}

}  // namespace vredir
