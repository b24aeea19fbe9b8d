// The pixels of one head as QEMU's D-Bus display listener receives them
// (org.qemu.Display1.Listener: Scanout for a whole new surface, Update for a
// changed rectangle), checked before they touch the head's picture. QEMU
// sends what the guest's driver set up, so sizes, strides and rectangles are
// hostile until checked: a surface is at most rfb::kMaxFramebufferSide on a
// side and rfb::kMaxFramebufferPixels in all, the data must hold every row
// the stride promises, and an update must lie inside the surface.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "rfb/rfb_encodings.hpp"
#include "wire/status.hpp"

namespace vredir {

// The pixman formats QEMU's 2D surfaces use: 32 bits, little-endian
// B, G, R, X (or A), so each 32-bit word is 0x??RRGGBB.
constexpr uint32_t kPixmanX8R8G8B8 = 0x20020888;
constexpr uint32_t kPixmanA8R8G8B8 = 0x20028888;

// Scanout(width, height, stride, pixman format, data): the head's new
// picture. On failure *fb is left as it was.
Status apply_scanout(uint32_t width, uint32_t height, uint32_t stride, uint32_t format,
                     std::span<const uint8_t> data, rfb::Framebuffer* fb);

// Update(x, y, width, height, stride, pixman format, data): a rectangle of
// the current picture, reported in *changed. An empty rectangle is no change.
Status apply_update(int32_t x, int32_t y, int32_t width, int32_t height, uint32_t stride, uint32_t format,
                    std::span<const uint8_t> data, rfb::Framebuffer* fb, rfb::PixelRect* changed);

}  // namespace vredir
