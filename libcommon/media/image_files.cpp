#include "media/image_files.hpp"

#include "media/png_encoder.hpp"

#include <fcntl.h>
#include <png.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "wire/byte_reader.hpp"
#include "sys/stdio_files.hpp"

namespace vredir {

namespace {
struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};
}  // namespace

namespace {

Status write_png_channels(const std::string& path, uint32_t width, uint32_t height, const uint32_t* pixels,
                          bool alpha) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) return fail(kExitFailure, "cannot write '" + path + "': " + std::strerror(errno));
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    return fail(kExitFailure, "cannot write '" + path + "': out of memory");
  }
  const size_t bpp = alpha ? 4 : 3;
  std::vector<uint8_t> row(size_t(width) * bpp);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return fail(kExitFailure, "cannot write PNG '" + path + "'");
  }
  png_init_io(png, f.get());
  png_set_compression_level(png, 1);
  png_set_IHDR(png, info, width, height, 8, alpha ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (uint32_t y = 0; y < height; ++y) {
    const uint32_t* src = pixels + size_t(y) * width;
    for (uint32_t x = 0; x < width; ++x) {
      row[x * bpp + 0] = static_cast<uint8_t>(src[x] >> 16);
      row[x * bpp + 1] = static_cast<uint8_t>(src[x] >> 8);
      row[x * bpp + 2] = static_cast<uint8_t>(src[x]);
      if (alpha) row[x * bpp + 3] = static_cast<uint8_t>(src[x] >> 24);
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fflush(f.get()) != 0) return fail(kExitFailure, "cannot write '" + path + "': " + std::strerror(errno));
  return Status::ok();
}

}  // namespace

Status write_png(const std::string& path, uint32_t width, uint32_t height, const uint32_t* pixels) {
  std::string png;
  encode_png(pixels, width, height, &png);
  return write_png_bytes(path, png);
}

Status write_png_alpha(const std::string& path, uint32_t width, uint32_t height, const uint32_t* pixels) {
  return write_png_channels(path, width, height, pixels, true);
}

Status read_png(const std::string& path, Image* out) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    int code = errno == ENOENT ? kExitNotFound : kExitFailure;
    return fail(code, "cannot open image '" + path + "': " + std::strerror(errno));
  }
  uint8_t sig[8] = {};
  if (std::fread(sig, 1, 8, f.get()) != 8 || png_sig_cmp(sig, 0, 8) != 0)
    return fail(kExitFailure, "'" + path + "' is not a PNG file");
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_read_struct(&png, &info, nullptr);
    return fail(kExitFailure, "cannot read '" + path + "': out of memory");
  }
  std::vector<uint8_t> row;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return fail(kExitFailure, "'" + path + "' is a damaged PNG file");
  }
  png_set_user_limits(png, 16384, 16384);
  png_init_io(png, f.get());
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out->width = png_get_image_width(png, info);
  out->height = png_get_image_height(png, info);
  if (png_get_rowbytes(png, info) != size_t(out->width) * 3) {
    png_destroy_read_struct(&png, &info, nullptr);
    return fail(kExitFailure, "'" + path + "': unsupported PNG layout");
  }
  out->pixels.assign(size_t(out->width) * out->height, 0);
  row.resize(size_t(out->width) * 3);
  int passes = png_set_interlace_handling(png);
  for (int pass = 0; pass < passes; ++pass) {
    for (uint32_t y = 0; y < out->height; ++y) {
      uint32_t* dst = &out->pixels[size_t(y) * out->width];
      for (uint32_t x = 0; x < out->width; ++x) {
        row[x * 3] = static_cast<uint8_t>(dst[x] >> 16);
        row[x * 3 + 1] = static_cast<uint8_t>(dst[x] >> 8);
        row[x * 3 + 2] = static_cast<uint8_t>(dst[x]);
      }
      png_read_row(png, row.data(), nullptr);
      for (uint32_t x = 0; x < out->width; ++x)
        dst[x] = (uint32_t(row[x * 3]) << 16) | (uint32_t(row[x * 3 + 1]) << 8) | row[x * 3 + 2];
    }
  }
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return Status::ok();
}

bool decode_ppm(std::span<const uint8_t> data, Image* out, std::string* err) {
  ByteReader r(data);
  // Header: "P6", then width, height and maxval as decimal numbers separated
  // by whitespace (comments from '#' to the end of a line), then one
  // whitespace byte before the samples.
  if (r.str(2) != "P6") {
    *err = "not a binary PPM (P6)";
    return false;
  }
  uint32_t v[3] = {};
  for (uint32_t& value : v) {
    bool digits = false;
    for (;;) {
      if (r.remaining() == 0) {
        *err = "truncated PPM header";
        return false;
      }
      uint8_t c = r.rest()[0];
      if (c == '#' && !digits) {
        while (r.remaining() && r.rest()[0] != '\n') r.skip(1);
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        r.skip(1);
        if (digits) break;
        continue;
      }
      if (c < '0' || c > '9' || value > 100000) {
        *err = "bad number in the PPM header";
        return false;
      }
      value = value * 10 + (c - '0');
      digits = true;
      r.skip(1);
    }
  }
  const uint32_t w = v[0], h = v[1];
  if (w == 0 || h == 0 || w > 16384 || h > 16384 || v[2] != 255) {
    *err = "unsupported PPM: " + std::to_string(w) + "x" + std::to_string(h) + ", maxval " + std::to_string(v[2]);
    return false;
  }
  std::span<const uint8_t> s = r.bytes(uint64_t(w) * h * 3);
  if (!r.ok()) {
    *err = "truncated PPM samples";
    return false;
  }
  out->width = w;
  out->height = h;
  out->pixels.resize(size_t(w) * h);
  for (size_t i = 0; i < out->pixels.size(); ++i)
    out->pixels[i] = uint32_t(s[i * 3]) << 16 | uint32_t(s[i * 3 + 1]) << 8 | s[i * 3 + 2];
  return true;
}

WavWriter::~WavWriter() { (void)close(); }

namespace {
std::string wav_header(uint32_t rate, uint16_t channels, uint32_t sample_bytes, uint64_t data_bytes) {
  uint32_t data32 = data_bytes > 0xffffffffull - 36 ? 0xffffffffu - 36 : static_cast<uint32_t>(data_bytes);
  std::string h = "RIFF";
  put_u32le(h, 36 + data32);
  h += "WAVEfmt ";
  put_u32le(h, 16);
  put_u16le(h, 1);  // PCM
  put_u16le(h, channels);
  put_u32le(h, rate);
  put_u32le(h, rate * channels * sample_bytes);
  put_u16le(h, static_cast<uint16_t>(channels * sample_bytes));
  put_u16le(h, static_cast<uint16_t>(sample_bytes * 8));
  h += "data";
  put_u32le(h, data32);
  return h;
}
}  // namespace

Status WavWriter::open(const std::string& path, uint32_t rate, uint16_t channels, stream::SampleFormat format) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return fail(kExitFailure, "cannot write '" + path + "': " + std::strerror(errno));
  path_ = path;
  data_bytes_ = 0;
  return write_all(fd_, wav_header(rate, channels, stream::sample_bytes(format), 0), path_);
}

Status WavWriter::write(const uint8_t* pcm, size_t size) {
  data_bytes_ += size;
  return write_all(fd_, std::string_view(reinterpret_cast<const char*>(pcm), size), path_);
}

Status WavWriter::close() {
  if (fd_ < 0) return Status::ok();
  // Patch the RIFF and data sizes now that they are known.
  std::string size_le;
  uint32_t data32 = data_bytes_ > 0xffffffffull - 36 ? 0xffffffffu - 36 : static_cast<uint32_t>(data_bytes_);
  put_u32le(size_le, 36 + data32);
  Status st = Status::ok();
  if (::pwrite(fd_, size_le.data(), 4, 4) != 4) st = fail(kExitFailure, "cannot finish '" + path_ + "'");
  size_le.clear();
  put_u32le(size_le, data32);
  if (st && ::pwrite(fd_, size_le.data(), 4, 40) != 4) st = fail(kExitFailure, "cannot finish '" + path_ + "'");
  ::close(fd_);
  fd_ = -1;
  return st;
}

}  // namespace vredir
