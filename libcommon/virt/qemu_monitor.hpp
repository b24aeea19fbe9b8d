// QMP commands through libvirt's QEMU monitor passthrough, for what the
// libvirt API has no call for (input events, virtio queue and status
// queries, screendump into a passed file). libvirt marks a domain that was
// sent such commands "custom-monitor" in its log.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "virt/hypervisor.hpp"
#include "wire/status.hpp"

namespace vredir {

// Runs command (a QMP object: {"execute": ..., "arguments": ...}) and gives
// its "return" member. A QMP error becomes kExitFailure with QEMU's
// description. fds (optional) go along with the command (libvirt 8.2 and a
// local connection): add-fd takes them.
Status qmp_command(const Domain& domain, const nlohmann::json& command, nlohmann::json* result,
                   std::span<int> fds = {});

}  // namespace vredir
