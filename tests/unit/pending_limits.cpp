#include <catch2/catch.hpp>

#include "pending_limits.hpp"

using namespace redir_mux;

TEST_CASE("--max-startups START:RATE:FULL", "[pending_limits]") {
  PendingLimits p;
  std::string err;
  REQUIRE(parse_startups("10:30:60", &p, &err));
  CHECK((p.start == 10 && p.rate == 30 && p.full == 60));
  REQUIRE(parse_startups("8", &p, &err));
  CHECK((p.start == 8 && p.full == 8));
  for (const char* bad : {"", "1:2", "1:2:3:4", "10:30:5", "1:200:3", "a:b:c", "0", "-1:2:3"})
    CHECK_FALSE(parse_startups(bad, &p, &err));
}

TEST_CASE("newcomers are refused more often as the total nears the cap", "[pending_limits]") {
  PendingLimits p;
  std::string err;
  REQUIRE(parse_startups("10:30:30", &p, &err));
  CHECK(p.refuse_percent(9) == 0);
  CHECK(p.refuse_percent(10) == 30);
  CHECK(p.refuse_percent(20) == 65);
  CHECK(p.refuse_percent(30) == 100);
  std::mt19937 random(1);
  int admitted_low = 0, admitted_mid = 0, admitted_full = 0;
  for (int i = 0; i < 1000; ++i) {
    admitted_low += p.admit(5, random);
    admitted_mid += p.admit(20, random);
    admitted_full += p.admit(30, random);
  }
  CHECK(admitted_low == 1000);
  CHECK((admitted_mid > 250 && admitted_mid < 450));  // about 35%
  CHECK(admitted_full == 0);
}
