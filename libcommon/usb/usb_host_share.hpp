// A local USB device shared through usbredirhost: the device is claimed
// from the host's drivers, and usbredirhost speaks the device side of
// usbredir for it on one end of a socketpair, served by two threads (one
// for libusb's events, one for the socket). The other end, returned by
// open(), is then exactly like a unix: endpoint, so the rest of redir-usb
// never knows which kind of device it relays.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "usb/usb_devices.hpp"
#include "wire/status.hpp"

struct libusb_context;
struct usbredirhost;

namespace vredir {

class UsbHostShare {
 public:
  UsbHostShare() = default;
  ~UsbHostShare();
  UsbHostShare(const UsbHostShare&) = delete;
  UsbHostShare& operator=(const UsbHostShare&) = delete;

  // Opens the device at dev's bus and address and starts usbredirhost on
  // it. *fd: our end of the socketpair (closed by the destructor).
  Status open(const UsbDeviceEntry& dev, int* fd);
  // Gives the device back to the host and stops the threads.
  void close();

  // Used by usbredirhost's callbacks.
  int host_fd() const { return host_fd_; }
  void wake() const;

 private:
  void serve_socket();

  libusb_context* ctx_ = nullptr;
  usbredirhost* host_ = nullptr;
  int host_fd_ = -1, our_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::thread events_, socket_;
};

}  // namespace vredir
