// The app's clipboard, both ways: what an app in this Wine session copies goes
// out as CLIPBOARD frames, and what arrives is put on the session's clipboard
// for the app to paste. One thread with a message-only window listens for
// clipboard changes (AddClipboardFormatListener) and owns what it puts.
#pragma once

#include <windows.h>

#include <functional>
#include <string>

namespace gdi_forward {

class ClipboardBridge {
 public:
  using Send = std::function<void(const std::string& utf8)>;
  // Starts listening; send is called on the bridge's thread with the text
  // (UTF-8, line ends LF) whenever the clipboard gets text other than what
  // the bridge put or sent last. false and *err when no window could be made.
  bool start(Send send, size_t limit, std::string* err);
  // Puts text (UTF-8, LF) on the clipboard; from any thread.
  void put(const std::string& utf8);

 private:
  static DWORD WINAPI thread_main(void* self);
  static LRESULT CALLBACK window_proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp);
  void on_update();
  void on_put(std::string* text);

  Send send_;
  size_t limit_ = 0;
  HWND hwnd_ = nullptr;
  HANDLE ready_ = nullptr;
  std::string error_;
  std::string last_;  // the text on both sides after the last exchange
};

}  // namespace gdi_forward
