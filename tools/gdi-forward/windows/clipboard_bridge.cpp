#include "clipboard_bridge.hpp"

#include <cwchar>
#include <memory>

#include "forward_modes.hpp"
#include "pipe_link.hpp"

namespace gdi_forward {

namespace {

constexpr UINT kPutMessage = WM_APP + 1;

// Windows text has CRLF line ends; the stream's has LF.
std::string from_windows_text(const wchar_t* p, size_t n) {
  std::wstring w;
  w.reserve(n);
  for (size_t i = 0; i < n; ++i)
    if (!(p[i] == L'\r' && i + 1 < n && p[i + 1] == L'\n')) w += p[i];
  return w.empty() ? std::string() : to_utf8(w.c_str(), int(w.size()));
}

std::wstring to_windows_text(const std::string& s) {
  std::wstring w = to_wide(s), out;
  out.reserve(w.size() + w.size() / 16);
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == L'\n' && (i == 0 || w[i - 1] != L'\r')) out += L'\r';
    out += w[i];
  }
  return out;
}

// Another program may hold the clipboard for a moment.
bool open_clipboard(HWND owner) {
  for (int i = 0; i < 50; ++i) {
    if (OpenClipboard(owner)) return true;
    Sleep(10);
  }
  return false;
}

}  // namespace

bool ClipboardBridge::start(Send send, size_t limit, std::string* err) {
  send_ = std::move(send);
  limit_ = limit;
  ready_ = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  HANDLE t = CreateThread(nullptr, 0, thread_main, this, 0, nullptr);
  if (!t || !ready_) {
    *err = "clipboard: cannot start its thread";
    return false;
  }
  CloseHandle(t);
  WaitForSingleObject(ready_, 10000);
  if (!hwnd_) {
    *err = error_.empty() ? "clipboard: no listener window" : error_;
    return false;
  }
  return true;
}

void ClipboardBridge::put(const std::string& utf8) {
  if (!hwnd_) return;
  auto* text = new std::string(utf8);
  if (!PostMessageW(hwnd_, kPutMessage, 0, reinterpret_cast<LPARAM>(text))) delete text;
}

DWORD WINAPI ClipboardBridge::thread_main(void* p) {
  auto* self = static_cast<ClipboardBridge*>(p);
  HINSTANCE inst = GetModuleHandleW(nullptr);
  WNDCLASSW wc{};
  wc.lpfnWndProc = window_proc;
  wc.hInstance = inst;
  wc.lpszClassName = L"vredir-clipboard";
  RegisterClassW(&wc);
  HWND hwnd = CreateWindowExW(0, wc.lpszClassName, L"", 0, 0, 0, 0, 0, HWND_MESSAGE, nullptr, inst, nullptr);
  if (!hwnd) {
    self->error_ = "clipboard: cannot create its window (error " + std::to_string(GetLastError()) + ")";
    SetEvent(self->ready_);
    return 0;
  }
  SetWindowLongPtrW(hwnd, GWLP_USERDATA, reinterpret_cast<LONG_PTR>(self));
  if (!AddClipboardFormatListener(hwnd)) {
    self->error_ = "clipboard: cannot listen for changes (error " + std::to_string(GetLastError()) + ")";
    DestroyWindow(hwnd);
    SetEvent(self->ready_);
    return 0;
  }
  self->hwnd_ = hwnd;
  SetEvent(self->ready_);
  MSG msg;
  while (GetMessageW(&msg, nullptr, 0, 0) > 0) DispatchMessageW(&msg);
  return 0;
}

LRESULT CALLBACK ClipboardBridge::window_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
  auto* self = reinterpret_cast<ClipboardBridge*>(GetWindowLongPtrW(hwnd, GWLP_USERDATA));
  if (self && msg == WM_CLIPBOARDUPDATE) {
    self->on_update();
    return 0;
  }
  if (self && msg == kPutMessage) {
    std::unique_ptr<std::string> text(reinterpret_cast<std::string*>(lp));
    self->on_put(text.get());
    return 0;
  }
  return DefWindowProcW(hwnd, msg, wp, lp);
}

void ClipboardBridge::on_update() {
  if (!IsClipboardFormatAvailable(CF_UNICODETEXT) || !open_clipboard(hwnd_)) return;
  std::string text;
  bool too_big = false;
  if (HANDLE h = GetClipboardData(CF_UNICODETEXT)) {
    if (auto* p = static_cast<const wchar_t*>(GlobalLock(h))) {
      size_t cap = GlobalSize(h) / sizeof(wchar_t);
      size_t n = wcsnlen(p, cap);
      // UTF-8 is at most 3 bytes per UTF-16 unit: a cheap first bound.
      if (n > limit_ * 3) too_big = true;
      else text = from_windows_text(p, n);
      GlobalUnlock(h);
    }
  }
  CloseClipboard();
  if (too_big || text.size() > limit_) {
    report("clipboard: the app copied more than " + std::to_string(limit_) + " bytes of text; not sent");
    return;
  }
  if (text.empty() || text == last_) return;
  last_ = text;
  send_(text);
}

void ClipboardBridge::on_put(std::string* text) {
  if (*text == last_) return;
  std::wstring w = to_windows_text(*text);
  HGLOBAL mem = GlobalAlloc(GMEM_MOVEABLE, (w.size() + 1) * sizeof(wchar_t));
  if (!mem) return;
  if (auto* p = static_cast<wchar_t*>(GlobalLock(mem))) {
    std::wmemcpy(p, w.c_str(), w.size() + 1);
    GlobalUnlock(mem);
  }
  if (!open_clipboard(hwnd_)) {
    GlobalFree(mem);
    report("clipboard: busy; the viewer's text was not put on it");
    return;
  }
  last_ = *text;  // before the change notice that our own SetClipboardData causes
  EmptyClipboard();
  if (!SetClipboardData(CF_UNICODETEXT, mem)) GlobalFree(mem);
  CloseClipboard();
}

}  // namespace gdi_forward
