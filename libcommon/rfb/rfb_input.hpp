// Lossless, ordered input into a VM through QEMU's VNC server.
//
// What QEMU 7.2 does with VNC input, and why the pacing below looks like it
// does (ui/vnc.c, ui/kbd-state.c, ui/input.c, hw/input/ps2.c, hw/input/hid.c):
//  - A key event (RFB KeyEvent, or the QEMU extended key event carrying the
//    scancode) goes through the display's key state and then into the global
//    keyboard queue of ui/input.c, which releases one key event per
//    "key-delay-ms" (10 ms unless the -vnc option says otherwise; libvirt does
//    not set it) of virtual time. The queue holds at most 1024 entries (each
//    key event costs three: event, sync, delay); beyond that QEMU silently
//    drops key events. Paced that way, the PS/2 keyboard's own 16-byte queue
//    (hw/input/ps2.c, PS2_QUEUE_SIZE, also dropping when full) sees at most one
//    key (1 to 6 bytes) per 10 ms and cannot overflow while the guest runs.
//  - Pointer events bypass that queue and reach the USB tablet at once; its
//    HID queue holds 16 reports until the guest polls them.
//  - Client messages are handled in order, and SetEncodings naming the QEMU
//    extended key event is answered at once by an acknowledgement pseudo-rect:
//    that answer proves every message sent before it has been handled.
// So: events go out in batches, each closed by such a ping and confirmed by
// its answer; key events are paced a little slower than QEMU releases them,
// with a small window of events allowed ahead, so QEMU's queue stays short
// and never reaches its limit; a pointer event waits until the modelled key
// queue has drained (and keys wait for pointer events), which keeps the order
// across the two devices. Acknowledgements are given once an event has been
// confirmed and its modelled release time has passed.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "sys/signals.hpp"
#include "input/keymap.hpp"
#include "rfb/rfb_client.hpp"
#include "wire/status.hpp"

namespace vredir::rfb {

constexpr uint8_t kQemuSubExtendedKeyEvent = 0;

// RFB KeyEvent (type 4).
std::string encode_key_event(bool down, uint32_t keysym);
// RFB PointerEvent (type 5): button mask bit 0 left, 1 middle, 2 right,
// 3 wheel up, 4 wheel down.
std::string encode_pointer_event(uint8_t buttons, uint16_t x, uint16_t y);
// QEMU client message 255, submessage 0: u16 down, u32 keysym, u32 qnum.
std::string encode_qemu_extended_key_event(bool down, uint32_t keysym, uint32_t qnum);

// What the input side needs from a server message.
struct InputReply {
  uint8_t type = 0;
  uint32_t key_event_acks = 0;  // QEMU extended key event acknowledgements
  bool pixel_rects = false;     // a FramebufferUpdate with real rectangles
  bool size_known = false;      // a DesktopSize / ExtendedDesktopSize rect
  uint16_t width = 0, height = 0;
};

// Framing and decoding of the server messages an input client can get: the
// framebuffer update rects it asked for (raw, DesktopSize,
// ExtendedDesktopSize, the QEMU key event ack and LED state) and every other
// message type through frame_server_message().
Frame frame_input_reply(std::span<const uint8_t> buffered, const PixelFormat& format);
Status decode_input_reply(std::span<const uint8_t> message, const PixelFormat& format, InputReply* out);

}  // namespace vredir::rfb

namespace vredir {

// A second path for keys beside the VNC server: a VM's virtio keyboard
// (virt/virtio_keyboard.hpp). send() delivers at most max_batch() key events
// as one batch and returns once the guest has them.
class KeyBatchPath {
 public:
  virtual ~KeyBatchPath() = default;
  virtual Status send(std::span<const KeyPress> keys, int timeout_ms) = 0;
  virtual int max_batch() const = 0;
};

// Relative pointer motion goes around the VNC server, whose pointer events
// are absolute (they reach the tablet): virt/relative_mouse.hpp sends it to
// the guest's relative mouse. buttons is the PointerButton mask held.
class RelMotionPath {
 public:
  virtual ~RelMotionPath() = default;
  virtual Status move(int32_t dx, int32_t dy, uint8_t buttons) = 0;
};

// Absolute pointer events around the VNC server, to a tablet of the run's
// own (virt/relative_mouse.hpp SeatTablet: a seat's tablet, bound to its
// head, whose surface the VNC server does not show). x, y are pixels of a
// width x height surface; buttons is the PointerButton mask held.
class AbsPointerPath {
 public:
  virtual ~AbsPointerPath() = default;
  virtual Status move(uint32_t x, uint32_t y, uint32_t width, uint32_t height, uint8_t buttons) = 0;
};

using InputClock = std::chrono::steady_clock;

// A VNC connection used for input only: it never asks for pixels.
class VncInput {
 public:
  explicit VncInput(int fd) : fd_(fd) {}  // takes ownership of fd
  ~VncInput();
  VncInput(const VncInput&) = delete;
  VncInput& operator=(const VncInput&) = delete;

  // Handshake (security None; shared), then the encodings. Finds out whether
  // the server takes scancodes (QEMU extended key event).
  Status open(int timeout_ms);
  bool scancodes() const { return scancodes_; }
  uint16_t width() const { return width_; }
  uint16_t height() const { return height_; }
  const std::string& server_name() const { return init_.name; }

  void queue_key(const KeyPress& key);
  void queue_pointer(uint16_t x, uint16_t y, uint8_t buttons);
  // Sends what is queued and a ping; returns once the server has answered
  // the ping, i.e. has handled everything sent before it.
  Status round_trip(int timeout_ms);
  // Reads whatever the server sends (size changes) for up to timeout_ms.
  Status idle(int timeout_ms);

 private:
  Status read_exact(size_t n, std::vector<uint8_t>* out, int timeout_ms);
  Status fill(int timeout_ms);
  Status drain_messages();
  Status send(std::string_view bytes);
  std::string ping_message() const;

  int fd_ = -1;
  rfb::ServerInit init_;
  std::vector<uint8_t> in_;
  size_t consumed_ = 0;
  std::string out_;
  bool scancodes_ = false;
  uint64_t pongs_ = 0;
  uint16_t width_ = 0, height_ = 0;
};

struct Pacing {
  // Gap between key events handed to QEMU; a little over its default
  // key-delay-ms of 10 so that its queue drains faster than it fills.
  std::chrono::microseconds key_interval{11000};
  // Through a virtio keyboard: the least time per key event. Batches are
  // paced by the event buffers the guest has posted (each waits until every
  // event has its buffers, and the used index confirms it), but the buffers
  // come back once the guest kernel has the events, before a program has
  // read them, and Linux keeps only 64 events per evdev reader. Through the
  // D-Bus display the buffers alone allowed 2,800 key events/s, and the test
  // guest's real-time evdev reader then lost events (SYN_DROPPED) in two runs
  // of three; at this floor (about 1,400 events/s) it lost none.
  // --key-interval sets another floor.
  std::chrono::microseconds virtio_key_interval{700};
  // The first key events of a run go at least this far apart: a guest that
  // sat idle has been seen to stall its reader at the first keys.
  std::chrono::microseconds virtio_warmup_interval{4000};
  int virtio_warmup_events = 64;
  int key_window = 6;  // key events allowed ahead of QEMU's release
  std::chrono::microseconds pointer_interval{8000};
  int pointer_window = 2;
  // Relative motion reaches the guest through another device (QEMU's PS/2
  // or virtio mouse) than the VNC pointer and keys, with its own latency:
  // events on the other routes wait this long per PS/2 packet (127 units)
  // after it, so the guest sees them in order. Without the wait the tablet's
  // next report overtook a PS/2 packet in one run of four.
  std::chrono::microseconds rel_interval{20000};
  int reply_timeout_ms = 15000;
};

struct AckTag {
  bool wanted = false;
  uint16_t channel = 0;
  uint64_t seq = 0;
  bool failed = false;
};

// Orders, paces and confirms input events; calls on_ack for each tagged
// event once it is delivered.
class InputDelivery {
 public:
  using AckSink = std::function<Status(const AckTag&)>;
  InputDelivery(VncInput& vnc, Pacing pacing, AckSink on_ack)
      : vnc_(vnc), pacing_(pacing), on_ack_(std::move(on_ack)) {}

  Status key(const KeyPress& key, const AckTag& tag = {});
  // Surface pixels; clamped to the current surface (the VNC server's, or
  // the one given to use_abs_pointer).
  Status pointer(int64_t x, int64_t y, uint8_t buttons, const AckTag& tag = {});
  // Relative motion through the path given to use_rel_motion, after
  // everything before it is delivered; kExitFailure without a path.
  Status pointer_rel(int32_t dx, int32_t dy, uint8_t buttons, const AckTag& tag = {});
  bool has_rel_motion() const { return rel_ != nullptr; }
  // An acknowledgement due once everything before it is delivered.
  Status mark(const AckTag& tag);
  // Sends what is pending and waits until t, reading server messages.
  Status wait_until(InputClock::time_point t);
  // Releases keys and buttons still held (a stream that stopped midway).
  Status release_all();
  // Sends everything, waits until all of it is delivered, gives the acks.
  Status finish();
  // Sends what is batched (before the caller blocks elsewhere) and gives
  // the acknowledgements now due.
  Status send_pending() { return flush(); }
  // When the next acknowledgement falls due; max() when none waits.
  InputClock::time_point next_ack_due() const {
    return acks_.empty() ? InputClock::time_point::max() : acks_.front().first;
  }

  // Keys go to this virtio keyboard through QEMU's monitor, in batches paced
  // on the guest's buffers, instead of through the VNC server (pointer
  // events still do). The order across the two devices is kept.
  void use_virtio_keyboard(KeyBatchPath* keyboard) { virtio_ = keyboard; }
  void use_rel_motion(RelMotionPath* path) { rel_ = path; }
  // Absolute pointer events go to this path instead of the VNC server, on a
  // surface of width x height pixels (a seat's head); set_abs_surface
  // changes the size (the head's channel declared another).
  void use_abs_pointer(AbsPointerPath* path, uint32_t width, uint32_t height) {
    abs_ = path;
    set_abs_surface(width, height);
  }
  void set_abs_surface(uint32_t width, uint32_t height) {
    abs_w_ = std::min<uint32_t>(width, 65535);
    abs_h_ = std::min<uint32_t>(height, 65535);
  }
  bool has_abs_pointer() const { return abs_ != nullptr; }

  uint16_t surface_width() const { return abs_ ? static_cast<uint16_t>(abs_w_) : vnc_.width(); }
  uint16_t surface_height() const { return abs_ ? static_cast<uint16_t>(abs_h_) : vnc_.height(); }
  int32_t last_x() const { return last_x_; }
  int32_t last_y() const { return last_y_; }
  bool has_position() const { return has_position_; }
  uint8_t buttons() const { return buttons_; }
  uint64_t key_events() const { return key_events_; }
  uint64_t pointer_events() const { return pointer_events_; }

 private:
  enum Device { kKeyboard = 0, kPointer = 1 };
  Status admit(Device d);
  Status flush();
  Status flush_virtio_keys();
  Status give_acks(bool all);
  std::chrono::microseconds interval(Device d) const {
    return d == kKeyboard ? pacing_.key_interval : pacing_.pointer_interval;
  }
  int window(Device d) const { return d == kKeyboard ? pacing_.key_window : pacing_.pointer_window; }

  VncInput& vnc_;
  Pacing pacing_;
  AckSink on_ack_;
  struct Pending {
    Device device;
    AckTag tag;
  };
  std::vector<Pending> batch_;
  KeyBatchPath* virtio_ = nullptr;
  RelMotionPath* rel_ = nullptr;
  AbsPointerPath* abs_ = nullptr;
  uint32_t abs_w_ = 0, abs_h_ = 0;
  std::vector<KeyPress> virtio_keys_;
  std::vector<AckTag> virtio_tags_;
  InputClock::time_point virtio_next_{};
  uint64_t virtio_events_ = 0;  // key events delivered through the virtio keyboard
  InputClock::time_point free_at_[2] = {};
  InputClock::time_point rel_free_at_{};  // the last relative motion is in the guest
  Status wait_for_rel();
  std::deque<std::pair<InputClock::time_point, AckTag>> acks_;
  std::set<uint16_t> held_;
  uint8_t buttons_ = 0;
  int32_t last_x_ = 0, last_y_ = 0;
  bool has_position_ = false;
  bool clamp_warned_ = false;
  bool releasing_ = false;  // release_all() runs even after an interrupt
  bool stop_requested() const { return !releasing_ && interrupted(); }
  uint64_t key_events_ = 0, pointer_events_ = 0;
};

// Connects to "unix:PATH" or "HOST:PORT"; the returned fd is connected.
Status connect_vnc_address(const std::string& address, int* fd);

}  // namespace vredir
