// Fuzz target for the pixels QEMU's D-Bus display sends for a head (Scanout
// and Update, whose sizes the guest's driver chose): never out of bounds,
// never more than the limits allow. The input is a list of calls: a byte
// (even: Scanout, odd: Update), the call's integers (little-endian) and a
// 16-bit length of pixel data.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <span>

#include "virt/dbus_scanout.hpp"
#include "wire/byte_reader.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader r(std::span(data, size));
  rfb::Framebuffer fb;
  while (r.remaining() > 0) {
    const uint8_t op = r.u8();
    uint32_t v[6] = {};
    const int n = op & 1 ? 6 : 4;
    for (int i = 0; i < n; ++i) v[i] = r.u32le();
    const uint16_t len = r.u16le();
    std::span<const uint8_t> px = r.bytes(std::min<uint64_t>(len, r.remaining()));
    if (!r.ok()) return 0;
    // Keep sizes small enough for the fuzzer's memory limit: the limits
    // themselves are checked by the unit test.
    if (op & 1) {
      rfb::PixelRect c;
      Status st = apply_update(int32_t(v[0]), int32_t(v[1]), int32_t(v[2]), int32_t(v[3]), v[4], v[5], px, &fb, &c);
      if (st && (uint64_t(c.x) + c.w > fb.width || uint64_t(c.y) + c.h > fb.height)) std::abort();
    } else {
      Status st = apply_scanout(v[0] & 0x3FF, v[1] & 0x3FF, v[2], v[3], px, &fb);
      if (st && fb.pixels.size() != size_t(fb.width) * fb.height) std::abort();
    }
  }
  return 0;
}
