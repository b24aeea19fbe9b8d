// Internals of the hook DLL (vredir-gdi-hook.dll), loaded into the app by
// gdi-forward. It patches the import tables of every module in the process
// (the app, user32, comctl32 and modules loaded later) so the GDI calls that
// user32 and comctl32 make internally are seen too, and forwards them as GDI
// records through the link (pipe_link.hpp) to gdi-forward.
#pragma once

#include <windows.h>

#include <cstdint>
#include <string>

#include "wire/gdi_records.hpp"

namespace gdi_hook {

namespace gdi = vredir::gdi;

// One lock guards all hook state and the output buffer.
struct Lock {
  Lock();
  ~Lock();
};

// Queues a record for gdi-forward (caller holds the Lock or not: it locks).
void send(const gdi::Record& r);
// Pushes queued records into the down ring; false when none were queued.
bool flush_output();
std::string app_name();
// Sends what is pending: the windows compared (if due, see hook_main.cpp),
// FLUSH for the targets drawn, the queued records. Called when an app thread
// returns to its message loop and by the poll thread; true when records
// were queued. The input thread calls note_input after delivering input.
bool catch_up();
void note_input();

// Import table patching (iat_patch.cpp).
struct HookEntry {
  const char* module;  // "gdi32.dll", "user32.dll", ...
  const char* name;
  void* hook;
  void** real;  // filled with the original address
};
void register_hooks(HookEntry* entries, size_t n);
void patch_all_modules();
void* hooked_address_for(HMODULE module, const char* name);  // for GetProcAddress

// Drawing capture (hook_capture.cpp).
void install_capture_hooks();
void flush_dirty_targets();
void forget_target(uint32_t id);
// For a new reader of the stream (a viewer reattaching): every font
// definition and surface again, each surface with its current pixels; the
// bitmap cache and the per-target states start over.
void resend_definitions();

// Windows (hook_windows.cpp). Targets are small ids, never raw handles.
uint32_t ensure_window(HWND top);  // 0 if not ours / not trackable; caller holds the Lock
HWND window_of_target(uint32_t target);
// What a top-level window's target shows, in screen coordinates: its client
// area and, above it, its menu bar (the local window manager draws the frame
// and caption, but the menu bar is the app's). Every mapping between target
// and screen coordinates (drawing, clip, input, window rects, move requests)
// goes through it.
RECT target_area(HWND top, POINT* client_origin = nullptr);  // also the client area's origin
// full: also enumerate every top-level window (new windows, z-order, focus);
// under Wine that costs wineserver requests per foreign window, so the
// poll does it every 300 ms (every second without input) and otherwise only looks at our own
// windows.
void poll_windows(bool full = true);
// Sends the icons of windows created since the last call. Never called with
// the lock held (see its comment).
void send_pending_icons();
// WINDOW_REQUEST redraw (target 0): resend_definitions, a WINDOW_CREATE for
// every window that exists, its icon, state, z-order and focus, then every
// window is invalidated so the app paints it in full.
void redraw_all();
void install_window_hooks();

// Input (hook_input.cpp): runs on its own thread, reads upstream records.
DWORD WINAPI input_thread(void*);
extern HANDLE g_up_pipe;

// Colour conversion: COLORREF 0x00BBGGRR -> 0x00RRGGBB.
inline uint32_t rgb_of(COLORREF c) {
  if ((c >> 24) == 0x01 || (c >> 24) == 0x02) c &= 0x00FFFFFF;
  return ((c & 0xFF) << 16) | (c & 0xFF00) | ((c >> 16) & 0xFF);
}

// Re-entrancy: only the outermost hooked call on a thread is recorded (the
// calls FillRect or DrawText make internally are part of it).
struct Depth {
  Depth();
  ~Depth();
  bool outermost() const { return outer_; }
  bool outer_;
};

}  // namespace gdi_hook
