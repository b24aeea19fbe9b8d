// Pointer events through QEMU's monitor (libvirt's QMP passthrough), around
// the VNC server.
//
// Relative pointer motion into a VM's relative mouse (PS/2 or virtio) through
// QEMU's monitor (libvirt's QMP passthrough): input-send-event with rel
// events, and btn events where the buttons held change.
//
// Why not the VNC server: its pointer events are absolute and go to the
// tablet when the VM has one; QEMU routes rel events to the first device that
// takes them, which is the relative mouse. A guest without a tablet (or a
// program that grabs the mouse) only follows relative motion.
#pragma once

#include <cstdint>
#include <utility>

#include "rfb/rfb_input.hpp"
#include "virt/hypervisor.hpp"
#include "virt/input_hotplug.hpp"
#include "wire/status.hpp"

namespace vredir {

class RelativeMouse : public RelMotionPath {
 public:
  explicit RelativeMouse(Domain domain) : dom_(std::move(domain)) {}
  // dx, dy in device units; buttons the PointerButton mask held after it.
  Status move(int32_t dx, int32_t dy, uint8_t buttons) override;

 private:
  Domain dom_;
  uint8_t buttons_ = 0;
};

// A seat's tablet (virt/input_hotplug.hpp attach_seat, bound to a head):
// input-send-event with abs events and the seat's device and head, which
// QEMU hands to the devices bound to that head alone. Positions are scaled
// to QEMU's absolute range (0 to 0x7fff) as its own displays scale a
// surface's pixels: raw = x * 0x7fff / width.
class SeatTablet : public AbsPointerPath {
 public:
  SeatTablet(Domain domain, SeatBinding binding) : dom_(std::move(domain)), binding_(std::move(binding)) {}
  Status move(uint32_t x, uint32_t y, uint32_t width, uint32_t height, uint8_t buttons) override;

 private:
  Domain dom_;
  SeatBinding binding_;
  uint8_t buttons_ = 0;
};

}  // namespace vredir
