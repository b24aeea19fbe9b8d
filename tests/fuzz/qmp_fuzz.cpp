// Fuzz target for replies from QEMU's monitor and from the guest agent (which
// runs inside the guest): any text must give a Status, never an exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "virt/qmp_reply.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json ret;
  Status st = qmp::parse_reply(text, "fuzz", &ret);
  if (st) {
    bool exited = false;
    int code = 0;
    Status es = qmp::parse_exec_status(ret, &exited, &code);
    if (es && exited && (code < 0 || code > 255)) std::abort();
    (void)qmp::int_at(ret, {"pid"});
    (void)qmp::string_at(ret, {"id"});
    (void)qmp::bool_at(ret, {"exited"});
    (void)qmp::member(ret, {"return", "avail", "idx"});
  } else if (st.message().empty() || st.message().find('\n') != std::string::npos) {
    std::abort();  // every failure is one line
  }
  return 0;
}
