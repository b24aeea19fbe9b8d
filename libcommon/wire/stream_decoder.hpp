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
  // gdi: the last STATE record per target, so a dump can show the colours a
  // drawing record uses. Bounded by bytes (kMaxGdiStateBytes per channel, then
  // it starts afresh), and kept only when the decoder is asked to.
  bool keep_gdi_states = true;
  std::map<uint32_t, gdi::State> gdi_states;
  size_t gdi_state_bytes = 0;

  ChannelKind kind_enum() const { return static_cast<ChannelKind>(kind); }
  std::string kind_label() const;  // "display", or "unknown(42)"
  bool is_input() const { return entry && entry->input; }
};

// Bytes of one audio sample frame (one sample of every channel), from the
// channel's declaration: channels x the sample format's size.
uint64_t audio_frame_bytes(const ChannelInfo& channel);

// Most bytes of GDI STATE records a channel keeps for descriptions.
inline constexpr size_t kMaxGdiStateBytes = 1u << 20;

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
               Key, Pointer, PointerRel, Text, Clipboard, Ack, Control>
      payload;

  FrameType type() const { return static_cast<FrameType>(frame.header.type); }
};

class StreamDecoder {
 public:
  enum class Result { kEvent, kNeedMore, kError };

  // The table must outlive the decoder.
  explicit StreamDecoder(const KindTable& table = standard_table()) : table_(&table) {}

  // What the framing accepts (frame size, DEFLATE); may change between frames.
  void set_limits(const FrameLimits& limits) { framing_.set_limits(limits); }
  // Keep each gdi channel's last STATE per target for descriptions (default
  // on; a reader that only routes frames turns it off).
  void set_keep_gdi_states(bool keep) { keep_gdi_states_ = keep; }
  // Called with each frame's header before it is decoded; returning false
  // (with *why) makes that frame an error. A server that has not seen a
  // login yet uses it to refuse every frame but the few login needs.
  using FrameFilter = bool (*)(const FrameHeader& header, void* context, std::string* why);
  void set_frame_filter(FrameFilter filter, void* context) {
    filter_ = filter;
    filter_context_ = context;
  }

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
  bool keep_gdi_states_ = true;
  FrameFilter filter_ = nullptr;
  void* filter_context_ = nullptr;
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
