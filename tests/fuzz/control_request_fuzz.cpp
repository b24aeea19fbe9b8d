// Fuzz target for the requests on redir-capture's control socket (any local
// process that may open the socket can send them). A request that parses
// must survive the round trip through its JSON form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control_protocol.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ControlRequest q, back;
  std::string err;
  if (!parse_control_request(std::string_view(reinterpret_cast<const char*>(data), size), &q, &err)) return 0;
  if (!parse_control_request(control_request_json(q), &back, &err)) std::abort();
  if (back.verb != q.verb || back.file != q.file || back.wait.regex != q.wait.regex ||
      back.wait.needle != q.wait.needle || back.areas.size() != q.areas.size())
    std::abort();
  return 0;
}
