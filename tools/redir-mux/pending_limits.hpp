// How many connections that have not logged in yet redir-mux serve keeps:
// per source (an IPv4 address or an IPv6 /64) at most per_source, and in all
// sshd's MaxStartups rule: below start every newcomer is admitted; from start
// on each is refused with a probability that rises linearly from rate percent
// to 100 at full. Refusing newcomers, never evicting anyone, means a flood
// from one place cannot cut off a login in progress from another.
#pragma once

#include <random>
#include <string>

namespace redir_mux {

struct PendingLimits {
  unsigned start = 10, rate = 30, full = 32;
  unsigned per_source = 4;

  // Whether a newcomer is admitted while `pending` others have not logged in.
  bool admit(unsigned pending, std::mt19937& random) const;
  // The chance, in percent, that admit() refuses at this count.
  unsigned refuse_percent(unsigned pending) const;
};

// "START:RATE:FULL" (or "FULL" alone: no early refusals); false and *err when
// malformed or not START <= FULL, RATE <= 100.
bool parse_startups(const std::string& text, PendingLimits* out, std::string* err);

}  // namespace redir_mux
