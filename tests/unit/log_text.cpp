#include <catch2/catch.hpp>

#include "sys/log_text.hpp"

using namespace vredir;

TEST_CASE("peer strings in logs are quoted, escaped and bounded", "[log_text]") {
  CHECK(log_quote("alice") == "\"alice\"");
  CHECK(log_quote("a\nb\x1b[2J\"\\") == "\"a\\x0ab\\x1b[2J\\x22\\x5c\"");
  std::string big(10240, 'v');
  std::string q = log_quote("x\n" + big, 16);
  CHECK(q.find('\n') == std::string::npos);
  CHECK(q == "\"x\\x0a" + std::string(14, 'v') + "\"...+10226");
  CHECK(log_quote("") == "\"\"");
  CHECK(log_quote("caf\xc3\xa9") == "\"caf\xc3\xa9\"");  // UTF-8 stays readable
}

TEST_CASE("peer strings in JSON are valid UTF-8 or escaped", "[log_text]") {
  CHECK(json_safe_text("alice") == "alice");
  CHECK(json_safe_text("caf\xc3\xa9 \\ \"x\"") == "caf\xc3\xa9 \\ \"x\"");  // valid: kept as it is
  CHECK(json_safe_text("a\xff" "b") == "a\\xffb");
  CHECK(json_safe_text("\xc0\xaf\\") == "\\xc0\\xaf\\x5c");  // an overlong '/' and the backslash
  CHECK(json_safe_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(json_safe_text(std::string("\n\0\xfe", 3)) == "\\x0a\\x00\\xfe");
}
