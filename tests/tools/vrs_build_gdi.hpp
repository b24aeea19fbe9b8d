// vrs-build's GDI verb: "gdi CH OP key=value ...", one GDI record per line,
// written as a GDI frame on channel CH. OP is the record name in lower case
// with dashes (fill-rect, window-create, ...). Fields use the names that
// redir-dump prints; anything not given takes the record's default:
//   rect=X,Y,W,H  at=X,Y  colours as RRGGBB  lists: points=X,Y;X,Y
//   counts=3,4  advances=7,7  clip=X,Y,W,H;X,Y,W,H  pattern=RRGGBB,...
//   enums by name (role=dialog state=hidden kind=pie how=crashed ...) or number
//   bitmap-def: encoding=raw|zlib and fill=RRGGBB or pixels=RRGGBB,RRGGBB,...
//   (data=HEX gives the payload bytes as they are, for hostile inputs)
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "wire/gdi_records.hpp"
#include "wire/stream_format.hpp"

namespace vrs_gdi {

namespace gdi = vredir::gdi;

class Fields {
 public:
  Fields(const std::vector<std::string>& t, size_t from) {
    for (size_t i = from; i < t.size(); ++i) {
      auto eq = t[i].find('=');
      if (eq == std::string::npos) throw std::runtime_error("expected key=value, got '" + t[i] + "'");
      kv_[t[i].substr(0, eq)] = t[i].substr(eq + 1);
    }
  }
  bool has(const std::string& k) const { return kv_.count(k) != 0; }
  const std::string* raw(const std::string& k) {
    auto it = kv_.find(k);
    if (it == kv_.end()) return nullptr;
    used_.insert(k);
    return &it->second;
  }
  template <typename T>
  void num(const std::string& k, T& out) {
    if (auto* v = raw(k)) out = static_cast<T>(std::stoll(*v, nullptr, 0));
  }
  void color(const std::string& k, uint32_t& out) {
    if (auto* v = raw(k)) out = static_cast<uint32_t>(std::stoul(*v, nullptr, 16));
  }
  void str(const std::string& k, std::string& out) {
    if (auto* v = raw(k)) out = *v;
  }
  template <typename T>
  void word(const std::string& k, T& out, std::vector<std::string> names) {
    auto* v = raw(k);
    if (!v) return;
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == *v) {
        out = static_cast<T>(i);
        return;
      }
    out = static_cast<T>(std::stoll(*v, nullptr, 0));
  }
  static std::vector<int64_t> ints(const std::string& s) {
    std::vector<int64_t> out;
    size_t i = 0;
    while (i < s.size()) {
      size_t j = s.find_first_of(",;", i);
      if (j == std::string::npos) j = s.size();
      if (j > i) out.push_back(std::stoll(s.substr(i, j - i), nullptr, 0));
      i = j + 1;
    }
    return out;
  }
  void rect(const std::string& k, gdi::Rect& out) {
    if (auto* v = raw(k)) {
      auto n = ints(*v);
      if (n.size() != 4) throw std::runtime_error(k + " needs X,Y,W,H");
      out = {int32_t(n[0]), int32_t(n[1]), int32_t(n[2]), int32_t(n[3])};
    }
  }
  void point(const std::string& k, gdi::Point& out) {
    if (auto* v = raw(k)) {
      auto n = ints(*v);
      if (n.size() != 2) throw std::runtime_error(k + " needs X,Y");
      out = {int32_t(n[0]), int32_t(n[1])};
    }
  }
  void points(const std::string& k, std::vector<gdi::Point>& out) {
    if (auto* v = raw(k)) {
      auto n = ints(*v);
      if (n.size() % 2) throw std::runtime_error(k + " needs X,Y pairs");
      for (size_t i = 0; i < n.size(); i += 2) out.push_back({int32_t(n[i]), int32_t(n[i + 1])});
    }
  }
  void rects(const std::string& k, std::vector<gdi::Rect>& out) {
    if (auto* v = raw(k)) {
      auto n = ints(*v);
      if (n.size() % 4) throw std::runtime_error(k + " needs X,Y,W,H groups");
      for (size_t i = 0; i < n.size(); i += 4)
        out.push_back({int32_t(n[i]), int32_t(n[i + 1]), int32_t(n[i + 2]), int32_t(n[i + 3])});
    }
  }
  template <typename T>
  void list(const std::string& k, std::vector<T>& out) {
    if (auto* v = raw(k))
      for (auto n : ints(*v)) out.push_back(static_cast<T>(n));
  }
  void colors(const std::string& k, std::vector<uint32_t>& out) {
    if (auto* v = raw(k)) {
      size_t i = 0;
      while (i < v->size()) {
        size_t j = v->find(',', i);
        if (j == std::string::npos) j = v->size();
        out.push_back(static_cast<uint32_t>(std::stoul(v->substr(i, j - i), nullptr, 16)));
        i = j + 1;
      }
    }
  }
  void done() const {
    for (const auto& [k, v] : kv_)
      if (!used_.count(k)) throw std::runtime_error("unknown field '" + k + "'");
  }

 private:
  std::map<std::string, std::string> kv_;
  std::set<std::string> used_;
};

inline void put_bgrx(std::string& raw, uint32_t c) {
  raw.push_back(static_cast<char>(c & 0xff));
  raw.push_back(static_cast<char>((c >> 8) & 0xff));
  raw.push_back(static_cast<char>((c >> 16) & 0xff));
  raw.push_back(0);
}

// Builds one record's payload from "OP key=value ..." tokens (t[from] = OP).
// compress turns raw BGRX into a zlib stream (the stream writer's).
template <typename Compress>
std::string build(const std::vector<std::string>& t, size_t from, Compress compress) {
  std::string op = t.at(from);
  Fields f(t, from + 1);
  gdi::Record rec;
  auto blit_common = [&](uint32_t& dst, gdi::Rect& r, uint32_t& src) {
    f.num("dst", dst);
    f.rect("rect", r);
    f.num("src", src);
  };
  if (op == "window-create") {
    gdi::WindowCreate v;
    f.num("target", v.target);
    f.num("owner", v.owner);
    f.num("pid", v.pid);
    f.word("role", v.role, {"toplevel", "dialog", "popup", "tooltip"});
    f.rect("rect", v.rect);
    f.num("flags", v.flags);
    f.str("title", v.title);
    f.str("app", v.app);
    rec = v;
  } else if (op == "window-destroy" || op == "window-focus" || op == "surface-delete" || op == "flush") {
    uint32_t target = 0;
    f.num("target", target);
    if (op == "window-destroy") rec = gdi::WindowDestroy{target};
    else if (op == "window-focus") rec = gdi::WindowFocus{target};
    else if (op == "surface-delete") rec = gdi::SurfaceDelete{target};
    else rec = gdi::Flush{target};
  } else if (op == "window-show") {
    gdi::WindowShow v;
    v.state = 1;
    f.num("target", v.target);
    f.word("state", v.state, {"hidden", "shown", "minimised", "maximised"});
    rec = v;
  } else if (op == "window-move") {
    gdi::WindowMove v;
    f.num("target", v.target);
    f.rect("rect", v.rect);
    rec = v;
  } else if (op == "window-title") {
    gdi::WindowTitle v;
    f.num("target", v.target);
    f.str("title", v.title);
    rec = v;
  } else if (op == "window-icon") {
    gdi::WindowIcon v;
    f.num("target", v.target);
    f.num("w", v.w);
    f.num("h", v.h);
    v.argb.assign(size_t(v.w) * v.h * 4, '\x80');  // a grey, half-transparent square
    rec = v;
  } else if (op == "window-zorder") {
    gdi::WindowZorder v;
    f.num("target", v.target);
    f.num("above", v.above);
    rec = v;
  } else if (op == "surface-create") {
    gdi::SurfaceCreate v;
    f.num("target", v.target);
    f.num("w", v.w);
    f.num("h", v.h);
    rec = v;
  } else if (op == "font-def") {
    gdi::FontDef v;
    f.num("font", v.font);
    f.str("face", v.face);
    f.num("height", v.height);
    f.num("weight", v.weight);
    f.num("italic", v.italic);
    f.num("underline", v.underline);
    f.num("strikeout", v.strikeout);
    f.num("charset", v.charset);
    rec = v;
  } else if (op == "state") {
    gdi::State v;
    f.num("target", v.target);
    f.word("pen_style", v.pen.style, {"solid", "dash", "dot", "dashdot", "dashdotdot", "null"});
    f.num("pen_width", v.pen.width);
    f.color("pen", v.pen.color);
    f.word("brush_style", v.brush.style, {"solid", "null", "hatch", "pattern"});
    f.color("brush", v.brush.color);
    f.num("brush_hatch", v.brush.hatch);
    f.num("pattern_w", v.brush.pw);
    f.num("pattern_h", v.brush.ph);
    f.colors("pattern", v.brush.pattern);
    f.color("text", v.text);
    f.color("bk", v.bk);
    f.word("bk_mode", v.bk_mode, {"", "transparent", "opaque"});
    f.num("rop2", v.rop2);
    f.num("text_align", v.text_align);
    f.num("font", v.font);
    f.word("fill", v.poly_fill_mode, {"", "alternate", "winding"});
    f.rects("clip", v.clip);
    rec = v;
  } else if (op == "fill-rect") {
    gdi::FillRect v;
    f.num("target", v.target);
    f.rect("rect", v.rect);
    f.num("rop3", v.rop3);
    rec = v;
  } else if (op == "frame-rect" || op == "invert-rect" || op == "rectangle" || op == "ellipse") {
    uint32_t target = 0;
    gdi::Rect r;
    f.num("target", target);
    f.rect("rect", r);
    if (op == "frame-rect") rec = gdi::FrameRect{target, r};
    else if (op == "invert-rect") rec = gdi::InvertRect{target, r};
    else if (op == "rectangle") rec = gdi::Rectangle{target, r};
    else rec = gdi::Ellipse{target, r};
  } else if (op == "round-rect") {
    gdi::RoundRect v;
    f.num("target", v.target);
    f.rect("rect", v.rect);
    f.num("ew", v.ew);
    f.num("eh", v.eh);
    rec = v;
  } else if (op == "arc") {
    gdi::Arc v;
    f.num("target", v.target);
    f.word("kind", v.kind, {"arc", "pie", "chord"});
    f.rect("rect", v.rect);
    f.point("start", v.start);
    f.point("end", v.end);
    rec = v;
  } else if (op == "polygon") {
    gdi::Polygon v;
    f.num("target", v.target);
    f.list("counts", v.counts);
    f.points("points", v.points);
    if (v.counts.empty() && !v.points.empty()) v.counts.push_back(static_cast<uint16_t>(v.points.size()));
    rec = v;
  } else if (op == "polyline" || op == "polybezier") {
    uint32_t target = 0;
    std::vector<gdi::Point> pts;
    f.num("target", target);
    f.points("points", pts);
    if (op == "polyline") rec = gdi::Polyline{target, pts};
    else rec = gdi::PolyBezier{target, pts};
  } else if (op == "fill-rgn") {
    gdi::FillRgn v;
    f.num("target", v.target);
    f.rects("rects", v.rects);
    rec = v;
  } else if (op == "text") {
    gdi::Text v;
    f.num("target", v.target);
    f.point("at", v.pos);
    f.num("options", v.options);
    f.rect("rect", v.rect);
    f.str("text", v.text);
    f.list("advances", v.advances);
    rec = v;
  } else if (op == "gradient") {
    gdi::Gradient v;
    f.num("target", v.target);
    f.word("mode", v.mode, {"horizontal", "vertical"});
    f.rect("rect", v.rect);
    f.color("from", v.from);
    f.color("to", v.to);
    rec = v;
  } else if (op == "copy") {
    gdi::Copy v;
    blit_common(v.dst, v.dst_rect, v.src);
    f.point("src_at", v.src_pt);
    f.num("rop3", v.rop3);
    rec = v;
  } else if (op == "stretch") {
    gdi::Stretch v;
    blit_common(v.dst, v.dst_rect, v.src);
    f.rect("src_rect", v.src_rect);
    f.num("rop3", v.rop3);
    rec = v;
  } else if (op == "alpha-blend") {
    gdi::AlphaBlend v;
    blit_common(v.dst, v.dst_rect, v.src);
    f.rect("src_rect", v.src_rect);
    f.num("alpha", v.alpha);
    f.num("per_pixel", v.per_pixel);
    rec = v;
  } else if (op == "transparent-blt") {
    gdi::TransparentBlt v;
    blit_common(v.dst, v.dst_rect, v.src);
    f.rect("src_rect", v.src_rect);
    f.color("transparent", v.transparent);
    rec = v;
  } else if (op == "mask-blt") {
    gdi::MaskBlt v;
    blit_common(v.dst, v.dst_rect, v.src);
    f.point("src_at", v.src_pt);
    f.num("mask", v.mask);
    f.point("mask_at", v.mask_pt);
    f.num("rop4", v.rop4);
    rec = v;
  } else if (op == "bitmap-def") {
    gdi::BitmapDef v;
    f.num("bitmap", v.bitmap);
    f.num("w", v.w);
    f.num("h", v.h);
    f.word("encoding", v.encoding, {"raw", "zlib"});
    std::string raw;
    if (auto* fill = f.raw("fill")) {
      uint32_t c = static_cast<uint32_t>(std::stoul(*fill, nullptr, 16));
      for (uint64_t i = 0; i < uint64_t(v.w) * v.h; ++i) put_bgrx(raw, c);
    }
    std::vector<uint32_t> px;
    f.colors("pixels", px);
    for (auto c : px) put_bgrx(raw, c);
    v.data = v.encoding == gdi::BitmapDef::kZlib ? compress(raw) : raw;
    if (auto* hex = f.raw("data")) {
      v.data.clear();
      for (size_t i = 0; i + 1 < hex->size(); i += 2)
        v.data.push_back(static_cast<char>(std::stoi(hex->substr(i, 2), nullptr, 16)));
    }
    rec = v;
  } else if (op == "bitmap-draw") {
    gdi::BitmapDraw v;
    f.num("dst", v.dst);
    f.rect("rect", v.dst_rect);
    f.num("bitmap", v.bitmap);
    f.rect("src_rect", v.src_rect);
    f.num("rop3", v.rop3);
    rec = v;
  } else if (op == "bitmap-free") {
    gdi::BitmapFree v;
    f.num("bitmap", v.bitmap);
    rec = v;
  } else if (op == "app-start") {
    gdi::AppStart v;
    f.num("pid", v.pid);
    f.str("app", v.app);
    f.str("command_line", v.command_line);
    rec = v;
  } else if (op == "app-exit") {
    gdi::AppExit v;
    f.num("pid", v.pid);
    f.num("code", v.code);
    f.word("how", v.how, {"exited", "terminated", "crashed"});
    rec = v;
  } else if (op == "input-key") {
    gdi::InputKey v;
    f.num("target", v.target);
    f.num("vk", v.vk);
    f.num("scancode", v.scancode);
    f.word("dir", v.down, {"up", "down"});
    f.num("unicode", v.unicode);
    rec = v;
  } else if (op == "input-pointer") {
    gdi::InputPointer v;
    f.num("target", v.target);
    f.point("at", v.pos);
    f.num("buttons", v.buttons);
    f.num("wheel", v.wheel);
    rec = v;
  } else if (op == "window-request") {
    gdi::WindowRequest v;
    f.num("target", v.target);
    f.word("action", v.action, {"move", "minimise", "maximise", "restore", "close", "focus"});
    f.rect("rect", v.rect);
    rec = v;
  } else {
    throw std::runtime_error("unknown gdi op '" + op + "'");
  }
  f.done();
  std::string out;
  gdi::encode_record(rec, out);
  return out;
}

}  // namespace vrs_gdi
