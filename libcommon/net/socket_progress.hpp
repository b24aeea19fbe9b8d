// Whether a peer is taking what is written to it. A stalled reader is known
// by what the kernel says about the socket, not by our own queue, which stays
// empty while the kernel's buffers (megabytes on loopback) absorb the stall:
// on TCP the peer's acknowledgements stop once its window is full, so the
// bytes it acknowledged stop growing; on a unix socket our send queue stops
// draining.
#pragma once

#include <cstdint>

namespace vredir {

struct SocketProgress {
  bool tcp = false;
  uint64_t acked = 0;   // TCP: bytes the peer acknowledged since the connection began
  uint64_t queued = 0;  // bytes written and not yet taken by the peer (SIOCOUTQ)
};

// False when the socket cannot say (not a socket).
bool socket_progress(int fd, SocketProgress* out);

}  // namespace vredir
