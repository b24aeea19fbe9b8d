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

// A peer's string as a JSON string value: itself when it is valid UTF-8
// (the JSON library is the judge: overlong forms and surrogates are not),
// else its printable ASCII with every other byte and the backslash written
// as \xNN, so a JSON writer never throws on it and no byte is hidden.
std::string json_safe_text(std::string_view s);

}  // namespace vredir
