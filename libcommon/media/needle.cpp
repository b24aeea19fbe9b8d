#include "media/needle.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "media/png_encoder.hpp"
#include "sys/stdio_files.hpp"

namespace vredir {

namespace {

using json = nlohmann::json;

constexpr uint32_t kMaxSide = 16384;
constexpr uint32_t kGreen = 0x00FF00;

bool get_u32(const json& o, const char* key, uint32_t max, uint32_t* out, std::string* err, bool required = true) {
  auto it = o.find(key);
  if (it == o.end()) {
    if (required) *err = std::string("an area has no \"") + key + "\"";
    return !required;
  }
  // os-autoinst's editor writes integers; some tools write 12.0.
  double v = 0;
  if (it->is_number_integer() || it->is_number_unsigned()) {
    if (it->is_number_integer() && it->get<int64_t>() < 0) {
      *err = std::string("\"") + key + "\" is negative";
      return false;
    }
    v = static_cast<double>(it->get<uint64_t>());
  } else if (it->is_number_float()) {
    v = it->get<double>();
    if (!(v >= 0) || v != std::floor(v)) {
      *err = std::string("\"") + key + "\" is not a whole number";
      return false;
    }
  } else {
    *err = std::string("\"") + key + "\" is not a number";
    return false;
  }
  if (v > max) {
    *err = std::string("\"") + key + "\" is over " + std::to_string(max);
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

uint8_t grey(uint32_t rgb) {
  // OpenCV's BGR2GRAY for 8-bit images: 14-bit fixed point, rounded.
  uint32_t r = (rgb >> 16) & 0xFF, g = (rgb >> 8) & 0xFF, b = rgb & 0xFF;
  return static_cast<uint8_t>((r * 4899 + g * 9617 + b * 1868 + (1u << 13)) >> 14);
}

// OpenCV's BORDER_REFLECT_101.
int64_t mirror(int64_t i, int64_t n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

}  // namespace

bool is_needle_json(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

bool parse_needle_json(std::string_view text, Needle* out, std::string* err) {
  if (text.size() > kMaxNeedleJsonBytes) {
    *err = "the needle is larger than 1 MiB";
    return false;
  }
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *err = "not a JSON object";
    return false;
  }
  auto areas = j.find("area");
  if (areas == j.end() || !areas->is_array()) {
    *err = "no \"area\" list";
    return false;
  }
  if (areas->size() > kMaxNeedleAreas) {
    *err = "more than " + std::to_string(kMaxNeedleAreas) + " areas";
    return false;
  }
  Needle n;
  bool have_match = false;
  for (const json& a : *areas) {
    if (!a.is_object()) {
      *err = "an area is not an object";
      return false;
    }
    NeedleArea area;
    if (!get_u32(a, "xpos", kMaxSide, &area.box.x, err) || !get_u32(a, "ypos", kMaxSide, &area.box.y, err) ||
        !get_u32(a, "width", kMaxSide, &area.box.w, err) || !get_u32(a, "height", kMaxSide, &area.box.h, err) ||
        !get_u32(a, "margin", kMaxSide, &area.margin, err, false))
      return false;
    if (area.box.w == 0 || area.box.h == 0) {
      *err = "an area is empty";
      return false;
    }
    if (auto t = a.find("type"); t != a.end()) {
      if (!t->is_string()) {
        *err = "\"type\" is not a string";
        return false;
      }
      const std::string& type = t->get_ref<const std::string&>();
      if (type == "match") area.type = NeedleArea::Type::kMatch;
      else if (type == "exclude") area.type = NeedleArea::Type::kExclude;
      else if (type == "ocr") area.type = NeedleArea::Type::kOcr;
      else {
        *err = "unknown area type \"" + type.substr(0, 32) + "\"";
        return false;
      }
    }
    if (auto m = a.find("match"); m != a.end() && !m->is_null()) {
      if (!m->is_number() || !(m->get<double>() >= 0 && m->get<double>() <= 100)) {
        *err = "\"match\" is not a percentage";
        return false;
      }
      // os-autoinst treats 0 as "not given".
      if (m->get<double>() > 0) area.match = m->get<double>();
    }
    if (auto c = a.find("click_point"); c != a.end()) {
      area.has_click = true;
      if (c->is_string() && c->get_ref<const std::string&>() == "center") {
        area.click_centre = true;
      } else if (c->is_object()) {
        if (!get_u32(*c, "xpos", kMaxSide, &area.click_x, err) || !get_u32(*c, "ypos", kMaxSide, &area.click_y, err))
          return false;
      } else {
        *err = "\"click_point\" is neither \"center\" nor {xpos, ypos}";
        return false;
      }
    }
    have_match |= area.type == NeedleArea::Type::kMatch;
    n.areas.push_back(area);
  }
  if (!have_match) {
    *err = "no match area";
    return false;
  }
  if (auto t = j.find("tags"); t != j.end() && t->is_array())
    for (const json& tag : *t)
      if (tag.is_string()) n.tags.push_back(tag.get<std::string>());
  if (auto p = j.find("png"); p != j.end() && p->is_string()) n.png = p->get<std::string>();
  *out = std::move(n);
  return true;
}

Status load_needle(const std::string& json_path, Needle* out) {
  std::ifstream f(json_path, std::ios::binary);
  if (!f) return fail(kExitNotFound, "cannot open needle '" + json_path + "'");
  std::string text;
  char buf[65536];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    text.append(buf, static_cast<size_t>(f.gcount()));
    if (text.size() > kMaxNeedleJsonBytes) return fail(kExitFailure, json_path + ": the needle is larger than 1 MiB");
  }
  Needle n;
  std::string err;
  if (!parse_needle_json(text, &n, &err)) return fail(kExitFailure, json_path + ": " + err);
  std::string dir, base = json_path.substr(0, json_path.size() - 5);
  if (size_t slash = json_path.rfind('/'); slash != std::string::npos) dir = json_path.substr(0, slash + 1);
  n.name = base.substr(dir.size());
  if (n.png.empty() || n.png.find('/') != std::string::npos) n.png = base + ".png";
  else n.png = dir + n.png;
  if (Status st = read_png(n.png, &n.image); !st) return st;
  for (const NeedleArea& a : n.areas)
    if (uint64_t(a.box.x) + a.box.w > n.image.width || uint64_t(a.box.y) + a.box.h > n.image.height)
      return fail(kExitFailure, json_path + ": an area lies outside its " + std::to_string(n.image.width) + "x" +
                                    std::to_string(n.image.height) + " image");
  *out = std::move(n);
  return Status::ok();
}

Status write_needle(const std::string& base, const Image& screen, const std::vector<ScreenRegion>& areas,
                    const std::vector<ScreenRegion>& excludes) {
  json list = json::array();
  auto add = [&](const ScreenRegion& r, const char* type) {
    list.push_back({{"xpos", r.x}, {"ypos", r.y}, {"width", r.w}, {"height", r.h}, {"type", type}});
  };
  for (const ScreenRegion& r : areas) add(r, "match");
  for (const ScreenRegion& r : excludes) add(r, "exclude");
  std::string name = base.substr(base.rfind('/') == std::string::npos ? 0 : base.rfind('/') + 1);
  json j = {{"area", list}, {"properties", json::array()}, {"tags", json::array({name})}};
  std::string png;
  encode_png(screen.pixels.data(), screen.width, screen.height, &png);
  if (Status st = write_png_bytes(base + ".png", png); !st) return st;
  return write_file_atomic(base + ".json", j.dump(2) + "\n");
}

std::vector<uint8_t> needle_prepare(const uint32_t* pixels, uint32_t width, uint32_t height,
                                    const std::vector<NeedleArea>& areas) {
  const size_t n = size_t(width) * height;
  std::vector<uint8_t> g(n);
  for (size_t i = 0; i < n; ++i) g[i] = grey(pixels[i]);
  const uint8_t green = grey(kGreen);
  for (const NeedleArea& a : areas) {
    if (a.type != NeedleArea::Type::kExclude) continue;
    // os-autoinst skips an exclude area that does not fit the image.
    if (uint64_t(a.box.x) + a.box.w > width || uint64_t(a.box.y) + a.box.h > height) continue;
    for (uint32_t y = a.box.y; y < a.box.y + a.box.h; ++y) std::memset(&g[size_t(y) * width + a.box.x], green, a.box.w);
  }
  // The separable [1 2 1] kernel both ways, exact in integers, rounded.
  std::vector<uint16_t> h(n);
  for (uint32_t y = 0; y < height; ++y) {
    const uint8_t* row = &g[size_t(y) * width];
    for (uint32_t x = 0; x < width; ++x)
      h[size_t(y) * width + x] = static_cast<uint16_t>(row[mirror(int64_t(x) - 1, width)] + 2 * row[x] +
                                                       row[mirror(int64_t(x) + 1, width)]);
  }
  std::vector<uint8_t> out(n);
  for (uint32_t y = 0; y < height; ++y) {
    const uint16_t* up = &h[size_t(mirror(int64_t(y) - 1, height)) * width];
    const uint16_t* mid = &h[size_t(y) * width];
    const uint16_t* down = &h[size_t(mirror(int64_t(y) + 1, height)) * width];
    for (uint32_t x = 0; x < width; ++x)
      out[size_t(y) * width + x] = static_cast<uint8_t>((up[x] + 2 * mid[x] + down[x] + 8) >> 4);
  }
  return out;
}

NeedleSearch::NeedleSearch(const Needle& needle) : needle_(needle) {
  needle_grey_ = needle_prepare(needle.image.pixels.data(), needle.image.width, needle.image.height, needle.areas);
}

NeedleResult NeedleSearch::find(const uint32_t* screen, uint32_t width, uint32_t height) const {
  NeedleResult result;
  result.ok = true;
  const std::vector<uint8_t> scene = needle_prepare(screen, width, height, needle_.areas);
  const uint32_t nw = needle_.image.width, nh = needle_.image.height;
  for (const NeedleArea& a : needle_.areas) {
    if (a.type != NeedleArea::Type::kMatch) continue;
    NeedleAreaResult r;
    r.box = a.box;
    const int64_t w = a.box.w, h = a.box.h;
    // The recorded position, scaled when the screen is another size.
    const int64_t sx = int64_t(a.box.x) * width / std::max<uint32_t>(1, nw);
    const int64_t sy = int64_t(a.box.y) * height / std::max<uint32_t>(1, nh);
    const int64_t x0 = std::max<int64_t>(0, sx - a.margin), y0 = std::max<int64_t>(0, sy - a.margin);
    const int64_t x1 = std::min<int64_t>(width, sx + w + a.margin), y1 = std::min<int64_t>(height, sy + h + a.margin);
    if (sx + w > width || sy + h > height || x1 - x0 < w || y1 - y0 < h) {
      result.ok = false;
      result.areas.push_back(r);
      continue;
    }
    auto sse_at = [&](int64_t px, int64_t py, int64_t limit) {
      int64_t sum = 0;
      for (int64_t j = 0; j < h; ++j) {
        const uint8_t* s = &scene[size_t(py + j) * width + size_t(px)];
        const uint8_t* t = &needle_grey_[size_t(a.box.y + j) * nw + a.box.x];
        for (int64_t i = 0; i < w; ++i) {
          int d = int(s[i]) - int(t[i]);
          sum += d * d;
        }
        if (sum > limit) return sum;  // cannot be among the best any more
      }
      return sum;
    };
    int64_t bx = sx, by = sy;
    const int64_t at_recorded = sse_at(sx, sy, std::numeric_limits<int64_t>::max());
    if (at_recorded != 0) {
      // os-autoinst keeps the positions within 10 of the least sum seen so
      // far (scanning row by row), then takes the nearest to the recorded
      // position, measured, as it does, from the search window's corner.
      int64_t bound = at_recorded + 10;
      std::vector<std::pair<int64_t, int64_t>> mins;
      for (int64_t py = y0; py + h <= y1; ++py)
        for (int64_t px = x0; px + w <= x1; ++px) {
          int64_t v = sse_at(px, py, bound);
          if (v > bound) continue;
          if (v + 10 < bound) {
            bound = v + 10;
            mins.clear();
          }
          mins.emplace_back(px - x0, py - y0);
        }
      if (!mins.empty()) {
        auto dist = [&](const std::pair<int64_t, int64_t>& p) {
          double dx = double(p.first - sx), dy = double(p.second - sy);
          return dx * dx + dy * dy;
        };
        auto best = std::min_element(mins.begin(), mins.end(),
                                     [&](const auto& p, const auto& q) { return dist(p) < dist(q); });
        bx = best->first + x0;
        by = best->second + y0;
      }
    }
    const double mse = double(sse_at(bx, by, std::numeric_limits<int64_t>::max())) / double(w * h);
    r.similarity = std::clamp(0.9 + (40 - mse) / 380, 0.0, 1.0);
    r.box = ScreenRegion{uint32_t(bx), uint32_t(by), a.box.w, a.box.h};
    r.ok = r.similarity >= a.match / 100;
    r.click_x = r.box.x + (a.has_click && !a.click_centre ? a.click_x : a.box.w / 2);
    r.click_y = r.box.y + (a.has_click && !a.click_centre ? a.click_y : a.box.h / 2);
    result.ok &= r.ok;
    result.areas.push_back(r);
  }
  return result;
}

}  // namespace vredir
