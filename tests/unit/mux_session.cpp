// The session protocol, server side, over a plain socket pair against
// libvirt's test driver (test:///default: one running domain "test").
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "mux_session.hpp"
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
    ::fcntl(fds_[1], F_SETFL, O_NONBLOCK);
  }
  ~TestClient() {
    if (server_.joinable()) server_.join();
    ::close(fds_[0]);
  }

  void start(const UsersFile& users, double auth_timeout_s = 10) {
    cfg_.users = &users;
    cfg_.uri = "test:///default";
    cfg_.peer = "test";
    cfg_.auth_deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(auth_timeout_s * 1000));
    cfg_.record_login = [this](const std::string& u, const std::string& r) { logins.push_back(r + " " + u); };
    cfg_.banned_for = [this](const std::string&) { return ban; };
    server_ = std::thread([this] { status = mux::run_server_session(server_t_, cfg_); });
    w_.begin("unit test");
    w_.declare(mux::kSessionChannel, ChannelKind::kControl, "session");
  }

  void send(const std::string& verb, const Params& args = {}) { w_.control(mux::kSessionChannel, Control{verb, args}); }
  void end() { w_.end(); }

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
  std::vector<std::string> logins;
  Status status;

 private:
  int fds_[2];
  Transport server_t_;
  mux::ServerSessionConfig cfg_;
  std::thread server_;
  StreamWriter w_{[this](std::string_view b) { return write_all(fds_[0], b, "socket"); }};
};

UsersFile make_users() {
  UsersFile f;
  UserAccount a{"alice", "", {"te*"}, false}, b{"bob", "", {"other*"}, true};
  REQUIRE(hash_password("pa", &a.hash, ScryptParams{10, 8, 1}));
  REQUIRE(hash_password("pb", &b.hash, ScryptParams{10, 8, 1}));
  f.put(a);
  f.put(b);
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
  CHECK(c.logins == std::vector<std::string>{"banned alice"});
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
