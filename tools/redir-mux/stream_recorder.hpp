// Records both directions of a session into one stream file, for
// `redir-mux serve --record` and `connect --record`.
//
//   StreamRecorder rec;
//   rec.open("session.vrs");      // header + HELLO (producer redir-mux, recording=session)
//   rec.downstream(frame);        // every frame the server sends, as read or written
//   rec.upstream(frame);          // every frame the client sends
//   rec.close();                  // END (the downstream's END reason), then close
//
// Frames are whole frames (header + payload) of well-formed streams, for
// example Event::frame from a StreamDecoder, and are recorded with the
// recorder's own clock (µs since open). Downstream channels keep their ids;
// upstream channels are renumbered into 32768 and up (another id when that
// one is taken) and declared with the param direction=up; an ACK names the
// recorded id of the channel it acknowledges. Each direction's HELLO and END
// are not copied: the file has one of each. The result is an ordinary stream:
// x-replay shows it, redir-dump inspects it, redir-inject replays its input.
#pragma once

#include <map>
#include <set>
#include <string>

#include "wire/status.hpp"
#include "sys/stdio_files.hpp"
#include "wire/stream_format.hpp"
#include "wire/stream_writer.hpp"

namespace vredir::stream {

class StreamRecorder {
 public:
  StreamRecorder();
  ~StreamRecorder();
  StreamRecorder(const StreamRecorder&) = delete;
  StreamRecorder& operator=(const StreamRecorder&) = delete;

  Status open(const std::string& path);
  Status downstream(const Frame& frame);
  Status upstream(const Frame& frame);
  // Writes END (reason and message of the downstream's END, else normal)
  // and closes the file. Safe to call twice; the destructor calls it.
  Status close();

  bool is_open() const { return open_; }

  static constexpr uint16_t kUpstreamBase = 32768;

 private:
  struct Direction {
    std::map<uint16_t, uint16_t> ids;  // id in that direction -> recorded id
    uint16_t base = 1;
    const char* name = "down";
  };
  Status record(Direction& d, Direction& other, const Frame& frame);

  OutputFile file_;
  StreamWriter writer_;
  bool open_ = false;
  std::set<uint16_t> used_;
  Direction down_, up_;
  EndReason reason_ = EndReason::kNormal;
  std::string message_;
  std::string scratch_;
};

}  // namespace vredir::stream
