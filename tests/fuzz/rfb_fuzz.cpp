// Fuzz target for the RFB client's parsers: the handshake pieces, then the
// server message framing and decoding over whatever bytes follow.
#include <cstddef>
#include <cstdint>

#include "rfb_client.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  if (size >= 12) {
    int minor = 0;
    (void)rfb::parse_protocol_version(in.first(12), &minor);
  }
  // Laid out like a session: version (12), ServerInit (24 + name), messages.
  rfb::PixelFormat format;
  size_t pos = size < 12 ? 0 : 12;
  if (size >= 36) {
    rfb::ServerInit init;
    uint32_t name_length = 0;
    if (rfb::parse_server_init_fixed(in.subspan(12, 24), &init, &name_length)) format = init.format;
    pos = 36 + (name_length < size - 36 ? name_length : size - 36);
  }
  while (pos < size) {
    auto framed = rfb::frame_server_message(in.subspan(pos), format);
    if (framed.kind != rfb::Frame::kComplete || framed.size == 0 || framed.size > size - pos) break;
    rfb::ServerMessage msg;
    if (!rfb::decode_server_message(in.subspan(pos, framed.size), format, &msg)) break;
    pos += framed.size;
  }
  return 0;
}
