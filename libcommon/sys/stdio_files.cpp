#include "sys/stdio_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vredir {

Status write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return Status::reader_gone();
      return fail(kExitFailure, "cannot write " + what + ": " + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

Status write_stdout(std::string_view text) { return write_all(1, text, "stdout"); }

OutputFile::~OutputFile() { (void)close(); }

Status OutputFile::open(const std::string& path, unsigned mode) {
  (void)close();
  if (path.empty() || path == "-") {
    fd_ = 1;
    owned_ = false;
    path_ = "stdout";
    return Status::ok();
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail(kExitFailure, "cannot open '" + path + "' for writing: " + std::strerror(errno));
  if ((mode & 077) == 0 && ::fchmod(fd, mode) != 0) {
    ::close(fd);
    return fail(kExitFailure, "cannot make '" + path + "' private: " + std::strerror(errno));
  }
  fd_ = fd;
  owned_ = true;
  path_ = path;
  return Status::ok();
}

Status OutputFile::write(std::string_view data) { return write_all(fd_, data, path_); }

Status OutputFile::close() {
  if (!owned_) return Status::ok();
  owned_ = false;
  int rc = ::close(fd_);
  fd_ = 1;
  if (rc != 0) return fail(kExitFailure, "cannot close '" + path_ + "': " + std::strerror(errno));
  return Status::ok();
}

InputFile::~InputFile() {
  if (owned_) ::close(fd_);
}

Status InputFile::open(const std::string& path) {
  if (owned_) ::close(fd_);
  if (path.empty() || path == "-") {
    fd_ = 0;
    owned_ = false;
    path_ = "stdin";
    return Status::ok();
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int code = errno == ENOENT ? kExitNotFound : kExitFailure;
    return fail(code, "cannot open '" + path + "': " + std::strerror(errno));
  }
  fd_ = fd;
  owned_ = true;
  path_ = path;
  return Status::ok();
}

Status InputFile::read(uint8_t* buf, size_t max, size_t* got) {
  for (;;) {
    ssize_t n = ::read(fd_, buf, max);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(kExitFailure, "cannot read " + path_ + ": " + std::strerror(errno));
    }
    *got = static_cast<size_t>(n);
    return Status::ok();
  }
}

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail(kExitFailure, "cannot write '" + tmp + "': " + std::strerror(errno));
  ::fchmod(fd, mode);
  Status st = write_all(fd, data, tmp);
  if (st && ::fsync(fd) != 0) st = fail(kExitFailure, "cannot sync '" + tmp + "': " + std::strerror(errno));
  ::close(fd);
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = fail(kExitFailure, "cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  if (!st) ::unlink(tmp.c_str());
  return st;
}

}  // namespace vredir
