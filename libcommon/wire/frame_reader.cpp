#include "wire/frame_reader.hpp"

#include <zlib.h>

#include <cstring>

namespace vredir::stream {

struct FrameReader::Inflater {
  z_stream z{};
  bool ready = false;
  ~Inflater() {
    if (ready) inflateEnd(&z);
  }
};

FrameReader::FrameReader() = default;
FrameReader::~FrameReader() = default;
FrameReader::FrameReader(FrameReader&&) noexcept = default;
FrameReader& FrameReader::operator=(FrameReader&&) noexcept = default;

namespace {
FrameHeader parse_frame_header(const uint8_t* p) {
  ByteReader r(p, kFrameHeaderSize);
  FrameHeader h;
  h.length = r.u32le();
  h.channel = r.u16le();
  h.type = r.u8();
  h.flags = r.u8();
  h.timestamp_us = r.u64le();
  return h;
}
}  // namespace

std::string describe_bad_magic(const uint8_t* d, size_t n) {
  auto starts = [&](const char* s, size_t len) { return n >= len && std::memcmp(d, s, len) == 0; };
  if (starts("\x89VRS\n", 5))
    return "stream damaged by text-mode conversion (CR LF became LF) at offset 4";
  if (starts("\x89VRS\r\r\n", 7) || starts("\x89VRS\r\n\x1a\r\n", 9))
    return "stream damaged by text-mode conversion (LF became CR LF) at offset 5";
  if (starts("\x09VRS", 4)) return "stream damaged by a 7-bit channel (high bit stripped) at offset 0";
  if (starts("\xc2\x89VRS", 5) || starts("\xef\xbf\xbdVRS", 6))
    return "stream damaged by a character-set conversion (UTF-8 re-encoded) at offset 0";
  if (n >= 4 && std::memcmp(d + 1, "VRS", 3) == 0) return "bad stream magic at offset 0";
  return "not a vredir stream (bad magic at offset 0)";
}

void FrameReader::feed(const uint8_t* data, size_t size) {
  if (size == 0) return;
  // Drop what was handed out before growing, so the buffer stays about one
  // frame plus one chunk.
  if (start_ > 0 && (start_ >= buf_.size() / 2 || start_ > (1u << 20))) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(start_));
    start_ = 0;
  }
  buf_.insert(buf_.end(), data, data + size);
}

FrameReader::Result FrameReader::fail(std::string* err, std::string message) {
  failed_ = true;
  error_ = std::move(message);
  *err = error_;
  return Result::kError;
}

FrameReader::Result FrameReader::read_header(std::string* err) {
  const uint8_t* p = buf_.data() + start_;
  size_t avail = buffered();
  // Judge the magic as soon as enough bytes are here to see damage.
  size_t check = avail < sizeof(kMagic) ? avail : sizeof(kMagic);
  if (std::memcmp(p, kMagic, check) != 0) return fail(err, describe_bad_magic(p, avail));
  if (avail < kStreamHeaderSize) return Result::kNeedMore;
  ByteReader r(p + sizeof(kMagic), kStreamHeaderSize - sizeof(kMagic));
  uint16_t major = r.u16le();
  minor_ = r.u16le();
  if (major != kVersionMajor)
    return fail(err, "unsupported stream version " + std::to_string(major) + "." + std::to_string(minor_) +
                         " at offset 8 (this tool reads version " + std::to_string(kVersionMajor) + ".x)");
  header_seen_ = true;
  start_ += kStreamHeaderSize;
  consumed_ += kStreamHeaderSize;
  return Result::kNeedMore;
}

FrameReader::Result FrameReader::next(Frame* out, std::string* err) {
  if (failed_) {
    *err = error_;
    return Result::kError;
  }
  for (;;) {
    if (inflated_pos_ < inflated_.size()) return next_inflated(out, err);
    if (!header_seen_) {
      if (buffered() == 0) return Result::kNeedMore;
      Result res = read_header(err);
      if (res == Result::kError || !header_seen_) return res;
    }
    if (buffered() < kFrameHeaderSize) return Result::kNeedMore;
    FrameHeader h = parse_frame_header(buf_.data() + start_);
    if (h.length > limits_.max_payload)
      return fail(err, "frame length " + std::to_string(h.length) + " over the limit of " +
                           std::to_string(limits_.max_payload) + " at offset " + std::to_string(consumed_));
    if (!limits_.allow_deflate && h.channel == 0 && static_cast<FrameType>(h.type) == FrameType::kDeflate)
      return fail(err, "DEFLATE not accepted here at offset " + std::to_string(consumed_));
    if (buffered() - kFrameHeaderSize < h.length) return Result::kNeedMore;
    out->header = h;
    out->offset = consumed_;
    out->payload = std::span<const uint8_t>(buf_.data() + start_ + kFrameHeaderSize, h.length);
    start_ += kFrameHeaderSize + h.length;
    consumed_ += kFrameHeaderSize + h.length;
    if (h.channel != 0 || static_cast<FrameType>(h.type) != FrameType::kDeflate) return Result::kFrame;
    if (inflate_piece(*out, err) == Result::kError) return Result::kError;
  }
}

// Inflates one DEFLATE piece into inflated_. The output grows as inflate
// produces it and stops at kMaxInflatedPiece, so a small piece cannot claim
// more memory than that.
FrameReader::Result FrameReader::inflate_piece(const Frame& piece, std::string* err) {
  const std::string at = " in DEFLATE at offset " + std::to_string(piece.offset);
  if (!inflater_) {
    inflater_ = std::make_unique<Inflater>();
    if (inflateInit2(&inflater_->z, -15) != Z_OK) return fail(err, "cannot start inflating" + at);
    inflater_->ready = true;
  }
  z_stream& z = inflater_->z;
  inflated_.clear();
  inflated_pos_ = 0;
  piece_offset_ = piece.offset;
  deflated_bytes_ += kFrameHeaderSize + piece.payload.size();
  z.next_in = const_cast<Bytef*>(piece.payload.data());
  z.avail_in = static_cast<uInt>(piece.payload.size());
  size_t chunk = piece.payload.size() * 4 + 1024;
  for (;;) {
    size_t have = inflated_.size();
    if (have >= kMaxInflatedPiece)
      return fail(err, "DEFLATE piece inflates to more than " + std::to_string(kMaxInflatedPiece) + " bytes" + at);
    size_t grow = chunk < kMaxInflatedPiece - have ? chunk : kMaxInflatedPiece - have;
    chunk = chunk * 2;
    inflated_.resize(have + grow);
    z.next_out = inflated_.data() + have;
    z.avail_out = static_cast<uInt>(grow);
    int rc = inflate(&z, Z_SYNC_FLUSH);
    inflated_.resize(have + grow - z.avail_out);
    if (rc == Z_STREAM_END) {
      // The producer ended its deflate stream; a later piece starts anew.
      if (z.avail_in != 0) return fail(err, "data after the end of the deflate stream" + at);
      inflateReset(&z);
      break;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // all input used, nothing pending
    if (rc != Z_OK) return fail(err, std::string("bad deflate data (") + (z.msg ? z.msg : "error") + ")" + at);
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  inflated_bytes_ += inflated_.size();
  return Result::kNeedMore;
}

// The next frame of the current DEFLATE piece: whole, never another DEFLATE.
FrameReader::Result FrameReader::next_inflated(Frame* out, std::string* err) {
  const std::string at = " in DEFLATE at offset " + std::to_string(piece_offset_);
  size_t left = inflated_.size() - inflated_pos_;
  if (left < kFrameHeaderSize) return fail(err, "frame header cut at the end of a piece" + at);
  FrameHeader h = parse_frame_header(inflated_.data() + inflated_pos_);
  if (h.length > left - kFrameHeaderSize)
    return fail(err, "frame of " + std::to_string(h.length) + " bytes cut at the end of a piece" + at);
  if (h.channel == 0 && static_cast<FrameType>(h.type) == FrameType::kDeflate)
    return fail(err, "DEFLATE inside a DEFLATE piece" + at);
  out->header = h;
  out->offset = piece_offset_;
  out->payload = std::span<const uint8_t>(inflated_.data() + inflated_pos_ + kFrameHeaderSize, h.length);
  inflated_pos_ += kFrameHeaderSize + h.length;
  return Result::kFrame;
}

std::string FrameReader::truncation() const {
  size_t left = buffered();
  if (!header_seen_) {
    if (consumed_ == 0 && left == 0) return "empty stream (no header) at offset 0";
    return "stream cut inside the stream header at offset " + std::to_string(consumed_ + left);
  }
  if (left == 0) return "";
  if (left < kFrameHeaderSize)
    return "stream cut inside a frame header at offset " + std::to_string(consumed_ + left) + " (frame at " +
           std::to_string(consumed_) + ")";
  ByteReader r(buf_.data() + start_, 4);
  uint32_t len = r.u32le();
  return "stream cut inside a frame at offset " + std::to_string(consumed_ + left) + " (frame at " +
         std::to_string(consumed_) + " needs " + std::to_string(kFrameHeaderSize + uint64_t(len)) + " bytes, " +
         std::to_string(left) + " present)";
}

}  // namespace vredir::stream
