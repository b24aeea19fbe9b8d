// redir-mux serve: the listener. It accepts connections and forks one session
// process per connection, in its own process group, which runs the session
// protocol (mux_session). The listener keeps the login limiter (the sessions
// ask it over a socket pair, one atomic check-and-count per attempt), limits
// connections that have not logged in per source and in all (refusing
// newcomers, never evicting anyone), writes the audit log's refusals, and
// reaps everything: a session that crashes takes its process group with it
// and nothing else.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "audit_log.hpp"
#include "login_limiter.hpp"
#include "mux_session.hpp"
#include "net/fd_passing.hpp"
#include "net/tls_transport.hpp"
#include "password_hash.hpp"
#include "pending_limits.hpp"
#include "subcommands.hpp"
#include "sys/cli.hpp"
#include "sys/log_text.hpp"
#include "users_file.hpp"
#include "virt/hypervisor.hpp"

using namespace vredir;

namespace redir_mux {

namespace {

struct ServeOptions {
  std::string listen, cert, key, users, uri, record_dir, audit, startups = "10:30:32";
  std::string apps, state_dir = "/var/lib/vredir";
  unsigned max_apps = 8;
  double max_linger_s = static_cast<double>(mux::kDefaultMaxLinger.count());
  size_t clipboard_max = mux::kDefaultAppClipboard;
  bool insecure = false, idle_viewers = false, no_vms = false;
  double auth_timeout_s = 15, stall_timeout_s = 30, idle_timeout_s = 0;
  unsigned max_pending_per_source = 4, max_failures = 5;
  double ban_time_s = 300;
  int compress = -1;  // -1: 6 for tcp:// and tls:// listeners, 0 (raw) for unix:
};

struct SessionProc {
  pid_t pid = -1;
  int ctl = -1;
  std::string peer, source;
  bool authenticated = false;
  uint64_t ticket = 0;  // a login attempt the limiter counts, until its result
  std::string user;     // of that attempt
  unsigned apps = 0;    // apps it launched (serve --apps)
  std::string app_names;                               // NAME,NAME... ("": none yet)
  bool detached = false;                               // its apps wait for a client
  std::chrono::steady_clock::time_point linger_until;  // until then
};

// The app registry of serve --apps: a file of at most kMaxRegistryBytes.
Status load_app_registry(const std::string& path, apps::AppRegistry* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(kExitNotFound, "cannot open the app registry '" + path + "'");
  std::string text(apps::kMaxRegistryBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  std::string err;
  if (!apps::parse_registry(text, out, &err)) return fail(kExitMalformed, path + ":" + err);
  return Status::ok();
}

int g_sigchld_pipe[2] = {-1, -1};
void on_sigchld(int) {
  int saved = errno;
  char c = 1;
  (void)!::write(g_sigchld_pipe[1], &c, 1);
  errno = saved;
}

// The session side of the listener's socket pair: ask and tell, one
// datagram each way.
// A datagram may carry a file descriptor (a resuming client's socket).
constexpr size_t kMaxCtlMessage = 8192;
bool send_msg(int ctl, const std::string& msg, int fd = -1) { return send_message(ctl, msg, fd); }
std::string recv_msg(int ctl, int flags, int* fd = nullptr) { return receive_message(ctl, flags, fd, kMaxCtlMessage); }
std::string ask(int ctl, const std::string& msg, int* fd = nullptr) {
  if (!send_msg(ctl, msg)) return "";
  return recv_msg(ctl, 0, fd);
}
void tell(int ctl, const std::string& msg) { (void)send_msg(ctl, msg); }

// "ok TICKET DELAY_MS" or "banned SECONDS".
mux::LoginVerdict parse_verdict(const std::string& reply) {
  mux::LoginVerdict v;
  auto num = [](std::string_view s, auto* out) { std::from_chars(s.data(), s.data() + s.size(), *out); };
  if (reply.rfind("banned ", 0) == 0) {
    num(std::string_view(reply).substr(7), &v.banned_s);
    if (v.banned_s <= 0) v.banned_s = 1;
  } else if (reply.rfind("ok ", 0) == 0) {
    size_t sp = reply.find(' ', 3);
    num(std::string_view(reply).substr(3, sp == std::string::npos ? std::string::npos : sp - 3), &v.ticket);
    if (sp != std::string::npos) num(std::string_view(reply).substr(sp + 1), &v.delay_ms);
  } else {
    v.banned_s = 1;  // no answer from the listener: refuse rather than guess
  }
  return v;
}

std::chrono::milliseconds ms_of(double s) { return std::chrono::milliseconds(static_cast<long>(s * 1000)); }

[[noreturn]] void run_session_process(int fd, int ctl, const ServeOptions& o, SSL_CTX* tls, const std::string& peer,
                                      const mux::AuditLog& audit) {
  ::setpgid(0, 0);
  auto deadline = std::chrono::steady_clock::now() + ms_of(o.auth_timeout_s);
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
  // So is the app registry.
  apps::AppRegistry registry;
  if (!o.apps.empty())
    if (Status st = load_app_registry(o.apps, &registry); !st) {
      spdlog::error("{}", st.message());
      ::_exit(st.code());
    }
  mux::ServerSessionConfig cfg;
  cfg.users = &users;
  if (!o.apps.empty()) {
    cfg.apps = &registry;
    cfg.state_dir = o.state_dir;
    cfg.clipboard_max = o.clipboard_max;
    cfg.reserve_apps = [&](const std::string&, size_t n, std::string* why) {
      std::string reply = ask(ctl, "apps " + std::to_string(n));
      if (reply == "ok") return true;
      *why = reply.rfind("no ", 0) == 0 ? reply.substr(3) : "the server did not answer";
      return false;
    };
    // Detach and reattach go through the listener, which knows every
    // session's account.
    cfg.note_instance = [ctl](const std::string& names, long linger_s) {
      tell(ctl, "instance " + std::to_string(linger_s) + " " + names.substr(0, 4096));
    };
    cfg.broker_fd = ctl;
    cfg.take_client = [ctl] {
      int fd = -1;
      std::string msg = recv_msg(ctl, MSG_DONTWAIT, &fd);
      if (msg == "resume" && fd >= 0) return fd;
      if (fd >= 0) ::close(fd);
      return -1;
    };
    cfg.attach = [ctl](const std::string& app, std::string* why) {
      int fd = -1;
      std::string reply = ask(ctl, "attach " + app, &fd);
      if (reply.rfind("ok", 0) == 0 && fd >= 0) return fd;
      if (fd >= 0) ::close(fd);
      if (reply.rfind("no ", 0) == 0) *why = reply.substr(3);
      return -1;
    };
    cfg.instances = [ctl] {
      std::vector<mux::AppInstance> out;
      std::string reply = ask(ctl, "instances");
      // "ok" then one line per session: ID STATE LINGER NAMES
      for (size_t at = reply.find('\n'); at != std::string::npos && at < reply.size();) {
        size_t end = std::min(reply.find('\n', at + 1), reply.size());
        std::string line = reply.substr(at + 1, end - at - 1);
        at = end < reply.size() ? end : std::string::npos;
        mux::AppInstance i;
        size_t a = line.find(' '), b = a == std::string::npos ? a : line.find(' ', a + 1),
               c = b == std::string::npos ? b : line.find(' ', b + 1);
        if (c == std::string::npos) continue;
        i.id = line.substr(0, a);
        i.state = line.substr(a + 1, b - a - 1);
        std::from_chars(line.data() + b + 1, line.data() + c, i.linger_s);
        i.apps = line.substr(c + 1);
        out.push_back(std::move(i));
      }
      return out;
    };
    cfg.max_linger = std::chrono::seconds(static_cast<long>(o.max_linger_s));
  }
  cfg.offer_vms = !o.no_vms;
  cfg.uri = o.uri;
  cfg.peer = peer;
  cfg.auth_deadline = deadline;
  cfg.audit = &audit;
  cfg.client_fingerprint = t.is_tls() ? t.peer_fingerprint() : "";
  cfg.stall_timeout = ms_of(o.stall_timeout_s);
  cfg.idle_timeout = ms_of(o.idle_timeout_s);
  cfg.idle_viewers = o.idle_viewers;
  cfg.compress = o.compress;
  if (!o.record_dir.empty())
    cfg.record_file = o.record_dir + "/session-" + std::to_string(::time(nullptr)) + "-" + std::to_string(::getpid()) + ".vrs";
  cfg.begin_login = [&](const std::string& user) { return parse_verdict(ask(ctl, "begin " + user)); };
  cfg.end_login = [&](uint64_t ticket, const std::string& user, const std::string& result) {
    tell(ctl, "end " + std::to_string(ticket) + " " + result + " " + user);
  };
  cfg.on_authenticated = [&] { tell(ctl, "authed"); };
  Status st = mux::run_server_session(t, cfg);
  spdlog::info("session {} ended: {}", peer, st.message().empty() ? "done" : st.message());
  t.close();
  ::_exit(st.code());
}

class Listener {
 public:
  Listener(const ServeOptions& o, const PendingLimits& pending, SSL_CTX* tls, int listen_fd, const mux::AuditLog& audit)
      : o_(o), pending_(pending), tls_(tls), listen_fd_(listen_fd), audit_(audit), limiter_(limits(o)),
        random_(std::random_device{}()) {}

  Status run();

 private:
  static LoginLimiter::Limits limits(const ServeOptions& o) {
    LoginLimiter::Limits l;
    l.max_failures = o.max_failures;
    l.max_source_failures = 2 * o.max_failures;
    l.ban_time = std::chrono::seconds(static_cast<long>(o.ban_time_s));
    return l;
  }
  void accept_all();
  bool admit(const std::string& peer, const std::string& source);
  void serve_ctl(SessionProc& s);
  void reap();
  void shutdown_all();

  const ServeOptions& o_;
  const PendingLimits& pending_;
  SSL_CTX* tls_;
  int listen_fd_;
  const mux::AuditLog& audit_;
  LoginLimiter limiter_;
  std::map<pid_t, SessionProc> sessions_;
  std::mt19937 random_;
  // Refusal log lines, at most one per source per 10 s (with a count).
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, unsigned>> refused_;
};

// Whether a newcomer from this source may start a session: per source, then
// in all (refused at random as the total nears the cap, as sshd's
// MaxStartups does). Nobody already connected is ever evicted.
bool Listener::admit(const std::string& peer, const std::string& source) {
  unsigned total = 0, from_source = 0;
  for (const auto& [pid, s] : sessions_)
    if (!s.authenticated && s.ctl >= 0) {
      ++total;
      if (s.source == source) ++from_source;
    }
  const char* why = nullptr;
  if (from_source >= pending_.per_source) why = "too many connections from this source that have not logged in";
  else if (!pending_.admit(total, random_)) why = "too many connections that have not logged in";
  if (!why) return true;
  audit_.record(peer, "", "refused", why, "refused");
  auto now = std::chrono::steady_clock::now();
  auto& [last, count] = refused_[source];
  ++count;
  if (now - last > std::chrono::seconds(10)) {
    spdlog::info("refused {} ({} in the last 10 s from {}): {}", peer, count, source, why);
    last = now;
    count = 0;
  }
  if (refused_.size() > 10000) refused_.clear();
  return false;
}

void Listener::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;  // EAGAIN, or a transient error: poll again
    std::string peer = peer_address(fd);
    std::string source = source_key(peer);
    if (!admit(peer, source)) {
      ::close(fd);
      continue;
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
      run_session_process(fd, sp[1], o_, tls_, peer, audit_);
    }
    ::close(fd);
    ::close(sp[1]);
    if (pid < 0) {
      ::close(sp[0]);
      spdlog::error("fork: {}", std::strerror(errno));
      continue;
    }
    ::setpgid(pid, pid);
    SessionProc s;
    s.pid = pid;
    s.ctl = sp[0];
    s.peer = peer;
    s.source = source;
    sessions_[pid] = std::move(s);
    spdlog::debug("session {} (pid {}) started", peer, pid);
  }
}

void Listener::serve_ctl(SessionProc& s) {
  char buf[kMaxCtlMessage];
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
  if (msg.rfind("begin ", 0) == 0 && s.ticket == 0 && !s.authenticated) {
    std::string user = msg.substr(6);
    LoginLimiter::Verdict v = limiter_.begin(s.source, user, now);
    std::string reply;
    if (v.banned_s > 0) {
      reply = "banned " + std::to_string(v.banned_s);
      spdlog::info("{}", login_log_line("banned", s.peer, user));
    } else {
      s.ticket = v.ticket;
      s.user = user;
      reply = "ok " + std::to_string(v.ticket) + " " + std::to_string(v.delay.count());
    }
    (void)::send(s.ctl, reply.data(), reply.size(), MSG_NOSIGNAL);
  } else if (msg.rfind("end ", 0) == 0 && s.ticket != 0) {
    // end TICKET RESULT USER: the ticket must be the one this session holds.
    std::string rest = msg.substr(4);
    size_t a = rest.find(' ');
    size_t b = a == std::string::npos ? a : rest.find(' ', a + 1);
    if (a != std::string::npos && rest.substr(0, a) == std::to_string(s.ticket)) {
      bool ok = rest.substr(a + 1, b == std::string::npos ? b : b - a - 1) == "ok";
      limiter_.finish(s.ticket, ok, now);
      spdlog::info("{}", login_log_line(ok ? "ok" : "fail", s.peer, s.user));
      s.ticket = 0;
    }
  } else if (msg == "authed") {
    s.authenticated = true;
  } else if (msg.rfind("apps ", 0) == 0 && s.authenticated) {
    // "apps N": may this session's account run N more apps? Counted over
    // all its sessions, against --max-apps.
    unsigned n = 0, running = 0;
    std::from_chars(msg.data() + 5, msg.data() + msg.size(), n);
    for (const auto& [pid, other] : sessions_)
      if (other.authenticated && other.user == s.user) running += other.apps;
    std::string reply;
    if (n == 0 || running + n > o_.max_apps) {
      reply = "no user '" + s.user + "' may run at most " + std::to_string(o_.max_apps) + " apps at once (" +
              std::to_string(running) + " running, " + std::to_string(n) + " asked for)";
    } else {
      s.apps += n;
      reply = "ok";
    }
    (void)::send(s.ctl, reply.data(), reply.size(), MSG_NOSIGNAL);
  } else if (msg.rfind("instance ", 0) == 0 && s.authenticated) {
    // "instance LINGER NAMES": the session's apps; LINGER > 0: detached,
    // waiting that many seconds for the account to come back.
    long linger = 0;
    size_t sp = msg.find(' ', 9);
    if (sp == std::string::npos) return;
    std::from_chars(msg.data() + 9, msg.data() + sp, linger);
    s.app_names = msg.substr(sp + 1, 4096);
    s.detached = linger > 0;
    s.linger_until = std::chrono::steady_clock::now() + std::chrono::seconds(linger);
  } else if (msg == "instances" && s.authenticated) {
    std::string reply = "ok";
    for (const auto& [pid, other] : sessions_) {
      if (!other.authenticated || other.user != s.user || other.app_names.empty()) continue;
      long left = other.detached ? std::chrono::duration_cast<std::chrono::seconds>(
                                       other.linger_until - std::chrono::steady_clock::now()).count()
                                 : 0;
      std::string line = "\n" + std::to_string(pid) + (other.detached ? " detached " : " attached ") +
                         std::to_string(std::max(left, 0L)) + " " + other.app_names;
      if (reply.size() + line.size() > kMaxCtlMessage) break;
      reply += line;
    }
    (void)send_msg(s.ctl, reply);
  } else if (msg.rfind("attach ", 0) == 0 && s.authenticated) {
    // "attach NAME" (or "attach "): a session of the same account with that
    // app resumes with this session as its client's relay: each gets one end
    // of a new socket pair. A detached one first (the latest); else one that
    // still has a client, which it drops (a link that died without a word
    // looks attached until the session writes to it).
    const std::string app = msg.substr(7);
    SessionProc* found = nullptr;
    for (auto& [pid, other] : sessions_) {
      if (&other == &s || !other.authenticated || other.user != s.user || other.app_names.empty() || other.ctl < 0)
        continue;
      const std::vector<std::string> names = mux::split_commas(other.app_names);
      if (!app.empty() && std::find(names.begin(), names.end(), app) == names.end()) continue;
      const bool better = !found || (other.detached && !found->detached) ||
                          (other.detached == found->detached && other.linger_until > found->linger_until);
      if (better) found = &other;
    }
    int sp[2];
    if (!found || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
      (void)send_msg(s.ctl, "no no running apps of user '" + s.user + "'" +
                                (app.empty() ? std::string() : " with app " + log_quote(app, 64)));
      return;
    }
    const bool was_detached = found->detached;
    found->detached = false;
    const bool handed = send_msg(found->ctl, "resume", sp[0]);
    (void)send_msg(s.ctl, handed ? "ok " + std::to_string(found->pid) : "no the detached session did not answer",
                   handed ? sp[1] : -1);
    ::close(sp[0]);
    ::close(sp[1]);
    spdlog::info("session {} user={}: takes the apps of session {} ({})", s.peer, log_quote(s.user), found->pid,
                 was_detached ? "detached" : "its client is dropped");
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
    // An attempt whose session died before answering counts as failed.
    if (it->second.ticket != 0) {
      limiter_.finish(it->second.ticket, false, LoginLimiter::Clock::now());
      spdlog::info("{}", login_log_line("fail", it->second.peer, it->second.user));
    }
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
  PendingLimits pending;
  std::string err;
  if (!parse_startups(o.startups, &pending, &err)) return fail(kExitUsage, "--max-startups: " + err);
  pending.per_source = o.max_pending_per_source;
  Endpoint ep;
  if (!parse_endpoint(o.listen, &ep, &err)) return fail(kExitUsage, "--listen: " + err);
  ServeOptions opts = o;
  if (opts.compress < 0) opts.compress = ep.scheme == Endpoint::Scheme::kUnix ? 0 : 6;
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
  if (o.no_vms && o.apps.empty()) return fail(kExitUsage, "--no-vms needs --apps REGISTRY (else nothing is offered)");
  if (!o.apps.empty()) {
    apps::AppRegistry registry;
    if (Status st = load_app_registry(o.apps, &registry); !st) return st;
    spdlog::info("offering {} app(s) from {}", registry.apps.size(), o.apps);
  }
  if (users.accounts().empty()) spdlog::warn("users file '{}' has no accounts (add one: redir-mux users add)", o.users);
  mux::AuditLog audit;
  if (!o.audit.empty())
    if (Status st = audit.open(o.audit); !st) return st;
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
  Listener l(opts, pending, tls.get(), listen_fd, audit);
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
      ->check(vredir::kPositive);
  sub->add_option("--max-pending-per-source", o->max_pending_per_source,
                  "Most connections not yet logged in from one source (IPv4 address, IPv6 /64); newcomers beyond "
                  "it are refused (default 4)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--max-startups", o->startups,
                  "START:RATE:FULL for connections not yet logged in, in all: from START on, newcomers are refused "
                  "with probability RATE% rising to 100% at FULL (default 10:30:32)");
  sub->add_option("--max-failures", o->max_failures,
                  "Failed logins for one account from one source in 5 minutes that ban the pair; twice as many "
                  "(any accounts) ban the source (default 5)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--ban-time", o->ban_time_s, "Seconds a ban lasts (default 300)")->check(vredir::kPositive);
  sub->add_option("--stall-timeout", o->stall_timeout_s,
                  "Seconds a client may leave the server's bytes unread before it is dropped (default 30)")
      ->check(vredir::kPositive);
  sub->add_option("--idle-timeout", o->idle_timeout_s,
                  "Seconds without input or output after which a logged-in session ends (default 0: never)")
      ->check(vredir::kNonNegative);
  sub->add_flag("--idle-timeout-viewers", o->idle_viewers,
                "Apply --idle-timeout to view-only sessions too (they send no input)");
  sub->add_option("--audit", o->audit,
                  "Write one JSON line per login, refusal, selection, command and session end to FILE "
                  "(or 'syslog')");
  sub->add_option("--compress", o->compress,
                  "Deflate the stream to clients (all but USB) at LEVEL 1-9, 0 for raw (default: 6 on tcp:// and tls://, raw "
                  "on unix:)")
      ->check(CLI::Range(0, 9));
  sub->add_option("--record", o->record_dir,
                  "Record each session, both directions, into DIR/session-TIME-PID.vrs, mode 0600 (passwords "
                  "left out)")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--apps", o->apps,
                  "Offer the Windows apps of this registry (the format of gdi-forward(1)) to the accounts it allows");
  sub->add_option("--state-dir", o->state_dir,
                  "Where each account's apps keep their Wine prefix: DIR/apps/ACCOUNT (default /var/lib/vredir)");
  sub->add_option("--max-linger", o->max_linger_s,
                  "Longest a client may have its detached apps wait for it (connect --linger; default 3600 s)")
      ->check(vredir::kNonNegative);
  sub->add_option("--max-apps", o->max_apps, "Most apps one account runs at once, over all its sessions (default 8)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--clipboard-max", o->clipboard_max,
                  "Most bytes of text an app's clipboard passes either way (default 1048576); each account's "
                  "clipboard= policy says which ways")
      ->check(CLI::Range(size_t(1), mux::kMaxAppClipboard));
  sub->add_flag("--no-vms", o->no_vms, "Offer apps only: no VM list, no libvirt (with --apps)");
  return [o] { return serve(*o); };
}

}  // namespace redir_mux
