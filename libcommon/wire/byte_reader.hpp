// The one bounds-checked reader for untrusted bytes (streams, RFB, GDI records,
// auth handshakes). Reads past the end set a sticky error and return zeros, so
// a parser reads many fields and checks once. Lengths are checked against what
// is left before anything is subtracted, and sizes are 64-bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vredir {

class ByteReader {
 public:
  ByteReader() = default;
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}
  ByteReader(const uint8_t* data, size_t size) : data_(data, size) {}

  uint8_t u8();
  uint16_t u16le();
  uint32_t u32le();
  uint64_t u64le();
  int32_t i32le() { return static_cast<int32_t>(u32le()); }
  uint16_t u16be();
  uint32_t u32be();
  int32_t i32be() { return static_cast<int32_t>(u32be()); }

  // A view of the next n bytes; empty and sticky error if fewer are left.
  std::span<const uint8_t> bytes(uint64_t n);
  std::string_view str(uint64_t n);
  void skip(uint64_t n) { (void)bytes(n); }

  // Fails (sticky) unless at least n bytes are left. Use before loops.
  bool need(uint64_t n);
  // Marks the input invalid with a reason (first reason wins).
  void fail(std::string reason);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t offset() const { return pos_; }
  size_t remaining() const { return ok() ? data_.size() - pos_ : 0; }
  bool at_end() const { return pos_ == data_.size(); }
  std::span<const uint8_t> rest() const { return data_.subspan(pos_); }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  std::string error_;
};

// Little-endian appends for writers.
void put_u8(std::string& out, uint8_t v);
void put_u16le(std::string& out, uint16_t v);
void put_u32le(std::string& out, uint32_t v);
void put_u64le(std::string& out, uint64_t v);
void put_u16be(std::string& out, uint16_t v);
void put_u32be(std::string& out, uint32_t v);
void put_bytes(std::string& out, std::span<const uint8_t> bytes);
void put_bytes(std::string& out, std::string_view bytes);

}  // namespace vredir
