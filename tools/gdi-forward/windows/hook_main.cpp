// DLL entry: connects to gdi-forward's link (the down ring and the up pipe),
// patches import tables and starts the window-poll and input threads.
#include <windows.h>

#include <string>

#include "hook.hpp"
#include "pipe_link.hpp"
#include "shared_ring.hpp"

namespace gdi_hook {

namespace {
CRITICAL_SECTION g_lock;
gdi_forward::SharedRing g_ring;
HANDLE g_reader = nullptr;  // gdi-forward's process, to notice it gone while the ring is full
bool g_connected = false;
std::string g_out;  // length-prefixed records not yet written
std::string g_app;
bool g_link_broken = false;

// Puts g_out into the ring, waiting while it is full; false once
// gdi-forward stopped reading or is gone.
bool write_out() {
  size_t off = 0;
  for (unsigned waits = 0; off < g_out.size();) {
    size_t n = g_ring.write_some(g_out.data() + off, g_out.size() - off);
    off += n;
    if (n > 0) continue;
    if (g_ring.reader_gone()) return false;
    if (++waits % 64 == 0 && g_reader && WaitForSingleObject(g_reader, 0) != WAIT_TIMEOUT) return false;
    Sleep(1);
  }
  return true;
}
thread_local int t_depth = 0;

// A crash ends the app with the exception code as its exit code (so
// gdi-forward reports it as crashed) instead of starting a debugger.
LONG WINAPI on_crash(EXCEPTION_POINTERS* e) {
  TerminateProcess(GetCurrentProcess(), e && e->ExceptionRecord ? e->ExceptionRecord->ExceptionCode : 0xC0000001);
  return EXCEPTION_EXECUTE_HANDLER;
}

// Drawing goes out when the app returns to its message loop (or ends a
// paint); this thread catches the rest (modal loops inside user32, threads
// that draw without a message loop) and window changes the app's own
// window calls did not report: every 100 ms our windows are compared, every
// 300 ms all top-level windows (z-order, focus). Each wake-up costs (about
// 75 us of CPU under Wine in a VM), so it does not tick faster.
DWORD WINAPI poll_thread(void*) {
  for (unsigned tick = 1;; ++tick) {
    Sleep(100);
    poll_windows(tick % 3 == 0);
    flush_dirty_targets();
    flush_output();
  }
}
}  // namespace

HANDLE g_up_pipe = INVALID_HANDLE_VALUE;

Lock::Lock() { EnterCriticalSection(&g_lock); }
Lock::~Lock() { LeaveCriticalSection(&g_lock); }
Depth::Depth() : outer_(t_depth++ == 0) {}
Depth::~Depth() { --t_depth; }

std::string app_name() { return g_app; }

void send(const gdi::Record& r) {
  std::string payload;
  gdi::encode_record(r, payload);
  Lock lock;
  gdi_forward::frame_message(payload, g_out);
  if (g_out.size() > (256u << 10)) flush_output();
}

void flush_output() {
  Lock lock;
  if (g_out.empty()) return;
  if (!g_link_broken && !write_out()) g_link_broken = true;
  g_out.clear();
}

namespace {
bool connect() {
  wchar_t base[256];
  DWORD n = GetEnvironmentVariableW(gdi_forward::kPipeEnv, base, 256);
  if (n == 0 || n >= 256) return false;
  wchar_t app[256];
  n = GetEnvironmentVariableW(gdi_forward::kAppEnv, app, 256);
  if (n > 0 && n < 256) g_app = gdi_forward::to_utf8(app);
  // The app's own children must not try to join this session.
  SetEnvironmentVariableW(gdi_forward::kPipeEnv, nullptr);
  std::wstring b(base);
  if (!g_ring.open(gdi_forward::down_ring_name(b))) return false;
  g_reader = OpenProcess(SYNCHRONIZE, FALSE, g_ring.reader_pid());
  g_up_pipe = CreateFileW(gdi_forward::up_pipe_name(b).c_str(), GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
  return g_connected = g_up_pipe != INVALID_HANDLE_VALUE;
}
}  // namespace

}  // namespace gdi_hook

extern "C" BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID) {
  using namespace gdi_hook;
  if (reason == DLL_PROCESS_ATTACH) {
    DisableThreadLibraryCalls(inst);
    InitializeCriticalSection(&g_lock);
    // Not started by gdi-forward (or its pipe is gone): refuse to load, so
    // the injector sees the failure instead of waiting for a connection.
    if (!connect()) return FALSE;
    SetUnhandledExceptionFilter(on_crash);
    install_capture_hooks();
    install_window_hooks();
    patch_all_modules();
    CloseHandle(CreateThread(nullptr, 0, poll_thread, nullptr, 0, nullptr));
    CloseHandle(CreateThread(nullptr, 0, input_thread, nullptr, 0, nullptr));
  } else if (reason == DLL_PROCESS_DETACH) {
    // Other threads are gone by now and one may have died holding the lock.
    if (g_connected && TryEnterCriticalSection(&g_lock)) {
      if (!g_out.empty() && !g_link_broken) write_out();
      g_out.clear();
      LeaveCriticalSection(&g_lock);
    }
  }
  return TRUE;
}
