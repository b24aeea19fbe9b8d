// Fuzz target for what a connection to the Barrier listener sends
// (virt/barrier_keyboard): framing, then each message's parse. Any bytes
// must give a Status, never a crash, and a name within its bound.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "virt/barrier_keyboard.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  BarrierFramer framer;
  // Fed in two parts, as reads may split it.
  size_t half = size / 2;
  framer.feed({data, half});
  for (int round = 0; round < 2; ++round) {
    while (true) {
      std::string body;
      bool have = false;
      Status st = framer.next(&body, &have);
      if (!st) {
        if (st.message().empty() || st.message().find('\n') != std::string::npos) std::abort();
        return 0;
      }
      if (!have) break;
      if (body.empty() || body.size() > kBarrierMaxMessage) std::abort();
      BarrierReply reply;
      Status ps = parse_barrier_reply({reinterpret_cast<const uint8_t*>(body.data()), body.size()}, &reply);
      if (ps && reply.name.size() > 255) std::abort();
      if (!ps && ps.message().find('\n') != std::string::npos) std::abort();
    }
    if (round == 0) framer.feed({data + half, size - half});
  }
  return 0;
}
