#include "rfb/rfb_encodings.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "wire/byte_reader.hpp"

namespace vredir::rfb {

namespace {

constexpr uint32_t kZrleTile = 64;

Status malformed(const std::string& why) {
  return fail(kExitMalformed, "malformed RFB framebuffer update from the VNC server: " + why);
}

// Reads pixels of the negotiated format as 0x00RRGGBB.
struct PixelReader {
  bool big_endian = false;
  bool identity = false;  // little-endian 0x00RRGGBB already
  uint8_t rs = 16, gs = 8, bs = 0;
  uint32_t rm = 255, gm = 255, bm = 255;
  uint32_t cpixel_bytes = 4;
  bool cpixel_high = false;  // the 3 bytes of a CPIXEL are the word's most significant ones

  explicit PixelReader(const PixelFormat& f) {
    big_endian = f.big_endian != 0;
    rs = f.red_shift, gs = f.green_shift, bs = f.blue_shift;
    rm = f.red_max, gm = f.green_max, bm = f.blue_max;
    identity = !big_endian && rs == 16 && gs == 8 && bs == 0 && rm == 255 && gm == 255 && bm == 255;
    // A format with a shift past the word is refused by
    // pixel_format_supported(); this reader is built before that check, so
    // it must not shift by the peer's number unchecked.
    if (rs > 31 || gs > 31 || bs > 31) {
      rs = gs = bs = 0;
      return;
    }
    uint64_t bits = (uint64_t(rm) << rs) | (uint64_t(gm) << gs) | (uint64_t(bm) << bs);
    if (f.depth <= 24 && (bits & 0xFF000000u) == 0) {
      cpixel_bytes = 3;
    } else if (f.depth <= 24 && (bits & 0xFFu) == 0) {
      cpixel_bytes = 3;
      cpixel_high = true;
    }
  }

  static uint32_t scale(uint32_t v, uint32_t max) { return max == 255 ? v : (max ? v * 255 / max : 0); }

  uint32_t from_word(uint32_t v) const {
    if (identity) return v & 0xFFFFFFu;
    uint32_t r = scale((v >> rs) & rm, rm), g = scale((v >> gs) & gm, gm), b = scale((v >> bs) & bm, bm);
    return (r << 16) | (g << 8) | b;
  }
  uint32_t pixel(const uint8_t* p) const {
    uint32_t v = big_endian ? (uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3])
                            : (uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0]);
    return from_word(v);
  }
  uint32_t cpixel(const uint8_t* p) const {
    if (cpixel_bytes == 4) return pixel(p);
    uint32_t v;
    if (!big_endian)
      v = cpixel_high ? (uint32_t(p[0]) << 8 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 24)
                      : (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16);
    else
      v = cpixel_high ? (uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8)
                      : (uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | uint32_t(p[2]));
    return from_word(v);
  }
};

// Writes pixels into the framebuffer, noting whether anything changed.
struct Painter {
  Framebuffer* fb;
  bool changed = false;
  void put(uint32_t x, uint32_t y, uint32_t rgb) {
    uint32_t& d = fb->pixels[size_t(y) * fb->width + x];
    changed |= d != rgb;
    d = rgb;
  }
  void fill(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t rgb) {
    for (uint32_t j = 0; j < h; ++j) {
      uint32_t* row = &fb->pixels[size_t(y + j) * fb->width + x];
      for (uint32_t i = 0; i < w; ++i) {
        changed |= row[i] != rgb;
        row[i] = rgb;
      }
    }
  }
};

bool inside(const Rect& r, const Framebuffer& fb) {
  return uint64_t(r.x) + r.width <= fb.width && uint64_t(r.y) + r.height <= fb.height;
}

// Run length of ZRLE's RLE subencodings: 255-valued bytes add up, the last
// byte ends the run; the length is the sum plus one.
uint64_t read_run(ByteReader& r, uint64_t limit) {
  uint64_t run = 1;
  for (;;) {
    uint8_t b = r.u8();
    if (!r.ok()) return 0;
    run += b;
    if (run > limit) {
      r.fail("ZRLE run longer than its tile");
      return 0;
    }
    if (b != 255) return run;
  }
}

}  // namespace

void Framebuffer::resize(uint32_t w, uint32_t h) {
  width = w;
  height = h;
  pixels.assign(size_t(w) * h, 0);
}

bool pixel_format_supported(const PixelFormat& f) {
  if (f.bits_per_pixel != 32 || !f.true_colour) return false;
  if (f.red_shift > 31 || f.green_shift > 31 || f.blue_shift > 31) return false;
  uint64_t bits = (uint64_t(f.red_max) << f.red_shift) | (uint64_t(f.green_max) << f.green_shift) |
                  (uint64_t(f.blue_max) << f.blue_shift);
  return bits <= 0xFFFFFFFFu;
}

struct UpdateDecoder::Inflater {
  z_stream z{};
  bool ready = false;

  Inflater() { ready = inflateInit(&z) == Z_OK; }
  ~Inflater() {
    if (ready) inflateEnd(&z);
  }

  // Inflates all of in (a continuation of the connection's stream) onto
  // *out, which grows as output appears and never past cap bytes.
  Status run(std::span<const uint8_t> in, uint64_t cap, std::vector<uint8_t>* out) {
    out->clear();
    if (!ready) return fail(kExitFailure, "zlib could not be initialised");
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    size_t used = 0;
    for (;;) {
      if (used == out->size()) {
        if (used >= cap) {
          // Full: the rest of the input must not yield anything more.
          for (;;) {
            uint8_t probe;
            z.next_out = &probe;
            z.avail_out = 1;
            int rc = inflate(&z, Z_SYNC_FLUSH);
            if (z.avail_out == 0) return malformed("compressed data inflates beyond its rectangle");
            if (rc != Z_OK && rc != Z_BUF_ERROR) return malformed("corrupt zlib data");
            if (z.avail_in == 0) return Status::ok();
            if (rc == Z_BUF_ERROR) return malformed("corrupt zlib data");
          }
        }
        out->resize(static_cast<size_t>(std::min<uint64_t>(cap, std::max<uint64_t>(65536, uint64_t(used) * 2))));
      }
      z.next_out = out->data() + used;
      z.avail_out = static_cast<uInt>(out->size() - used);
      int rc = inflate(&z, Z_SYNC_FLUSH);
      used = out->size() - z.avail_out;
      if (rc == Z_STREAM_END) return malformed("the zlib stream ended (RFB streams last the whole connection)");
      if (rc != Z_OK && rc != Z_BUF_ERROR) return malformed("corrupt zlib data");
      if (z.avail_out > 0) {
        out->resize(used);
        if (z.avail_in == 0) return Status::ok();
        if (rc == Z_BUF_ERROR) return malformed("corrupt zlib data");
      }
    }
  }
};

UpdateDecoder::UpdateDecoder() : zlib_(std::make_unique<Inflater>()), zrle_(std::make_unique<Inflater>()) {}
UpdateDecoder::~UpdateDecoder() = default;

Status UpdateDecoder::apply(std::span<const uint8_t> message, const PixelFormat& format, Framebuffer* fb,
                            UpdateResult* out) {
  *out = UpdateResult();
  ByteReader r(message);
  if (r.u8() != kMsgFramebufferUpdate) return malformed("not a FramebufferUpdate");
  r.skip(1);
  uint16_t count = r.u16be();
  if (!r.ok()) return malformed(r.error());
  const PixelReader px(format);
  const bool pixels_ok = pixel_format_supported(format);
  Painter paint{fb};
  const uint64_t bpp = 4;

  for (uint32_t i = 0; i < count; ++i) {
    Rect rect = read_rect_header(r);
    if (!r.ok()) return malformed(r.error());
    uint64_t size = 0;
    Frame pending;
    if (!rect_payload_size(r, rect, format, kAcceptAll, &size, &pending))
      return malformed(pending.kind == Frame::kMalformed ? pending.error : "truncated rectangle");
    std::span<const uint8_t> payload = r.bytes(size);
    if (!r.ok()) return malformed("truncated rectangle");
    ByteReader p(payload);
    const uint32_t w = rect.width, h = rect.height;

    switch (rect.encoding) {
      case kEncodingLastRect: i = count; continue;
      case kEncodingQemuAudio: out->audio_ack = true; continue;
      case kEncodingDesktopSize:
      case kEncodingExtendedDesktopSize: {
        DesktopSize ds;
        ds.extended = rect.encoding == kEncodingExtendedDesktopSize;
        ds.width = rect.width;
        ds.height = rect.height;
        if (ds.extended) {
          ds.reason = rect.x;
          ds.status = rect.y;
          uint8_t screens = p.u8();
          p.skip(3);
          for (uint8_t s = 0; s < screens && p.ok(); ++s) {
            Screen sc;
            sc.id = p.u32be();
            sc.x = p.u16be();
            sc.y = p.u16be();
            sc.width = p.u16be();
            sc.height = p.u16be();
            sc.flags = p.u32be();
            ds.screens.push_back(sc);
          }
          if (!p.ok()) return malformed(p.error());
        }
        if (w == 0 || h == 0 || w > kMaxFramebufferSide || h > kMaxFramebufferSide ||
            uint64_t(w) * h > kMaxFramebufferPixels)
          return malformed("desktop size " + std::to_string(w) + "x" + std::to_string(h) + " is out of range");
        if (w != fb->width || h != fb->height) {
          fb->resize(w, h);
          out->resized = true;
          out->changed = true;
        }
        out->desktop_sizes.push_back(std::move(ds));
        continue;
      }
      case kEncodingCursor: {
        if (!pixels_ok) return malformed("unsupported pixel format");
        if (w > kMaxCursorSide || h > kMaxCursorSide) continue;  // ignored; the stream caps cursors
        CursorImage c;
        c.width = w;
        c.height = h;
        c.hot_x = w ? std::min<uint32_t>(rect.x, w - 1) : 0;
        c.hot_y = h ? std::min<uint32_t>(rect.y, h - 1) : 0;
        c.argb.resize(size_t(w) * h);
        std::span<const uint8_t> colours = p.bytes(uint64_t(w) * h * bpp);
        const uint64_t mask_row = (uint64_t(w) + 7) / 8;
        std::span<const uint8_t> mask = p.bytes(mask_row * h);
        if (!p.ok()) return malformed(p.error());
        for (uint32_t y = 0; y < h; ++y)
          for (uint32_t x = 0; x < w; ++x) {
            bool opaque = (mask[y * mask_row + x / 8] >> (7 - x % 8)) & 1;
            c.argb[size_t(y) * w + x] =
                (opaque ? 0xFF000000u : 0u) | px.pixel(&colours[(size_t(y) * w + x) * bpp]);
          }
        out->cursor = std::move(c);
        continue;
      }
      default: break;
    }

    // Pixel-carrying encodings.
    if (!pixels_ok) return malformed("unsupported pixel format");
    if (!inside(rect, *fb))
      return malformed("rectangle " + std::to_string(w) + "x" + std::to_string(h) + "+" + std::to_string(rect.x) +
                       "+" + std::to_string(rect.y) + " lies outside the " + std::to_string(fb->width) + "x" +
                       std::to_string(fb->height) + " framebuffer");
    if (rect.encoding == kEncodingRaw || rect.encoding == kEncodingZlib) {
      std::span<const uint8_t> data;
      const uint64_t expect = uint64_t(w) * h * bpp;
      if (rect.encoding == kEncodingRaw) {
        data = payload;
      } else {
        p.skip(4);
        if (Status st = zlib_->run(p.rest(), expect, &inflated_); !st) return st;
        if (inflated_.size() != expect) return malformed("zlib rectangle inflates to the wrong size");
        data = inflated_;
      }
      if (w == 0 || h == 0) {
        // An empty rectangle paints nothing (its zlib bytes, if any, have
        // gone through the stream above, which carries over).
      } else if (px.identity) {
        for (uint32_t y = 0; y < h; ++y) {
          uint32_t* row = &fb->pixels[size_t(rect.y + y) * fb->width + rect.x];
          const uint8_t* src = &data[size_t(y) * w * bpp];
          for (uint32_t x = 0; x < w; ++x) {
            uint32_t v;
            std::memcpy(&v, src + size_t(x) * 4, 4);
            v &= 0xFFFFFFu;
            paint.changed |= row[x] != v;
            row[x] = v;
          }
        }
      } else {
        for (uint32_t y = 0; y < h; ++y)
          for (uint32_t x = 0; x < w; ++x)
            paint.put(rect.x + x, rect.y + y, px.pixel(&data[(size_t(y) * w + x) * bpp]));
      }
    } else if (rect.encoding == kEncodingCopyRect) {
      uint16_t sx = p.u16be(), sy = p.u16be();
      if (!p.ok()) return malformed(p.error());
      if (uint64_t(sx) + w > fb->width || uint64_t(sy) + h > fb->height)
        return malformed("copy-rect source lies outside the framebuffer");
      if (w == 0 || h == 0) continue;  // nothing to copy
      scratch_.resize(size_t(w) * h);
      for (uint32_t y = 0; y < h; ++y)
        std::memcpy(&scratch_[size_t(y) * w], &fb->pixels[size_t(sy + y) * fb->width + sx], size_t(w) * 4);
      for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) paint.put(rect.x + x, rect.y + y, scratch_[size_t(y) * w + x]);
    } else if (rect.encoding == kEncodingZrle) {
      p.skip(4);
      const uint64_t tiles = ((uint64_t(w) + kZrleTile - 1) / kZrleTile) * ((uint64_t(h) + kZrleTile - 1) / kZrleTile);
      // Worst case per tile: a subencoding byte and a 127-entry palette; per
      // pixel: a 4-byte CPIXEL and a run byte.
      const uint64_t cap = tiles * (1 + 127 * 4) + uint64_t(w) * h * 5;
      if (Status st = zrle_->run(p.rest(), cap, &inflated_); !st) return st;
      ByteReader z(inflated_);
      const uint32_t cb = px.cpixel_bytes;
      uint32_t palette[128];
      for (uint32_t ty = 0; ty < h && z.ok(); ty += kZrleTile) {
        const uint32_t th = std::min(kZrleTile, h - ty);
        for (uint32_t tx = 0; tx < w && z.ok(); tx += kZrleTile) {
          const uint32_t tw = std::min(kZrleTile, w - tx);
          const uint32_t x0 = rect.x + tx, y0 = rect.y + ty;
          const uint64_t n = uint64_t(tw) * th;
          uint8_t sub = z.u8();
          if (!z.ok()) break;
          if (sub == 0) {  // raw CPIXELs
            std::span<const uint8_t> d = z.bytes(n * cb);
            if (!z.ok()) break;
            for (uint32_t y = 0; y < th; ++y)
              for (uint32_t x = 0; x < tw; ++x) paint.put(x0 + x, y0 + y, px.cpixel(&d[(size_t(y) * tw + x) * cb]));
          } else if (sub == 1) {  // solid
            std::span<const uint8_t> d = z.bytes(cb);
            if (!z.ok()) break;
            paint.fill(x0, y0, tw, th, px.cpixel(d.data()));
          } else if (sub <= 16) {  // packed palette
            const uint32_t size = sub;
            std::span<const uint8_t> pal = z.bytes(uint64_t(size) * cb);
            if (!z.ok()) break;
            for (uint32_t k = 0; k < size; ++k) palette[k] = px.cpixel(&pal[size_t(k) * cb]);
            const uint32_t bits = size == 2 ? 1 : size <= 4 ? 2 : 4;
            const uint64_t row_bytes = (uint64_t(tw) * bits + 7) / 8;
            std::span<const uint8_t> packed = z.bytes(row_bytes * th);
            if (!z.ok()) break;
            for (uint32_t y = 0; y < th && z.ok(); ++y)
              for (uint32_t x = 0; x < tw; ++x) {
                uint64_t bit = uint64_t(x) * bits;
                uint32_t idx = (packed[y * row_bytes + bit / 8] >> (8 - bits - bit % 8)) & ((1u << bits) - 1);
                if (idx >= size) {
                  z.fail("ZRLE palette index out of range");
                  break;
                }
                paint.put(x0 + x, y0 + y, palette[idx]);
              }
          } else if (sub == 128 || sub >= 130) {  // plain RLE / palette RLE
            const bool use_palette = sub >= 130;
            const uint32_t size = use_palette ? sub - 128u : 0;
            if (use_palette) {
              std::span<const uint8_t> pal = z.bytes(uint64_t(size) * cb);
              if (!z.ok()) break;
              for (uint32_t k = 0; k < size; ++k) palette[k] = px.cpixel(&pal[size_t(k) * cb]);
            }
            uint64_t done = 0;
            while (done < n && z.ok()) {
              uint32_t colour;
              uint64_t run = 1;
              if (use_palette) {
                uint8_t b = z.u8();
                uint32_t idx = b & 0x7F;
                if (z.ok() && idx >= size) z.fail("ZRLE palette index out of range");
                colour = palette[idx & 0x7F];
                if (z.ok() && (b & 0x80)) run = read_run(z, n - done);
              } else {
                std::span<const uint8_t> d = z.bytes(cb);
                colour = z.ok() ? px.cpixel(d.data()) : 0;
                if (z.ok()) run = read_run(z, n - done);
              }
              if (!z.ok()) break;
              for (uint64_t k = 0; k < run; ++k, ++done)
                paint.put(x0 + uint32_t(done % tw), y0 + uint32_t(done / tw), colour);
            }
          } else {
            z.fail("unknown ZRLE subencoding " + std::to_string(sub));
          }
        }
      }
      if (!z.ok()) return malformed(z.error());
      if (!z.at_end()) return malformed("ZRLE rectangle has " + std::to_string(z.remaining()) + " bytes left over");
    } else {
      return malformed("rectangle encoding " + std::to_string(rect.encoding) + " is not supported");
    }
    if (w && h) out->rects.push_back(PixelRect{rect.x, rect.y, w, h});
  }
  if (!r.ok()) return malformed(r.error());
  if (!r.at_end()) return malformed(std::to_string(r.remaining()) + " trailing bytes");
  out->changed |= paint.changed;
  return Status::ok();
}

}  // namespace vredir::rfb
