#include "virt/device_hotplug.hpp"

#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace vredir {

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<unsigned> g_sequence{0};

// How long an unplug waits for the guest to release the device.
constexpr int kUnplugWaitMs = 5000;

}  // namespace

std::string DeviceHotplug::new_alias(const std::string& tag) {
  return "ua-vredir-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(g_sequence++);
}

DeviceHotplug::~DeviceHotplug() {
  if (Status st = detach(); !st) spdlog::warn("{}", st.message());
  if (dom_) virDomainFree(dom_);
}

Status DeviceHotplug::attach(const Domain& d, const std::string& alias, const std::string& device_xml,
                             const std::string& what) {
  if (!dom_) {
    dom_ = d.get();
    virDomainRef(dom_);
    name_ = d.name();
  }
  if (virDomainAttachDeviceFlags(dom_, device_xml.c_str(), VIR_DOMAIN_AFFECT_LIVE) < 0)
    return fail(kExitFailure, last_libvirt_message());
  spdlog::debug("hot-plugged a {} into '{}' as {}", what, d.name(), alias);
  devices_.push_back({alias, what});
  return Status::ok();
}

Status DeviceHotplug::detach(bool wait) {
  Status first;
  std::vector<std::string> pending;
  for (const Attached& dev : devices_) {
    if (virDomainDetachDeviceAlias(dom_, dev.alias.c_str(), VIR_DOMAIN_AFFECT_LIVE) < 0) {
      std::string msg = last_libvirt_message();
      // Gone already (the domain stopped, or the guest released it).
      if (msg.find("not found") != std::string::npos || msg.find("not running") != std::string::npos) continue;
      if (first)
        first = fail(kExitFailure, "cannot unplug the " + dev.what + " " + dev.alias + " from '" + name_ + "': " + msg);
      continue;
    }
    spdlog::debug("unplugging {} from '{}'", dev.alias, name_);
    pending.push_back(dev.alias);
  }
  devices_.clear();
  if (!wait) return first;
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
