// The audit log of redir-mux serve (--audit FILE or --audit syslog): one JSON
// object per line for each login, refusal, VM or app selection, control
// command and session end:
//   {"time":"2026-12-04T16:06:34.123Z","source":"127.0.0.2","account":"alice",
//    "event":"login","what":"password","result":"ok"}
// Sessions are separate processes: each line is one write() on a file opened
// with O_APPEND before they fork, so lines never interleave. Values from a peer
// are cut to a bounded length; JSON escapes the rest.
#pragma once

#include <string>

#include "wire/status.hpp"

namespace vredir::mux {

class AuditLog {
 public:
  AuditLog() = default;
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // "syslog" logs to syslog (LOG_AUTHPRIV); anything else is a file, created
  // 0600 and appended to.
  Status open(const std::string& where);
  bool is_open() const { return fd_ >= 0 || syslog_; }

  // event: login, refused, select, command, end. what: the detail (a VM, a
  // command); result: ok, fail, banned, denied, ...
  void record(const std::string& source, const std::string& account, const std::string& event,
              const std::string& what, const std::string& result) const;

 private:
  int fd_ = -1;
  bool syslog_ = false;
};

}  // namespace vredir::mux
