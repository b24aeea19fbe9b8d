// The redir-mux users file: one account per line,
//   NAME HASH vms=GLOB[,GLOB...] [view-only] [cert=SHA256HEX] [usb=LIST] [unix=USER]
//        [clipboard=both|to-client|to-app|none]
// '#' starts a comment line. HASH is a password_hash string, or "-" for an
// account that logs in with its client certificate only; the globs
// (fnmatch) say which VMs the account may list and open; view-only accounts
// get no input channel; cert= is the SHA-256 fingerprint of the TLS client
// certificate that logs in as this account. The file holds secrets and says
// who may do what: it is written atomically with mode 0600, and a file that
// others may read, or that group or others may write, is refused.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "wire/status.hpp"

namespace vredir {

struct UserAccount {
  std::string name;
  std::string hash;
  std::vector<std::string> vm_globs;
  bool view_only = false;
  std::string cert_fingerprint;  // 64 lower-case hex digits, or ""
  // The USB devices this account may redirect into a VM, as an allow-list
  // (usbpolicy/usb_allow.hpp) in canonical form; "" allows none.
  std::string usb_allow;
  // The Unix user this account's apps run as (serve --apps; "" = serve's own).
  std::string unix_user;
  // Which way the apps' clipboard may go (serve --apps). A view-only
  // account's text never goes to its apps, whatever this says.
  enum class Clipboard { kBoth, kToClient, kToApp, kNone };
  Clipboard clipboard = Clipboard::kBoth;
  bool clipboard_to_client() const { return clipboard == Clipboard::kBoth || clipboard == Clipboard::kToClient; }
  bool clipboard_to_app() const {
    return !view_only && (clipboard == Clipboard::kBoth || clipboard == Clipboard::kToApp);
  }

  // True when one of the globs matches the VM name.
  bool may_use(std::string_view vm) const;
  bool has_password() const { return hash != "-"; }
};

// "both", "to-client", "to-app", "none".
const char* clipboard_policy_name(UserAccount::Clipboard c);
bool parse_clipboard_policy(std::string_view text, UserAccount::Clipboard* out);

// Account names: 1..64 of [A-Za-z0-9._@-], not starting with '-'.
bool valid_user_name(std::string_view name);
// Unix user names as useradd takes them: 1..32 of [a-z0-9_-], starting with
// a letter or '_'.
bool valid_unix_user_name(std::string_view name);
// "a*,b" -> {"a*", "b"}; false when empty or a glob has whitespace.
bool parse_vm_globs(std::string_view text, std::vector<std::string>* out);

class UsersFile {
 public:
  // Reads and checks the file. A missing file is an error unless
  // missing_ok (for "users add" creating it). World-readable: kExitDenied.
  Status load(const std::string& path, bool missing_ok = false);
  // Parses file content; path names the file in messages.
  Status parse(std::string_view text, const std::string& path);
  // Writes atomically with mode 0600.
  Status save(const std::string& path) const;
  std::string serialize() const;

  const UserAccount* find(std::string_view name) const;
  UserAccount* find(std::string_view name);
  // Adds or replaces.
  void put(UserAccount account);
  bool remove(std::string_view name);
  const std::vector<UserAccount>& accounts() const { return accounts_; }

 private:
  std::vector<UserAccount> accounts_;
};

}  // namespace vredir
