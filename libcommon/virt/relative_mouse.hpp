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

}  // namespace vredir
