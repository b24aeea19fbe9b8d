// The relay both sides of redir-usb run: usbredir bytes between a socket
// (the device side for share, QEMU's usb-redir port for attach) and a vredir
// stream (out on one fd, the return path in on another), inside a `bytes`
// channel with purpose `usbredir`. Every fd is polled; what waits to be
// written is bounded (reading stops while the other side is slow), so two
// relays piped into each other never block on each other.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "wire/status.hpp"

namespace vredir {

struct RelayHooks {
  // Bytes from the stream's usbredir channel; append what may go to the
  // socket to *to_socket. Unset: all of it.
  std::function<Status(std::span<const uint8_t>, std::string* to_socket)> from_stream;
  // Bytes from the socket (they go into the stream as they are); may append
  // bytes for the socket (held ones a watch releases). Unset: nothing.
  std::function<Status(std::span<const uint8_t>, std::string* to_socket)> from_socket;
};

struct RelayEnds {
  int socket = -1;     // non-blocking
  int stream_in = 0;   // the return path
  int stream_out = 1;
  std::string producer;     // HELLO's producer, "redir-usb share"
  std::string device;       // the channel's "device" parameter
  std::string socket_name;  // for messages: "the USB device", "QEMU's usb-redir port"
};

enum class RelayEnd { kStreamEnded, kSocketClosed };

// Runs until the stream ends (END, then what waits for the socket is
// written), the socket closes (END is written on the stream), an
// interrupt (exit 130, END written), or an error (END written with the
// reason). *how says which of the first two.
Status run_relay(const RelayEnds& ends, const RelayHooks& hooks, RelayEnd* how);

}  // namespace vredir
