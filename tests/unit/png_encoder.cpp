// The fast PNG writer: what it writes reads back exactly through libpng.
#include "media/png_encoder.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/image_files.hpp"

using namespace vredir;

namespace {

std::vector<uint32_t> picture(uint32_t w, uint32_t h, uint32_t seed) {
  std::vector<uint32_t> px(size_t(w) * h);
  uint32_t v = seed;
  for (size_t i = 0; i < px.size(); ++i) {
    if (i % 5 == 0) v = v * 1103515245u + 12345u;
    px[i] = (i / w) % 3 ? (v >> 8) & 0xFFFFFF : 0x3366CC;  // runs, noise and flat rows
  }
  return px;
}

Image round_trip(const std::string& png) {
  char path[] = "/tmp/vredir-png-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, png.data(), png.size()) == static_cast<ssize_t>(png.size()));
  ::close(fd);
  Image img;
  Status st = read_png(path, &img);
  ::unlink(path);
  REQUIRE(st);
  return img;
}

}  // namespace

TEST_CASE("encoded PNGs decode to the same pixels", "[png_encoder]") {
  for (auto [w, h] : {std::pair<uint32_t, uint32_t>{1, 1}, {1, 40}, {37, 17}, {640, 480}, {5, 16}, {300, 33}}) {
    auto px = picture(w, h, w * 31 + h);
    for (int threads : {1, 3}) {
      std::string png;
      encode_png(px.data(), w, h, &png, threads);
      Image img = round_trip(png);
      CHECK(img.width == w);
      CHECK(img.height == h);
      CHECK(img.pixels == px);
    }
  }
}

TEST_CASE("writing a PNG over a device or a pipe writes into it", "[png_encoder]") {
  struct stat before {}, after {};
  REQUIRE(::stat("/dev/null", &before) == 0);
  REQUIRE(write_png_bytes("/dev/null", std::string(100, 'x')));
  REQUIRE(::stat("/dev/null", &after) == 0);
  CHECK(S_ISCHR(after.st_mode));
  CHECK(after.st_rdev == before.st_rdev);
  char dir[] = "/tmp/vredir-pngdir-XXXXXX";
  REQUIRE(::mkdtemp(dir));
  std::string fifo = std::string(dir) + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(rd >= 0);
  REQUIRE(write_png_bytes(fifo, "PNGDATA"));
  char buf[16] = {};
  CHECK(::read(rd, buf, sizeof buf) == 7);
  ::close(rd);
  struct stat sb {};
  REQUIRE(::lstat(fifo.c_str(), &sb) == 0);
  CHECK(S_ISFIFO(sb.st_mode));
  CHECK_FALSE(write_png_bytes(dir, "x"));
  ::unlink(fifo.c_str());
  ::rmdir(dir);
}

TEST_CASE("a band cache compresses only what changed", "[png_encoder]") {
  const uint32_t w = 200, h = 100;
  auto px = picture(w, h, 3);
  PngBandCache cache;
  cache.resize(w, h);
  std::string png;
  cache.encode(px.data(), &png);
  CHECK(cache.last_compressed() == 7);  // 100 rows in bands of 16
  CHECK(round_trip(png).pixels == px);
  cache.encode(px.data(), &png);
  CHECK(cache.last_compressed() == 0);
  CHECK(round_trip(png).pixels == px);
  for (uint32_t x = 0; x < w; ++x) px[size_t(40) * w + x] = 0xFFFFFF;
  cache.invalidate(40, 1);
  cache.encode(px.data(), &png);
  CHECK(cache.last_compressed() == 1);
  CHECK(round_trip(png).pixels == px);
  cache.invalidate(90, 50);  // rows 90 to 99 (clipped): the last two bands
  cache.encode(px.data(), &png);
  CHECK(cache.last_compressed() == 2);
}
