// The app registry (apps.conf): which apps gdi-forward serve may launch and
// who may launch each. Format in gdi-forward(1):
//   [app NAME]      path = PROGRAM, args = ARGUMENTS, allow = USER @GROUP *
//   [group NAME]    members = USER USER ...
#pragma once

#include <map>
#include <string>
#include <vector>

namespace gdi_forward {

struct RegisteredApp {
  std::string name;
  std::string path;
  std::string args;
  std::string description;
  std::vector<std::string> allow;  // users, @groups, or * for everyone
};

struct AppRegistry {
  std::vector<RegisteredApp> apps;
  std::map<std::string, std::vector<std::string>> groups;

  const RegisteredApp* find(const std::string& name) const;
  bool allowed(const RegisteredApp& app, const std::string& user) const;
};

// Parses registry text; false with "LINE: reason" in *err.
bool parse_registry(const std::string& text, AppRegistry* out, std::string* err);
// Reads and parses a registry file (a Windows path, or a Unix path under Wine).
bool load_registry(const std::string& path, AppRegistry* out, int* code, std::string* err);

}  // namespace gdi_forward
