#include "wire/stream_decoder.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wire/interrupt.hpp"

namespace vredir::stream {

std::string ChannelInfo::kind_label() const {
  if (entry) return entry->name;
  return "unknown(" + std::to_string(kind) + ")";
}

uint64_t audio_frame_bytes(const ChannelInfo& channel) {
  return uint64_t(channel.channels) * sample_bytes(channel.format);
}

const ChannelInfo* StreamDecoder::channel(uint16_t id) const {
  auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : &it->second;
}

StreamDecoder::Result StreamDecoder::bad(std::string* err, const Frame& f, const std::string& what) {
  const TypeEntry* t = table_->type(f.header.type);
  *err = what + " in " + (t ? t->name : "frame") + " at offset " + std::to_string(f.offset);
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
  ev->type_entry = table_->type(f.header.type);
  if (filter_) {
    std::string why_not;
    if (!filter_(f.header, filter_context_, &why_not)) return bad(err, f, why_not);
  }
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
        info.entry = table_->kind(d.kind);
        info.known_kind = info.entry != nullptr;
        info.name = d.name;
        info.params = d.params;
        info.keep_gdi_states = keep_gdi_states_;
        if (info.entry && info.entry->declare && !info.entry->declare(&info, &why)) return bad(err, f, why);
        auto [it, _] = channels_.emplace(d.id, std::move(info));
        ev->channel = &it->second;
        return Result::kEvent;
      }
      case FrameType::kEnd:
        if (!decode_into<End>(ev, decode_end, &why)) return bad(err, f, why);
        ended_ = true;
        return Result::kEvent;
      default:
        if (ev->type_entry != nullptr) return bad(err, f, "channel frame on channel 0");
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
  const TypeEntry* t = ev->type_entry;
  if (!t) {
    ev->what = Event::What::kUnknownType;
    return Result::kEvent;
  }
  if (t->kind == 0) return bad(err, f, "stream-level frame on channel " + std::to_string(ch.id));
  if (t->kind != ch.kind)
    return bad(err, f, "frame type does not belong to " + ch.kind_label() + " channel " + std::to_string(ch.id));
  if (t->decode && !t->decode(ch, ev, &why)) return bad(err, f, why);
  return Result::kEvent;
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
      if (errno == EINTR && !interrupt_requested()) continue;
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
