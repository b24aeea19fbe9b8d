// Peer strings in log lines. Anything a peer sent (a user name, a VM or app
// name, a command's arguments) is quoted, has every control byte written as
// \xNN (so it cannot start a new line or move the terminal's cursor), and is
// cut to a bounded length, with the full length noted.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vredir {

inline constexpr size_t kLogQuoteMax = 128;

// "alice", "a\x0ab", "xxxx..."+9872 (longer than max: cut, the rest counted).
std::string log_quote(std::string_view s, size_t max = kLogQuoteMax);

}  // namespace vredir
