#include "virt/input_hotplug.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
#include <unistd.h>
#include <vector>

#include "sys/signals.hpp"
#include "virt/domain_devices.hpp"
#include "virt/qemu_monitor.hpp"

namespace vredir {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* xml_type(HotplugKind k) {
  switch (k) {
    case HotplugKind::kKeyboard: return "keyboard";
    case HotplugKind::kTablet: return "tablet";
    case HotplugKind::kMouse: return "mouse";
  }
  return "keyboard";
}

// libvirt's words for "no slot left" and "no bus for it", as one line with
// the fix.
std::string explain_attach_failure(const std::string& libvirt_message, const std::string& domain) {
  if (libvirt_message.find("No more available PCI slots") != std::string::npos ||
      libvirt_message.find("no free") != std::string::npos || libvirt_message.find("No free") != std::string::npos)
    return "no free slot for a hot-plugged PCI device on '" + domain +
           "' (on q35 each one needs a spare pcie-root-port: add <controller type='pci' model='pcie-root-port'/> "
           "to the domain)";
  return "cannot hot-plug a virtio input device into '" + domain + "': " + libvirt_message;
}

bool driver_ok(const json& status) {
  const json* statuses = nullptr;
  if (status.is_object() && status.contains("status") && status["status"].is_object() &&
      status["status"].contains("statuses"))
    statuses = &status["status"]["statuses"];
  if (!statuses || !statuses->is_array()) return false;
  for (const json& s : *statuses)
    if (s.is_string() && s.get_ref<const std::string&>().rfind("VIRTIO_CONFIG_S_DRIVER_OK", 0) == 0) return true;
  return false;
}

}  // namespace

const char* hotplug_kind_name(HotplugKind kind) { return xml_type(kind); }

Status InputHotplug::wait_bound(const Domain& d, const HotplugDevice& dev, Clock::time_point deadline,
                               int timeout_ms) {
  std::string last;
  for (;;) {
    if (interrupted()) return fail(kExitInterrupted, "interrupted");
    json status;
    Status st = qmp_command(d, {{"execute", "x-query-virtio-status"}, {"arguments", {{"path", dev.qom_path}}}}, &status);
    if (st && driver_ok(status)) return Status::ok();
    if (!st) {
      // QEMU before 7.0 has no x-query-virtio-status: no way to know.
      if (st.message().find("CommandNotFound") != std::string::npos ||
          st.message().find("has not been found") != std::string::npos)
        return fail(kExitFailure, "QEMU cannot report whether the guest took the hot-plugged " +
                                      std::string(xml_type(dev.kind)) + " (x-query-virtio-status needs QEMU 7.0)");
      last = st.message();
    }
    if (Clock::now() >= deadline)
      return fail(kExitTimeout, "the guest of '" + d.name() + "' did not bind a driver to the hot-plugged virtio " +
                                    xml_type(dev.kind) + " within " + std::to_string((timeout_ms + 999) / 1000) +
                                    " s (no virtio-input driver in the guest?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status InputHotplug::attach(const Domain& d, std::span<const HotplugKind> kinds, const std::string& tag,
                            int timeout_ms) {
  // A machine without PCI has nowhere to put a virtio device.
  std::string xml;
  if (Status st = d.xml(&xml); !st) return st;
  if (xml.find("<controller type='pci'") == std::string::npos)
    return fail(kExitFailure, "domain '" + d.name() + "' has no PCI bus for a virtio input device");
  const auto start = Clock::now();
  for (HotplugKind k : kinds) {
    HotplugDevice dev;
    dev.kind = k;
    dev.alias = DeviceHotplug::new_alias(tag);
    dev.qom_path = "/machine/peripheral/" + dev.alias + "/virtio-backend";
    const std::string device_xml = std::string("<input type='") + xml_type(k) + "' bus='virtio'><alias name='" +
                                   dev.alias + "'/></input>";
    if (Status st = plugged_.attach(d, dev.alias, device_xml, std::string("virtio ") + xml_type(k)); !st) {
      (void)detach();
      return fail(kExitFailure, explain_attach_failure(st.message(), d.name()));
    }
    devices_.push_back(dev);
  }
  for (const HotplugDevice& dev : devices_) {
    if (Status st = wait_bound(d, dev, start + std::chrono::milliseconds(timeout_ms), timeout_ms); !st) {
      (void)detach();
      return st;
    }
  }
  spdlog::debug("the guest bound {} hot-plugged device(s) after {:.0f} ms", devices_.size(),
                std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  return Status::ok();
}

namespace {

const char* seat_driver(HotplugKind k) {
  switch (k) {
    case HotplugKind::kKeyboard: return "virtio-keyboard-pci";
    case HotplugKind::kTablet: return "virtio-tablet-pci";
    case HotplugKind::kMouse: return "virtio-mouse-pci";
  }
  return "virtio-keyboard-pci";
}

bool qom_has_child(const Domain& d, const std::string& id) {
  json list;
  if (!qmp_command(d, {{"execute", "qom-list"}, {"arguments", {{"path", "/machine/peripheral"}}}}, &list))
    return true;  // cannot tell: assume it is still there
  if (list.is_array())
    for (const json& e : list)
      if (e.is_object() && e.value("name", "") == id) return true;
  return false;
}

}  // namespace

Status seat_binding(const DomainDevices& devices, const std::string& domain, int head, SeatBinding* out) {
  int left = head;
  for (const VideoDevice& v : devices.video) {
    if (v.model == "none") continue;
    const int heads = v.model == "virtio" ? std::clamp(v.heads, 1, 16) : 1;
    if (left < heads) {
      if (v.alias.empty())
        return fail(kExitFailure, "domain '" + domain + "' is not running (its video devices have no QEMU id yet)");
      out->display = v.alias;
      out->head = left;
      return Status::ok();
    }
    left -= heads;
  }
  const int n = devices.head_count();
  return fail(kExitNotFound, "domain '" + domain + "' has " +
                                 (n == 1 ? std::string("one head (0)")
                                         : std::to_string(n) + " heads (0 to " + std::to_string(n - 1) + ")") +
                                 ", so no seat " + std::to_string(head));
}

Status InputHotplug::attach_seat(const Domain& d, std::span<const HotplugKind> kinds, const SeatBinding& binding,
                                 const std::string& tag, int timeout_ms) {
  std::string xml;
  if (Status st = d.xml(&xml); !st) return st;
  DomainDevices devices;
  if (Status st = parse_domain_devices(xml, &devices); !st) return st;
  std::vector<std::string> buses = devices.hotplug_buses();
  const bool q35 = devices.machine.find("q35") != std::string::npos;
  if (buses.empty())
    return fail(kExitFailure, "no free slot for a seat's devices on '" + d.name() +
                                  "' (on q35 each one needs a spare pcie-root-port: add <controller type='pci' "
                                  "model='pcie-root-port'/> to the domain)");
  seat_dom_ = d.share();
  const auto start = Clock::now();
  static unsigned counter = 0;
  for (HotplugKind k : kinds) {
    HotplugDevice dev;
    dev.kind = k;
    dev.seat = true;
    dev.alias = "vredir-seat" + std::to_string(binding.head) + "-" + tag + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(++counter);
    dev.qom_path = "/machine/peripheral/" + dev.alias + "/virtio-backend";
    // A port another session took since libvirt's XML was read answers
    // "in use": the next one is tried.
    std::string last = "no free slot";
    bool added = false;
    while (!buses.empty() && !added) {
      const std::string bus = buses.front();
      buses.erase(buses.begin());
      json args = {{"driver", seat_driver(k)}, {"id", dev.alias},     {"bus", bus},
                   {"display", binding.display}, {"head", binding.head}};
      // A PCIe root port has one slot, 0: elsewhere the guest never sees it.
      if (q35) args["addr"] = "0x0";
      json result;
      Status st = qmp_command(d, {{"execute", "device_add"}, {"arguments", args}}, &result);
      if (st) added = true;
      else last = st.message();
    }
    if (!added) {
      (void)detach();
      return fail(kExitFailure, "cannot plug a seat's virtio " + std::string(xml_type(k)) + " into '" + d.name() +
                                    "' for head " + std::to_string(binding.head) + ": " + last +
                                    " (each device needs a free pcie-root-port on q35)");
    }
    devices_.push_back(dev);
  }
  for (const HotplugDevice& dev : devices_) {
    if (Status st = wait_bound(d, dev, start + std::chrono::milliseconds(timeout_ms), timeout_ms); !st) {
      (void)detach();
      return st;
    }
  }
  spdlog::debug("the guest bound {} device(s) of seat {} after {:.0f} ms", devices_.size(), binding.head,
                std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  return Status::ok();
}

Status InputHotplug::detach_seat() {
  Status first = Status::ok();
  std::vector<std::string> gone;
  for (const HotplugDevice& dev : devices_) {
    if (!dev.seat) continue;
    json result;
    Status st = qmp_command(seat_dom_, {{"execute", "device_del"}, {"arguments", {{"id", dev.alias}}}}, &result);
    if (st) gone.push_back(dev.alias);
    else if (first) first = fail(st.code(), "cannot unplug " + dev.alias + ": " + st.message());
  }
  // The guest lets go on its own (about a second for Linux on q35); the slot
  // is free for the next seat once QEMU has removed the device.
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (!gone.empty() && Clock::now() < deadline) {
    std::erase_if(gone, [&](const std::string& id) { return !qom_has_child(seat_dom_, id); });
    if (!gone.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!gone.empty() && first)
    first = fail(kExitTimeout, "the guest did not release " + gone.front() + " within 5 s");
  return first;
}

Status InputHotplug::detach() {
  Status seat = seat_dom_.get() ? detach_seat() : Status::ok();
  devices_.clear();
  Status st = plugged_.detach();
  return seat ? st : seat;
}

}  // namespace vredir
