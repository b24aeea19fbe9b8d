#include "virt/domain_power.hpp"

#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "sys/signals.hpp"
#include "virt/domain_events.hpp"

namespace vredir {

namespace {

using Clock = std::chrono::steady_clock;

// The last libvirt call failed because the requested method (ACPI) is not
// available for this domain, not because the domain refused.
bool method_unavailable() {
  virErrorPtr err = virGetLastError();
  int code = err ? err->code : VIR_ERR_OK;
  return code == VIR_ERR_OPERATION_INVALID || code == VIR_ERR_OPERATION_UNSUPPORTED ||
         code == VIR_ERR_CONFIG_UNSUPPORTED || code == VIR_ERR_ARGUMENT_UNSUPPORTED;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

Status read_state(const Domain& d, DomainState* state) {
  Status st = d.state(state);
  if (!st && st.code() == kExitNotFound) {
    *state = DomainState::kShutoff;  // a transient domain is gone once it stops
    return Status::ok();
  }
  return st;
}

Status not_running(const Domain& d, DomainState s, const char* action) {
  std::string hint = s == DomainState::kPaused ? " (try: vm-power resume " + d.name() + ")"
                                               : " (try: vm-power start " + d.name() + ")";
  return fail(kExitFailure, "cannot " + std::string(action) + " '" + d.name() + "': it is " + state_name(s) + hint);
}

// Waits for a reboot event from libvirt: the guest (ACPI or agent) restarted.
Status wait_for_reboot(EventWatch& watch, const Domain& d, double timeout_s) {
  auto start = Clock::now();
  auto next_note = start + std::chrono::seconds(5);
  for (;;) {
    if (interrupted()) return fail(kExitInterrupted, "interrupted while waiting for '" + d.name() + "' to reboot");
    Status st = watch.run(150);
    if (!st) return st;
    while (watch.has_event()) {
      LifecycleEvent ev = watch.take();
      if (ev.event == "rebooted") return Status::ok();
      if (ev.event == "stopped" || ev.event == "crashed")
        return fail(kExitFailure, "'" + d.name() + "' " + ev.event + " (" + ev.detail + ") instead of rebooting");
    }
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed >= timeout_s)
      return fail(kExitTimeout, "'" + d.name() + "' did not reboot within " + seconds_text(timeout_s) +
                                    " (the guest ignored the request: does it handle ACPI or run a guest agent?)");
    if (Clock::now() >= next_note) {
      spdlog::info("waiting for '{}' to reboot ({} s)", d.name(), static_cast<int>(elapsed));
      next_note += std::chrono::seconds(5);
    }
  }
}

Status do_shutdown(const Domain& d, const PowerOptions& o) {
  DomainState s;
  if (Status st = read_state(d, &s); !st) return st;
  if (s == DomainState::kShutoff) {
    spdlog::info("'{}' is already shut off", d.name());
    return Status::ok();
  }
  if (s != DomainState::kRunning && s != DomainState::kShuttingDown) return not_running(d, s, "shut down");
  // ACPI first: it is what a power button does and needs nothing in the guest
  // but ACPI; without ACPI, let the hypervisor pick (guest agent...).
  if (virDomainShutdownFlags(d.get(), VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) < 0 &&
      (!method_unavailable() || virDomainShutdownFlags(d.get(), VIR_DOMAIN_SHUTDOWN_DEFAULT) < 0))
    return libvirt_error("cannot shut down '" + d.name() + "'");
  if (!o.wait && !o.force) return Status::ok();
  Status st = wait_for_state(d, DomainState::kShutoff, o.timeout_s);
  if (st || st.code() != kExitTimeout || !o.force) {
    if (!st && st.code() == kExitTimeout)
      return fail(kExitTimeout, "'" + d.name() + "' did not shut down within " + seconds_text(o.timeout_s) +
                                    " (the guest ignored ACPI; try: --force, or vm-power poweroff " + d.name() + ")");
    return st;
  }
  spdlog::info("'{}' did not shut down within {}; powering off", d.name(), seconds_text(o.timeout_s));
  if (virDomainDestroy(d.get()) < 0) return libvirt_error("cannot power off '" + d.name() + "'");
  return Status::ok();
}

}  // namespace

std::optional<PowerAction> parse_power_action(std::string_view n) {
  if (n == "start") return PowerAction::kStart;
  if (n == "shutdown") return PowerAction::kShutdown;
  if (n == "reboot") return PowerAction::kReboot;
  if (n == "reset") return PowerAction::kReset;
  if (n == "poweroff") return PowerAction::kPoweroff;
  if (n == "suspend") return PowerAction::kSuspend;
  if (n == "resume") return PowerAction::kResume;
  return std::nullopt;
}

const char* power_action_name(PowerAction a) {
  switch (a) {
    case PowerAction::kStart: return "start";
    case PowerAction::kShutdown: return "shutdown";
    case PowerAction::kReboot: return "reboot";
    case PowerAction::kReset: return "reset";
    case PowerAction::kPoweroff: return "poweroff";
    case PowerAction::kSuspend: return "suspend";
    case PowerAction::kResume: return "resume";
  }
  return "?";
}

Status wait_for_state(const Domain& d, DomainState target, double timeout_s) {
  auto start = Clock::now();
  auto next_note = start + std::chrono::seconds(5);
  for (;;) {
    DomainState s;
    if (Status st = read_state(d, &s); !st) return st;
    if (s == target) return Status::ok();
    if (interrupted())
      return fail(kExitInterrupted, "interrupted while waiting for '" + d.name() + "' to reach " + state_name(target));
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed >= timeout_s)
      return fail(kExitTimeout, "'" + d.name() + "' did not reach " + state_name(target) + " within " +
                                    seconds_text(timeout_s) + " (it is " + state_name(s) + ")");
    if (Clock::now() >= next_note) {
      spdlog::info("waiting for '{}' to reach {} ({} s)", d.name(), state_name(target), static_cast<int>(elapsed));
      next_note += std::chrono::seconds(5);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
}

Status run_power_action(const Connection& conn, const Domain& d, PowerAction action, const PowerOptions& o) {
  DomainState s;
  if (Status st = read_state(d, &s); !st) return st;
  const std::string& name = d.name();
  switch (action) {
    case PowerAction::kStart:
      if (s == DomainState::kRunning) {
        spdlog::info("'{}' is already running", name);
        return Status::ok();
      }
      if (s == DomainState::kPaused)
        return fail(kExitFailure, "'" + name + "' is paused, not shut off (try: vm-power resume " + name + ")");
      if (virDomainCreate(d.get()) < 0) {
        // libvirt starts a D-Bus daemon of the domain's own for a D-Bus
        // display and lets QEMU connect to it; on a loaded host QEMU can
        // come before the daemon listens. Once more, then the error.
        const std::string why = last_libvirt_message();
        if (why.find("failed to connect to DBus") == std::string::npos) return libvirt_error("cannot start '" + name + "'");
        spdlog::warn("'{}': QEMU came before the domain's D-Bus daemon listened; starting it again", name);
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        if (virDomainCreate(d.get()) < 0) return libvirt_error("cannot start '" + name + "'");
      }
      return o.wait ? wait_for_state(d, DomainState::kRunning, o.timeout_s) : Status::ok();

    case PowerAction::kShutdown: return do_shutdown(d, o);

    case PowerAction::kReboot: {
      if (s != DomainState::kRunning) return not_running(d, s, "reboot");
      EventWatch watch;
      if (o.wait)
        if (Status st = watch.start(conn, d.get()); !st) return st;
      // ACPI first (libvirt restarts the guest once it powers off), so a guest
      // agent that only knows how to power off cannot turn a reboot into a stop.
      if (virDomainReboot(d.get(), VIR_DOMAIN_REBOOT_ACPI_POWER_BTN) < 0 &&
          (!method_unavailable() || virDomainReboot(d.get(), VIR_DOMAIN_REBOOT_DEFAULT) < 0)) {
        virErrorPtr err = virGetLastError();
        if (err && err->code == VIR_ERR_OPERATION_UNSUPPORTED)
          return fail(kExitFailure, "'" + name + "' cannot reboot itself (" + std::string(err->message) +
                                        "; try: vm-power reset " + name + ")");
        return libvirt_error("cannot reboot '" + name + "'");
      }
      return o.wait ? wait_for_reboot(watch, d, o.timeout_s) : Status::ok();
    }

    case PowerAction::kReset:
      if (s != DomainState::kRunning && s != DomainState::kPaused) return not_running(d, s, "reset");
      if (virDomainReset(d.get(), 0) < 0) return libvirt_error("cannot reset '" + name + "'");
      return Status::ok();

    case PowerAction::kPoweroff:
      if (s == DomainState::kShutoff) {
        spdlog::info("'{}' is already shut off", name);
        return Status::ok();
      }
      if (virDomainDestroy(d.get()) < 0) return libvirt_error("cannot power off '" + name + "'");
      return o.wait ? wait_for_state(d, DomainState::kShutoff, o.timeout_s) : Status::ok();

    case PowerAction::kSuspend:
      if (s == DomainState::kPaused) {
        spdlog::info("'{}' is already paused", name);
        return Status::ok();
      }
      if (s != DomainState::kRunning) return not_running(d, s, "suspend");
      if (virDomainSuspend(d.get()) < 0) return libvirt_error("cannot suspend '" + name + "'");
      return o.wait ? wait_for_state(d, DomainState::kPaused, o.timeout_s) : Status::ok();

    case PowerAction::kResume:
      if (s == DomainState::kRunning) {
        spdlog::info("'{}' is already running", name);
        return Status::ok();
      }
      if (s != DomainState::kPaused) return not_running(d, s, "resume");
      if (virDomainResume(d.get()) < 0) return libvirt_error("cannot resume '" + name + "'");
      return o.wait ? wait_for_state(d, DomainState::kRunning, o.timeout_s) : Status::ok();
  }
  return fail(kExitUsage, "unknown action");
}

}  // namespace vredir
