// The one decoder for vredir streams, shared by every tool that reads them
// (redir-dump, x-replay, redir-inject, redir-mux). It sits on FrameReader's
// framing and checks the meaning of each frame: HELLO first, channels declared
// before use, frame types matching their channel's kind, rectangles inside
// their surface, nothing after END. Unknown channel kinds and frame types are
// reported and skipped by length, never fatal.
#pragma once

#include <map>
#include <string>
#include <variant>

#include "wire/frame_reader.hpp"
#include "wire/gdi_records.hpp"
#include "wire/kind_table.hpp"
#include "wire/status.hpp"

namespace vredir::stream {

struct ChannelInfo {
  uint16_t id = 0;
  uint8_t kind = 0;
  bool known_kind = false;
  const KindEntry* entry = nullptr;  // the kind's table entry; nullptr when unknown
  std::string name;
  Params params;
  // display
  uint32_t width = 0, height = 0;
  // audio
  uint32_t rate = 0, channels = 0;
  SampleFormat format = SampleFormat::kS16le;
  // gdi: the last STATE record per target (bounded), so a dump can show the
  // colours a drawing record uses
  std::map<uint32_t, gdi::State> gdi_states;

  ChannelKind kind_enum() const { return static_cast<ChannelKind>(kind); }
  std::string kind_label() const;  // "display", or "unknown(42)"
  bool is_input() const { return entry && entry->input; }
};

// Bytes of one audio sample frame (one sample of every channel), from the
// channel's declaration: channels x the sample format's size.
uint64_t audio_frame_bytes(const ChannelInfo& channel);

struct Event {
  enum class What {
    kFrame,           // a known frame; payload holds its decoded form
    kUnknownType,     // a frame type this version does not know: skipped
    kUnknownChannel,  // a frame on a channel of unknown kind: skipped
    kUnknownEncoding, // a rect with an encoding this version does not know: skipped
  };
  What what = What::kFrame;
  Frame frame;
  const ChannelInfo* channel = nullptr;  // null for channel 0
  const TypeEntry* type_entry = nullptr;  // null for an unknown frame type
  std::variant<std::monostate, Hello, Declare, End, Surface, Rect, FrameEnd, CursorShape, CursorPos, AudioData,
               Key, Pointer, Text, Ack, Control>
      payload;

  FrameType type() const { return static_cast<FrameType>(frame.header.type); }
};

class StreamDecoder {
 public:
  enum class Result { kEvent, kNeedMore, kError };

  // The table must outlive the decoder.
  explicit StreamDecoder(const KindTable& table = standard_table()) : table_(&table) {}

  void feed(const uint8_t* data, size_t size) { framing_.feed(data, size); }
  // kEvent: *ev valid until the next feed()/next(). kError: *err is one line
  // naming the problem and its byte offset.
  Result next(Event* ev, std::string* err);

  bool ended() const { return ended_; }
  const Hello& hello() const { return hello_; }
  const std::map<uint16_t, ChannelInfo>& channels() const { return channels_; }
  const ChannelInfo* channel(uint16_t id) const;
  const FrameReader& framing() const { return framing_; }
  const KindTable& table() const { return *table_; }

 private:
  Result bad(std::string* err, const Frame& f, const std::string& what);
  Result decode_on_channel(Event* ev, std::string* err);

  const KindTable* table_;
  FrameReader framing_;
  bool hello_seen_ = false;
  bool ended_ = false;
  Hello hello_;
  std::map<uint16_t, ChannelInfo> channels_;
  // Closed channels stay readable by pointer until the next event.
  ChannelInfo closed_;
};

// Reads a stream from a file descriptor through StreamDecoder.
class StreamReader {
 public:
  explicit StreamReader(int fd, std::string what = "stream", const KindTable& table = standard_table())
      : fd_(fd), what_(std::move(what)), decoder_(table) {}

  enum class Result { kEvent, kEnd, kError };
  // kEvent: an event. kEnd: END was seen and the input ended cleanly after it.
  // kError: *st is the one-line failure: kExitMalformed for damage,
  // kExitPeerLost for truncation (input ended without END).
  Result next(Event* ev, Status* st);

  const StreamDecoder& decoder() const { return decoder_; }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  int fd_;
  std::string what_;
  StreamDecoder decoder_;
  uint64_t bytes_read_ = 0;
  bool eof_ = false;
};

}  // namespace vredir::stream
