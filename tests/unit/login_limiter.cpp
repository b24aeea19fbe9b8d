#include <catch2/catch.hpp>

#include "login_limiter.hpp"

using namespace vredir;
using namespace std::chrono_literals;

TEST_CASE("five failures ban the account and the address", "[login_limiter]") {
  LoginLimiter l(LoginLimiter::Limits{5, 300s, 60s, 1000});
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 4; ++i) {
    CHECK(l.banned_for("10.0.0.1", "alice", t) == 0);
    l.record("10.0.0.1", "alice", false, t);
  }
  CHECK(l.banned_for("10.0.0.1", "alice", t) == 0);
  l.record("10.0.0.1", "alice", false, t);
  CHECK(l.banned_for("10.0.0.1", "alice", t) == 60);
  // The account from elsewhere, and the address for another account.
  CHECK(l.banned_for("10.0.0.2", "alice", t) > 0);
  CHECK(l.banned_for("10.0.0.1", "bob", t) > 0);
  CHECK(l.banned_for("10.0.0.2", "bob", t) == 0);
  // The ban ends after ban_time.
  CHECK(l.banned_for("10.0.0.1", "alice", t + 59s) == 1);
  CHECK(l.banned_for("10.0.0.1", "alice", t + 61s) == 0);
}

TEST_CASE("failures outside the window do not add up", "[login_limiter]") {
  LoginLimiter l(LoginLimiter::Limits{5, 300s, 60s, 1000});
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 8; ++i) l.record("a", "u", false, t + std::chrono::seconds(100 * i));
  CHECK(l.banned_for("a", "u", t + 800s) == 0);
}

TEST_CASE("a success clears the account, not the address", "[login_limiter]") {
  LoginLimiter l(LoginLimiter::Limits{5, 300s, 60s, 1000});
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 4; ++i) l.record("a", "u", false, t);
  l.record("a", "u", true, t);
  l.record("b", "u", false, t);  // one more for u from elsewhere: not banned
  CHECK(l.banned_for("b", "u", t) == 0);
  l.record("a", "v", false, t);  // fifth for address a: banned
  CHECK(l.banned_for("a", "w", t) > 0);
}

TEST_CASE("unknown names are counted like known ones", "[login_limiter]") {
  LoginLimiter l(LoginLimiter::Limits{5, 300s, 60s, 1000});
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 5; ++i) l.record(std::to_string(i), "ghost", false, t);
  CHECK(l.banned_for("9", "ghost", t) > 0);
}

TEST_CASE("state stays bounded", "[login_limiter]") {
  LoginLimiter l(LoginLimiter::Limits{5, 300s, 60s, 100});
  auto t = LoginLimiter::Clock::now();
  for (int i = 0; i < 5000; ++i) l.record("addr" + std::to_string(i), "u" + std::to_string(i), false, t);
  // Still answers, and a fresh burst against one name still bans.
  for (int i = 0; i < 5; ++i) l.record("x", "target", false, t + 1s);
  CHECK(l.banned_for("y", "target", t + 1s) > 0);
}

TEST_CASE("log lines are one parseable line", "[login_limiter]") {
  CHECK(login_log_line("fail", "127.0.0.1", "alice") == "auth result=fail addr=127.0.0.1 user=alice");
  CHECK(login_log_line("ok", "::1", "a b\nc=d") == "auth result=ok addr=::1 user=a?b?c?d");
  CHECK(login_log_line("fail", "1.2.3.4", "") == "auth result=fail addr=1.2.3.4 user=-");
}
