#include "mux_session.hpp"

#include "child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include "net/socket_progress.hpp"
#include "net/tls_transport.hpp"
#include "password_hash.hpp"
#include "sys/log_text.hpp"
#include "sys/signals.hpp"
#include "virt/display_resolution.hpp"
#include "virt/domain_devices.hpp"
#include "virt/domain_power.hpp"
#include "virt/guest_agent.hpp"
#include "virt/hypervisor.hpp"
#include "virt/input_hotplug.hpp"
#include "virt/usb_redirdev.hpp"
#include "usbpolicy/usb_selector.hpp"
#include "usbpolicy/usbredir_watch.hpp"
#include "wire/gdi_records.hpp"
#include "wire/stream_decoder.hpp"
#include "wire/stream_writer.hpp"

namespace vredir::mux {

using namespace vredir::stream;
using Clock = std::chrono::steady_clock;

bool is_control_command(const std::string& verb) {
  return verb == "resolution" || verb == "shutdown" || verb == "reboot" || verb == "reset" || verb == "logoff" ||
         verb == "disconnect";
}

std::vector<std::string> split_commas(const std::string& list) {
  std::vector<std::string> out;
  for (size_t at = 0; at <= list.size() && !list.empty();) {
    size_t comma = std::min(list.find(',', at), list.size());
    out.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

bool vm_allowed(const UserAccount& account, const Domain& domain) { return account.may_use(domain.name()); }

Status resolve_vm(Connection& conn, const UserAccount& account, const std::string& ref, Domain* out) {
  Domain d;
  Status st = ref.empty() ? fail(kExitNotFound, "") : conn.lookup(ref, &d);
  if (st && vm_allowed(account, d)) {
    *out = std::move(d);
    return Status::ok();
  }
  if (!st && st.code() != kExitNotFound) return fail(st.code(), "cannot look up VMs on the hypervisor");
  return fail(kExitDenied, "VM " + log_quote(ref, 64) + " is not allowed for user '" + account.name + "'");
}

Status list_vms(const std::string& uri, const UserAccount& account, std::vector<VmEntry>* out) {
  out->clear();
  Connection conn;
  if (Status st = conn.open(uri); !st) return st;
  std::vector<Domain> domains;
  if (Status st = conn.list(true, &domains); !st) return st;
  for (const Domain& d : domains) {
    if (!vm_allowed(account, d)) continue;
    VmEntry e;
    e.name = d.name();
    DomainState state = DomainState::kUnknown;
    (void)d.state(&state);
    e.state = state_name(state);
    std::string xml;
    DomainDevices devices;
    if (d.xml(&xml) && parse_domain_devices(xml, &devices)) {
      e.devices = device_summary(devices);
      for (const std::string& c : session_channels(devices).channels) e.channels += (e.channels.empty() ? "" : ",") + c;
    }
    out->push_back(std::move(e));
  }
  return Status::ok();
}

std::string app_prefix_dir(const std::string& state_dir, const std::string& account) {
  if (!valid_user_name(account) || account == "." || account == ".." || state_dir.empty()) return "";
  return state_dir + "/apps/" + account;
}

Status make_app_prefix(const std::string& state_dir, const std::string& account, const RunAs* as, std::string* prefix,
                       bool* fresh) {
  *prefix = app_prefix_dir(state_dir, account);
  if (prefix->empty()) return fail(kExitUsage, "account name '" + account + "' is not a directory name");
  const std::string apps_dir = state_dir + "/apps";
  for (const auto& [dir, mode] : {std::pair{state_dir, 0755}, {apps_dir, 0711}, {*prefix, 0700}})
    if (::mkdir(dir.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
      return fail(kExitFailure, "cannot create " + dir + ": " + std::strerror(errno));
  struct stat st {};
  if (::stat(prefix->c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail(kExitFailure, *prefix + " is not a directory");
  const uid_t owner = as ? as->uid : ::geteuid();
  if (st.st_uid != owner) {
    // Only a directory nobody has used yet changes hands.
    *fresh = ::access((*prefix + "/system.reg").c_str(), F_OK) != 0;
    if (!*fresh || ::chown(prefix->c_str(), owner, as ? as->gid : ::getegid()) != 0)
      return fail(kExitDenied, *prefix + " belongs to another user (uid " + std::to_string(st.st_uid) + ")");
  }
  *fresh = ::access((*prefix + "/system.reg").c_str(), F_OK) != 0;
  return Status::ok();
}

std::vector<std::string> app_environment(const std::string& prefix) {
  return {"WINEPREFIX=" + prefix, "WINEDEBUG=-all"};
}

void SessionTap::frame(const Frame& f) {
  if (!rec_ || !rec_->is_open()) return;
  if (upstream_ && f.header.channel == kSessionChannel && static_cast<FrameType>(f.header.type) == FrameType::kControl) {
    Control c;
    std::string err;
    if (decode_control(f.payload, &c, &err) && c.args.count("password")) {
      c.args["password"] = "(not recorded)";
      std::string payload;
      encode_control(c, payload);
      Frame copy = f;
      copy.header.length = static_cast<uint32_t>(payload.size());
      copy.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
      (void)rec_->upstream(copy);
      return;
    }
  }
  (void)(upstream_ ? rec_->upstream(f) : rec_->downstream(f));
}

void SessionTap::feed(std::string_view bytes) {
  if (!rec_ || !rec_->is_open() || failed_) return;
  reader_.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  Frame f;
  std::string err;
  FrameReader::Result r;
  while ((r = reader_.next(&f, &err)) == FrameReader::Result::kFrame) frame(f);
  if (r == FrameReader::Result::kError) failed_ = true;
}

namespace {

// One redirected USB device: a usb-redir port hot-plugged into the VM for
// the client's usbredir channel, its socket relayed by the session itself
// (no process between: each usbredir packet's round trip bounds the
// throughput). What the client's device sends goes through a watch that
// checks every device_connect against the account's allow-list.
struct UsbPort {
  UsbAllowList allow;
  UsbredirWatch watch{&allow};
  UsbRedirPort port;
  int qemu = -1;             // QEMU's connection, once it came
  std::string to_qemu;       // at most kMaxUsbQueue (+1 frame, + what the watch held)
  uint64_t announced = 0;    // device_connects logged
  bool input_ended = false;  // the client closed its channel: QEMU's socket closes once to_qemu drains
  bool closed_down = false;  // the client's channel closed downstream
  bool done = false;         // the device is unplugged and the port gone
  int poll_i = -1;           // QEMU's socket in this round's poll
  bool readable = false;     // poll saw it readable: pump_usb reads it
  ~UsbPort() {
    if (qemu >= 0) ::close(qemu);
  }
};

// One launched app: `gdi-forward run` for it. Its stdin gets a stream with
// the client's input for it on gdi channel 1; its output (DEFLATE pieces) is
// read frame by frame, and its gdi channel goes to the client as id.
struct AppPort {
  std::string name;
  uint16_t id = 0;  // the client's channel
  Child child;
  std::string inq;  // at most kMaxAppQueue (+1 frame)
  StreamWriter w{[this](std::string_view b) {
    inq.append(b);
    return Status::ok();
  }};
  FrameReader frames;
  uint16_t gdi = 0;          // its gdi channel in its own stream
  uint16_t clip = 0;         // its clipboard channel in its own stream
  Declare gdi_decl, clip_decl;  // as the client got them (declared again on resume)
  bool closed_down = false;  // the client's channel closed
  bool clip_closed = false;  // the client's clipboard channel closed
  bool exited = false;       // its stream ended
};

class Session {
 public:
  Session(Transport& t, const ServerSessionConfig& cfg)
      : t_(&t), cfg_(cfg), out_([this](std::string_view b) {
          outq_.append(b);
          down_tap_.feed(b);
          return Status::ok();
        }),
        inject_w_([this](std::string_view b) {
          injq_.append(b);
          return Status::ok();
        }) {
    // Until login: only what login needs (see mux_session.hpp).
    up_.set_limits(FrameLimits{kMaxPreAuthPayload, false});
    up_.set_keep_gdi_states(false);
    up_.set_frame_filter(&Session::pre_auth_filter, this);
  }

  Status run();

 private:
  enum class Phase { kAuth, kSelect, kStreaming, kEnding };

  static bool pre_auth_filter(const FrameHeader& h, void* self, std::string* why);
  void audit(const std::string& event, const std::string& what, const std::string& result) const {
    if (cfg_.audit) cfg_.audit->record(cfg_.peer, user_, event, what, result);
  }

  Status control(const std::string& verb, const Params& args) { return out_.control(kSessionChannel, Control{verb, args}); }
  // Ends the session: optional failed{code}, then END with the reason.
  void finish(EndReason reason, const std::string& message, int code = kExitOk);
  Status on_upstream(const Event& ev);
  Status on_control(const Control& c);
  Status do_auth(const Params& args);
  Status do_select(const Params& args);
  Status do_launch(const Params& args);
  bool read_linger(const Params& args);
  // The client went (clean: it said END): true when the apps stay, detached.
  bool detach(bool clean);
  void resume(int fd);
  void take_over(int fd);
  Status do_attach(const Params& args);
  Status relay_up(const Event& ev);
  void pump_relay();
  void pump_app(AppPort& app);
  void close_app_down(AppPort& app);
  Status do_command(const Control& c);
  Status start_streams();
  Status open_usb(const Declare& d);
  void pump_usb(uint16_t id, UsbPort& port);
  void close_usb_down(uint16_t id, UsbPort& port);
  void end_usb(uint16_t id, UsbPort& port);
  void usb_watched(uint16_t id, UsbPort& port, const Status& st);
  void pump_capture();
  void pump_inject();
  void check_domain();
  Status flush(bool block, Clock::time_point deadline);
  // The client's budgets: backlog, stall and idle timeouts. *reads is false
  // when the client is dropped for not reading (it gets no goodbye).
  Status check_client(bool* reads);

  Transport* t_;
  std::unique_ptr<Transport> resumed_t_;  // a client that resumed this session, through the listener
  const ServerSessionConfig& cfg_;
  StreamRecorder rec_;
  SessionTap down_tap_{&rec_, false}, up_tap_{&rec_, true};
  StreamWriter out_;       // downstream, into outq_
  std::string outq_;
  StreamWriter inject_w_;  // to the input tool, into injq_
  std::string injq_;
  StreamDecoder up_;
  Phase phase_ = Phase::kAuth;
  const UserAccount* account_ = nullptr;
  std::string user_;
  Connection conn_;
  Domain dom_;
  bool streams_ = true;
  bool console_ = false;     // select {console=1}: the serial console too
  bool display_ = true;      // select {console=1, display=0}: the console alone
  int seat_ = -1;            // select {seat=N}: head N, and keys through a keyboard of the session's own
  std::string seat_why_;     // why the keys go to the shared devices instead ("": they do not)
  uint16_t console_in_ = 0;  // the client's console input channel (0: none)
  std::string capq_;         // the console input stream for the capture's stdin
  StreamWriter cap_w_{[this](std::string_view b) {
    capq_.append(b);
    return Status::ok();
  }};
  bool input_ = false;
  Child capture_, inject_;
  FrameReader capture_frames_, inject_frames_;
  std::map<uint16_t, uint8_t> input_channels_;  // upstream input channels forwarded
  std::map<uint16_t, std::unique_ptr<UsbPort>> usb_;  // by the client's channel id
  std::vector<std::unique_ptr<AppPort>> apps_;        // launch {apps}
  std::map<uint16_t, AppPort*> app_inputs_;           // the client's gdi channels
  std::map<uint16_t, AppPort*> app_clip_inputs_;      // the client's clipboard channels
  bool shutdown_requested_ = false;
  Clock::time_point capture_gone_{};  // when the display source ended
  std::string capture_error_;         // why the capture could not start, from its END (reason error)
  bool capture_started_ = false;      // it declared a channel
  Clock::time_point next_check_ = Clock::now();
  Clock::time_point last_activity_ = Clock::now();   // input or output, for the idle timeout
  Clock::time_point last_progress_ = Clock::now();   // the client last took bytes
  uint64_t written_ = 0;                              // bytes handed to the transport
  uint64_t last_delivered_ = 0;
  Clock::time_point next_progress_probe_{};          // when check_client asks the kernel again
  static constexpr auto kProgressProbeInterval = std::chrono::milliseconds(100);
  bool client_open_ = true;
  // Detach: what the client asked for, and the state while no client is there.
  bool detach_on_exit_ = false;
  std::chrono::seconds linger_ = kDefaultLinger;
  bool detached_ = false;
  Clock::time_point linger_until_{};
  Params launched_;  // the launched {} reply, sent again on resume
  // connect --attach: this session relays its client to a detached one.
  Child relay_;       // in/out: the socket to it
  FrameReader relay_frames_;
  std::string relayq_;
  StreamWriter relay_w_{[this](std::string_view b) {
    relayq_.append(b);
    return Status::ok();
  }};
  EndReason reason_ = EndReason::kNormal;
  std::string end_message_;
  int end_code_ = kExitOk;
};

bool Session::pre_auth_filter(const FrameHeader& h, void* self, std::string* why) {
  const Session* s = static_cast<const Session*>(self);
  if (s->phase_ != Phase::kAuth) return true;
  const auto type = static_cast<FrameType>(h.type);
  if (h.channel == 0 && (type == FrameType::kHello || type == FrameType::kDeclare || type == FrameType::kEnd))
    return true;
  if (h.channel == kSessionChannel && type == FrameType::kControl) return true;
  const char* name = type_name(type);
  *why = std::string("a ") + (name ? name : "unknown") + " frame on channel " + std::to_string(h.channel) +
         " before login";
  return false;
}

void Session::finish(EndReason reason, const std::string& message, int code) {
  if (phase_ == Phase::kEnding) return;
  phase_ = Phase::kEnding;
  reason_ = reason;
  end_message_ = message;
  end_code_ = code;
  if (code != kExitOk) (void)control("failed", {{"code", std::to_string(code)}, {"message", message}});
  (void)out_.end(reason, message);
}

Status Session::flush(bool block, Clock::time_point deadline) {
  // Sent bytes leave the queue once per call, not once per TLS record: the
  // queue holds up to 4 MiB and moving it per record cost half the CPU.
  size_t sent = 0;
  auto drop_sent = [&] { outq_.erase(0, sent); };
  while (sent < outq_.size()) {
    size_t n = 0;
    Transport::Io io =
        t_->write_some(reinterpret_cast<const uint8_t*>(outq_.data()) + sent, outq_.size() - sent, &n);
    if (io == Transport::Io::kOk) {
      sent += n;
      written_ += n;
      if (n > 0) last_activity_ = Clock::now();
      continue;
    }
    drop_sent();
    sent = 0;
    if (io != Transport::Io::kWouldBlock) return fail(kExitPeerLost, "client connection lost");
    if (!block) return Status::ok();
    pollfd p{t_->fd(), POLLOUT, 0};
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (ms <= 0) return fail(kExitTimeout, "client stopped reading");
    ::poll(&p, 1, static_cast<int>(ms));
  }
  outq_.clear();
  return Status::ok();
}

Status Session::check_client(bool* reads) {
  const auto now = Clock::now();
  *reads = false;
  if (outq_.size() > kMaxClientBacklog)
    return fail(kExitFailure, "client backlog over " + std::to_string(kMaxClientBacklog >> 20) + " MiB; dropped");
  // Progress is the client taking bytes, as the kernel sees it: what waits
  // in our queue or the socket's is not read while that does not move.
  // Asked of the kernel a few times a second, not every round: two system
  // calls a round would cost each USB packet's round trip.
  if (now >= next_progress_probe_) {
    next_progress_probe_ = now + kProgressProbeInterval;
    SocketProgress sp;
    const bool known = socket_progress(t_->fd(), &sp);
    const bool pending = !outq_.empty() || (known && sp.queued > 0);
    const uint64_t delivered = !known ? written_ : sp.tcp ? sp.acked : written_ - std::min(written_, sp.queued);
    if (!pending || delivered != last_delivered_) {
      last_delivered_ = delivered;
      last_progress_ = now;
    }
  }
  if (now - last_progress_ > cfg_.stall_timeout)
    return fail(kExitTimeout, "client stopped reading for " +
                                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(cfg_.stall_timeout).count()) +
                                  " s; dropped");
  *reads = true;
  const bool idle_applies = phase_ != Phase::kAuth && cfg_.idle_timeout.count() > 0 &&
                            (cfg_.idle_viewers || !account_ || !account_->view_only);
  if (idle_applies && now - last_activity_ > cfg_.idle_timeout)
    return fail(kExitTimeout, "idle for " +
                                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(cfg_.idle_timeout).count()) +
                                  " s (no input, no output); ended");
  return Status::ok();
}

Status Session::do_auth(const Params& args) {
  auto it_u = args.find("user"), it_p = args.find("password"), it_m = args.find("method");
  const bool by_cert = it_m != args.end() && it_m->second == "cert";
  if (it_u == args.end() || (it_m != args.end() && !by_cert) || (!by_cert && it_p == args.end()) ||
      (it_p != args.end() && it_p->second.size() > kMaxPasswordBytes)) {
    finish(EndReason::kDenied, "malformed auth request", kExitMalformed);
    return Status::ok();
  }
  user_ = it_u->second.substr(0, 64);
  const std::string method = by_cert ? "certificate" : "password";
  LoginVerdict v = cfg_.begin_login ? cfg_.begin_login(user_) : LoginVerdict{};
  if (v.banned_s > 0) {
    audit("login", method, "banned");
    finish(EndReason::kDenied,
           "too many failed logins from this address or for this user; try again in " + std::to_string(v.banned_s) +
               " s",
           kExitDenied);
    return Status::ok();
  }
  // An account guessed from many places answers slowly, never not at all.
  if (v.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(v.delay_ms));
  const UserAccount* a = valid_user_name(user_) ? cfg_.users->find(user_) : nullptr;
  bool ok = false;
  if (by_cert) {
    // The client proved it holds the key of this certificate in the handshake.
    ok = a && !a->cert_fingerprint.empty() && !cfg_.client_fingerprint.empty() &&
         a->cert_fingerprint == cfg_.client_fingerprint;
  } else {
    // Unknown users, and accounts without a password, cost the same work and
    // get the same answer.
    ok = a && a->has_password() ? verify_password(it_p->second, a->hash) : verify_password_dummy(it_p->second);
    ok = ok && a && a->has_password();
  }
  if (cfg_.end_login) cfg_.end_login(v.ticket, user_, ok ? "ok" : "fail");
  audit("login", method, ok ? "ok" : "fail");
  if (!ok) {
    finish(EndReason::kDenied, "authentication failed: wrong user name or " + std::string(by_cert ? "certificate" : "password"),
           kExitDenied);
    return Status::ok();
  }
  account_ = a;
  phase_ = Phase::kSelect;
  // From here the client may send what a session carries.
  up_.set_limits(FrameLimits{kMaxUpstreamPayload, false});
  if (cfg_.on_authenticated) cfg_.on_authenticated();
  (void)control("auth-ok", {{"user", user_}, {"view-only", a->view_only ? "1" : "0"}});
  std::vector<VmEntry> vms;
  if (cfg_.offer_vms)
    if (Status st = list_vms(cfg_.uri, *a, &vms); !st) {
      finish(EndReason::kError, st.message(), st.code());
      return Status::ok();
    }
  for (const VmEntry& v : vms)
    (void)control("vm", {{"name", v.name}, {"state", v.state}, {"devices", v.devices}, {"channels", v.channels}});
  size_t n_apps = 0;
  if (cfg_.apps)
    for (const apps::RegisteredApp& app : cfg_.apps->apps)
      if (cfg_.apps->allowed(app, a->name)) {
        ++n_apps;
        (void)control("app", {{"name", app.name}, {"description", app.description}});
      }
  if (cfg_.apps && cfg_.instances)
    for (const AppInstance& i : cfg_.instances())
      (void)control("instance",
                    {{"id", i.id}, {"state", i.state}, {"apps", i.apps}, {"linger", std::to_string(i.linger_s)}});
  return control("list-end", {{"count", std::to_string(vms.size())}, {"apps", std::to_string(n_apps)}});
}

Status Session::do_select(const Params& args) {
  auto it = args.find("vm");
  std::string vm = it == args.end() ? "" : it->second;
  streams_ = !(args.count("streams") && args.at("streams") == "0");
  console_ = streams_ && args.count("console") && args.at("console") == "1";
  // display=0 (with the console): the console alone, no display capture or
  // input injection; the client's keyboard and pointer channels are ignored.
  display_ = !(console_ && args.count("display") && args.at("display") == "0");
  seat_ = -1;
  if (auto s = args.find("seat"); s != args.end()) {
    const std::string& v = s->second;
    if (v.empty() || v.size() > 2 || v.find_first_not_of("0123456789") != std::string::npos || std::stoi(v) > 63)
      return finish(EndReason::kError, "seat needs a head number, 0 to 63", kExitMalformed), Status::ok();
    seat_ = std::stoi(v);
  }
  if (Status st = conn_.open(cfg_.uri); !st) return finish(EndReason::kError, st.message(), st.code()), Status::ok();
  // One resolution path for the list and the selection: the ACL is checked on
  // the name the reference resolved to, whether it was a name, an id or a UUID.
  if (Status st = resolve_vm(conn_, *account_, vm, &dom_); !st) {
    spdlog::info("session {} user={}: VM {} refused: {}", cfg_.peer, log_quote(user_), log_quote(vm),
                 st.code() == kExitDenied ? "not allowed or no such VM" : st.message());
    audit("select", vm, st.code() == kExitDenied ? "denied" : "error");
    finish(st.code() == kExitDenied ? EndReason::kDenied : EndReason::kError, st.message(), st.code());
    return Status::ok();
  }
  DomainState state = DomainState::kUnknown;
  (void)dom_.state(&state);
  if (streams_ && (state == DomainState::kShutoff || state == DomainState::kCrashed)) {
    if (account_->view_only) {
      audit("select", dom_.name(), "denied");
      finish(EndReason::kDenied,
             "VM '" + dom_.name() + "' is off, and booting it needs input rights (user '" + user_ + "' is view-only)",
             kExitDenied);
      return Status::ok();
    }
    (void)control("progress", {{"stage", "booting"}});
    (void)flush(true, Clock::now() + std::chrono::seconds(5));
    PowerOptions po;
    po.wait = true;
    po.timeout_s = 60;
    audit("select", dom_.name(), "booting");
    if (Status st = run_power_action(conn_, dom_, PowerAction::kStart, po); !st)
      return finish(EndReason::kError, "cannot boot '" + dom_.name() + "': " + st.message(), st.code()), Status::ok();
    (void)control("progress", {{"stage", "waiting for display"}});
  }
  spdlog::info("session {} (pid {}) user={}: VM '{}'{}", cfg_.peer, ::getpid(), log_quote(user_), dom_.name(),
               streams_ ? "" : " (control only)");
  audit("select", dom_.name(), "ok");
  input_ = streams_ && !account_->view_only;
  if (console_) {
    std::string xml;
    DomainDevices devices;
    bool pty = false;
    if (dom_.xml(&xml) && parse_domain_devices(xml, &devices))
      for (const SerialConsole& c : devices.serials) pty = pty || c.type == "pty";
    if (!pty) {
      audit("select", dom_.name(), "failed");
      finish(EndReason::kError, "VM '" + dom_.name() + "' has no serial console (a <serial type='pty'/>)", kExitNotFound);
      return Status::ok();
    }
  }
  Params selected{{"vm", dom_.name()}, {"input", input_ ? "1" : "0"}};
  if (seat_ >= 0 && streams_ && display_) {
    // A seat is a head and, with input rights, a keyboard bound to it. A VM
    // without that head is "not found"; one that cannot take a hot-plugged
    // keyboard (no free slot) types on its shared devices, and says so.
    std::string xml;
    DomainDevices devices;
    if (!dom_.xml(&xml) || !parse_domain_devices(xml, &devices))
      return finish(EndReason::kError, "cannot read the devices of VM '" + dom_.name() + "'", kExitFailure),
             Status::ok();
    SeatBinding binding;
    if (Status st = seat_binding(devices, dom_.name(), seat_, &binding); !st) {
      audit("select", dom_.name(), "failed");
      return finish(EndReason::kError, st.message(), st.code()), Status::ok();
    }
    if (input_ && !session_channels(devices).input_hotplug)
      seat_why_ = "VM '" + dom_.name() + "' has no free PCI slot for a keyboard of its own (on q35: a spare "
                  "pcie-root-port)";
    if (input_) selected["seat"] = seat_why_.empty() ? std::to_string(seat_) : "shared";
    if (!seat_why_.empty()) selected["seat_why"] = seat_why_;
    // The seat's tablet takes a second slot: on q35 a second spare port.
    if (input_ && seat_why_.empty()) {
      const bool q35 = devices.machine.find("q35") != std::string::npos;
      selected["seat_tablet"] = !q35 || devices.hotplug_buses().size() >= 2 ? "1" : "0";
    }
  }
  phase_ = Phase::kStreaming;
  (void)control("selected", selected);
  if (streams_) return start_streams();
  return Status::ok();
}

Status Session::do_launch(const Params& args) {
  // What was asked for: names, each checked before anything is launched.
  const std::string list = args.count("apps") ? args.at("apps") : "";
  const std::vector<std::string> names = split_commas(list);
  if (names.empty() || names.size() > kMaxAppsPerLaunch) {
    finish(EndReason::kError, "launch needs 1 to " + std::to_string(kMaxAppsPerLaunch) + " app names", kExitMalformed);
    return Status::ok();
  }
  if (!read_linger(args)) return Status::ok();
  std::vector<const apps::RegisteredApp*> chosen;
  for (const std::string& name : names) {
    const apps::RegisteredApp* app = cfg_.apps ? cfg_.apps->launchable(name, account_->name) : nullptr;
    if (!app) {
      // Unknown and not allowed read the same, so app names do not leak.
      spdlog::info("session {} user={}: app {} refused: unknown or not allowed", cfg_.peer, log_quote(user_),
                   log_quote(name, 64));
      audit("launch", name.substr(0, 64), "denied");
      finish(EndReason::kDenied, "app " + log_quote(name, 64) + " is not available to user '" + user_ + "'",
             kExitDenied);
      return Status::ok();
    }
    chosen.push_back(app);
  }
  std::string why;
  if (cfg_.reserve_apps && !cfg_.reserve_apps(user_, chosen.size(), &why)) {
    audit("launch", list.substr(0, 256), "denied");
    finish(EndReason::kDenied, why, kExitDenied);
    return Status::ok();
  }
  // The account's own Wine prefix: no two accounts share app state; run as
  // the account's Unix user when it names one.
  RunAs as;
  if (!account_->unix_user.empty())
    if (Status st = lookup_run_as(account_->unix_user, &as); !st) {
      spdlog::error("session {} user={}: {}", cfg_.peer, log_quote(user_), st.message());
      finish(EndReason::kError, "the server cannot run this account's apps: " + st.message(), kExitFailure);
      return Status::ok();
    }
  const RunAs* run_as = account_->unix_user.empty() ? nullptr : &as;
  std::string prefix;
  bool fresh = false;
  if (Status st = make_app_prefix(cfg_.state_dir, user_, run_as, &prefix, &fresh); !st) {
    spdlog::error("session {} user={}: the app prefix: {}", cfg_.peer, log_quote(user_), st.message());
    finish(EndReason::kError, "cannot prepare the account's app directory on the server", kExitFailure);
    return Status::ok();
  }
  if (fresh) {
    (void)control("progress", {{"stage", "creating the Wine prefix of '" + user_ + "' (first launch; about 20 s)"}});
    (void)flush(true, Clock::now() + std::chrono::seconds(5));
  }
  phase_ = Phase::kStreaming;
  streams_ = true;
  input_ = !account_->view_only;
  std::string channels;
  for (const apps::RegisteredApp* app : chosen) {
    auto port = std::make_unique<AppPort>();
    port->name = app->name;
    port->id = static_cast<uint16_t>(apps_.size() + 1);
    // An app that ignores WM_CLOSE is terminated after 3 s (kAppCloseTimeout),
    // so a client's end ends its apps within 5 s.
    const bool clipboard = account_->clipboard_to_client() || (input_ && account_->clipboard_to_app());
    std::vector<std::string> argv{cfg_.app_program,
                                  "run",
                                  "--user",
                                  user_,
                                  "--close-timeout",
                                  std::to_string(kAppCloseTimeout.count()),
                                  "--clipboard-max",
                                  std::to_string(clipboard ? cfg_.clipboard_max : 0),
                                  "--",
                                  app->path};
    for (const std::string& a : apps::split_args(app->args)) argv.push_back(a);
    // Headless: the apps draw for the client only, never on a display the
    // server may have (Wine's null driver, see gdi-forward(1)).
    if (Status st = spawn(argv, true, &port->child, app_environment(prefix), {"DISPLAY", "WAYLAND_DISPLAY"}, run_as);
        !st) {
      finish(EndReason::kError, "cannot start app '" + app->name + "': " + st.message(), st.code());
      return Status::ok();
    }
    (void)port->w.begin("redir-mux serve", {{"user", user_}});
    (void)port->w.declare(1, ChannelKind::kGdi, "gdi", {{"app", app->name}});
    if (input_ && account_->clipboard_to_app())
      (void)port->w.declare(2, ChannelKind::kClipboard, "clipboard", {{"app", app->name}, {"downstream", "3"}});
    spdlog::info("session {} (pid {}) user={}: app '{}' (pid {}, channel {})", cfg_.peer, ::getpid(), log_quote(user_),
                 app->name, port->child.pid, port->id);
    audit("launch", app->name, "ok");
    channels += (channels.empty() ? "" : ",") + std::to_string(port->id);
    apps_.push_back(std::move(port));
  }
  if (cfg_.compress > 0) out_.set_compression(cfg_.compress);
  launched_ = {{"apps", list}, {"channels", channels}, {"input", input_ ? "1" : "0"}};
  if (cfg_.note_instance) cfg_.note_instance(list, 0);
  return control("launched", launched_);
}

// detach=1 and linger=SECONDS, of launch, attach and resume.
bool Session::read_linger(const Params& args) {
  detach_on_exit_ = args.count("detach") && args.at("detach") == "1";
  uint32_t linger = static_cast<uint32_t>(kDefaultLinger.count());
  if (args.count("linger") && !param_u32(args, "linger", &linger)) {
    finish(EndReason::kError, "linger needs a number of seconds", kExitMalformed);
    return false;
  }
  linger_ = std::min(std::chrono::seconds(linger), cfg_.max_linger);
  return true;
}

bool Session::detach(bool clean) {
  if (phase_ != Phase::kStreaming || apps_.empty() || relay_.out >= 0 || linger_.count() == 0 ||
      (clean && !detach_on_exit_) || cfg_.broker_fd < 0 || !cfg_.take_client)
    return false;
  bool running = false;
  for (const auto& a : apps_) running = running || !a->exited;
  if (!running) return false;
  detached_ = true;
  client_open_ = false;
  linger_until_ = Clock::now() + linger_;
  t_->close();
  outq_.clear();
  app_inputs_.clear();
  app_clip_inputs_.clear();
  spdlog::info("session {} (pid {}) user={}: {}; apps {} detached for up to {} s", cfg_.peer, ::getpid(),
               log_quote(user_), clean ? "client ended" : "client connection lost", launched_["apps"], linger_.count());
  audit("detach", launched_["apps"], "ok");
  if (cfg_.note_instance) cfg_.note_instance(launched_["apps"], static_cast<long>(linger_.count()));
  return true;
}

// A client of the same account takes the detached apps back: a new stream
// to it, each app's channels declared again, and every app asked to send
// everything again and repaint (WINDOW_REQUEST redraw).
void Session::resume(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  resumed_t_ = std::make_unique<Transport>(fd);
  t_ = resumed_t_.get();
  detached_ = false;
  client_open_ = true;
  outq_.clear();
  out_.restart();
  up_ = StreamDecoder();
  up_.set_limits(FrameLimits{kMaxUpstreamPayload, false});
  up_.set_keep_gdi_states(false);
  written_ = last_delivered_ = 0;
  next_progress_probe_ = {};
  last_progress_ = last_activity_ = Clock::now();
  (void)out_.begin("redir-mux serve", {{"protocol", "session/1"}});
  (void)out_.declare(kSessionChannel, ChannelKind::kControl, "session");
  (void)control("launched", launched_);
  std::string redraw;
  vredir::gdi::encode_record(vredir::gdi::WindowRequest{0, vredir::gdi::WindowRequest::kRedraw, {}}, redraw);
  for (auto& app : apps_) {
    if (app->exited) continue;
    if (app->gdi) (void)out_.declare_raw(app->gdi_decl), app->closed_down = false;
    if (app->clip) (void)out_.declare_raw(app->clip_decl), app->clip_closed = false;
    if (app->child.in >= 0) (void)app->w.frame(1, FrameType::kGdi, redraw);
  }
  spdlog::info("session {} (pid {}) user={}: apps {} resumed", cfg_.peer, ::getpid(), log_quote(user_),
               launched_["apps"]);
  audit("resume", launched_["apps"], "ok");
  if (cfg_.note_instance) cfg_.note_instance(launched_["apps"], 0);
}

// connect --attach while a client still has the apps: that client is told
// and dropped (best effort: it may be the dead link the new one replaces),
// and the new one resumes.
void Session::take_over(int fd) {
  (void)out_.end(EndReason::kNormal, "another client of user '" + user_ + "' took the apps over");
  (void)out_.flush();
  (void)flush(true, Clock::now() + std::chrono::milliseconds(500));
  spdlog::info("session {} (pid {}) user={}: another client takes the apps over; this one is dropped", cfg_.peer,
               ::getpid(), log_quote(user_));
  t_->close();
  resume(fd);
}

// connect --attach: this session becomes a relay between its client and the
// detached session the listener found (same account).
Status Session::do_attach(const Params& args) {
  const std::string app = args.count("app") ? args.at("app").substr(0, 64) : "";
  std::string why = "no running apps of user '" + user_ + "'" + (app.empty() ? "" : " with app " + log_quote(app, 64));
  const int fd = cfg_.apps && cfg_.attach ? cfg_.attach(app, &why) : -1;
  if (fd < 0) {
    audit("attach", app, "failed");
    finish(EndReason::kError, why, kExitNotFound);
    return Status::ok();
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  relay_.out = fd;
  relay_.in = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  phase_ = Phase::kStreaming;
  streams_ = true;
  input_ = !account_->view_only;
  Params resume{{"linger", args.count("linger") ? args.at("linger").substr(0, 16) : std::to_string(kDefaultLinger.count())},
                {"detach", args.count("detach") && args.at("detach") == "1" ? "1" : "0"}};
  (void)relay_w_.begin("redir-mux serve", {{"user", user_}});
  (void)relay_w_.declare(kSessionChannel, ChannelKind::kControl, "session");
  (void)relay_w_.control(kSessionChannel, Control{"resume", resume});
  if (cfg_.compress > 0) out_.set_compression(cfg_.compress);
  spdlog::info("session {} (pid {}) user={}: attaching to detached apps", cfg_.peer, ::getpid(), log_quote(user_));
  audit("attach", app, "ok");
  return Status::ok();
}

// The client's frames, to the detached session (HELLO and the session
// channel's declaration are this session's own).
Status Session::relay_up(const Event& ev) {
  const Frame& f = ev.frame;
  // A view-only account's input goes nowhere, whatever the detached session
  // was started with.
  if (!input_ && f.header.channel != kSessionChannel && ev.type() != FrameType::kEnd) return Status::ok();
  switch (ev.type()) {
    case FrameType::kHello:
      return Status::ok();
    case FrameType::kEnd: {
      const End& e = std::get<End>(ev.payload);
      (void)relay_w_.end(e.reason, e.message);
      finish(EndReason::kNormal, "client disconnected");
      return Status::ok();
    }
    case FrameType::kDeclare: {
      const Declare& d = std::get<Declare>(ev.payload);
      if (d.id == kSessionChannel) return Status::ok();
      return relay_w_.declare_raw(d);
    }
    default:
      return relay_w_.frame(f.header.channel, ev.type(),
                            std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()),
                            f.header.flags);
  }
}

// The detached session's stream, to the client.
void Session::pump_relay() {
  std::string err;
  auto room = [this] { return outq_.size() < kMaxClientQueue && phase_ != Phase::kEnding; };
  auto on_frame = [&](const Frame& f) {
    auto type = static_cast<FrameType>(f.header.type);
    std::string why;
    if (f.header.channel == 0 && type == FrameType::kHello) return true;
    if (f.header.channel == 0 && type == FrameType::kDeclare) {
      Declare d;
      if (decode_declare(f.payload, &d, &why) && d.id != kSessionChannel) (void)out_.declare_raw(d);
      return true;
    }
    if (f.header.channel == 0 && type == FrameType::kEnd) {
      End e;
      (void)decode_end(f.payload, &e, &why);
      finish(e.reason, e.message);
      return false;
    }
    (void)out_.frame(f.header.channel, type,
                     std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()), f.header.flags);
    return true;
  };
  if (read_child_frames(&relay_, &relay_frames_, room, on_frame, &err) == ChildOutput::kEnded &&
      phase_ != Phase::kEnding)
    finish(EndReason::kError, "the apps' session ended" + (err.empty() ? std::string() : ": " + err), kExitFailure);
  feed_child(&relay_, &relayq_);
}

void Session::close_app_down(AppPort& app) {
  if (!app.clip_closed && app.clip) (void)out_.close_channel(kAppClipboardBase + app.id);
  app.clip_closed = true;
  if (app.closed_down) return;
  app.closed_down = true;
  if (app.gdi) (void)out_.close_channel(app.id);
}

// One app's drawing to the client (its gdi channel only, renumbered), and the
// client's input to it.
void Session::pump_app(AppPort& app) {
  std::string err;
  auto room = [this] { return outq_.size() < kMaxClientQueue && phase_ != Phase::kEnding; };
  auto on_frame = [&](const Frame& f) {
    auto type = static_cast<FrameType>(f.header.type);
    std::string why;
    if (f.header.channel == 0 && type == FrameType::kDeclare) {
      Declare d;
      const bool ok = decode_declare(f.payload, &d, &why);
      if (ok && !app.gdi && d.kind == static_cast<uint8_t>(ChannelKind::kGdi)) {
        app.gdi = d.id;
        d.id = app.id;
        d.name = "gdi." + app.name;
        d.params["app"] = app.name;
        app.gdi_decl = d;
        (void)out_.declare_raw(d);
      } else if (ok && !app.clip && d.kind == static_cast<uint8_t>(ChannelKind::kClipboard) &&
                 account_->clipboard_to_client()) {
        app.clip = d.id;
        d.id = static_cast<uint16_t>(kAppClipboardBase + app.id);
        d.name = "clipboard." + app.name;
        d.params = {{"app", app.name}};
        app.clip_decl = d;
        (void)out_.declare_raw(d);
      }
    } else if (app.clip && f.header.channel == app.clip && !app.clip_closed) {
      if (type == FrameType::kClose) {
        app.clip_closed = true;
        (void)out_.close_channel(kAppClipboardBase + app.id);
      } else if (type == FrameType::kClipboard && f.payload.size() <= cfg_.clipboard_max + 1) {
        (void)out_.frame(static_cast<uint16_t>(kAppClipboardBase + app.id), type,
                         std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()));
      } else if (type == FrameType::kClipboard) {
        spdlog::info("session {} user={}: app '{}' copied {} bytes, over --clipboard-max; not sent", cfg_.peer,
                     log_quote(user_), app.name, f.payload.size() - 1);
      }
    } else if (f.header.channel == 0 && type == FrameType::kEnd) {
      End e;
      (void)decode_end(f.payload, &e, &why);
      app.exited = true;
      close_app_down(app);
      if (e.reason != EndReason::kNormal && e.reason != EndReason::kSourceGone)
        (void)control("result", {{"command", "app"},
                                 {"status", "failed"},
                                 {"code", std::to_string(kExitFailure)},
                                 {"message", "app '" + app.name + "': " + e.message}});
    } else if (app.gdi && f.header.channel == app.gdi && !app.closed_down) {
      if (type == FrameType::kClose) close_app_down(app);
      else
        (void)out_.frame(app.id, type, std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()),
                         f.header.flags);
    }
    return true;
  };
  if (read_child_frames(&app.child, &app.frames, room, on_frame, &err) == ChildOutput::kEnded) {
    if (!err.empty())
      spdlog::warn("session {} user={}: app '{}' wrote a malformed stream: {}", cfg_.peer, log_quote(user_), app.name,
                   err);
    app.exited = true;
    close_app_down(app);
  }
  feed_child(&app.child, &app.inq);
  // Every app has gone: the session is over.
  bool all = !apps_.empty();
  for (const auto& a : apps_) all = all && a->exited;
  if (all && phase_ != Phase::kEnding) finish(EndReason::kSourceGone, "the apps have exited");
}

Status Session::start_streams() {
  std::string uri = conn_.uri();
  // Over the network (cfg_.compress > 0) the capture packs its rects with
  // zlib at that level and the session deflates the stream it sends: 0.66x
  // QEMU's ZRLE for the moving bar, against 1.24x for raw rects deflated by
  // the session alone (tests/bench/RESULTS.md). A local socket stays raw.
  std::vector<std::string> args{cfg_.capture_program, "-q", "-c", uri, dom_.name()};
  if (cfg_.compress > 0)
    args.insert(args.end(), {"--encoding", "zlib", "--compress", std::to_string(cfg_.compress)});
  // The console: its output is the capture's serial channel; its input (not
  // for view-only accounts) a stream on the capture's stdin.
  const bool console_input = console_ && input_;
  if (console_) args.push_back("--serial");
  if (!display_) args.push_back("--no-display");
  if (seat_ >= 0 && display_) args.insert(args.end(), {"--head", std::to_string(seat_)});
  if (console_input) args.insert(args.end(), {"--serial-input", "-"});
  if (Status st = spawn(args, console_input, &capture_); !st) return st;
  if (console_input) {
    (void)cap_w_.begin("redir-mux serve", {{"user", user_}});
    (void)cap_w_.declare(1, ChannelKind::kBytes, "serial", {{"purpose", "serial"}});
  }
  if (cfg_.compress > 0) out_.set_compression(cfg_.compress);
  if (input_ && display_) {
    std::vector<std::string> inject{cfg_.inject_program, "-q", "-c", uri, dom_.name(), "--ack", "--no-timing"};
    if (seat_ >= 0 && seat_why_.empty()) inject.insert(inject.end(), {"--seat", std::to_string(seat_)});
    if (Status st = spawn(inject, true, &inject_); !st) return st;
    (void)inject_w_.begin("redir-mux serve", {{"user", user_}});
  }
  return Status::ok();
}

Status Session::open_usb(const Declare& d) {
  auto refuse = [&](int code, const std::string& message) {
    spdlog::info("session {} user={}: USB on '{}' refused: {}", cfg_.peer, log_quote(user_), dom_.name(), message);
    audit("usb", dom_.name(), code == kExitDenied ? "denied" : "failed");
    finish(code == kExitDenied ? EndReason::kDenied : EndReason::kError, message, code);
    return Status::ok();
  };
  if (d.id < kUsbChannelBase || d.id >= kUsbChannelBase + kMaxUsbChannels || usb_.count(d.id))
    return fail(kExitMalformed, "a USB channel needs a free id from " + std::to_string(kUsbChannelBase) + " to " +
                                    std::to_string(kUsbChannelBase + kMaxUsbChannels - 1) + " (got " +
                                    std::to_string(d.id) + ")");
  if (account_->view_only) return refuse(kExitDenied, "user '" + user_ + "' is view-only: no USB redirection");
  if (account_->usb_allow.empty())
    return refuse(kExitDenied, "user '" + user_ + "' may not redirect USB devices (no usb= allow-list in the users file)");
  std::string xml;
  DomainDevices devices;
  if (!dom_.xml(&xml) || !parse_domain_devices(xml, &devices))
    return refuse(kExitFailure, "cannot read the devices of VM '" + dom_.name() + "'");
  if (devices.usb.empty()) return refuse(kExitNotFound, "VM '" + dom_.name() + "' has no USB controller");
  auto port = std::make_unique<UsbPort>();
  std::string why;
  if (!UsbAllowList::parse(account_->usb_allow, &port->allow, &why))
    return refuse(kExitFailure, "the users file's usb= list of '" + user_ + "' is invalid: " + why);
  Endpoint ep;
  ep.scheme = Endpoint::Scheme::kUnix;
  int lfd = -1;
  Status st = port->port.make_socket_dir();
  if (st) {
    ep.path = port->port.socket_path();
    st = listen_endpoint(ep, &lfd, &ep);
  }
  if (st) st = port->port.plug(dom_, lfd, kUsbEndpointTimeoutS);
  if (!st) return refuse(st.code(), "cannot start the USB redirection: " + st.message());
  (void)out_.declare(d.id, ChannelKind::kBytes, "usbredir", {{"purpose", "usbredir"}, {"device", dom_.name()}});
  spdlog::info("session {} user={}: USB redirection into '{}' (channel {}, allowed {})", cfg_.peer, log_quote(user_),
               dom_.name(), d.id, account_->usb_allow);
  audit("usb", dom_.name(), "ok");
  usb_[d.id] = std::move(port);
  return Status::ok();
}

void Session::close_usb_down(uint16_t id, UsbPort& port) {
  if (port.closed_down) return;
  port.closed_down = true;
  (void)out_.close_channel(id);
}

// QEMU's socket closes (the guest sees the device unplugged), then the port
// goes, without waiting for the guest to let it go (the loop goes on); the
// client's channel is closed, and what waited for QEMU is dropped.
void Session::end_usb(uint16_t id, UsbPort& port) {
  if (port.done) return;
  port.done = true;
  if (port.qemu >= 0) ::close(port.qemu);
  port.qemu = -1;
  std::string().swap(port.to_qemu);
  if (Status st = port.port.unplug(false); !st)
    spdlog::warn("session {} user={}: {}", cfg_.peer, log_quote(user_), st.message());
  if (port.announced)
    spdlog::info("session {} user={}: USB device {} unplugged from '{}'", cfg_.peer, log_quote(user_),
                 usb_identity_text(port.watch.identity()), dom_.name());
  if (phase_ != Phase::kEnding) close_usb_down(id, port);
}

// What the watch made of the device's bytes: a device plugged in (logged),
// or a refusal (the session ends, denied) or bad framing (this device ends).
void Session::usb_watched(uint16_t id, UsbPort& port, const Status& st) {
  if (st) {
    if (port.watch.connects() > port.announced) {
      port.announced = port.watch.connects();
      spdlog::info("session {} user={}: USB device {} plugged into '{}'", cfg_.peer, log_quote(user_),
                   usb_identity_text(port.watch.identity()), dom_.name());
    }
    return;
  }
  end_usb(id, port);
  if (st.code() == kExitDenied) {
    audit("usb", dom_.name(), "denied");
    finish(EndReason::kDenied, "USB: " + st.message(), kExitDenied);
    return;
  }
  (void)control("result", {{"command", "usb"},
                           {"status", "failed"},
                           {"code", std::to_string(st.code())},
                           {"message", "USB: " + st.message()}});
}

// One device's port: QEMU's connection accepted, the client's bytes written
// to it, and what it sends relayed to the client at once, outside the
// DEFLATE pieces (each packet's round trip counts).
void Session::pump_usb(uint16_t id, UsbPort& port) {
  if (port.done) return;
  auto failed = [&](const std::string& message) {
    end_usb(id, port);
    (void)control("result", {{"command", "usb"},
                             {"status", "failed"},
                             {"code", std::to_string(kExitFailure)},
                             {"message", "USB: " + message}});
  };
  if (port.qemu < 0) {
    if (Status st = port.port.try_accept(&port.qemu); !st) return failed(st.message());
    if (port.qemu < 0) return;
    spdlog::debug("session {}: QEMU's usb-redir port {} of '{}' is connected", cfg_.peer, port.port.alias(), dom_.name());
  }
  while (!port.to_qemu.empty()) {
    ssize_t w = ::send(port.qemu, port.to_qemu.data(), port.to_qemu.size(), MSG_NOSIGNAL);
    if (w > 0) {
      port.to_qemu.erase(0, size_t(w));
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return failed("QEMU closed the USB redirection port");
  }
  if (port.input_ended && port.to_qemu.empty()) return end_usb(id, port);
  char buf[64 << 10];
  // Only what poll saw: a read that would find nothing costs a system call
  // a packet, and each packet's round trip counts.
  const bool readable = port.readable;
  port.readable = false;
  for (int i = 0; readable && i < 8 && outq_.size() < kMaxClientQueue && phase_ != Phase::kEnding; ++i) {
    ssize_t r = ::recv(port.qemu, buf, sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r <= 0) return failed("QEMU closed the USB redirection port");
    auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf), size_t(r));
    if (!port.closed_down) (void)out_.frame_plain(id, FrameType::kData, std::string_view(buf, size_t(r)));
    const size_t before = port.to_qemu.size();
    usb_watched(id, port, port.watch.feed_guest(bytes, &port.to_qemu));
    if (port.done) return;
    if (port.to_qemu.size() != before) return pump_usb(id, port);  // held bytes the guest's hello released
    if (size_t(r) < sizeof buf) break;  // the socket had no more
  }
}

Status Session::do_command(const Control& c) {
  Status st;
  const std::string& v = c.verb;
  if (v == "disconnect") {
    finish(EndReason::kNormal, "client disconnected; the VM keeps running");
    return Status::ok();
  }
  if (account_->view_only) {
    st = fail(kExitDenied, "user '" + user_ + "' is view-only");
  } else if (v == "resolution") {
    ResolutionRequest req;
    auto it = c.args.find("size");
    if (it == c.args.end() || !parse_resolution(it->second, &req.width, &req.height))
      st = fail(kExitUsage, "resolution needs size=WxH");
    else
      st = change_resolution(dom_, req);
  } else if (v == "logoff") {
    st = logoff_session(dom_, 30);
  } else {
    PowerAction a = v == "shutdown" ? PowerAction::kShutdown : v == "reboot" ? PowerAction::kReboot : PowerAction::kReset;
    st = run_power_action(conn_, dom_, a, PowerOptions{});
    if (st && a == PowerAction::kShutdown) shutdown_requested_ = true;
  }
  spdlog::info("session {} user={}: {} on '{}': {}", cfg_.peer, log_quote(user_), v, dom_.name(),
               st ? "ok" : st.message());
  audit("command", v + " " + dom_.name(), st ? "ok" : "failed");
  return control("result", {{"command", v},
                            {"status", st ? "ok" : "failed"},
                            {"code", std::to_string(st.code())},
                            {"message", st.message()}});
}

Status Session::on_control(const Control& c) {
  if (phase_ == Phase::kAuth) {
    if (c.verb != "auth") return finish(EndReason::kDenied, "authenticate first", kExitMalformed), Status::ok();
    return do_auth(c.args);
  }
  if (phase_ == Phase::kSelect) {
    if (c.verb == "launch") return do_launch(c.args);
    if (c.verb == "attach") return do_attach(c.args);
    if (c.verb != "select") return finish(EndReason::kError, "select a VM first", kExitMalformed), Status::ok();
    if (!cfg_.offer_vms)
      return finish(EndReason::kDenied, "this server offers apps only (no VMs)", kExitDenied), Status::ok();
    return do_select(c.args);
  }
  // The first words of a client that resumed this session (do_attach).
  if (phase_ == Phase::kStreaming && !apps_.empty() && c.verb == "resume") return read_linger(c.args), Status::ok();
  if (phase_ == Phase::kStreaming && !apps_.empty() && c.verb == "disconnect")
    return finish(EndReason::kNormal, "client disconnected; its apps are closed"), Status::ok();
  if (phase_ == Phase::kStreaming && apps_.empty() && is_control_command(c.verb)) return do_command(c);
  return control("result", {{"command", c.verb.substr(0, 64)}, {"status", "failed"}, {"code", "2"},
                            {"message", "unknown command"}});
}

Status Session::on_upstream(const Event& ev) {
  const Frame& f = ev.frame;
  if (phase_ == Phase::kAuth && ev.type() == FrameType::kDeclare) {
    const Declare& d = std::get<Declare>(ev.payload);
    if (d.id != kSessionChannel || d.kind != static_cast<uint8_t>(ChannelKind::kControl))
      return fail(kExitMalformed, "channel " + std::to_string(d.id) + " declared before login");
  }
  if (phase_ != Phase::kAuth && f.header.channel != 0) last_activity_ = Clock::now();
  if (relay_.out >= 0 && phase_ == Phase::kStreaming) return relay_up(ev);
  switch (ev.type()) {
    case FrameType::kHello:
      return Status::ok();
    case FrameType::kEnd:
      if (detach(true)) return Status::ok();
      finish(EndReason::kNormal, apps_.empty() ? "client disconnected; the VM keeps running"
                                               : "client disconnected; its apps are closed");
      return Status::ok();
    case FrameType::kDeclare: {
      const Declare& d = std::get<Declare>(ev.payload);
      if (phase_ == Phase::kStreaming && streams_ && d.kind == static_cast<uint8_t>(ChannelKind::kBytes) &&
          d.params.count("purpose") && d.params.at("purpose") == "usbredir")
        return open_usb(d);
      if (console_ && input_ && d.kind == static_cast<uint8_t>(ChannelKind::kBytes) && d.id == kConsoleChannel &&
          d.params.count("purpose") && d.params.at("purpose") == "serial") {
        console_in_ = d.id;
        return Status::ok();
      }
      if (!apps_.empty()) {
        // An app's input: a gdi channel naming the app's channel it answers.
        uint32_t down = d.id;
        (void)param_u32(d.params, "downstream", &down);
        if (input_ && d.kind == static_cast<uint8_t>(ChannelKind::kGdi) && down >= 1 && down <= apps_.size())
          app_inputs_[d.id] = apps_[down - 1].get();
        // Its clipboard: downstream names the app's clipboard channel.
        if (input_ && account_->clipboard_to_app() && d.kind == static_cast<uint8_t>(ChannelKind::kClipboard) &&
            down > kAppClipboardBase && down <= kAppClipboardBase + apps_.size())
          app_clip_inputs_[d.id] = apps_[down - kAppClipboardBase - 1].get();
        return Status::ok();
      }
      if (ev.channel && ev.channel->is_input() && input_ && display_ && d.id != kSessionChannel &&
          d.id < kUsbChannelBase) {
        input_channels_[d.id] = d.kind;
        return inject_w_.declare_raw(d);
      }
      return Status::ok();
    }
    case FrameType::kControl:
      if (f.header.channel == kSessionChannel) return on_control(std::get<Control>(ev.payload));
      return Status::ok();
    case FrameType::kClose:
      if (app_inputs_.erase(f.header.channel) || app_clip_inputs_.erase(f.header.channel)) return Status::ok();
      if (input_channels_.erase(f.header.channel)) return inject_w_.close_channel(f.header.channel);
      if (auto it = usb_.find(f.header.channel); it != usb_.end() && !it->second->input_ended) {
        it->second->input_ended = true;  // the client unplugs the device, once what it sent reached QEMU
        pump_usb(it->first, *it->second);
      }
      return Status::ok();
    default:
      if (console_in_ && f.header.channel == console_in_ && ev.type() == FrameType::kData)
        return cap_w_.frame(1, FrameType::kData,
                            std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()));
      if (auto it = usb_.find(f.header.channel); it != usb_.end()) {
        UsbPort& port = *it->second;
        if (ev.type() != FrameType::kData || port.input_ended || port.done) return Status::ok();
        usb_watched(it->first, port, port.watch.feed_device(f.payload, &port.to_qemu));
        return Status::ok();
      }
      if (auto it = app_inputs_.find(f.header.channel); it != app_inputs_.end()) {
        AppPort* app = it->second;
        if (ev.type() != FrameType::kGdi || app->exited || app->child.in < 0) return Status::ok();
        return app->w.frame(1, FrameType::kGdi,
                            std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()));
      }
      if (auto it = app_clip_inputs_.find(f.header.channel); it != app_clip_inputs_.end()) {
        AppPort* app = it->second;
        if (ev.type() != FrameType::kClipboard || app->exited || app->child.in < 0) return Status::ok();
        if (f.payload.size() > cfg_.clipboard_max + 1) {
          spdlog::info("session {} user={}: the client's clipboard text of {} bytes is over --clipboard-max; not "
                       "passed to app '{}'",
                       cfg_.peer, log_quote(user_), f.payload.size() - 1, app->name);
          return Status::ok();
        }
        return app->w.frame(2, FrameType::kClipboard,
                            std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()));
      }
      if (input_channels_.count(f.header.channel))
        return inject_w_.frame(f.header.channel, ev.type(),
                               std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()),
                               f.header.flags);
      return Status::ok();  // view-only input, or channels the session does not route
  }
}

// Reads the display source while the client queue has room, and re-emits its
// channels (same ids) into the downstream stream.
void Session::pump_capture() {
  std::string err;
  auto room = [this] { return outq_.size() < kMaxClientQueue; };
  auto on_frame = [&](const Frame& f) {
    auto type = static_cast<FrameType>(f.header.type);
    if (f.header.channel == 0 && type == FrameType::kEnd) {
      End e;
      std::string why;
      if (!capture_started_ && decode_end(f.payload, &e, &why) && e.reason == EndReason::kError)
        capture_error_ = e.message.substr(0, 512);
      return true;
    }
    if (f.header.channel == 0 && type == FrameType::kDeclare) capture_started_ = true;
    if (f.header.channel == 0 && type == FrameType::kHello) return true;
    if (f.header.channel >= kUsbChannelBase) return true;  // never collide with the session's ids
    (void)out_.frame(f.header.channel, type,
                     std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()), f.header.flags);
    return true;
  };
  if (read_child_frames(&capture_, &capture_frames_, room, on_frame, &err) != ChildOutput::kEnded) return;
  if (!err.empty()) {
    finish(EndReason::kError, "display capture: " + err);
    return;
  }
  // It said why it could not start (the VM's display or console could not be
  // opened, say): the client hears that, not a generic end.
  if (!capture_error_.empty()) {
    spdlog::info("session {} user={}: the capture of '{}' ended: {}", cfg_.peer, log_quote(user_), dom_.name(),
                 log_quote(capture_error_, 512));
    finish(EndReason::kError, capture_error_, kExitFailure);
    return;
  }
  // The source went: the VM shut down, which libvirt may take a moment to
  // say. check_domain() looks until capture_gone_ + 3 s, without holding up
  // the client meanwhile.
  capture_gone_ = Clock::now();
  next_check_ = capture_gone_;
}

// Acks from the input tool, on channels kAckChannelBase + id.
void Session::pump_inject() {
  std::string err;
  auto on_frame = [&](const Frame& f) {
    auto type = static_cast<FrameType>(f.header.type);
    std::string why;
    if (type == FrameType::kDeclare) {
      Declare d;
      if (decode_declare(f.payload, &d, &why) && d.id < 16) {
        d.id = static_cast<uint16_t>(kAckChannelBase + d.id);
        (void)out_.declare_raw(d);
      }
    } else if (f.header.channel != 0 && f.header.channel < 16) {
      (void)out_.frame(static_cast<uint16_t>(kAckChannelBase + f.header.channel), type,
                       std::string_view(reinterpret_cast<const char*>(f.payload.data()), f.payload.size()),
                       f.header.flags);
    }
    return true;
  };
  (void)read_child_frames(&inject_, &inject_frames_, [] { return true; }, on_frame, &err);
  feed_child(&inject_, &injq_);
}

void Session::check_domain() {
  if (phase_ != Phase::kStreaming || Clock::now() < next_check_) return;
  const bool capture_gone = capture_gone_ != Clock::time_point{};
  next_check_ = Clock::now() + std::chrono::milliseconds(capture_gone ? 100 : 500);
  DomainState st = DomainState::kUnknown;
  if (!dom_.state(&st)) st = DomainState::kShutoff;  // a transient domain that went away
  if (st == DomainState::kShutoff) finish(EndReason::kSourceGone, "VM '" + dom_.name() + "' shut down");
  else if (capture_gone && Clock::now() - capture_gone_ > std::chrono::seconds(3))
    finish(EndReason::kError, "the display capture of '" + dom_.name() + "' ended");
}

Status Session::run() {
  if (!cfg_.record_file.empty())
    if (Status st = rec_.open(cfg_.record_file); !st) spdlog::warn("session {}: {}", cfg_.peer, st.message());
  (void)out_.begin("redir-mux serve", {{"protocol", "session/1"}});
  (void)out_.declare(kSessionChannel, ChannelKind::kControl, "session");
  uint8_t buf[65536];
  while (phase_ != Phase::kEnding) {
    if (interrupted()) {
      finish(EndReason::kInterrupted, "the server is shutting down");
      break;
    }
    if (phase_ == Phase::kAuth && Clock::now() >= cfg_.auth_deadline) {
      spdlog::info("session {}: no authentication before the timeout; dropped", cfg_.peer);
      finish(EndReason::kDenied, "authentication timed out", kExitTimeout);
      break;
    }
    bool reads = true;
    if (detached_) {
      outq_.clear();  // nobody to draw for: the apps' output is dropped
      if (Clock::now() >= linger_until_) {
        finish(EndReason::kNormal, "nobody came back for the apps within " + std::to_string(linger_.count()) +
                                       " s; they are closed");
        break;
      }
    } else if (Status st = check_client(&reads); !st) {
      spdlog::info("session {} user={}: {}", cfg_.peer, log_quote(user_), st.message());
      // A client that stopped reading is a lost link too: apps wait for it
      // (an idle session ends as the idle timeout says).
      if (!reads && detach(false)) continue;
      finish(EndReason::kError, st.message(), st.code());
      client_open_ = reads;
      break;
    }
    pollfd fds[7 + 2 * kMaxUsbChannels + 2 * kMaxAppsPerLaunch];
    int n = 0;
    // While the client's backlog is full, what it sends waits: nothing it
    // asks for may queue replies it does not read.
    bool up_room = injq_.size() < kMaxClientQueue && outq_.size() < kMaxClientQueue && capq_.size() < kMaxUsbQueue;
    for (const auto& [id, port] : usb_) up_room = up_room && (port->done || port->to_qemu.size() < kMaxUsbQueue);
    for (const auto& app : apps_) up_room = up_room && app->inq.size() < kMaxAppQueue;
    up_room = up_room && relayq_.size() < kMaxAppQueue;
    short tev = static_cast<short>((up_room ? POLLIN : 0) | ((!outq_.empty() || t_->wants_write()) ? POLLOUT : 0));
    // Detached: the listener's socket, where a resuming client comes from.
    fds[n++] = detached_ ? pollfd{cfg_.broker_fd, POLLIN, 0} : pollfd{t_->fd(), tev, 0};
    // Attached: another client of the account may take the apps over.
    int broker_i = -1;
    if (!detached_ && !apps_.empty() && phase_ == Phase::kStreaming && cfg_.broker_fd >= 0 && cfg_.take_client)
      broker_i = n, fds[n++] = {cfg_.broker_fd, POLLIN, 0};
    if (relay_.out >= 0 && outq_.size() < kMaxClientQueue) fds[n++] = {relay_.out, POLLIN, 0};
    if (relay_.in >= 0 && !relayq_.empty()) fds[n++] = {relay_.in, POLLOUT, 0};
    int cap_i = -1, inj_out_i = -1, inj_in_i = -1;
    if (capture_.out >= 0 && outq_.size() < kMaxClientQueue) cap_i = n, fds[n++] = {capture_.out, POLLIN, 0};
    if (inject_.out >= 0) inj_out_i = n, fds[n++] = {inject_.out, POLLIN, 0};
    if (inject_.in >= 0 && !injq_.empty()) inj_in_i = n, fds[n++] = {inject_.in, POLLOUT, 0};
    if (capture_.in >= 0 && !capq_.empty()) fds[n++] = {capture_.in, POLLOUT, 0};
    for (const auto& [id, port] : usb_) {
      port->poll_i = -1;
      if (port->done) continue;
      if (port->qemu < 0 && port->port.listen_fd() >= 0) {
        fds[n++] = {port->port.listen_fd(), POLLIN, 0};
        continue;
      }
      short ev = short((outq_.size() < kMaxClientQueue ? POLLIN : 0) | (port->to_qemu.empty() ? 0 : POLLOUT));
      if (port->qemu >= 0 && ev) port->poll_i = n, fds[n++] = {port->qemu, ev, 0};
    }
    for (const auto& app : apps_) {
      if (app->child.out >= 0 && outq_.size() < kMaxClientQueue) fds[n++] = {app->child.out, POLLIN, 0};
      if (app->child.in >= 0 && !app->inq.empty()) fds[n++] = {app->child.in, POLLOUT, 0};
    }
    int timeout = !detached_ && up_room && t_->pending() ? 0 : 200;
    if (::poll(fds, static_cast<nfds_t>(n), timeout) < 0 && errno != EINTR)
      return fail(kExitFailure, std::string("poll: ") + std::strerror(errno));
    for (const auto& [id, port] : usb_)
      port->readable = port->poll_i >= 0 && (fds[port->poll_i].revents & (POLLIN | POLLHUP | POLLERR));
    if (detached_) {
      if (fds[0].revents & POLLIN)
        if (int fd = cfg_.take_client(); fd >= 0) resume(fd);
    } else if (broker_i >= 0 && (fds[broker_i].revents & POLLIN)) {
      if (int fd = cfg_.take_client(); fd >= 0) take_over(fd);
    } else if (up_room && ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) || t_->pending() || t_->wants_write())) {
      // Drain what TLS has, a bounded amount per round.
      for (int i = 0; i < 16 && phase_ != Phase::kEnding && !detached_ && outq_.size() < kMaxClientQueue; ++i) {
        size_t got = 0;
        Transport::Io io = t_->read_some(buf, sizeof buf, &got);
        if (io == Transport::Io::kWouldBlock) break;
        if (io != Transport::Io::kOk) {
          client_open_ = false;
          if (!detach(false))
            finish(EndReason::kNormal, apps_.empty() ? "client connection closed; the VM keeps running"
                                                     : "client connection closed; its apps are closed");
          break;
        }
        up_.feed(buf, got);
        Event ev;
        std::string err;
        for (;;) {
          StreamDecoder::Result r = up_.next(&ev, &err);
          if (r == StreamDecoder::Result::kNeedMore) break;
          if (r == StreamDecoder::Result::kError) {
            finish(EndReason::kError, "malformed stream from client: " + err, kExitMalformed);
            break;
          }
          up_tap_.frame(ev.frame);
          if (ev.what != Event::What::kFrame) continue;
          if (Status st = on_upstream(ev); !st) {
            finish(EndReason::kError, st.message(), st.code());
            break;
          }
          if (phase_ == Phase::kEnding || detached_) break;
        }
        // Drained (a short read, nothing held in TLS): poll says when more
        // comes, without a read that finds nothing.
        if (got < sizeof buf && !t_->pending()) break;
      }
    }
    // USB first, and out at once: its packets' round trips bound its
    // throughput, and the display's frames may wait a round.
    if (!usb_.empty()) {
      for (auto& [id, port] : usb_)
        if (phase_ != Phase::kEnding) pump_usb(id, *port);
      if (client_open_ && !detached_ && !outq_.empty()) (void)flush(false, Clock::now());
    }
    if (relay_.out >= 0 || relay_.in >= 0) pump_relay();
    if (cap_i >= 0 && (fds[cap_i].revents & (POLLIN | POLLHUP | POLLERR))) pump_capture();
    if ((inj_out_i >= 0 && fds[inj_out_i].revents) || (inj_in_i >= 0 && fds[inj_in_i].revents) || !injq_.empty())
      pump_inject();
    for (auto& app : apps_)
      if (phase_ != Phase::kEnding) pump_app(*app);
    feed_child(&capture_, &capq_);
    if (shutdown_requested_ || capture_gone_ != Clock::time_point{}) check_domain();
    (void)out_.flush();  // the pending DEFLATE piece, when compressing
    if (client_open_ && !detached_ && !flush(false, Clock::now())) {
      client_open_ = false;
      if (!detach(false))
        finish(EndReason::kNormal, apps_.empty() ? "client connection lost; the VM keeps running"
                                                 : "client connection lost; its apps are closed");
    }
  }
  (void)out_.flush();
  if (client_open_ && !detached_) (void)flush(true, Clock::now() + std::chrono::seconds(2));
  // A relay's last words (the client's END) reach the detached session.
  for (auto until = Clock::now() + std::chrono::seconds(1); relay_.in >= 0 && !relayq_.empty() && Clock::now() < until;) {
    feed_child(&relay_, &relayq_);
    if (!relayq_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int* fd : {&relay_.in, &relay_.out})
    if (*fd >= 0) ::close(*fd), *fd = -1;
  // Each USB device gets what the socket takes now, then unplugs.
  for (auto& [id, port] : usb_) {
    if (port->qemu >= 0 && !port->to_qemu.empty())
      (void)!::send(port->qemu, port->to_qemu.data(), port->to_qemu.size(), MSG_NOSIGNAL);
    end_usb(id, *port);
  }
  // Apps close as gdi-forward closes them at the end of its input (WM_CLOSE,
  // then terminated after kAppCloseTimeout); what is left 1.5 s later is
  // stopped, and the listener kills what remains of the session's group.
  auto apps_deadline = Clock::now() + kAppCloseTimeout + std::chrono::milliseconds(1500);
  for (auto& app : apps_) {
    if (app->child.in < 0) continue;
    (void)app->w.end(EndReason::kNormal, end_message_);
    (void)!::write(app->child.in, app->inq.data(), app->inq.size());
    ::close(app->child.in);
    app->child.in = -1;
    if (app->child.out >= 0) ::close(app->child.out);  // nobody reads its drawing now
    app->child.out = -1;
  }
  for (auto& app : apps_)
    while (app->child.pid > 0 && Clock::now() < apps_deadline) {
      int status = 0;
      if (::waitpid(app->child.pid, &status, WNOHANG) == app->child.pid) {
        app->child.pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  std::vector<Child*> children{&capture_, &inject_};
  for (auto& app : apps_) children.push_back(&app->child);
  stop_children(children, Clock::now() + std::chrono::seconds(4));
  (void)rec_.close();
  if (account_) audit("end", end_message_, end_reason_name(reason_));
  if (end_code_ != kExitOk) return fail(end_code_, end_message_);
  return Status(kExitOk, end_message_);
}

}  // namespace

Status run_server_session(Transport& transport, const ServerSessionConfig& config) {
  Session s(transport, config);
  return s.run();
}

}  // namespace vredir::mux
