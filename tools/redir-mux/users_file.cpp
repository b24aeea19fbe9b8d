#include "users_file.hpp"

#include <fnmatch.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "password_hash.hpp"
#include "sys/stdio_files.hpp"
#include "usbpolicy/usb_allow.hpp"

namespace vredir {

namespace {
constexpr size_t kMaxFileBytes = 4u << 20;
constexpr size_t kMaxGlobs = 64;
}  // namespace

bool UserAccount::may_use(std::string_view vm) const {
  std::string name(vm);
  for (const std::string& g : vm_globs)
    if (::fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  return false;
}

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '-') return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '@')) return false;
  return true;
}

const char* clipboard_policy_name(UserAccount::Clipboard c) {
  switch (c) {
    case UserAccount::Clipboard::kBoth: return "both";
    case UserAccount::Clipboard::kToClient: return "to-client";
    case UserAccount::Clipboard::kToApp: return "to-app";
    case UserAccount::Clipboard::kNone: return "none";
  }
  return "none";
}

bool parse_clipboard_policy(std::string_view text, UserAccount::Clipboard* out) {
  for (auto c : {UserAccount::Clipboard::kBoth, UserAccount::Clipboard::kToClient, UserAccount::Clipboard::kToApp,
                 UserAccount::Clipboard::kNone})
    if (text == clipboard_policy_name(c)) {
      *out = c;
      return true;
    }
  return false;
}

bool valid_unix_user_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || !(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_' ||
          c == '-'))
      return false;
  return true;
}

bool parse_vm_globs(std::string_view text, std::vector<std::string>* out) {
  out->clear();
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != ',') continue;
    std::string g(text.substr(start, i - start));
    start = i + 1;
    if (g.empty() || g.size() > 255) return false;
    for (char c : g)
      if (std::isspace(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) < 0x20) return false;
    out->push_back(std::move(g));
  }
  return !out->empty() && out->size() <= kMaxGlobs;
}

Status UsersFile::load(const std::string& path, bool missing_ok) {
  accounts_.clear();
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) {
    if (errno == ENOENT && missing_ok) return Status::ok();
    return fail(errno == ENOENT ? kExitNotFound : kExitFailure,
                "cannot read users file '" + path + "': " + std::strerror(errno) +
                    (errno == ENOENT ? " (create it with: redir-mux users add NAME --users " + path + ")" : ""));
  }
  if (sb.st_mode & S_IROTH)
    return fail(kExitDenied, "users file '" + path + "' is world-readable; refusing it (fix: chmod 600 " + path + ")");
  if (sb.st_mode & (S_IWGRP | S_IWOTH))
    return fail(kExitDenied, "users file '" + path + "' is writable by " + ((sb.st_mode & S_IWOTH) ? "others" : "its group") +
                                 "; refusing it (fix: chmod 600 " + path + ")");
  if (!S_ISREG(sb.st_mode)) return fail(kExitFailure, "users file '" + path + "' is not a regular file");
  if (static_cast<uint64_t>(sb.st_size) > kMaxFileBytes)
    return fail(kExitFailure, "users file '" + path + "' is larger than 4 MiB");
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(kExitFailure, "cannot read users file '" + path + "': " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  return parse(ss.str(), path);
}

Status UsersFile::parse(std::string_view text, const std::string& path) {
  accounts_.clear();
  std::istringstream in{std::string(text)};
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto where = [&] { return path + ":" + std::to_string(lineno) + ": "; };
    std::istringstream ls(line);
    std::vector<std::string> words;
    for (std::string w; ls >> w;) words.push_back(w);
    if (words.empty() || words[0][0] == '#') continue;
    if (words.size() < 3 || words.size() > 9)
      return fail(kExitMalformed, where() +
                                      "expected 'NAME HASH vms=GLOBS [view-only] [cert=SHA256] [usb=LIST] [unix=USER] "
                                      "[clipboard=POLICY]'");
    UserAccount a;
    a.name = words[0];
    a.hash = words[1];
    if (!valid_user_name(a.name)) return fail(kExitMalformed, where() + "invalid user name");
    std::string err;
    if (a.hash != "-" && !is_password_hash(a.hash)) return fail(kExitMalformed, where() + "invalid password hash");
    if (words[2].rfind("vms=", 0) != 0 || !parse_vm_globs(std::string_view(words[2]).substr(4), &a.vm_globs))
      return fail(kExitMalformed, where() + "expected vms=GLOB[,GLOB...]");
    bool clipboard_seen = false;
    for (size_t i = 3; i < words.size(); ++i) {
      const std::string& w = words[i];
      if (w == "view-only" && !a.view_only) {
        a.view_only = true;
      } else if (w.rfind("cert=", 0) == 0 && a.cert_fingerprint.empty()) {
        a.cert_fingerprint = w.substr(5);
        if (a.cert_fingerprint.size() != 64 || a.cert_fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos)
          return fail(kExitMalformed, where() + "cert= needs a SHA-256 fingerprint (64 lower-case hex digits)");
      } else if (w.rfind("usb=", 0) == 0 && a.usb_allow.empty()) {
        UsbAllowList list;
        if (!UsbAllowList::parse(std::string_view(w).substr(4), &list, &err) || list.empty())
          return fail(kExitMalformed, where() + "usb=: " + (err.empty() ? "an empty list (leave the field out)" : err));
        a.usb_allow = list.text();
      } else if (w.rfind("clipboard=", 0) == 0 && !clipboard_seen) {
        clipboard_seen = true;
        if (!parse_clipboard_policy(std::string_view(w).substr(10), &a.clipboard))
          return fail(kExitMalformed, where() + "clipboard= needs both, to-client, to-app or none");
      } else if (w.rfind("unix=", 0) == 0 && a.unix_user.empty()) {
        a.unix_user = w.substr(5);
        if (!valid_unix_user_name(a.unix_user))
          return fail(kExitMalformed, where() + "unix= needs a Unix user name ([a-z_][a-z0-9_-]*, at most 32)");
      } else {
        return fail(kExitMalformed, where() + "unknown or repeated field '" + w.substr(0, 32) + "'");
      }
    }
    if (!a.has_password() && a.cert_fingerprint.empty())
      return fail(kExitMalformed, where() + "an account without a password needs cert=");
    if (find(a.name)) return fail(kExitMalformed, where() + "user '" + a.name + "' appears twice");
    accounts_.push_back(std::move(a));
  }
  return Status::ok();
}

std::string UsersFile::serialize() const {
  std::string out =
      "# redir-mux users: NAME HASH vms=GLOBS [view-only] [cert=SHA256] [usb=LIST] [unix=USER] [clipboard=POLICY]\n";
  for (const UserAccount& a : accounts_) {
    out += a.name + " " + a.hash + " vms=";
    for (size_t i = 0; i < a.vm_globs.size(); ++i) out += (i ? "," : "") + a.vm_globs[i];
    if (a.view_only) out += " view-only";
    if (!a.cert_fingerprint.empty()) out += " cert=" + a.cert_fingerprint;
    if (!a.usb_allow.empty()) out += " usb=" + a.usb_allow;
    if (!a.unix_user.empty()) out += " unix=" + a.unix_user;
    if (a.clipboard != UserAccount::Clipboard::kBoth) out += std::string(" clipboard=") + clipboard_policy_name(a.clipboard);
    out += "\n";
  }
  return out;
}

Status UsersFile::save(const std::string& path) const { return write_file_atomic(path, serialize(), 0600); }

const UserAccount* UsersFile::find(std::string_view name) const {
  for (const UserAccount& a : accounts_)
    if (a.name == name) return &a;
  return nullptr;
}

UserAccount* UsersFile::find(std::string_view name) {
  for (UserAccount& a : accounts_)
    if (a.name == name) return &a;
  return nullptr;
}

void UsersFile::put(UserAccount account) {
  if (UserAccount* a = find(account.name)) *a = std::move(account);
  else accounts_.push_back(std::move(account));
}

bool UsersFile::remove(std::string_view name) {
  for (auto it = accounts_.begin(); it != accounts_.end(); ++it)
    if (it->name == name) {
      accounts_.erase(it);
      return true;
    }
  return false;
}

}  // namespace vredir
