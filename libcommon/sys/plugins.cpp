#include "sys/plugins.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#ifndef VREDIR_BUILD_PLUGIN_DIR
#define VREDIR_BUILD_PLUGIN_DIR ""
#endif

namespace vredir {

namespace {

std::string exe_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string p(buf, static_cast<size_t>(n));
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

}  // namespace

Status load_plugin(const std::string& file, const std::string& what_for, void** handle) {
  std::vector<std::string> dirs;
  if (const char* d = std::getenv("VREDIR_PLUGIN_DIR"); d && *d) dirs.push_back(d);
  if (std::string e = exe_dir(); !e.empty()) dirs.push_back(e + "/../lib/vredir");
  if (*VREDIR_BUILD_PLUGIN_DIR) dirs.push_back(VREDIR_BUILD_PLUGIN_DIR);
  std::string looked, errors;
  for (const std::string& d : dirs) {
    std::string path = d + "/" + file;
    if (::access(path.c_str(), R_OK) != 0) {
      looked += (looked.empty() ? "" : ", ") + d;
      continue;
    }
    if (void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      *handle = h;
      return Status::ok();
    }
    const char* e = ::dlerror();
    errors = path + ": " + (e ? e : "cannot load");
  }
  if (!errors.empty()) return fail(kExitFailure, "cannot load " + errors + " (" + what_for + ")");
  return fail(kExitNotFound, file + " is not installed (looked in " + looked + "; " + what_for + ")");
}

void* plugin_symbol(void* handle, const char* name) { return handle ? ::dlsym(handle, name) : nullptr; }

}  // namespace vredir
