// Domain lifecycle: start, shutdown (ACPI), reboot, reset, poweroff, suspend,
// resume, with optional waits for the resulting state. Acting on a domain that
// is already in the target state succeeds with a note on stderr.
#pragma once

#include <optional>
#include <string_view>

#include "virt/hypervisor.hpp"

namespace vredir {

enum class PowerAction { kStart, kShutdown, kReboot, kReset, kPoweroff, kSuspend, kResume };

std::optional<PowerAction> parse_power_action(std::string_view name);
const char* power_action_name(PowerAction action);

struct PowerOptions {
  bool wait = false;
  double timeout_s = 60;
  bool force = false;  // shutdown: power off when the guest has not stopped in time
};

Status run_power_action(const Connection& conn, const Domain& domain, PowerAction action,
                        const PowerOptions& options);

// Polls the state every 150 ms until it is target. Gives kExitTimeout after
// timeout_s and kExitInterrupted on SIGINT/SIGTERM; notes progress every 5 s.
// A transient domain that disappears counts as shutoff.
Status wait_for_state(const Domain& domain, DomainState target, double timeout_s);

}  // namespace vredir
