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
