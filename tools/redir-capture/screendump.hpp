// One screenshot through QEMU's own screendump, without a file on the host.
//
// A one-shot snapshot through VNC has to wait for QEMU's display refresh
// tick (a full-screen request is answered on the next tick, 30 ms after the
// connection at best), while QEMU's screendump redraws the console at once.
// virsh screenshot uses screendump too, but through a temporary file that
// libvirt then streams to the client. Here the file is ours: an anonymous
// memory file (memfd) is handed to QEMU with the monitor command
// (virDomainQemuMonitorCommandWithFiles, add-fd), screendump writes the PPM
// straight into it as /dev/fdset/N, and the fd set is removed again. Needs a
// local libvirt connection (file descriptors do not cross a remote one) and
// libvirt 8.2; the caller falls back to VNC when this fails.
#pragma once

#include "media/image_files.hpp"
#include "virt/hypervisor.hpp"
#include "wire/status.hpp"

namespace vredir {

// The domain's primary console as pixels. Uses libvirt's QEMU monitor
// passthrough (libvirt marks the domain "custom-monitor" in its log).
Status domain_screendump(const Domain& domain, Image* out);

}  // namespace vredir
