#include "stream_recorder.hpp"

#include <charconv>

namespace vredir::stream {

StreamRecorder::StreamRecorder() : writer_([this](std::string_view d) { return file_.write(d); }) {
  up_.base = kUpstreamBase;
  up_.name = "up";
}

StreamRecorder::~StreamRecorder() { close(); }

Status StreamRecorder::open(const std::string& path) {
  // A recording holds everything typed, passwords at prompts included.
  if (Status st = file_.open(path, 0600); !st) return st;
  open_ = true;
  return writer_.begin("redir-mux", {{"recording", "session"}});
}

Status StreamRecorder::downstream(const Frame& frame) { return record(down_, up_, frame); }
Status StreamRecorder::upstream(const Frame& frame) { return record(up_, down_, frame); }

Status StreamRecorder::record(Direction& d, Direction& other, const Frame& frame) {
  if (!open_ || writer_.ended()) return Status::ok();
  const FrameType type = static_cast<FrameType>(frame.header.type);
  const uint16_t ch = frame.header.channel;
  std::string why;
  if (ch == 0) {
    if (type == FrameType::kDeclare) {
      Declare decl;
      if (!decode_declare(frame.payload, &decl, &why)) return fail(kExitMalformed, "record: " + why);
      uint32_t want = d.base == 1 ? decl.id : uint32_t{d.base} + decl.id;
      if (want > 0xffff || used_.count(static_cast<uint16_t>(want))) {
        want = d.base;
        while (want <= 0xffff && used_.count(static_cast<uint16_t>(want))) ++want;
        if (want > 0xffff) return fail(kExitMalformed, "record: too many channels");
      }
      const uint16_t id = static_cast<uint16_t>(want);
      used_.insert(id);
      d.ids[decl.id] = id;
      if (&d == &up_) {
        decl.params.erase("direction");
        if (decl.params.size() < kMaxParams) decl.params["direction"] = "up";
        // An input channel's display=N names a channel of the other direction.
        if (auto p = decl.params.find("display"); p != decl.params.end()) {
          unsigned ref = 0;
          auto [end, ec] = std::from_chars(p->second.data(), p->second.data() + p->second.size(), ref);
          if (ec == std::errc() && end == p->second.data() + p->second.size() && ref <= 0xffff)
            if (auto r = other.ids.find(static_cast<uint16_t>(ref)); r != other.ids.end())
              p->second = std::to_string(r->second);
        }
      }
      decl.id = id;
      return writer_.declare_raw(decl);
    }
    if (type == FrameType::kEnd && &d == &down_) {
      End e;
      if (decode_end(frame.payload, &e, &why)) {
        reason_ = e.reason;
        message_ = e.message;
      }
    }
    if (type == FrameType::kEnd) {
      // That direction is over: its channels close; the file ends at close().
      for (auto [from, id] : d.ids) {
        used_.erase(id);
        if (Status st = writer_.close_channel(id); !st) return st;
      }
      d.ids.clear();
    }
    return Status::ok();  // HELLO, END, unknown stream-level frames
  }
  auto it = d.ids.find(ch);
  if (it == d.ids.end()) return Status::ok();
  const uint16_t id = it->second;
  if (type == FrameType::kClose) {
    used_.erase(id);
    d.ids.erase(it);
    return writer_.close_channel(id);
  }
  std::string_view payload(reinterpret_cast<const char*>(frame.payload.data()), frame.payload.size());
  if (type == FrameType::kAck) {
    Ack a;
    if (decode_ack(frame.payload, &a, &why)) {
      if (auto r = other.ids.find(a.channel); r != other.ids.end()) {
        a.channel = r->second;
        scratch_.clear();
        encode_ack(a, scratch_);
        payload = scratch_;
      }
    }
  }
  return writer_.frame(id, type, payload, frame.header.flags);
}

Status StreamRecorder::close() {
  if (!open_) return Status::ok();
  open_ = false;
  Status st = writer_.ended() ? Status::ok() : writer_.end(reason_, message_);
  Status cs = file_.close();
  return st ? cs : st;
}

}  // namespace vredir::stream
