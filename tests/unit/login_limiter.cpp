#include <catch2/catch.hpp>

#include "login_limiter.hpp"

using namespace vredir;
using namespace std::chrono_literals;

namespace {

LoginLimiter::Limits limits(size_t max_keys = 1000) {
  LoginLimiter::Limits l;
  l.max_failures = 5;
  l.max_source_failures = 10;
  l.window = 300s;
  l.ban_time = 60s;
  l.max_keys = max_keys;
  return l;
}

// One attempt, begun and finished at once; false when it was refused.
bool attempt(LoginLimiter& l, const std::string& source, const std::string& user, bool right,
             LoginLimiter::Clock::time_point t) {
  auto v = l.begin(source, user, t);
  if (v.banned_s > 0) return false;
  l.finish(v.ticket, right, t);
  return true;
}

}  // namespace

TEST_CASE("five failures ban the pair of source and account", "[login_limiter]") {
  LoginLimiter l(limits());
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 5; ++i) CHECK(attempt(l, "10.0.0.1", "alice", false, t));
  CHECK(l.begin("10.0.0.1", "alice", t).banned_s == 60);
  CHECK_FALSE(attempt(l, "10.0.0.1", "alice", true, t));  // even the right password
  // The account from elsewhere, and the source for another account, go on.
  CHECK(attempt(l, "10.0.0.2", "alice", true, t));
  CHECK(attempt(l, "10.0.0.1", "bob", true, t));
  // The ban ends after ban_time.
  CHECK(l.begin("10.0.0.1", "alice", t + 59s).banned_s == 1);
  CHECK(attempt(l, "10.0.0.1", "alice", true, t + 61s));
}

TEST_CASE("the check and the count are one step: parallel attempts meet the limit", "[login_limiter]") {
  LoginLimiter l(limits());
  auto t = LoginLimiter::Clock::now();
  std::vector<uint64_t> tickets;
  int refused = 0;
  for (int i = 0; i < 24; ++i) {
    auto v = l.begin("10.0.0.1", "alice", t);
    if (v.banned_s > 0) ++refused;
    else tickets.push_back(v.ticket);
  }
  CHECK(tickets.size() == 5);
  CHECK(refused == 19);
  for (uint64_t k : tickets) l.finish(k, false, t);
  CHECK(l.begin("10.0.0.1", "alice", t).banned_s == 60);
}

TEST_CASE("an attempt that succeeds does not count", "[login_limiter]") {
  LoginLimiter l(limits());
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 4; ++i) CHECK(attempt(l, "a", "u", false, t));
  CHECK(attempt(l, "a", "u", true, t));  // the fifth is right: no ban, and the pair starts afresh
  for (int i = 0; i < 4; ++i) CHECK(attempt(l, "a", "u", false, t));
  CHECK(l.begin("a", "u", t).banned_s == 0);
}

TEST_CASE("a source guessing many accounts is banned for all of them", "[login_limiter]") {
  LoginLimiter l(limits());
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 10; ++i) CHECK(attempt(l, "a", "user" + std::to_string(i), false, t));
  CHECK(l.begin("a", "someone-else", t).banned_s > 0);
  CHECK(l.begin("b", "someone-else", t).banned_s == 0);
}

TEST_CASE("failures outside the window do not add up", "[login_limiter]") {
  LoginLimiter l(limits());
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 8; ++i) CHECK(attempt(l, "a", "u", false, t + std::chrono::seconds(100 * i)));
  CHECK(l.begin("a", "u", t + 800s).banned_s == 0);
}

TEST_CASE("an account guessed from many sources is slowed, never locked", "[login_limiter]") {
  LoginLimiter l(limits());
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 4; ++i) CHECK(attempt(l, "10.0.0." + std::to_string(i), "alice", false, t));
  CHECK(l.begin("10.9.9.9", "alice", t).delay == 0ms);
  for (int i = 4; i < 40; ++i) CHECK(attempt(l, "10.0.0." + std::to_string(i), "alice", false, t));
  auto v = l.begin("127.0.0.1", "alice", t);
  CHECK(v.banned_s == 0);       // the right password from elsewhere still gets through
  CHECK(v.delay == 3000ms);     // after the capped delay
  l.finish(v.ticket, true, t);
  // The first slowed answers double from the base.
  LoginLimiter m(limits());
  for (int i = 0; i < 5; ++i) CHECK(attempt(m, "s" + std::to_string(i), "bob", false, t));
  CHECK(m.begin("x", "bob", t).delay == 250ms);
  CHECK(attempt(m, "s9", "bob", false, t));
  CHECK(m.begin("y", "bob", t).delay == 500ms);
}

TEST_CASE("sources are address prefixes: IPv4 /32, IPv6 /64", "[login_limiter]") {
  CHECK(source_key("127.0.0.2") == "127.0.0.2");
  CHECK(source_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64");
  CHECK(source_key("2001:db8:1:2:bbbb::7") == "2001:db8:1:2::/64");
  CHECK(source_key("2001:db8:1:3::1") == "2001:db8:1:3::/64");
  CHECK(source_key("::ffff:10.1.2.3") == "10.1.2.3");
  CHECK(source_key("unix") == "unix");
}

TEST_CASE("state stays bounded", "[login_limiter]") {
  LoginLimiter l(limits(100));
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 5000; ++i) attempt(l, "addr" + std::to_string(i), "u" + std::to_string(i), false, t);
  CHECK(l.entries() <= 100);
  // Still answers, and a fresh burst against one pair still bans.
  for (int i = 0; i < 5; ++i) CHECK(attempt(l, "x", "target", false, t + 1s));
  CHECK(l.begin("x", "target", t + 1s).banned_s > 0);
}

TEST_CASE("log lines are one parseable line with the peer's text escaped", "[login_limiter]") {
  CHECK(login_log_line("fail", "127.0.0.1", "alice") == "auth result=fail addr=127.0.0.1 user=\"alice\"");
  CHECK(login_log_line("ok", "::1", "a b\nc\x1b") == "auth result=ok addr=::1 user=\"a b\\x0ac\\x1b\"");
  CHECK(login_log_line("fail", "1.2.3.4", "") == "auth result=fail addr=1.2.3.4 user=\"\"");
  CHECK(login_log_line("fail", "1.2.3.4", std::string(1000, 'x')).size() < 120);
}
