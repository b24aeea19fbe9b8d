#include "app_registry.hpp"

#include <windows.h>

#include <sstream>

#include "app_session.hpp"
#include "wire/exit_codes.hpp"
#include "pipe_link.hpp"

namespace gdi_forward {

using vredir::apps::parse_registry;

bool load_registry(const std::string& path, AppRegistry* out, int* code, std::string* err) {
  std::wstring p = host_path(to_wide(path));
  HANDLE f = CreateFileW(p.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING, 0, nullptr);
  if (f == INVALID_HANDLE_VALUE) {
    *code = vredir::kExitNotFound;
    *err = "cannot open registry '" + path + "'";
    return false;
  }
  std::string text;
  char buf[65536];
  DWORD got = 0;
  while (ReadFile(f, buf, sizeof(buf), &got, nullptr) && got > 0 && text.size() <= vredir::apps::kMaxRegistryBytes)
    text.append(buf, got);
  CloseHandle(f);
  std::string why;
  if (!parse_registry(text, out, &why)) {
    *code = vredir::kExitFailure;
    *err = path + ":" + why;
    return false;
  }
  return true;
}

}  // namespace gdi_forward
