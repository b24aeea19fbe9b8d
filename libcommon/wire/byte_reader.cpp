#include "wire/byte_reader.hpp"

namespace vredir {

bool ByteReader::need(uint64_t n) {
  if (!ok()) return false;
  if (n > data_.size() - pos_) {
    fail("need " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) + ", have " +
         std::to_string(data_.size() - pos_));
    return false;
  }
  return true;
}

void ByteReader::fail(std::string reason) {
  if (error_.empty()) error_ = reason.empty() ? "invalid data" : std::move(reason);
}

std::span<const uint8_t> ByteReader::bytes(uint64_t n) {
  if (!need(n)) return {};
  auto out = data_.subspan(pos_, static_cast<size_t>(n));
  pos_ += static_cast<size_t>(n);
  return out;
}

std::string_view ByteReader::str(uint64_t n) {
  auto b = bytes(n);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

uint8_t ByteReader::u8() {
  auto b = bytes(1);
  return b.empty() ? 0 : b[0];
}

uint16_t ByteReader::u16le() {
  auto b = bytes(2);
  return b.empty() ? 0 : static_cast<uint16_t>(b[0] | (b[1] << 8));
}

uint32_t ByteReader::u32le() {
  auto b = bytes(4);
  if (b.empty()) return 0;
  return uint32_t(b[0]) | (uint32_t(b[1]) << 8) | (uint32_t(b[2]) << 16) | (uint32_t(b[3]) << 24);
}

uint64_t ByteReader::u64le() {
  uint64_t lo = u32le();
  uint64_t hi = u32le();
  return lo | (hi << 32);
}

uint16_t ByteReader::u16be() {
  auto b = bytes(2);
  return b.empty() ? 0 : static_cast<uint16_t>((b[0] << 8) | b[1]);
}

uint32_t ByteReader::u32be() {
  auto b = bytes(4);
  if (b.empty()) return 0;
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

void put_u8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }
void put_u16le(std::string& out, uint16_t v) {
  put_u8(out, v & 0xff);
  put_u8(out, v >> 8);
}
void put_u32le(std::string& out, uint32_t v) {
  put_u16le(out, v & 0xffff);
  put_u16le(out, v >> 16);
}
void put_u64le(std::string& out, uint64_t v) {
  put_u32le(out, static_cast<uint32_t>(v));
  put_u32le(out, static_cast<uint32_t>(v >> 32));
}
void put_u16be(std::string& out, uint16_t v) {
  put_u8(out, v >> 8);
  put_u8(out, v & 0xff);
}
void put_u32be(std::string& out, uint32_t v) {
  put_u16be(out, v >> 16);
  put_u16be(out, v & 0xffff);
}
void put_bytes(std::string& out, std::span<const uint8_t> bytes) {
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
void put_bytes(std::string& out, std::string_view bytes) { out.append(bytes); }

}  // namespace vredir
