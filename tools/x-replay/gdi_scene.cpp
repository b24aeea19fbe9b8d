#include "gdi_scene.hpp"

#include <type_traits>

#include "media/display_surface.hpp"

namespace vredir::gdi {

bool decode_bitmap(const BitmapDef& def, std::vector<uint32_t>* pixels, std::string* err) {
  uint64_t n = uint64_t(def.w) * def.h;
  if (def.w == 0 || def.h == 0 || n > kMaxPixels) {
    if (err) *err = "bitmap size out of range";
    return false;
  }
  std::span<const uint8_t> in(reinterpret_cast<const uint8_t*>(def.data.data()), def.data.size());
  std::vector<uint8_t> inflated;
  if (def.encoding == BitmapDef::kZlib) {
    std::string e;
    if (!stream::zlib_inflate_exact(in, static_cast<size_t>(n * 4), &inflated, &e)) {
      if (err) *err = "bitmap " + std::to_string(def.bitmap) + ": " + e;
      return false;
    }
    in = inflated;
  }
  if (in.size() != n * 4) {
    if (err) *err = "bitmap " + std::to_string(def.bitmap) + " has " + std::to_string(in.size()) +
                    " bytes, expected " + std::to_string(n * 4);
    return false;
  }
  pixels->resize(static_cast<size_t>(n));
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = in.data() + i * 4;
    (*pixels)[i] = uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16);
  }
  return true;
}

bool GdiScene::fail(std::string* err, const std::string& m) {
  if (err) *err = m;
  return false;
}

bool GdiScene::need_target(uint32_t id, const char* what, std::string* err) const {
  if (targets_.count(id)) return true;
  if (err) *err = std::string(what) + " refers to undefined target " + std::to_string(id);
  return false;
}

const SceneTarget* GdiScene::target(uint32_t id) const {
  auto it = targets_.find(id);
  return it == targets_.end() ? nullptr : &it->second;
}
const FontDef* GdiScene::font(uint32_t id) const {
  auto it = fonts_.find(id);
  return it == fonts_.end() ? nullptr : &it->second;
}
const SceneBitmap* GdiScene::bitmap(uint32_t id) const {
  auto it = bitmaps_.find(id);
  return it == bitmaps_.end() ? nullptr : &it->second;
}
const State& GdiScene::state(uint32_t target) const {
  auto it = states_.find(target);
  return it == states_.end() ? default_state_ : it->second;
}

std::vector<uint32_t> GdiScene::windows() const {
  std::vector<uint32_t> out;
  for (const auto& [id, t] : targets_)
    if (t.window) out.push_back(id);
  return out;
}

void GdiScene::remove_target(uint32_t id) {
  auto it = targets_.find(id);
  if (it == targets_.end()) return;
  target_pixels_ -= uint64_t(it->second.w) * it->second.h;
  targets_.erase(it);
  states_.erase(id);
  for (auto& [oid, t] : targets_)
    if (t.owner == id) t.owner = 0;
  removed_.push_back(id);
}

namespace {
uint32_t side(int32_t v) { return v < 1 ? 1u : static_cast<uint32_t>(v); }
}  // namespace

bool GdiScene::apply(const Record& r, std::string* err) {
  removed_.clear();
  const char* name = op_name(op_of(r));
  auto new_target = [&](uint32_t id, uint32_t w, uint32_t h) -> bool {
    if (id == 0) return fail(err, std::string(name) + " uses target id 0");
    if (targets_.count(id)) return fail(err, std::string(name) + " redefines target " + std::to_string(id));
    if (targets_.size() >= limits_.max_targets)
      return fail(err, "more than " + std::to_string(limits_.max_targets) + " targets");
    if (target_pixels_ + uint64_t(w) * h > limits_.max_target_pixels)
      return fail(err, "targets exceed " + std::to_string(limits_.max_target_pixels) + " pixels");
    if (target_pixels_ + bitmap_pixels_ + uint64_t(w) * h > limits_.max_total_pixels)
      return fail(err, "targets and bitmaps exceed the memory budget");
    return true;
  };
  auto src_ok = [&](uint32_t src, bool zero_ok) -> bool {
    if (src == 0 && zero_ok) return true;
    return need_target(src, name, err);
  };

  return std::visit(
      [&](const auto& v) -> bool {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, WindowCreate>) {
          uint32_t w = side(v.rect.w), h = side(v.rect.h);
          if (!new_target(v.target, w, h)) return false;
          if (v.owner != 0 && (!targets_.count(v.owner) || !targets_[v.owner].window))
            return fail(err, "WINDOW_CREATE owner " + std::to_string(v.owner) + " is not a window");
          SceneTarget t;
          t.id = v.target;
          t.window = true;
          t.owner = v.owner;
          t.pid = v.pid;
          t.role = v.role;
          t.rect = v.rect;
          t.flags = v.flags;
          t.show = (v.flags & WindowCreate::kFlagVisible) ? 1 : 0;
          t.title = v.title;
          t.app = v.app;
          t.w = w;
          t.h = h;
          targets_[v.target] = std::move(t);
          target_pixels_ += uint64_t(w) * h;
          return true;
        } else if constexpr (std::is_same_v<T, SurfaceCreate>) {
          if (!new_target(v.target, v.w, v.h)) return false;
          SceneTarget t;
          t.id = v.target;
          t.w = v.w;
          t.h = v.h;
          targets_[v.target] = t;
          target_pixels_ += uint64_t(v.w) * v.h;
          return true;
        } else if constexpr (std::is_same_v<T, WindowDestroy> || std::is_same_v<T, SurfaceDelete>) {
          constexpr bool want_window = std::is_same_v<T, WindowDestroy>;
          auto it = targets_.find(v.target);
          if (it == targets_.end() || it->second.window != want_window)
            return fail(err, std::string(name) + " refers to undefined " +
                                 (want_window ? "window " : "surface ") + std::to_string(v.target));
          remove_target(v.target);
          return true;
        } else if constexpr (std::is_same_v<T, WindowShow> || std::is_same_v<T, WindowMove> ||
                             std::is_same_v<T, WindowTitle> || std::is_same_v<T, WindowZorder> ||
                             std::is_same_v<T, WindowFocus> || std::is_same_v<T, WindowIcon>) {
          auto it = targets_.find(v.target);
          if (it == targets_.end() || !it->second.window)
            return fail(err, std::string(name) + " refers to undefined window " + std::to_string(v.target));
          SceneTarget& t = it->second;
          if constexpr (std::is_same_v<T, WindowShow>) t.show = v.state;
          if constexpr (std::is_same_v<T, WindowTitle>) t.title = v.title;
          if constexpr (std::is_same_v<T, WindowZorder>) {
            if (v.above != 0 && !targets_.count(v.above))
              return fail(err, "WINDOW_ZORDER refers to undefined target " + std::to_string(v.above));
          }
          if constexpr (std::is_same_v<T, WindowMove>) {
            uint64_t old_px = uint64_t(t.w) * t.h;
            uint32_t w = side(v.rect.w), h = side(v.rect.h);
            if (target_pixels_ - old_px + uint64_t(w) * h > limits_.max_target_pixels)
              return fail(err, "targets exceed " + std::to_string(limits_.max_target_pixels) + " pixels");
            if (target_pixels_ - old_px + uint64_t(w) * h + bitmap_pixels_ > limits_.max_total_pixels)
              return fail(err, "targets and bitmaps exceed the memory budget");
            target_pixels_ = target_pixels_ - old_px + uint64_t(w) * h;
            t.rect = v.rect;
            t.w = w;
            t.h = h;
          }
          return true;
        } else if constexpr (std::is_same_v<T, FontDef>) {
          if (v.font == 0) return fail(err, "FONT_DEF uses font id 0");
          if (!fonts_.count(v.font) && fonts_.size() >= limits_.max_fonts)
            return fail(err, "more than " + std::to_string(limits_.max_fonts) + " fonts");
          fonts_[v.font] = v;
          return true;
        } else if constexpr (std::is_same_v<T, State>) {
          if (!need_target(v.target, name, err)) return false;
          if (v.font != 0 && !fonts_.count(v.font))
            return fail(err, "STATE refers to undefined font " + std::to_string(v.font));
          states_[v.target] = v;
          return true;
        } else if constexpr (std::is_same_v<T, Copy>) {
          return need_target(v.dst, name, err) && src_ok(v.src, true);
        } else if constexpr (std::is_same_v<T, Stretch> || std::is_same_v<T, AlphaBlend> ||
                             std::is_same_v<T, TransparentBlt>) {
          return need_target(v.dst, name, err) && src_ok(v.src, false);
        } else if constexpr (std::is_same_v<T, MaskBlt>) {
          if (!need_target(v.dst, name, err) || !src_ok(v.src, true)) return false;
          if (v.mask != 0 && !bitmaps_.count(v.mask))
            return fail(err, "MASK_BLT refers to undefined bitmap " + std::to_string(v.mask));
          return true;
        } else if constexpr (std::is_same_v<T, BitmapDef>) {
          if (v.bitmap == 0) return fail(err, "BITMAP_DEF uses bitmap id 0");
          uint64_t px = uint64_t(v.w) * v.h;
          auto it = bitmaps_.find(v.bitmap);
          uint64_t old_px = it == bitmaps_.end() ? 0 : uint64_t(it->second.w) * it->second.h;
          if (it == bitmaps_.end() && bitmaps_.size() >= limits_.max_bitmaps)
            return fail(err, "more than " + std::to_string(limits_.max_bitmaps) + " cached bitmaps");
          if (bitmap_pixels_ - old_px + px > limits_.max_bitmap_pixels)
            return fail(err, "cached bitmaps exceed " + std::to_string(limits_.max_bitmap_pixels) + " pixels");
          if (bitmap_pixels_ - old_px + px + target_pixels_ > limits_.max_total_pixels)
            return fail(err, "targets and bitmaps exceed the memory budget");
          SceneBitmap b;
          b.w = v.w;
          b.h = v.h;
          if (!decode_bitmap(v, &b.pixels, err)) return false;
          bitmap_pixels_ = bitmap_pixels_ - old_px + px;
          bitmaps_[v.bitmap] = std::move(b);
          return true;
        } else if constexpr (std::is_same_v<T, BitmapDraw>) {
          if (!need_target(v.dst, name, err)) return false;
          if (!bitmaps_.count(v.bitmap))
            return fail(err, "BITMAP_DRAW refers to undefined bitmap " + std::to_string(v.bitmap));
          return true;
        } else if constexpr (std::is_same_v<T, BitmapFree>) {
          auto it = bitmaps_.find(v.bitmap);
          if (it == bitmaps_.end())
            return fail(err, "BITMAP_FREE refers to undefined bitmap " + std::to_string(v.bitmap));
          bitmap_pixels_ -= uint64_t(it->second.w) * it->second.h;
          bitmaps_.erase(it);
          return true;
        } else if constexpr (std::is_same_v<T, AppExit>) {
          std::vector<uint32_t> gone;
          for (const auto& [id, t] : targets_)
            if (t.window && t.pid == v.pid) gone.push_back(id);
          for (auto id : gone) remove_target(id);
          return true;
        } else if constexpr (std::is_same_v<T, AppStart> || std::is_same_v<T, InputKey> ||
                             std::is_same_v<T, InputPointer> || std::is_same_v<T, WindowRequest> ||
                             std::is_same_v<T, Unknown>) {
          return true;
        } else {
          // Drawing ops and FLUSH: the target must exist.
          return need_target(v.target, name, err);
        }
      },
      r);
}

}  // namespace vredir::gdi
