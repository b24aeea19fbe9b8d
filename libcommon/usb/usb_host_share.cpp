#include "usb/usb_host_share.hpp"

#include <fcntl.h>
#include <libusb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <usbredirhost.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

namespace vredir {

namespace {

UsbHostShare* share_of(void* priv) { return static_cast<UsbHostShare*>(priv); }

void log_cb(void*, int, const char*) {}

int read_cb(void* priv, uint8_t* data, int count) {
  ssize_t n = ::recv(share_of(priv)->host_fd(), data, size_t(count), MSG_DONTWAIT);
  if (n > 0) return int(n);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  return -1;  // the relay closed its end
}

int write_cb(void* priv, uint8_t* data, int count) {
  // Blocking: the relay always reads its end.
  ssize_t n = ::send(share_of(priv)->host_fd(), data, size_t(count), MSG_NOSIGNAL);
  if (n >= 0) return int(n);
  return errno == EINTR ? 0 : -1;
}

void flush_cb(void* priv) { share_of(priv)->wake(); }

void* alloc_lock() { return new std::mutex; }
void lock(void* m) { static_cast<std::mutex*>(m)->lock(); }
void unlock(void* m) { static_cast<std::mutex*>(m)->unlock(); }
void free_lock(void* m) { delete static_cast<std::mutex*>(m); }

}  // namespace

UsbHostShare::~UsbHostShare() { close(); }

void UsbHostShare::wake() const {
  if (wake_[1] >= 0) {
    char c = 1;
    (void)!::write(wake_[1], &c, 1);
  }
}

Status UsbHostShare::open(const UsbDeviceEntry& dev, int* fd) {
  const std::string name = std::to_string(dev.bus) + "-" + std::to_string(dev.address);
  if (libusb_init(&ctx_) != 0) return fail(kExitFailure, "libusb cannot start (no USB bus on this machine?)");
  libusb_device** list = nullptr;
  ssize_t n = libusb_get_device_list(ctx_, &list);
  libusb_device_handle* handle = nullptr;
  int rc = LIBUSB_ERROR_NO_DEVICE;
  for (ssize_t i = 0; i < n; ++i)
    if (libusb_get_bus_number(list[i]) == dev.bus && libusb_get_device_address(list[i]) == dev.address)
      rc = libusb_open(list[i], &handle);
  if (list) libusb_free_device_list(list, 1);
  if (rc != 0)
    return fail(rc == LIBUSB_ERROR_ACCESS ? kExitDenied : kExitNotFound,
                "cannot open USB device " + name + ": " + libusb_strerror(libusb_error(rc)) +
                    (rc == LIBUSB_ERROR_ACCESS ? " (needs write access to /dev/bus/usb; run as root or add a udev rule)"
                                               : ""));
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || ::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    libusb_close(handle);
    return fail(kExitFailure, std::string("socketpair: ") + std::strerror(errno));
  }
  host_fd_ = sv[0];
  our_fd_ = sv[1];
  host_ = usbredirhost_open_full(ctx_, handle, log_cb, read_cb, write_cb, flush_cb, alloc_lock, lock, unlock,
                                 free_lock, this, "vredir redir-usb " VREDIR_VERSION, 0, 0);
  if (!host_) return fail(kExitFailure, "usbredirhost could not take USB device " + name + " (claimed by a driver?)");
  events_ = std::thread([this] {
    timeval tv{0, 100000};
    while (!stop_) libusb_handle_events_timeout(ctx_, &tv);
  });
  socket_ = std::thread([this] { serve_socket(); });
  *fd = our_fd_;
  return Status::ok();
}

void UsbHostShare::serve_socket() {
  while (!stop_) {
    pollfd pf[2] = {{host_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (::poll(pf, 2, 200) < 0 && errno != EINTR) break;
    if (pf[1].revents & POLLIN) {
      char b[64];
      while (::read(wake_[0], b, sizeof(b)) > 0) {
      }
    }
    if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      int r = usbredirhost_read_guest_data(host_);
      if (r == usbredirhost_read_io_error || r == usbredirhost_read_device_lost) break;
      if (r == usbredirhost_read_device_rejected) usbredirhost_set_device(host_, nullptr);
    }
    if (usbredirhost_has_data_to_write(host_) && usbredirhost_write_guest_data(host_) != 0) break;
  }
  // Tell the relay: its end reads EOF.
  ::shutdown(host_fd_, SHUT_RDWR);
}

void UsbHostShare::close() {
  stop_ = true;
  if (socket_.joinable()) socket_.join();
  if (host_) usbredirhost_close(host_);  // gives the device back to the host's drivers
  host_ = nullptr;
  if (events_.joinable()) events_.join();
  for (int* f : {&host_fd_, &our_fd_, &wake_[0], &wake_[1]})
    if (*f >= 0) {
      ::close(*f);
      *f = -1;
    }
  if (ctx_) libusb_exit(ctx_);
  ctx_ = nullptr;
}

}  // namespace vredir
