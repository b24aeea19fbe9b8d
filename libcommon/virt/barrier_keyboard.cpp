#include "virt/barrier_keyboard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "sys/log_text.hpp"
#include "virt/qemu_monitor.hpp"
#include "wire/byte_reader.hpp"

namespace vredir {

using json = nlohmann::json;

namespace {

constexpr std::string_view kHello = "Barrier";
// The version the server announces; QEMU refuses anything below 1.6.
constexpr uint16_t kMajor = 1, kMinor = 6;
constexpr std::string_view kObjectPrefix = "vredir-kbd-";

std::string framed(std::string body) {
  std::string out;
  put_u32be(out, static_cast<uint32_t>(body.size()));
  out += body;
  return out;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return {};
    }
    got += static_cast<size_t>(n);
  }
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

// Objects of earlier sessions of this machine whose process is gone (one
// that was killed cannot remove its own).
void remove_stale_objects(const Domain& domain) {
  json result;
  if (!qmp_command(domain, {{"execute", "qom-list"}, {"arguments", {{"path", "/objects"}}}}, &result) ||
      !result.is_array())
    return;
  for (const json& child : result) {
    if (!child.is_object() || !child.contains("name") || !child["name"].is_string()) continue;
    const std::string name = child["name"].get<std::string>();
    if (name.rfind(kObjectPrefix, 0) != 0) continue;
    std::string rest = name.substr(kObjectPrefix.size());
    long pid = std::strtol(rest.c_str(), nullptr, 10);
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
      json ignored;
      (void)qmp_command(domain, {{"execute", "object-del"}, {"arguments", {{"id", name}}}}, &ignored);
      spdlog::debug("barrier keyboard: removed {} left by an ended session", name);
    }
  }
}

}  // namespace

uint16_t barrier_keycode_from_evdev(uint16_t code) {
  // The XFree86 keyboard driver numbered keys by their XT scancode (keys 1
  // to 83 and 86 to 88 are the same in Linux) and the extended ones from
  // 0x59 on; QEMU's table takes them with X's offset of 8.
  uint16_t xt = 0;
  if ((code >= 1 && code <= 83) || (code >= 86 && code <= 88)) {
    xt = code;
  } else {
    switch (code) {
      case 96: xt = 0x64; break;   // KP Enter
      case 97: xt = 0x65; break;   // Right Ctrl
      case 98: xt = 0x68; break;   // KP /
      case 99: xt = 0x67; break;   // SysRq
      case 100: xt = 0x69; break;  // Right Alt
      case 102: xt = 0x59; break;  // Home
      case 103: xt = 0x5a; break;  // Up
      case 104: xt = 0x5b; break;  // Page Up
      case 105: xt = 0x5c; break;  // Left
      case 106: xt = 0x5e; break;  // Right
      case 107: xt = 0x5f; break;  // End
      case 108: xt = 0x60; break;  // Down
      case 109: xt = 0x61; break;  // Page Down
      case 110: xt = 0x62; break;  // Insert
      case 111: xt = 0x63; break;  // Delete
      case 117: xt = 0x76; break;  // KP =
      case 119: xt = 0x66; break;  // Pause
      case 125: xt = 0x6b; break;  // Left Meta
      case 126: xt = 0x6c; break;  // Right Meta
      case 127: xt = 0x6d; break;  // Menu
      default: return 0;
    }
  }
  return static_cast<uint16_t>(xt + 8);
}

bool barrier_can_send(std::span<const KeyPress> keys) {
  for (const KeyPress& k : keys)
    if (barrier_keycode_from_evdev(k.code) == 0) return false;
  return true;
}

std::string barrier_hello() {
  std::string body(kHello);
  put_u16be(body, kMajor);
  put_u16be(body, kMinor);
  return framed(std::move(body));
}

std::string barrier_key_message(uint16_t keycode, bool down) {
  std::string body = down ? "DKDN" : "DKUP";
  put_u16be(body, 0);  // key id: unused when the button (key code) is given
  put_u16be(body, 0);  // modifier mask: QEMU ignores it; modifiers are keys of their own
  put_u16be(body, keycode);
  return framed(std::move(body));
}

std::string barrier_keep_alive() { return framed("CALV"); }

Status parse_barrier_reply(std::span<const uint8_t> body, BarrierReply* out) {
  *out = BarrierReply{};
  ByteReader r(body);
  if (body.size() >= kHello.size() && std::memcmp(body.data(), kHello.data(), kHello.size()) == 0) {
    r.skip(kHello.size());
    out->kind = BarrierReply::kHelloBack;
    out->major = r.u16be();
    out->minor = r.u16be();
    uint32_t len = r.u32be();
    if (!r.ok()) return fail(kExitFailure, "barrier greeting too short");
    if (len > 255) return fail(kExitFailure, "barrier screen name of " + std::to_string(len) + " bytes");
    std::string_view name = r.str(len);
    if (!r.ok()) return fail(kExitFailure, "barrier screen name cut short");
    out->name.assign(name);
    return Status::ok();
  }
  std::string_view cmd = r.str(4);
  if (!r.ok()) return fail(kExitFailure, "barrier message of " + std::to_string(body.size()) + " bytes");
  if (cmd == "CALV") {
    out->kind = BarrierReply::kKeepAlive;
    return Status::ok();
  }
  out->kind = BarrierReply::kOther;
  out->command = log_quote(cmd);
  return Status::ok();
}

Status BarrierFramer::next(std::string* body, bool* have) {
  *have = false;
  if (buf_.size() < 4) return Status::ok();
  ByteReader r(reinterpret_cast<const uint8_t*>(buf_.data()), buf_.size());
  uint32_t len = r.u32be();
  if (len == 0 || len > kBarrierMaxMessage)
    return fail(kExitFailure, "barrier message length " + std::to_string(len) + " (at most " +
                                  std::to_string(kBarrierMaxMessage) + ")");
  if (buf_.size() - 4 < len) return Status::ok();
  body->assign(buf_, 4, len);
  buf_.erase(0, 4 + static_cast<size_t>(len));
  *have = true;
  return Status::ok();
}

Status BarrierKeyboard::open(const Domain& domain, std::unique_ptr<BarrierKeyboard>* out, std::string* why) {
  out->reset();
  if (!uri_is_local(domain.uri())) {
    *why = "libvirt is remote (" + domain.uri() + "), so its QEMU cannot reach this process's loopback";
    return Status::ok();
  }
  std::unique_ptr<BarrierKeyboard> kb(new BarrierKeyboard());
  kb->dom_ = domain.share();
  const std::string token = random_hex(16);
  if (token.empty()) {
    *why = "no random bytes for the screen name";
    return Status::ok();
  }
  remove_stale_objects(kb->dom_);

  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) return fail(kExitFailure, std::string("barrier listener: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } lclose{lfd};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof(addr);
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(lfd, 4) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0)
    return fail(kExitFailure, std::string("barrier listener: ") + std::strerror(errno));
  const int port = ntohs(addr.sin_port);

  kb->object_id_ = std::string(kObjectPrefix) + std::to_string(::getpid()) + "-" + token.substr(0, 8);
  json result;
  // QEMU connects while it handles object-add (the listener's backlog takes
  // the connection), so a refusal comes back as the command's error.
  Status st = qmp_command(kb->dom_,
                          {{"execute", "object-add"},
                           {"arguments",
                            {{"qom-type", "input-barrier"},
                             {"id", kb->object_id_},
                             {"name", "vredir-" + token},
                             {"server", "127.0.0.1"},
                             {"port", std::to_string(port)}}}},
                          &result);
  if (!st) {
    *why = "QEMU did not add its Barrier client: " + st.message();
    kb->object_id_.clear();
    return Status::ok();
  }

  std::unique_ptr<BarrierKeyboard> client;
  if (Status ac = accept_client(lfd, "vredir-" + token, 5000, &client, why); !ac || !client)
    return ac;  // the destructor removes the object
  client->dom_ = std::move(kb->dom_);
  client->object_id_ = std::move(kb->object_id_);
  kb->object_id_.clear();
  kb = std::move(client);
  spdlog::debug("barrier keyboard: QEMU's Barrier client {} is connected on port {}", kb->object_id_, port);
  *out = std::move(kb);
  return Status::ok();
}

Status BarrierKeyboard::accept_client(int listen_fd, const std::string& screen_name, int timeout_ms,
                                      std::unique_ptr<BarrierKeyboard>* out, std::string* why) {
  out->reset();
  std::unique_ptr<BarrierKeyboard> kb(new BarrierKeyboard());
  // Accept until the connection that names the token answers the greeting.
  // QEMU answers at once; a connection gets at most a second, so a silent
  // one holds the route up for that long, not for the whole wait.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    pollfd p{listen_fd, POLLIN, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *why = "QEMU's Barrier client did not connect";
      return Status::ok();
    }
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    kb->fd_ = fd;
    kb->framer_ = BarrierFramer();
    int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int budget = std::min(remaining_ms(deadline), kHandshakeMs);
    BarrierReply reply;
    Status hs = kb->write_all(barrier_hello(), budget);
    if (hs) hs = kb->read_reply(&reply, budget);
    if (hs && reply.kind == BarrierReply::kHelloBack && reply.name == screen_name) break;
    spdlog::warn("barrier keyboard: a loopback connection that is not QEMU's ({}) was closed",
                 hs ? "screen name " + log_quote(reply.name) : hs.message());
    ::close(fd);
    kb->fd_ = -1;
  }
  *out = std::move(kb);
  return Status::ok();
}

BarrierKeyboard::~BarrierKeyboard() {
  // The object first: QEMU then closes its end itself, instead of reading an
  // end of file as one more message.
  if (!object_id_.empty()) {
    json ignored;
    if (Status st = qmp_command(dom_, {{"execute", "object-del"}, {"arguments", {{"id", object_id_}}}}, &ignored);
        !st)
      spdlog::debug("barrier keyboard: removing {}: {}", object_id_, st.message());
  }
  if (fd_ >= 0) ::close(fd_);
}

Status BarrierKeyboard::write_all(const std::string& bytes, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return fail(kExitFailure, std::string("QEMU's Barrier client: ") + std::strerror(errno));
    pollfd p{fd_, POLLOUT, 0};
    int left = remaining_ms(deadline);
    if (left == 0) return fail(kExitTimeout, "QEMU's Barrier client takes no key events");
    (void)::poll(&p, 1, left);
  }
  return Status::ok();
}

Status BarrierKeyboard::read_reply(BarrierReply* reply, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    std::string body;
    bool have = false;
    if (Status st = framer_.next(&body, &have); !st) return st;
    if (have) return parse_barrier_reply({reinterpret_cast<const uint8_t*>(body.data()), body.size()}, reply);
    pollfd p{fd_, POLLIN, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(kExitTimeout, "QEMU's Barrier client did not answer");
    uint8_t buf[2048];
    ssize_t got = ::recv(fd_, buf, sizeof(buf), 0);
    if (got == 0) return fail(kExitFailure, "QEMU's Barrier client closed its connection");
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return fail(kExitFailure, std::string("QEMU's Barrier client: ") + std::strerror(errno));
    }
    framer_.feed({buf, static_cast<size_t>(got)});
  }
}

Status BarrierKeyboard::send(std::span<const KeyPress> keys, int timeout_ms) {
  if (fd_ < 0) return fail(kExitFailure, "QEMU's Barrier client is not connected");
  std::string out;
  for (const KeyPress& k : keys) {
    uint16_t code = barrier_keycode_from_evdev(k.code);
    if (code == 0) return fail(kExitFailure, "key code " + std::to_string(k.code) + " has no Barrier key code");
    out += barrier_key_message(code, k.down);
  }
  out += barrier_keep_alive();
  if (Status st = write_all(out, timeout_ms); !st) return st;
  // Unknown commands are answered with EUNK; nothing else comes unasked.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    BarrierReply reply;
    if (Status st = read_reply(&reply, remaining_ms(deadline)); !st) return st;
    if (reply.kind == BarrierReply::kKeepAlive) return Status::ok();
    spdlog::debug("barrier keyboard: QEMU sent {}", reply.kind == BarrierReply::kOther ? reply.command : "a greeting");
  }
}

}  // namespace vredir
