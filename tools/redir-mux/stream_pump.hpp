// Reads a vredir stream from a descriptor that is serviced by a poll() loop
// (several inputs at once): read_some() does one read(), next() hands out the
// decoded events without ever blocking. The blocking counterpart for a single
// input is StreamReader; both report damage and truncation the same way.
#pragma once

#include <string>

#include "wire/status.hpp"
#include "wire/stream_decoder.hpp"

namespace vredir::stream {

class StreamPump {
 public:
  enum class Result { kEvent, kNeedMore, kEnd, kError };

  StreamPump() = default;
  // fd < 0: an inactive pump that is already at its end.
  StreamPump(int fd, std::string what) : fd_(fd), what_(std::move(what)), eof_(fd < 0) {}

  // An input that ends before its first byte is a clean end (no stream at all)
  // rather than truncation: for optional return paths.
  void allow_empty(bool on) { allow_empty_ = on; }

  // kEvent: *ev valid until the next read_some()/next(). kEnd: END seen and
  // the input ended (or allow_empty and nothing came). kError: *st is the
  // one-line failure, kExitMalformed for damage, kExitPeerLost for a cut.
  Result next(Event* ev, Status* st);
  // One read(); EOF is remembered. Fails only on a read error.
  Status read_some();

  bool active() const { return fd_ >= 0 && !eof_ && !decoder_.ended(); }
  bool at_eof() const { return eof_; }
  int fd() const { return fd_; }
  uint64_t bytes_read() const { return bytes_; }
  const StreamDecoder& decoder() const { return decoder_; }

 private:
  int fd_ = -1;
  std::string what_;
  bool eof_ = true;
  bool allow_empty_ = false;
  uint64_t bytes_ = 0;
  StreamDecoder decoder_;
};

}  // namespace vredir::stream
