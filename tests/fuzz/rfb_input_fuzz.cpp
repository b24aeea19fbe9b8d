// Fuzz target for what redir-inject reads from a VNC server: the framing and
// decoding of its replies (key event acks, LED state, size changes, any
// other server message).
#include <cstddef>
#include <cstdint>

#include "rfb/rfb_input.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  rfb::PixelFormat format;
  size_t pos = 0;
  while (pos < size) {
    rfb::Frame framed = rfb::frame_input_reply(in.subspan(pos), format);
    if (framed.kind != rfb::Frame::kComplete || framed.size == 0 || framed.size > size - pos) break;
    rfb::InputReply reply;
    if (!rfb::decode_input_reply(in.subspan(pos, framed.size), format, &reply)) break;
    pos += framed.size;
  }
  return 0;
}
