#include "virt/input_hotplug.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
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

Status InputHotplug::detach() {
  devices_.clear();
  return plugged_.detach();
}

}  // namespace vredir
