// libvirt access shared by the tools: one connection per process, domains
// looked up by name, UUID or id, libvirt errors turned into one-line Status
// values, and domain states mapped to one vocabulary.
#pragma once

#include <libvirt/libvirt.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/status.hpp"

namespace vredir {

// The state vocabulary every tool prints and accepts.
enum class DomainState { kUnknown, kRunning, kPaused, kShutoff, kCrashed, kPmSuspended, kShuttingDown };

const char* state_name(DomainState state);
// Accepts the vocabulary plus "blocked" (a running domain waiting on I/O).
std::optional<DomainState> parse_state(std::string_view name);
// Maps virDomainState (VIR_DOMAIN_*): blocked counts as running, nostate as unknown.
DomainState state_from_libvirt(int vir_state);
// A short word for the reason libvirt gives with a state ("booted", "destroyed"...).
std::string state_reason_name(int vir_state, int reason);

// A libvirt URI whose hypervisor runs on this machine: no host, or a
// loopback one (localhost, 127.0.0.1, [::1]), whatever the user and port.
bool uri_is_local(const std::string& uri);

// -c/--connect, else $LIBVIRT_DEFAULT_URI, else qemu:///system.
std::string resolve_connect_uri(const std::string& option);

// Turns libvirt's last error into a Status. context names the operation; the
// exit code follows the error (not found 3, denied 4, timeout 5, else 1).
Status libvirt_error(const std::string& context);
// libvirt's last error message on one line, or "unknown libvirt error".
std::string last_libvirt_message();
// Stops libvirt from printing errors itself (they become Status messages).
void silence_libvirt_errors();
// Must run before Connection::open when the process handles libvirt events
// (lifecycle watch, reboot wait). Safe to call more than once.
Status enable_libvirt_events();

struct ConnectionClose {
  void operator()(virConnectPtr c) const;
};
struct DomainFree {
  void operator()(virDomainPtr d) const;
};
using ConnectionHandle = std::unique_ptr<virConnect, ConnectionClose>;
using DomainHandle = std::unique_ptr<virDomain, DomainFree>;

struct DomainSummary;

class Domain {
 public:
  Domain() = default;
  Domain(DomainHandle handle, std::string uri);

  virDomainPtr get() const { return handle_.get(); }
  // Another handle on the same domain (libvirt counts the references), for a
  // second user that outlives a move of this one.
  Domain share() const;
  const std::string& name() const { return name_; }
  const std::string& uri() const { return uri_; }
  std::string uuid() const;
  // -1 when the domain is not running.
  int id() const;

  Status state(DomainState* state, int* reason = nullptr) const;
  Status xml(std::string* out) const;
  Status summary(DomainSummary* out) const;

 private:
  DomainHandle handle_;
  std::string name_;
  std::string uri_;
};

// What vm-list shows per domain (devices are parsed separately on request).
struct DomainSummary {
  std::string name;
  std::string uuid;
  int id = -1;
  DomainState state = DomainState::kUnknown;
  std::string reason;
  unsigned vcpus = 0;
  unsigned long long memory_kib = 0;
  bool persistent = false;
  bool autostart = false;
};

class Connection {
 public:
  // uri_option is what the user passed with -c (may be empty).
  Status open(const std::string& uri_option);
  virConnectPtr get() const { return handle_.get(); }
  const std::string& uri() const { return uri_; }

  // ref is a name, a UUID or a numeric id. Missing gives kExitNotFound with
  // "domain 'REF' not found on URI (try: vm-list --all)".
  Status lookup(const std::string& ref, Domain* out) const;
  // Active domains only unless all; ordered running-by-id, then by name.
  Status list(bool all, std::vector<Domain>* out) const;

 private:
  ConnectionHandle handle_;
  std::string uri_;
};

}  // namespace vredir
