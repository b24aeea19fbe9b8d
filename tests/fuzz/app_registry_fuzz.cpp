// Fuzz target for the app registry (apps.conf) that redir-mux serve --apps
// and gdi-forward read: its parser, the launch checks on what it parsed, and
// the splitting of an app's arguments.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string>

#include "apps/app_registry.hpp"

using namespace vredir::apps;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  AppRegistry reg;
  std::string err;
  if (parse_registry(in, &reg, &err)) {
    if (reg.apps.size() > kMaxApps) std::abort();
    for (const RegisteredApp& a : reg.apps) {
      if (!valid_app_name(a.name) || a.path.empty() || reg.find(a.name) != &a) std::abort();
      // launchable is find and allowed together, never more.
      if (reg.launchable(a.name, "alice") != (reg.allowed(a, "alice") ? &a : nullptr)) std::abort();
      if (reg.allowed(a, "") && std::find(a.allow.begin(), a.allow.end(), "*") == a.allow.end()) std::abort();
      (void)split_args(a.args);
    }
  } else if (err.empty()) {
    std::abort();
  }
  for (const std::string& w : split_args(in))
    if (w.find('"') != std::string::npos) std::abort();
  return 0;
}
