// One datagram on a local socket, with at most one file descriptor beside it
// (SCM_RIGHTS): how redir-mux's listener hands a resuming client's socket to
// the session that takes it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vredir {

// false when the socket would not take it.
bool send_message(int sock, std::string_view msg, int fd = -1);
// One datagram of at most max bytes ("" on error or end); *fd gets the
// descriptor that came with it, close-on-exec (-1: none). Without fd a
// descriptor that came is closed.
std::string receive_message(int sock, int flags, int* fd = nullptr, size_t max = 8192);

}  // namespace vredir
