// The session protocol, server side, over a plain socket pair against
// libvirt's test driver (test:///default: one running domain "test"; a node
// file of our own for a domain that is off).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <cstdlib>
#include <thread>

#include "mux_session.hpp"
#include "net/fd_passing.hpp"
#include "wire/gdi_records.hpp"
#include "password_hash.hpp"
#include "wire/stream_decoder.hpp"
#include "wire/stream_writer.hpp"
#include "sys/stdio_files.hpp"

using namespace vredir;
using namespace vredir::stream;
using Clock = std::chrono::steady_clock;

namespace {

struct Reply {
  std::vector<Control> controls;
  bool ended = false;
  End end;
};

// A scripted client: sends the given control frames (END after them when
// end is set), then reads the server's stream until END or EOF.
class TestClient {
 public:
  TestClient() {
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_) == 0);
    server_t_.adopt(fds_[1]);
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, broker_fds_) == 0);
    ::fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    // As every tool's main does (sys/cli): a child that is gone is EPIPE.
    std::signal(SIGPIPE, SIG_IGN);
  }
  ~TestClient() {
    if (server_.joinable()) server_.join();
    ::close(fds_[0]);
    for (int fd : broker_fds_)
      if (fd >= 0) ::close(fd);
  }

  void start(const UsersFile& users, double auth_timeout_s = 10, const std::string& uri = "test:///default") {
    cfg_.users = &users;
    cfg_.uri = uri;
    cfg_.peer = "test";
    cfg_.auth_deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(auth_timeout_s * 1000));
    cfg_.begin_login = [this](const std::string& u) {
      mux::LoginVerdict v;
      v.banned_s = ban;
      v.ticket = 7;
      if (ban) logins.push_back("banned " + u);
      return v;
    };
    cfg_.end_login = [this](uint64_t ticket, const std::string& u, const std::string& r) {
      logins.push_back(r + " " + u + (ticket == 7 ? "" : " (wrong ticket)"));
    };
    cfg_.client_fingerprint = client_fingerprint;
    cfg_.stall_timeout = stall_timeout;
    if (!capture_program.empty()) cfg_.capture_program = capture_program;
    cfg_.inject_program = "true";
    cfg_.idle_timeout = idle_timeout;
    if (broker) {
      // The listener's side of detach: what the session says, and the
      // socket a resuming client comes through (a datagram "resume" with it).
      cfg_.broker_fd = broker_fds_[1];
      cfg_.note_instance = [this](const std::string& names, long linger_s) {
        std::lock_guard<std::mutex> lock(notes_mutex_);
        notes_.push_back(names + " " + std::to_string(linger_s));
      };
      cfg_.take_client = [this] {
        int fd = -1;
        return receive_message(broker_fds_[1], MSG_DONTWAIT, &fd) == "resume" ? fd : -1;
      };
    }
    if (apps) {
      cfg_.apps = apps;
      cfg_.app_program = app_program;
      cfg_.state_dir = state_dir;
      cfg_.offer_vms = offer_vms;
      cfg_.reserve_apps = [this](const std::string& u, size_t n, std::string* why) {
        reserved.push_back(u + " " + std::to_string(n));
        if (!reserve_ok) *why = "too many apps";
        return reserve_ok;
      };
    }
    // As serve's session process does, the server's end closes when it is done.
    server_ = std::thread([this] {
      status = mux::run_server_session(server_t_, cfg_);
      server_t_.close();
    });
    w_.begin("unit test");
    w_.declare(mux::kSessionChannel, ChannelKind::kControl, "session");
  }

  void send(const std::string& verb, const Params& args = {}) { w_.control(mux::kSessionChannel, Control{verb, args}); }
  void end() { w_.end(); }
  StreamWriter& writer() { return w_; }
  // Waits until the server side of the session has ended.
  void wait() {
    if (server_.joinable()) server_.join();
  }
  int client_fd() const { return fds_[0]; }
  // Hands the session a resuming client's socket, as the listener does.
  void resume_with(int fd) { REQUIRE(send_message(broker_fds_[0], "resume", fd)); }
  std::vector<std::string> notes() {
    std::lock_guard<std::mutex> lock(notes_mutex_);
    return notes_;
  }

  Reply read_all() {
    Reply r;
    StreamDecoder d;
    uint8_t buf[65536];
    for (;;) {
      Event ev;
      std::string err;
      StreamDecoder::Result res = d.next(&ev, &err);
      if (res == StreamDecoder::Result::kError) FAIL(err);
      if (res == StreamDecoder::Result::kEvent) {
        if (ev.type() == FrameType::kControl) r.controls.push_back(std::get<Control>(ev.payload));
        if (ev.type() == FrameType::kEnd) {
          r.ended = true;
          r.end = std::get<End>(ev.payload);
          return r;
        }
        continue;
      }
      ssize_t n = ::read(fds_[0], buf, sizeof buf);
      if (n <= 0) return r;
      d.feed(buf, static_cast<size_t>(n));
    }
  }

  long ban = 0;
  std::string client_fingerprint;
  std::chrono::milliseconds stall_timeout{30000}, idle_timeout{0};
  std::string capture_program;
  std::vector<std::string> logins;
  Status status;
  // serve --apps
  const apps::AppRegistry* apps = nullptr;
  std::string app_program = "true", state_dir;
  bool offer_vms = true, reserve_ok = true;
  std::vector<std::string> reserved;  // "USER N" per reserve_apps call
  bool broker = false;                // detach and resume through a broker socket

 private:
  int fds_[2];
  int broker_fds_[2] = {-1, -1};
  std::mutex notes_mutex_;
  std::vector<std::string> notes_;  // "APPS LINGER" per note_instance
  Transport server_t_;
  mux::ServerSessionConfig cfg_;
  std::thread server_;
  // send(MSG_NOSIGNAL): a server that drops us is an error here, not SIGPIPE.
  StreamWriter w_{[this](std::string_view b) {
    while (!b.empty()) {
      ssize_t n = ::send(fds_[0], b.data(), b.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(kExitPeerLost, "server gone");
      b.remove_prefix(static_cast<size_t>(n));
    }
    return Status::ok();
  }};
};

UsersFile make_users() {
  UsersFile f;
  UserAccount a{"alice", "", {"te*"}, false, "", "", ""}, b{"bob", "", {"other*"}, true, "", "", ""};
  UserAccount d{"dora", "", {"db*"}, false, "", "", ""}, v{"vic", "", {"*"}, true, "", "", ""};
  UserAccount c{"carl", "-", {"te*"}, false, std::string(64, 'c'), "", ""};
  REQUIRE(hash_password("pa", &a.hash, ScryptParams{10, 8, 1}));
  REQUIRE(hash_password("pb", &b.hash, ScryptParams{10, 8, 1}));
  REQUIRE(hash_password("pd", &d.hash, ScryptParams{10, 8, 1}));
  REQUIRE(hash_password("pv", &v.hash, ScryptParams{10, 8, 1}));
  for (const UserAccount& x : {a, b, d, v, c}) f.put(x);
  return f;
}

const Control* find(const Reply& r, const std::string& verb) {
  for (const Control& c : r.controls)
    if (c.verb == verb) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("login, the VM list filtered by ACL, disconnect", "[mux_session]") {
  UsersFile users = make_users();
  TestClient c;
  c.start(users);
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  c.end();
  Reply r = c.read_all();
  REQUIRE(find(r, "auth-ok"));
  CHECK(find(r, "auth-ok")->args.at("view-only") == "0");
  const Control* vm = find(r, "vm");
  REQUIRE(vm);
  CHECK(vm->args.at("name") == "test");
  CHECK(vm->args.at("state") == "running");
  CHECK(find(r, "list-end")->args.at("count") == "1");
  REQUIRE(r.ended);
  CHECK(r.end.reason == EndReason::kNormal);
  CHECK(c.logins == std::vector<std::string>{"ok alice"});
}

TEST_CASE("an ACL without matches lists nothing", "[mux_session]") {
  UsersFile users = make_users();
  TestClient c;
  c.start(users);
  c.send("auth", {{"user", "bob"}, {"password", "pb"}});
  c.end();
  Reply r = c.read_all();
  CHECK(find(r, "auth-ok")->args.at("view-only") == "1");
  CHECK(find(r, "vm") == nullptr);
  CHECK(find(r, "list-end")->args.at("count") == "0");
}

TEST_CASE("a wrong password and an unknown user get the same answer", "[mux_session]") {
  UsersFile users = make_users();
  std::string messages[2];
  int i = 0;
  for (const char* user : {"alice", "mallory"}) {
    TestClient c;
    c.start(users);
    c.send("auth", {{"user", user}, {"password", "wrong"}});
    Reply r = c.read_all();
    REQUIRE(r.ended);
    CHECK(r.end.reason == EndReason::kDenied);
    REQUIRE(find(r, "failed"));
    CHECK(find(r, "failed")->args.at("code") == "4");
    CHECK(find(r, "auth-ok") == nullptr);
    CHECK(c.logins == std::vector<std::string>{std::string("fail ") + user});
    messages[i++] = r.end.message;
  }
  CHECK(messages[0] == messages[1]);
}

TEST_CASE("a ban refuses even the right password", "[mux_session]") {
  UsersFile users = make_users();
  TestClient c;
  c.ban = 42;
  c.start(users);
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  Reply r = c.read_all();
  CHECK(r.end.reason == EndReason::kDenied);
  CHECK(r.end.message.find("42 s") != std::string::npos);
  CHECK(c.logins == std::vector<std::string>{"banned alice"});  // checked, never evaluated
}

TEST_CASE("selecting a VM outside the ACL is denied", "[mux_session]") {
  UsersFile users = make_users();
  TestClient c;
  c.start(users);
  c.send("auth", {{"user", "bob"}, {"password", "pb"}});
  c.send("select", {{"vm", "test"}, {"streams", "0"}});
  Reply r = c.read_all();
  CHECK(find(r, "selected") == nullptr);
  CHECK(find(r, "failed")->args.at("code") == "4");
  CHECK(r.end.reason == EndReason::kDenied);
}

TEST_CASE("control commands on a selected VM", "[mux_session]") {
  UsersFile users = make_users();
  TestClient c;
  c.start(users);
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  c.send("select", {{"vm", "test"}, {"streams", "0"}});
  c.send("reboot");
  c.send("frobnicate");
  c.send("disconnect");
  Reply r = c.read_all();
  REQUIRE(find(r, "selected"));
  CHECK(find(r, "selected")->args.at("input") == "0");  // no streams, no input
  std::vector<std::string> results;
  for (const Control& x : r.controls)
    if (x.verb == "result") results.push_back(x.args.at("command") + " " + x.args.at("status"));
  CHECK(results == std::vector<std::string>{"reboot ok", "frobnicate failed"});
  CHECK(r.end.reason == EndReason::kNormal);
  CHECK(r.end.message.find("keeps running") != std::string::npos);
}

TEST_CASE("no authentication before the deadline drops the connection", "[mux_session]") {
  UsersFile users = make_users();
  TestClient c;
  auto t0 = Clock::now();
  c.start(users, 0.3);
  Reply r = c.read_all();
  CHECK(r.end.reason == EndReason::kDenied);
  CHECK(find(r, "failed")->args.at("code") == "5");
  CHECK(Clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("frames before auth are a protocol violation", "[mux_session]") {
  UsersFile users = make_users();
  TestClient c;
  c.start(users);
  c.send("select", {{"vm", "test"}});
  Reply r = c.read_all();
  CHECK(find(r, "auth-ok") == nullptr);
  CHECK(find(r, "failed")->args.at("code") == "7");
}

namespace {

// A test driver node: "db-off" (shut off, UUID db000000-...-01) and "web1"
// (running, id 1, UUID db000000-...-02).
std::string node_file() {
  static std::string uri;
  if (!uri.empty()) return uri;
  char dir[] = "/tmp/vredir-unit-node.XXXXXX";
  REQUIRE(::mkdtemp(dir));
  std::string path = std::string(dir) + "/node.xml";
  std::string xml = R"(<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>db-off</name><uuid>db000000-0000-0000-0000-000000000001</uuid>
    <memory>65536</memory><os><type>hvm</type></os><test:runstate>5</test:runstate>
  </domain>
  <domain type='test'>
    <name>web1</name><uuid>db000000-0000-0000-0000-000000000002</uuid>
    <memory>65536</memory><os><type>hvm</type></os>
  </domain>
</node>
)";
  REQUIRE(write_file_atomic(path, xml, 0644));
  uri = "test://" + path;
  return uri;
}

Reply select_as(const std::string& user, const std::string& password, const std::string& vm,
                const std::string& uri = "test:///default", const std::string& streams = "0") {
  UsersFile users = make_users();
  TestClient c;
  c.start(users, 10, uri);
  c.send("auth", {{"user", user}, {"password", password}});
  c.send("select", {{"vm", vm}, {"streams", streams}});
  c.send("disconnect");
  return c.read_all();
}

}  // namespace

TEST_CASE("the ACL is checked on the VM a reference resolves to", "[mux_session]") {
  // dora may use db*: web1's UUID starts with "db", its id is 1; neither opens it.
  const std::string uri = node_file();
  for (const char* ref : {"db000000-0000-0000-0000-000000000002", "1", "web1"}) {
    Reply r = select_as("dora", "pd", ref, uri);
    CHECK(find(r, "selected") == nullptr);
    REQUIRE(find(r, "failed"));
    CHECK(find(r, "failed")->args.at("code") == "4");
    CHECK(r.end.reason == EndReason::kDenied);
  }
  // The allowed VM by its UUID resolves to its name, and passes.
  Reply ok = select_as("dora", "pd", "db000000-0000-0000-0000-000000000001", uri);
  REQUIRE(find(ok, "selected"));
  CHECK(find(ok, "selected")->args.at("vm") == "db-off");
}

TEST_CASE("an unknown VM and a forbidden one get the same answer", "[mux_session]") {
  const std::string uri = node_file();
  Reply unknown = select_as("dora", "pd", "db-nosuch", uri);
  Reply forbidden = select_as("dora", "pd", "web1", uri);
  CHECK(find(unknown, "failed")->args.at("code") == find(forbidden, "failed")->args.at("code"));
  // Same text but for the name the client typed.
  auto strip = [](std::string m, const std::string& name) { return m.replace(m.find(name), name.size(), "X"); };
  CHECK(strip(unknown.end.message, "db-nosuch") == strip(forbidden.end.message, "web1"));
}

TEST_CASE("a view-only account cannot boot a VM that is off", "[mux_session]") {
  Reply r = select_as("vic", "pv", "db-off", node_file(), "1");
  CHECK(find(r, "selected") == nullptr);
  CHECK(find(r, "progress") == nullptr);  // nothing was booted
  REQUIRE(find(r, "failed"));
  CHECK(find(r, "failed")->args.at("code") == "4");
  CHECK_THAT(r.end.message, Catch::Contains("needs input rights"));
}

TEST_CASE("USB redirection needs an allow-list, input rights, a USB controller and its own ids", "[mux_session]") {
  UsersFile users = make_users();
  UserAccount u{"ursula", "", {"te*"}, false, "", "", ""};
  u.usb_allow = "1209:0001";
  REQUIRE(hash_password("pu", &u.hash, ScryptParams{10, 8, 1}));
  users.put(u);
  struct Case {
    const char *user, *password;
    uint16_t id;
    const char *code, *says;
  };
  for (const Case& k : {Case{"alice", "pa", mux::kUsbChannelBase, "4", "may not redirect USB devices"},
                        Case{"vic", "pv", mux::kUsbChannelBase, "4", "view-only: no USB"},
                        // test:///default's domain has no USB controller
                        Case{"ursula", "pu", mux::kUsbChannelBase, "3", "has no USB controller"},
                        Case{"ursula", "pu", 1, "7", "a USB channel needs a free id"}}) {
    INFO(k.user << " on channel " << k.id);
    TestClient c;
    c.capture_program = "true";
    c.start(users);
    c.send("auth", {{"user", k.user}, {"password", k.password}});
    c.send("select", {{"vm", "test"}, {"streams", "1"}});
    c.writer().declare(k.id, ChannelKind::kBytes, "usbredir", {{"purpose", "usbredir"}});
    c.writer().frame(k.id, FrameType::kData, "usbredir bytes");
    Reply r = c.read_all();
    REQUIRE(find(r, "selected"));
    REQUIRE(find(r, "failed"));
    CHECK(find(r, "failed")->args.at("code") == k.code);
    CHECK_THAT(r.end.message, Catch::Contains(k.says));
  }
}

TEST_CASE("before login only login frames are parsed", "[mux_session]") {
  UsersFile users = make_users();
  SECTION("a GDI frame") {
    TestClient c;
    c.start(users);
    c.writer().declare(9, ChannelKind::kGdi, "app");
    Reply r = c.read_all();
    CHECK(find(r, "auth-ok") == nullptr);
    REQUIRE(find(r, "failed"));
    CHECK(find(r, "failed")->args.at("code") == "7");
    CHECK(r.end.message.find("before login") != std::string::npos);
  }
  SECTION("a frame over 64 KiB") {
    TestClient c;
    c.start(users);
    Params big{{"user", "alice"}, {"password", "pa"}};
    for (int i = 0; i < 20; ++i) big["pad" + std::to_string(i)] = std::string(4000, 'x');  // 80 KB
    c.send("auth", big);
    Reply r = c.read_all();
    CHECK(find(r, "auth-ok") == nullptr);
    CHECK(r.end.message.find("over the limit") != std::string::npos);
    CHECK(c.logins.empty());  // never reached the credential check
  }
  SECTION("a DEFLATE frame") {
    TestClient c;
    c.start(users);
    c.writer().frame(0, FrameType::kDeflate, std::string(16, '\0'));
    Reply r = c.read_all();
    CHECK(r.end.message.find("DEFLATE") != std::string::npos);
  }
}

TEST_CASE("a client certificate logs in as the account that names it", "[mux_session]") {
  UsersFile users = make_users();
  SECTION("the right certificate") {
    TestClient c;
    c.client_fingerprint = std::string(64, 'c');
    c.start(users);
    c.send("auth", {{"user", "carl"}, {"method", "cert"}});
    c.end();
    Reply r = c.read_all();
    CHECK(find(r, "auth-ok"));
    CHECK(c.logins == std::vector<std::string>{"ok carl"});
  }
  SECTION("another certificate, no certificate, or a password for a certificate-only account") {
    for (int i = 0; i < 3; ++i) {
      TestClient c;
      if (i == 0) c.client_fingerprint = std::string(64, 'd');
      c.start(users);
      if (i < 2) c.send("auth", {{"user", "carl"}, {"method", "cert"}});
      else c.send("auth", {{"user", "carl"}, {"password", "-"}});
      Reply r = c.read_all();
      CHECK(find(r, "auth-ok") == nullptr);
      CHECK(r.end.reason == EndReason::kDenied);
      CHECK(c.logins == std::vector<std::string>{"fail carl"});
    }
  }
}

TEST_CASE("a client that stops reading is dropped after the stall timeout", "[mux_session]") {
  UsersFile users = make_users();
  TestClient c;
  c.stall_timeout = std::chrono::milliseconds(1500);
  int small = 4096;
  ::setsockopt(c.client_fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  c.start(users);
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  c.send("select", {{"vm", "test"}, {"streams", "0"}});
  // Replies nobody reads: each unknown command gets one. The server stops
  // reading us while its backlog is full, and drops us once it has waited the
  // stall timeout: our writes then fail at once.
  auto t0 = Clock::now();
  for (int i = 0; i < 40000; ++i) c.send("frobnicate-" + std::string(200, 'x'));
  c.wait();
  CHECK(c.status.code() == kExitTimeout);
  CHECK(c.status.message().find("stopped reading") != std::string::npos);
  CHECK(Clock::now() - t0 < std::chrono::seconds(20));
}

TEST_CASE("an idle session ends after the idle timeout", "[mux_session]") {
  UsersFile users = make_users();
  TestClient c;
  c.idle_timeout = std::chrono::milliseconds(800);
  auto t0 = Clock::now();
  c.start(users);
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  Reply r = c.read_all();
  REQUIRE(r.ended);
  CHECK(r.end.message.find("idle") != std::string::npos);
  CHECK(Clock::now() - t0 < std::chrono::seconds(10));
}

TEST_CASE("a client that stops reading a VM's display is dropped, its memory bounded", "[mux_session]") {
  // The display source: a program that writes 256 MiB of display frames as
  // fast as it may, whatever its arguments.
  char dir[] = "/tmp/vredir-unit-capture.XXXXXX";
  REQUIRE(::mkdtemp(dir));
  std::string vrs = std::string(dir) + "/frames.vrs", prog = std::string(dir) + "/capture";
  {
    std::string bytes;
    StreamWriter w([&](std::string_view b) {
      bytes.append(b);
      return Status::ok();
    });
    w.begin("fake capture");
    w.declare(1, ChannelKind::kDisplay, "screen");
    w.surface(1, 512, 512);
    Rect r;
    r.w = 512;
    r.h = 512;
    std::string pixels(512 * 512 * 4, '\x55');
    r.data = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(pixels.data()), pixels.size());
    for (uint64_t i = 0; i < 256; ++i) {
      w.rect(1, r);
      w.frame_end(1, i + 1);
    }
    REQUIRE(write_file_atomic(vrs, bytes, 0644));
    REQUIRE(write_file_atomic(prog, "#!/bin/sh\nexec cat " + vrs + "\n", 0755));
  }
  UsersFile users = make_users();
  TestClient c;
  c.stall_timeout = std::chrono::milliseconds(2000);
  c.capture_program = prog;
  int small = 4096;
  ::setsockopt(c.client_fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  c.start(users);
  auto t0 = Clock::now();
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  c.send("select", {{"vm", "test"}, {"streams", "1"}});
  c.wait();  // never reading
  CHECK(c.status.code() == kExitTimeout);
  CHECK(c.status.message().find("stopped reading") != std::string::npos);
  CHECK(Clock::now() - t0 < std::chrono::seconds(15));
  CHECK(std::system(("rm -rf " + std::string(dir)).c_str()) == 0);
}

namespace {
apps::AppRegistry app_registry() {
  apps::AppRegistry reg;
  std::string err;
  REQUIRE(apps::parse_registry("[app edit]\npath = edit.exe\nallow = alice\ndescription = an editor\n"
                               "[app paint]\npath = paint.exe\nallow = @artists\n"
                               "[app secret]\npath = secret.exe\nallow = carl\n"
                               "[group artists]\nmembers = alice vic\n",
                               &reg, &err));
  return reg;
}

std::string temp_state_dir() {
  char tmpl[] = "/tmp/vredir-apps-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}
}  // namespace

TEST_CASE("apps: the list shows what the registry allows the account", "[mux_session]") {
  UsersFile users = make_users();
  apps::AppRegistry reg = app_registry();
  TestClient c;
  c.apps = &reg;
  c.offer_vms = false;
  c.start(users);
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  c.end();
  Reply r = c.read_all();
  std::vector<std::string> names;
  for (const Control& x : r.controls)
    if (x.verb == "app") names.push_back(x.args.at("name"));
  CHECK(names == std::vector<std::string>{"edit", "paint"});
  CHECK(find(r, "vm") == nullptr);  // an apps-only server lists no VMs
  CHECK(find(r, "list-end")->args.at("apps") == "2");
  CHECK(find(r, "list-end")->args.at("count") == "0");
}

TEST_CASE("apps: an unknown app and a forbidden one get the same answer, and nothing starts", "[mux_session]") {
  UsersFile users = make_users();
  apps::AppRegistry reg = app_registry();
  auto launch = [&](const std::string& list, std::vector<std::string>* reserved) {
    TestClient c;
    c.apps = &reg;
    c.state_dir = temp_state_dir();
    c.start(users);
    c.send("auth", {{"user", "alice"}, {"password", "pa"}});
    c.send("launch", {{"apps", list}});
    Reply r = c.read_all();
    c.wait();
    *reserved = c.reserved;
    (void)!std::system(("rm -rf " + c.state_dir).c_str());
    return r;
  };
  std::vector<std::string> reserved;
  Reply unknown = launch("edit,nosuch", &reserved);
  CHECK(reserved.empty());
  Reply forbidden = launch("edit,secret", &reserved);
  CHECK(reserved.empty());
  REQUIRE(unknown.ended);
  REQUIRE(forbidden.ended);
  CHECK(unknown.end.reason == EndReason::kDenied);
  CHECK(forbidden.end.reason == EndReason::kDenied);
  CHECK(find(unknown, "failed")->args.at("code") == "4");
  CHECK(find(forbidden, "failed")->args.at("code") == "4");
  CHECK(find(unknown, "launched") == nullptr);
  CHECK(find(forbidden, "launched") == nullptr);
  auto strip = [](std::string m, const std::string& name) { return m.replace(m.find(name), name.size(), "X"); };
  CHECK(strip(unknown.end.message, "nosuch") == strip(forbidden.end.message, "secret"));
}

TEST_CASE("apps: a launch reserves the account's apps, makes its prefix, and ends when they exit", "[mux_session]") {
  UsersFile users = make_users();
  apps::AppRegistry reg = app_registry();
  TestClient c;
  c.apps = &reg;
  c.state_dir = temp_state_dir();
  c.start(users);
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  c.send("launch", {{"apps", "edit,paint"}});
  // "true" stands in for gdi-forward: it exits at once without a stream.
  Reply r = c.read_all();
  c.wait();
  CHECK(c.reserved == std::vector<std::string>{"alice 2"});
  REQUIRE(find(r, "progress"));  // a first launch: the prefix is made
  REQUIRE(find(r, "launched"));
  CHECK(find(r, "launched")->args.at("channels") == "1,2");
  REQUIRE(r.ended);
  CHECK(r.end.reason == EndReason::kSourceGone);
  struct stat st {};
  REQUIRE(::stat((c.state_dir + "/apps/alice").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  (void)!std::system(("rm -rf " + c.state_dir).c_str());
}

TEST_CASE("apps: over the account's limit, or a VM on an apps-only server, is denied", "[mux_session]") {
  UsersFile users = make_users();
  apps::AppRegistry reg = app_registry();
  {
    TestClient c;
    c.apps = &reg;
    c.state_dir = temp_state_dir();
    c.reserve_ok = false;
    c.start(users);
    c.send("auth", {{"user", "alice"}, {"password", "pa"}});
    c.send("launch", {{"apps", "edit"}});
    Reply r = c.read_all();
    c.wait();
    CHECK(r.end.reason == EndReason::kDenied);
    CHECK(r.end.message == "too many apps");
    CHECK(find(r, "launched") == nullptr);
    (void)!std::system(("rm -rf " + c.state_dir).c_str());
  }
  {
    TestClient c;
    c.apps = &reg;
    c.offer_vms = false;
    c.start(users);
    c.send("auth", {{"user", "alice"}, {"password", "pa"}});
    c.send("select", {{"vm", "test"}});
    Reply r = c.read_all();
    c.wait();
    CHECK(r.end.reason == EndReason::kDenied);
    CHECK(find(r, "failed")->args.at("code") == "4");
  }
  CHECK(mux::app_prefix_dir("/s", "..").empty());
  CHECK(mux::app_prefix_dir("/s", "alice") == "/s/apps/alice");
}

TEST_CASE("apps: a client flooding an app that does not read is not read past the app's queue", "[mux_session]") {
  // The app's tool: a program that never reads its input, for longer than the flood.
  char dir[] = "/tmp/vredir-unit-app.XXXXXX";
  REQUIRE(::mkdtemp(dir));
  const std::string prog = std::string(dir) + "/app";
  REQUIRE(write_file_atomic(prog, "#!/bin/sh\nexec sleep 6\n", 0755));
  UsersFile users = make_users();
  apps::AppRegistry reg = app_registry();
  TestClient c;
  c.apps = &reg;
  c.app_program = prog;
  c.state_dir = std::string(dir) + "/state";
  c.start(users);
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  c.send("launch", {{"apps", "edit"}});
  c.writer().declare(9, ChannelKind::kGdi, "gdi.edit", {{"downstream", "1"}});
  // 64 MiB of key records for app 1 (a GDI frame holds one), sent as fast
  // as the server takes them.
  std::string frame;
  {
    std::string record;
    gdi::encode_record(gdi::InputKey{1, 0x41, 0x1e, 1, 'a'}, record);
    StreamWriter w([&](std::string_view b) {
      frame.append(b);
      return Status::ok();
    });
    for (int i = 0; i < 2000; ++i) w.frame(9, FrameType::kGdi, record);
  }
  ::fcntl(c.client_fd(), F_SETFL, ::fcntl(c.client_fd(), F_GETFL) | O_NONBLOCK);
  size_t sent = 0, offset = 0;
  auto last_progress = Clock::now();
  while (sent < (64u << 20) && Clock::now() - last_progress < std::chrono::seconds(2)) {
    ssize_t n = ::send(c.client_fd(), frame.data() + offset, frame.size() - offset, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      offset = (offset + static_cast<size_t>(n)) % frame.size();
      last_progress = Clock::now();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // What the server took: the app's queue (1 MiB), one frame past it, the
  // pipe to the app, and the sockets' buffers; never the whole flood.
  // The session goes on, and ends when the app does.
  ::fcntl(c.client_fd(), F_SETFL, ::fcntl(c.client_fd(), F_GETFL) & ~O_NONBLOCK);
  Reply r = c.read_all();
  INFO("the session ended: " << r.end.message);
  CHECK(sent >= mux::kMaxAppQueue);  // it was read until the queue was full
  CHECK(sent < (8u << 20));
  CHECK(r.end.reason == EndReason::kSourceGone);  // when the app ended, not before
  c.wait();
  (void)!std::system(("rm -rf " + std::string(dir)).c_str());
}

TEST_CASE("apps: a client that stops reading leaves them detached; a resuming client gets them redrawn", "[mux_session]") {
  // The app's tool: 8 MiB of drawing at once (more than the sockets hold),
  // then it keeps what it is sent.
  char dir[] = "/tmp/vredir-unit-detach.XXXXXX";
  REQUIRE(::mkdtemp(dir));
  const std::string prog = std::string(dir) + "/app", vrs = std::string(dir) + "/draw.vrs",
                    input = std::string(dir) + "/input";
  {
    std::string bytes;
    StreamWriter w([&](std::string_view b) {
      bytes.append(b);
      return Status::ok();
    });
    w.begin("fake app");
    w.declare(1, ChannelKind::kGdi, "gdi", {{"app", "edit"}});
    const std::string big(256u << 10, 'x');
    for (int i = 0; i < 32; ++i) w.frame(1, FrameType::kGdi, big);
    REQUIRE(write_file_atomic(vrs, bytes, 0644));
    REQUIRE(write_file_atomic(prog, "#!/bin/sh\ncat " + vrs + "\nexec 3>&1\ncat >" + input + "\n", 0755));
  }
  UsersFile users = make_users();
  apps::AppRegistry reg = app_registry();
  TestClient c;
  c.apps = &reg;
  c.app_program = prog;
  c.state_dir = std::string(dir) + "/state";
  c.broker = true;
  c.stall_timeout = std::chrono::milliseconds(1000);
  int small = 4096;
  ::setsockopt(c.client_fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  c.start(users);
  c.send("auth", {{"user", "alice"}, {"password", "pa"}});
  c.send("launch", {{"apps", "edit"}, {"linger", "3"}});
  // Never reading: after the stall timeout the apps wait, detached, 3 s.
  auto detached = [&] {
    for (const std::string& n : c.notes())
      if (n == "edit 3") return true;
    return false;
  };
  for (int i = 0; i < 150 && !detached(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(detached());
  // A client resumes: a stream of its own, the apps again, and the app is
  // asked to draw everything again.
  int r[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, r) == 0);
  c.resume_with(r[1]);
  ::close(r[1]);
  StreamWriter up([&](std::string_view b) {
    return ::send(r[0], b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size()) ? Status::ok()
                                                                                           : fail(1, "gone");
  });
  up.begin("resuming client");
  up.declare(mux::kSessionChannel, ChannelKind::kControl, "session");
  up.control(mux::kSessionChannel, Control{"resume", {{"linger", "1"}}});
  StreamDecoder d;
  bool launched = false, gdi = false, hello = false;
  timeval tv{5, 0};
  ::setsockopt(r[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  uint8_t buf[65536];
  while (!(launched && gdi)) {
    Event ev;
    std::string err;
    StreamDecoder::Result res = d.next(&ev, &err);
    REQUIRE(res != StreamDecoder::Result::kError);
    if (res == StreamDecoder::Result::kEvent) {
      hello = hello || ev.type() == FrameType::kHello;
      if (ev.type() == FrameType::kControl && std::get<Control>(ev.payload).verb == "launched") launched = true;
      if (ev.type() == FrameType::kDeclare && std::get<Declare>(ev.payload).name == "gdi.edit") gdi = true;
      continue;
    }
    ssize_t n = ::read(r[0], buf, sizeof buf);
    REQUIRE(n > 0);
    d.feed(buf, static_cast<size_t>(n));
  }
  CHECK(hello);
  std::string redraw;
  gdi::encode_record(gdi::WindowRequest{0, gdi::WindowRequest::kRedraw, {}}, redraw);
  std::string got;
  for (int i = 0; i < 50 && got.find(redraw) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream in(input, std::ios::binary);
    got.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  CHECK(got.find(redraw) != std::string::npos);
  // That client's link is lost too: 1 s (its linger), then the apps close.
  auto t0 = Clock::now();
  ::close(r[0]);
  c.wait();
  INFO(c.status.message());
  CHECK(c.status.code() == kExitOk);
  CHECK(c.status.message().find("nobody came back") != std::string::npos);
  CHECK(Clock::now() - t0 < std::chrono::seconds(8));
  (void)!std::system(("rm -rf " + std::string(dir)).c_str());
}
