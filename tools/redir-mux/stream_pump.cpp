#include "stream_pump.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vredir::stream {

StreamPump::Result StreamPump::next(Event* ev, Status* st) {
  std::string err;
  switch (decoder_.next(ev, &err)) {
    case StreamDecoder::Result::kEvent: return Result::kEvent;
    case StreamDecoder::Result::kError:
      *st = fail(kExitMalformed, what_ + ": " + err);
      return Result::kError;
    case StreamDecoder::Result::kNeedMore: break;
  }
  if (!eof_) return Result::kNeedMore;
  std::string cut = decoder_.framing().truncation();
  if (decoder_.ended() && cut.empty()) return Result::kEnd;
  if (allow_empty_ && bytes_ == 0) return Result::kEnd;
  if (cut.empty()) cut = "stream ended without an end-of-stream frame at offset " + std::to_string(bytes_);
  *st = fail(kExitPeerLost, what_ + ": " + cut);
  return Result::kError;
}

Status StreamPump::read_some() {
  if (fd_ < 0 || eof_) return Status::ok();
  uint8_t chunk[65536];
  for (;;) {
    ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return Status::ok();
    if (n < 0) return fail(kExitFailure, "cannot read " + what_ + ": " + std::strerror(errno));
    if (n == 0) {
      eof_ = true;
      return Status::ok();
    }
    bytes_ += static_cast<uint64_t>(n);
    decoder_.feed(chunk, static_cast<size_t>(n));
    return Status::ok();
  }
}

}  // namespace vredir::stream
