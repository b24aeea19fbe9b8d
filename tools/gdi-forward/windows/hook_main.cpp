// DLL entry: connects to gdi-forward's link (the down ring and the up pipe),
// patches import tables and starts the window-poll and input threads.
#include <windows.h>

#include <atomic>
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

// Window polling. The app's own threads poll (every 100 ms at most) when
// they come back to their message loop, which costs no wake-up. The poll
// thread covers the rest: modal loops inside user32 (menus, dialogs, message
// boxes) and threads that draw without a message loop. It ticks every 100 ms
// while the loop has not polled lately, while input came in the last second
// or while it found drawing nobody had sent; otherwise every 500 ms, since
// each wake-up of a Wine thread costs about 75 us of CPU in a VM (a thread
// doing only Sleep(30) used 2.5 ms/s). Input wakes it at once.
constexpr uint64_t kPollMs = 100, kSlowPollMs = 500, kInputActiveMs = 1000;
constexpr uint64_t kFullPollMs = 300, kIdleFullPollMs = 1000;  // all top-level windows
std::atomic<uint64_t> g_last_poll{0}, g_last_full_poll{0}, g_last_input{0};
std::atomic<bool> g_poll_slow{false};
HANDLE g_poll_event = nullptr;

bool input_active(uint64_t now) { return now - g_last_input.load() < kInputActiveMs; }

// Polls unless another thread did less than kPollMs ago.
void poll_if_due(uint64_t now) {
  uint64_t last = g_last_poll.load();
  if (now - last < kPollMs || !g_last_poll.compare_exchange_strong(last, now)) return;
  uint64_t full_last = g_last_full_poll.load();
  bool full = now - full_last >= (input_active(now) ? kFullPollMs : kIdleFullPollMs) &&
              g_last_full_poll.compare_exchange_strong(full_last, now);
  poll_windows(full);
}

DWORD WINAPI poll_thread(void*) {
  for (bool pending = false;;) {
    uint64_t now = GetTickCount64();
    bool slow = !pending && now - g_last_poll.load() < kPollMs && !input_active(now);
    g_poll_slow.store(slow);
    WaitForSingleObject(g_poll_event, DWORD(slow ? kSlowPollMs : kPollMs));
    g_poll_slow.store(false);
    pending = catch_up();
  }
}
}  // namespace

HANDLE g_up_pipe = INVALID_HANDLE_VALUE;

Lock::Lock() { EnterCriticalSection(&g_lock); }
Lock::~Lock() { LeaveCriticalSection(&g_lock); }
#ifdef VREDIR_GDI_HOOK_FLOOR
// The benchmark's floor build: no hooked call is ever the outermost, so
// none is recorded (see hook_BitBlt for the one record per frame it sends).
Depth::Depth() : outer_(false) { ++t_depth; }
#else
Depth::Depth() : outer_(t_depth++ == 0) {}
#endif
Depth::~Depth() { --t_depth; }

std::string app_name() { return g_app; }

bool catch_up() {
  poll_if_due(GetTickCount64());
  send_pending_icons();
  flush_dirty_targets();
  return flush_output();
}

void note_input() {
  g_last_input.store(GetTickCount64());
  if (g_poll_slow.exchange(false)) SetEvent(g_poll_event);
}

void send(const gdi::Record& r) {
  std::string payload;
  gdi::encode_record(r, payload);
  Lock lock;
  gdi_forward::frame_message(payload, g_out);
  if (g_out.size() > (256u << 10)) flush_output();
}

bool flush_output() {
  Lock lock;
  if (g_out.empty()) return false;
  if (!g_link_broken && !write_out()) g_link_broken = true;
  g_out.clear();
  return true;
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
    g_poll_event = CreateEventW(nullptr, FALSE, FALSE, nullptr);
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
