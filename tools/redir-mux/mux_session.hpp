// The redir-mux session protocol and the server side of one session.
//
// Both directions are ordinary vredir streams; the session itself is CONTROL
// frames on one control channel named "session", id kSessionChannel, in each
// direction. The steps:
//   client: auth {user, password}
//   server: auth-ok {user, view-only}          or END denied
//   server: vm {name, state, devices} ...      the VMs the user's ACL allows
//   server: list-end {count}
//   client: select {vm, streams=1|0}           or END (a --list client)
//   server: progress {stage=booting | waiting for display}   when it was off
//   server: selected {vm, input=1|0}
//   server: the capture's channel declarations and frames (display, cursor,
//           audio), and ack channels for the input the client sends
//   client: keyboard/pointer/text channels and frames (not for view-only)
//   client: resolution {size=WxH} | shutdown | reboot | reset | logoff | disconnect
//   server: result {command, status=ok|failed, code, message}
//   either: END; the server's END carries the reason (the VM shut down, the
//           client disconnected, denied, error).
// A failure the client should report with a specific exit code comes as
// failed {code, message} just before END.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "wire/frame_reader.hpp"
#include "wire/status.hpp"
#include "wire/stream_format.hpp"
#include "stream_recorder.hpp"
#include "net/tls_transport.hpp"
#include "users_file.hpp"

namespace vredir::mux {

inline constexpr uint16_t kSessionChannel = 0xfff0;
// The input tool's ack channels reach the client as kAckChannelBase + id.
inline constexpr uint16_t kAckChannelBase = 0xfff0;
// Most bytes queued for a client that is slow to read; the display source
// is not read while the queue is over this, so it merges damage instead.
inline constexpr size_t kMaxClientQueue = 4u << 20;
inline constexpr size_t kMaxPasswordBytes = 1024;

// One VM as the list shows it.
struct VmEntry {
  std::string name;
  std::string state;
  std::string devices;
};

bool is_control_command(const std::string& verb);  // resolution, shutdown, ...

// The VMs on uri that the account may use, with state and device summary.
Status list_vms(const std::string& uri, const UserAccount& account, std::vector<VmEntry>* out);

struct ServerSessionConfig {
  const UsersFile* users = nullptr;
  std::string uri;            // libvirt URI ("" = default)
  std::string peer;           // client address, for logs and the limiter
  std::chrono::steady_clock::time_point auth_deadline;
  // Seconds left on a login ban of this peer or user (0: none).
  std::function<long(const std::string& user)> banned_for;
  // Reports an attempt: result is ok, fail or banned.
  std::function<void(const std::string& user, const std::string& result)> record_login;
  // Called once the client has authenticated.
  std::function<void()> on_authenticated;
  std::string capture_program = "redir-capture";
  std::string inject_program = "redir-inject";
  // Records both directions of the session into this file ("" = none).
  std::string record_file;
};

// Feeds the bytes of one direction of a session to a recorder, frame by
// frame, with the password of an auth request removed.
class SessionTap {
 public:
  SessionTap(stream::StreamRecorder* recorder, bool upstream) : rec_(recorder), upstream_(upstream) {}
  void feed(std::string_view bytes);
  void frame(const stream::Frame& frame);

 private:
  stream::StreamRecorder* rec_;
  bool upstream_;
  stream::FrameReader reader_;
  bool failed_ = false;
};

// Runs one session over an established transport until it ends. Returns the
// status the session ended with (for the server's log).
Status run_server_session(Transport& transport, const ServerSessionConfig& config);

}  // namespace vredir::mux
