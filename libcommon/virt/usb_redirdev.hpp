// A USB redirection port (QEMU's usb-redir device) hot-plugged into a
// running domain for the length of a session: <redirdev bus='usb'
// type='unix'> whose chardev connects to a unix socket the caller listens
// on. QEMU's usb-redir shows the guest nothing until the device side of
// usbredir sends device_connect through that socket; closing the socket
// unplugs the device from the guest, and detaching removes the port.
#pragma once

#include <string>

#include "virt/device_hotplug.hpp"
#include "virt/hypervisor.hpp"
#include "wire/status.hpp"

namespace vredir {

// The device XML of a port with this alias connecting to socket_path.
std::string usb_redirdev_xml(const std::string& alias, const std::string& socket_path);

// True when the domain's XML has a USB controller that can take a device.
bool domain_xml_has_usb_controller(const std::string& domain_xml);

// Checks that the domain runs and has a USB controller, then hot-plugs a
// port through *plugged (which detaches it). *alias: its alias.
Status attach_usb_redirdev(const Domain& domain, const std::string& socket_path, DeviceHotplug* plugged,
                           std::string* alias);

}  // namespace vredir
