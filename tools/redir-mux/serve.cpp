// redir-mux serve: the listener. It accepts connections and forks one session
// process per connection, in its own process group, which runs the session
// protocol (libcommon/mux_session). The listener keeps the login limiter (the
// sessions ask it over a socket pair), caps unauthenticated connections by
// dropping the oldest, and reaps everything: a session that crashes takes its
// process group with it and nothing else.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <thread>

#include "sys/cli.hpp"
#include "virt/hypervisor.hpp"
#include "login_limiter.hpp"
#include "mux_session.hpp"
#include "password_hash.hpp"
#include "subcommands.hpp"
#include "net/tls_transport.hpp"
#include "users_file.hpp"

using namespace vredir;

namespace redir_mux {

namespace {

struct ServeOptions {
  std::string listen, cert, key, users, uri, record_dir;
  bool insecure = false;
  double auth_timeout_s = 15;
  unsigned max_pending = 32;
  double ban_time_s = 300;
};

struct SessionProc {
  pid_t pid = -1;
  int ctl = -1;
  std::string peer;
  bool authenticated = false;
  uint64_t order = 0;
};

int g_sigchld_pipe[2] = {-1, -1};
void on_sigchld(int) {
  int saved = errno;
  char c = 1;
  (void)!::write(g_sigchld_pipe[1], &c, 1);
  errno = saved;
}

// The session side of the listener's socket pair: ask and tell, one
// datagram each way.
std::string ask(int ctl, const std::string& msg) {
  if (::send(ctl, msg.data(), msg.size(), MSG_NOSIGNAL) < 0) return "";
  char buf[256];
  ssize_t n = ::recv(ctl, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}
void tell(int ctl, const std::string& msg) { (void)::send(ctl, msg.data(), msg.size(), MSG_NOSIGNAL); }

[[noreturn]] void run_session_process(int fd, int ctl, const ServeOptions& o, SSL_CTX* tls, const std::string& peer) {
  ::setpgid(0, 0);
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long>(o.auth_timeout_s * 1000));
  ::signal(SIGCHLD, SIG_DFL);
  install_interrupt_handlers();
  Transport t(fd);
  if (tls) {
    if (Status st = t.accept_tls(tls, deadline); !st) {
      spdlog::info("session {}: {}", peer, st.message());
      ::_exit(st.code());
    }
  }
  // The users file is read per session, so edits apply without a restart.
  UsersFile users;
  if (Status st = users.load(o.users); !st) {
    spdlog::error("{}", st.message());
    ::_exit(st.code());
  }
  mux::ServerSessionConfig cfg;
  cfg.users = &users;
  cfg.uri = o.uri;
  cfg.peer = peer;
  cfg.auth_deadline = deadline;
  if (!o.record_dir.empty())
    cfg.record_file = o.record_dir + "/session-" + std::to_string(::time(nullptr)) + "-" + std::to_string(::getpid()) + ".vrs";
  cfg.banned_for = [&](const std::string& user) { return std::atol(ask(ctl, "ban " + user).c_str()); };
  cfg.record_login = [&](const std::string& user, const std::string& result) {
    tell(ctl, "login " + result + " " + user);
  };
  cfg.on_authenticated = [&] { tell(ctl, "authed"); };
  Status st = mux::run_server_session(t, cfg);
  spdlog::info("session {} ended: {}", peer, st.message().empty() ? "done" : st.message());
  t.close();
  ::_exit(st.code());
}

class Listener {
 public:
  Listener(const ServeOptions& o, SSL_CTX* tls, int listen_fd)
      : o_(o), tls_(tls), listen_fd_(listen_fd),
        limiter_(LoginLimiter::Limits{5, std::chrono::seconds(300),
                                      std::chrono::seconds(static_cast<long>(o.ban_time_s)), 10000}) {}

  Status run();

 private:
  void accept_all();
  void serve_ctl(SessionProc& s);
  void reap();
  void drop(SessionProc& s, const char* why);
  void shutdown_all();

  const ServeOptions& o_;
  SSL_CTX* tls_;
  int listen_fd_;
  LoginLimiter limiter_;
  std::map<pid_t, SessionProc> sessions_;
  uint64_t next_order_ = 0;
};

void Listener::drop(SessionProc& s, const char* why) {
  spdlog::info("session {} (pid {}): {}", s.peer, s.pid, why);
  ::kill(-s.pid, SIGKILL);
}

void Listener::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN, or a transient error: poll again
    std::string peer = peer_address(fd);
    // Too many connections that have not logged in: drop the oldest, so a
    // flood of silent connections cannot lock real users out.
    size_t pending = 0;
    SessionProc* oldest = nullptr;
    for (auto& [pid, s] : sessions_)
      if (!s.authenticated && s.ctl >= 0) {
        ++pending;
        if (!oldest || s.order < oldest->order) oldest = &s;
      }
    if (pending >= o_.max_pending && oldest) {
      drop(*oldest, "dropped: too many unauthenticated connections");
      oldest->authenticated = true;  // no longer counts as pending
    }
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
      ::close(fd);
      continue;
    }
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(listen_fd_);
      ::close(sp[0]);
      ::close(g_sigchld_pipe[0]);
      ::close(g_sigchld_pipe[1]);
      for (auto& [p, s] : sessions_)
        if (s.ctl >= 0) ::close(s.ctl);
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      run_session_process(fd, sp[1], o_, tls_, peer);
    }
    ::close(fd);
    ::close(sp[1]);
    if (pid < 0) {
      ::close(sp[0]);
      spdlog::error("fork: {}", std::strerror(errno));
      continue;
    }
    ::setpgid(pid, pid);
    sessions_[pid] = SessionProc{pid, sp[0], peer, false, next_order_++};
    spdlog::debug("session {} (pid {}) started", peer, pid);
  }
}

void Listener::serve_ctl(SessionProc& s) {
  char buf[256];
  ssize_t n = ::recv(s.ctl, buf, sizeof buf, MSG_DONTWAIT);
  if (n <= 0) {
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      ::close(s.ctl);
      s.ctl = -1;
    }
    return;
  }
  std::string msg(buf, static_cast<size_t>(n));
  auto now = LoginLimiter::Clock::now();
  if (msg.rfind("ban ", 0) == 0) {
    std::string reply = std::to_string(limiter_.banned_for(s.peer, msg.substr(4), now));
    (void)::send(s.ctl, reply.data(), reply.size(), MSG_NOSIGNAL);
  } else if (msg.rfind("login ", 0) == 0) {
    size_t sp = msg.find(' ', 6);
    std::string result = msg.substr(6, sp == std::string::npos ? std::string::npos : sp - 6);
    std::string user = sp == std::string::npos ? "" : msg.substr(sp + 1);
    if (result != "banned") limiter_.record(s.peer, user, result == "ok", now);
    spdlog::info("{}", login_log_line(result, s.peer, user));
  } else if (msg == "authed") {
    s.authenticated = true;
  }
}

void Listener::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    auto it = sessions_.find(pid);
    if (it == sessions_.end()) continue;  // an orphaned tool of a session (we are its subreaper)
    // Whatever the session left behind (capture, input tool) goes with it.
    ::kill(-pid, SIGKILL);
    // Its last messages (a login result sent just before it exited) are
    // still queued: handle them before closing, so no attempt goes unlogged.
    for (int i = 0; i < 64 && it->second.ctl >= 0; ++i) serve_ctl(it->second);
    if (it->second.ctl >= 0) ::close(it->second.ctl);
    if (WIFSIGNALED(status))
      spdlog::warn("session {} (pid {}) killed by signal {}", it->second.peer, pid, WTERMSIG(status));
    sessions_.erase(it);
  }
}

void Listener::shutdown_all() {
  for (auto& [pid, s] : sessions_) ::kill(-pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!sessions_.empty() && std::chrono::steady_clock::now() < deadline) {
    reap();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& [pid, s] : sessions_) ::kill(-pid, SIGKILL);
  while (::waitpid(-1, nullptr, 0) > 0) {
  }
}

Status Listener::run() {
  while (!interrupted()) {
    std::vector<pollfd> fds;
    fds.push_back({listen_fd_, POLLIN, 0});
    fds.push_back({g_sigchld_pipe[0], POLLIN, 0});
    std::vector<pid_t> order;
    for (auto& [pid, s] : sessions_)
      if (s.ctl >= 0) {
        fds.push_back({s.ctl, POLLIN, 0});
        order.push_back(pid);
      }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR)
      return fail(kExitFailure, std::string("poll: ") + std::strerror(errno));
    if (fds[1].revents) {
      char drain[64];
      while (::read(g_sigchld_pipe[0], drain, sizeof drain) > 0) {
      }
    }
    for (size_t i = 2; i < fds.size(); ++i)
      if (fds[i].revents) {
        auto it = sessions_.find(order[i - 2]);
        if (it != sessions_.end()) serve_ctl(it->second);
      }
    reap();
    if (fds[0].revents) accept_all();
  }
  spdlog::info("shutting down: ending {} session(s)", sessions_.size());
  shutdown_all();
  return Status::ok();
}

Status serve(const ServeOptions& o) {
  Endpoint ep;
  std::string err;
  if (!parse_endpoint(o.listen, &ep, &err)) return fail(kExitUsage, "--listen: " + err);
  if (ep.scheme == Endpoint::Scheme::kTcp && !is_loopback_host(ep.host) && !o.insecure)
    return fail(kExitUsage, "refusing a plain tcp:// listener on non-loopback address '" + ep.host +
                                "' (use tls://, or --insecure to accept the risk)");
  SslCtxHandle tls;
  if (ep.scheme == Endpoint::Scheme::kTls) {
    if (o.cert.empty() || o.key.empty()) return fail(kExitUsage, "a tls:// listener needs --cert and --key");
    if (Status st = make_server_tls(o.cert, o.key, &tls); !st) return st;
  }
  UsersFile users;  // checked now; each session reads it afresh
  if (Status st = users.load(o.users); !st) return st;
  if (users.accounts().empty()) spdlog::warn("users file '{}' has no accounts (add one: redir-mux users add)", o.users);
  silence_libvirt_errors();
  (void)verify_password_dummy("");  // the unknown-user hash, computed once before forking
  int listen_fd = -1;
  Endpoint bound;
  if (Status st = listen_endpoint(ep, &listen_fd, &bound); !st) return st;
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (::pipe2(g_sigchld_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return fail(kExitFailure, "pipe failed");
  struct sigaction sa {};
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, nullptr);
  install_interrupt_handlers();
  spdlog::info("listening on {}", bound.to_string());
  Listener l(o, tls.get(), listen_fd);
  Status st = l.run();
  ::close(listen_fd);
  if (ep.scheme == Endpoint::Scheme::kUnix) ::unlink(ep.path.c_str());
  return st;
}

}  // namespace

Runner add_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* sub = app.add_subcommand("serve", "Accept remote sessions: TLS, login, VM list, one session process each");
  sub->add_option("--listen", o->listen, "Where to listen: tls://ADDR:PORT, tcp://ADDR:PORT (loopback) or unix:PATH")
      ->required();
  sub->add_option("--cert", o->cert, "tls://: the server certificate chain (PEM)");
  sub->add_option("--key", o->key, "tls://: the server private key (PEM)");
  sub->add_option("--users", o->users, "The users file (see redir-mux users)")->required();
  sub->add_option("-c,--connect", o->uri, "libvirt URI (default: $LIBVIRT_DEFAULT_URI, then qemu:///system)");
  sub->add_flag("--insecure", o->insecure, "Allow a plain tcp:// listener on a non-loopback address");
  sub->add_option("--auth-timeout", o->auth_timeout_s,
                  "Seconds a connection may take to log in before it is dropped (default 15)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--max-pending", o->max_pending,
                  "Most connections not yet logged in; beyond it the oldest is dropped (default 32)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--ban-time", o->ban_time_s,
                  "Seconds an address or user is refused after 5 failed logins in 5 minutes (default 300)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--record", o->record_dir,
                  "Record each session, both directions, into DIR/session-TIME-PID.vrs (passwords left out)")
      ->check(CLI::ExistingDirectory);
  return [o] { return serve(*o); };
}

}  // namespace redir_mux
