#include "media/text_mode.hpp"

#include <algorithm>
#include <fstream>
#include <vector>

namespace vredir {

namespace {

// Code page 437 outside printable ASCII, as Unicode (the standard mapping).
constexpr char16_t kLow[32] = {u' ',      u'\u263A', u'\u263B', u'\u2665', u'\u2666', u'\u2663', u'\u2660', u'\u2022',
                               u'\u25D8', u'\u25CB', u'\u25D9', u'\u2642', u'\u2640', u'\u266A', u'\u266B', u'\u263C',
                               u'\u25BA', u'\u25C4', u'\u2195', u'\u203C', u'\u00B6', u'\u00A7', u'\u25AC', u'\u21A8',
                               u'\u2191', u'\u2193', u'\u2192', u'\u2190', u'\u221F', u'\u2194', u'\u25B2', u'\u25BC'};
constexpr char16_t kHigh[129] =
    u"\u2302"  // 0x7F
    u"\u00C7\u00FC\u00E9\u00E2\u00E4\u00E0\u00E5\u00E7\u00EA\u00EB\u00E8\u00EF\u00EE\u00EC\u00C4\u00C5"
    u"\u00C9\u00E6\u00C6\u00F4\u00F6\u00F2\u00FB\u00F9\u00FF\u00D6\u00DC\u00A2\u00A3\u00A5\u20A7\u0192"
    u"\u00E1\u00ED\u00F3\u00FA\u00F1\u00D1\u00AA\u00BA\u00BF\u2310\u00AC\u00BD\u00BC\u00A1\u00AB\u00BB"
    u"\u2591\u2592\u2593\u2502\u2524\u2561\u2562\u2556\u2555\u2563\u2551\u2557\u255D\u255C\u255B\u2510"
    u"\u2514\u2534\u252C\u251C\u2500\u253C\u255E\u255F\u255A\u2554\u2569\u2566\u2560\u2550\u256C\u2567"
    u"\u2568\u2564\u2565\u2559\u2558\u2552\u2553\u256B\u256A\u2518\u250C\u2588\u2584\u258C\u2590\u2580"
    u"\u03B1\u00DF\u0393\u03C0\u03A3\u03C3\u00B5\u03C4\u03A6\u0398\u03A9\u03B4\u221E\u03C6\u03B5\u2229"
    u"\u2261\u00B1\u2265\u2264\u2320\u2321\u00F7\u2248\u00B0\u2219\u00B7\u221A\u207F\u00B2\u25A0";  // 0xFF: see below

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string key_of(const VgaFont::Glyph& g) { return std::string(reinterpret_cast<const char*>(g.data()), g.size()); }

bool all_equal(std::span<const uint8_t> s, uint8_t v) {
  return std::all_of(s.begin(), s.end(), [v](uint8_t b) { return b == v; });
}

// The text cursor is a run of full rows in the lower half of its cell (Linux
// draws its underline cursor on rows 13-14 of 16), over whatever the cell
// holds. The cell is compared with the glyphs outside the run, the whole run
// first, then shorter runs inside it; printable ASCII wins, so a blank cell
// under the cursor reads as a space. An underscore under the cursor reads as
// a space too: one frame cannot tell them apart.
int lookup_under_cursor(const VgaFont& font, const VgaFont::Glyph& bits) {
  int last = -1, first = -1;
  for (int y = VgaFont::kRows - 1; y >= VgaFont::kRows / 2; --y) {
    if (bits[y] == 0xFF) {
      if (last < 0) last = y;
      first = y;
    } else if (last >= 0) {
      break;
    }
  }
  if (last < 0) return -1;
  const int run = last - first + 1;
  for (int len = run; len >= 1; --len)
    for (int start = first; start + len <= last + 1; ++start) {
      uint16_t mask = 0;
      for (int y = start; y < start + len; ++y) mask |= static_cast<uint16_t>(1u << y);
      if (int code = font.lookup_except(bits, mask); code >= 0) return code;
    }
  return -1;
}

}  // namespace

std::string cp437_utf8(uint8_t code) {
  std::string out;
  if (code == 0 || code == 0xFF) return " ";
  if (code < 0x20) append_utf8(out, kLow[code]);
  else if (code < 0x7F) out += static_cast<char>(code);
  else append_utf8(out, kHigh[code - 0x7F]);
  return out;
}

bool VgaFont::load_from_rom(std::span<const uint8_t> rom) {
  constexpr size_t kTable = 256 * kRows;
  if (rom.size() < kTable) return false;
  for (size_t o = 0; o + kTable <= rom.size(); ++o) {
    // Glyph 0 and the space are empty, the full block (0xDB) is all set and
    // the lower half block (0xDC) sets the rows from 7 down.
    if (!all_equal(rom.subspan(o + 0xDB * kRows, kRows), 0xFF)) continue;
    if (!all_equal(rom.subspan(o, kRows), 0) || !all_equal(rom.subspan(o + 0x20 * kRows, kRows), 0)) continue;
    std::span<const uint8_t> half = rom.subspan(o + 0xDC * kRows, kRows);
    if (!all_equal(half.first(7), 0) || !all_equal(half.subspan(7), 0xFF)) continue;
    index_.clear();
    for (int c = 0; c < 256; ++c) std::copy_n(rom.begin() + static_cast<std::ptrdiff_t>(o + size_t(c) * kRows), kRows,
                                                glyphs_[c].begin());
    // Printable ASCII first, so that it wins where codes share a bitmap.
    std::vector<int> order;
    for (int c = 0x20; c < 0x7F; ++c) order.push_back(c);
    for (int c = 0x80; c < 0x100; ++c) order.push_back(c);
    for (int c = 1; c < 0x20; ++c) order.push_back(c);
    order.push_back(0x7F);
    order_.clear();
    for (int c : order) {
      index_.emplace(key_of(glyphs_[c]), static_cast<uint8_t>(c));
      order_.push_back(static_cast<uint8_t>(c));
    }
    return true;
  }
  return false;
}

Status VgaFont::load_installed(std::string* where) {
  static const char* const kRoms[] = {"/usr/share/seabios/vgabios-stdvga.bin", "/usr/share/seabios/vgabios-virtio.bin",
                                      "/usr/share/qemu/vgabios-stdvga.bin", "/usr/share/qemu/vgabios-virtio.bin",
                                      "/usr/share/seabios/vgabios-cirrus.bin", "/usr/share/qemu/vgabios-cirrus.bin"};
  std::string looked;
  for (const char* path : kRoms) {
    std::ifstream f(path, std::ios::binary);
    if (!f) continue;
    std::vector<uint8_t> rom;
    char buf[65536];
    while (f.read(buf, sizeof buf) || f.gcount() > 0) {
      rom.insert(rom.end(), buf, buf + f.gcount());
      if (rom.size() > (1u << 20)) break;  // a VGA BIOS is well under 1 MiB
    }
    if (load_from_rom(rom)) {
      *where = path;
      return Status::ok();
    }
    looked += std::string(looked.empty() ? "" : ", ") + path + " (no font)";
  }
  *where = looked.empty() ? "/usr/share/seabios/vgabios-*.bin" : looked;
  return fail(kExitNotFound, "no VGA BIOS font found (looked in " + *where + "; apt-get install seabios)");
}

int VgaFont::lookup_except(const Glyph& bits, uint16_t ignore_rows) const {
  for (uint8_t c : order_) {
    const Glyph& g = glyphs_[c];
    bool same = true;
    for (int y = 0; y < kRows && same; ++y) same = (ignore_rows >> y & 1) || g[y] == bits[y];
    if (same) return c;
  }
  return -1;
}

int VgaFont::lookup(const Glyph& bits) const {
  if (all_equal(bits, 0)) return ' ';
  auto it = index_.find(key_of(bits));
  return it == index_.end() ? -1 : it->second;
}

bool text_mode_geometry(uint32_t width, uint32_t height, uint32_t* cell_w, uint32_t* cell_h) {
  if (height % 16 != 0 || height / 16 < 10 || height / 16 > 100) return false;
  for (uint32_t cw : {9u, 8u}) {
    if (width % cw == 0 && width / cw >= 40 && width / cw <= 132) {
      *cell_w = cw;
      *cell_h = 16;
      return true;
    }
  }
  return false;
}

bool read_text_mode(const uint32_t* pixels, uint32_t width, uint32_t height, const VgaFont& font, ScreenText* out,
                    std::string* why) {
  uint32_t cw = 0, ch = 0;
  if (!font.loaded()) {
    *why = "no font";
    return false;
  }
  if (!text_mode_geometry(width, height, &cw, &ch)) {
    *why = "a " + std::to_string(width) + "x" + std::to_string(height) + " screen is no text mode";
    return false;
  }
  const uint32_t cols = width / cw, rows = height / ch;
  ScreenText text;
  text.source = "vga-font";
  for (uint32_t row = 0; row < rows; ++row) {
    std::vector<std::string> cells(cols);
    for (uint32_t col = 0; col < cols; ++col) {
      const uint32_t* origin = pixels + size_t(row) * ch * width + size_t(col) * cw;
      const uint32_t a = origin[0] & 0xFFFFFF;
      uint32_t b = a;
      uint32_t count_a = 0;
      for (uint32_t y = 0; y < ch; ++y)
        for (uint32_t x = 0; x < cw; ++x) {
          uint32_t p = origin[size_t(y) * width + x] & 0xFFFFFF;
          if (p == a) {
            ++count_a;
          } else if (b == a) {
            b = p;
          } else if (p != b) {
            *why = "the cell at column " + std::to_string(col) + ", row " + std::to_string(row) +
                   " has more than two colours";
            return false;
          }
        }
      if (b == a) {
        cells[col] = " ";
        continue;
      }
      // The colour with fewer pixels is tried as the foreground first.
      const uint32_t fgs[2] = {count_a * 2 < cw * ch ? a : b, count_a * 2 < cw * ch ? b : a};
      int code = -1;
      for (uint32_t fg : fgs) {
        VgaFont::Glyph bits{};
        for (uint32_t y = 0; y < ch; ++y) {
          uint8_t v = 0;
          for (uint32_t x = 0; x < 8; ++x)
            if ((origin[size_t(y) * width + x] & 0xFFFFFF) == fg) v |= static_cast<uint8_t>(0x80u >> x);
          bits[y] = v;
        }
        code = font.lookup(bits);
        if (code < 0) code = lookup_under_cursor(font, bits);
        if (code >= 0) break;
      }
      if (code < 0) {
        *why = "the cell at column " + std::to_string(col) + ", row " + std::to_string(row) +
               " is no glyph of the firmware's font";
        return false;
      }
      cells[col] = cp437_utf8(static_cast<uint8_t>(code));
    }
    // Words: runs of non-blank cells, at their columns.
    TextLine line;
    uint32_t written = 0;  // cells the line's text holds so far
    for (uint32_t col = 0; col < cols;) {
      if (cells[col] == " ") {
        ++col;
        continue;
      }
      line.text.append(col - written, ' ');
      TextWord w;
      w.start = line.text.size();
      w.advance = cw;
      const uint32_t first = col;
      while (col < cols && cells[col] != " ") w.text += cells[col++];
      w.box = ScreenRegion{first * cw, row * ch, (col - first) * cw, ch};
      line.text += w.text;
      written = col;
      line.words.push_back(std::move(w));
    }
    text.lines.push_back(std::move(line));
  }
  *out = std::move(text);
  return true;
}

}  // namespace vredir
