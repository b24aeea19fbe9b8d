#include "usbpolicy/usb_selector.hpp"

#include <charconv>
#include <cstdio>

namespace vredir {

namespace {

bool parse_hex16(std::string_view s, uint16_t* out) {
  if (s.empty() || s.size() > 4) return false;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  *out = uint16_t(v);
  return true;
}

bool parse_dec(std::string_view s, unsigned max, unsigned* out) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 10);
  if (ec != std::errc() || end != s.data() + s.size() || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

std::string usb_id_text(uint16_t vid, uint16_t pid) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04x:%04x", vid, pid);
  return buf;
}

bool parse_usb_selector(std::string_view text, UsbSelector* out, std::string* err) {
  UsbSelector s;
  if (text.starts_with("unix:")) {
    s.kind = UsbSelector::Kind::kUnix;
    s.path = std::string(text.substr(5));
    if (s.path.empty()) {
      *err = "unix: needs a socket path (unix:PATH)";
      return false;
    }
    *out = s;
    return true;
  }
  if (text.starts_with("tcp:")) {
    s.kind = UsbSelector::Kind::kTcp;
    std::string_view rest = text.substr(4);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      *err = "'" + std::string(text) + "' is not tcp:HOST:PORT";
      return false;
    }
    std::string_view host = rest.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    if (host.empty() || !parse_dec(rest.substr(colon + 1), 65535, &port) || port == 0) {
      *err = "'" + std::string(text) + "' is not tcp:HOST:PORT (a port from 1 to 65535)";
      return false;
    }
    s.host = std::string(host);
    s.port = uint16_t(port);
    *out = s;
    return true;
  }
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    s.kind = UsbSelector::Kind::kVidPid;
    if (!parse_hex16(text.substr(0, colon), &s.vid) || !parse_hex16(text.substr(colon + 1), &s.pid)) {
      *err = "'" + std::string(text) + "' is not VID:PID (hex, e.g. 046d:c52b)";
      return false;
    }
    *out = s;
    return true;
  }
  if (size_t dash = text.find('-'); dash != std::string_view::npos) {
    s.kind = UsbSelector::Kind::kBusAddress;
    if (!parse_dec(text.substr(0, dash), 255, &s.bus) || !parse_dec(text.substr(dash + 1), 127, &s.address) ||
        s.address == 0) {
      *err = "'" + std::string(text) + "' is not BUS-ADDR (decimal, e.g. 1-5; see redir-usb list)";
      return false;
    }
    *out = s;
    return true;
  }
  *err = "'" + std::string(text) + "' names no USB device (VID:PID, BUS-ADDR, unix:PATH or tcp:HOST:PORT)";
  return false;
}

std::string usb_endpoint_url(const UsbSelector& s) {
  if (s.kind == UsbSelector::Kind::kUnix) return usb_selector_text(s);
  if (s.kind == UsbSelector::Kind::kTcp) return "tcp://" + usb_selector_text(s).substr(4);
  return "";
}

std::string usb_selector_text(const UsbSelector& s) {
  switch (s.kind) {
    case UsbSelector::Kind::kVidPid: return usb_id_text(s.vid, s.pid);
    case UsbSelector::Kind::kBusAddress: return std::to_string(s.bus) + "-" + std::to_string(s.address);
    case UsbSelector::Kind::kUnix: return "unix:" + s.path;
    case UsbSelector::Kind::kTcp:
      return "tcp:" + (s.host.find(':') != std::string::npos ? "[" + s.host + "]" : s.host) + ":" +
             std::to_string(s.port);
  }
  return "";
}

}  // namespace vredir
