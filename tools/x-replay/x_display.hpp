// The connection to the local X server: the screen, the atoms the windows
// use, MIT-SHM support, the largest request, and keysym lookup.
#pragma once

#include <xcb/xcb.h>
#include <xcb/xcb_keysyms.h>

#include <cstdint>
#include <string>

#include "wire/status.hpp"

namespace xreplay {

class XDisplay {
 public:
  XDisplay() = default;
  ~XDisplay();
  XDisplay(const XDisplay&) = delete;
  XDisplay& operator=(const XDisplay&) = delete;

  // name: an X display name (":0"); empty means $DISPLAY. use_shm: try MIT-SHM.
  vredir::Status open(const std::string& name, bool use_shm);

  xcb_connection_t* conn() const { return conn_; }
  xcb_screen_t* screen() const { return screen_; }
  int fd() const { return xcb_get_file_descriptor(conn_); }
  const std::string& name() const { return name_; }
  bool shm() const { return shm_; }
  // Bytes one request may carry (BIG-REQUESTS included), capped at 4 MiB.
  size_t max_request_bytes() const { return max_request_bytes_; }
  bool broken() const { return xcb_connection_has_error(conn_) != 0; }

  // A round trip: every request sent before it has been processed.
  void sync();
  // The X keysym for a key event in the given state (shift level), 0 if none.
  uint32_t keysym(uint8_t keycode, uint16_t state);
  void refresh_keyboard_mapping(xcb_mapping_notify_event_t* ev);

  xcb_atom_t wm_protocols = 0, wm_delete_window = 0, net_wm_name = 0, utf8_string = 0;

 private:
  xcb_atom_t intern(const char* name);

  xcb_connection_t* conn_ = nullptr;
  xcb_screen_t* screen_ = nullptr;
  xcb_key_symbols_t* keysyms_ = nullptr;
  std::string name_;
  bool shm_ = false;
  size_t max_request_bytes_ = 262140;
};

}  // namespace xreplay
