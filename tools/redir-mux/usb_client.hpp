// connect --usb: the client's USB devices. A local DEVICE (VID:PID,
// BUS-ADDR) runs as `redir-usb share DEVICE`, which claims it through
// libusb; a usbredir endpoint (unix:PATH, tcp:HOST:PORT) is connected to
// here and its bytes relayed as they come, with no process between (each
// usbredir packet's round trip bounds a device's throughput). Its usbredir
// goes up on channel kUsbChannelBase + i (a bytes channel, purpose
// usbredir), and what the server's port sends back on that id goes to the
// share's stdin or the endpoint. A device that goes closes its channel (the
// server unplugs it); a share that fails, or an endpoint that cannot be
// reached, ends the session with its message and exit code.
#pragma once

#include <poll.h>

#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "wire/frame_reader.hpp"
#include "wire/status.hpp"
#include "wire/stream_writer.hpp"

namespace vredir::mux {

class UsbShares {
 public:
  UsbShares() = default;
  UsbShares(const UsbShares&) = delete;
  UsbShares& operator=(const UsbShares&) = delete;
  ~UsbShares() { stop(); }

  // Starts a share per device and declares its channel on up.
  Status start(const std::vector<std::string>& devices, stream::StreamWriter* up);
  bool empty() const { return shares_.empty(); }
  // The fds to poll: stdout while up_room, stdin while bytes wait for it.
  void poll_fds(bool up_room, std::vector<pollfd>* fds);
  // Moves what the shares have to up (while up_room) and what waits to their
  // stdin. A failed share: *failed is set (code, message) once. polled: the
  // fds poll_fds added to, after poll; an endpoint is read only when poll
  // saw it readable (nullptr: tried anyway).
  void pump(bool up_room, stream::StreamWriter* up, Status* failed, const std::vector<pollfd>* polled = nullptr);
  // The most bytes waiting for one device (its share's stdin or its
  // endpoint): the client reads no more from the server while it is
  // kMaxUsbQueue or more.
  size_t backlog() const;
  // A frame of the server's stream: its USB channels go to their share.
  void from_server(const stream::Frame& f);
  // Ends each share's return stream and waits for it (then SIGTERM).
  void stop();

 private:
  struct Share {
    std::string device;
    uint16_t id = 0;
    Child child;
    std::string inq;
    stream::StreamWriter w{[this](std::string_view b) {
      inq.append(b);
      return Status::ok();
    }};
    stream::FrameReader frames;
    bool up_closed = false, input_ended = false;
    int sock = -1;        // a usbredir endpoint relayed here (no child)
    std::string sockq;    // the server's bytes for it
    bool sock_shut = false;  // the server closed the channel: no more for it
    int poll_i = -1;         // its entry in the fds poll_fds filled
    bool gone = false;       // its device went: what the server sends for it is dropped
  };
  void pump_endpoint(Share& s, bool up_room, bool readable, stream::StreamWriter* up, Status* failed);
  void finish_share(Share& s, stream::StreamWriter* up, Status* failed, const stream::End* end);
  std::vector<std::unique_ptr<Share>> shares_;
};

}  // namespace vredir::mux
