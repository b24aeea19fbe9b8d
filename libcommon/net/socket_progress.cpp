#include "net/socket_progress.hpp"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstddef>

namespace vredir {

bool socket_progress(int fd, SocketProgress* out) {
  *out = SocketProgress{};
  int queued = 0;
  if (::ioctl(fd, SIOCOUTQ, &queued) != 0) return false;
  out->queued = queued > 0 ? static_cast<uint64_t>(queued) : 0;
  // <linux/tcp.h>'s tcp_info has tcpi_bytes_acked; glibc's copy does not.
  struct tcp_info info {};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
      len >= offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked) {
    out->tcp = true;
    out->acked = info.tcpi_bytes_acked;
  }
  return true;
}

}  // namespace vredir
