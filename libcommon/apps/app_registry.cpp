#include "apps/app_registry.hpp"

#include <cctype>
#include <sstream>

namespace vredir::apps {

namespace {
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) {
    while (!w.empty() && w.back() == ',') w.pop_back();
    if (!w.empty()) out.push_back(w);
  }
  return out;
}

}  // namespace

bool valid_app_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

const RegisteredApp* AppRegistry::find(const std::string& name) const {
  for (const RegisteredApp& a : apps)
    if (a.name == name) return &a;
  return nullptr;
}

bool AppRegistry::allowed(const RegisteredApp& app, const std::string& user) const {
  for (const std::string& who : app.allow) {
    if (who == "*") return true;
    if (user.empty()) continue;
    if (who == user) return true;
    if (who.size() > 1 && who[0] == '@') {
      auto g = groups.find(who.substr(1));
      if (g != groups.end())
        for (const std::string& m : g->second)
          if (m == user) return true;
    }
  }
  return false;
}

const RegisteredApp* AppRegistry::launchable(const std::string& name, const std::string& user) const {
  const RegisteredApp* app = find(name);
  return app && allowed(*app, user) ? app : nullptr;
}

bool parse_registry(const std::string& text, AppRegistry* out, std::string* err) {
  int n = 0;
  if (text.size() > kMaxRegistryBytes) {
    *err = "0: the registry is over " + std::to_string(kMaxRegistryBytes >> 20) + " MiB";
    return false;
  }
  std::istringstream in(text);
  std::string line;
  RegisteredApp* app = nullptr;
  std::vector<std::string>* group = nullptr;
  auto fail = [&](const std::string& why) {
    *err = std::to_string(n) + ": " + why;
    return false;
  };
  while (std::getline(in, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t[0] == '[') {
      if (t.back() != ']') return fail("section header needs a closing ']'");
      std::vector<std::string> w = words(t.substr(1, t.size() - 2));
      if (w.size() != 2 || (w[0] != "app" && w[0] != "group")) return fail("expected [app NAME] or [group NAME]");
      if (!valid_app_name(w[1])) return fail("bad name '" + w[1] + "' (letters, digits, '-', '_', '.')");
      app = nullptr;
      group = nullptr;
      if (w[0] == "app") {
        if (out->find(w[1])) return fail("app '" + w[1] + "' is defined twice");
        if (out->apps.size() >= kMaxApps) return fail("more than " + std::to_string(kMaxApps) + " apps");
        out->apps.push_back(RegisteredApp{w[1], "", "", "", {}});
        app = &out->apps.back();
      } else {
        group = &out->groups[w[1]];
      }
      continue;
    }
    size_t eq = t.find('=');
    if (eq == std::string::npos) return fail("expected KEY = VALUE");
    std::string key = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    if (app) {
      if (key == "path") app->path = value;
      else if (key == "args") app->args = value;
      else if (key == "allow") app->allow = words(value);
      else if (key == "description") app->description = value;
      else return fail("unknown key '" + key + "' (path, args, allow, description)");
    } else if (group) {
      if (key == "members") *group = words(value);
      else return fail("unknown key '" + key + "' (members)");
    } else {
      return fail("KEY = VALUE outside an [app] or [group] section");
    }
  }
  for (const RegisteredApp& a : out->apps)
    if (a.path.empty()) {
      *err = "app '" + a.name + "' has no path";
      return false;
    }
  return true;
}

std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (char c : s) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if ((c == ' ' || c == '\t') && !quoted) {
      if (any) out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push_back(cur);
  return out;
}

}  // namespace vredir::apps
