#include "media/png_encoder.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <algorithm>
#include <cstring>
#include <thread>

#include "sys/stdio_files.hpp"
#include "wire/byte_reader.hpp"

namespace vredir {

namespace {

constexpr uint32_t kBandRows = PngBandCache::kBandRows;

// One band: filtered rows, deflated at level 1 into a piece ending with a
// sync flush; *adler is the Adler-32 of the filtered (uncompressed) bytes.
void deflate_band(const uint32_t* pixels, uint32_t width, uint32_t y0, uint32_t rows, std::string* out,
                  uint32_t* adler, uint64_t* raw_bytes) {
  const size_t stride = size_t(width) * 3;
  std::vector<uint8_t> raw((stride + 1) * rows);
  std::vector<uint8_t> cur(stride), prev(stride);
  std::vector<uint8_t> sub(stride), up(stride);
  for (uint32_t r = 0; r < rows; ++r) {
    const uint32_t* src = pixels + size_t(y0 + r) * width;
    for (uint32_t x = 0; x < width; ++x) {
      cur[x * 3] = static_cast<uint8_t>(src[x] >> 16);
      cur[x * 3 + 1] = static_cast<uint8_t>(src[x] >> 8);
      cur[x * 3 + 2] = static_cast<uint8_t>(src[x]);
    }
    uint8_t* dst = &raw[(stride + 1) * r];
    uint64_t sum_sub = 0, sum_up = 0;
    for (size_t i = 0; i < stride; ++i) {
      uint8_t s = static_cast<uint8_t>(cur[i] - (i >= 3 ? cur[i - 3] : 0));
      sub[i] = s;
      sum_sub += s < 128 ? s : 256 - s;
    }
    bool use_up = false;
    if (r > 0) {
      for (size_t i = 0; i < stride; ++i) {
        uint8_t u = static_cast<uint8_t>(cur[i] - prev[i]);
        up[i] = u;
        sum_up += u < 128 ? u : 256 - u;
      }
      use_up = sum_up < sum_sub;
    }
    dst[0] = use_up ? 2 : 1;
    std::memcpy(dst + 1, use_up ? up.data() : sub.data(), stride);
    cur.swap(prev);
  }
  *adler = static_cast<uint32_t>(adler32(1, raw.data(), static_cast<uInt>(raw.size())));
  *raw_bytes = raw.size();
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  out->resize(deflateBound(&z, raw.size()) + 16);
  z.next_in = raw.data();
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(out->size());
  deflate(&z, Z_SYNC_FLUSH);
  out->resize(z.total_out);
  deflateEnd(&z);
}

void put_chunk(std::string& png, const char* type, std::string_view data) {
  put_u32be(png, static_cast<uint32_t>(data.size()));
  size_t start = png.size();
  png.append(type, 4);
  png.append(data);
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + start), static_cast<uInt>(png.size() - start));
  put_u32be(png, static_cast<uint32_t>(crc));
}

int pick_threads(int threads, size_t bands) {
  if (threads <= 0) threads = static_cast<int>(std::min(4u, std::max(1u, std::thread::hardware_concurrency())));
  return static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(1, bands / 4)));
}

// Runs job(i) for every i in todo, spread over threads.
template <typename Job>
void run_bands(const std::vector<size_t>& todo, int threads, Job job) {
  threads = pick_threads(threads, todo.size());
  if (threads <= 1) {
    for (size_t i : todo) job(i);
    return;
  }
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t k = static_cast<size_t>(t); k < todo.size(); k += static_cast<size_t>(threads)) job(todo[k]);
    });
  for (size_t k = 0; k < todo.size(); k += static_cast<size_t>(threads)) job(todo[k]);
  for (std::thread& th : pool) th.join();
}

struct Piece {
  const std::string* deflated;
  uint32_t adler;
  uint64_t raw_bytes;
};

void assemble(uint32_t width, uint32_t height, const std::vector<Piece>& pieces, std::string* png) {
  png->clear();
  png->append("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put_u32be(ihdr, width);
  put_u32be(ihdr, height);
  ihdr.append("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, deflate, adaptive filters, no interlace
  put_chunk(*png, "IHDR", ihdr);
  std::string idat = "\x78\x01";  // zlib header: deflate, 32 KiB window, fastest
  uint32_t adler = 1;
  for (const Piece& p : pieces) {
    idat += *p.deflated;
    adler = static_cast<uint32_t>(adler32_combine(adler, p.adler, static_cast<z_off_t>(p.raw_bytes)));
  }
  idat.append("\x03\x00", 2);  // an empty final fixed-Huffman block ends the deflate stream
  put_u32be(idat, adler);
  put_chunk(*png, "IDAT", idat);
  put_chunk(*png, "IEND", "");
}

}  // namespace

void encode_png(const uint32_t* pixels, uint32_t width, uint32_t height, std::string* png, int threads) {
  const size_t nbands = (height + kBandRows - 1) / kBandRows;
  std::vector<std::string> deflated(nbands);
  std::vector<uint32_t> adlers(nbands, 1);
  std::vector<uint64_t> raws(nbands, 0);
  std::vector<size_t> todo(nbands);
  for (size_t i = 0; i < nbands; ++i) todo[i] = i;
  run_bands(todo, threads, [&](size_t i) {
    uint32_t y0 = static_cast<uint32_t>(i) * kBandRows;
    deflate_band(pixels, width, y0, std::min(kBandRows, height - y0), &deflated[i], &adlers[i], &raws[i]);
  });
  std::vector<Piece> pieces;
  for (size_t i = 0; i < nbands; ++i) pieces.push_back({&deflated[i], adlers[i], raws[i]});
  assemble(width, height, pieces, png);
}

void PngBandCache::resize(uint32_t width, uint32_t height) {
  width_ = width;
  height_ = height;
  bands_.assign((height + kBandRows - 1) / kBandRows, Band{});
}

void PngBandCache::invalidate(uint32_t y, uint32_t h) {
  if (h == 0 || y >= height_) return;
  uint64_t end = std::min<uint64_t>(uint64_t(y) + h, height_);
  for (uint64_t b = y / kBandRows; b * kBandRows < end && b < bands_.size(); ++b) bands_[b].valid = false;
}

void PngBandCache::encode(const uint32_t* pixels, std::string* png, int threads) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < bands_.size(); ++i)
    if (!bands_[i].valid) todo.push_back(i);
  run_bands(todo, threads, [&](size_t i) {
    uint32_t y0 = static_cast<uint32_t>(i) * kBandRows;
    Band& b = bands_[i];
    deflate_band(pixels, width_, y0, std::min(kBandRows, height_ - y0), &b.deflated, &b.adler, &b.raw_bytes);
    b.valid = true;
  });
  last_compressed_ = todo.size();
  std::vector<Piece> pieces;
  for (const Band& b : bands_) pieces.push_back({&b.deflated, b.adler, b.raw_bytes});
  assemble(width_, height_, pieces, png);
}

Status write_png_bytes(const std::string& path, const std::string& png) {
  // A device, a pipe or a terminal (/dev/null, /dev/stdout) is written in
  // place: a rename would put a regular file where it was.
  struct stat sb {};
  if (::stat(path.c_str(), &sb) == 0 && !S_ISREG(sb.st_mode)) {
    if (S_ISDIR(sb.st_mode)) return fail(kExitFailure, "cannot write '" + path + "': it is a directory");
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail(kExitFailure, "cannot write '" + path + "': " + std::strerror(errno));
    Status st = write_all(fd, png, path);
    ::close(fd);
    return st;
  }
  // No fsync: a snapshot is evidence for the next step, not a database, and
  // a sync can cost more than the whole capture.
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(kExitFailure, "cannot write '" + path + "': " + std::strerror(errno));
  Status st = write_all(fd, png, path);
  ::close(fd);
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = fail(kExitFailure, "cannot write '" + path + "': " + std::strerror(errno));
  if (!st) ::unlink(tmp.c_str());
  return st;
}

Status write_temporary_png(const std::string& prefix, const uint32_t* pixels, uint32_t width, uint32_t height,
                           std::string* path) {
  const char* dir = std::getenv("TMPDIR");
  std::string safe;
  for (char c : prefix) safe += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/" + safe.substr(0, 80) + "-XXXXXX.png";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  int fd = ::mkstemps(buf.data(), 4);
  if (fd < 0) return fail(kExitFailure, "cannot create " + tmpl + ": " + std::strerror(errno));
  std::string png;
  encode_png(pixels, width, height, &png);
  Status st = write_all(fd, png, buf.data());
  ::close(fd);
  if (st) *path = buf.data();
  return st;
}

}  // namespace vredir
