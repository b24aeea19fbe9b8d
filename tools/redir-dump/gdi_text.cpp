#include "gdi_text.hpp"

#include <algorithm>
#include <cstdlib>

namespace vredir {

namespace {

constexpr uint32_t kTaRight = 2, kTaCenter = 6, kTaBottom = 8, kTaBaseline = 24;
constexpr int32_t kDefaultHeight = 13;  // the default GUI font, 8 points

// UTF-16 units of each code point of s, and the code points' byte offsets.
std::vector<std::pair<size_t, int>> code_points(const std::string& s) {
  std::vector<std::pair<size_t, int>> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.emplace_back(i, len == 4 ? 2 : 1);
    i += len;
  }
  return out;
}

int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1) { return std::max<int64_t>(0, std::min(a1, b1) - std::max(a0, b0)); }

}  // namespace

GdiTextModel::Target* GdiTextModel::target(uint32_t id) {
  auto it = targets_.find(id);
  if (it != targets_.end()) return &it->second;
  if (targets_.size() >= kMaxTargets) return nullptr;  // a hostile stream's millionth target
  return &targets_[id];
}

void GdiTextModel::erase(Target& t, const Box& b) {
  if (b.w <= 0 || b.h <= 0) return;
  std::erase_if(t.runs, [&](const Run& r) {
    int64_t area = r.box.w * r.box.h;
    int64_t o = overlap(r.box.x, r.box.x + r.box.w, b.x, b.x + b.w) * overlap(r.box.y, r.box.y + r.box.h, b.y, b.y + b.h);
    return area > 0 && o * 2 > area;
  });
}

void GdiTextModel::add_text(const gdi::Text& t) {
  Target* found = target(t.target);
  if (!found) return;
  Target& target = *found;
  if (t.options & gdi::Text::kOpaque) erase(target, Box{t.rect.x, t.rect.y, t.rect.w, t.rect.h});
  if (t.text.empty()) return;
  // The font's height, ascent and descent.
  int64_t ascent = kDefaultHeight * 4 / 5, height = kDefaultHeight;
  if (auto f = fonts_.find(target.font); f != fonts_.end()) {
    if (f->second.realised()) {
      ascent = f->second.ascent;
      height = f->second.ascent + f->second.descent;
    } else if (f->second.height != 0) {
      height = std::abs(f->second.height);
      ascent = height * 4 / 5;
    }
  }
  auto cps = code_points(t.text);
  int64_t units = 0;
  for (auto& cp : cps) units += cp.second;
  int64_t width = 0;
  if (!t.advances.empty()) {
    for (int32_t a : t.advances) width += a;
  } else {
    width = units * std::max<int64_t>(1, height * 11 / 20);
  }
  Run run;
  run.text = t.text;
  run.advances = t.advances;
  const uint32_t ha = target.align & kTaCenter, va = target.align & kTaBaseline;
  run.box.x = ha == kTaCenter ? t.pos.x - width / 2 : ha == kTaRight ? t.pos.x - width : t.pos.x;
  run.box.y = va == kTaBaseline ? t.pos.y - ascent : va == kTaBottom ? t.pos.y - height : t.pos.y;
  run.box.w = std::max<int64_t>(1, width);
  run.box.h = std::max<int64_t>(1, height);
  if (t.options & gdi::Text::kClipped) {
    int64_t x0 = std::max<int64_t>(run.box.x, t.rect.x), y0 = std::max<int64_t>(run.box.y, t.rect.y);
    int64_t x1 = std::min<int64_t>(run.box.x + run.box.w, int64_t(t.rect.x) + t.rect.w);
    int64_t y1 = std::min<int64_t>(run.box.y + run.box.h, int64_t(t.rect.y) + t.rect.h);
    if (x1 <= x0 || y1 <= y0) return;  // clipped away entirely
  }
  erase(target, run.box);
  target.runs.push_back(std::move(run));
  if (target.runs.size() > kMaxRuns) target.runs.erase(target.runs.begin());
}

void GdiTextModel::copy(uint32_t dst, const gdi::Rect& r, uint32_t src, gdi::Point p) {
  Target* found = target(dst);
  if (!found) return;
  Target& d = *found;
  erase(d, Box{r.x, r.y, r.w, r.h});
  auto si = targets_.find(src);
  if (src == 0 || src == dst || si == targets_.end()) return;
  const Target& s = si->second;
  const int64_t dx = int64_t(r.x) - p.x, dy = int64_t(r.y) - p.y;
  for (const Run& run : s.runs) {
    // Runs wholly inside the copied part land in the destination.
    if (run.box.x < p.x || run.box.y < p.y || run.box.x + run.box.w > int64_t(p.x) + r.w ||
        run.box.y + run.box.h > int64_t(p.y) + r.h)
      continue;
    Run moved = run;
    moved.box.x += dx;
    moved.box.y += dy;
    d.runs.push_back(std::move(moved));
  }
  if (d.runs.size() > kMaxRuns) d.runs.erase(d.runs.begin(), d.runs.begin() + static_cast<std::ptrdiff_t>(d.runs.size() - kMaxRuns));
}

void GdiTextModel::add(const gdi::Record& rec) {
  using namespace gdi;
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, WindowCreate>) {
          Target* t = target(r.target);
          if (!t) return;
          t->window = true;
          t->visible = r.flags & WindowCreate::kFlagVisible;
          t->x = r.rect.x;
          t->y = r.rect.y;
          t->w = r.rect.w;
          t->h = r.rect.h;
          if (std::find(order_.begin(), order_.end(), r.target) == order_.end()) order_.push_back(r.target);
        } else if constexpr (std::is_same_v<T, WindowDestroy> || std::is_same_v<T, SurfaceDelete>) {
          targets_.erase(r.target);
          std::erase(order_, r.target);
        } else if constexpr (std::is_same_v<T, WindowShow>) {
          if (Target* t = target(r.target)) t->visible = r.state == 1 || r.state == 3;
        } else if constexpr (std::is_same_v<T, WindowMove>) {
          if (Target* t = target(r.target)) t->x = r.rect.x, t->y = r.rect.y, t->w = r.rect.w, t->h = r.rect.h;
        } else if constexpr (std::is_same_v<T, SurfaceCreate>) {
          if (Target* t = target(r.target)) t->runs.clear();
        } else if constexpr (std::is_same_v<T, FontDef>) {
          if (fonts_.size() < kMaxTargets || fonts_.count(r.font)) fonts_[r.font] = r;
        } else if constexpr (std::is_same_v<T, State>) {
          if (Target* t = target(r.target)) t->font = r.font, t->align = r.text_align;
        } else if constexpr (std::is_same_v<T, Text>) {
          add_text(r);
        } else if constexpr (std::is_same_v<T, FillRect> || std::is_same_v<T, Rectangle> ||
                             std::is_same_v<T, RoundRect> || std::is_same_v<T, Ellipse> ||
                             std::is_same_v<T, Gradient>) {
          if (auto it = targets_.find(r.target); it != targets_.end())
            erase(it->second, Box{r.rect.x, r.rect.y, r.rect.w, r.rect.h});
        } else if constexpr (std::is_same_v<T, FillRgn>) {
          if (auto it = targets_.find(r.target); it != targets_.end())
            for (const gdi::Rect& b : r.rects) erase(it->second, Box{b.x, b.y, b.w, b.h});
        } else if constexpr (std::is_same_v<T, Copy>) {
          copy(r.dst, r.dst_rect, r.src, r.src_pt);
        } else if constexpr (std::is_same_v<T, Stretch> || std::is_same_v<T, AlphaBlend> ||
                             std::is_same_v<T, TransparentBlt> || std::is_same_v<T, BitmapDraw> ||
                             std::is_same_v<T, MaskBlt>) {
          if (auto it = targets_.find(r.dst); it != targets_.end())
            erase(it->second, Box{r.dst_rect.x, r.dst_rect.y, r.dst_rect.w, r.dst_rect.h});
        }
      },
      rec);
}

ScreenText GdiTextModel::text(const ScreenRegion& region) const {
  struct Placed {
    std::string text;
    int64_t x, y, w, h;
    const std::vector<int32_t>* advances;
  };
  ScreenText out;
  out.source = "gdi";
  for (uint32_t id : order_) {
    auto it = targets_.find(id);
    if (it == targets_.end() || !it->second.window || !it->second.visible) continue;
    const Target& t = it->second;
    std::vector<Placed> runs;
    for (const Run& r : t.runs) {
      // Drawn outside the window's area: clipped on screen, so not its text.
      const int64_t cx = r.box.x + r.box.w / 2, cy = r.box.y + r.box.h / 2;
      if (cx < 0 || cy < 0 || (t.w > 0 && cx >= t.w) || (t.h > 0 && cy >= t.h)) continue;
      int64_t x = t.x + r.box.x, y = t.y + r.box.y;
      if (x < 0 || y < 0) continue;
      runs.push_back({r.text, x, y, r.box.w, r.box.h, &r.advances});
    }
    std::stable_sort(runs.begin(), runs.end(), [](const Placed& a, const Placed& b) { return a.y < b.y; });
    // Lines: runs whose boxes share at least half the smaller height.
    std::vector<std::vector<Placed>> lines;
    for (const Placed& p : runs) {
      if (!lines.empty()) {
        const Placed& q = lines.back().front();
        if (overlap(p.y, p.y + p.h, q.y, q.y + q.h) * 2 >= std::min(p.h, q.h)) {
          lines.back().push_back(p);
          continue;
        }
      }
      lines.push_back({p});
    }
    for (auto& line : lines) {
      std::stable_sort(line.begin(), line.end(), [](const Placed& a, const Placed& b) { return a.x < b.x; });
      std::vector<TextWord> words;
      for (const Placed& p : line) {
        // Words of the run, each with its share of the run's box.
        auto cps = code_points(p.text);
        int64_t units = 0;
        for (auto& cp : cps) units += cp.second;
        std::vector<int64_t> unit_x(static_cast<size_t>(units) + 1, 0);
        for (int64_t u = 0; u < units; ++u) {
          int64_t adv = p.advances->size() == size_t(units) ? (*p.advances)[size_t(u)] : p.w / std::max<int64_t>(1, units);
          unit_x[size_t(u) + 1] = unit_x[size_t(u)] + adv;
        }
        size_t unit = 0, k = 0;
        while (k < cps.size()) {
          if (p.text[cps[k].first] == ' ') {
            unit += size_t(cps[k].second);
            ++k;
            continue;
          }
          size_t start_k = k, start_unit = unit;
          while (k < cps.size() && p.text[cps[k].first] != ' ') unit += size_t(cps[k].second), ++k;
          size_t b0 = cps[start_k].first, b1 = k < cps.size() ? cps[k].first : p.text.size();
          TextWord w;
          w.text = p.text.substr(b0, b1 - b0);
          w.box = ScreenRegion{uint32_t(p.x + unit_x[start_unit]), uint32_t(p.y),
                               uint32_t(std::max<int64_t>(1, unit_x[unit] - unit_x[start_unit])), uint32_t(p.h)};
          words.push_back(std::move(w));
        }
      }
      if (!words.empty()) out.add_line(std::move(words));
    }
  }
  return region.w ? out.inside(region) : out;
}

}  // namespace vredir
