// The Barrier messages that carry key events into QEMU (virt/barrier_keyboard):
// what the server sends, and what it accepts back from a connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "virt/barrier_keyboard.hpp"
#include "input/keymap.hpp"

using namespace vredir;

namespace {
std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
std::string body_of(const std::string& framed) { return framed.substr(4); }
}  // namespace

TEST_CASE("barrier key codes are the XFree86 driver's, offset by 8", "[barrier_keyboard]") {
  CHECK(barrier_keycode_from_evdev(1) == 9);     // Escape
  CHECK(barrier_keycode_from_evdev(30) == 38);   // A
  CHECK(barrier_keycode_from_evdev(42) == 50);   // left Shift
  CHECK(barrier_keycode_from_evdev(57) == 65);   // space
  CHECK(barrier_keycode_from_evdev(88) == 96);   // F12
  CHECK(barrier_keycode_from_evdev(103) == 98);  // Up: extended keys from 0x59
  CHECK(barrier_keycode_from_evdev(96) == 108);  // KP Enter
  CHECK(barrier_keycode_from_evdev(84) == 0);    // no key
  CHECK(barrier_keycode_from_evdev(113) == 0);   // Mute: not in the driver's table
  // Every key that text needs has one, so typing never falls back.
  std::string printable = "\t\n";
  for (char c = ' '; c <= '~'; ++c) printable += c;
  std::vector<KeyPress> text;
  std::string err;
  REQUIRE(text_to_keys(Layout::kUs, printable, &text, &err));
  CHECK(text.size() > 2 * printable.size());
  CHECK(barrier_can_send(text));
  KeyPress mute{113, true, 0};
  CHECK_FALSE(barrier_can_send(std::span<const KeyPress>(&mute, 1)));
}

TEST_CASE("barrier messages the server sends", "[barrier_keyboard]") {
  CHECK(barrier_hello() == std::string("\0\0\0\x0b" "Barrier\0\x01\0\x06", 15));
  CHECK(barrier_key_message(38, true) == std::string("\0\0\0\x0a" "DKDN\0\0\0\0\0\x26", 14));
  CHECK(barrier_key_message(38, false) == std::string("\0\0\0\x0a" "DKUP\0\0\0\0\0\x26", 14));
  CHECK(barrier_keep_alive() == std::string("\0\0\0\x04" "CALV", 8));
}

TEST_CASE("barrier replies are parsed within bounds", "[barrier_keyboard]") {
  BarrierReply r;
  std::string hello_back("Barrier\0\x01\0\x06\0\0\0\x05vm-01", 20);
  REQUIRE(parse_barrier_reply(bytes(hello_back), &r));
  CHECK(r.kind == BarrierReply::kHelloBack);
  CHECK(r.major == 1);
  CHECK(r.minor == 6);
  CHECK(r.name == "vm-01");
  REQUIRE(parse_barrier_reply(bytes(body_of(barrier_keep_alive())), &r));
  CHECK(r.kind == BarrierReply::kKeepAlive);
  REQUIRE(parse_barrier_reply(bytes(std::string("EUNK")), &r));
  CHECK(r.kind == BarrierReply::kOther);
  CHECK(r.command == "\"EUNK\"");
  // A name longer than it says, or claiming more than is there.
  CHECK_FALSE(parse_barrier_reply(bytes(std::string("Barrier\0\x01\0\x06\0\0\0\x09vm", 17)), &r));
  CHECK_FALSE(parse_barrier_reply(bytes(std::string("Barrier\0\x01\0\x06\xff\xff\xff\xff", 15)), &r));
  CHECK_FALSE(parse_barrier_reply(bytes(std::string("Barrier\0", 8)), &r));
  CHECK_FALSE(parse_barrier_reply(bytes(std::string("CA")), &r));
  // A control byte in a command is escaped for the log.
  REQUIRE(parse_barrier_reply(bytes(std::string("E\nXX")), &r));
  CHECK(r.command.find('\n') == std::string::npos);
}

TEST_CASE("barrier framing takes whole messages and refuses oversized ones", "[barrier_keyboard]") {
  BarrierFramer f;
  std::string all = barrier_keep_alive() + barrier_keep_alive();
  std::string body;
  bool have = true;
  f.feed(bytes(all.substr(0, 6)));
  REQUIRE(f.next(&body, &have));
  CHECK_FALSE(have);
  f.feed(bytes(all.substr(6)));
  REQUIRE(f.next(&body, &have));
  CHECK(have);
  CHECK(body == "CALV");
  REQUIRE(f.next(&body, &have));
  CHECK(have);
  REQUIRE(f.next(&body, &have));
  CHECK_FALSE(have);

  BarrierFramer big;
  big.feed(bytes(std::string("\0\0\x04\x01", 4)));  // 1025 bytes
  CHECK_FALSE(big.next(&body, &have));
  BarrierFramer empty;
  empty.feed(bytes(std::string("\0\0\0\0", 4)));
  CHECK_FALSE(empty.next(&body, &have));
}

namespace {
// A loopback listener on an ephemeral port.
int listen_loopback(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  *port = ntohs(a.sin_port);
  return fd;
}
int dial(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}
// Everything the peer sends until it closes (or 10 s pass).
std::string read_to_end(int fd) {
  std::string all;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  return all;
}
std::string hello_back(const std::string& name) {
  std::string body = std::string("Barrier\0\x01\0\x06", 11);
  body += std::string("\0\0\0", 3) + char(name.size()) + name;
  uint32_t n = static_cast<uint32_t>(body.size());
  return std::string{char(n >> 24), char(n >> 16), char(n >> 8), char(n)} + body;
}
}  // namespace

// A local process that reaches the listener before QEMU (a port scan, or a
// process posing as QEMU) gets the greeting and nothing else; the keys go to
// the connection that named the screen name given to QEMU.
TEST_CASE("barrier: only the connection with the screen name gets keys", "[barrier_keyboard]") {
  int port = 0;
  int lfd = listen_loopback(&port);
  const std::string name = "vredir-0123456789abcdef";
  std::string silent_got, impostor_got, qemu_got;
  int silent = dial(port);
  int impostor = dial(port);
  int qemu = dial(port);
  REQUIRE(silent >= 0);
  REQUIRE(impostor >= 0);
  REQUIRE(qemu >= 0);
  std::thread t_silent([&] { silent_got = read_to_end(silent); });
  std::thread t_impostor([&] {
    std::string hello = hello_back("vredir-guessed");
    (void)::send(impostor, hello.data(), hello.size(), MSG_NOSIGNAL);
    impostor_got = read_to_end(impostor);
  });
  std::thread t_qemu([&] {
    std::string hello = hello_back(name);
    (void)::send(qemu, hello.data(), hello.size(), MSG_NOSIGNAL);
    // Answer each keep-alive, as QEMU does, until the server closes.
    std::string pending;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{qemu, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(qemu, buf, sizeof(buf), 0);
      if (n <= 0) break;
      qemu_got.append(buf, static_cast<size_t>(n));
      pending.append(buf, static_cast<size_t>(n));
      for (size_t at; (at = pending.find("CALV")) != std::string::npos; pending.erase(0, at + 4)) {
        std::string calv = barrier_keep_alive();
        (void)::send(qemu, calv.data(), calv.size(), MSG_NOSIGNAL);
      }
    }
  });

  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<BarrierKeyboard> kb;
  std::string why;
  REQUIRE(BarrierKeyboard::accept_client(lfd, name, 5000, &kb, &why));
  REQUIRE(kb);
  // The silent one held it up for its second, not for the whole wait.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500));
  std::vector<KeyPress> keys;
  std::string err;
  REQUIRE(text_to_keys(Layout::kUs, "a", &keys, &err));
  REQUIRE(kb->send(keys, 5000));
  kb.reset();
  ::close(lfd);
  t_silent.join();
  t_impostor.join();
  t_qemu.join();
  ::close(silent);
  ::close(impostor);
  ::close(qemu);

  CHECK(silent_got == barrier_hello());
  CHECK(impostor_got == barrier_hello());
  CHECK(qemu_got == barrier_hello() + barrier_key_message(38, true) + barrier_key_message(38, false) +
                        barrier_keep_alive());
}

TEST_CASE("barrier: no connection with the screen name within the wait", "[barrier_keyboard]") {
  int port = 0;
  int lfd = listen_loopback(&port);
  int impostor = dial(port);
  std::thread t([&] {
    std::string hello = hello_back("not-it");
    (void)::send(impostor, hello.data(), hello.size(), MSG_NOSIGNAL);
    (void)read_to_end(impostor);
  });
  std::unique_ptr<BarrierKeyboard> kb;
  std::string why;
  REQUIRE(BarrierKeyboard::accept_client(lfd, "vredir-x", 1500, &kb, &why));
  CHECK_FALSE(kb);
  CHECK(why == "QEMU's Barrier client did not connect");
  ::close(lfd);
  t.join();
  ::close(impostor);
}
