// Watches a usbredir conversation from between its two ends: the device
// side ("usb-host" in usbredir's words: usbredirhost, usbredirect, the tests'
// software device) and the guest side (QEMU's usb-redir device). It reads
// the framing of both hellos (the header's id is 64-bit only when both
// sides announce it) and then every packet the device side sends, keeping
// device_connect and interface_info, and passes on only what may go to the
// guest: nothing until the first device_connect has been checked against
// the allow-list, then packet by packet, every later device_connect
// checked again. Data packets are streamed through without being held.
//
// Everything here is hostile input: each header goes through the
// bounds-checked ByteReader, control packets are held only up to
// kMaxControlPacket bytes, and what waits for the first verdict is capped
// at kMaxHeld. Bad framing is kExitMalformed, a refused device
// kExitDenied, both one line.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "usbpolicy/usb_allow.hpp"
#include "wire/status.hpp"

namespace vredir {

class UsbredirWatch {
 public:
  // allow may be nullptr: every device may connect. It must outlive the watch.
  explicit UsbredirWatch(const UsbAllowList* allow = nullptr) : allow_(allow) {}

  // Bytes the device side sent; what may reach the guest now is appended to
  // *to_guest (perhaps bytes held from earlier calls).
  Status feed_device(std::span<const uint8_t> bytes, std::string* to_guest);
  // Bytes the guest side sent (they go to the device unchanged; the watch
  // only needs its hello). May release device bytes that waited for it.
  Status feed_guest(std::span<const uint8_t> bytes, std::string* to_guest);

  bool device_connected() const { return connected_; }
  uint64_t connects() const { return connects_; }
  const UsbDeviceIdentity& identity() const { return identity_; }
  const std::string& device_version() const { return device_version_; }

  static constexpr uint32_t kMaxControlPacket = 64u << 10;
  static constexpr uint32_t kMaxDataPacket = 64u << 20;
  static constexpr size_t kMaxHeld = 256u << 10;

 private:
  struct Side {
    std::string buf;          // the current header or control packet, partly read
    bool hello_seen = false;
    bool caps_64bit_ids = false;
    uint64_t skip = 0;        // data payload bytes still to pass through
  };
  Status parse_device(std::string* to_guest);
  Status device_packet(uint32_t type, std::span<const uint8_t> body);
  void emit(std::string_view bytes, std::string* to_guest);
  size_t header_len(const Side& s) const;

  const UsbAllowList* allow_;
  Side device_, guest_;
  std::string pending_;   // device bytes not yet parsed (waiting on the guest's hello)
  std::string held_;      // parsed device bytes waiting for the first verdict
  bool connected_ = false;
  bool released_ = false; // the first device_connect passed: bytes flow
  uint64_t connects_ = 0;
  bool have_interfaces_ = false;
  UsbDeviceIdentity identity_;
  std::string device_version_;
};

}  // namespace vredir
