// Domain lifecycle events from libvirt (started, stopped, rebooted...), used by
// vm-list --watch and by vm-power's reboot wait. enable_libvirt_events() must
// run before the Connection is opened.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <deque>
#include <string>

#include "virt/hypervisor.hpp"

namespace vredir {

struct LifecycleEvent {
  std::string time;    // UTC, ISO 8601 with milliseconds
  std::string domain;
  std::string uuid;
  std::string event;   // started, stopped, shutdown, rebooted, crashed, suspended, resumed,
                       // pmsuspended, defined, undefined
  std::string detail;  // booted, destroyed, finished, paused, unpaused...
};

nlohmann::ordered_json to_json(const LifecycleEvent& event);
// Maps a VIR_DOMAIN_EVENT_* pair to the event and detail words.
LifecycleEvent lifecycle_words(int event, int detail);

class EventWatch {
 public:
  EventWatch() = default;
  ~EventWatch();
  EventWatch(const EventWatch&) = delete;
  EventWatch& operator=(const EventWatch&) = delete;

  // Subscribes to lifecycle and reboot events of one domain (or all when
  // domain is null) and turns on keepalive so a dead daemon is noticed.
  Status start(const Connection& conn, virDomainPtr domain);
  // Runs libvirt's event loop for up to about timeout_ms. Fails with
  // kExitPeerLost once the connection is closed.
  Status run(int timeout_ms);
  bool has_event() const { return !pending_.empty(); }
  LifecycleEvent take();

 private:
  static int on_lifecycle(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque);
  static void on_reboot(virConnectPtr, virDomainPtr dom, void* opaque);
  static void on_close(virConnectPtr, int reason, void* opaque);
  static void on_tick(int, void*) {}
  void push(virDomainPtr dom, LifecycleEvent ev);

  virConnectPtr conn_ = nullptr;
  std::string uri_;
  int lifecycle_id_ = -1;
  int reboot_id_ = -1;
  int timer_id_ = -1;
  bool close_registered_ = false;
  bool closed_ = false;
  std::string close_reason_;
  std::deque<LifecycleEvent> pending_;
};

}  // namespace vredir
