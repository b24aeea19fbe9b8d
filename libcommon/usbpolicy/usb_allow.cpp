#include "usbpolicy/usb_allow.hpp"

#include <charconv>
#include <cstdio>

namespace vredir {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// 1..digits hex digits, or "*" (-1) when star is allowed.
bool hex_field(std::string_view s, size_t digits, bool star, int* out) {
  if (star && s == "*") {
    *out = -1;
    return true;
  }
  if (s.empty() || s.size() > digits) return false;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  *out = int(v);
  return true;
}

std::string hex2(unsigned v) {
  char b[16];
  std::snprintf(b, sizeof(b), "%02x", v & 0xff);
  return b;
}

std::string hex4_or_star(int v) {
  if (v < 0) return "*";
  char b[8];
  std::snprintf(b, sizeof(b), "%04x", unsigned(v) & 0xffffu);
  return b;
}

}  // namespace

std::string usb_identity_text(const UsbDeviceIdentity& d) {
  std::string s = hex4_or_star(d.vid) + ":" + hex4_or_star(d.pid) + " class " + hex2(d.device_class);
  if (!d.interface_classes.empty()) {
    s += " interfaces ";
    for (size_t i = 0; i < d.interface_classes.size(); ++i) s += (i ? "," : "") + hex2(d.interface_classes[i]);
  }
  return s;
}

bool UsbAllowList::parse(std::string_view text, UsbAllowList* out, std::string* err) {
  UsbAllowList list;
  if (trim(text).empty()) {
    *out = list;
    return true;
  }
  size_t count = 0;
  while (true) {
    size_t comma = text.find(',');
    std::string_view entry = trim(text.substr(0, comma));
    if (++count > kMaxEntries) {
      *err = "USB allow-list has more than " + std::to_string(kMaxEntries) + " entries";
      return false;
    }
    const std::string shown = std::string(entry.substr(0, 40));
    if (entry.starts_with("class:")) {
      int c = 0;
      if (!hex_field(entry.substr(6), 2, false, &c) || entry.size() != 8) {
        *err = "USB allow-list entry '" + shown + "' is not class:XX (two hex digits, e.g. class:08)";
        return false;
      }
      list.classes_.push_back(uint8_t(c));
    } else {
      size_t colon = entry.find(':');
      IdPattern p;
      if (colon == std::string_view::npos || !hex_field(entry.substr(0, colon), 4, true, &p.vid) ||
          !hex_field(entry.substr(colon + 1), 4, true, &p.pid)) {
        *err = "USB allow-list entry '" + shown + "' is not VID:PID (hex or *, e.g. 046d:*) or class:XX";
        return false;
      }
      list.ids_.push_back(p);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  *out = std::move(list);
  return true;
}

bool UsbAllowList::allows(const UsbDeviceIdentity& d) const {
  for (const IdPattern& p : ids_)
    if ((p.vid < 0 || p.vid == d.vid) && (p.pid < 0 || p.pid == d.pid)) return true;
  for (uint8_t c : classes_) {
    if (d.device_class == c) return true;
    for (uint8_t ic : d.interface_classes)
      if (ic == c) return true;
  }
  return false;
}

std::string UsbAllowList::text() const {
  std::string s;
  for (const IdPattern& p : ids_) s += (s.empty() ? "" : ",") + hex4_or_star(p.vid) + ":" + hex4_or_star(p.pid);
  for (uint8_t c : classes_) s += (s.empty() ? "" : ",") + std::string("class:") + hex2(c);
  return s;
}

}  // namespace vredir
