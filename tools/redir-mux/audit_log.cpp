#include "audit_log.hpp"

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "sys/log_text.hpp"

namespace vredir::mux {

namespace {
constexpr size_t kMaxValue = 256;

// JSON wants UTF-8: a peer's bytes that are not are written as \xNN text.
std::string bounded(const std::string& s) { return json_safe_text(std::string_view(s).substr(0, kMaxValue)); }

std::string now_utc() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[96];  // room for any int the compiler can imagine
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
}  // namespace

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status AuditLog::open(const std::string& where) {
  if (where == "syslog") {
    ::openlog("redir-mux", LOG_PID, LOG_AUTHPRIV);
    syslog_ = true;
    return Status::ok();
  }
  fd_ = ::open(where.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return fail(kExitFailure, "cannot open the audit log '" + where + "': " + std::strerror(errno));
  return Status::ok();
}

void AuditLog::record(const std::string& source, const std::string& account, const std::string& event,
                      const std::string& what, const std::string& result) const {
  if (!is_open()) return;
  nlohmann::ordered_json j{{"time", now_utc()},          {"source", bounded(source)}, {"account", bounded(account)},
                           {"event", event},             {"what", bounded(what)},     {"result", bounded(result)}};
  std::string line = j.dump();
  if (syslog_) {
    ::syslog(LOG_NOTICE, "%s", line.c_str());
    return;
  }
  line += "\n";
  // One write per line: O_APPEND keeps lines from processes whole.
  (void)!::write(fd_, line.data(), line.size());
}

}  // namespace vredir::mux
