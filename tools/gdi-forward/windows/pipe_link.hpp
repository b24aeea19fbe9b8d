// The link between gdi-forward.exe and the hook DLL inside the app, one byte
// stream per direction (so a blocked read never stalls a write), each
// carrying GDI record payloads as u32 little-endian length + bytes: down, the
// records, through a ring in shared memory (shared_ring.hpp); up, input and
// window requests, through a named pipe.
#pragma once

#include <windows.h>

#include <cstdint>
#include <string>

namespace gdi_forward {

// Environment variables gdi-forward sets for the app (and so for the hook).
inline constexpr wchar_t kPipeEnv[] = L"VREDIR_GDI_PIPE";  // base name of the link
inline constexpr wchar_t kAppEnv[] = L"VREDIR_GDI_APP";    // app name for WINDOW_CREATE
inline constexpr uint32_t kMaxLinkMessage = 32u << 20;

// base is \\.\pipe\NAME; the down ring is the section Local\NAME-down.
inline std::wstring down_ring_name(const std::wstring& base) {
  return L"Local\\" + base.substr(base.find_last_of(L'\\') + 1) + L"-down";
}
inline std::wstring up_pipe_name(const std::wstring& base) { return base + L"-up"; }

inline bool write_all(HANDLE h, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    DWORD chunk = size > (1u << 20) ? (1u << 20) : static_cast<DWORD>(size);
    DWORD done = 0;
    if (!WriteFile(h, p, chunk, &done, nullptr) || done == 0) return false;
    p += done;
    size -= done;
  }
  return true;
}

inline bool read_all(HANDLE h, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    DWORD done = 0;
    if (!ReadFile(h, p, static_cast<DWORD>(size), &done, nullptr) || done == 0) return false;
    p += done;
    size -= done;
  }
  return true;
}

// Appends one length-prefixed message to out.
inline void frame_message(const std::string& payload, std::string& out) {
  uint32_t n = static_cast<uint32_t>(payload.size());
  char len[4] = {char(n), char(n >> 8), char(n >> 16), char(n >> 24)};
  out.append(len, 4);
  out += payload;
}

// Reads one message; false at end of pipe or on an oversized length.
inline bool read_message(HANDLE h, std::string* out) {
  unsigned char len[4];
  if (!read_all(h, len, 4)) return false;
  uint32_t n = len[0] | (len[1] << 8) | (len[2] << 16) | (uint32_t(len[3]) << 24);
  if (n > kMaxLinkMessage) return false;
  out->resize(n);
  return n == 0 || read_all(h, out->data(), n);
}

inline std::string to_utf8(const wchar_t* s, int n = -1) {
  if (n == 0) return {};
  int len = WideCharToMultiByte(CP_UTF8, 0, s, n, nullptr, 0, nullptr, nullptr);
  if (len <= 0) return {};
  std::string out(static_cast<size_t>(len), '\0');
  WideCharToMultiByte(CP_UTF8, 0, s, n, out.data(), len, nullptr, nullptr);
  if (n < 0 && !out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

inline std::wstring to_wide(const std::string& s) {
  if (s.empty()) return {};
  int len = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(len), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), len);
  return out;
}

}  // namespace gdi_forward
