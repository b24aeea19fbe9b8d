// connect --usb with a usbredir endpoint: the client relays the endpoint's
// socket itself. A unix socket of the test's own stands for the endpoint
// (the bytes are opaque to the client; the server checks them).
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mux_session.hpp"
#include "unit/memory_stream.hpp"
#include "usb_client.hpp"
#include "wire/frame_reader.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace {

struct FakeEndpoint {
  std::string dir, path;
  int listener = -1;
  FakeEndpoint() {
    char templ[] = "/tmp/vredir-usbclient.XXXXXX";
    REQUIRE(::mkdtemp(templ));
    dir = templ;
    path = dir + "/dev.sock";
    listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(listener, 1) == 0);
  }
  ~FakeEndpoint() {
    ::close(listener);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
};

// The frames of a stream written so far: channel, type and payload.
struct Seen {
  uint16_t channel;
  uint8_t type;
  std::string payload;
};
std::vector<Seen> frames_of(const std::string& bytes) {
  FrameReader r;
  r.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::vector<Seen> out;
  Frame f;
  std::string err;
  while (r.next(&f, &err) == FrameReader::Result::kFrame)
    out.push_back({f.header.channel, f.header.type, std::string(f.payload.begin(), f.payload.end())});
  return out;
}

// A DATA frame of the server's stream (payload must outlive it).
Frame data_frame(uint16_t channel, const std::string& payload) {
  Frame f;
  f.header.channel = channel;
  f.header.type = static_cast<uint8_t>(FrameType::kData);
  f.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  return f;
}

// Pumps until pred() or 2 s.
template <typename Pred>
bool pump_until(mux::UsbShares& shares, StreamWriter* up, Pred pred) {
  for (int i = 0; i < 200 && !pred(); ++i) {
    std::vector<pollfd> fds;
    shares.poll_fds(true, &fds);
    ::poll(fds.data(), fds.size(), 10);
    Status failed;
    shares.pump(true, up, &failed, &fds);
  }
  return pred();
}

// A client relaying the fake endpoint, and the device's end of it.
struct Relayed {
  FakeEndpoint ep;
  testing::Built up;
  mux::UsbShares shares;
  int dev = -1;
  Relayed() {
    up.w.begin("unit");
    REQUIRE(shares.start(std::vector<std::string>{"unix:" + ep.path}, &up.w));
    dev = ::accept4(ep.listener, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(dev >= 0);
  }
};

}  // namespace

TEST_CASE("an endpoint's bytes are relayed both ways by the client, and what waits for it is bounded",
          "[usb_client]") {
  Relayed r;
  mux::UsbShares& shares = r.shares;
  testing::Built& up = r.up;
  const int dev = r.dev;
  const uint16_t id = mux::kUsbChannelBase;

  // Device -> server: a DATA frame on the device's channel, as it came.
  REQUIRE(::write(dev, "hello-from-device", 17) == 17);
  auto has_data = [&] {
    for (const Seen& f : frames_of(up.bytes))
      if (f.channel == id && f.type == static_cast<uint8_t>(FrameType::kData) && f.payload == "hello-from-device")
        return true;
    return false;
  };
  CHECK(pump_until(shares, &up.w, has_data));

  // Server -> device, in order.
  const std::string first = "first ", second = "second", other = "not-mine";
  shares.from_server(data_frame(id, first));
  shares.from_server(data_frame(id, second));
  // Another channel's frame is not the device's.
  shares.from_server(data_frame(static_cast<uint16_t>(id + 1), other));
  std::string got;
  auto read_some = [&] {
    char buf[4096];
    ssize_t n = ::recv(dev, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    return got.size() >= 12;
  };
  CHECK(pump_until(shares, &up.w, read_some));
  CHECK(got == "first second");

  // A device that does not read: the backlog grows to the bound, where the
  // client stops reading the server (connect's loop asks backlog()).
  const std::string chunk(64 << 10, 'x');
  while (shares.backlog() < mux::kMaxUsbQueue) {
    shares.from_server(data_frame(id, chunk));
    Status failed;
    shares.pump(true, &up.w, &failed);
  }
  CHECK(shares.backlog() >= mux::kMaxUsbQueue);
  // Reading drains it.
  size_t drained = 0;
  int rounds = 0;
  for (; rounds < 2000 && shares.backlog() > 0; ++rounds) {
    char buf[65536];
    ssize_t n = ::recv(dev, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) drained += static_cast<size_t>(n);
    Status failed;
    shares.pump(true, &up.w, &failed);
  }
  INFO("rounds " << rounds << ", drained " << drained);
  CHECK(shares.backlog() == 0);

  // The server closes the channel: what it sent before reaches the device,
  // then the device sees its end.
  const std::string last = "last-bytes";
  shares.from_server(data_frame(id, last));
  Frame close_frame;
  close_frame.header.channel = id;
  close_frame.header.type = static_cast<uint8_t>(FrameType::kClose);
  shares.from_server(close_frame);
  std::string tail;
  bool eof = false;
  auto read_to_end = [&] {
    char buf[4096];
    ssize_t n = ::recv(dev, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) tail.append(buf, static_cast<size_t>(n));
    if (n == 0) eof = true;
    return eof;
  };
  CHECK(pump_until(shares, &up.w, read_to_end));
  // (after what the socket still held of the backlog above)
  CHECK(tail.size() >= last.size());
  CHECK(tail.substr(tail.size() - last.size()) == last);
  CHECK(tail.find_first_not_of('x') == tail.size() - last.size());

  // The device goes: its channel closes towards the server, with no error.
  ::close(dev);
  auto closed = [&] {
    for (const Seen& f : frames_of(up.bytes))
      if (f.channel == id && f.type == static_cast<uint8_t>(FrameType::kClose)) return true;
    return false;
  };
  CHECK(pump_until(shares, &up.w, closed));
  Status failed;
  shares.pump(true, &up.w, &failed);
  CHECK(failed);
  shares.stop();
}

TEST_CASE("a device that goes while its backlog is full lets the client read the server again", "[usb_client]") {
  Relayed r;
  mux::UsbShares& shares = r.shares;
  testing::Built& up = r.up;
  const int dev = r.dev;
  const uint16_t id = mux::kUsbChannelBase;
  const std::string chunk(64 << 10, 'x');
  while (shares.backlog() < mux::kMaxUsbQueue) {
    shares.from_server(data_frame(id, chunk));
    Status failed;
    shares.pump(true, &up.w, &failed);
  }
  ::close(dev);
  auto emptied = [&] { return shares.backlog() == 0; };
  CHECK(pump_until(shares, &up.w, emptied));
  // What the server still sends for it is dropped, not kept.
  shares.from_server(data_frame(id, chunk));
  CHECK(shares.backlog() == 0);
  shares.stop();
}

TEST_CASE("an endpoint that is not there ends connect --usb with one line", "[usb_client]") {
  testing::Built up;
  up.w.begin("unit");
  mux::UsbShares shares;
  Status st = shares.start(std::vector<std::string>{"unix:/nonexistent/vredir-test.sock"}, &up.w);
  CHECK_FALSE(st);
  CHECK(st.message().find("USB device unix:/nonexistent/vredir-test.sock: ") == 0);
  CHECK(st.message().find('\n') == std::string::npos);
}
