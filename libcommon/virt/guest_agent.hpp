// The QEMU guest agent, reached through libvirt-qemu's agent passthrough
// (virDomainQemuAgentCommand). Used for logoff, where libvirt has no call.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "virt/hypervisor.hpp"

namespace vredir {

class GuestAgent {
 public:
  explicit GuestAgent(const Domain& domain) : domain_(domain) {}

  // Checks the domain has an agent channel that is not known to be
  // disconnected; fails with a one-line fix otherwise.
  Status check_channel() const;
  // Sends {"execute": command, "arguments": args} and returns the "return" member.
  Status call(const std::string& command, const nlohmann::json& args, nlohmann::json* result,
              int timeout_s = 10) const;
  // guest-exec PATH ARGS, then guest-exec-status until it exits. exit_code gets
  // the program's status.
  Status exec(const std::string& path, const std::vector<std::string>& args, double timeout_s,
              int* exit_code) const;

 private:
  const Domain& domain_;
};

// Ends the graphical session: loginctl terminate-seat seat0 on Linux guests,
// shutdown.exe /l on Windows guests.
Status logoff_session(const Domain& domain, double timeout_s);

}  // namespace vredir
