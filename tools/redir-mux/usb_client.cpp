#include "usb_client.hpp"

#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "mux_session.hpp"
#include "net/tls_transport.hpp"
#include "usbpolicy/usb_selector.hpp"
#include "wire/stream_decoder.hpp"

namespace vredir::mux {

using namespace vredir::stream;
using Clock = std::chrono::steady_clock;

Status UsbShares::start(const std::vector<std::string>& devices, StreamWriter* up) {
  if (devices.size() > kMaxUsbChannels)
    return fail(kExitUsage, "at most " + std::to_string(kMaxUsbChannels) + " --usb devices per session");
  for (size_t i = 0; i < devices.size(); ++i) {
    auto s = std::make_unique<Share>();
    s->device = devices[i];
    s->id = static_cast<uint16_t>(kUsbChannelBase + i);
    UsbSelector sel;
    std::string err;
    if (parse_usb_selector(s->device, &sel, &err) && !sel.local()) {
      Endpoint ep;
      if (!parse_endpoint(usb_endpoint_url(sel), &ep, &err)) return fail(kExitUsage, "--usb " + s->device + ": " + err);
      if (Status st = connect_endpoint(ep, kUsbEndpointTimeoutS, &s->sock); !st)
        return fail(st.code(), "USB device " + s->device + ": " + st.message());
    } else {
      // The share reads a stream of its own on stdin: the server's bytes on
      // channel 1.
      if (Status st = spawn({"redir-usb", "-q", "share", s->device}, true, &s->child); !st) return st;
      (void)s->w.begin("redir-mux connect");
      (void)s->w.declare(1, ChannelKind::kBytes, "usbredir", {{"purpose", "usbredir"}});
    }
    (void)up->declare(s->id, ChannelKind::kBytes, "usbredir", {{"purpose", "usbredir"}, {"device", s->device}});
    shares_.push_back(std::move(s));
  }
  return Status::ok();
}

void UsbShares::poll_fds(bool up_room, std::vector<pollfd>* fds) {
  for (const auto& s : shares_) {
    s->poll_i = -1;
    if (s->sock >= 0) {
      short ev = static_cast<short>((up_room ? POLLIN : 0) | (!s->sockq.empty() ? POLLOUT : 0));
      if (ev) s->poll_i = static_cast<int>(fds->size()), fds->push_back({s->sock, ev, 0});
      continue;
    }
    if (up_room && s->child.out >= 0) fds->push_back({s->child.out, POLLIN, 0});
    if (s->child.in >= 0 && !s->inq.empty()) fds->push_back({s->child.in, POLLOUT, 0});
  }
}

void UsbShares::finish_share(Share& s, StreamWriter* up, Status* failed, const End* end) {
  if (s.child.out >= 0) ::close(s.child.out);
  s.child.out = -1;
  // Nobody takes what waits for the device now: it must not hold the
  // client's reading from the server (backlog).
  s.gone = true;
  std::string().swap(s.sockq);
  std::string().swap(s.inq);
  if (!s.up_closed) {
    s.up_closed = true;
    (void)up->close_channel(s.id);
  }
  const bool ok = end && (end->reason == EndReason::kNormal || end->reason == EndReason::kSourceGone);
  if (ok && s.sock < 0 && s.child.pid <= 0 && s.input_ended) {
    // An endpoint let go after the server closed its channel: expected.
    spdlog::debug("USB device {}: {}", s.device, end->message);
    return;
  }
  if (ok) {
    spdlog::info("USB device {}: {}", s.device, end->message.empty() ? "ended" : end->message);
    return;
  }
  // The share failed: its exit code is the client's (it said why on stderr).
  int status = 0, code = kExitFailure;
  for (int i = 0; i < 100 && s.child.pid > 0; ++i) {
    if (::waitpid(s.child.pid, &status, WNOHANG) == s.child.pid) {
      s.child.pid = -1;
      if (WIFEXITED(status) && WEXITSTATUS(status) != 0) code = WEXITSTATUS(status);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (*failed)
    *failed = fail(code, "USB device " + s.device + ": " +
                             (end && !end->message.empty() ? end->message : std::string("redir-usb share ended")));
}

void UsbShares::pump_endpoint(Share& s, bool up_room, bool readable, StreamWriter* up, Status* failed) {
  // The server's bytes first: the device answers them.
  while (s.sock >= 0 && !s.sockq.empty()) {
    ssize_t w = ::send(s.sock, s.sockq.data(), s.sockq.size(), MSG_NOSIGNAL);
    if (w > 0) {
      s.sockq.erase(0, static_cast<size_t>(w));
      continue;
    }
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
    End e{EndReason::kSourceGone, "the usbredir endpoint closed the connection"};
    ::close(s.sock);
    s.sock = -1;
    finish_share(s, up, failed, &e);
    return;
  }
  if (s.sock >= 0 && s.input_ended && s.sockq.empty() && !s.sock_shut) {
    ::shutdown(s.sock, SHUT_WR);
    s.sock_shut = true;
  }
  uint8_t buf[65536];
  while (readable && up_room && s.sock >= 0 && !s.up_closed) {
    ssize_t n = ::read(s.sock, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    if (n <= 0) {
      End e{n == 0 ? EndReason::kSourceGone : EndReason::kError,
            n == 0 ? "the usbredir endpoint closed the connection"
                   : std::string("reading the usbredir endpoint: ") + std::strerror(errno)};
      ::close(s.sock);
      s.sock = -1;
      finish_share(s, up, failed, &e);
      return;
    }
    (void)up->frame(s.id, FrameType::kData, std::string_view(reinterpret_cast<const char*>(buf), static_cast<size_t>(n)));
    if (static_cast<size_t>(n) < sizeof buf) break;
  }
}

void UsbShares::pump(bool up_room, StreamWriter* up, Status* failed, const std::vector<pollfd>* polled) {
  uint8_t buf[65536];
  for (auto& sp : shares_) {
    Share& s = *sp;
    if (s.sock >= 0) {
      const bool readable = !polled || (s.poll_i >= 0 && size_t(s.poll_i) < polled->size() &&
                                        ((*polled)[size_t(s.poll_i)].revents & (POLLIN | POLLHUP | POLLERR)));
      pump_endpoint(s, up_room, readable, up, failed);
      continue;
    }
    while (up_room && s.child.out >= 0) {
      ssize_t n = ::read(s.child.out, buf, sizeof buf);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (n <= 0) {
        finish_share(s, up, failed, nullptr);
        break;
      }
      s.frames.feed(buf, static_cast<size_t>(n));
      Frame f;
      std::string err;
      FrameReader::Result r;
      bool done = false;
      while (!done && (r = s.frames.next(&f, &err)) == FrameReader::Result::kFrame) {
        auto type = static_cast<FrameType>(f.header.type);
        if (f.header.channel == 1 && type == FrameType::kData && !s.up_closed) {
          (void)up->frame(s.id, type, std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()));
        } else if (f.header.channel == 0 && type == FrameType::kEnd) {
          End e;
          (void)decode_end(f.payload, &e, &err);
          finish_share(s, up, failed, &e);
          done = true;
        }
      }
      if (done) break;
      if (r == FrameReader::Result::kError) {
        End e{EndReason::kError, "malformed stream from redir-usb share: " + err};
        finish_share(s, up, failed, &e);
        break;
      }
    }
    feed_child(&s.child, &s.inq, s.input_ended);
  }
}

size_t UsbShares::backlog() const {
  size_t most = 0;
  for (const auto& s : shares_) most = std::max({most, s->inq.size(), s->sockq.size()});
  return most;
}

void UsbShares::from_server(const Frame& f) {
  if (f.header.channel < kUsbChannelBase || f.header.channel >= kUsbChannelBase + kMaxUsbChannels) return;
  size_t i = f.header.channel - kUsbChannelBase;
  if (i >= shares_.size()) return;
  Share& s = *shares_[i];
  if (s.input_ended || s.gone) return;
  auto type = static_cast<FrameType>(f.header.type);
  if (s.sock >= 0) {
    if (type == FrameType::kData) {
      s.sockq.append(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
    } else if (type == FrameType::kClose) {
      // The server's port went: what it sent before reaches the device, then
      // the device is let go (pump_endpoint).
      s.input_ended = true;
    }
    return;
  }
  if (type == FrameType::kData)
    (void)s.w.frame(1, type, std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()));
  else if (type == FrameType::kClose) {
    s.input_ended = true;  // the server's port went: the share lets the device go
    (void)s.w.end(EndReason::kNormal, "the server closed the USB channel");
  }
}

void UsbShares::stop() {
  std::vector<Child*> children;
  for (auto& s : shares_) {
    if (s->sock >= 0) {
      // What the server sent last reaches the device, as far as it takes it.
      (void)!::send(s->sock, s->sockq.data(), s->sockq.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(s->sock);
      s->sock = -1;
      continue;
    }
    if (s->child.in >= 0) {
      if (!s->input_ended) (void)s->w.end(EndReason::kNormal, "the session ended");
      (void)!::write(s->child.in, s->inq.data(), s->inq.size());  // what the pipe takes now
      ::close(s->child.in);
      s->child.in = -1;
    }
    if (s->child.out >= 0) ::close(s->child.out);
    s->child.out = -1;
    children.push_back(&s->child);
  }
  // A share that got the end of its stream leaves on its own; give it a moment.
  auto deadline = Clock::now() + std::chrono::seconds(2);
  for (Child* c : children)
    while (c->pid > 0 && Clock::now() < deadline) {
      int status = 0;
      if (::waitpid(c->pid, &status, WNOHANG) == c->pid) c->pid = -1;
      else std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  stop_children(children, Clock::now() + std::chrono::seconds(2));
  shares_.clear();
}

}  // namespace vredir::mux
