#include "login_limiter.hpp"

#include <algorithm>
#include <cctype>

namespace vredir {

namespace {
std::string addr_key(std::string_view a) { return "a:" + std::string(a); }
std::string user_key(std::string_view u) { return "u:" + std::string(u); }
}  // namespace

long LoginLimiter::left(const std::string& key, Clock::time_point now) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.banned_until <= now) return 0;
  auto s = std::chrono::ceil<std::chrono::seconds>(it->second.banned_until - now).count();
  return std::max<long>(1, static_cast<long>(s));
}

long LoginLimiter::banned_for(std::string_view address, std::string_view user, Clock::time_point now) {
  return std::max(left(addr_key(address), now), left(user_key(user), now));
}

void LoginLimiter::fail(const std::string& key, Clock::time_point now) {
  Entry& e = entries_[key];
  e.failures.push_back(now);
  while (!e.failures.empty() && now - e.failures.front() > limits_.window) e.failures.pop_front();
  if (e.failures.size() >= limits_.max_failures) {
    e.banned_until = now + limits_.ban_time;
    e.failures.clear();
  }
}

void LoginLimiter::prune(Clock::time_point now) {
  if (entries_.size() <= limits_.max_keys) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    bool stale = e.banned_until <= now && (e.failures.empty() || now - e.failures.back() > limits_.window);
    it = stale ? entries_.erase(it) : std::next(it);
  }
  // Still too many (a flood of live entries): drop the oldest failures first.
  while (entries_.size() > limits_.max_keys) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      auto ta = a.second.failures.empty() ? Clock::time_point{} : a.second.failures.back();
      auto tb = b.second.failures.empty() ? Clock::time_point{} : b.second.failures.back();
      return std::max(ta, a.second.banned_until) < std::max(tb, b.second.banned_until);
    });
    entries_.erase(oldest);
  }
}

void LoginLimiter::record(std::string_view address, std::string_view user, bool success, Clock::time_point now) {
  if (success) {
    entries_.erase(user_key(user));
    return;
  }
  fail(addr_key(address), now);
  fail(user_key(user), now);
  prune(now);
}

std::string login_log_line(std::string_view result, std::string_view address, std::string_view user) {
  auto safe = [](std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 64)) {
      unsigned char u = static_cast<unsigned char>(c);
      out += (std::isalnum(u) || c == '.' || c == '_' || c == '-' || c == '@' || c == ':') ? c : '?';
    }
    return out.empty() ? std::string("-") : out;
  };
  return "auth result=" + safe(result) + " addr=" + safe(address) + " user=" + safe(user);
}

}  // namespace vredir
