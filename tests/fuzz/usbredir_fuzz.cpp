// Fuzz target for redir-usb's parsers of peer and user input: the usbredir
// watch (usbpolicy/usbredir_watch: the framing of both hellos, then every packet
// of the device side, checked against an allow-list), the allow-list and
// the device selector.
//
// Input: 'T' then text: the text goes to UsbAllowList::parse and
// parse_usb_selector; a list that parses must give its own canonical text
// back. Otherwise: byte 0 holds flags (bit 0: check against the allow-list
// "1209:0001,class:08"), then records [direction u8][length u8][bytes]:
// even directions are bytes from the guest side, odd ones from the device
// side. The watch must never pass on more than the device side sent, and
// nothing before a device_connect it allowed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "usbpolicy/usb_allow.hpp"
#include "usbpolicy/usb_selector.hpp"
#include "usbpolicy/usbredir_watch.hpp"

using namespace vredir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if (data[0] == 'T') {
    std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::string err;
    UsbAllowList list;
    if (UsbAllowList::parse(text, &list, &err)) {
      UsbAllowList again;
      if (!UsbAllowList::parse(list.text(), &again, &err) || again.text() != list.text()) std::abort();
      UsbDeviceIdentity id;
      id.vid = 0x1209;
      id.interface_classes = {2, 10};
      (void)list.allows(id);
    }
    UsbSelector sel;
    if (parse_usb_selector(text, &sel, &err)) {
      UsbSelector again;
      if (!parse_usb_selector(usb_selector_text(sel), &again, &err) || usb_selector_text(again) != usb_selector_text(sel))
        std::abort();
    }
    return 0;
  }
  UsbAllowList allow;
  std::string err;
  UsbAllowList::parse("1209:0001,class:08", &allow, &err);
  UsbredirWatch watch((data[0] & 1) ? &allow : nullptr);
  std::string to_guest;
  uint64_t from_device = 0;
  size_t pos = 1;
  while (pos + 2 <= size) {
    uint8_t dir = data[pos], len = data[pos + 1];
    pos += 2;
    size_t n = std::min<size_t>(len, size - pos);
    std::span<const uint8_t> bytes(data + pos, n);
    pos += n;
    Status st;
    if (dir & 1) {
      from_device += n;
      st = watch.feed_device(bytes, &to_guest);
    } else {
      st = watch.feed_guest(bytes, &to_guest);
    }
    if (to_guest.size() > from_device) std::abort();
    if (!to_guest.empty() && watch.connects() == 0) std::abort();
    if (!st) break;
  }
  return 0;
}
