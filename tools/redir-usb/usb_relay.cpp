#include "usb_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/signals.hpp"
#include "wire/stream_decoder.hpp"
#include "wire/stream_writer.hpp"

namespace vredir {

namespace {

using stream::ChannelKind;
using stream::EndReason;
using stream::FrameType;

constexpr size_t kChunk = 64u << 10;
// Reading a side stops while more than this waits to be written to the other.
constexpr size_t kHighWater = 1u << 20;
constexpr uint16_t kChannel = 1;

// Non-blocking writes where the fd is ours alone (a pipe, FIFO or socket);
// a file or a terminal keeps blocking writes, which never wait long.
bool make_nonblocking_if_pipe(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) return false;
  return ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) == 0;
}

// Writes what the fd takes now. false: the fd is gone (*err says why).
bool write_some(int fd, std::string* buf, std::string* err) {
  while (!buf->empty()) {
    ssize_t n = ::write(fd, buf->data(), buf->size());
    if (n > 0) {
      buf->erase(0, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    *err = n < 0 ? std::strerror(errno) : "closed";
    return false;
  }
  return true;
}

bool is_usbredir_channel(const stream::Declare& d) {
  auto p = d.params.find("purpose");
  return d.kind == static_cast<uint8_t>(ChannelKind::kBytes) && p != d.params.end() && p->second == "usbredir";
}

}  // namespace

Status run_relay(const RelayEnds& ends, const RelayHooks& hooks, RelayEnd* how) {
  std::string out;  // stream bytes waiting for stream_out
  stream::StreamWriter writer([&](std::string_view bytes) {
    out.append(bytes);
    return Status::ok();
  });
  writer.begin(ends.producer);
  writer.declare(kChannel, ChannelKind::kBytes, "usbredir", {{"purpose", "usbredir"}, {"device", ends.device}});
  make_nonblocking_if_pipe(ends.stream_out);

  stream::StreamDecoder decoder;
  int channel = -1;  // the usbredir channel of the return stream
  std::string to_socket;
  bool stream_done = false, socket_done = false;
  Status result;
  std::vector<uint8_t> chunk(kChunk);

  auto finish_stream = [&](EndReason reason, const std::string& message) {
    writer.end(reason, message);
    // What is left goes out blocking: the reader is still there, or EPIPE.
    ::fcntl(ends.stream_out, F_SETFL, ::fcntl(ends.stream_out, F_GETFL) & ~O_NONBLOCK);
    std::string err;
    write_some(ends.stream_out, &out, &err);
  };

  while (result && !stream_done && !socket_done) {
    if (interrupted()) {
      result = fail(kExitInterrupted, "interrupted");
      break;
    }
    pollfd pf[3];
    int n = 0, in_i = -1, sock_i = -1, out_i = -1;
    if (to_socket.size() < kHighWater) {
      in_i = n;
      pf[n++] = {ends.stream_in, POLLIN, 0};
    }
    short sock_ev = short((out.size() < kHighWater ? POLLIN : 0) | (to_socket.empty() ? 0 : POLLOUT));
    sock_i = n;
    pf[n++] = {ends.socket, sock_ev, 0};
    if (!out.empty()) {
      out_i = n;
      pf[n++] = {ends.stream_out, POLLOUT, 0};
    }
    if (::poll(pf, nfds_t(n), 200) < 0) {
      if (errno == EINTR) continue;
      result = fail(kExitFailure, std::string("poll: ") + std::strerror(errno));
      break;
    }
    // The return stream.
    if (in_i >= 0 && (pf[in_i].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = ::read(ends.stream_in, chunk.data(), chunk.size());
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        std::string cut = decoder.framing().truncation();
        if (cut.empty()) cut = "it ended without an end-of-stream frame";
        result = fail(kExitPeerLost, "the return stream on stdin was cut: " + cut);
        break;
      }
      decoder.feed(chunk.data(), size_t(got));
      stream::Event ev;
      std::string err;
      for (;;) {
        auto r = decoder.next(&ev, &err);
        if (r == stream::StreamDecoder::Result::kNeedMore) break;
        if (r == stream::StreamDecoder::Result::kError) {
          result = fail(kExitMalformed, "the return stream on stdin: " + err);
          break;
        }
        if (ev.type() == FrameType::kDeclare && channel < 0) {
          if (const auto* d = std::get_if<stream::Declare>(&ev.payload); d && is_usbredir_channel(*d)) channel = d->id;
        } else if (ev.type() == FrameType::kData && channel >= 0 && ev.frame.header.channel == channel) {
          if (hooks.from_stream) result = hooks.from_stream(ev.frame.payload, &to_socket);
          else to_socket.append(reinterpret_cast<const char*>(ev.frame.payload.data()), ev.frame.payload.size());
          if (!result) break;
        } else if (ev.type() == FrameType::kEnd) {
          stream_done = true;
          *how = RelayEnd::kStreamEnded;
          break;
        }
      }
      if (!result) break;
    }
    // The socket.
    short re = pf[sock_i].revents;
    if ((re & POLLOUT) || (stream_done && !to_socket.empty())) {
      std::string err;
      if (!write_some(ends.socket, &to_socket, &err)) {
        socket_done = true;
        *how = RelayEnd::kSocketClosed;
      }
    }
    if (!socket_done && (re & (POLLIN | POLLHUP | POLLERR)) && out.size() < kHighWater) {
      ssize_t got = ::read(ends.socket, chunk.data(), chunk.size());
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        socket_done = true;
        *how = RelayEnd::kSocketClosed;
      } else if (got > 0) {
        std::span<const uint8_t> bytes(chunk.data(), size_t(got));
        if (hooks.from_socket) result = hooks.from_socket(bytes, &to_socket);
        if (!result) break;
        writer.frame(kChannel, FrameType::kData,
                     std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
      }
    }
    if (out_i >= 0 && (pf[out_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      std::string err;
      if (!write_some(ends.stream_out, &out, &err)) {
        if (err == std::strerror(EPIPE)) return Status::reader_gone();
        return fail(kExitPeerLost, "cannot write the stream: " + err);
      }
    }
  }
  // The stream ended: what it brought still goes to the socket.
  if (stream_done && !to_socket.empty()) {
    ::fcntl(ends.socket, F_SETFL, ::fcntl(ends.socket, F_GETFL) & ~O_NONBLOCK);
    std::string err;
    write_some(ends.socket, &to_socket, &err);
  }
  if (!result) {
    finish_stream(result.code() == kExitInterrupted ? EndReason::kInterrupted
                  : result.code() == kExitDenied    ? EndReason::kDenied
                                                    : EndReason::kError,
                  result.message());
    return result;
  }
  finish_stream(socket_done ? EndReason::kSourceGone : EndReason::kNormal,
                socket_done ? ends.socket_name + " closed" : "");
  return Status::ok();
}

}  // namespace vredir
