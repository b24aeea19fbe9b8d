#include <spdlog/spdlog.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "sys/stdio_files.hpp"
#include "usb/usb_devices.hpp"
#include "usb_tool.hpp"

namespace vredir {

Status run_list(const ListOptions& o) {
  std::vector<UsbDeviceEntry> devices;
  if (Status st = list_usb_devices(&devices); !st) return st;
  if (o.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const UsbDeviceEntry& d : devices) {
      char cls[8];
      std::snprintf(cls, sizeof(cls), "%02x", d.device_class);
      arr.push_back({{"bus", d.bus},
                     {"address", d.address},
                     {"id", usb_id_text(d.vid, d.pid)},
                     {"class", cls},
                     {"manufacturer", d.manufacturer},
                     {"product", d.product}});
    }
    return write_stdout(arr.dump() + "\n");
  }
  if (devices.empty()) {
    spdlog::info("no USB devices on this machine");
    return Status::ok();
  }
  std::string text = "BUS-ADDR  VID:PID    CLASS  NAME\n";
  for (const UsbDeviceEntry& d : devices) {
    char line[64];
    std::snprintf(line, sizeof(line), "%-9s %-10s %02x     ", (std::to_string(d.bus) + "-" + std::to_string(d.address)).c_str(),
                  usb_id_text(d.vid, d.pid).c_str(), d.device_class);
    std::string name = d.manufacturer + (d.manufacturer.empty() || d.product.empty() ? "" : " ") + d.product;
    text += line + (name.empty() ? std::string("-") : name) + "\n";
  }
  return write_stdout(text);
}

}  // namespace vredir
