// The listening side of redir-capture --control SOCKET: a unix socket
// (created with mode 0600) whose clients send one request line at a time
// (control_protocol.hpp) and get one JSON line back. The capture loop polls
// fds() next to QEMU's socket, takes complete requests from service() and
// answers them with reply() when they are done; a client's next request is
// read only after the previous one was answered.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "wire/status.hpp"

namespace vredir {

class ControlServer {
 public:
  ~ControlServer();

  // Binds path. A socket file left by a capture that is gone is replaced;
  // one that a live process answers on is refused.
  Status listen(const std::string& path);
  const std::string& path() const { return path_; }

  void fds(std::vector<int>* out) const;
  struct Request {
    int client;
    std::string line;
  };
  // Accepts new clients and reads what they sent; returns the requests that
  // are complete (at most one per client until it is answered). Clients
  // that hung up are reported in *gone.
  void service(std::vector<Request>* requests, std::vector<int>* gone);
  void reply(int client, const nlohmann::ordered_json& answer);
  size_t clients() const { return clients_.size(); }

 private:
  struct Client {
    std::string in;
    bool busy = false;  // a request is being answered
  };
  void drop(int fd);

  std::string path_;
  int listen_fd_ = -1;
  std::map<int, Client> clients_;
};

}  // namespace vredir
