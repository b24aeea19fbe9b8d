// One display channel shown as one X window, 1:1 with its surface. The
// client-side DisplaySurface receives the rects; at each FRAME_END the
// damaged region is composed (surface plus the channel's cursor) into the
// window's image and sent, through MIT-SHM when the server shares memory
// with us, else as PutImage strips that fit the largest request. Expose is
// answered from that image, with no round trip.
#pragma once

#include <xcb/xcb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "media/display_surface.hpp"
#include "media/image_files.hpp"
#include "wire/stream_format.hpp"
#include "x_display.hpp"

namespace xreplay {

struct Box {
  uint32_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // half-open
  bool empty() const { return x0 >= x1 || y0 >= y1; }
  void add(uint32_t x, uint32_t y, uint32_t w, uint32_t h);
};

// A cursor drawn over the surface (CURSOR_SHAPE at CURSOR_POS).
struct CursorImage {
  uint32_t w = 0, h = 0, hot_x = 0, hot_y = 0;
  std::vector<uint32_t> argb;  // 0xAARRGGBB, straight alpha
  int32_t x = 0, y = 0;
  bool visible = false;
};

class SurfaceWindow {
 public:
  SurfaceWindow(XDisplay& x, uint16_t channel, std::string title);
  ~SurfaceWindow();
  SurfaceWindow(const SurfaceWindow&) = delete;
  SurfaceWindow& operator=(const SurfaceWindow&) = delete;

  // SURFACE: (re)sizes the surface; the window is created and mapped on the
  // first call and resized on later ones. Contents become black.
  void resize(uint32_t width, uint32_t height);
  // RECT: applied to the client-side surface; shown at the next present().
  bool apply(const vredir::stream::Rect& r, std::string* err);
  // FRAME_END: sends the damaged region.
  void present();
  // Redraws part of the window from the composed image (Expose).
  void expose(uint32_t x, uint32_t y, uint32_t w, uint32_t h);
  void redraw_all();

  void set_cursor_shape(const vredir::stream::CursorShape& shape);
  void set_cursor_pos(int32_t x, int32_t y, bool visible);
  void hide_cursor();

  // The pointer grab (escape chord Menu, G): the X pointer is held in the
  // window and warped back to its centre after each motion, so the motion
  // can be sent as relative; the title says so. False when X refuses.
  bool grab_pointer();
  void release_pointer();
  bool grabbed() const { return grabbed_; }
  int32_t centre_x() const { return static_cast<int32_t>(width() / 2); }
  int32_t centre_y() const { return static_cast<int32_t>(height() / 2); }
  void warp_to_centre();
  // While grabbed: the motion since the last position seen, for an event at
  // x,y. False (nothing to send) for the warp's own event, for no motion, and
  // for positions from before the grab's first warp arrived: a delta is
  // always between two positions the pointer really had, so events already
  // queued when a warp is asked for still count once.
  bool grab_motion(int32_t x, int32_t y, int32_t* dx, int32_t* dy);

  // Reads the window back from the X server (what X shows, not our buffer).
  vredir::Status capture(vredir::Image* out);
  // Destroys the X window; the channel is still decoded but no longer shown.
  // destroyed: another client already destroyed it.
  void close(bool destroyed = false);

  uint16_t channel() const { return channel_; }
  xcb_window_t window() const { return win_; }
  bool shown() const { return win_ != 0; }
  // Closed by the user: the channel is no longer shown, even after a SURFACE.
  bool retired() const { return retired_; }
  uint32_t width() const { return surface_.width(); }
  uint32_t height() const { return surface_.height(); }

 private:
  void alloc_image();
  void free_image();
  void compose(const Box& b);
  void put(const Box& b);
  void damage_cursor();
  void set_properties();
  void show_title(const std::string& title);

  XDisplay& x_;
  uint16_t channel_;
  std::string title_;
  vredir::stream::DisplaySurface surface_;
  CursorImage cursor_;
  Box damage_;
  xcb_window_t win_ = 0;
  xcb_gcontext_t gc_ = 0;
  // The composed image, width x height: shared memory or a plain buffer.
  uint32_t* image_ = nullptr;
  std::vector<uint32_t> local_image_;
  uint32_t shmseg_ = 0;
  void* shmaddr_ = nullptr;
  bool retired_ = false;
  bool grabbed_ = false;
  bool warp_pending_ = false;  // a warp to the centre whose event has not come
  bool last_known_ = false;    // last_x_, last_y_ hold a position seen under the grab
  int32_t last_x_ = 0, last_y_ = 0;
  bool shm_in_flight_ = false;  // the server may still be reading image_
  std::vector<uint8_t> strip_;
};

}  // namespace xreplay
