// The app registry (apps.conf): which Windows apps a server may launch and
// who may launch each. Format in gdi-forward(1):
//   [app NAME]      path = PROGRAM, args = ARGUMENTS, allow = USER @GROUP *,
//                   description = TEXT
//   [group NAME]    members = USER USER ...
// Plain C++: gdi-forward.exe (mingw-w64) and redir-mux serve --apps both
// parse it with this code.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace vredir::apps {

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
  // Whether user may launch app: named, a member of a named @group, or *.
  bool allowed(const RegisteredApp& app, const std::string& user) const;
  // The app named name when user may launch it; nullptr for an unknown name
  // and for a name user may not launch alike, so names do not leak.
  const RegisteredApp* launchable(const std::string& name, const std::string& user) const;
};

// Registry names (apps and groups): 1..64 of letters, digits, '-', '_', '.'.
bool valid_app_name(const std::string& name);
// Parses registry text; false with "LINE: reason" in *err. At most
// kMaxRegistryBytes of text and kMaxApps apps.
inline constexpr size_t kMaxRegistryBytes = 4u << 20;
inline constexpr size_t kMaxApps = 4096;
bool parse_registry(const std::string& text, AppRegistry* out, std::string* err);
// An app's args as words: blanks separate them, double quotes group them.
std::vector<std::string> split_args(const std::string& s);

}  // namespace vredir::apps
