#include "virt/domain_events.hpp"

#include <libvirt/virterror.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace vredir {

namespace {

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

const char* pick(const char* const* names, size_t n, int i) {
  return i >= 0 && static_cast<size_t>(i) < n ? names[i] : "unknown";
}

}  // namespace

nlohmann::ordered_json to_json(const LifecycleEvent& e) {
  return {{"time", e.time}, {"domain", e.domain}, {"uuid", e.uuid}, {"event", e.event}, {"detail", e.detail}};
}

LifecycleEvent lifecycle_words(int event, int detail) {
  static const char* const defined[] = {"added", "updated", "renamed", "from-snapshot"};
  static const char* const undefined[] = {"removed", "renamed"};
  static const char* const started[] = {"booted", "migrated", "restored", "from-snapshot", "wakeup"};
  static const char* const suspended[] = {"paused", "migrated", "ioerror", "watchdog", "restored",
                                          "from-snapshot", "api-error", "postcopy", "postcopy-failed"};
  static const char* const resumed[] = {"unpaused", "migrated", "from-snapshot", "postcopy", "postcopy-failed"};
  static const char* const stopped[] = {"shutdown", "destroyed", "crashed", "migrated",
                                        "saved", "failed", "from-snapshot"};
  static const char* const shutdown[] = {"finished", "guest", "host"};
  static const char* const pmsuspended[] = {"memory", "disk"};
  static const char* const crashed[] = {"panicked", "crashloaded"};
  LifecycleEvent e;
  switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED: e.event = "defined", e.detail = pick(defined, std::size(defined), detail); break;
    case VIR_DOMAIN_EVENT_UNDEFINED:
      e.event = "undefined", e.detail = pick(undefined, std::size(undefined), detail);
      break;
    case VIR_DOMAIN_EVENT_STARTED: e.event = "started", e.detail = pick(started, std::size(started), detail); break;
    case VIR_DOMAIN_EVENT_SUSPENDED:
      e.event = "suspended", e.detail = pick(suspended, std::size(suspended), detail);
      break;
    case VIR_DOMAIN_EVENT_RESUMED: e.event = "resumed", e.detail = pick(resumed, std::size(resumed), detail); break;
    case VIR_DOMAIN_EVENT_STOPPED: e.event = "stopped", e.detail = pick(stopped, std::size(stopped), detail); break;
    case VIR_DOMAIN_EVENT_SHUTDOWN:
      e.event = "shutdown", e.detail = pick(shutdown, std::size(shutdown), detail);
      break;
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
      e.event = "pmsuspended", e.detail = pick(pmsuspended, std::size(pmsuspended), detail);
      break;
    case VIR_DOMAIN_EVENT_CRASHED: e.event = "crashed", e.detail = pick(crashed, std::size(crashed), detail); break;
    default: e.event = "unknown", e.detail = std::to_string(event) + "/" + std::to_string(detail); break;
  }
  return e;
}

EventWatch::~EventWatch() {
  if (!conn_) return;
  if (lifecycle_id_ >= 0) virConnectDomainEventDeregisterAny(conn_, lifecycle_id_);
  if (reboot_id_ >= 0) virConnectDomainEventDeregisterAny(conn_, reboot_id_);
  if (close_registered_) virConnectUnregisterCloseCallback(conn_, on_close);
  if (timer_id_ >= 0) virEventRemoveTimeout(timer_id_);
}

Status EventWatch::start(const Connection& conn, virDomainPtr domain) {
  conn_ = conn.get();
  uri_ = conn.uri();
  lifecycle_id_ = virConnectDomainEventRegisterAny(conn_, domain, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                   VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), this, nullptr);
  if (lifecycle_id_ < 0) return libvirt_error("cannot subscribe to lifecycle events on " + uri_);
  reboot_id_ = virConnectDomainEventRegisterAny(conn_, domain, VIR_DOMAIN_EVENT_ID_REBOOT,
                                                VIR_DOMAIN_EVENT_CALLBACK(on_reboot), this, nullptr);
  if (reboot_id_ < 0) return libvirt_error("cannot subscribe to reboot events on " + uri_);
  // Not every driver has these (test:///, local drivers): events still work.
  close_registered_ = virConnectRegisterCloseCallback(conn_, on_close, this, nullptr) == 0;
  (void)virConnectSetKeepAlive(conn_, 5, 3);
  virResetLastError();
  // A repeating timer bounds each loop iteration so callers can poll flags.
  timer_id_ = virEventAddTimeout(100, on_tick, nullptr, nullptr);
  if (timer_id_ < 0) return libvirt_error("cannot add an event-loop timer");
  return Status::ok();
}

Status EventWatch::run(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (pending_.empty() && !closed_) {
    if (virEventRunDefaultImpl() < 0) return libvirt_error("libvirt event loop failed");
    if (virConnectIsAlive(conn_) == 0) closed_ = true;
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  if (closed_ && pending_.empty())
    return fail(kExitPeerLost, "connection to " + uri_ + " closed" +
                                   (close_reason_.empty() ? std::string() : " (" + close_reason_ + ")"));
  return Status::ok();
}

LifecycleEvent EventWatch::take() {
  LifecycleEvent e = std::move(pending_.front());
  pending_.pop_front();
  return e;
}

void EventWatch::push(virDomainPtr dom, LifecycleEvent ev) {
  ev.time = utc_now();
  if (const char* n = virDomainGetName(dom)) ev.domain = n;
  char uuid[VIR_UUID_STRING_BUFLEN] = {};
  if (virDomainGetUUIDString(dom, uuid) == 0) ev.uuid = uuid;
  pending_.push_back(std::move(ev));
}

int EventWatch::on_lifecycle(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque) {
  static_cast<EventWatch*>(opaque)->push(dom, lifecycle_words(event, detail));
  return 0;
}

void EventWatch::on_reboot(virConnectPtr, virDomainPtr dom, void* opaque) {
  static_cast<EventWatch*>(opaque)->push(dom, LifecycleEvent{"", "", "", "rebooted", "reset"});
}

void EventWatch::on_close(virConnectPtr, int reason, void* opaque) {
  auto* self = static_cast<EventWatch*>(opaque);
  self->closed_ = true;
  switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_ERROR: self->close_reason_ = "I/O error"; break;
    case VIR_CONNECT_CLOSE_REASON_EOF: self->close_reason_ = "the daemon went away"; break;
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE: self->close_reason_ = "keepalive timed out"; break;
    default: self->close_reason_ = "closed by the client"; break;
  }
}

}  // namespace vredir
