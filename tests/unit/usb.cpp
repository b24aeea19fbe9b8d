#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <unistd.h>

#include "usbpolicy/usb_allow.hpp"
#include "usb/usb_devices.hpp"
#include "usbpolicy/usb_selector.hpp"
#include "usbpolicy/usbredir_watch.hpp"
#include "usb_tool.hpp"
#include "virt/usb_redirdev.hpp"
#include "wire/byte_reader.hpp"

using namespace vredir;

namespace {

// usbredir packets as the protocol frames them: type, length, id (32 or 64
// bits), then the type's header and data.
std::string packet(uint32_t type, const std::string& body, bool id64) {
  std::string p;
  put_u32le(p, type);
  put_u32le(p, uint32_t(body.size()));
  if (id64) put_u64le(p, 7);
  else put_u32le(p, 7);
  return p + body;
}

constexpr uint32_t kCaps = (1u << 1) | (1u << 4) | (1u << 5) | (1u << 6);

std::string hello(uint32_t caps) {
  std::string body = "peer";
  body.resize(64, '\0');
  put_u32le(body, caps);
  return packet(0, body, false);
}

std::string interface_info(std::initializer_list<uint8_t> classes, bool id64 = true) {
  std::string body;
  put_u32le(body, uint32_t(classes.size()));
  std::string numbers(32, '\0'), cls(32, '\0');
  size_t i = 0;
  for (uint8_t c : classes) {
    numbers[i] = char(i);
    cls[i++] = char(c);
  }
  return packet(4, body + numbers + cls + std::string(64, '\0'), id64);
}

std::string device_connect(uint16_t vid, uint16_t pid, uint8_t cls = 2, bool id64 = true) {
  std::string body;
  put_u8(body, 2);
  put_u8(body, cls);
  put_u8(body, 0);
  put_u8(body, 0);
  put_u16le(body, vid);
  put_u16le(body, pid);
  put_u16le(body, 0x100);
  return packet(1, body, id64);
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

UsbAllowList allow(const char* text) {
  UsbAllowList l;
  std::string err;
  REQUIRE(UsbAllowList::parse(text, &l, &err));
  return l;
}

}  // namespace

TEST_CASE("USB device selectors", "[usb]") {
  UsbSelector s;
  std::string err;
  SECTION("VID:PID") {
    REQUIRE(parse_usb_selector("046d:C52B", &s, &err));
    CHECK(s.kind == UsbSelector::Kind::kVidPid);
    CHECK(s.vid == 0x046d);
    CHECK(s.pid == 0xc52b);
    CHECK(s.local());
    CHECK(usb_selector_text(s) == "046d:c52b");
  }
  SECTION("BUS-ADDR") {
    REQUIRE(parse_usb_selector("3-17", &s, &err));
    CHECK(s.kind == UsbSelector::Kind::kBusAddress);
    CHECK(s.bus == 3);
    CHECK(s.address == 17);
    CHECK(usb_selector_text(s) == "3-17");
  }
  SECTION("endpoints") {
    REQUIRE(parse_usb_selector("unix:/run/dev.sock", &s, &err));
    CHECK(s.kind == UsbSelector::Kind::kUnix);
    CHECK(s.path == "/run/dev.sock");
    CHECK_FALSE(s.local());
    REQUIRE(parse_usb_selector("tcp:usbhost:4000", &s, &err));
    CHECK(s.host == "usbhost");
    CHECK(s.port == 4000);
    REQUIRE(parse_usb_selector("tcp:[::1]:4000", &s, &err));
    CHECK(s.host == "::1");
    CHECK(usb_selector_text(s) == "tcp:[::1]:4000");
  }
  SECTION("mistakes name the form that was meant") {
    CHECK_FALSE(parse_usb_selector("046d:c52bb", &s, &err));
    CHECK(err == "'046d:c52bb' is not VID:PID (hex, e.g. 046d:c52b)");
    CHECK_FALSE(parse_usb_selector("1-0", &s, &err));
    CHECK(err.find("is not BUS-ADDR") != std::string::npos);
    CHECK_FALSE(parse_usb_selector("1-300", &s, &err));
    CHECK_FALSE(parse_usb_selector("tcp:host", &s, &err));
    CHECK_FALSE(parse_usb_selector("tcp:host:0", &s, &err));
    CHECK_FALSE(parse_usb_selector("tcp::80", &s, &err));
    CHECK_FALSE(parse_usb_selector("unix:", &s, &err));
    CHECK_FALSE(parse_usb_selector("mouse", &s, &err));
    CHECK(err == "'mouse' names no USB device (VID:PID, BUS-ADDR, unix:PATH or tcp:HOST:PORT)");
  }
}

TEST_CASE("USB allow-lists", "[usb]") {
  UsbDeviceIdentity logitech{0x046d, 0xc52b, 0, 0, 0, {3, 3}};
  UsbDeviceIdentity stick{0x0781, 0x5567, 0, 0, 0, {8}};
  UsbDeviceIdentity acm{0x1209, 0x0001, 2, 0, 0, {2, 10}};
  SECTION("VID:PID with wildcards") {
    UsbAllowList l = allow("046d:*");
    CHECK(l.allows(logitech));
    CHECK_FALSE(l.allows(stick));
    CHECK(allow("*:5567").allows(stick));
    CHECK(allow("*:*").allows(acm));
    CHECK(allow("1209:1").allows(acm));
  }
  SECTION("classes match the device's or any interface's") {
    CHECK(allow("class:08").allows(stick));
    CHECK(allow("class:02").allows(acm));
    CHECK(allow("class:0a").allows(acm));
    CHECK_FALSE(allow("class:08").allows(acm));
  }
  SECTION("a list, canonical text") {
    UsbAllowList l = allow(" 046D:* , class:08,1209:0001");
    CHECK(l.text() == "046d:*,1209:0001,class:08");
    CHECK(l.allows(logitech));
    CHECK(l.allows(stick));
    CHECK(l.allows(acm));
    CHECK_FALSE(l.allows(UsbDeviceIdentity{0x1234, 0x5678, 0, 0, 0, {3}}));
  }
  SECTION("the empty list allows nothing") {
    UsbAllowList l = allow("");
    CHECK(l.empty());
    CHECK_FALSE(l.allows(acm));
  }
  SECTION("bad entries") {
    UsbAllowList l;
    std::string err;
    CHECK_FALSE(UsbAllowList::parse("046d", &l, &err));
    CHECK(err == "USB allow-list entry '046d' is not VID:PID (hex or *, e.g. 046d:*) or class:XX");
    CHECK_FALSE(UsbAllowList::parse("class:8", &l, &err));
    CHECK(err == "USB allow-list entry 'class:8' is not class:XX (two hex digits, e.g. class:08)");
    CHECK_FALSE(UsbAllowList::parse("046d:*,,class:08", &l, &err));
    CHECK_FALSE(UsbAllowList::parse("04*d:1", &l, &err));
    CHECK_FALSE(UsbAllowList::parse("12345:1", &l, &err));
    std::string many;
    for (int i = 0; i < 300; ++i) many += "1:1,";
    many += "1:1";
    CHECK_FALSE(UsbAllowList::parse(many, &l, &err));
    CHECK(err == "USB allow-list has more than 256 entries");
  }
  CHECK(usb_identity_text(acm) == "1209:0001 class 02 interfaces 02,0a");
}

TEST_CASE("finding a local USB device", "[usb]") {
  std::vector<UsbDeviceEntry> devices = {
      {1, 2, 0x046d, 0xc52b, 0, "Logitech", "Receiver"},
      {1, 5, 0x0781, 0x5567, 0, "", ""},
      {3, 4, 0x0781, 0x5567, 0, "", ""},
  };
  UsbSelector s;
  std::string err;
  UsbDeviceEntry found;
  REQUIRE(parse_usb_selector("046d:c52b", &s, &err));
  REQUIRE(find_usb_device(devices, s, &found));
  CHECK(found.address == 2);
  REQUIRE(parse_usb_selector("3-4", &s, &err));
  REQUIRE(find_usb_device(devices, s, &found));
  CHECK(found.bus == 3);
  REQUIRE(parse_usb_selector("0781:5567", &s, &err));
  Status st = find_usb_device(devices, s, &found);
  CHECK(st.code() == kExitUsage);
  CHECK(st.message() == "2 USB devices are 0781:5567 (1-5, 3-4): name one by BUS-ADDR");
  REQUIRE(parse_usb_selector("1209:0001", &s, &err));
  st = find_usb_device(devices, s, &found);
  CHECK(st.code() == kExitNotFound);
  CHECK(st.message() == "no USB device 1209:0001 (try: redir-usb list)");
  st = find_usb_device({}, s, &found);
  CHECK(st.message() == "no USB device 1209:0001 (this machine shows no USB devices)");
  REQUIRE(parse_usb_selector("unix:/x", &s, &err));
  CHECK(find_usb_device(devices, s, &found).code() == kExitUsage);
}

TEST_CASE("the local USB devices through libusb", "[usb]") {
  std::vector<UsbDeviceEntry> devices;
  REQUIRE(list_usb_devices(&devices));
  // Without a USB bus the list is empty, and that is no error.
  if (::access("/dev/bus/usb", F_OK) != 0) CHECK(devices.empty());
  for (const UsbDeviceEntry& d : devices) CHECK(d.bus > 0);
}

TEST_CASE("usbredir watched from between its ends", "[usb]") {
  const std::string guest_hello = hello(kCaps);
  const std::string device_opening = hello(kCaps) + interface_info({2, 10}) + packet(5, std::string(160, '\0'), true);
  const std::string connect = device_connect(0x1209, 0x0001);
  std::string data_packet;
  put_u8(data_packet, 0x82);
  put_u8(data_packet, 0);
  put_u16le(data_packet, 3);
  put_u32le(data_packet, 0);
  put_u16le(data_packet, 0);
  data_packet = packet(101, data_packet + "abc", true);

  SECTION("nothing reaches the guest before device_connect, then everything, in order") {
    UsbredirWatch w;
    std::string to_guest;
    REQUIRE(w.feed_device(bytes_of(device_opening), &to_guest));
    CHECK(to_guest.empty());
    REQUIRE(w.feed_guest(bytes_of(guest_hello), &to_guest));
    CHECK(to_guest.empty());
    // Byte by byte, to cross every boundary.
    const std::string rest = connect + data_packet;
    for (char c : rest) REQUIRE(w.feed_device(bytes_of(std::string(1, c)), &to_guest));
    CHECK(to_guest == device_opening + rest);
    CHECK(w.device_connected());
    CHECK(w.identity().vid == 0x1209);
    CHECK(w.identity().interface_classes == std::vector<uint8_t>{2, 10});
    CHECK(w.device_version() == "peer");
  }
  SECTION("device bytes wait for the guest's hello to know the header size") {
    UsbredirWatch w;
    std::string to_guest;
    REQUIRE(w.feed_device(bytes_of(device_opening + connect), &to_guest));
    CHECK(to_guest.empty());
    REQUIRE(w.feed_guest(bytes_of(guest_hello), &to_guest));
    CHECK(to_guest == device_opening + connect);
  }
  SECTION("32-bit ids when the guest lacks the 64-bit cap") {
    UsbredirWatch w;
    std::string to_guest;
    REQUIRE(w.feed_guest(bytes_of(hello(1u << 1)), &to_guest));
    const std::string all = hello(kCaps) + interface_info({3}, false) + device_connect(0x046d, 0xc52b, 0, false);
    REQUIRE(w.feed_device(bytes_of(all), &to_guest));
    CHECK(to_guest == all);
    CHECK(w.identity().pid == 0xc52b);
  }
  SECTION("a refused device never reaches the guest") {
    UsbAllowList l = allow("1209:0002,class:08");
    UsbredirWatch w(&l);
    std::string to_guest;
    REQUIRE(w.feed_guest(bytes_of(guest_hello), &to_guest));
    Status st = w.feed_device(bytes_of(device_opening + connect), &to_guest);
    CHECK(st.code() == kExitDenied);
    CHECK(st.message() ==
          "USB device 1209:0001 class 02 interfaces 02,0a is not on the allow-list (1209:0002,class:08): not plugged in");
    CHECK(to_guest.empty());
  }
  SECTION("a second device after a disconnect is checked again") {
    UsbAllowList l = allow("1209:*");
    UsbredirWatch w(&l);
    std::string to_guest;
    REQUIRE(w.feed_guest(bytes_of(guest_hello), &to_guest));
    REQUIRE(w.feed_device(bytes_of(device_opening + connect + packet(2, "", true)), &to_guest));
    const size_t before = to_guest.size();
    Status st = w.feed_device(bytes_of(interface_info({8}) + device_connect(0x0781, 0x5567, 0)), &to_guest);
    CHECK(st.code() == kExitDenied);
    CHECK(to_guest.size() == before + interface_info({8}).size());
  }
  SECTION("hostile framing") {
    UsbredirWatch w;
    std::string to_guest;
    CHECK(w.feed_device(bytes_of(connect), &to_guest).code() == kExitMalformed);
    UsbredirWatch w2;
    REQUIRE(w2.feed_guest(bytes_of(guest_hello), &to_guest));
    CHECK(w2.feed_device(bytes_of(hello(kCaps) + data_packet), &to_guest).code() == kExitMalformed);
    UsbredirWatch w3;
    REQUIRE(w3.feed_guest(bytes_of(guest_hello), &to_guest));
    std::string huge;
    put_u32le(huge, 4);
    put_u32le(huge, 0xffffffffu);
    put_u64le(huge, 1);
    Status st = w3.feed_device(bytes_of(hello(kCaps) + huge), &to_guest);
    CHECK(st.code() == kExitMalformed);
    CHECK(st.message() == "usbredir control packet (type 4) of 4294967295 bytes (most 65536)");
    UsbredirWatch w4;
    REQUIRE(w4.feed_guest(bytes_of(guest_hello), &to_guest));
    CHECK(w4.feed_device(bytes_of(hello(kCaps) + device_connect(1, 2)), &to_guest).code() == kExitMalformed);
    UsbredirWatch w5;
    CHECK(w5.feed_guest(bytes_of(device_connect(1, 2, 0, false)), &to_guest).code() == kExitMalformed);
    CHECK(to_guest.empty());
  }
}

TEST_CASE("USB redirection ports in domain XML", "[usb]") {
  CHECK(usb_redirdev_xml("ua-vredir-usb-1-0", "/tmp/d/usbredir.sock") ==
        "<redirdev bus='usb' type='unix'><source mode='connect' path='/tmp/d/usbredir.sock'/>"
        "<alias name='ua-vredir-usb-1-0'/></redirdev>");
  CHECK(domain_xml_has_usb_controller("<devices><controller type='usb' index='0' model='qemu-xhci'/></devices>"));
  CHECK_FALSE(domain_xml_has_usb_controller("<devices><controller type='usb' index='0' model='none'/></devices>"));
  CHECK_FALSE(domain_xml_has_usb_controller("<devices><controller type='pci' index='0'/></devices>"));
}

TEST_CASE("redir-usb attach checks its allow-list before anything", "[usb]") {
  AttachOptions o;
  o.domain = "vm";
  o.allow_given = true;
  o.allow = "046d:*,class:8";
  Status st = check_attach_options(o);
  CHECK(st.code() == kExitUsage);
  CHECK(st.message() == "--allow: USB allow-list entry 'class:8' is not class:XX (two hex digits, e.g. class:08)");
  o.allow = "046d:*";
  CHECK(check_attach_options(o));
}
