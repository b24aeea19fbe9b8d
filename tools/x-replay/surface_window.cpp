#include "surface_window.hpp"

#include <spdlog/spdlog.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <xcb/shm.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

using vredir::Status;

namespace xreplay {

namespace {

// WM_NORMAL_HINTS flags (ICCCM 4.1.2.3).
constexpr uint32_t kPMinSize = 16, kPMaxSize = 32;
// WM_HINTS flags.
constexpr uint32_t kInputHint = 1;

struct CursorBox {
  int64_t x0, y0, x1, y1;
};

CursorBox cursor_box(const CursorImage& c) {
  int64_t x0 = int64_t(c.x) - c.hot_x, y0 = int64_t(c.y) - c.hot_y;
  return {x0, y0, x0 + c.w, y0 + c.h};
}

uint32_t blend(uint32_t dst, uint32_t src) {
  uint32_t a = src >> 24;
  if (a == 0xff) return src & 0xffffff;
  if (a == 0) return dst;
  uint32_t out = 0;
  for (int shift = 0; shift < 24; shift += 8) {
    uint32_t s = (src >> shift) & 0xff, d = (dst >> shift) & 0xff;
    out |= ((s * a + d * (255 - a) + 127) / 255) << shift;
  }
  return out;
}

}  // namespace

void Box::add(uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
  if (w == 0 || h == 0) return;
  if (empty()) {
    *this = {x, y, x + w, y + h};
    return;
  }
  x0 = std::min(x0, x);
  y0 = std::min(y0, y);
  x1 = std::max(x1, x + w);
  y1 = std::max(y1, y + h);
}

SurfaceWindow::SurfaceWindow(XDisplay& x, uint16_t channel, std::string title)
    : x_(x), channel_(channel), title_(std::move(title)) {}

SurfaceWindow::~SurfaceWindow() { close(); }

void SurfaceWindow::close(bool destroyed) {
  retired_ = true;
  grabbed_ = false;  // X ends a grab when its window goes
  if (!win_) return;
  free_image();
  xcb_free_gc(x_.conn(), gc_);
  if (!destroyed) xcb_destroy_window(x_.conn(), win_);
  xcb_flush(x_.conn());
  win_ = 0;
  gc_ = 0;
}

void SurfaceWindow::show_title(const std::string& title) {
  xcb_connection_t* c = x_.conn();
  const uint32_t n = static_cast<uint32_t>(title.size());
  xcb_change_property(c, XCB_PROP_MODE_REPLACE, win_, XCB_ATOM_WM_NAME, XCB_ATOM_STRING, 8, n, title.data());
  xcb_change_property(c, XCB_PROP_MODE_REPLACE, win_, x_.net_wm_name, x_.utf8_string, 8, n, title.data());
}

bool SurfaceWindow::grab_pointer() {
  if (!win_ || grabbed_) return grabbed_;
  xcb_connection_t* c = x_.conn();
  const uint16_t events = XCB_EVENT_MASK_POINTER_MOTION | XCB_EVENT_MASK_BUTTON_PRESS | XCB_EVENT_MASK_BUTTON_RELEASE;
  auto cookie = xcb_grab_pointer(c, 0, win_, events, XCB_GRAB_MODE_ASYNC, XCB_GRAB_MODE_ASYNC, win_, XCB_NONE,
                                 XCB_CURRENT_TIME);
  xcb_grab_pointer_reply_t* r = xcb_grab_pointer_reply(c, cookie, nullptr);
  grabbed_ = r && r->status == XCB_GRAB_STATUS_SUCCESS;
  std::free(r);
  if (!grabbed_) return false;
  last_known_ = warp_pending_ = false;
  // Already at the centre, a warp makes no event: the position is known.
  xcb_query_pointer_reply_t* q = xcb_query_pointer_reply(c, xcb_query_pointer(c, win_), nullptr);
  if (q && q->same_screen && q->win_x == centre_x() && q->win_y == centre_y()) {
    last_known_ = true;
    last_x_ = centre_x();
    last_y_ = centre_y();
  } else {
    warp_to_centre();
  }
  std::free(q);
  show_title(title_ + " [pointer grabbed: relative motion; escape key, G releases]");
  xcb_flush(c);
  return true;
}

void SurfaceWindow::release_pointer() {
  if (!grabbed_) return;
  grabbed_ = false;
  warp_pending_ = last_known_ = false;
  if (!win_) return;
  xcb_ungrab_pointer(x_.conn(), XCB_CURRENT_TIME);
  show_title(title_);
  xcb_flush(x_.conn());
}

bool SurfaceWindow::grab_motion(int32_t x, int32_t y, int32_t* dx, int32_t* dy) {
  if (warp_pending_ && x == centre_x() && y == centre_y()) {
    warp_pending_ = false;
    last_known_ = true;
    last_x_ = x;
    last_y_ = y;
    return false;
  }
  if (!last_known_) return false;
  *dx = x - last_x_;
  *dy = y - last_y_;
  last_x_ = x;
  last_y_ = y;
  return *dx != 0 || *dy != 0;
}

void SurfaceWindow::warp_to_centre() {
  if (!win_) return;
  warp_pending_ = true;
  xcb_warp_pointer(x_.conn(), XCB_NONE, win_, 0, 0, 0, 0, static_cast<int16_t>(centre_x()),
                   static_cast<int16_t>(centre_y()));
  xcb_flush(x_.conn());
}

void SurfaceWindow::set_properties() {
  xcb_connection_t* c = x_.conn();
  auto set = [&](xcb_atom_t prop, xcb_atom_t type, uint8_t format, uint32_t n, const void* data) {
    xcb_change_property(c, XCB_PROP_MODE_REPLACE, win_, prop, type, format, n, data);
  };
  show_title(title_);
  // WM_CLASS: instance "x-replay", class "vredir".
  static const char kClass[] = "x-replay\0vredir";
  set(XCB_ATOM_WM_CLASS, XCB_ATOM_STRING, 8, sizeof(kClass), kClass);
  set(x_.wm_protocols, XCB_ATOM_ATOM, 32, 1, &x_.wm_delete_window);
  uint32_t hints[9] = {kInputHint, 1, 0, 0, 0, 0, 0, 0, 0};
  set(XCB_ATOM_WM_HINTS, XCB_ATOM_WM_HINTS, 32, 9, hints);
}

void SurfaceWindow::resize(uint32_t width, uint32_t height) {
  xcb_connection_t* c = x_.conn();
  if (win_ && shm_in_flight_) x_.sync();
  shm_in_flight_ = false;
  free_image();
  surface_.resize(width, height);
  damage_ = {};
  if (!win_) {
    win_ = xcb_generate_id(c);
    uint32_t mask = XCB_CW_BACK_PIXEL | XCB_CW_EVENT_MASK;
    uint32_t values[2] = {x_.screen()->black_pixel,
                          XCB_EVENT_MASK_EXPOSURE | XCB_EVENT_MASK_KEY_PRESS | XCB_EVENT_MASK_KEY_RELEASE |
                              XCB_EVENT_MASK_BUTTON_PRESS | XCB_EVENT_MASK_BUTTON_RELEASE |
                              XCB_EVENT_MASK_POINTER_MOTION | XCB_EVENT_MASK_ENTER_WINDOW |
                              XCB_EVENT_MASK_STRUCTURE_NOTIFY | XCB_EVENT_MASK_FOCUS_CHANGE};
    xcb_create_window(c, XCB_COPY_FROM_PARENT, win_, x_.screen()->root, 0, 0, static_cast<uint16_t>(width),
                      static_cast<uint16_t>(height), 0, XCB_WINDOW_CLASS_INPUT_OUTPUT, x_.screen()->root_visual,
                      mask, values);
    gc_ = xcb_generate_id(c);
    uint32_t no_exposures = 0;
    xcb_create_gc(c, gc_, win_, XCB_GC_GRAPHICS_EXPOSURES, &no_exposures);
    set_properties();
  } else {
    uint32_t size[2] = {width, height};
    xcb_configure_window(c, win_, XCB_CONFIG_WINDOW_WIDTH | XCB_CONFIG_WINDOW_HEIGHT, size);
  }
  // The window follows the surface; window managers are asked not to resize it.
  uint32_t hints[18] = {kPMinSize | kPMaxSize, 0, 0, 0, 0, width, height, width, height};
  xcb_change_property(c, XCB_PROP_MODE_REPLACE, win_, XCB_ATOM_WM_NORMAL_HINTS, XCB_ATOM_WM_SIZE_HINTS, 32, 18,
                      hints);
  alloc_image();
  xcb_map_window(c, win_);
  redraw_all();
}

void SurfaceWindow::alloc_image() {
  size_t pixels = size_t(surface_.width()) * surface_.height();
  if (x_.shm()) {
    int id = shmget(IPC_PRIVATE, pixels * 4, IPC_CREAT | 0600);
    void* addr = id >= 0 ? shmat(id, nullptr, 0) : reinterpret_cast<void*>(-1);
    if (addr != reinterpret_cast<void*>(-1)) {
      shmseg_ = xcb_generate_id(x_.conn());
      xcb_generic_error_t* e = xcb_request_check(x_.conn(), xcb_shm_attach_checked(x_.conn(), shmseg_, id, 0));
      // Marked for removal now: it goes away once both sides detach.
      shmctl(id, IPC_RMID, nullptr);
      if (!e) {
        shmaddr_ = addr;
        image_ = static_cast<uint32_t*>(addr);
        std::memset(image_, 0, pixels * 4);
        return;
      }
      free(e);
      shmdt(addr);
      shmseg_ = 0;
    } else if (id >= 0) {
      shmctl(id, IPC_RMID, nullptr);
    }
    spdlog::debug("MIT-SHM unavailable for channel {}: sending images over the connection", channel_);
  }
  local_image_.assign(pixels, 0);
  image_ = local_image_.data();
}

void SurfaceWindow::free_image() {
  if (shmaddr_) {
    if (win_) xcb_shm_detach(x_.conn(), shmseg_);
    // The server may still read the segment; it detaches after our request.
    x_.sync();
    shmdt(shmaddr_);
    shmaddr_ = nullptr;
    shmseg_ = 0;
  }
  local_image_.clear();
  local_image_.shrink_to_fit();
  image_ = nullptr;
}

bool SurfaceWindow::apply(const vredir::stream::Rect& r, std::string* err) {
  if (!surface_.apply(r, err)) return false;
  damage_.add(r.x, r.y, r.w, r.h);
  return true;
}

void SurfaceWindow::damage_cursor() {
  if (!cursor_.visible || cursor_.argb.empty()) return;
  CursorBox b = cursor_box(cursor_);
  int64_t x0 = std::max<int64_t>(b.x0, 0), y0 = std::max<int64_t>(b.y0, 0);
  int64_t x1 = std::min<int64_t>(b.x1, surface_.width()), y1 = std::min<int64_t>(b.y1, surface_.height());
  if (x0 < x1 && y0 < y1)
    damage_.add(uint32_t(x0), uint32_t(y0), uint32_t(x1 - x0), uint32_t(y1 - y0));
}

void SurfaceWindow::set_cursor_shape(const vredir::stream::CursorShape& shape) {
  damage_cursor();
  cursor_.w = shape.w;
  cursor_.h = shape.h;
  cursor_.hot_x = shape.hot_x;
  cursor_.hot_y = shape.hot_y;
  cursor_.argb.resize(size_t(shape.w) * shape.h);
  for (size_t i = 0; i < cursor_.argb.size() && i * 4 + 3 < shape.pixels.size(); ++i) {
    const uint8_t* p = shape.pixels.data() + i * 4;
    cursor_.argb[i] = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  }
  damage_cursor();
  present();
}

void SurfaceWindow::set_cursor_pos(int32_t x, int32_t y, bool visible) {
  damage_cursor();
  cursor_.x = x;
  cursor_.y = y;
  cursor_.visible = visible;
  damage_cursor();
  present();
}

void SurfaceWindow::hide_cursor() { set_cursor_pos(cursor_.x, cursor_.y, false); }

void SurfaceWindow::compose(const Box& b) {
  const std::vector<uint32_t>& src = surface_.pixels();
  const uint32_t w = surface_.width();
  for (uint32_t y = b.y0; y < b.y1; ++y)
    std::memcpy(image_ + size_t(y) * w + b.x0, src.data() + size_t(y) * w + b.x0, size_t(b.x1 - b.x0) * 4);
  if (!cursor_.visible || cursor_.argb.empty()) return;
  CursorBox cb = cursor_box(cursor_);
  int64_t x0 = std::max<int64_t>(cb.x0, b.x0), y0 = std::max<int64_t>(cb.y0, b.y0);
  int64_t x1 = std::min<int64_t>(cb.x1, b.x1), y1 = std::min<int64_t>(cb.y1, b.y1);
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) {
      uint32_t& dst = image_[size_t(y) * w + size_t(x)];
      dst = blend(dst, cursor_.argb[size_t(y - cb.y0) * cursor_.w + size_t(x - cb.x0)]);
    }
}

void SurfaceWindow::put(const Box& b) {
  xcb_connection_t* c = x_.conn();
  const uint32_t w = surface_.width(), h = surface_.height();
  const uint8_t depth = x_.screen()->root_depth;
  if (shmaddr_) {
    xcb_shm_put_image(c, win_, gc_, static_cast<uint16_t>(w), static_cast<uint16_t>(h), static_cast<uint16_t>(b.x0),
                      static_cast<uint16_t>(b.y0), static_cast<uint16_t>(b.x1 - b.x0),
                      static_cast<uint16_t>(b.y1 - b.y0), static_cast<int16_t>(b.x0), static_cast<int16_t>(b.y0),
                      depth, XCB_IMAGE_FORMAT_Z_PIXMAP, 0, shmseg_, 0);
    shm_in_flight_ = true;
    return;
  }
  // PutImage strips: as many rows as fit in one request (header: 24 bytes).
  const size_t row_bytes = size_t(b.x1 - b.x0) * 4;
  const size_t rows_per = std::max<size_t>(1, (x_.max_request_bytes() - 64) / row_bytes);
  for (uint32_t y = b.y0; y < b.y1;) {
    uint32_t rows = static_cast<uint32_t>(std::min<size_t>(rows_per, b.y1 - y));
    strip_.resize(row_bytes * rows);
    for (uint32_t r = 0; r < rows; ++r)
      std::memcpy(strip_.data() + r * row_bytes, image_ + size_t(y + r) * w + b.x0, row_bytes);
    xcb_put_image(c, XCB_IMAGE_FORMAT_Z_PIXMAP, win_, gc_, static_cast<uint16_t>(b.x1 - b.x0),
                  static_cast<uint16_t>(rows), static_cast<int16_t>(b.x0), static_cast<int16_t>(y), 0, depth,
                  static_cast<uint32_t>(strip_.size()), strip_.data());
    y += rows;
  }
  (void)h;
}

void SurfaceWindow::present() {
  Box b = damage_;
  damage_ = {};
  if (!win_ || b.empty() || !image_) return;
  // Do not write into shared memory the server may still be reading.
  if (shm_in_flight_) {
    x_.sync();
    shm_in_flight_ = false;
  }
  compose(b);
  put(b);
}

void SurfaceWindow::expose(uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
  if (!win_ || !image_) return;
  Box b{x, y, std::min(x + w, surface_.width()), std::min(y + h, surface_.height())};
  if (!b.empty()) put(b);
}

void SurfaceWindow::redraw_all() {
  damage_.add(0, 0, surface_.width(), surface_.height());
  present();
}

Status SurfaceWindow::capture(vredir::Image* out) {
  if (!win_) return vredir::fail(vredir::kExitFailure, "the window of display channel " + std::to_string(channel_) + " is closed");
  xcb_connection_t* c = x_.conn();
  // Bring it to the top so no other window hides part of it, and draw it
  // whole: without backing store, X keeps no hidden pixels.
  uint32_t above = XCB_STACK_MODE_ABOVE;
  xcb_configure_window(c, win_, XCB_CONFIG_WINDOW_STACK_MODE, &above);
  redraw_all();
  x_.sync();
  std::unique_ptr<xcb_get_geometry_reply_t, decltype(&free)> geo(
      xcb_get_geometry_reply(c, xcb_get_geometry(c, win_), nullptr), &free);
  uint32_t w = surface_.width(), h = surface_.height();
  if (geo) {
    w = std::min<uint32_t>(w, geo->width);
    h = std::min<uint32_t>(h, geo->height);
  }
  // Only the part on the screen can be read back.
  std::unique_ptr<xcb_translate_coordinates_reply_t, decltype(&free)> at(
      xcb_translate_coordinates_reply(c, xcb_translate_coordinates(c, win_, x_.screen()->root, 0, 0), nullptr),
      &free);
  if (at) {
    int64_t right = int64_t(x_.screen()->width_in_pixels) - at->dst_x;
    int64_t bottom = int64_t(x_.screen()->height_in_pixels) - at->dst_y;
    w = uint32_t(std::clamp<int64_t>(right, 0, w));
    h = uint32_t(std::clamp<int64_t>(bottom, 0, h));
  }
  if (w == 0 || h == 0)
    return vredir::fail(vredir::kExitFailure, "the window of display channel " + std::to_string(channel_) +
                                                  " is off the screen; nothing to read back");
  xcb_generic_error_t* err = nullptr;
  std::unique_ptr<xcb_get_image_reply_t, decltype(&free)> img(
      xcb_get_image_reply(c,
                          xcb_get_image(c, XCB_IMAGE_FORMAT_Z_PIXMAP, win_, 0, 0, static_cast<uint16_t>(w),
                                        static_cast<uint16_t>(h), ~0u),
                          &err),
      &free);
  if (!img) {
    int code = err ? err->error_code : 0;
    free(err);
    return vredir::fail(vredir::kExitFailure,
                        "cannot read the window back from X display '" + x_.name() + "' (X error " +
                            std::to_string(code) + "; is it mapped and on screen?)");
  }
  size_t len = size_t(xcb_get_image_data_length(img.get()));
  if (len < size_t(w) * h * 4)
    return vredir::fail(vredir::kExitFailure, "X returned a short image for the window");
  const uint8_t* data = xcb_get_image_data(img.get());
  out->width = w;
  out->height = h;
  out->pixels.resize(size_t(w) * h);
  for (size_t i = 0; i < out->pixels.size(); ++i) {
    const uint8_t* p = data + i * 4;
    out->pixels[i] = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16;
  }
  return Status::ok();
}

}  // namespace xreplay
