#include "sys/log_text.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

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

std::string json_safe_text(std::string_view s) {
  try {
    (void)nlohmann::json(std::string(s)).dump();
    return std::string(s);
  } catch (const nlohmann::json::exception&) {
  }
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace vredir
