// Key events into a running QEMU through its Barrier client.
//
// Why: a domain without a D-Bus display takes key events through the QMP
// monitor, which reads each command a byte at a time (about 9 us a byte here,
// 0.6 ms a key event). QEMU also has a client of the Barrier protocol (the
// input-barrier object, ui/input-barrier.c, docs/system/barrier.rst) that
// can be added to a running domain through the monitor: it connects to a
// Barrier server, and every key message it reads goes to the same keyboard
// that QMP input-send-event reaches (the one the guest last activated), with
// no key delay. Its messages are a few bytes each and read whole. So the
// session is the Barrier server: it listens on loopback, adds the object
// pointed at itself, and sends key messages on the connection.
//
// The protocol, as QEMU speaks it: each message is a 32-bit big-endian
// length and a body. The server greets with "Barrier" and a version (QEMU
// wants 1.6 or later); QEMU answers "Barrier", its version and its screen
// name. "DKDN"/"DKUP" with a key id, modifier mask and button press and
// release a key, the button being an XFree86 keyboard-driver key code.
// "CALV" (keep-alive) is answered with "CALV", and QEMU handles one
// connection's messages in order, so the answer confirms that every key
// before it has been handed to the keyboard.
//
// Trust: the listener is on 127.0.0.1 and any local process could connect
// to it. The object's screen name is a random token given to QEMU only
// through the monitor; a connection that does not answer the greeting with
// that name gets no key event and is closed. Everything read from a
// connection goes through the bounds-checked reader, one message of at most
// 1024 bytes (QEMU's own limit) at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "input/keymap.hpp"
#include "virt/hypervisor.hpp"
#include "wire/status.hpp"

namespace vredir {

// The longest message either side sends (QEMU's buffer).
inline constexpr uint32_t kBarrierMaxMessage = 1024;

// The XFree86 keyboard-driver key code of a Linux key code (what QEMU's
// Barrier client maps through its xorgkbd table), or 0 when it has none.
uint16_t barrier_keycode_from_evdev(uint16_t code);
// True when every key has such a code.
bool barrier_can_send(std::span<const KeyPress> keys);

// Framed messages (length included) that the server sends.
std::string barrier_hello();
std::string barrier_key_message(uint16_t keycode, bool down);
std::string barrier_keep_alive();

// One message from QEMU, parsed from its body (the length already taken).
struct BarrierReply {
  enum Kind { kHelloBack, kKeepAlive, kOther } kind = kOther;
  uint16_t major = 0, minor = 0;  // kHelloBack
  std::string name;               // kHelloBack: the screen name, at most 255 bytes
  std::string command;            // kOther: the four-letter command, printable or escaped
};
Status parse_barrier_reply(std::span<const uint8_t> body, BarrierReply* out);

// Splits messages out of the bytes read from a connection. A length of 0 or
// above kBarrierMaxMessage is an error (the connection is then useless).
class BarrierFramer {
 public:
  void feed(std::span<const uint8_t> bytes) { buf_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }
  // ok and *have false when no whole message is buffered yet.
  Status next(std::string* body, bool* have);

 private:
  std::string buf_;
};

class BarrierKeyboard {
 public:
  ~BarrierKeyboard();
  BarrierKeyboard(const BarrierKeyboard&) = delete;
  BarrierKeyboard& operator=(const BarrierKeyboard&) = delete;

  // Adds an input-barrier object to the running domain, connected to a
  // loopback listener of this process. ok with *out empty (and the reason in
  // *why) when that cannot work: a remote libvirt connection (QEMU's
  // loopback is not ours), or a QEMU that refuses the object.
  static Status open(const Domain& domain, std::unique_ptr<BarrierKeyboard>* out, std::string* why);

  // The server's side of the handshake, on a listening socket: accepts
  // connections until one answers the greeting with screen_name (each gets
  // at most a second) and returns it as a keyboard not tied to a domain.
  // ok with *out empty and *why set when none did within timeout_ms.
  static Status accept_client(int listen_fd, const std::string& screen_name, int timeout_ms,
                              std::unique_ptr<BarrierKeyboard>* out, std::string* why);

  // Sends the keys (every one must have a Barrier code, barrier_can_send)
  // and returns when QEMU has handed them to the keyboard.
  Status send(std::span<const KeyPress> keys, int timeout_ms);

 private:
  BarrierKeyboard() = default;
  static constexpr int kHandshakeMs = 1000;
  Status write_all(const std::string& bytes, int timeout_ms);
  Status read_reply(BarrierReply* reply, int timeout_ms);

  Domain dom_;
  std::string object_id_;
  int fd_ = -1;
  BarrierFramer framer_;
};

}  // namespace vredir
