// Fuzz target for redir-mux serve's session state machine: arbitrary client
// bytes, from the first byte on (before login) when the input's first byte is
// even, or after a valid login as "alice" when it is odd, against libvirt's
// test driver (test:///default, in process). The session runs over a plain
// socket pair exactly as serve runs it over TLS; its display and input tools
// are "true", and so is the app of its registry. What the server does with the bytes must stay bounded: run the
// fuzzer with -rss_limit_mb (tests/fuzz/long.sh does) so memory growth counts
// as a crash.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

#include "mux_session.hpp"
#include "password_hash.hpp"
#include "users_file.hpp"
#include "wire/stream_writer.hpp"

using namespace vredir;
using namespace vredir::stream;

namespace {

const UsersFile& users() {
  static UsersFile f = [] {
    UsersFile u;
    UserAccount a{"alice", "", {"te*"}, false, "", "", ""}, v{"vic", "", {"*"}, true, "", "", ""};
    (void)hash_password("pa", &a.hash, ScryptParams{10, 8, 1});
    (void)hash_password("pv", &v.hash, ScryptParams{10, 8, 1});
    u.put(a);
    u.put(v);
    return u;
  }();
  return f;
}

std::string login_prefix() {
  std::string out;
  StreamWriter w([&](std::string_view b) {
    out.append(b);
    return Status::ok();
  });
  w.set_fixed_time(0);
  (void)w.begin("fuzz");
  (void)w.declare(mux::kSessionChannel, ChannelKind::kControl, "session");
  (void)w.control(mux::kSessionChannel, Control{"auth", {{"user", "alice"}, {"password", "pa"}}});
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // serve runs with SIGPIPE ignored (every tool does, see sys/cli.cpp); a
  // session whose "true" display tool has already exited must see EPIPE here
  // too, not die of the signal.
  static const bool sigpipe_ignored = (::signal(SIGPIPE, SIG_IGN), true);
  (void)sigpipe_ignored;
  std::string input = (data[0] & 1) ? login_prefix() : std::string();
  input.append(reinterpret_cast<const char*>(data) + 1, size - 1);
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  Transport server(fds[1]);
  mux::ServerSessionConfig cfg;
  cfg.users = &users();
  cfg.uri = "test:///default";
  cfg.peer = "fuzz";
  cfg.auth_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  cfg.stall_timeout = std::chrono::seconds(2);
  cfg.capture_program = "true";
  cfg.inject_program = "true";
  // serve --apps: a registry alice may launch "edit" from; the app is "true".
  static const apps::AppRegistry registry = [] {
    apps::AppRegistry r;
    std::string err;
    (void)apps::parse_registry("[app edit]\npath = edit.exe\nallow = alice\n[app other]\npath = o.exe\nallow = vic\n",
                               &r, &err);
    return r;
  }();
  cfg.apps = &registry;
  cfg.app_program = "true";
  cfg.state_dir = "/tmp/vredir-fuzz-state";
  cfg.begin_login = [](const std::string&) { return mux::LoginVerdict{0, 0, 1}; };
  std::thread session([&] {
    (void)mux::run_server_session(server, cfg);
    server.close();
  });
  // Send everything (reading what comes back meanwhile), then end our side,
  // and read until the server is done.
  size_t sent = 0;
  char buf[65536];
  bool write_open = true;
  for (;;) {
    pollfd p{fds[0], static_cast<short>(POLLIN | (write_open ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    if (p.revents & POLLIN) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
    }
    if (write_open && (p.revents & POLLOUT)) {
      ssize_t n = sent < input.size() ? ::send(fds[0], input.data() + sent, input.size() - sent, MSG_NOSIGNAL) : 0;
      if (n > 0) sent += static_cast<size_t>(n);
      if (sent >= input.size() || n < 0) {
        ::shutdown(fds[0], SHUT_WR);
        write_open = false;
      }
    } else if (p.revents & (POLLHUP | POLLERR)) {
      break;
    }
  }
  session.join();
  ::close(fds[0]);
  return 0;
}
