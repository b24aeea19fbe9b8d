#include "media/screen_text.hpp"

#include <algorithm>

namespace vredir {

namespace {

// Characters (UTF-8 code points) in s[0, n).
uint32_t chars_in(const std::string& s, size_t n) {
  uint32_t c = 0;
  for (size_t i = 0; i < n && i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++c;
  return c;
}

}  // namespace

std::string ScreenText::text() const {
  std::string out;
  size_t keep = lines.size();
  while (keep > 0 && lines[keep - 1].text.empty()) --keep;
  for (size_t i = 0; i < keep; ++i) {
    if (i) out += '\n';
    out += lines[i].text;
  }
  return out;
}

ScreenText ScreenText::inside(const ScreenRegion& r) const {
  ScreenText out;
  out.source = source;
  if (r.w == 0 || r.h == 0) return *this;
  for (const TextLine& line : lines) {
    std::vector<TextWord> kept;
    for (const TextWord& w : line.words) {
      uint64_t x0 = std::max<uint64_t>(w.box.x, r.x), y0 = std::max<uint64_t>(w.box.y, r.y);
      uint64_t x1 = std::min<uint64_t>(uint64_t(w.box.x) + w.box.w, uint64_t(r.x) + r.w);
      uint64_t y1 = std::min<uint64_t>(uint64_t(w.box.y) + w.box.h, uint64_t(r.y) + r.h);
      uint64_t overlap = x1 > x0 && y1 > y0 ? (x1 - x0) * (y1 - y0) : 0;
      if (overlap * 2 > uint64_t(w.box.w) * w.box.h) kept.push_back(w);
    }
    if (!kept.empty()) out.add_line(std::move(kept));
  }
  return out;
}

void ScreenText::add_line(std::vector<TextWord> words) {
  TextLine line;
  for (TextWord& w : words) {
    if (!line.text.empty()) line.text += ' ';
    w.start = line.text.size();
    line.text += w.text;
  }
  line.words = std::move(words);
  lines.push_back(std::move(line));
}

nlohmann::ordered_json screen_text_json(const ScreenText& text) {
  nlohmann::ordered_json words = nlohmann::ordered_json::array();
  for (const TextLine& line : text.lines)
    for (const TextWord& w : line.words)
      words.push_back({{"text", w.text},
                       {"x", w.box.x},
                       {"y", w.box.y},
                       {"width", w.box.w},
                       {"height", w.box.h},
                       {"confidence", w.confidence}});
  return {{"source", text.source}, {"text", text.text()}, {"words", words}};
}

bool compile_text_regex(const std::string& expression, std::regex* out, std::string* err) {
  try {
    *out = std::regex(expression, std::regex::ECMAScript | std::regex::multiline);
  } catch (const std::regex_error& e) {
    *err = "bad regular expression '" + expression + "': " + e.what();
    return false;
  }
  return true;
}

bool find_text(const ScreenText& text, const std::regex& re, TextMatch* out) {
  std::string all;
  std::vector<size_t> line_start;
  for (size_t i = 0; i < text.lines.size(); ++i) {
    if (i) all += '\n';
    line_start.push_back(all.size());
    all += text.lines[i].text;
  }
  std::smatch m;
  if (!std::regex_search(all, m, re)) return false;
  const size_t begin = static_cast<size_t>(m.position(0));
  const size_t end = begin + static_cast<size_t>(m.length(0));
  out->text = m.str(0);
  bool any = false;
  uint64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  for (size_t i = 0; i < text.lines.size(); ++i) {
    for (const TextWord& w : text.lines[i].words) {
      size_t ws = line_start[i] + w.start, we = ws + w.text.size();
      // A word counts when the match overlaps it; an empty match counts the
      // word it sits in or at the start of.
      bool touches = end > begin ? (ws < end && begin < we) : (ws <= begin && begin < std::max(we, ws + 1));
      if (!touches) continue;
      ScreenRegion b = w.box;
      if (w.advance > 0 && end > begin) {
        // Fixed-width characters: only the ones matched.
        size_t from = std::max(ws, begin) - ws, to = std::min(we, end) - ws;
        uint32_t c0 = chars_in(w.text, from), c1 = chars_in(w.text, to);
        b.x += c0 * w.advance;
        b.w = (c1 - c0) * w.advance;
      }
      uint64_t bx1 = uint64_t(b.x) + b.w, by1 = uint64_t(b.y) + b.h;
      if (!any) {
        x0 = b.x, y0 = b.y, x1 = bx1, y1 = by1;
        any = true;
      } else {
        x0 = std::min<uint64_t>(x0, b.x), y0 = std::min<uint64_t>(y0, b.y);
        x1 = std::max(x1, bx1), y1 = std::max(y1, by1);
      }
    }
  }
  out->box = any ? ScreenRegion{uint32_t(x0), uint32_t(y0), uint32_t(x1 - x0), uint32_t(y1 - y0)} : ScreenRegion{};
  return true;
}

}  // namespace vredir
