// redir-capture --via SOCKET: the CI flags (--snapshot, --text, --until-*,
// --needle-new) sent to a capture that keeps running with --control SOCKET,
// so that a rig pays no start-up (process, libvirt, VNC) per step. Output
// and exit status are those of the same flags given with a DOMAIN.
#pragma once

#include <string>

#include "control_protocol.hpp"
#include "wire/status.hpp"

namespace vredir {

// Relative paths in the request are made absolute first (the capture runs
// elsewhere). The socket may not exist yet: it is waited for up to
// connect_timeout_s.
Status run_control_client(const std::string& socket, ControlRequest request, bool json, double connect_timeout_s);

}  // namespace vredir
