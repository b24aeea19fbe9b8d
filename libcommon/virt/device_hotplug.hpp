// Devices plugged into a running domain for the length of a session and
// unplugged at its end: the part every session-long hot-plug shares
// (virtio input devices in input_hotplug, USB redirection ports in
// redir-usb attach).
//
// Each device is attached live only (virDomainAttachDeviceFlags with
// VIR_DOMAIN_AFFECT_LIVE: the domain's definition is not changed) under a
// user alias, "ua-vredir-TAG-PID-N", so that it can be found and detached
// again (virDomainDetachDeviceAlias). libvirt only asks the guest to let go;
// detach() waits (at most 5 s) until the device has left the live
// definition, so its slot or port is free for the next run. The destructor
// detaches what is still attached, so an interrupted run cleans up too.
#pragma once

#include <libvirt/libvirt.h>

#include <string>
#include <vector>

#include "virt/hypervisor.hpp"
#include "wire/status.hpp"

namespace vredir {

class DeviceHotplug {
 public:
  DeviceHotplug() = default;
  ~DeviceHotplug();
  DeviceHotplug(const DeviceHotplug&) = delete;
  DeviceHotplug& operator=(const DeviceHotplug&) = delete;

  // A fresh user alias for a device of this process ("ua-vredir-TAG-PID-N";
  // tag: letters, digits, '-').
  static std::string new_alias(const std::string& tag);

  // Attaches device_xml, which must carry <alias name='ALIAS'/>. what names
  // the device in messages ("virtio keyboard"). On failure the Status's
  // message is libvirt's own (callers add the fix they know).
  Status attach(const Domain& domain, const std::string& alias, const std::string& device_xml,
                const std::string& what);
  // Unplugs every attached device and, with wait, waits (at most 5 s) until
  // the guest has released them; the first failure is returned.
  Status detach(bool wait = true);
  bool empty() const { return devices_.empty(); }

 private:
  struct Attached {
    std::string alias, what;
  };
  virDomainPtr dom_ = nullptr;  // a reference of our own, for detaching
  std::string name_;
  std::vector<Attached> devices_;
};

}  // namespace vredir
