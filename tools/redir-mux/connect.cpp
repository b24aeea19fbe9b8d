// redir-mux connect: the client side of a session. It checks the server's
// identity (CA, pinned fingerprint, or known hosts), logs in, then lists VMs,
// sends one control command, or opens a VM and relays the streams: the
// server's stream to stdout (or COMMAND's stdin), and the input stream from
// stdin (or COMMAND's stdout) up to the server.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <nlohmann/json.hpp>

#include "sys/log_text.hpp"
#include "sys/cli.hpp"
#include "mux_session.hpp"
#include "sys/password_prompt.hpp"
#include "sys/stdio_files.hpp"
#include "wire/stream_decoder.hpp"
#include "wire/stream_writer.hpp"
#include "subcommands.hpp"
#include "net/tls_transport.hpp"
#include "usb_client.hpp"

using namespace vredir;
using namespace vredir::stream;
using Clock = std::chrono::steady_clock;

namespace redir_mux {

namespace {

struct ConnectOptions {
  std::string url, user, password_file, ca, fingerprint, known_hosts, vm, control, record, source, cert, key;
  std::vector<std::string> command, usb, apps;
  bool list = false, list_apps = false, json = false, insecure = false, console = false;
  int seat = -1;  // --seat N: head N and a keyboard and tablet of this terminal's own
  double timeout_s = 30;
  // Detach and reattach (apps): keep them running at the end, for how long;
  // resume detached apps (attach_name: the one with that app, or any).
  bool detach_on_exit = false, attach = false;
  double linger_s = static_cast<double>(mux::kDefaultLinger.count());
  std::string attach_name;
};

int end_code(EndReason r) {
  switch (r) {
    case EndReason::kNormal:
    case EndReason::kSourceGone:
      return kExitOk;
    case EndReason::kDenied:
      return kExitDenied;
    case EndReason::kInterrupted:
      return kExitPeerLost;
    default:
      return kExitFailure;
  }
}

// The apps an account may launch: a table, or one JSON object per app.
std::string app_table(const std::vector<std::pair<std::string, std::string>>& apps, bool json) {
  std::string out;
  size_t w = 4;
  for (const auto& [name, description] : apps) w = std::max(w, name.size());
  if (!json) out = "APP" + std::string(w - 3 + 2, ' ') + "DESCRIPTION\n";
  for (const auto& [name, description] : apps)
    out += json ? nlohmann::ordered_json{{"app", name}, {"description", description}}.dump() + "\n"
                : name + std::string(w - name.size() + 2, ' ') + description + "\n";
  return out;
}

// The account's running app sessions (--list-apps): a table, or one JSON
// object per session.
std::string instance_table(const std::vector<mux::AppInstance>& instances, bool json) {
  std::string out;
  if (instances.empty()) return out;
  if (!json) out = "\nSESSION   STATE     APPS\n";
  for (const mux::AppInstance& i : instances) {
    if (json) {
      nlohmann::ordered_json j{{"session", i.id}, {"state", i.state}, {"apps", mux::split_commas(i.apps)}};
      if (i.state == "detached") j["linger_s"] = i.linger_s;
      out += j.dump() + "\n";
    } else {
      std::string id = i.id + std::string(i.id.size() < 10 ? 10 - i.id.size() : 1, ' ');
      std::string state = i.state + std::string(i.state.size() < 10 ? 10 - i.state.size() : 1, ' ');
      out += id + state + i.apps +
             (i.state == "detached" ? " (closed in " + std::to_string(i.linger_s) + " s unless attached)" : "") + "\n";
    }
  }
  return out;
}

class Client {
 public:
  explicit Client(const ConnectOptions& o)
      : o_(o), up_([this](std::string_view b) {
          upq_.append(b);
          up_tap_.feed(b);
          return Status::ok();
        }) {}
  Status run();

 private:
  Status open();
  Status send(const std::string& verb, const Params& args = {});
  Status flush_up(Clock::time_point deadline);
  // Next control frame on the session channel; an END becomes the Status
  // the client exits with.
  Status next_control(Control* c, Clock::time_point deadline);
  Status ended_status();
  Status stream(int out_fd, int in_fd, pid_t child);
  Status console(bool input);
  Status launch(Clock::time_point deadline);
  Status spawn_command(int* out_fd, int* in_fd, pid_t* pid);

  const ConnectOptions& o_;
  Transport t_;
  StreamRecorder rec_;
  mux::SessionTap up_tap_{&rec_, true}, down_tap_{&rec_, false};
  StreamWriter up_;
  std::string upq_;
  FrameReader down_;
  std::string raw_;  // every byte received, until streaming starts
  bool ended_ = false;
  End end_;
  int failed_code_ = 0;
  std::string failed_message_;
  mux::UsbShares usb_;
};

Status Client::open() {
  Endpoint ep;
  std::string err;
  if (!parse_endpoint(o_.url, &ep, &err)) return fail(kExitUsage, err);
  if (ep.scheme == Endpoint::Scheme::kTcp && !is_loopback_host(ep.host) && !o_.insecure)
    return fail(kExitUsage, "refusing plain tcp:// to non-loopback '" + ep.host + "' (use tls://, or --insecure)");
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(o_.timeout_s * 1000));
  int fd = -1;
  if (Status st = connect_endpoint(ep, o_.timeout_s, &fd, o_.source); !st) return st;
  t_.adopt(fd);
  if (!ep.plain()) {
    SslCtxHandle ctx;
    if (Status st = make_client_tls(o_.ca, &ctx); !st) return st;
    if (!o_.cert.empty())
      if (Status st = use_client_certificate(ctx.get(), o_.cert, o_.key); !st) return st;
    if (Status st = t_.connect_tls(ctx.get(), o_.ca.empty() ? "" : ep.host, deadline); !st) return st;
    std::string fp = t_.peer_fingerprint();
    if (!o_.fingerprint.empty()) {
      std::string want = normalize_fingerprint(o_.fingerprint);
      if (fp != want)
        return fail(kExitDenied, "server certificate fingerprint mismatch for " + ep.host_port() + ": got " +
                                     format_fingerprint(fp) + ", pinned " + format_fingerprint(want) +
                                     "; refusing to connect");
    } else if (o_.ca.empty()) {
      std::string file = o_.known_hosts.empty() ? default_known_hosts_file() : o_.known_hosts;
      bool added = false;
      if (Status st = check_known_host(file, ep.host_port(), fp, &added); !st) return st;
      if (added)
        spdlog::warn("first connection to {}: trusting its certificate {} (saved in {})", ep.host_port(),
                     format_fingerprint(fp), file);
    }
  }
  (void)up_.begin("redir-mux connect", {{"protocol", "session/1"}});
  (void)up_.declare(mux::kSessionChannel, ChannelKind::kControl, "session");
  return Status::ok();
}

Status Client::send(const std::string& verb, const Params& args) {
  (void)up_.control(mux::kSessionChannel, Control{verb, args});
  return flush_up(Clock::now() + std::chrono::milliseconds(static_cast<long>(o_.timeout_s * 1000)));
}

Status Client::flush_up(Clock::time_point deadline) {
  Status st = t_.write_all_until(upq_, deadline);
  upq_.clear();
  return st;
}

Status Client::ended_status() {
  if (failed_code_ != 0) return fail(failed_code_, failed_message_);
  int code = end_code(end_.reason);
  if (code == kExitOk) {
    if (!end_.message.empty()) spdlog::info("session ended: {}", end_.message);
    return Status::ok();
  }
  return fail(code, end_.message.empty() ? std::string("session ended: ") + end_reason_name(end_.reason)
                                         : end_.message);
}

Status Client::next_control(Control* c, Clock::time_point deadline) {
  uint8_t buf[65536];
  for (;;) {
    Frame f;
    std::string err;
    FrameReader::Result r = down_.next(&f, &err);
    if (r == FrameReader::Result::kError) return fail(kExitMalformed, "malformed stream from server: " + err);
    if (r == FrameReader::Result::kFrame) {
      auto type = static_cast<FrameType>(f.header.type);
      if (f.header.channel == 0 && type == FrameType::kEnd) {
        ended_ = true;
        if (!decode_end(f.payload, &end_, &err)) return fail(kExitMalformed, "bad END from server: " + err);
        return ended_status();
      }
      if (f.header.channel == mux::kSessionChannel && type == FrameType::kControl) {
        *c = Control{};
        if (!decode_control(f.payload, c, &err)) return fail(kExitMalformed, "bad control frame: " + err);
        if (c->verb == "failed") {
          uint32_t code = 1;
          param_u32(c->args, "code", &code);
          failed_code_ = code == 0 ? 1 : static_cast<int>(code);
          failed_message_ = c->args.count("message") ? c->args.at("message") : "failed";
          continue;
        }
        return Status::ok();
      }
      continue;
    }
    size_t got = 0;
    if (Status st = t_.read_until(buf, sizeof buf, &got, deadline); !st)
      return st.code() == kExitTimeout ? fail(kExitTimeout, "the server did not answer in time") : st;
    if (got == 0) return fail(kExitPeerLost, "the server closed the connection");
    raw_.append(reinterpret_cast<const char*>(buf), got);
    down_tap_.feed(std::string_view(reinterpret_cast<const char*>(buf), got));
    down_.feed(buf, got);
  }
}

Status Client::spawn_command(int* out_fd, int* in_fd, pid_t* pid) {
  int to[2], from[2];
  if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0)
    return fail(kExitFailure, std::string("pipe: ") + std::strerror(errno));
  *pid = ::fork();
  if (*pid < 0) return fail(kExitFailure, std::string("fork: ") + std::strerror(errno));
  if (*pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(to[0], 0);
    ::dup2(from[1], 1);
    std::vector<char*> argv;
    for (const std::string& a : o_.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "redir-mux: cannot run '%s': %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(to[0]);
  ::close(from[1]);
  *out_fd = to[1];
  *in_fd = from[0];
  return Status::ok();
}

// Relays until the server ends the session, the output's reader goes, or
// the input ends (which disconnects).
Status Client::stream(int out_fd, int in_fd, pid_t child) {
  int out_flags = ::fcntl(out_fd, F_GETFL), in_flags = ::fcntl(in_fd, F_GETFL);
  ::fcntl(out_fd, F_SETFL, out_flags | O_NONBLOCK);
  ::fcntl(in_fd, F_SETFL, in_flags | O_NONBLOCK);
  std::string outq = std::move(raw_);
  raw_.clear();
  StreamDecoder in_dec;
  // A terminal on stdin is not an input stream: no input then.
  bool in_open = child > 0 || !::isatty(in_fd), in_any = false, out_open = true, disconnecting = false;
  Status result;
  uint8_t buf[65536];
  auto disconnect = [&](EndReason why) {
    if (disconnecting) return;
    disconnecting = true;
    (void)up_.end(why);
  };
  auto deadline_after_disconnect = Clock::time_point::max();
  while (!ended_) {
    if (interrupted()) {
      disconnect(EndReason::kInterrupted);
      result = fail(kExitInterrupted, "interrupted");
    }
    if (disconnecting && deadline_after_disconnect == Clock::time_point::max())
      deadline_after_disconnect = Clock::now() + std::chrono::seconds(5);
    if (Clock::now() > deadline_after_disconnect) break;
    if (!out_open) outq.clear();
    std::vector<pollfd> fds;
    // What waits for the client's own outputs (the viewer, its USB devices)
    // bounds what is read from the server.
    const bool down_room = outq.size() < mux::kMaxClientQueue && usb_.backlog() < mux::kMaxUsbQueue;
    short tev = static_cast<short>((down_room ? POLLIN : 0) |
                                   ((!upq_.empty() || t_.wants_write()) ? POLLOUT : 0));
    fds.push_back({t_.fd(), tev, 0});
    int oi = -1, ii = -1;
    if (out_open && !outq.empty()) oi = static_cast<int>(fds.size()), fds.push_back({out_fd, POLLOUT, 0});
    if (in_open && !disconnecting && upq_.size() < mux::kMaxClientQueue)
      ii = static_cast<int>(fds.size()), fds.push_back({in_fd, POLLIN, 0});
    const bool usb_room = !disconnecting && upq_.size() < mux::kMaxClientQueue;
    usb_.poll_fds(usb_room, &fds);
    if (::poll(fds.data(), static_cast<nfds_t>(fds.size()), down_room && t_.pending() ? 0 : 200) < 0 &&
        errno != EINTR)
      break;
    // Server -> output, when poll saw something or the TLS layer holds bytes.
    const bool server_ready = fds[0].revents != 0 || t_.pending();
    for (int i = 0; server_ready && i < 16 && outq.size() < mux::kMaxClientQueue && usb_.backlog() < mux::kMaxUsbQueue;
         ++i) {
      size_t got = 0;
      Transport::Io io = t_.read_some(buf, sizeof buf, &got);
      if (io == Transport::Io::kWouldBlock) break;
      if (io != Transport::Io::kOk) {
        if (!ended_) result = fail(kExitPeerLost, "the server closed the connection without ending the session");
        ended_ = true;
        break;
      }
      outq.append(reinterpret_cast<const char*>(buf), got);
      down_tap_.feed(std::string_view(reinterpret_cast<const char*>(buf), got));
      down_.feed(buf, got);
      Frame f;
      std::string err;
      FrameReader::Result r;
      while ((r = down_.next(&f, &err)) == FrameReader::Result::kFrame) {
        auto type = static_cast<FrameType>(f.header.type);
        usb_.from_server(f);
        if (f.header.channel == 0 && type == FrameType::kEnd) {
          ended_ = true;
          (void)decode_end(f.payload, &end_, &err);
        } else if (f.header.channel == mux::kSessionChannel && type == FrameType::kControl) {
          Control c;
          if (decode_control(f.payload, &c, &err)) {
            if (c.verb == "failed") {
              uint32_t code = 1;
              param_u32(c.args, "code", &code);
              failed_code_ = static_cast<int>(code);
              failed_message_ = c.args.count("message") ? c.args.at("message") : "failed";
            } else if (c.verb == "result" && c.args.count("status") && c.args.at("status") != "ok") {
              spdlog::warn("{}: {}", c.args.count("command") ? c.args.at("command") : "command",
                           c.args.count("message") ? c.args.at("message") : "failed");
            }
          }
        }
      }
      if (r == FrameReader::Result::kError) {
        result = fail(kExitMalformed, "malformed stream from server: " + err);
        ended_ = true;
      }
      if (got < sizeof buf && !t_.pending()) break;  // drained: poll says when more comes
    }
    // Output, once poll says it takes bytes (queued before this poll).
    if (out_open && !outq.empty() && oi >= 0 && (fds[oi].revents & (POLLOUT | POLLERR | POLLHUP))) {
      // Write what the pipe takes now, then drop it from the queue once.
      size_t sent = 0;
      ssize_t w = 0;
      while (sent < outq.size() && (w = ::write(out_fd, outq.data() + sent, outq.size() - sent)) > 0)
        sent += static_cast<size_t>(w);
      outq.erase(0, sent);
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        out_open = false;  // the reader is done: leave the session
        disconnect(EndReason::kNormal);
      }
    }
    // Input -> server.
    if (ii >= 0 && (fds[ii].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(in_fd, buf, sizeof buf);
      if (r > 0) {
        in_any = true;
        in_dec.feed(buf, static_cast<size_t>(r));
        Event ev;
        std::string err;
        StreamDecoder::Result dr;
        while ((dr = in_dec.next(&ev, &err)) == StreamDecoder::Result::kEvent) {
          if (ev.what != Event::What::kFrame) continue;
          const Frame& f = ev.frame;
          std::string_view payload(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
          if (ev.type() == FrameType::kHello) continue;
          if (ev.type() == FrameType::kEnd) {
            disconnect(EndReason::kNormal);
            break;
          }
          if (ev.type() == FrameType::kDeclare) {
            const Declare& d = std::get<Declare>(ev.payload);
            if (d.id >= mux::kUsbChannelBase) continue;  // ids the session reserves
            (void)up_.declare_raw(d);
            continue;
          }
          if (f.header.channel >= mux::kUsbChannelBase) continue;
          (void)up_.frame(f.header.channel, ev.type(), payload, f.header.flags);
        }
        if (dr == StreamDecoder::Result::kError) {
          spdlog::warn("input stream: {}; disconnecting", err);
          disconnect(EndReason::kError);
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        in_open = false;
        // An empty input means "no input"; a stream that stops means leave.
        if (in_any) disconnect(EndReason::kNormal);
      }
    }
    if (!usb_.empty()) {
      Status usb_failed;
      usb_.pump(usb_room, &up_, &usb_failed, &fds);
      if (!usb_failed && result) {
        result = usb_failed;
        disconnect(EndReason::kError);
      }
    }
    if (!upq_.empty()) {
      size_t w = 0;
      Transport::Io io = t_.write_some(reinterpret_cast<const uint8_t*>(upq_.data()), upq_.size(), &w);
      if (io == Transport::Io::kOk) upq_.erase(0, w);
      else if (io != Transport::Io::kWouldBlock) {
        if (!ended_ && !disconnecting) result = fail(kExitPeerLost, "connection to the server lost");
        break;
      }
    }
  }
  usb_.stop();
  // Hand over what is left for the output, then let COMMAND finish.
  ::fcntl(out_fd, F_SETFL, out_flags);
  if (out_open && !outq.empty()) (void)write_all(out_fd, outq, "output");
  ::fcntl(in_fd, F_SETFL, in_flags);
  if (child > 0) {
    ::close(out_fd);
    ::close(in_fd);
    int status = 0;
    ::waitpid(child, &status, 0);
  }
  if (!result) return result;
  if (ended_ && !disconnecting) return ended_status();
  return Status::ok();
}

// Restores the terminal's settings when it goes out of scope.
class RawTerminal {
 public:
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &old_) != 0) return;
    termios raw = old_;
    ::cfmakeraw(&raw);  // the guest's bytes as they are, keys as typed
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &old_);
  }

 private:
  int fd_;
  termios old_{};
  bool active_ = false;
};

// connect --console: the VM's serial console on this terminal (raw), like
// `virsh console`, until Ctrl-] (0x1d), the end of standard input, or the
// session's end. Only the console's bytes are written to standard output.
Status Client::console(bool input) {
  constexpr char kEscape = 0x1d;
  if (input) (void)up_.declare(mux::kConsoleChannel, ChannelKind::kBytes, "console", {{"purpose", "serial"}});
  else spdlog::warn("{}: the console is read-only (view-only account)", o_.vm);
  if (::isatty(0)) spdlog::info("connected to the console of {} (escape character is ^])", o_.vm);
  RawTerminal raw(0);
  int in_flags = ::fcntl(0, F_GETFL);
  ::fcntl(0, F_SETFL, in_flags | O_NONBLOCK);
  std::set<uint16_t> serial_ids;
  std::string outq = std::move(raw_);
  raw_.clear();
  FrameReader frames;
  frames.feed(reinterpret_cast<const uint8_t*>(outq.data()), outq.size());
  outq.clear();
  bool in_open = true, leaving = false;
  Status result;
  uint8_t buf[65536];
  auto leave = [&] {
    if (leaving) return;
    leaving = true;
    (void)up_.end(EndReason::kNormal);
  };
  auto drain = [&] {
    Frame f;
    std::string err;
    FrameReader::Result r;
    while ((r = frames.next(&f, &err)) == FrameReader::Result::kFrame) {
      auto type = static_cast<FrameType>(f.header.type);
      if (f.header.channel == 0 && type == FrameType::kDeclare) {
        Declare d;
        if (decode_declare(f.payload, &d, &err) && d.kind == static_cast<uint8_t>(ChannelKind::kBytes) &&
            d.params.count("purpose") && d.params.at("purpose") == "serial")
          serial_ids.insert(d.id);
      } else if (f.header.channel == 0 && type == FrameType::kEnd) {
        ended_ = true;
        (void)decode_end(f.payload, &end_, &err);
      } else if (f.header.channel == mux::kSessionChannel && type == FrameType::kControl) {
        Control c;
        if (decode_control(f.payload, &c, &err) && c.verb == "failed") {
          uint32_t code = 1;
          param_u32(c.args, "code", &code);
          failed_code_ = static_cast<int>(code);
          failed_message_ = c.args.count("message") ? c.args.at("message") : "failed";
        }
      } else if (type == FrameType::kData && serial_ids.count(f.header.channel)) {
        outq.append(reinterpret_cast<const char*>(f.payload.data()), f.payload.size());
      } else if (type == FrameType::kClose && serial_ids.count(f.header.channel)) {
        spdlog::warn("{}: the console was taken over by another client", o_.vm);
        serial_ids.erase(f.header.channel);
      }
    }
    if (r == FrameReader::Result::kError) {
      result = fail(kExitMalformed, "malformed stream from server: " + err);
      ended_ = true;
    }
  };
  drain();
  auto deadline_after_leave = Clock::time_point::max();
  while (!ended_) {
    if (interrupted()) {
      leave();
      result = fail(kExitInterrupted, "interrupted");
    }
    if (leaving && deadline_after_leave == Clock::time_point::max())
      deadline_after_leave = Clock::now() + std::chrono::seconds(5);
    if (Clock::now() > deadline_after_leave) break;
    std::vector<pollfd> fds;
    const bool down_room = usb_.backlog() < mux::kMaxUsbQueue;
    fds.push_back({t_.fd(),
                   static_cast<short>((down_room ? POLLIN : 0) | ((!upq_.empty() || t_.wants_write()) ? POLLOUT : 0)),
                   0});
    int ii = -1;
    if (in_open && !leaving && upq_.size() < mux::kMaxClientQueue) ii = 1, fds.push_back({0, POLLIN, 0});
    const bool usb_room = !leaving && upq_.size() < mux::kMaxClientQueue;
    usb_.poll_fds(usb_room, &fds);
    if (::poll(fds.data(), static_cast<nfds_t>(fds.size()), down_room && t_.pending() ? 0 : 200) < 0 &&
        errno != EINTR)
      break;
    for (int i = 0; i < 16 && usb_.backlog() < mux::kMaxUsbQueue; ++i) {
      size_t got = 0;
      Transport::Io io = t_.read_some(buf, sizeof buf, &got);
      if (io == Transport::Io::kWouldBlock) break;
      if (io != Transport::Io::kOk) {
        if (!ended_ && !leaving) result = fail(kExitPeerLost, "the server closed the connection without ending the session");
        ended_ = true;
        break;
      }
      down_tap_.feed(std::string_view(reinterpret_cast<const char*>(buf), got));
      frames.feed(buf, got);
      drain();
    }
    if (!outq.empty()) {
      (void)write_all(1, outq, "output");
      outq.clear();
    }
    if (ii >= 0 && (fds[ii].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(0, buf, sizeof buf);
      if (r > 0) {
        std::string_view typed(reinterpret_cast<const char*>(buf), static_cast<size_t>(r));
        size_t esc = typed.find(kEscape);
        std::string_view keep = typed.substr(0, esc);
        if (input && !keep.empty()) (void)up_.frame(mux::kConsoleChannel, FrameType::kData, keep);
        if (esc != std::string_view::npos) leave();
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        in_open = false;
        leave();
      }
    }
    if (!usb_.empty()) {
      Status usb_failed;
      usb_.pump(usb_room, &up_, &usb_failed, &fds);
      if (!usb_failed && result) {
        result = usb_failed;
        leave();
      }
    }
    if (!upq_.empty() || t_.wants_write()) {
      size_t w = 0;
      Transport::Io io = t_.write_some(reinterpret_cast<const uint8_t*>(upq_.data()), upq_.size(), &w);
      if (io == Transport::Io::kOk) upq_.erase(0, w);
      else if (io != Transport::Io::kWouldBlock) {
        if (!ended_ && !leaving) result = fail(kExitPeerLost, "connection to the server lost");
        break;
      }
    }
  }
  usb_.stop();
  ::fcntl(0, F_SETFL, in_flags);
  if (!result) return result;
  if (ended_ && !leaving) return ended_status();
  return Status::ok();
}

Status Client::run() {
  // A client certificate is the credential; else a password.
  std::string password;
  if (o_.cert.empty())
    if (Status st = read_password(o_.password_file, "Password for " + o_.user + ": ", false, &password); !st)
      return st;
  if (!o_.record.empty())
    if (Status st = rec_.open(o_.record); !st) return st;
  if (Status st = open(); !st) return st;
  auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(o_.timeout_s * 1000));
  Params auth{{"user", o_.user}};
  if (o_.cert.empty()) auth["password"] = password;
  else auth["method"] = "cert";
  Status sent = send("auth", auth);
  password.assign(password.size(), '\0');
  if (auto it = auth.find("password"); it != auth.end()) it->second.assign(it->second.size(), '\0');
  if (!sent) return sent;
  Control c;
  if (Status st = next_control(&c, deadline); !st) return st;
  if (c.verb != "auth-ok") return fail(kExitMalformed, "unexpected '" + c.verb + "' from server instead of auth-ok");
  std::vector<mux::VmEntry> vms;
  std::vector<std::pair<std::string, std::string>> apps;  // name, description
  std::vector<mux::AppInstance> instances;
  for (;;) {
    if (Status st = next_control(&c, deadline); !st) return st;
    if (c.verb == "list-end") break;
    if (c.verb == "vm") vms.push_back({c.args["name"], c.args["state"], c.args["devices"], c.args["channels"]});
    if (c.verb == "app") apps.emplace_back(c.args["name"], c.args["description"]);
    if (c.verb == "instance" && instances.size() < 1024) {
      mux::AppInstance i{c.args["id"].substr(0, 16), c.args["state"] == "detached" ? "detached" : "attached",
                         c.args["apps"].substr(0, 4096), 0};
      uint32_t linger = 0;
      (void)param_u32(c.args, "linger", &linger);
      i.linger_s = linger;
      instances.push_back(std::move(i));
    }
  }
  if (o_.list_apps && !o_.list) {
    (void)up_.end();
    (void)flush_up(deadline);
    return write_stdout(app_table(apps, o_.json) + instance_table(instances, o_.json));
  }
  if (!o_.apps.empty() || o_.attach) return launch(deadline);
  if (o_.list) {
    std::string out;
    size_t w = 4, cw = 8;
    for (const auto& v : vms) w = std::max(w, v.name.size()), cw = std::max(cw, v.channels.size());
    if (!o_.json)
      out = "NAME" + std::string(w - 4 + 2, ' ') + "STATE     CHANNELS" + std::string(cw - 8 + 2, ' ') + "DEVICES\n";
    for (const auto& v : vms) {
      if (o_.json) {
        // The channels a session opens, as vm-list --json has them.
        nlohmann::ordered_json channels = mux::split_commas(v.channels);
        out += nlohmann::ordered_json{{"name", v.name}, {"state", v.state}, {"channels", channels},
                                      {"devices", v.devices}}.dump() + "\n";
      } else {
        out += v.name + std::string(w - v.name.size() + 2, ' ') + v.state +
               std::string(v.state.size() < 10 ? 10 - v.state.size() : 1, ' ') + v.channels +
               std::string(cw - v.channels.size() + 2, ' ') + v.devices + "\n";
      }
    }
    if (o_.list_apps) out += (o_.json ? "" : "\n") + app_table(apps, o_.json) + instance_table(instances, o_.json);
    (void)up_.end();
    (void)flush_up(deadline);
    return write_stdout(out);
  }
  bool control_only = !o_.control.empty();
  Params select{{"vm", o_.vm}, {"streams", control_only ? "0" : "1"}};
  if (o_.console) select["console"] = "1", select["display"] = "0";  // the terminal shows the console alone
  if (o_.seat >= 0) select["seat"] = std::to_string(o_.seat);
  if (Status st = send("select", select); !st) return st;
  for (;;) {
    // Booting a VM can take a while: the deadline starts again at each step.
    if (Status st = next_control(&c, Clock::now() + std::chrono::seconds(120)); !st) return st;
    if (c.verb == "progress") spdlog::info("{}: {}", o_.vm, c.args["stage"]);
    if (c.verb == "selected") break;
  }
  if (control_only) {
    std::string verb = o_.control, arg;
    if (size_t eq = verb.find('='); eq != std::string::npos) arg = verb.substr(eq + 1), verb = verb.substr(0, eq);
    Params args;
    if (verb == "resolution") args["size"] = arg;
    if (Status st = send(verb, args); !st) return st;
    if (verb == "disconnect") return next_control(&c, Clock::now() + std::chrono::seconds(30));
    for (;;) {
      if (Status st = next_control(&c, Clock::now() + std::chrono::seconds(120)); !st) return st;
      if (c.verb == "result") break;
    }
    if (c.args["status"] != "ok") {
      uint32_t code = 1;
      param_u32(c.args, "code", &code);
      return fail(code == 0 ? 1 : static_cast<int>(code), verb + " failed: " + c.args["message"]);
    }
    if (verb == "shutdown") {
      // The session ends when the VM reaches shutoff, with the reason.
      Status st = next_control(&c, Clock::now() + std::chrono::seconds(300));
      if (!ended_) return st ? fail(kExitMalformed, "unexpected '" + c.verb + "' while waiting for shutdown") : st;
      return st;
    }
    (void)up_.end();
    (void)flush_up(deadline);
    return Status::ok();
  }
  spdlog::debug("{}: streaming (input {})", o_.vm, c.args["input"] == "1" ? "on" : "off (view-only)");
  if (o_.seat >= 0 && c.args["input"] == "1") {
    if (c.args["seat"] != std::to_string(o_.seat))
      spdlog::warn("{}: seat {}: head {}, but keys go to the VM's shared keyboard: {}", o_.vm, o_.seat, o_.seat,
                   log_quote(c.args["seat_why"], 300));
    else if (c.args["seat_tablet"] == "0")
      spdlog::warn("{}: seat {}: head {} and a keyboard of this terminal's own; no tablet (the VM has no second "
                   "free slot), so pointer input is skipped", o_.vm, o_.seat, o_.seat);
    else
      spdlog::info("{}: seat {}: head {} and a keyboard and tablet of this terminal's own", o_.vm, o_.seat,
                   o_.seat);
  }
  if (Status st = usb_.start(o_.usb, &up_); !st) return st;
  if (o_.console) return console(c.args["input"] == "1");
  int out_fd = 1, in_fd = 0;
  pid_t child = -1;
  if (!o_.command.empty())
    if (Status st = spawn_command(&out_fd, &in_fd, &child); !st) return st;
  return stream(out_fd, in_fd, child);
}

// connect --app: launches the apps and relays their drawing to COMMAND (or
// stdout), and their input back.
Status Client::launch(Clock::time_point deadline) {
  std::string names;
  for (const std::string& a : o_.apps) names += (names.empty() ? "" : ",") + a;
  Params args{{"detach", o_.detach_on_exit ? "1" : "0"}, {"linger", std::to_string(static_cast<long>(o_.linger_s))}};
  if (o_.attach) args["app"] = o_.attach_name, names = o_.attach_name.empty() ? "detached apps" : o_.attach_name;
  else args["apps"] = names;
  if (Status st = send(o_.attach ? "attach" : "launch", args); !st) return st;
  Control c;
  for (;;) {
    // A first launch creates the account's Wine prefix: each step restarts the clock.
    if (Status st = next_control(&c, std::max(deadline, Clock::now() + std::chrono::seconds(180))); !st) return st;
    if (c.verb == "progress") spdlog::info("{}: {}", names, c.args["stage"]);
    if (c.verb == "launched") break;
  }
  spdlog::debug("{}: streaming (input {})", names, c.args["input"] == "1" ? "on" : "off (view-only)");
  int out_fd = 1, in_fd = 0;
  pid_t child = -1;
  if (!o_.command.empty())
    if (Status st = spawn_command(&out_fd, &in_fd, &child); !st) return st;
  return stream(out_fd, in_fd, child);
}

Status connect(const ConnectOptions& o) {
  if (!o.apps.empty() && (o.list || o.list_apps || !o.vm.empty()))
    return fail(kExitUsage, "--app cannot be combined with --vm, --list or --list-apps");
  if (o.attach && (!o.apps.empty() || o.list || o.list_apps || !o.vm.empty()))
    return fail(kExitUsage, "--attach cannot be combined with --app, --vm, --list or --list-apps");
  if (o.attach && !o.attach_name.empty() && !apps::valid_app_name(o.attach_name))
    return fail(kExitUsage, "--attach: bad app name '" + o.attach_name + "' (letters, digits, '-', '_', '.')");
  if ((o.detach_on_exit || o.linger_s != static_cast<double>(mux::kDefaultLinger.count())) && o.apps.empty() && !o.attach)
    return fail(kExitUsage, "--detach-on-exit and --linger need --app NAME or --attach");
  if (o.apps.size() > mux::kMaxAppsPerLaunch)
    return fail(kExitUsage, "at most " + std::to_string(mux::kMaxAppsPerLaunch) + " --app per connection");
  for (const std::string& a : o.apps)
    if (!apps::valid_app_name(a)) return fail(kExitUsage, "--app: bad app name '" + a + "' (letters, digits, '-', '_', '.')");
  if (!o.apps.empty() || o.list_apps || o.attach) {
    if (o.json && !o.list_apps) return fail(kExitUsage, "--json only applies to --list and --list-apps");
    if (!o.control.empty() || o.console || !o.usb.empty())
      return fail(kExitUsage, "--control, --console and --usb are for VMs (--vm NAME)");
    install_interrupt_handlers();
    Client c(o);
    return c.run();
  }
  if (o.list == !o.vm.empty()) return fail(kExitUsage, "give one of --list, --list-apps, --vm NAME or --app NAME");
  if (o.json && !o.list) return fail(kExitUsage, "--json only applies to --list");
  if (!o.control.empty() && o.vm.empty()) return fail(kExitUsage, "--control needs --vm NAME");
  if (!o.control.empty() && !o.command.empty()) return fail(kExitUsage, "--control and a COMMAND cannot be combined");
  if (!o.command.empty() && o.vm.empty()) return fail(kExitUsage, "a COMMAND needs --vm NAME or --app NAME");
  if (o.seat >= 0 && (o.vm.empty() || !o.control.empty() || o.console))
    return fail(kExitUsage, "--seat needs --vm NAME (and neither --control nor --console)");
  if (o.console && (o.vm.empty() || !o.control.empty() || !o.command.empty()))
    return fail(kExitUsage, "--console needs --vm NAME (and neither --control nor a COMMAND)");
  if (!o.usb.empty() && (o.vm.empty() || !o.control.empty()))
    return fail(kExitUsage, "--usb needs --vm NAME (and no --control)");
  if (o.usb.size() > mux::kMaxUsbChannels)
    return fail(kExitUsage, "at most " + std::to_string(mux::kMaxUsbChannels) + " --usb devices per session");
  if (!o.control.empty()) {
    std::string verb = o.control.substr(0, o.control.find('='));
    if (!mux::is_control_command(verb))
      return fail(kExitUsage, "unknown --control '" + verb +
                                  "' (resolution=WxH, shutdown, reboot, reset, logoff, disconnect)");
  }
  if (!o.fingerprint.empty() && normalize_fingerprint(o.fingerprint).empty())
    return fail(kExitUsage, "--fingerprint needs a SHA-256 fingerprint (64 hex digits, colons allowed)");
  if (!o.fingerprint.empty() && !o.ca.empty()) return fail(kExitUsage, "give --ca or --fingerprint, not both");
  if (o.cert.empty() != o.key.empty()) return fail(kExitUsage, "--cert and --key go together");
  if (!o.cert.empty() && !o.password_file.empty())
    return fail(kExitUsage, "give --cert/--key or --password-file, not both");
  install_interrupt_handlers();
  Client c(o);
  return c.run();
}

}  // namespace

Runner add_connect(CLI::App& app) {
  auto o = std::make_shared<ConnectOptions>();
  CLI::App* sub = app.add_subcommand("connect", "Log in to a redir-mux server: list VMs, control one, or open it");
  sub->add_option("URL", o->url, "The server: tls://HOST:PORT (tcp://HOST:PORT or unix:PATH on this machine)")
      ->required();
  sub->add_option("COMMAND", o->command,
                  "After --: run COMMAND with the VM's (or the apps') stream on stdin, its stdout sent up");
  sub->add_option("--user", o->user, "The account to log in as")->required();
  sub->add_option("--password-file", o->password_file,
                  "Read the password from FILE (else $VREDIR_PASSWORD, else a prompt on the terminal)");
  sub->add_option("--ca", o->ca, "Verify the server certificate against this CA file (PEM), host name included");
  sub->add_option("--fingerprint", o->fingerprint,
                  "Accept only the server certificate with this SHA-256 fingerprint (AB:CD:... or hex)");
  sub->add_option("--known-hosts", o->known_hosts,
                  "Known-hosts file for trust on first use (default ~/.config/vredir/known_hosts)");
  sub->add_flag("--list", o->list, "Print the VMs this user may open");
  sub->add_flag("--json", o->json, "--list, --list-apps: one JSON object per VM or app");
  sub->add_flag("--list-apps", o->list_apps, "Print the Windows apps this user may launch (with --list: VMs too)");
  sub->add_option("--app", o->apps,
                  "Launch this Windows app (repeatable) and relay its windows to COMMAND (typically x-replay) or "
                  "stdout")
      ->allow_extra_args(false);
  sub->add_flag("--detach-on-exit", o->detach_on_exit,
                "With --app or --attach: when this client ends, leave the apps running (detached) for --linger "
                "seconds; a lost connection does that anyway");
  sub->add_option("--linger", o->linger_s,
                  "How long detached apps wait for --attach before they are closed (default 600 s, 0: at once; "
                  "the server caps it with --max-linger)")
      ->check(vredir::kNonNegative);
  CLI::Option* attach = sub->add_option("--attach", o->attach_name,
                                        "Take back this account's detached apps (the session with app NAME, else "
                                        "the last detached) and relay their windows, drawn in full, to COMMAND")
                            ->expected(0, 1);
  sub->add_option("--vm", o->vm, "Open this VM (booting it if it is off) and relay its streams");
  sub->add_option("--control", o->control,
                  "With --vm: send one command and exit: resolution=WxH, shutdown, reboot, reset, logoff, disconnect");
  sub->add_option("--timeout", o->timeout_s, "Seconds for connecting and logging in (default 30)")
      ->check(vredir::kPositive);
  sub->add_option("--usb", o->usb,
                  "With --vm: redirect this USB device into the VM (repeatable): VID:PID or BUS-ADDR (a local "
                  "device), unix:PATH or tcp:HOST:PORT (a usbredir endpoint); the account needs a usb= allow-list")
      ->allow_extra_args(false);
  sub->add_flag("--console", o->console,
                "With --vm: the VM's serial console on this terminal, like virsh console, until Ctrl-] (read-only "
                "for view-only accounts)");
  sub->add_option("--seat", o->seat,
                  "With --vm: this terminal's seat of a multi-head VM: head N alone, with a virtio keyboard and "
                  "tablet of its own bound to that head, plugged in for the session (view-only: the head alone)")
      ->check(CLI::Range(0, 63));
  sub->add_flag("--insecure", o->insecure, "Allow a plain tcp:// connection to a non-loopback address");
  sub->add_option("--record", o->record, "Record both directions of the session into FILE (password left out)");
  sub->add_option("--source", o->source, "Connect from this local address (tcp:// and tls://)");
  sub->add_option("--cert", o->cert, "Log in with this TLS client certificate (PEM) instead of a password");
  sub->add_option("--key", o->key, "The private key (PEM) of --cert");
  return [o, attach] {
    o->attach = attach->count() > 0;
    return connect(*o);
  };
}

}  // namespace redir_mux
