#include "virt/input_hotplug.hpp"

#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
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

std::atomic<unsigned> g_sequence{0};

// How long an unplug waits for the guest to release the device.
constexpr int kUnplugWaitMs = 5000;

const char* xml_type(HotplugKind k) {
  switch (k) {
    case HotplugKind::kKeyboard: return "keyboard";
    case HotplugKind::kTablet: return "tablet";
    case HotplugKind::kMouse: return "mouse";
  }
  return "keyboard";
}

std::string last_libvirt_message() {
  virErrorPtr e = virGetLastError();
  return e && e->message ? e->message : "unknown libvirt error";
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

InputHotplug::~InputHotplug() {
  if (Status st = detach(); !st) spdlog::warn("{}", st.message());
  if (dom_) virDomainFree(dom_);
}

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
  if (!dom_) {
    dom_ = d.get();
    virDomainRef(dom_);
    name_ = d.name();
  }
  // A machine without PCI has nowhere to put a virtio device.
  std::string xml;
  if (Status st = d.xml(&xml); !st) return st;
  if (xml.find("<controller type='pci'") == std::string::npos)
    return fail(kExitFailure, "domain '" + d.name() + "' has no PCI bus for a virtio input device");
  const auto start = Clock::now();
  for (HotplugKind k : kinds) {
    HotplugDevice dev;
    dev.kind = k;
    dev.alias = "ua-vredir-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(g_sequence++);
    dev.qom_path = "/machine/peripheral/" + dev.alias + "/virtio-backend";
    const std::string device_xml = std::string("<input type='") + xml_type(k) + "' bus='virtio'><alias name='" +
                                   dev.alias + "'/></input>";
    if (virDomainAttachDeviceFlags(dom_, device_xml.c_str(), VIR_DOMAIN_AFFECT_LIVE) < 0) {
      Status st = fail(kExitFailure, explain_attach_failure(last_libvirt_message(), d.name()));
      (void)detach();
      return st;
    }
    spdlog::debug("hot-plugged a virtio {} into '{}' as {}", xml_type(k), d.name(), dev.alias);
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
  Status first;
  std::vector<std::string> pending;
  for (const HotplugDevice& dev : devices_) {
    if (virDomainDetachDeviceAlias(dom_, dev.alias.c_str(), VIR_DOMAIN_AFFECT_LIVE) < 0) {
      std::string msg = last_libvirt_message();
      // Gone already (the domain stopped, or the guest released it).
      if (msg.find("not found") != std::string::npos || msg.find("not running") != std::string::npos) continue;
      if (first)
        first = fail(kExitFailure, "cannot unplug the virtio " + std::string(xml_type(dev.kind)) + " " + dev.alias +
                                       " from '" + name_ + "': " + msg);
      continue;
    }
    spdlog::debug("unplugging {} from '{}'", dev.alias, name_);
    pending.push_back(dev.alias);
  }
  devices_.clear();
  // libvirt only asks the guest to let go; the slot is free once the device
  // is gone from the live definition. Wait for that (bounded), so the next
  // run finds the slot free.
  const auto deadline = Clock::now() + std::chrono::milliseconds(kUnplugWaitMs);
  while (!pending.empty()) {
    char* live = virDomainGetXMLDesc(dom_, 0);
    if (!live) break;  // the domain went away: nothing left to wait for
    const std::string xml(live);
    free(live);
    std::erase_if(pending, [&](const std::string& alias) {
      return xml.find("<alias name='" + alias + "'/>") == std::string::npos;
    });
    if (pending.empty()) break;
    if (Clock::now() >= deadline) {
      spdlog::warn("the guest of '{}' has not released {} after {} s; it stays until the guest lets go", name_,
                   pending.front(), kUnplugWaitMs / 1000);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return first;
}

}  // namespace vredir
