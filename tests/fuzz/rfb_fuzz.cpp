// Fuzz target for the RFB client's parsers: the handshake pieces, then the
// server message framing and decoding over whatever bytes follow, with every
// message that is a framebuffer update also decoded into pixels (raw,
// copy-rect, zlib, ZRLE, cursor, desktop sizes, QEMU audio) on one decoder,
// so the persistent zlib streams carry over between messages as in a session.
#include <cstddef>
#include <cstdint>

#include "rfb/rfb_client.hpp"
#include "rfb/rfb_encodings.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  if (size >= 12) {
    int minor = 0;
    (void)rfb::parse_protocol_version(in.first(12), &minor);
  }
  // Laid out like a session: version (12), ServerInit (24 + name), messages.
  rfb::PixelFormat format;
  rfb::Framebuffer fb;
  fb.resize(64, 48);
  size_t pos = size < 12 ? 0 : 12;
  if (size >= 36) {
    rfb::ServerInit init;
    uint32_t name_length = 0;
    if (rfb::parse_server_init_fixed(in.subspan(12, 24), &init, &name_length)) {
      format = init.format;
      // Kept small so that each input stays fast.
      if (init.width && init.height && init.width <= 512 && init.height <= 512) fb.resize(init.width, init.height);
    }
    pos = 36 + (name_length < size - 36 ? name_length : size - 36);
  }
  rfb::UpdateDecoder decoder;
  while (pos < size) {
    auto framed = rfb::frame_server_message(in.subspan(pos), format, rfb::kAcceptAll);
    if (framed.kind != rfb::Frame::kComplete || framed.size == 0 || framed.size > size - pos) break;
    std::span<const uint8_t> msg = in.subspan(pos, framed.size);
    rfb::ServerMessage decoded;
    if (!rfb::decode_server_message(msg, format, &decoded)) break;
    if (msg[0] == rfb::kMsgFramebufferUpdate) {
      rfb::UpdateResult result;
      (void)decoder.apply(msg, format, &fb, &result);
      if (fb.width * fb.height > 512u * 512u) fb.resize(64, 48);
    }
    pos += framed.size;
  }
  return 0;
}
