// One end of a stream pipeline as named on a command line: a FILE, '-'
// (stdin or stdout), or exec:COMMAND, a command run with /bin/sh -c through
// Boost.Process whose stdout and stdin are both connected to us (we read the
// stream it writes and may write a stream to its stdin; its stderr is ours).
#pragma once

#include <memory>
#include <string>

#include "wire/status.hpp"

namespace boost::process {
class child;
}

namespace vredir {

class StreamEndpoint {
 public:
  StreamEndpoint();
  ~StreamEndpoint();
  StreamEndpoint(const StreamEndpoint&) = delete;
  StreamEndpoint& operator=(const StreamEndpoint&) = delete;

  // Opens spec for reading a stream from it (file, '-' = stdin, or the
  // command's stdout) or for writing a stream to it (file, '-' = stdout, or
  // the command's stdin). A command always gets both pipes.
  Status open(const std::string& spec, bool for_reading);

  bool is_command() const { return child_ != nullptr; }
  // Read as it is produced (pipe, terminal, command) rather than a file.
  bool live() const { return live_; }
  int read_fd() const { return read_fd_; }
  int write_fd() const { return write_fd_; }
  const std::string& label() const { return label_; }

  void close_read();
  void close_write();
  // Closes both pipes and reaps the command: it gets grace_s seconds to
  // exit, then SIGTERM, then SIGKILL. Returns its exit code (-1 if none).
  int finish(int grace_s = 5);

 private:
  std::string label_;
  int read_fd_ = -1;
  int write_fd_ = -1;
  bool own_read_ = false;
  bool own_write_ = false;
  bool live_ = false;
  std::unique_ptr<boost::process::child> child_;
};

// True for "exec:COMMAND".
bool is_exec_spec(const std::string& spec);

}  // namespace vredir
