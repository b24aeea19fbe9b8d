#include "control_client.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "sys/signals.hpp"
#include "sys/stdio_files.hpp"
#include "wire/gdi_records.hpp"

namespace vredir {

namespace {

using Clock = std::chrono::steady_clock;

void absolute(std::string* path) {
  if (path->empty() || (*path)[0] == '/') return;
  char buf[4096];
  if (::getcwd(buf, sizeof buf)) *path = std::string(buf) + "/" + *path;
}

Status connect_socket(const std::string& path, double timeout_s, int* out) {
  sockaddr_un sa{};
  if (path.empty() || path.size() >= sizeof sa.sun_path) return fail(kExitUsage, "--via: bad socket path");
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  for (;;) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(kExitFailure, std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
      *out = fd;
      return Status::ok();
    }
    int e = errno;
    ::close(fd);
    if (e != ENOENT && e != ECONNREFUSED)
      return fail(e == EACCES ? kExitDenied : kExitFailure,
                  "cannot connect to the capture's control socket " + path + ": " + std::strerror(e));
    if (interrupted()) return fail(kExitInterrupted, "");
    if (Clock::now() >= deadline)
      return fail(kExitPeerLost, "no capture answers on " + path + " (start one: redir-capture DOMAIN --control " +
                                     path + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

Status run_control_client(const std::string& socket, ControlRequest q, bool json, double connect_timeout_s) {
  absolute(&q.file);
  absolute(&q.wait.snapshot);
  if (q.verb == ControlRequest::Verb::kWait && q.wait.kind == WaitSpec::Kind::kMatch) absolute(&q.wait.needle);
  for (const std::string* s : {&q.file, &q.wait.snapshot, &q.wait.needle, &q.wait.regex})
    if (!gdi::valid_utf8(*s)) return fail(kExitUsage, "--via sends JSON: paths and expressions must be UTF-8");
  int fd = -1;
  if (Status st = connect_socket(socket, connect_timeout_s, &fd); !st) return st;
  std::string line = control_request_json(q) + "\n";
  Status st = write_all(fd, line, socket);
  std::string in;
  while (st && in.find('\n') == std::string::npos) {
    if (interrupted()) {
      st = fail(kExitInterrupted, "");
      break;
    }
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, 200);
    if (rc <= 0) continue;
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      st = fail(kExitPeerLost, "the capture on " + socket + " went away before it answered");
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > (64u << 20)) st = fail(kExitMalformed, "the capture's answer is too long");
  }
  ::close(fd);
  if (!st) return st;
  nlohmann::ordered_json r = nlohmann::ordered_json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (r.is_discarded() || !r.is_object() || !r.contains("status") || !r["status"].is_number_integer())
    return fail(kExitMalformed, "the capture on " + socket + " sent an answer that is not JSON");
  const int status = r["status"].get<int>();
  if (status != 0) {
    std::string err = r.contains("error") && r["error"].is_string() ? r["error"].get<std::string>() : "failed";
    return fail(status, err);
  }
  r.erase("status");
  if (q.verb == ControlRequest::Verb::kText && !json)
    return write_stdout((r.contains("text") && r["text"].is_string() ? r["text"].get<std::string>() : "") + "\n");
  if (json && (q.verb == ControlRequest::Verb::kText || q.verb == ControlRequest::Verb::kWait))
    return write_stdout(r.dump() + "\n");
  if (q.verb == ControlRequest::Verb::kWait && r.contains("x"))
    spdlog::info("found it at {},{}", r["x"].dump(), r["y"].dump());
  return Status::ok();
}

}  // namespace vredir
