#include "child_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>
#include <thread>

namespace vredir::mux {

std::string program_path(const std::string& name) {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string dir(buf, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    for (std::string cand : {dir + "/" + name, dir + "/../" + name + "/" + name})
      if (::access(cand.c_str(), X_OK) == 0) return cand;
  }
  return name;  // found through PATH
}

namespace {
// Whether the effective capability set holds CAP_SETGID (6) and CAP_SETUID (7).
bool may_switch_users() {
  if (::geteuid() == 0) return true;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("CapEff:", 0) == 0) {
      unsigned long long caps = std::strtoull(line.c_str() + 7, nullptr, 16);
      return (caps & (1ull << 6)) && (caps & (1ull << 7));
    }
  return false;
}
}  // namespace

Status lookup_run_as(const std::string& unix_user, RunAs* out) {
  std::vector<char> buf(16384);
  passwd pw{}, *found = nullptr;
  if (::getpwnam_r(unix_user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found)
    return fail(kExitNotFound, "no Unix user '" + unix_user + "' on the server");
  out->uid = pw.pw_uid;
  out->gid = pw.pw_gid;
  out->name = pw.pw_name;
  out->home = pw.pw_dir ? pw.pw_dir : "/";
  int n = 64;
  out->groups.assign(static_cast<size_t>(n), 0);
  if (::getgrouplist(pw.pw_name, pw.pw_gid, out->groups.data(), &n) < 0) {
    out->groups.assign(static_cast<size_t>(n), 0);
    if (::getgrouplist(pw.pw_name, pw.pw_gid, out->groups.data(), &n) < 0) n = 0;
  }
  out->groups.resize(static_cast<size_t>(std::max(n, 0)));
  if (!may_switch_users())
    return fail(kExitDenied, "running apps as Unix user '" + unix_user +
                                 "' needs serve to run as root or with CAP_SETUID and CAP_SETGID");
  return Status::ok();
}

Status spawn(const std::vector<std::string>& args, bool with_stdin, Child* c, const std::vector<std::string>& env_set_in,
             const std::vector<std::string>& env_unset, const RunAs* as) {
  std::vector<std::string> env_set = env_set_in;
  if (as) env_set.insert(env_set.end(), {"HOME=" + as->home, "USER=" + as->name, "LOGNAME=" + as->name});
  // The environment is built before fork: the child only calls exec.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view var(*e);
    std::string_view name = var.substr(0, var.find('='));
    bool drop = false;
    for (const std::string& u : env_unset) drop = drop || name == u;
    for (const std::string& kv : env_set) drop = drop || name == std::string_view(kv).substr(0, kv.find('='));
    if (!drop) env.emplace_back(var);
  }
  env.insert(env.end(), env_set.begin(), env_set.end());
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  if ((with_stdin && ::pipe2(in, O_CLOEXEC) != 0) || ::pipe2(out, O_CLOEXEC) != 0)
    return fail(kExitFailure, std::string("pipe: ") + std::strerror(errno));
  std::string path = program_path(args[0]);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return fail(kExitFailure, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    if (as && (::setgroups(as->groups.size(), as->groups.data()) != 0 || ::setgid(as->gid) != 0 ||
               ::setuid(as->uid) != 0 || ::getuid() != as->uid)) {
      std::fprintf(stderr, "redir-mux: cannot switch to Unix user %s: %s\n", as->name.c_str(), std::strerror(errno));
      ::_exit(126);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(with_stdin ? in[0] : devnull, 0);
    ::dup2(out[1], 1);
    ::execvpe(path.c_str(), argv.data(), envp.data());
    std::fprintf(stderr, "redir-mux: cannot run %s: %s\n", path.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  if (with_stdin) {
    ::close(in[0]);
    c->in = in[1];
    ::fcntl(c->in, F_SETFL, O_NONBLOCK);
  }
  ::close(out[1]);
  c->out = out[0];
  ::fcntl(c->out, F_SETFL, O_NONBLOCK);
  c->pid = pid;
  return Status::ok();
}

void feed_child(Child* c, std::string* q, bool close_when_empty) {
  while (c->in >= 0 && !q->empty()) {
    ssize_t n = ::write(c->in, q->data(), q->size());
    if (n > 0) q->erase(0, static_cast<size_t>(n));
    else if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    else {
      ::close(c->in);
      c->in = -1;
      q->clear();
    }
  }
  if (c->in >= 0 && close_when_empty && q->empty()) {
    ::close(c->in);
    c->in = -1;
  }
}

ChildOutput read_child_frames(Child* c, stream::FrameReader* frames, const std::function<bool()>& more,
                              const std::function<bool(const stream::Frame&)>& on_frame, std::string* err) {
  uint8_t buf[65536];
  err->clear();
  while (c->out >= 0 && more()) {
    ssize_t n = ::read(c->out, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return ChildOutput::kWaiting;
    stream::FrameReader::Result r = stream::FrameReader::Result::kNeedMore;
    if (n > 0) {
      frames->feed(buf, static_cast<size_t>(n));
      stream::Frame f;
      while ((r = frames->next(&f, err)) == stream::FrameReader::Result::kFrame)
        if (!on_frame(f)) return ChildOutput::kWaiting;
    }
    if (n <= 0 || r == stream::FrameReader::Result::kError) {
      ::close(c->out);
      c->out = -1;
      return ChildOutput::kEnded;
    }
  }
  return ChildOutput::kWaiting;
}

void stop_children(std::vector<Child*> children, std::chrono::steady_clock::time_point deadline) {
  for (Child* c : children) {
    if (c->in >= 0) ::close(c->in);
    if (c->out >= 0) ::close(c->out);
    c->in = c->out = -1;
    if (c->pid > 0) ::kill(c->pid, SIGTERM);
  }
  for (Child* c : children) {
    while (c->pid > 0) {
      int status = 0;
      pid_t r = ::waitpid(c->pid, &status, WNOHANG);
      if (r == c->pid || (r < 0 && errno == ECHILD)) {
        c->pid = -1;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(c->pid, SIGKILL);
        ::waitpid(c->pid, &status, 0);
        c->pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace vredir::mux
