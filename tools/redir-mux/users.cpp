// redir-mux users: add, delete, re-password and list the accounts of a
// users file (users_file.hpp), and prepare an account's app prefix.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "net/tls_transport.hpp"

#include "child_process.hpp"
#include "mux_session.hpp"
#include "password_hash.hpp"
#include "sys/password_prompt.hpp"
#include "sys/stdio_files.hpp"
#include "subcommands.hpp"
#include "users_file.hpp"
#include "usbpolicy/usb_allow.hpp"

using namespace vredir;

namespace redir_mux {

namespace {

struct UsersOptions {
  std::string action, name, users, vms, password_file, cert_fingerprint, usb_allow, unix_user, clipboard;
  std::string state_dir = "/var/lib/vredir";
  bool usb_allow_given = false;
  bool view_only = false, json = false;
};

// users prepare: the account's Wine prefix, made now rather than at its
// first launch (which then takes seconds, not about 20).
Status prepare(const UserAccount& a, const std::string& state_dir) {
  mux::RunAs as;
  if (!a.unix_user.empty())
    if (Status st = mux::lookup_run_as(a.unix_user, &as); !st) return st;
  const mux::RunAs* run_as = a.unix_user.empty() ? nullptr : &as;
  std::string prefix;
  bool fresh = false;
  if (Status st = mux::make_app_prefix(state_dir, a.name, run_as, &prefix, &fresh); !st) return st;
  if (fresh) {
    spdlog::info("creating the Wine prefix of '{}' in {} (about 20 s)", a.name, prefix);
    // gdi-forward's launcher makes the prefix as every app launch would.
    mux::Child c;
    if (Status st = mux::spawn({"gdi-forward", "--version"}, false, &c, mux::app_environment(prefix),
                               {"DISPLAY", "WAYLAND_DISPLAY"}, run_as);
        !st)
      return st;
    ::fcntl(c.out, F_SETFL, 0);  // wait for it: read its output until it ends
    for (char buf[4096]; ::read(c.out, buf, sizeof buf) > 0;) {
    }
    ::close(c.out);
    int status = 0;
    ::waitpid(c.pid, &status, 0);
    if (::access((prefix + "/system.reg").c_str(), F_OK) != 0)
      return fail(kExitFailure, "gdi-forward did not create the Wine prefix in " + prefix + " (exit status " +
                                    std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) + ")");
  }
  return write_stdout(prefix + "\n");
}

Status users(const UsersOptions& o) {
  bool list = o.action == "list";
  if (!list && o.action != "add" && o.action != "del" && o.action != "passwd" && o.action != "prepare")
    return fail(kExitUsage, "unknown action '" + o.action + "' (add, del, passwd, list, prepare)");
  if (list != o.name.empty()) return fail(kExitUsage, list ? "list takes no NAME" : o.action + " needs a NAME");
  if (!list && !valid_user_name(o.name))
    return fail(kExitUsage, "invalid user name '" + o.name + "' (letters, digits, . _ @ -; at most 64)");
  if (o.action != "add" &&
      (!o.vms.empty() || o.view_only || !o.cert_fingerprint.empty() || o.usb_allow_given || !o.unix_user.empty() ||
       !o.clipboard.empty()))
    return fail(kExitUsage,
                "--vms, --view-only, --cert-fingerprint, --usb-allow, --unix-user and --clipboard only apply to add");
  UserAccount::Clipboard clipboard = UserAccount::Clipboard::kBoth;
  if (!o.clipboard.empty() && !parse_clipboard_policy(o.clipboard, &clipboard))
    return fail(kExitUsage, "--clipboard: '" + o.clipboard + "' is not both, to-client, to-app or none");
  if (!o.unix_user.empty() && !valid_unix_user_name(o.unix_user))
    return fail(kExitUsage, "--unix-user: '" + o.unix_user + "' is not a Unix user name ([a-z_][a-z0-9_-]*)");
  UsbAllowList usb;
  if (std::string err; o.usb_allow_given && !UsbAllowList::parse(o.usb_allow, &usb, &err))
    return fail(kExitUsage, "--usb-allow: " + err);
  if (o.view_only && !usb.empty())
    return fail(kExitUsage, "--usb-allow and --view-only cannot be combined (view-only accounts never get USB)");
  std::string cert;
  if (!o.cert_fingerprint.empty()) {
    cert = normalize_fingerprint(o.cert_fingerprint);
    if (cert.empty())
      return fail(kExitUsage, "--cert-fingerprint needs a SHA-256 fingerprint (64 hex digits, colons allowed)");
  }
  if (o.json && !list) return fail(kExitUsage, "--json only applies to list");
  UsersFile f;
  if (Status st = f.load(o.users, o.action == "add"); !st) return st;
  if (o.action == "prepare") {
    const UserAccount* a = f.find(o.name);
    if (!a) return fail(kExitNotFound, "no user '" + o.name + "' in " + o.users);
    return prepare(*a, o.state_dir);
  }
  if (list) {
    std::string out;
    for (const UserAccount& a : f.accounts()) {
      std::string globs;
      for (size_t i = 0; i < a.vm_globs.size(); ++i) globs += (i ? "," : "") + a.vm_globs[i];
      std::string login = a.has_password() ? (a.cert_fingerprint.empty() ? "password" : "password,cert") : "cert";
      if (o.json)
        out += nlohmann::ordered_json{{"name", a.name},
                                      {"vms", a.vm_globs},
                                      {"view_only", a.view_only},
                                      {"login", login},
                                      {"cert_fingerprint", a.cert_fingerprint},
                                      {"usb_allow", a.usb_allow},
                                      {"unix_user", a.unix_user},
                                      {"clipboard", clipboard_policy_name(a.clipboard)}}
                   .dump() +
               "\n";
      else
        out += a.name + "\t" + globs + (a.view_only ? "\tview-only" : "\tinput") + "\t" + login +
               (a.usb_allow.empty() ? "" : "\tusb=" + a.usb_allow) +
               (a.unix_user.empty() ? "" : "\tunix=" + a.unix_user) +
               (a.clipboard == UserAccount::Clipboard::kBoth ? std::string()
                                                             : std::string("\tclipboard=") + clipboard_policy_name(a.clipboard)) +
               "\n";
    }
    return write_stdout(out);
  }
  if (o.action == "del") {
    if (!f.remove(o.name)) return fail(kExitNotFound, "no user '" + o.name + "' in " + o.users);
    return f.save(o.users);
  }
  UserAccount a;
  if (o.action == "passwd") {
    const UserAccount* old = f.find(o.name);
    if (!old) return fail(kExitNotFound, "no user '" + o.name + "' in " + o.users + " (try: redir-mux users add)");
    a = *old;
  } else {
    if (f.find(o.name)) return fail(kExitFailure, "user '" + o.name + "' exists (to change the password: passwd)");
    a.name = o.name;
    if (!parse_vm_globs(o.vms.empty() ? "*" : o.vms, &a.vm_globs))
      return fail(kExitUsage, "--vms needs comma-separated globs, e.g. 'web*,db1'");
    a.view_only = o.view_only;
    a.cert_fingerprint = cert;
    a.usb_allow = usb.text();
    a.unix_user = o.unix_user;
    a.clipboard = clipboard;
  }
  // An account with a certificate needs no password: one is set only when
  // given (--password-file or $VREDIR_PASSWORD).
  if (!a.cert_fingerprint.empty() && o.action == "add" && o.password_file.empty() && !std::getenv("VREDIR_PASSWORD")) {
    a.hash = "-";
    f.put(std::move(a));
    return f.save(o.users);
  }
  std::string password;
  if (Status st = read_password(o.password_file, "Password for " + o.name + ": ", true, &password); !st) return st;
  if (Status st = hash_password(password, &a.hash); !st) return st;
  f.put(std::move(a));
  return f.save(o.users);
}

}  // namespace

Runner add_users(CLI::App& app) {
  auto o = std::make_shared<UsersOptions>();
  CLI::App* sub = app.add_subcommand("users", "Manage the users file: add, del, passwd, list; prepare an account's apps");
  sub->add_option("ACTION", o->action, "add, del, passwd, list or prepare")->required();
  sub->add_option("NAME", o->name, "The account (not for list)");
  sub->add_option("--users", o->users, "The users file (written atomically, mode 0600)")->required();
  sub->add_option("--vms", o->vms, "add: globs of the VMs the user may open, comma-separated (default '*')");
  sub->add_flag("--view-only", o->view_only, "add: the user sees the VMs but gets no input channel");
  sub->add_option("--cert-fingerprint", o->cert_fingerprint,
                  "add: the SHA-256 fingerprint of the TLS client certificate that logs in as NAME (then no "
                  "password unless one is given)");
  sub->add_option("--usb-allow", o->usb_allow,
                  "add: the USB devices the user may redirect into a VM: VID:PID (either side may be *) or "
                  "class:XX, comma-separated (default: none)")
      ->each([o](const std::string&) { o->usb_allow_given = true; });
  sub->add_option("--password-file", o->password_file,
                  "add, passwd: read the password from FILE (else $VREDIR_PASSWORD, else a prompt)");
  sub->add_flag("--json", o->json, "list: one JSON object per user");
  sub->add_option("--unix-user", o->unix_user,
                  "add: the Unix user the account's apps run as (serve --apps then needs root, or CAP_SETUID and "
                  "CAP_SETGID)");
  sub->add_option("--clipboard", o->clipboard,
                  "add: which way the apps' clipboard text may go: both (default), to-client, to-app or none "
                  "(view-only accounts: never to the apps)");
  sub->add_option("--state-dir", o->state_dir,
                  "prepare: the state directory of serve --apps (default /var/lib/vredir); the account's Wine "
                  "prefix is made in DIR/apps/NAME");
  return [o] { return users(*o); };
}

}  // namespace redir_mux
