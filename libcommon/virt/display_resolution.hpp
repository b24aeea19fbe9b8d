// Changing a VM's display mode the way a VNC client does: SetDesktopSize over
// a socket from virDomainOpenGraphicsFD. QEMU turns it into a UI-info request,
// which only display models with UI info (virtio-vga, virtio-gpu) honour; the
// guest's driver then applies the mode and the VNC server reports the new size.
#pragma once

#include <cstdint>
#include <string_view>

#include "virt/hypervisor.hpp"

namespace vredir {

struct ResolutionRequest {
  uint16_t width = 0;
  uint16_t height = 0;
  int head = -1;         // -1: the first screen of the display
  bool wait = false;     // wait until the guest has applied the mode
  double timeout_s = 60;
};

// "1024x768" -> width and height (1..65535 each).
bool parse_resolution(std::string_view text, uint16_t* width, uint16_t* height);

Status change_resolution(const Domain& domain, const ResolutionRequest& request);

}  // namespace vredir
