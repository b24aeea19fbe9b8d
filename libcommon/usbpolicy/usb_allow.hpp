// Which USB devices a hypervisor lets into a domain: a list of VID:PID
// patterns ("*" for any VID or PID: 046d:*) and device classes
// ("class:08": mass storage), checked against what the device side of
// usbredir says about itself (device_connect and interface_info). A class
// entry matches the device's class or any of its interfaces' classes.
// redir-usb attach --allow uses it, and the mux's per-account lists will.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vredir {

// What the device side declared: its device_connect and interface_info.
struct UsbDeviceIdentity {
  uint16_t vid = 0, pid = 0;
  uint8_t device_class = 0, device_subclass = 0, device_protocol = 0;
  std::vector<uint8_t> interface_classes;
};

// "1209:0001 class 02 interfaces 02,0a"
std::string usb_identity_text(const UsbDeviceIdentity& d);

class UsbAllowList {
 public:
  // Comma-separated entries: VID:PID with each side 1-4 hex digits or "*",
  // or class:XX (two hex digits). Spaces around entries are ignored. "" is
  // the empty list, which allows nothing. false and *err (one line naming
  // the bad entry) otherwise.
  static bool parse(std::string_view text, UsbAllowList* out, std::string* err);

  bool allows(const UsbDeviceIdentity& d) const;
  bool empty() const { return ids_.empty() && classes_.empty(); }
  // The list in its canonical form ("046d:*,class:08").
  std::string text() const;

  static constexpr size_t kMaxEntries = 256;

 private:
  struct IdPattern {
    int vid = -1, pid = -1;  // -1: any
  };
  std::vector<IdPattern> ids_;
  std::vector<uint8_t> classes_;
};

}  // namespace vredir
