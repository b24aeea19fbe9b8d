#include <catch2/catch.hpp>

#include "wire/byte_reader.hpp"

using vredir::ByteReader;

TEST_CASE("reads little- and big-endian fields", "[byte_reader]") {
  const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
  ByteReader r(data, sizeof(data));
  CHECK(r.u8() == 0x01);
  CHECK(r.u16le() == 0x0302);
  CHECK(r.u32be() == 0x04050607u);
  CHECK(r.u64le() == 0x0f0e0d0c0b0a0908ull);
  CHECK(r.ok());
  CHECK(r.at_end());
}

TEST_CASE("reading past the end is a sticky error that returns zeros", "[byte_reader]") {
  const uint8_t data[] = {0xff, 0xff, 0xff};
  ByteReader r(data, sizeof(data));
  SECTION("a field longer than what is left") {
    CHECK(r.u32le() == 0);
    CHECK_FALSE(r.ok());
    CHECK(r.u8() == 0);  // sticky: even a byte that exists reads as 0
    CHECK(r.remaining() == 0);
    CHECK(r.error().find("need 4 bytes at offset 0") != std::string::npos);
  }
  SECTION("a huge declared length does not wrap around") {
    CHECK(r.bytes(0xffffffffffffffffull).empty());
    CHECK_FALSE(r.ok());
  }
  SECTION("need() checks before a loop") {
    r.u8();
    CHECK(r.need(2));
    CHECK_FALSE(r.need(3));
    CHECK_FALSE(r.ok());
  }
  SECTION("the first reason wins") {
    r.fail("first");
    r.fail("second");
    CHECK(r.error() == "first");
  }
}

TEST_CASE("writers and reader agree", "[byte_reader]") {
  std::string out;
  vredir::put_u16le(out, 0xbeef);
  vredir::put_u32be(out, 0x01020304);
  vredir::put_u64le(out, 0x1122334455667788ull);
  ByteReader r(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  CHECK(r.u16le() == 0xbeef);
  CHECK(r.u32be() == 0x01020304u);
  CHECK(r.u64le() == 0x1122334455667788ull);
  CHECK(r.ok());
}
