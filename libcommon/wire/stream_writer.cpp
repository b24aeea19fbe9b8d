#include "wire/stream_writer.hpp"

#include <zlib.h>

namespace vredir::stream {

struct StreamWriter::Deflater {
  z_stream z{};
  bool ready = false;
  ~Deflater() {
    if (ready) deflateEnd(&z);
  }
};

StreamWriter::StreamWriter(Sink sink) : sink_(std::move(sink)), start_(std::chrono::steady_clock::now()) {}
StreamWriter::~StreamWriter() = default;

void StreamWriter::set_compression(int level) {
  if (level <= 0) {
    (void)flush();
    deflater_.reset();
    return;
  }
  if (deflater_) return;
  deflater_ = std::make_unique<Deflater>();
  // Raw deflate, one stream for the whole vredir stream: each piece ends in
  // a sync flush, so later pieces reuse the history of earlier ones.
  if (deflateInit2(&deflater_->z, level > 9 ? 9 : level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    deflater_.reset();
    return;
  }
  deflater_->ready = true;
}

Status StreamWriter::flush() {
  if (piece_.empty()) return Status::ok();
  z_stream& z = deflater_->z;
  deflated_.clear();
  z.next_in = reinterpret_cast<Bytef*>(piece_.data());
  z.avail_in = static_cast<uInt>(piece_.size());
  size_t bound = piece_.size() + piece_.size() / 1000 + 64;
  for (;;) {
    size_t have = deflated_.size();
    deflated_.resize(have + bound);
    z.next_out = reinterpret_cast<Bytef*>(deflated_.data() + have);
    z.avail_out = static_cast<uInt>(bound);
    int rc = deflate(&z, Z_SYNC_FLUSH);
    deflated_.resize(have + bound - z.avail_out);
    if (rc != Z_OK && rc != Z_BUF_ERROR) return fail(kExitFailure, "internal: deflate failed");
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  piece_.clear();
  return emit(now_us(), 0, FrameType::kDeflate, deflated_, 0);
}

uint64_t StreamWriter::now_us() const {
  if (fixed_) return fixed_ts_;
  auto d = std::chrono::steady_clock::now() - start_;
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

void StreamWriter::restart() {
  deflater_.reset();
  piece_.clear();
  deflated_.clear();
  bytes_ = 0;
  ended_ = false;
}

Status StreamWriter::begin(const std::string& producer, const Params& params) {
  start_ = std::chrono::steady_clock::now();
  std::string hdr(reinterpret_cast<const char*>(kMagic), sizeof(kMagic));
  put_u16le(hdr, kVersionMajor);
  put_u16le(hdr, kVersionMinor);
  bytes_ += hdr.size();
  if (Status st = sink_(hdr); !st) return st;
  Hello h;
  h.producer = producer;
  h.version = VREDIR_VERSION;
  h.params = params;
  std::string payload;
  encode_hello(h, payload);
  return frame(0, FrameType::kHello, payload);
}

Status StreamWriter::declare(uint16_t id, ChannelKind kind, const std::string& name, const Params& params) {
  Declare d;
  d.id = id;
  d.kind = static_cast<uint8_t>(kind);
  d.name = name;
  d.params = params;
  return declare_raw(d);
}

Status StreamWriter::declare_raw(const Declare& d) {
  std::string payload;
  encode_declare(d, payload);
  return frame(0, FrameType::kDeclare, payload);
}

Status StreamWriter::close_channel(uint16_t id) { return frame(id, FrameType::kClose, {}); }

Status StreamWriter::end(EndReason reason, const std::string& message) {
  if (ended_) return Status::ok();
  // END goes out plainly, after what waits, so a stream's end is readable
  // as it is.
  if (Status st = flush(); !st) return st;
  deflater_.reset();
  std::string payload;
  encode_end(End{reason, message}, payload);
  ended_ = true;
  return frame(0, FrameType::kEnd, payload);
}

Status StreamWriter::frame(uint16_t channel, FrameType type, std::string_view payload, uint8_t flags) {
  return frame_at(now_us(), channel, type, payload, flags);
}

Status StreamWriter::frame_plain(uint16_t channel, FrameType type, std::string_view payload, uint8_t flags) {
  if (payload.size() > kMaxPayload)
    return fail(kExitFailure, "internal: frame payload of " + std::to_string(payload.size()) + " bytes over the limit");
  if (Status st = flush(); !st) return st;
  return emit(now_us(), channel, type, payload, flags);
}

Status StreamWriter::frame_at(uint64_t ts_us, uint16_t channel, FrameType type, std::string_view payload,
                              uint8_t flags) {
  if (payload.size() > kMaxPayload)
    return fail(kExitFailure, "internal: frame payload of " + std::to_string(payload.size()) + " bytes over the limit");
  if (!deflater_ || (channel == 0 && type == FrameType::kHello)) return emit(ts_us, channel, type, payload, flags);
  // Deflate can grow incompressible data by a few bytes per 16 KiB block:
  // keeping pieces 64 KiB under the limit keeps their frames under it too.
  constexpr size_t kMaxPiece = kMaxInflatedPiece - (64u << 10);
  size_t framed = kFrameHeaderSize + payload.size();
  if (piece_.size() + framed > kMaxPiece) {
    if (Status st = flush(); !st) return st;
    // Too big for any piece: plainly, in order after the flushed piece.
    if (framed > kMaxPiece) return emit(ts_us, channel, type, payload, flags);
  }
  put_u32le(piece_, static_cast<uint32_t>(payload.size()));
  put_u16le(piece_, channel);
  put_u8(piece_, static_cast<uint8_t>(type));
  put_u8(piece_, flags);
  put_u64le(piece_, ts_us);
  piece_.append(payload);
  if (piece_.size() >= kPieceTarget) return flush();
  return Status::ok();
}

Status StreamWriter::emit(uint64_t ts_us, uint16_t channel, FrameType type, std::string_view payload,
                          uint8_t flags) {
  scratch_.clear();
  put_u32le(scratch_, static_cast<uint32_t>(payload.size()));
  put_u16le(scratch_, channel);
  put_u8(scratch_, static_cast<uint8_t>(type));
  put_u8(scratch_, flags);
  put_u64le(scratch_, ts_us);
  // Small frames go out in one write so that pipes see whole frames.
  if (payload.size() <= 4096) {
    scratch_.append(payload);
    bytes_ += scratch_.size();
    return sink_(scratch_);
  }
  bytes_ += scratch_.size() + payload.size();
  if (Status st = sink_(scratch_); !st) return st;
  return sink_(payload);
}

Status StreamWriter::surface(uint16_t ch, uint32_t w, uint32_t h) {
  std::string p;
  encode_surface(Surface{w, h, PixelFormat::kBgrx8888}, p);
  return frame(ch, FrameType::kSurface, p);
}

Status StreamWriter::rect(uint16_t ch, const Rect& r) {
  std::string p;
  encode_rect(r, p);
  return frame(ch, FrameType::kRect, p);
}

Status StreamWriter::frame_end(uint16_t ch, uint64_t seq) {
  std::string p;
  encode_frame_end(FrameEnd{seq}, p);
  return frame(ch, FrameType::kFrameEnd, p);
}

Status StreamWriter::key(uint16_t ch, const Key& k, uint8_t flags) {
  std::string p;
  encode_key(k, p);
  return frame(ch, FrameType::kKey, p, flags);
}

Status StreamWriter::pointer(uint16_t ch, const Pointer& ptr, uint8_t flags) {
  std::string p;
  encode_pointer(ptr, p);
  return frame(ch, FrameType::kPointer, p, flags);
}

Status StreamWriter::pointer_rel(uint16_t ch, const PointerRel& ptr, uint8_t flags) {
  std::string p;
  encode_pointer_rel(ptr, p);
  return frame(ch, FrameType::kPointerRel, p, flags);
}

Status StreamWriter::ack(uint16_t ch, const Ack& a) {
  std::string p;
  encode_ack(a, p);
  return frame(ch, FrameType::kAck, p);
}

Status StreamWriter::control(uint16_t ch, const Control& c) {
  std::string p;
  encode_control(c, p);
  return frame(ch, FrameType::kControl, p);
}

std::string zlib_compress(std::string_view raw, int level) {
  uLongf bound = compressBound(static_cast<uLong>(raw.size()));
  std::string out(bound, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &bound, reinterpret_cast<const Bytef*>(raw.data()),
            static_cast<uLong>(raw.size()), level);
  out.resize(bound);
  return out;
}

}  // namespace vredir::stream
