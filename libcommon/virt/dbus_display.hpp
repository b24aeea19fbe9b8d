// The guest's hardware cursor, the heads beyond the first, and a fast way in
// for key events, through QEMU's D-Bus display (<graphics type='dbus'/>,
// QEMU 7.0+).
//
// The display is reached one of two ways. Without p2p, libvirt starts a
// dbus-daemon for the domain and names its address in the running domain's
// XML: any number of clients join that bus (checked to be the domain's by
// the UUID QEMU publishes). With p2p='yes', libvirt hands over a
// peer-to-peer connection (virDomainOpenGraphicsFD), and QEMU 7.2 serves one
// such client at a time: the next to connect takes QEMU's objects, the
// previous connection is closed and a listener registered through it goes
// with it (ui/dbus.c sets the object manager's one connection). So on a
// peer-to-peer display the cursor watch is the only default client, and key
// events take it only when asked (virt/virtio_keyboard.hpp).
//
// QEMU's VNC server sends cursor shapes but never positions (QEMU 7.2's
// vnc_mouse_set does nothing), so the cursor channel takes positions from
// the D-Bus display: we register a listener on
// /org/qemu/Display1/Console_N over a second, private socket, and QEMU calls
// its MouseSet method whenever the guest moves or hides its cursor
// (virtio-gpu cursor queue). Pixels and cursor shapes keep coming through
// VNC; the Scanout, Update and CursorDefine calls the listener also receives
// are answered and dropped at once, so QEMU never queues for us.
//
// libvirt's VNC server shows one head, the first. A head beyond it (a
// virtio-gpu with heads='2' is one QEMU console per head) is taken from the
// same listener on its own console, with pixels: Scanout and Update are
// checked (virt/dbus_scanout.hpp) and applied to the head's picture, and the
// changed rectangles wait in take().
//
// A background thread owns both D-Bus connections. The capture loop polls
// wake_fd() next to its VNC socket and drains take().
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rfb/rfb_encodings.hpp"
#include "wire/status.hpp"

namespace vredir {

class Domain;
struct DomainDevices;
struct DbusDisplayConn;  // a connection to the display, bus or peer-to-peer

struct DbusCursorPos {
  int32_t x = 0, y = 0;  // hotspot position in the console's pixels
  bool visible = false;
};

// What arrived since the last take(): the positions in order (the oldest
// are dropped if hundreds pile up between two calls).
struct DbusConsoleEvents {
  std::vector<DbusCursorPos> positions;
  // With pixels: the picture has a new size (all of it is new), and the
  // rectangles changed since (merged to their bounding box beyond 64).
  bool resized = false;
  std::vector<rfb::PixelRect> damage;
  std::string error;    // the first bad Scanout or Update, dropped
  bool closed = false;  // QEMU dropped the connection
};

class DbusConsoleWatch {
 public:
  ~DbusConsoleWatch();

  // Registers a listener on console `console` through conn. Fails with a
  // one-line reason. With pixels, the console's picture is kept, and open
  // returns once QEMU has sent it (or timeout_ms has passed).
  static Status open(DbusDisplayConn&& conn, int console, int timeout_ms, std::unique_ptr<DbusConsoleWatch>* out,
                     bool pixels = false);

  // Readable while events wait in take().
  int wake_fd() const { return wake_[0]; }
  DbusConsoleEvents take();
  // With pixels: calls fn with the picture, which does not change meanwhile
  // (empty, 0x0, until QEMU's first Scanout).
  template <typename Fn>
  void with_picture(Fn&& fn) {
    std::lock_guard lock(mu_);
    fn(static_cast<const rfb::Framebuffer&>(picture_));
  }

  struct Impl;

 private:
  DbusConsoleWatch() = default;
  void run();

  std::unique_ptr<Impl> impl_;
  int wake_[2] = {-1, -1};  // pipe: thread -> capture loop
  int stop_[2] = {-1, -1};  // pipe: destructor -> thread
  std::mutex mu_;
  DbusConsoleEvents pending_;
  bool pixels_ = false;
  rfb::Framebuffer picture_;  // with pixels, guarded by mu_
  std::thread thread_;

  friend struct DbusConsoleWatchAccess;
};

// The domain's D-Bus display, if it has one: opens it and starts the watch
// on console `display`. Returns ok with *out empty (and a
// reason in *why) when the domain has no such display.
Status open_domain_cursor_watch(const Domain& domain, const DomainDevices& devices, int display,
                                std::unique_ptr<DbusConsoleWatch>* out, std::string* why);

// The pixels of head `head` (its QEMU console) through the domain's D-Bus
// display. Ok with *out empty and the reason in *why when the domain has no
// D-Bus display that several clients can share (a peer-to-peer one would be
// taken from the cursor watch).
Status open_domain_head_watch(const Domain& domain, const DomainDevices& devices, int head,
                              std::unique_ptr<DbusConsoleWatch>* out, std::string* why);

// Key events through the D-Bus display's org.qemu.Display1.Keyboard
// interface (Press and Release with QEMU key numbers). QEMU hands them to the
// same keyboard that QMP input-send-event reaches (the one the guest last
// activated), without its keyboard queue's delay; unlike the QMP monitor,
// which reads each command a byte at a time (about 9 us a byte here, 0.6 ms a
// key event), D-Bus messages are read in bulk, and the calls of one batch are
// all in flight before the first answer is awaited. It only sends: pacing on
// the guest's buffers stays with virt/virtio_keyboard.hpp.
class DbusKeyboard {
 public:
  ~DbusKeyboard();
  static Status open(DbusDisplayConn&& conn, int console, std::unique_ptr<DbusKeyboard>* out);
  // Sends (QEMU key number, down) pairs in order; returns when QEMU has
  // answered every call.
  Status send(const std::vector<std::pair<uint16_t, bool>>& events, int timeout_ms);

  struct Impl;

 private:
  DbusKeyboard() = default;
  std::unique_ptr<Impl> impl_;
};

// The domain's D-Bus display keyboard: ok with *out empty (and the reason
// in *why) when the domain has no D-Bus display, or when shared_only and its
// display is peer-to-peer.
Status open_domain_dbus_keyboard(const Domain& domain, const DomainDevices& devices, bool shared_only,
                                 std::unique_ptr<DbusKeyboard>* out, std::string* why, int console = 0);

}  // namespace vredir
