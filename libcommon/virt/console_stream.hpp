// A domain's serial console (virDomainOpenConsole) as a byte pipe both ways.
// libvirt lets one client hold a console at a time: a safe open fails with a
// one-line error (exit 1) while another client holds it (virsh console, a
// capture with --serial, a mux session), and a forced open takes it over
// (the other holder's stream ends). One process holds the console for both
// directions; the mux session can hold it through this class as capture
// does.
//
// The console's stream is non-blocking and driven by libvirt's event loop,
// which runs on a thread of this class while the console is open (as virsh
// console does it): a process that holds a console does not run that loop
// elsewhere (EventWatch). enable_libvirt_events() must run before the
// Connection is opened. Output is queued, at most kMaxPending bytes (older
// bytes go first, counted in dropped()); wake_fd() turns readable when
// there is output or the console has ended.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "virt/hypervisor.hpp"
#include "wire/status.hpp"

namespace vredir {

class ConsoleStream {
 public:
  enum class Takeover { kRefuse, kForce };
  static constexpr size_t kMaxPending = 4u << 20;

  ConsoleStream();
  ~ConsoleStream();
  ConsoleStream(const ConsoleStream&) = delete;
  ConsoleStream& operator=(const ConsoleStream&) = delete;

  // Opens the domain's first console (its first serial port). Held by
  // another client: kExitFailure with "... is in use by another client
  // (try: HINT)" unless takeover is kForce.
  Status open(const Domain& domain, Takeover takeover, const std::string& hint = "--force to take it over");
  bool is_open() const { return stream_ != nullptr; }

  // Readable when take() has something for the caller; drain_wake() after.
  int wake_fd() const { return wake_[0]; }
  void drain_wake();
  // Appends the output received since the last call. Once the console has
  // ended and everything was taken: kExitPeerLost with why (the guest
  // stopped, another client took the console over).
  Status take(std::string* out);
  // Writes all of bytes to the guest's serial port.
  Status write(std::string_view bytes);
  // Ends the stream (also done by the destructor).
  void close();

  uint64_t dropped() const { return dropped_; }
  const std::string& label() const { return label_; }

 private:
  static void on_stream(virStreamPtr st, int events, void* opaque);
  void receive(virStreamPtr st, int events);
  void end_with(Status why);
  void wake();

  virStreamPtr stream_ = nullptr;
  int wake_[2] = {-1, -1};
  std::string label_;  // "the serial console of domain 'x'"

  std::mutex mutex_;
  std::string pending_;
  bool ended_ = false;
  Status end_status_;
  uint64_t dropped_ = 0;

  bool loop_held_ = false;  // this console keeps libvirt's event loop thread running
};

}  // namespace vredir
