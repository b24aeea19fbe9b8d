// One forwarded app: launched suspended with the hook DLL injected, its GDI
// records relayed from the hook's ring, input sent back, closed on request.
#pragma once

#include <windows.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace gdi_forward {

class SharedRing;

// Unix paths (under Wine) become DOS paths; anything else is left alone.
std::wstring host_path(const std::wstring& path);
std::wstring quote_arg(const std::wstring& arg);

class AppSession {
 public:
  // Called once per read from the hook's ring with the whole records it held
  // (one batch: gdi-forward writes it as one DEFLATE piece).
  using RecordSink = std::function<void(const std::vector<std::string>& payloads)>;
  AppSession();
  ~AppSession();

  // Starts `command_line` (the first word is the program) with the hook in
  // it. On failure returns false with an exit code and a message.
  bool launch(const std::wstring& command_line, const std::string& app_name, int* code, std::string* err);
  // Relays the hook's records to sink on a thread, then resumes the app.
  void start(RecordSink sink);
  void send_upstream(const std::string& payload);
  // WM_CLOSE to every top-level window; after timeout_ms, TerminateProcess.
  void close(DWORD timeout_ms);
  // Waits for the app and for the relay to drain.
  void wait();
  HANDLE process() const { return process_; }
  DWORD pid() const { return pid_; }
  int32_t exit_code() const;
  uint8_t how() const;  // 0 exited, 1 terminated by request, 2 crashed
  std::vector<uint32_t> open_windows() const;  // created and not destroyed

 private:
  static DWORD WINAPI relay_main(void* self);
  HANDLE process_ = nullptr, thread_ = nullptr, relay_ = nullptr;
  HANDLE up_ = INVALID_HANDLE_VALUE;
  std::unique_ptr<SharedRing> ring_;
  std::atomic<bool> writer_gone_{false};
  DWORD pid_ = 0;
  bool requested_ = false;
  RecordSink sink_;
  std::set<uint32_t> windows_;
  mutable CRITICAL_SECTION lock_;
  bool lock_ready_ = false;
};

}  // namespace gdi_forward
