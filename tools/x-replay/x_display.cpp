#include "x_display.hpp"

#include <xcb/shm.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

using vredir::Status;

namespace xreplay {

namespace {

// Pixels travel as 32-bit little-endian 0x00RRGGBB words: that is the X
// image format of a 24-bit TrueColor visual with 32 bits per pixel.
bool native_format(xcb_connection_t* c, xcb_screen_t* s, std::string* why) {
  const xcb_setup_t* setup = xcb_get_setup(c);
  if (s->root_depth != 24 && s->root_depth != 32) {
    *why = "its screen depth is " + std::to_string(s->root_depth) + " bits";
    return false;
  }
  bool bpp32 = false;
  for (auto it = xcb_setup_pixmap_formats_iterator(setup); it.rem; xcb_format_next(&it))
    if (it.data->depth == s->root_depth) bpp32 = it.data->bits_per_pixel == 32;
  if (!bpp32 || setup->image_byte_order != XCB_IMAGE_ORDER_LSB_FIRST) {
    *why = "its images are not 32-bit little-endian pixels";
    return false;
  }
  for (auto d = xcb_screen_allowed_depths_iterator(s); d.rem; xcb_depth_next(&d))
    for (auto v = xcb_depth_visuals_iterator(d.data); v.rem; xcb_visualtype_next(&v))
      if (v.data->visual_id == s->root_visual) {
        if (v.data->_class == XCB_VISUAL_CLASS_TRUE_COLOR && v.data->red_mask == 0xff0000 &&
            v.data->green_mask == 0x00ff00 && v.data->blue_mask == 0x0000ff)
          return true;
        *why = "its default visual is not 24-bit RGB TrueColor";
        return false;
      }
  *why = "its default visual was not found";
  return false;
}

}  // namespace

XDisplay::~XDisplay() {
  if (keysyms_) xcb_key_symbols_free(keysyms_);
  if (conn_) xcb_disconnect(conn_);
}

Status XDisplay::open(const std::string& name, bool use_shm) {
  const char* env = std::getenv("DISPLAY");
  name_ = !name.empty() ? name : (env ? env : "");
  if (name_.empty()) return vredir::fail(vredir::kExitFailure, "no X display (set DISPLAY or use --x-display)");
  int screen_no = 0;
  conn_ = xcb_connect(name_.c_str(), &screen_no);
  if (xcb_connection_has_error(conn_))
    return vredir::fail(vredir::kExitFailure,
                        "cannot open X display '" + name_ + "' (set DISPLAY or use --x-display)");
  auto it = xcb_setup_roots_iterator(xcb_get_setup(conn_));
  for (int i = 0; i < screen_no && it.rem; ++i) xcb_screen_next(&it);
  if (!it.rem) return vredir::fail(vredir::kExitFailure, "X display '" + name_ + "' has no such screen");
  screen_ = it.data;
  std::string why;
  if (!native_format(conn_, screen_, &why))
    return vredir::fail(vredir::kExitFailure,
                        "X display '" + name_ + "' is not supported: " + why + " (x-replay needs 24-bit TrueColor)");

  wm_protocols = intern("WM_PROTOCOLS");
  wm_delete_window = intern("WM_DELETE_WINDOW");
  net_wm_name = intern("_NET_WM_NAME");
  utf8_string = intern("UTF8_STRING");
  keysyms_ = xcb_key_symbols_alloc(conn_);

  uint32_t max_units = xcb_get_maximum_request_length(conn_);
  max_request_bytes_ = std::min<size_t>(size_t(max_units) * 4, 4u << 20);

  if (use_shm) {
    const xcb_query_extension_reply_t* ext = xcb_get_extension_data(conn_, &xcb_shm_id);
    if (ext && ext->present) {
      std::unique_ptr<xcb_shm_query_version_reply_t, decltype(&free)> v(
          xcb_shm_query_version_reply(conn_, xcb_shm_query_version(conn_), nullptr), &free);
      shm_ = v != nullptr;
    }
  }
  return Status::ok();
}

xcb_atom_t XDisplay::intern(const char* name) {
  auto cookie = xcb_intern_atom(conn_, 0, static_cast<uint16_t>(std::strlen(name)), name);
  std::unique_ptr<xcb_intern_atom_reply_t, decltype(&free)> r(xcb_intern_atom_reply(conn_, cookie, nullptr), &free);
  return r ? r->atom : xcb_atom_t(XCB_ATOM_NONE);
}

void XDisplay::sync() { free(xcb_get_input_focus_reply(conn_, xcb_get_input_focus(conn_), nullptr)); }

uint32_t XDisplay::keysym(uint8_t keycode, uint16_t state) {
  if (!keysyms_) return 0;
  int col = (state & XCB_MOD_MASK_SHIFT) ? 1 : 0;
  xcb_keysym_t sym = xcb_key_symbols_get_keysym(keysyms_, keycode, col);
  if (sym == XCB_NO_SYMBOL && col) sym = xcb_key_symbols_get_keysym(keysyms_, keycode, 0);
  return sym;
}

void XDisplay::refresh_keyboard_mapping(xcb_mapping_notify_event_t* ev) {
  if (keysyms_) xcb_refresh_keyboard_mapping(keysyms_, ev);
}

}  // namespace xreplay
