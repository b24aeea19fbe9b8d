#include "control_server.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control_protocol.hpp"

namespace vredir {

namespace {

constexpr size_t kMaxClients = 64;

bool fill_address(const std::string& path, sockaddr_un* sa) {
  if (path.empty() || path.size() >= sizeof sa->sun_path) return false;
  std::memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  std::memcpy(sa->sun_path, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace

ControlServer::~ControlServer() {
  for (auto& [fd, c] : clients_) ::close(fd);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
}

Status ControlServer::listen(const std::string& path) {
  sockaddr_un sa;
  if (!fill_address(path, &sa))
    return fail(kExitUsage, "--control: the socket path must have 1 to " + std::to_string(sizeof sa.sun_path - 1) +
                                " characters");
  struct stat sb {};
  if (::lstat(path.c_str(), &sb) == 0) {
    if (!S_ISSOCK(sb.st_mode)) return fail(kExitFailure, "--control: '" + path + "' exists and is not a socket");
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    if (probe >= 0) ::close(probe);
    if (live) return fail(kExitFailure, "--control: '" + path + "' is in use by another capture");
    ::unlink(path.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(kExitFailure, std::string("socket: ") + std::strerror(errno));
  mode_t old = ::umask(0177);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::umask(old);
  if (rc != 0 || ::listen(fd, 16) != 0) {
    int e = errno;
    ::close(fd);
    return fail(kExitFailure, "--control: cannot listen on '" + path + "': " + std::strerror(e));
  }
  listen_fd_ = fd;
  path_ = path;
  return Status::ok();
}

void ControlServer::fds(std::vector<int>* out) const {
  if (listen_fd_ >= 0) out->push_back(listen_fd_);
  for (const auto& [fd, c] : clients_)
    if (!c.busy) out->push_back(fd);
}

void ControlServer::drop(int fd) {
  ::close(fd);
  clients_.erase(fd);
}

void ControlServer::service(std::vector<Request>* requests, std::vector<int>* gone) {
  if (listen_fd_ < 0) return;
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) break;
    if (clients_.size() >= kMaxClients) {
      static const char kBusy[] = "{\"status\":1,\"error\":\"too many control clients\"}\n";
      (void)!::send(fd, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    clients_[fd] = Client{};
    spdlog::debug("control client {} connected", fd);
  }
  std::vector<int> closed;
  for (auto& [fd, c] : clients_) {
    if (!c.busy) {
      char buf[16384];
      for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
          c.in.append(buf, static_cast<size_t>(n));
          if (c.in.size() > kMaxControlLine + 1 && c.in.find('\n') == std::string::npos) {
            static const char kLong[] = "{\"status\":2,\"error\":\"request longer than 64 KiB\"}\n";
            (void)!::send(fd, kLong, sizeof kLong - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            closed.push_back(fd);
            break;
          }
          continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          if (c.in.find('\n') == std::string::npos) closed.push_back(fd);
        }
        break;
      }
    }
    if (!c.busy) {
      size_t nl = c.in.find('\n');
      if (nl != std::string::npos) {
        requests->push_back(Request{fd, c.in.substr(0, nl)});
        c.in.erase(0, nl + 1);
        c.busy = true;
      }
    }
  }
  for (int fd : closed) {
    if (clients_.count(fd) && !clients_[fd].busy) {
      drop(fd);
      gone->push_back(fd);
    }
  }
  // A busy client that hung up: its request is dropped.
  for (auto it = clients_.begin(); it != clients_.end();) {
    pollfd p{it->first, POLLRDHUP, 0};
    if (it->second.busy && ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
      gone->push_back(it->first);
      ::close(it->first);
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
}

void ControlServer::reply(int client, const nlohmann::ordered_json& answer) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  std::string line = answer.dump() + "\n";
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::send(client, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      drop(client);
      return;
    }
    off += static_cast<size_t>(n);
  }
  it->second.busy = false;
}

}  // namespace vredir
