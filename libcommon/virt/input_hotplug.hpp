// Virtio input devices plugged into a running domain for the length of a
// session, and unplugged at its end.
//
// Many stock domains have no virtio keyboard (a PS/2 keyboard and a USB
// tablet), and their only lossless key path is QEMU's VNC key queue (about
// 30 characters a second). A virtio keyboard (or tablet, or mouse) can be
// hot-plugged through libvirt (virDomainAttachDeviceFlags, live only: the
// domain's definition is not changed), named with a user alias
// ("ua-vredir-..."), so that its QOM path is known:
// /machine/peripheral/ALIAS/virtio-backend. It is usable once the guest's
// driver has bound it, which QMP x-query-virtio-status shows as
// VIRTIO_CONFIG_S_DRIVER_OK (QEMU 7.0 and later).
//
// What can stop it, each reported in one line:
//  - no PCI bus for a virtio device (a machine without PCI);
//  - no free slot: on q35 every hot-plugged PCIe device needs a free
//    pcie-root-port (libvirt leaves one spare when it adds the ports itself;
//    a second concurrent session finds none);
//  - the guest never binds a driver (no virtio-input driver in the guest):
//    the device is unplugged again.
//
// Attaching, detaching and waiting for the guest to let go are
// virt/device_hotplug's: the guest completes the removal on its own (about
// a second for Linux on q35), and detach() waits for that, at most 5 s, so
// the slot is free for the next run. What is still attached is detached when
// the object goes, so an interrupted run cleans up too.
#pragma once

#include <libvirt/libvirt.h>

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "virt/device_hotplug.hpp"
#include "virt/hypervisor.hpp"
#include "wire/status.hpp"

namespace vredir {

enum class HotplugKind { kKeyboard, kTablet, kMouse };
const char* hotplug_kind_name(HotplugKind kind);

struct HotplugDevice {
  HotplugKind kind = HotplugKind::kKeyboard;
  std::string alias;     // the user alias given to libvirt ("ua-vredir-..."), or the QEMU id of a seat's device
  std::string qom_path;  // its virtio backend in QEMU's object tree
  bool seat = false;     // plugged through QEMU's monitor, bound to a head
};

// Where a seat's devices are bound: a video device's QEMU id and one of its
// heads. QEMU hands input sent to that head's console (QMP input-send-event
// with device and head, the D-Bus display's Console_N) to the devices bound
// to it, and only to them; the domain's own devices get the rest.
struct SeatBinding {
  std::string display;  // "video0"
  int head = 0;
};

struct DomainDevices;

// Head `head` of a running domain (heads counted as DomainDevices::head_count
// does: the heads of the first video device, then the next device) as a
// binding. kExitNotFound when the domain has no such head.
Status seat_binding(const DomainDevices& devices, const std::string& domain, int head, SeatBinding* out);

class InputHotplug {
 public:
  InputHotplug() = default;
  ~InputHotplug() {
    if (!devices_.empty()) (void)detach();
  }
  InputHotplug(const InputHotplug&) = delete;
  InputHotplug& operator=(const InputHotplug&) = delete;

  // Attaches one device per kind and waits until the guest has bound every
  // one, at most timeout_ms in all. tag goes into the aliases (letters,
  // digits, '-'). On failure nothing stays attached.
  Status attach(const Domain& domain, std::span<const HotplugKind> kinds, const std::string& tag, int timeout_ms);
  // A seat's devices: one per kind, bound to binding's head, so that input
  // sent to that head reaches them alone (a terminal's own keyboard in a
  // multi-seat guest). libvirt has no word for the binding, so they are
  // plugged through QEMU's monitor (device_add, one free PCI slot each: on
  // q35 a pcie-root-port with nothing on it) and libvirt does not list them;
  // detach() unplugs them (device_del) as it does the others.
  Status attach_seat(const Domain& domain, std::span<const HotplugKind> kinds, const SeatBinding& binding,
                     const std::string& tag, int timeout_ms);
  const std::vector<HotplugDevice>& devices() const { return devices_; }
  // Unplugs every attached device and waits (at most 5 s) until the guest has
  // released them; the first failure is returned.
  Status detach();

 private:
  // Until the guest's driver has bound it (DRIVER_OK), or deadline (the
  // whole attach's timeout_ms, for the message).
  Status wait_bound(const Domain& domain, const HotplugDevice& device, std::chrono::steady_clock::time_point deadline,
                    int timeout_ms);

  Status detach_seat();

  DeviceHotplug plugged_;
  std::vector<HotplugDevice> devices_;
  Domain seat_dom_;  // the domain of the seat's devices, for unplugging them
};

}  // namespace vredir
