// The local USB devices, through libusb: what `redir-usb list` shows, and
// finding the one device a VID:PID or BUS-ADDR selector names. A machine
// without a USB bus (no /dev/bus/usb, libusb cannot start) has no devices;
// that is not an error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "usbpolicy/usb_selector.hpp"
#include "wire/status.hpp"

namespace vredir {

struct UsbDeviceEntry {
  unsigned bus = 0, address = 0;
  uint16_t vid = 0, pid = 0;
  uint8_t device_class = 0;
  std::string manufacturer, product;  // "" when the device cannot be opened to read them
};

// In bus, address order.
Status list_usb_devices(std::vector<UsbDeviceEntry>* out);

// The device among `devices` that a local selector (VID:PID or BUS-ADDR)
// names. None: kExitNotFound "no USB device 046d:c52b (try: redir-usb
// list)". Several with that VID:PID: kExitUsage naming their BUS-ADDR.
Status find_usb_device(const std::vector<UsbDeviceEntry>& devices, const UsbSelector& selector, UsbDeviceEntry* out);

}  // namespace vredir
