#include "virt/dbus_scanout.hpp"

#include <cstdio>

namespace vredir {

namespace {

Status check_pixels(uint32_t width, uint32_t height, uint32_t stride, uint32_t format, size_t size) {
  if (format != kPixmanX8R8G8B8 && format != kPixmanA8R8G8B8) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", format);
    return fail(kExitMalformed, std::string("unsupported pixel format ") + hex + " (32-bit xRGB only)");
  }
  if (uint64_t(stride) < uint64_t(width) * 4)
    return fail(kExitMalformed, "a stride of " + std::to_string(stride) + " bytes is short of " +
                                    std::to_string(width) + " pixels");
  // The last row needs only its pixels, not a whole stride.
  const uint64_t need = height == 0 ? 0 : uint64_t(stride) * (height - 1) + uint64_t(width) * 4;
  if (size < need)
    return fail(kExitMalformed, "pixel data of " + std::to_string(size) + " bytes is short of the " +
                                    std::to_string(need) + " that " + std::to_string(width) + "x" +
                                    std::to_string(height) + " need");
  return Status::ok();
}

void copy_rows(const uint8_t* src, uint32_t stride, uint32_t w, uint32_t h, rfb::Framebuffer* fb, uint32_t x0,
               uint32_t y0) {
  for (uint32_t y = 0; y < h; ++y) {
    const uint8_t* p = src + size_t(stride) * y;
    uint32_t* row = &fb->pixels[size_t(y0 + y) * fb->width + x0];
    for (uint32_t x = 0; x < w; ++x, p += 4)
      row[x] = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16;
  }
}

}  // namespace

Status apply_scanout(uint32_t width, uint32_t height, uint32_t stride, uint32_t format,
                     std::span<const uint8_t> data, rfb::Framebuffer* fb) {
  if (width == 0 || height == 0 || width > rfb::kMaxFramebufferSide || height > rfb::kMaxFramebufferSide ||
      uint64_t(width) * height > rfb::kMaxFramebufferPixels)
    return fail(kExitMalformed, "a " + std::to_string(width) + "x" + std::to_string(height) +
                                    " surface is out of range (at most " +
                                    std::to_string(rfb::kMaxFramebufferSide) + " a side)");
  if (Status st = check_pixels(width, height, stride, format, data.size()); !st) return st;
  if (fb->width != width || fb->height != height) fb->resize(width, height);
  copy_rows(data.data(), stride, width, height, fb, 0, 0);
  return Status::ok();
}

Status apply_update(int32_t x, int32_t y, int32_t width, int32_t height, uint32_t stride, uint32_t format,
                    std::span<const uint8_t> data, rfb::Framebuffer* fb, rfb::PixelRect* changed) {
  *changed = rfb::PixelRect{};
  if (x < 0 || y < 0 || width < 0 || height < 0 || int64_t(x) + width > int64_t(fb->width) ||
      int64_t(y) + height > int64_t(fb->height))
    return fail(kExitMalformed, "an update of " + std::to_string(width) + "x" + std::to_string(height) + " at " +
                                    std::to_string(x) + "," + std::to_string(y) + " lies outside the " +
                                    std::to_string(fb->width) + "x" + std::to_string(fb->height) + " surface");
  if (width == 0 || height == 0) return Status::ok();
  if (Status st = check_pixels(uint32_t(width), uint32_t(height), stride, format, data.size()); !st) return st;
  copy_rows(data.data(), stride, uint32_t(width), uint32_t(height), fb, uint32_t(x), uint32_t(y));
  *changed = rfb::PixelRect{uint32_t(x), uint32_t(y), uint32_t(width), uint32_t(height)};
  return Status::ok();
}

}  // namespace vredir
