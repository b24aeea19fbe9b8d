#include "virt/virtio_keyboard.hpp"

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "sys/signals.hpp"
#include "virt/domain_devices.hpp"
#include "virt/qmp_reply.hpp"

namespace vredir {

using json = nlohmann::json;

using qmp::member;

Status VirtioKeyboard::qmp(const std::string& command, std::string* reply) const {
  char* r = nullptr;
  if (virDomainQemuMonitorCommand(dom_.get(), command.c_str(), &r, 0) < 0)
    return libvirt_error("QEMU monitor of '" + dom_.name() + "'");
  reply->assign(r ? r : "");
  std::free(r);
  return Status::ok();
}

Status VirtioKeyboard::open(Domain domain) {
  dom_ = std::move(domain);
  std::string xml;
  if (Status st = dom_.xml(&xml); !st) return st;
  DomainDevices devices;
  if (Status st = parse_domain_devices(xml, &devices); !st) return st;
  std::string alias;
  for (const InputDevice& i : devices.inputs)
    if (i.type == "keyboard" && i.bus == "virtio" && !i.alias.empty()) {
      alias = i.alias;
      break;
    }
  if (alias.empty())
    return fail(kExitNotFound, "domain '" + dom_.name() +
                                   "' has no virtio keyboard (add <input type='keyboard' bus='virtio'/> for fast input)");
  return open_path(std::move(dom_), "/machine/peripheral/" + alias + "/virtio-backend");
}

Status VirtioKeyboard::open_seat(Domain domain, std::string qom_path, const SeatBinding& binding) {
  seat_ = binding;
  return open_path(std::move(domain), std::move(qom_path));
}

Status VirtioKeyboard::open_path(Domain domain, std::string qom_path) {
  dom_ = std::move(domain);
  path_ = std::move(qom_path);
  if (Status st = queue_state(&known_free_, &known_used_); !st) return st;
  // VREDIR_VIRTIO_VIA_DBUS: 0 keeps to QMP, 1 takes even a peer-to-peer
  // D-Bus display; unset, a display on the domain's bus is used.
  const char* env = std::getenv("VREDIR_VIRTIO_VIA_DBUS");
  const std::string via_dbus = env ? env : "";
  if (via_dbus != "0") {
    std::string xml, why;
    DomainDevices devices;
    Status st = dom_.xml(&xml);
    if (st) st = parse_domain_devices(xml, &devices);
    if (st) st = open_domain_dbus_keyboard(dom_, devices, via_dbus != "1", &dbus_, &why, seat_ ? seat_->head : 0);
    if (!st) {
      why = st.message();
      dbus_.reset();
    }
    if (!dbus_) spdlog::debug("virtio keyboard: no D-Bus display for key events ({})", why);
  }
  // VREDIR_VIRTIO_VIA_BARRIER=0 keeps what the D-Bus display does not take
  // on QMP; unset, QEMU's Barrier client carries it.
  const char* benv = std::getenv("VREDIR_VIRTIO_VIA_BARRIER");
  if (!dbus_ && !seat_ && !(benv && std::string(benv) == "0")) {
    std::string why;
    if (Status st = BarrierKeyboard::open(dom_, &barrier_, &why); !st) {
      why = st.message();
      barrier_.reset();
    }
    if (!barrier_) spdlog::debug("virtio keyboard: key events through QMP ({})", why);
  }
  spdlog::debug("virtio keyboard {}: {} buffers posted, events through {}", path_, known_free_, route());
  return Status::ok();
}

Status VirtioKeyboard::deliver(std::span<const KeyPress> keys, int timeout_ms) {
  // Keys without an XFree86 key code (media keys) take the monitor.
  if (barrier_ && barrier_can_send(keys)) return barrier_->send(keys, timeout_ms);
  if (dbus_) {
    std::vector<std::pair<uint16_t, bool>> events;
    for (const KeyPress& k : keys) events.emplace_back(qnum_from_evdev(k.code), k.down);
    return dbus_->send(events, timeout_ms);
  }
  json events = json::array();
  for (const KeyPress& k : keys)
    events.push_back(
        {{"type", "key"},
         {"data", {{"down", k.down}, {"key", {{"type", "number"}, {"data", qnum_from_evdev(k.code)}}}}}});
  json args = {{"events", std::move(events)}};
  if (seat_) {
    args["device"] = seat_->display;
    args["head"] = seat_->head;
  }
  const std::string command = json{{"execute", "input-send-event"}, {"arguments", std::move(args)}}.dump();
  std::string reply;
  if (Status st = qmp(command, &reply); !st) return st;
  json j = json::parse(reply, nullptr, false);
  if (const json* e = member(j, {"error", "desc"}); e && e->is_string())
    return fail(kExitFailure, "QEMU refused key events: " + e->get<std::string>());
  return Status::ok();
}

Status VirtioKeyboard::queue_state(int* free_buffers, uint16_t* used_idx) const {
  json cmd = {{"execute", "x-query-virtio-queue-element"}, {"arguments", {{"path", path_}, {"queue", 0}}}};
  std::string reply;
  if (Status st = qmp(cmd.dump(), &reply); !st) return st;
  json j = json::parse(reply, nullptr, false);
  if (const json* e = member(j, {"error", "desc"}); e && e->is_string()) {
    const std::string desc = e->get<std::string>();
    const json* cls = member(j, {"error", "class"});
    if (cls && cls->is_string() && cls->get<std::string>() == "CommandNotFound")
      return fail(kExitFailure, "QEMU cannot report the virtio keyboard's queue (" + desc +
                                    "; x-query-virtio needs QEMU 7.0)");
    // "Region caches not initialized": the guest has not set up the
    // keyboard's queues (still booting, or no driver).
    return fail(kExitFailure, "the guest has not set up its virtio keyboard yet (QEMU: " + desc + ")");
  }
  const json* avail = member(j, {"return", "avail", "idx"});
  const json* used = member(j, {"return", "used", "idx"});
  if (!avail || !used || !avail->is_number_unsigned() || !used->is_number_unsigned())
    return fail(kExitFailure, "unexpected answer from QEMU about the virtio keyboard's queue");
  uint16_t a = static_cast<uint16_t>(avail->get<uint64_t>());
  *used_idx = static_cast<uint16_t>(used->get<uint64_t>());
  *free_buffers = static_cast<uint16_t>(a - *used_idx);
  return Status::ok();
}

Status VirtioKeyboard::send(std::span<const KeyPress> keys, int timeout_ms) {
  if (keys.empty()) return Status::ok();
  if (keys.size() > static_cast<size_t>(kMaxBatch)) return fail(kExitFailure, "virtio keyboard batch too large");
  for (const KeyPress& k : keys)
    if (qnum_from_evdev(k.code) == 0)
      return fail(kExitFailure, "key code " + std::to_string(k.code) + " has no QEMU key number");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!keys.empty()) {
    // Each event and its own SYN, and kSpareBuffers more: the buffers that
    // are not free are events the guest has not taken in yet, all of which
    // its driver hands to evdev in one interrupt when it runs again (a vCPU
    // the host held back while QEMU filled the queue), and an evdev reader
    // holds 63. Leaving two unfilled keeps such a burst within it.
    const int needed = 2 * static_cast<int>(keys.size()) + kSpareBuffers;
    // The state seen after the last batch can only understate the buffers
    // posted since (the guest only adds them), unless another client typed
    // meanwhile: events dropped that way are detected below and sent again.
    while (known_free_ < needed) {
      if (interrupted()) return fail(kExitInterrupted, "interrupted");
      if (std::chrono::steady_clock::now() > deadline)
        return fail(kExitTimeout, "the guest has not taken key events from its virtio keyboard for " +
                                      std::to_string(timeout_ms / 1000) + " s");
      if (known_free_ >= 0) {
        ++waits_;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      if (Status st = queue_state(&known_free_, &known_used_); !st) return st;
    }
    uint16_t used_before = known_used_;
    if (Status st = deliver(keys, timeout_ms); !st) {
      // A D-Bus display that refused key events (no Keyboard interface) or
      // went away leaves them to the monitor: what it did not deliver goes
      // that way. Not after a timeout: calls still in flight could land late.
      if ((!dbus_ && !barrier_) || st.code() == kExitInterrupted || st.code() == kExitTimeout) return st;
      spdlog::warn("{}; key events go through QEMU's monitor instead", st.message());
      dbus_.reset();
      barrier_.reset();
    }
    // QEMU handles each event synchronously: by its answer the event is in
    // the guest's buffers, or was dropped (with its SYN).
    if (Status st = queue_state(&known_free_, &known_used_); !st) return st;
    size_t taken = std::min<size_t>(static_cast<uint16_t>(known_used_ - used_before) / 2, keys.size());
    if (taken == keys.size()) break;
    // Buffers ran short midway (or the D-Bus display failed), so the events
    // after the first `taken` did not arrive: send those again.
    ++resent_;
    if (std::chrono::steady_clock::now() > deadline)
      return fail(kExitFailure, "the virtio keyboard keeps refusing " + std::to_string(keys.size() - taken) +
                                    " key events");
    spdlog::debug("virtio keyboard: {} of {} events not taken; sending them again", keys.size() - taken,
                  keys.size());
    keys = keys.subspan(taken);
  }
  ++batches_;
  return Status::ok();
}

}  // namespace vredir
