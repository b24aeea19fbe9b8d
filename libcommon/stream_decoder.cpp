#include "stream_decoder.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli.hpp"

namespace vredir::stream {

namespace {
constexpr size_t kMaxGdiStates = 4096;  // per gdi channel, for dump annotations
}  // namespace

std::string ChannelInfo::kind_label() const {
  const char* n = known_kind ? kind_name(kind_enum()) : nullptr;
  return n ? n : "unknown(" + std::to_string(kind) + ")";
}

const ChannelInfo* StreamDecoder::channel(uint16_t id) const {
  auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : &it->second;
}

StreamDecoder::Result StreamDecoder::bad(std::string* err, const Frame& f, const std::string& what) {
  const char* tn = type_name(static_cast<FrameType>(f.header.type));
  *err = what + " in " + (tn ? tn : "frame") + " at offset " + std::to_string(f.offset);
  return Result::kError;
}

namespace {
template <typename T, typename Fn>
bool decode_into(Event* ev, Fn fn, std::string* why) {
  T v;
  if (!fn(ev->frame.payload, &v, why)) return false;
  ev->payload = std::move(v);
  return true;
}
}  // namespace

StreamDecoder::Result StreamDecoder::next(Event* ev, std::string* err) {
  Frame f;
  switch (framing_.next(&f, err)) {
    case FrameReader::Result::kNeedMore: return Result::kNeedMore;
    case FrameReader::Result::kError: return Result::kError;
    case FrameReader::Result::kFrame: break;
  }
  *ev = Event();
  ev->frame = f;
  const FrameType type = static_cast<FrameType>(f.header.type);
  std::string why;

  if (ended_) return bad(err, f, "data after end of stream");
  if (!hello_seen_) {
    if (f.header.channel != 0 || type != FrameType::kHello) return bad(err, f, "stream does not start with HELLO");
    if (!decode_into<Hello>(ev, decode_hello, &why)) return bad(err, f, why);
    hello_ = std::get<Hello>(ev->payload);
    hello_seen_ = true;
    return Result::kEvent;
  }

  if (f.header.channel == 0) {
    switch (type) {
      case FrameType::kHello: return bad(err, f, "second HELLO");
      case FrameType::kDeclare: {
        if (!decode_into<Declare>(ev, decode_declare, &why)) return bad(err, f, why);
        const Declare& d = std::get<Declare>(ev->payload);
        if (channels_.count(d.id)) return bad(err, f, "channel " + std::to_string(d.id) + " declared twice");
        if (channels_.size() >= kMaxChannels) return bad(err, f, "too many channels");
        ChannelInfo info;
        info.id = d.id;
        info.kind = d.kind;
        info.known_kind = kind_name(static_cast<ChannelKind>(d.kind)) != nullptr;
        info.name = d.name;
        info.params = d.params;
        if (info.known_kind && info.kind_enum() == ChannelKind::kAudio) {
          uint32_t format = static_cast<uint32_t>(SampleFormat::kS16le);
          if (!param_u32(d.params, "rate", &info.rate) || !param_u32(d.params, "channels", &info.channels))
            return bad(err, f, "audio channel without numeric rate and channels");
          auto fmt = d.params.find("format");
          if (fmt != d.params.end() && fmt->second != "s16le")
            return bad(err, f, "audio sample format '" + fmt->second + "' not supported");
          (void)format;
          if (info.rate == 0 || info.rate > kMaxAudioRate || info.channels == 0 ||
              info.channels > kMaxAudioChannels)
            return bad(err, f, "audio rate or channel count out of range");
        }
        auto [it, _] = channels_.emplace(d.id, std::move(info));
        ev->channel = &it->second;
        return Result::kEvent;
      }
      case FrameType::kEnd:
        if (!decode_into<End>(ev, decode_end, &why)) return bad(err, f, why);
        ended_ = true;
        return Result::kEvent;
      default:
        if (type_name(type) != nullptr) return bad(err, f, "channel frame on channel 0");
        ev->what = Event::What::kUnknownType;
        return Result::kEvent;
    }
  }
  return decode_on_channel(ev, err);
}

StreamDecoder::Result StreamDecoder::decode_on_channel(Event* ev, std::string* err) {
  const Frame& f = ev->frame;
  const FrameType type = static_cast<FrameType>(f.header.type);
  std::string why;
  auto it = channels_.find(f.header.channel);
  if (it == channels_.end()) return bad(err, f, "frame on undeclared channel " + std::to_string(f.header.channel));
  ChannelInfo& ch = it->second;
  ev->channel = &ch;

  if (type == FrameType::kClose) {
    closed_ = ch;
    channels_.erase(it);
    ev->channel = &closed_;
    return Result::kEvent;
  }
  if (!ch.known_kind) {
    ev->what = Event::What::kUnknownChannel;
    return Result::kEvent;
  }
  auto owner = kind_of_type(type);
  if (!owner) {
    if (type_name(type) != nullptr) return bad(err, f, "stream-level frame on channel " + std::to_string(ch.id));
    ev->what = Event::What::kUnknownType;
    return Result::kEvent;
  }
  if (*owner != ch.kind_enum())
    return bad(err, f, "frame type does not belong to " + ch.kind_label() + " channel " + std::to_string(ch.id));

  switch (type) {
    case FrameType::kSurface: {
      if (!decode_into<Surface>(ev, decode_surface, &why)) return bad(err, f, why);
      const Surface& s = std::get<Surface>(ev->payload);
      ch.width = s.width;
      ch.height = s.height;
      return Result::kEvent;
    }
    case FrameType::kRect: {
      if (!decode_into<Rect>(ev, decode_rect, &why)) return bad(err, f, why);
      const Rect& r = std::get<Rect>(ev->payload);
      if (ch.width == 0) return bad(err, f, "rect before SURFACE on channel " + std::to_string(ch.id));
      auto inside = [&](uint64_t x, uint64_t y) { return x + r.w <= ch.width && y + r.h <= ch.height; };
      if (!inside(r.x, r.y))
        return bad(err, f, "rect " + std::to_string(r.w) + "x" + std::to_string(r.h) + "+" + std::to_string(r.x) +
                               "+" + std::to_string(r.y) + " outside the " + std::to_string(ch.width) + "x" +
                               std::to_string(ch.height) + " surface");
      if (r.encoding == RectEncoding::kCopyRect && !inside(r.src_x, r.src_y))
        return bad(err, f, "copy-rect source outside the surface");
      if (encoding_name(r.encoding) == nullptr) ev->what = Event::What::kUnknownEncoding;
      return Result::kEvent;
    }
    case FrameType::kFrameEnd:
      if (!decode_into<FrameEnd>(ev, decode_frame_end, &why)) return bad(err, f, why);
      return Result::kEvent;
    case FrameType::kCursorShape:
      if (!decode_into<CursorShape>(ev, decode_cursor_shape, &why)) return bad(err, f, why);
      return Result::kEvent;
    case FrameType::kCursorPos:
      if (!decode_into<CursorPos>(ev, decode_cursor_pos, &why)) return bad(err, f, why);
      return Result::kEvent;
    case FrameType::kAudioData: {
      uint64_t frame_bytes = uint64_t(ch.channels) * 2;
      if (f.payload.size() % frame_bytes != 0)
        return bad(err, f, "audio data of " + std::to_string(f.payload.size()) + " bytes is not whole samples");
      ev->payload = AudioData{f.payload};
      return Result::kEvent;
    }
    case FrameType::kKey:
      if (!decode_into<Key>(ev, decode_key, &why)) return bad(err, f, why);
      return Result::kEvent;
    case FrameType::kPointer:
      if (!decode_into<Pointer>(ev, decode_pointer, &why)) return bad(err, f, why);
      return Result::kEvent;
    case FrameType::kText:
      if (!decode_into<Text>(ev, decode_text, &why)) return bad(err, f, why);
      return Result::kEvent;
    case FrameType::kAck:
      if (!decode_into<Ack>(ev, decode_ack, &why)) return bad(err, f, why);
      return Result::kEvent;
    case FrameType::kControl:
      if (!decode_into<Control>(ev, decode_control, &why)) return bad(err, f, why);
      return Result::kEvent;
    case FrameType::kGdi: {
      // Checked by the gdi codec here so every reader refuses a malformed
      // record; consumers decode the payload again with gdi::decode_record.
      gdi::Record rec;
      if (!gdi::decode_record(f.payload, &rec, &why)) return bad(err, f, why);
      if (auto* st = std::get_if<gdi::State>(&rec)) {
        if (ch.gdi_states.size() >= kMaxGdiStates && !ch.gdi_states.count(st->target)) ch.gdi_states.clear();
        ch.gdi_states[st->target] = std::move(*st);
      }
      return Result::kEvent;
    }
    case FrameType::kData:
      return Result::kEvent;
    default:
      return bad(err, f, "unexpected frame type");
  }
}

StreamReader::Result StreamReader::next(Event* ev, Status* st) {
  uint8_t chunk[65536];
  for (;;) {
    std::string err;
    switch (decoder_.next(ev, &err)) {
      case StreamDecoder::Result::kEvent: return Result::kEvent;
      case StreamDecoder::Result::kError:
        *st = fail(kExitMalformed, what_ + ": " + err);
        return Result::kError;
      case StreamDecoder::Result::kNeedMore: break;
    }
    if (eof_) {
      std::string cut = decoder_.framing().truncation();
      if (decoder_.ended() && cut.empty()) return Result::kEnd;
      if (cut.empty()) cut = "stream ended without an end-of-stream frame at offset " + std::to_string(bytes_read_);
      // A header that is too short to judge is truncation, not damage.
      *st = fail(kExitPeerLost, what_ + ": " + cut);
      return Result::kError;
    }
    ssize_t n = ::read(fd_, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR && !interrupted()) continue;
      if (errno == EINTR) {
        *st = fail(kExitInterrupted, "interrupted");
        return Result::kError;
      }
      *st = fail(kExitFailure, "cannot read " + what_ + ": " + std::strerror(errno));
      return Result::kError;
    }
    if (n == 0) {
      eof_ = true;
      continue;
    }
    bytes_read_ += static_cast<uint64_t>(n);
    decoder_.feed(chunk, static_cast<size_t>(n));
  }
}

}  // namespace vredir::stream
