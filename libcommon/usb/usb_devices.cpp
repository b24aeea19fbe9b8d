#include "usb/usb_devices.hpp"

#include <libusb.h>
#include <unistd.h>

#include <algorithm>

namespace vredir {

namespace {

std::string read_string(libusb_device_handle* h, uint8_t index) {
  if (!h || index == 0) return "";
  unsigned char buf[256] = {};
  int n = libusb_get_string_descriptor_ascii(h, index, buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string s(reinterpret_cast<const char*>(buf), size_t(n));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

}  // namespace

Status list_usb_devices(std::vector<UsbDeviceEntry>* out) {
  out->clear();
  // No USB bus at all: libusb would only complain.
  if (::access("/dev/bus/usb", F_OK) != 0) return Status::ok();
  libusb_context* ctx = nullptr;
  if (libusb_init(&ctx) != 0) return Status::ok();
  libusb_device** list = nullptr;
  ssize_t n = libusb_get_device_list(ctx, &list);
  for (ssize_t i = 0; i < n; ++i) {
    libusb_device* d = list[i];
    libusb_device_descriptor desc{};
    if (libusb_get_device_descriptor(d, &desc) != 0) continue;
    UsbDeviceEntry e;
    e.bus = libusb_get_bus_number(d);
    e.address = libusb_get_device_address(d);
    e.vid = desc.idVendor;
    e.pid = desc.idProduct;
    e.device_class = desc.bDeviceClass;
    libusb_device_handle* h = nullptr;
    if (libusb_open(d, &h) == 0) {
      e.manufacturer = read_string(h, desc.iManufacturer);
      e.product = read_string(h, desc.iProduct);
      libusb_close(h);
    }
    out->push_back(std::move(e));
  }
  if (list) libusb_free_device_list(list, 1);
  libusb_exit(ctx);
  std::sort(out->begin(), out->end(), [](const UsbDeviceEntry& a, const UsbDeviceEntry& b) {
    return a.bus != b.bus ? a.bus < b.bus : a.address < b.address;
  });
  return Status::ok();
}

Status find_usb_device(const std::vector<UsbDeviceEntry>& devices, const UsbSelector& sel, UsbDeviceEntry* out) {
  std::vector<const UsbDeviceEntry*> hits;
  for (const UsbDeviceEntry& d : devices) {
    if (sel.kind == UsbSelector::Kind::kVidPid && d.vid == sel.vid && d.pid == sel.pid) hits.push_back(&d);
    if (sel.kind == UsbSelector::Kind::kBusAddress && d.bus == sel.bus && d.address == sel.address) hits.push_back(&d);
  }
  const std::string name = usb_selector_text(sel);
  if (!sel.local()) return fail(kExitUsage, "'" + name + "' is not a local USB device");
  if (hits.empty())
    return fail(kExitNotFound, "no USB device " + name +
                                   (devices.empty() ? " (this machine shows no USB devices)" : " (try: redir-usb list)"));
  if (hits.size() > 1) {
    std::string where;
    for (const UsbDeviceEntry* d : hits)
      where += (where.empty() ? "" : ", ") + std::to_string(d->bus) + "-" + std::to_string(d->address);
    return fail(kExitUsage, std::to_string(hits.size()) + " USB devices are " + name + " (" + where +
                                "): name one by BUS-ADDR");
  }
  *out = *hits.front();
  return Status::ok();
}

}  // namespace vredir
