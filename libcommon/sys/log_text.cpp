#include "sys/log_text.hpp"

#include <cstdio>

namespace vredir {

std::string log_quote(std::string_view s, size_t max) {
  std::string out = "\"";
  size_t n = s.size() < max ? s.size() : max;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "\"";
  if (s.size() > max) out += "...+" + std::to_string(s.size() - max);
  return out;
}

}  // namespace vredir
