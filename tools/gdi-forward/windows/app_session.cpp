#include "app_session.hpp"

#include <string>

#include "wire/exit_codes.hpp"
#include "wire/gdi_records.hpp"
#include "pipe_link.hpp"
#include "shared_ring.hpp"

namespace gdi_forward {

namespace {
std::wstring exe_dir() {
  wchar_t buf[MAX_PATH];
  DWORD n = GetModuleFileNameW(nullptr, buf, MAX_PATH);
  std::wstring p(buf, n);
  size_t slash = p.find_last_of(L"\\/");
  return slash == std::wstring::npos ? L"." : p.substr(0, slash);
}

std::string last_error_text(DWORD e) {
  wchar_t* msg = nullptr;
  FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, e, 0,
                 reinterpret_cast<wchar_t*>(&msg), 0, nullptr);
  std::string s = msg ? to_utf8(msg) : "error " + std::to_string(e);
  if (msg) LocalFree(msg);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '.')) s.pop_back();
  return s;
}

BOOL CALLBACK close_window(HWND h, LPARAM pid) {
  DWORD owner = 0;
  GetWindowThreadProcessId(h, &owner);
  if (owner == DWORD(pid) && IsWindowVisible(h)) PostMessageW(h, WM_CLOSE, 0, 0);
  return TRUE;
}

int g_counter = 0;
}  // namespace

std::wstring host_path(const std::wstring& path) {
  if (path.empty() || path[0] != L'/') return path;
  using ToDos = wchar_t*(CDECL*)(const char*);
  auto to_dos = reinterpret_cast<ToDos>(reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "wine_get_dos_file_name")));
  if (!to_dos) return path;
  std::string unix_path = to_utf8(path.c_str());
  wchar_t* dos = to_dos(unix_path.c_str());
  if (!dos) return path;
  std::wstring out(dos);
  HeapFree(GetProcessHeap(), 0, dos);
  return out;
}

std::wstring quote_arg(const std::wstring& arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\"") == std::wstring::npos) return arg;
  std::wstring out = L"\"";
  size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
    } else if (c == L'"') {
      out.append(backslashes * 2 + 1, L'\\');
      out += c;
      backslashes = 0;
    } else {
      out.append(backslashes, L'\\');
      out += c;
      backslashes = 0;
    }
  }
  out.append(backslashes * 2, L'\\');
  return out + L"\"";
}

AppSession::AppSession() = default;

AppSession::~AppSession() {
  if (relay_) CloseHandle(relay_);
  if (process_) CloseHandle(process_);
  if (thread_) CloseHandle(thread_);
  if (up_ != INVALID_HANDLE_VALUE) CloseHandle(up_);
  if (lock_ready_) DeleteCriticalSection(&lock_);
}

bool AppSession::launch(const std::wstring& command_line, const std::string& app_name, int* code, std::string* err) {
  InitializeCriticalSection(&lock_);
  lock_ready_ = true;
  std::wstring base = L"\\\\.\\pipe\\vredir-gdi-" + std::to_wstring(GetCurrentProcessId()) + L"-" +
                      std::to_wstring(++g_counter);
  ring_ = std::make_unique<SharedRing>();
  bool ring_ok = ring_->create(down_ring_name(base));
  up_ = CreateNamedPipeW(up_pipe_name(base).c_str(), PIPE_ACCESS_OUTBOUND, PIPE_TYPE_BYTE | PIPE_WAIT, 1, 1 << 16,
                         1 << 16, 0, nullptr);
  if (!ring_ok || up_ == INVALID_HANDLE_VALUE) {
    *code = vredir::kExitFailure;
    *err = "cannot create the link to the hook: " + last_error_text(GetLastError());
    return false;
  }

  SECURITY_ATTRIBUTES sa{sizeof(sa), nullptr, TRUE};
  HANDLE nul_in = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, nullptr);
  HANDLE nul_out = CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, nullptr);
  STARTUPINFOW si{};
  si.cb = sizeof(si);
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = nul_in;
  si.hStdOutput = nul_out;
  si.hStdError = nul_out;
  PROCESS_INFORMATION pi{};
  std::wstring cmd = command_line;
  SetEnvironmentVariableW(kPipeEnv, base.c_str());
  SetEnvironmentVariableW(kAppEnv, to_wide(app_name).c_str());
  // No crash dialog or debugger: a crashing app must simply exit.
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
  BOOL ok = CreateProcessW(nullptr, cmd.data(), nullptr, nullptr, TRUE, CREATE_SUSPENDED, nullptr, nullptr, &si, &pi);
  DWORD e = GetLastError();
  SetEnvironmentVariableW(kPipeEnv, nullptr);
  SetEnvironmentVariableW(kAppEnv, nullptr);
  CloseHandle(nul_in);
  CloseHandle(nul_out);
  if (!ok) {
    bool missing = e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND || e == ERROR_BAD_EXE_FORMAT;
    *code = missing ? vredir::kExitNotFound : vredir::kExitFailure;
    *err = "cannot start '" + to_utf8(command_line.c_str()) + "': " + last_error_text(e);
    return false;
  }
  process_ = pi.hProcess;
  thread_ = pi.hThread;
  pid_ = pi.dwProcessId;

  // Inject: LoadLibraryW(hook path) on a remote thread; kernel32 sits at the
  // same address in every process, so our LoadLibraryW address is theirs.
  std::wstring dll = exe_dir() + L"\\vredir-gdi-hook.dll";
  size_t bytes = (dll.size() + 1) * sizeof(wchar_t);
  void* remote = VirtualAllocEx(process_, nullptr, bytes, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  bool injected = false;
  if (remote && WriteProcessMemory(process_, remote, dll.c_str(), bytes, nullptr)) {
    auto load = reinterpret_cast<LPTHREAD_START_ROUTINE>(
        reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "LoadLibraryW")));
    HANDLE t = CreateRemoteThread(process_, nullptr, 0, load, remote, 0, nullptr);
    if (t) {
      DWORD rc = 0;
      injected = WaitForSingleObject(t, 20000) == WAIT_OBJECT_0 && GetExitCodeThread(t, &rc) && rc != 0;
      CloseHandle(t);
    }
  }
  // The hook refuses to load unless it opened the ring and the pipe, so
  // once LoadLibraryW succeeded this returns at once (ERROR_PIPE_CONNECTED).
  if (injected) ConnectNamedPipe(up_, nullptr);
  if (!injected) {
    TerminateProcess(process_, 1);
    *code = vredir::kExitFailure;
    *err = "cannot inject " + to_utf8(dll.c_str()) + " into the app (is it next to gdi-forward.exe?)";
    return false;
  }
  return true;
}

void AppSession::start(RecordSink sink) {
  sink_ = std::move(sink);
  relay_ = CreateThread(nullptr, 0, relay_main, this, 0, nullptr);
  ResumeThread(thread_);
}

DWORD WINAPI AppSession::relay_main(void* p) {
  auto* self = static_cast<AppSession*>(p);
  // Take whatever the ring holds and hand out the whole records in it; a
  // record cut by the read waits for the next one (see SharedRing for how
  // the relay sleeps). Once the app is gone (wait() saw it end) the ring is
  // drained and the relay ends.
  std::string buf;
  std::vector<std::string> batch;
  std::vector<char> chunk(1 << 18);
  for (;;) {
    bool gone = self->writer_gone_.load();
    size_t got = self->ring_->read_some(chunk.data(), chunk.size());
    if (got == 0) {
      if (gone) break;
      // wait() wakes it once the app is gone; the timeout is only a backstop.
      self->ring_->wait_for_data(2000, self->writer_gone_);
      continue;
    }
    buf.append(chunk.data(), got);
    batch.clear();
    size_t pos = 0;
    bool bad = false;
    while (buf.size() - pos >= 4) {
      const auto* b = reinterpret_cast<const uint8_t*>(buf.data() + pos);
      uint32_t n = b[0] | b[1] << 8 | b[2] << 16 | uint32_t(b[3]) << 24;
      if (n > kMaxLinkMessage) {
        bad = true;
        break;
      }
      if (buf.size() - pos - 4 < n) break;
      std::string msg = buf.substr(pos + 4, n);
      pos += 4 + size_t(n);
      if (msg.size() >= 5) {
        uint8_t op = uint8_t(msg[0]);
        if (op == 0x01 || op == 0x02) {
          uint32_t id = uint8_t(msg[1]) | uint8_t(msg[2]) << 8 | uint8_t(msg[3]) << 16 | uint32_t(uint8_t(msg[4])) << 24;
          EnterCriticalSection(&self->lock_);
          if (op == 0x01) self->windows_.insert(id);
          else self->windows_.erase(id);
          LeaveCriticalSection(&self->lock_);
        }
      }
      batch.push_back(std::move(msg));
    }
    buf.erase(0, pos);
    if (!batch.empty()) self->sink_(batch);
    if (bad) break;
  }
  // A hook still writing (records after a bad one) stops waiting for room.
  self->ring_->close_reader();
  return 0;
}

void AppSession::send_upstream(const std::string& payload) {
  std::string framed;
  frame_message(payload, framed);
  EnterCriticalSection(&lock_);
  write_all(up_, framed.data(), framed.size());
  LeaveCriticalSection(&lock_);
}

void AppSession::close(DWORD timeout_ms) {
  if (WaitForSingleObject(process_, 0) == WAIT_OBJECT_0) return;
  requested_ = true;
  // Through the hook, so the close lands behind input already sent; then
  // directly too, in case the hook is stuck.
  std::string all;
  vredir::gdi::encode_record(vredir::gdi::WindowRequest{0, vredir::gdi::WindowRequest::kClose, {}}, all);
  send_upstream(all);
  if (WaitForSingleObject(process_, timeout_ms / 2) == WAIT_OBJECT_0) return;
  EnumWindows(close_window, LPARAM(pid_));
  if (WaitForSingleObject(process_, timeout_ms - timeout_ms / 2) != WAIT_OBJECT_0) TerminateProcess(process_, 1);
}

void AppSession::wait() {
  WaitForSingleObject(process_, INFINITE);
  writer_gone_.store(true);
  if (ring_) ring_->wake_reader();
  if (relay_) WaitForSingleObject(relay_, INFINITE);
}

int32_t AppSession::exit_code() const {
  DWORD c = 0;
  GetExitCodeProcess(process_, &c);
  return int32_t(c);
}

uint8_t AppSession::how() const {
  DWORD c = DWORD(exit_code());
  if (c >= 0xC0000000u && c < 0xD0000000u) return 2;
  return requested_ ? 1 : 0;
}

std::vector<uint32_t> AppSession::open_windows() const {
  EnterCriticalSection(&lock_);
  std::vector<uint32_t> v(windows_.begin(), windows_.end());
  LeaveCriticalSection(&lock_);
  return v;
}

}  // namespace gdi_forward
