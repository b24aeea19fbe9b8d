#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "password_hash.hpp"
#include "users_file.hpp"

using namespace vredir;

namespace {
std::string temp_dir() {
  char tmpl[] = "/tmp/vredir-users-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}
}  // namespace

TEST_CASE("ACL globs", "[users_file]") {
  UserAccount a;
  REQUIRE(parse_vm_globs("web*,db1", &a.vm_globs));
  CHECK(a.may_use("web1"));
  CHECK(a.may_use("web-frontend"));
  CHECK(a.may_use("db1"));
  CHECK_FALSE(a.may_use("db2"));
  CHECK_FALSE(a.may_use("myweb1"));
  std::vector<std::string> g;
  CHECK_FALSE(parse_vm_globs("", &g));
  CHECK_FALSE(parse_vm_globs("a,,b", &g));
  CHECK_FALSE(parse_vm_globs("a b", &g));
}

TEST_CASE("user names", "[users_file]") {
  CHECK(valid_user_name("alice"));
  CHECK(valid_user_name("ann.b_c-d@x"));
  CHECK_FALSE(valid_user_name(""));
  CHECK_FALSE(valid_user_name("-rf"));
  CHECK_FALSE(valid_user_name("a b"));
  CHECK_FALSE(valid_user_name(std::string(65, 'a')));
}

TEST_CASE("save, load and round trip with mode 0600", "[users_file]") {
  std::string dir = temp_dir(), path = dir + "/users";
  UsersFile f;
  REQUIRE(f.load(path, true));  // missing is fine when creating
  UserAccount a{"alice", "", {"web*"}, false, "", "", ""}, b{"bob", "", {"*"}, true, "", "", ""};
  UserAccount c{"carl", "-", {"*"}, false, std::string(64, 'a'), "", ""};
  REQUIRE(hash_password("pa", &a.hash, ScryptParams{10, 8, 1}));
  REQUIRE(hash_password("pb", &b.hash, ScryptParams{10, 8, 1}));
  f.put(a);
  f.put(b);
  f.put(c);
  REQUIRE(f.save(path));
  struct stat sb {};
  REQUIRE(::stat(path.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 0777) == 0600);

  UsersFile g;
  REQUIRE(g.load(path));
  REQUIRE(g.accounts().size() == 3);
  const UserAccount* carl = g.find("carl");
  REQUIRE(carl);
  CHECK_FALSE(carl->has_password());
  CHECK(carl->cert_fingerprint == std::string(64, 'a'));
  CHECK(g.find("alice")->cert_fingerprint.empty());
  const UserAccount* bob = g.find("bob");
  REQUIRE(bob);
  CHECK(bob->view_only);
  CHECK(verify_password("pb", bob->hash));
  CHECK_FALSE(g.find("alice")->view_only);
  CHECK(g.find("alice")->may_use("web7"));
  CHECK(g.remove("alice"));
  CHECK_FALSE(g.remove("alice"));
  CHECK(g.find("alice") == nullptr);

  SECTION("a world-readable file is refused") {
    ::chmod(path.c_str(), 0644);
    Status st = g.load(path);
    CHECK(st.code() == kExitDenied);
    CHECK(st.message().find("world-readable") != std::string::npos);
  }
  SECTION("a file its group or others may write is refused") {
    for (unsigned mode : {0620u, 0602u, 0622u}) {
      ::chmod(path.c_str(), mode);
      Status st = g.load(path);
      CHECK(st.code() == kExitDenied);
      CHECK(st.message().find("writable by") != std::string::npos);
    }
    ::chmod(path.c_str(), 0640);  // readable by the group is fine
    CHECK(g.load(path));
  }
  SECTION("a missing file is an error when reading") {
    CHECK(g.load(dir + "/nope").code() == kExitNotFound);
  }
  CHECK(std::system(("rm -rf " + dir).c_str()) == 0);
}

TEST_CASE("malformed lines are reported with their line number", "[users_file]") {
  UsersFile f;
  std::string h;
  REQUIRE(hash_password("x", &h, ScryptParams{10, 8, 1}));
  CHECK(f.parse("# comment\n\nann " + h + " vms=*\n", "u"));
  CHECK(f.accounts().size() == 1);
  Status st = f.parse("# c\nann notahash vms=*\n", "u");
  CHECK(st.code() == kExitMalformed);
  CHECK(st.message().rfind("u:2:", 0) == 0);
  CHECK(f.parse("ann " + h + "\n", "u").code() == kExitMalformed);
  CHECK(f.parse("ann " + h + " vms=* admin\n", "u").code() == kExitMalformed);
  CHECK(f.parse("ann " + h + " vms=*\nann " + h + " vms=*\n", "u").code() == kExitMalformed);
  // cert=: a SHA-256 fingerprint; no password only with one.
  CHECK(f.parse("ann - vms=* cert=" + std::string(64, 'f') + "\n", "u"));
  CHECK(f.parse("ann - vms=*\n", "u").code() == kExitMalformed);
  CHECK(f.parse("ann " + h + " vms=* cert=abc\n", "u").code() == kExitMalformed);
  CHECK(f.parse("ann " + h + " vms=* view-only view-only\n", "u").code() == kExitMalformed);
}

TEST_CASE("usb=: the account's USB allow-list", "[users_file]") {
  UsersFile f;
  std::string h;
  REQUIRE(hash_password("x", &h, ScryptParams{10, 8, 1}));
  REQUIRE(f.parse("ann " + h + " vms=* usb=046D:*,class:08\nbob " + h + " vms=*\n", "u"));
  CHECK(f.find("ann")->usb_allow == "046d:*,class:08");  // canonical form
  CHECK(f.find("bob")->usb_allow.empty());                // none by default
  // It survives a save and load.
  UsersFile g;
  REQUIRE(g.parse(f.serialize(), "u"));
  CHECK(g.find("ann")->usb_allow == "046d:*,class:08");
  for (const char* bad : {"usb=", "usb=zz:1", "usb=class:1ff", "usb=1209:0001 usb=1209:0002"}) {
    Status st = f.parse("ann " + h + " vms=* " + bad + "\n", "u");
    CHECK(st.code() == kExitMalformed);
    CHECK(st.message().rfind("u:1:", 0) == 0);
  }
}

TEST_CASE("unix= names the Unix user an account's apps run as", "[users_file]") {
  UsersFile f;
  REQUIRE(f.parse("ann - vms=* cert=" + std::string(64, 'a') + " unix=ann-apps\nbob - vms=* cert=" +
                      std::string(64, 'b') + "\n",
                  "t"));
  CHECK(f.find("ann")->unix_user == "ann-apps");
  CHECK(f.find("bob")->unix_user.empty());
  UsersFile g;
  REQUIRE(g.parse(f.serialize(), "t"));
  CHECK(g.find("ann")->unix_user == "ann-apps");
  for (const char* bad : {"unix=Root", "unix=../x", "unix=", "unix=1abc", "unix=a unix=b"}) {
    UsersFile h;
    CHECK_FALSE(h.parse("ann - vms=* cert=" + std::string(64, 'a') + " " + bad + "\n", "t"));
  }
  CHECK(valid_unix_user_name("_apps"));
  CHECK_FALSE(valid_unix_user_name(std::string(33, 'a')));
}

TEST_CASE("clipboard= says which way an account's app clipboard text may go", "[users_file]") {
  const std::string cert = " cert=" + std::string(64, 'a');
  UsersFile f;
  REQUIRE(f.parse("ann - vms=*" + cert + " clipboard=to-client\nbob - vms=*" + cert +
                      " view-only\ncid - vms=*" + cert + " clipboard=none\n",
                  "t"));
  const UserAccount* ann = f.find("ann");
  CHECK(ann->clipboard_to_client());
  CHECK_FALSE(ann->clipboard_to_app());
  // The default is both ways, but a view-only account's text never goes to the apps.
  CHECK(f.find("bob")->clipboard == UserAccount::Clipboard::kBoth);
  CHECK(f.find("bob")->clipboard_to_client());
  CHECK_FALSE(f.find("bob")->clipboard_to_app());
  CHECK_FALSE(f.find("cid")->clipboard_to_client());
  CHECK_FALSE(f.find("cid")->clipboard_to_app());
  UsersFile g;
  REQUIRE(g.parse(f.serialize(), "t"));
  CHECK(g.find("ann")->clipboard == UserAccount::Clipboard::kToClient);
  CHECK(g.find("cid")->clipboard == UserAccount::Clipboard::kNone);
  // The default policy is not written out.
  CHECK(f.serialize().find("bob - vms=* view-only cert=" + std::string(64, 'a') + "\n") != std::string::npos);
  for (const char* bad : {"clipboard=", "clipboard=all", "clipboard=both clipboard=none"}) {
    UsersFile h;
    CHECK_FALSE(h.parse("ann - vms=*" + cert + " " + bad + "\n", "t"));
  }
}
