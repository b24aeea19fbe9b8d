#include "stream_endpoint.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace bp = boost::process;

namespace vredir {

bool is_exec_spec(const std::string& spec) { return spec.rfind("exec:", 0) == 0; }

StreamEndpoint::StreamEndpoint() = default;

StreamEndpoint::~StreamEndpoint() { finish(0); }

namespace {

bool is_live(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode);
}

}  // namespace

Status StreamEndpoint::open(const std::string& spec, bool for_reading) {
  label_ = spec;
  if (is_exec_spec(spec)) {
    std::string command = spec.substr(5);
    if (command.empty()) return fail(kExitUsage, "'" + spec + "': exec: needs a command");
    try {
      bp::pipe to_child, from_child;
      child_ = std::make_unique<bp::child>("/bin/sh", "-c", command, bp::std_in < to_child,
                                           bp::std_out > from_child);
      // Keep close-on-exec copies so later commands do not inherit these
      // pipes (a leaked write end would hide the end of the stream).
      read_fd_ = ::fcntl(from_child.native_source(), F_DUPFD_CLOEXEC, 3);
      write_fd_ = ::fcntl(to_child.native_sink(), F_DUPFD_CLOEXEC, 3);
    } catch (const std::exception& e) {
      child_.reset();
      return fail(kExitFailure, "cannot run '" + command + "': " + e.what());
    }
    if (read_fd_ < 0 || write_fd_ < 0) return fail(kExitFailure, std::string("pipe: ") + std::strerror(errno));
    own_read_ = own_write_ = true;
    live_ = true;
    return Status::ok();
  }
  if (spec == "-" || spec.empty()) {
    label_ = for_reading ? "stdin" : "stdout";
    (for_reading ? read_fd_ : write_fd_) = for_reading ? 0 : 1;
    live_ = is_live(for_reading ? 0 : 1);
    return Status::ok();
  }
  int fd = for_reading ? ::open(spec.c_str(), O_RDONLY | O_CLOEXEC)
                       : ::open(spec.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int code = errno == ENOENT ? kExitNotFound : (errno == EACCES || errno == EPERM) ? kExitDenied : kExitFailure;
    return fail(code, "cannot open " + spec + ": " + std::strerror(errno));
  }
  (for_reading ? read_fd_ : write_fd_) = fd;
  (for_reading ? own_read_ : own_write_) = true;
  live_ = is_live(fd);
  return Status::ok();
}

void StreamEndpoint::close_read() {
  if (own_read_ && read_fd_ >= 0) ::close(read_fd_);
  read_fd_ = -1;
  own_read_ = false;
}

void StreamEndpoint::close_write() {
  if (own_write_ && write_fd_ >= 0) ::close(write_fd_);
  write_fd_ = -1;
  own_write_ = false;
}

int StreamEndpoint::finish(int grace_s) {
  close_write();
  close_read();
  if (!child_) return -1;
  std::error_code ec;
  // running() reaps the command once it has exited and keeps its status.
  auto wait_up_to = [&](std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (child_->running(ec) && !ec) {
      if (std::chrono::steady_clock::now() >= until) return false;
      ::usleep(10000);
    }
    return true;
  };
  if (!wait_up_to(std::chrono::seconds(grace_s))) {
    ::kill(child_->id(), SIGTERM);
    if (!wait_up_to(std::chrono::seconds(1))) {
      child_->terminate(ec);
      child_->wait(ec);
    }
  }
  int code = ec ? -1 : child_->exit_code();
  child_.reset();
  return code;
}

}  // namespace vredir
