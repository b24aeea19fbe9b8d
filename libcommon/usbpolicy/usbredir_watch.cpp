#include "usbpolicy/usbredir_watch.hpp"

#include "usbpolicy/usb_selector.hpp"
#include "wire/byte_reader.hpp"

namespace vredir {

namespace {

// usbredir's packet types and capability bits (usb-redirection-protocol).
constexpr uint32_t kHello = 0;
constexpr uint32_t kDeviceConnect = 1;
constexpr uint32_t kDeviceDisconnect = 2;
constexpr uint32_t kInterfaceInfo = 4;
constexpr uint32_t kFirstDataPacket = 100;
constexpr uint32_t kCap64BitIds = 5;
constexpr size_t kHelloVersionLen = 64;
constexpr size_t kInterfaceInfoLen = 4 + 4 * 32;

std::string printable(std::span<const uint8_t> s) {
  std::string out;
  for (uint8_t c : s) {
    if (c == 0) break;
    out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  }
  return out;
}

// The caps words of a hello body (after the version).
bool has_cap(std::span<const uint8_t> body, uint32_t cap) {
  ByteReader r(body);
  r.skip(kHelloVersionLen);
  for (uint32_t i = 0; r.ok() && r.remaining() >= 4; ++i) {
    uint32_t word = r.u32le();
    if (cap / 32 == i) return (word >> (cap % 32)) & 1u;
  }
  return false;
}

}  // namespace

size_t UsbredirWatch::header_len(const Side& s) const {
  // A hello goes out before the peer's caps are known: always the 32-bit id.
  if (!s.hello_seen) return 12;
  return device_.caps_64bit_ids && guest_.caps_64bit_ids ? 16 : 12;
}

void UsbredirWatch::emit(std::string_view bytes, std::string* to_guest) {
  if (released_) to_guest->append(bytes);
  else held_.append(bytes);
}

Status UsbredirWatch::feed_guest(std::span<const uint8_t> bytes, std::string* to_guest) {
  if (!guest_.hello_seen) {
    guest_.buf.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (guest_.buf.size() < 12) return Status::ok();
    ByteReader r(reinterpret_cast<const uint8_t*>(guest_.buf.data()), guest_.buf.size());
    uint32_t type = r.u32le(), length = r.u32le();
    r.u32le();
    if (type != kHello || length < kHelloVersionLen || length > kMaxControlPacket)
      return fail(kExitMalformed, "the usb-guest did not start with a usbredir hello (is it QEMU's usb-redir?)");
    if (guest_.buf.size() < 12 + uint64_t(length)) return Status::ok();
    auto body = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(guest_.buf.data()) + 12, length);
    guest_.caps_64bit_ids = has_cap(body, kCap64BitIds);
    guest_.hello_seen = true;
    guest_.buf.clear();  // the rest of the guest's bytes are not needed
  }
  if (pending_.empty()) return Status::ok();
  return parse_device(to_guest);
}

Status UsbredirWatch::feed_device(std::span<const uint8_t> bytes, std::string* to_guest) {
  pending_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return parse_device(to_guest);
}

Status UsbredirWatch::parse_device(std::string* to_guest) {
  size_t pos = 0;
  Status st;
  while (pos < pending_.size()) {
    std::string_view avail(pending_.data() + pos, pending_.size() - pos);
    if (device_.skip > 0) {  // inside a data packet: pass it through
      size_t n = size_t(std::min<uint64_t>(device_.skip, avail.size()));
      emit(avail.substr(0, n), to_guest);
      device_.skip -= n;
      pos += n;
      continue;
    }
    // After its hello, the header's size depends on the guest's caps too.
    if (device_.hello_seen && !guest_.hello_seen) break;
    const size_t hlen = header_len(device_);
    if (avail.size() < hlen) break;
    ByteReader r(reinterpret_cast<const uint8_t*>(avail.data()), hlen);
    const uint32_t type = r.u32le(), length = r.u32le();
    if (!device_.hello_seen && (type != kHello || length < kHelloVersionLen || length > kMaxControlPacket)) {
      st = fail(kExitMalformed, "the USB device side did not start with a usbredir hello (is it a usbredir endpoint?)");
      break;
    }
    if (type >= kFirstDataPacket) {
      if (!connected_) {
        st = fail(kExitMalformed, "the USB device side sent data (usbredir packet type " + std::to_string(type) +
                                      ") before device_connect");
        break;
      }
      if (length > kMaxDataPacket) {
        st = fail(kExitMalformed, "usbredir data packet of " + std::to_string(length) + " bytes (most " +
                                      std::to_string(kMaxDataPacket) + ")");
        break;
      }
      emit(avail.substr(0, hlen), to_guest);
      device_.skip = length;
      pos += hlen;
      continue;
    }
    if (length > kMaxControlPacket) {
      st = fail(kExitMalformed, "usbredir control packet (type " + std::to_string(type) + ") of " +
                                    std::to_string(length) + " bytes (most " + std::to_string(kMaxControlPacket) + ")");
      break;
    }
    if (avail.size() < hlen + uint64_t(length)) break;
    auto body = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(avail.data()) + hlen, length);
    if (st = device_packet(type, body); !st) break;
    emit(avail.substr(0, hlen + length), to_guest);
    pos += hlen + length;
    if (type == kDeviceConnect && !released_) {
      released_ = true;
      to_guest->append(held_);
      held_.clear();
      held_.shrink_to_fit();
    }
  }
  pending_.erase(0, pos);
  if (st && held_.size() + pending_.size() > kMaxHeld)
    st = fail(kExitMalformed, "the USB device side sent more than " + std::to_string(kMaxHeld >> 10) +
                                  " KiB without a device_connect");
  return st;
}

Status UsbredirWatch::device_packet(uint32_t type, std::span<const uint8_t> body) {
  ByteReader r(body);
  switch (type) {
    case kHello:
      if (device_.hello_seen) return fail(kExitMalformed, "the USB device side sent a second usbredir hello");
      device_.hello_seen = true;
      device_.caps_64bit_ids = has_cap(body, kCap64BitIds);
      device_version_ = printable(body.first(kHelloVersionLen));
      return Status::ok();
    case kInterfaceInfo: {
      uint32_t count = r.u32le();
      if (!r.ok() || body.size() < kInterfaceInfoLen || count > 32)
        return fail(kExitMalformed, "malformed usbredir interface_info (" + std::to_string(body.size()) + " bytes)");
      r.skip(32);  // interface numbers
      auto classes = r.bytes(32);
      identity_.interface_classes.assign(classes.begin(), classes.begin() + count);
      have_interfaces_ = true;
      return Status::ok();
    }
    case kDeviceConnect: {
      UsbDeviceIdentity id;
      id.interface_classes = identity_.interface_classes;
      uint8_t speed = r.u8();
      (void)speed;
      id.device_class = r.u8();
      id.device_subclass = r.u8();
      id.device_protocol = r.u8();
      id.vid = r.u16le();
      id.pid = r.u16le();
      if (!r.ok()) return fail(kExitMalformed, "malformed usbredir device_connect (" + std::to_string(body.size()) + " bytes)");
      if (connected_)
        return fail(kExitMalformed, "the USB device side sent device_connect twice without device_disconnect");
      if (!have_interfaces_)
        return fail(kExitMalformed, "the USB device side sent device_connect without interface_info");
      if (allow_ && !allow_->allows(id))
        return fail(kExitDenied, "USB device " + usb_identity_text(id) + " is not on the allow-list (" +
                                     (allow_->empty() ? std::string("empty") : allow_->text()) + "): not plugged in");
      identity_ = id;
      connected_ = true;
      ++connects_;
      return Status::ok();
    }
    case kDeviceDisconnect:
      connected_ = false;
      have_interfaces_ = false;
      identity_.interface_classes.clear();
      return Status::ok();
    default:
      return Status::ok();
  }
}

}  // namespace vredir
