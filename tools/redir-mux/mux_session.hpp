// The redir-mux session protocol and the server side of one session.
//
// Both directions are ordinary vredir streams; the session itself is CONTROL
// frames on one control channel named "session", id kSessionChannel, in each
// direction. The steps:
//   client: auth {user, password}  or  auth {user, method=cert} (the TLS
//           client certificate is the credential)
//   server: auth-ok {user, view-only}          or END denied
//   server: vm {name, state, devices} ...      the VMs the user's ACL allows
//   server: app {name, description} ...        the apps the account may launch
//                                              (serve --apps)
//   server: list-end {count, apps}
//   client: select {vm, streams=1|0}           or END (a --list client)
//   client: launch {apps=NAME,NAME...}          instead of select: Windows apps
//   server: progress {stage} (the account's Wine prefix is created), then
//           launched {apps, channels}: each app's gdi channel (ids 1, 2, ...
//           in the order asked for), its drawing; the client's gdi channels
//           (declared with downstream=ID, as x-replay does) carry its input
//           back. Each app's clipboard channel comes as kAppClipboardBase + its
//           id, when the account's policy lets text go to the client; the
//           client's clipboard channels (downstream=that id) carry text to
//           the app when it lets text go that way. An unknown app and one the account may not launch get the
//           same END denied, and nothing is launched. The session ends when
//           the client goes (the apps are closed) or every app has exited.
//           Detach: launch {..., detach=1} keeps the apps running when the
//           client ends (END); a connection lost without END keeps them
//           anyway. Either way they wait linger={seconds} (default 600,
//           at most serve --max-linger; 0 closes them at once) for the same
//           account to come back with
//   client: attach {app=NAME or "", detach, linger}  instead of select or
//           launch: a session of this account with that app (a detached one
//           first; else one with a client, which gets END and is dropped)
//           resumes: launched {...} again, each app's channels declared
//           again, and every window drawn in full from the app's state
//           (WINDOW_REQUEST redraw, vredir-gdi(5)). None: END with
//           failed {code 3}.
//   server: instance {id, state=attached|detached, apps, linger}  before
//           list-end, for each running app session of the account.
//   server: progress {stage=booting | waiting for display}   when it was off
//   server: selected {vm, input=1|0, seat, seat_why, seat_tablet}
//   client: select {..., seat=N}: the terminal's seat of a multi-head VM:
//           the capture has head N alone (redir-capture --head N) and, with
//           input rights, keys go through a virtio keyboard of the session's
//           own bound to head N, and the pointer of head N through a virtio
//           tablet bound to it (redir-inject --seat N). selected says
//           seat=N, or seat=shared with seat_why when the VM has no free
//           slot for it and the keys go to its shared devices; seat_tablet=0
//           when there is no second slot for the tablet (pointer input on
//           the seat is then skipped). A head the VM lacks is failed
//           {code 3}.
//   server: the capture's channel declarations and frames (display, cursor,
//           audio), and ack channels for the input the client sends
//   client: keyboard/pointer/text channels and frames (not for view-only)
//   client: a bytes channel with purpose usbredir, ids kUsbChannelBase to
//           kUsbChannelBase + kMaxUsbChannels - 1 (connect --usb), one per
//           device: the server checks the account (not view-only, a usb=
//           allow-list) and the VM (a USB controller), hot-plugs a usb-redir
//           port and relays its socket itself, every device_connect checked
//           against that list (as `redir-usb attach --allow` does), and sends
//           the port's side back on the same id. A refused device ends the session (denied); a VM without a
//           USB controller is failed {code 3}. Closing the channel unplugs it.
//   client: select {..., console=1} adds the VM's serial console (a pty
//           <serial>; else failed {code 3}): its output on the capture's
//           serial channel; its input from the client's bytes channel
//           kConsoleChannel (purpose serial), ignored for view-only accounts.
//           With display=0 as well (connect --console) the stream has the
//           console alone: no display capture and no input injection run.
//   client: resolution {size=WxH} | shutdown | reboot | reset | logoff | disconnect
//   server: result {command, status=ok|failed, code, message}
//   either: END; the server's END carries the reason (the VM shut down, the
//           client disconnected, denied, error).
// A failure the client should report with a specific exit code comes as
// failed {code, message} just before END.
//
// Before login the server parses only what login needs: frames of at most
// kMaxPreAuthPayload bytes, no DEFLATE, and only HELLO, END, the declaration
// of the session channel and CONTROL frames on it. Anything else ends the
// connection. After login the client's frames may be up to
// kMaxUpstreamPayload bytes, still without DEFLATE.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "apps/app_registry.hpp"
#include "audit_log.hpp"
#include "net/tls_transport.hpp"
#include "stream_recorder.hpp"
#include "users_file.hpp"
#include "virt/hypervisor.hpp"
#include "wire/frame_reader.hpp"
#include "wire/status.hpp"
#include "wire/stream_format.hpp"

namespace vredir::mux {

inline constexpr uint16_t kSessionChannel = 0xfff0;
// The input tool's ack channels reach the client as kAckChannelBase + id.
inline constexpr uint16_t kAckChannelBase = 0xfff0;
// Most bytes queued for a client that is slow to read; the display source
// is not read while the queue is over this, so it merges damage instead.
inline constexpr size_t kMaxClientQueue = 4u << 20;
// Past this the client is dropped: nothing the server writes to it may grow
// without bound while it does not read.
inline constexpr size_t kMaxClientBacklog = 8u << 20;
inline constexpr size_t kMaxPasswordBytes = 1024;
inline constexpr uint32_t kMaxPreAuthPayload = 64u << 10;
inline constexpr uint32_t kMaxUpstreamPayload = 2u << 20;
// USB devices of one session: channel ids, how many, and the most bytes
// queued for one device's usb-redir port (the client is not read past it).
inline constexpr uint16_t kUsbChannelBase = 0xffe0;
inline constexpr uint16_t kMaxUsbChannels = 4;
inline constexpr size_t kMaxUsbQueue = 1u << 20;
// connect --console: the client's keystrokes for the VM's serial console (a
// bytes channel, purpose serial); the console's output is the capture's
// serial channel. At most kMaxUsbQueue bytes wait for the console.
inline constexpr uint16_t kConsoleChannel = 0xffe8;
// Apps of one session: most bytes queued for one app's gdi-forward (the
// client is not read past it), and the most apps one launch may ask for.
inline constexpr size_t kMaxAppQueue = 1u << 20;
inline constexpr size_t kMaxAppsPerLaunch = 32;
// An app's clipboard channel reaches the client as kAppClipboardBase + the
// app's gdi id; the client answers on a clipboard channel of its own with
// downstream= that id. Text is bounded by serve --clipboard-max (default
// 1 MiB, at most what one upstream frame holds).
inline constexpr uint16_t kAppClipboardBase = 0x8000;
inline constexpr size_t kDefaultAppClipboard = 1u << 20;
inline constexpr size_t kMaxAppClipboard = kMaxUpstreamPayload - 16;
// How long a closed app may take to exit before gdi-forward terminates it.
inline constexpr std::chrono::milliseconds kAppCloseTimeout{3000};

// How long detached apps wait for their account by default, and at most.
inline constexpr std::chrono::seconds kDefaultLinger{600};
inline constexpr std::chrono::seconds kDefaultMaxLinger{3600};

// A running app session of an account, as --list-apps shows it.
struct AppInstance {
  std::string id;       // the session's process id
  std::string state;    // attached | detached
  std::string apps;     // NAME,NAME...
  long linger_s = 0;    // detached: seconds left before the apps are closed
};

// One VM as the list shows it.
struct VmEntry {
  std::string name;
  std::string state;
  std::string devices;
  std::string channels;  // what a session opens (session_channels): "display,cursor,audio,keyboard,pointer"
};

bool is_control_command(const std::string& verb);  // resolution, shutdown, ...

// The items of a comma-separated list, as the session protocol carries app
// names and channels ("" is none; "a,,b" has an empty one).
std::vector<std::string> split_commas(const std::string& list);

// Whether the account may use this domain: its ACL matched against the
// domain's own name, never against what a client typed.
bool vm_allowed(const UserAccount& account, const Domain& domain);

// The VMs on uri that the account may use, with state and device summary.
Status list_vms(const std::string& uri, const UserAccount& account, std::vector<VmEntry>* out);

// Finds the VM a client asked for (by name, UUID, or the id of a running one)
// and checks the ACL on the name it resolved to. A VM that does not exist and
// one the account may not use get the same answer (kExitDenied), so names do
// not leak.
Status resolve_vm(Connection& conn, const UserAccount& account, const std::string& ref, Domain* out);

// What the listener's limiter says about a login attempt (login_limiter.hpp).
struct LoginVerdict {
  long banned_s = 0;  // > 0: refused
  long delay_ms = 0;  // wait before answering
  uint64_t ticket = 0;
};

struct ServerSessionConfig {
  const UsersFile* users = nullptr;
  std::string uri;            // libvirt URI ("" = default)
  std::string peer;           // client address, for logs and the limiter
  std::chrono::steady_clock::time_point auth_deadline;
  // Before credentials are checked: the limiter's check-and-count, one step.
  std::function<LoginVerdict(const std::string& user)> begin_login;
  // The outcome of an attempt begin_login let through: ok or fail.
  std::function<void(uint64_t ticket, const std::string& user, const std::string& result)> end_login;
  // Called once the client has authenticated.
  std::function<void()> on_authenticated;
  // SHA-256 of the TLS client certificate ("" without one): the credential
  // of auth {method=cert}.
  std::string client_fingerprint;
  const AuditLog* audit = nullptr;
  // A client with bytes waiting that reads none of them for this long is dropped.
  std::chrono::milliseconds stall_timeout{30000};
  // An authenticated session with no input and no output for this long ends
  // (0: never). View-only sessions send no input: only with idle_viewers.
  std::chrono::milliseconds idle_timeout{0};
  bool idle_viewers = false;
  std::string capture_program = "redir-capture";
  // > 0: once streams start, the session's stream to the client is one
  // deflate stream at this zlib level (DEFLATE pieces, vredir-stream(5)), as
  // a network wants; 0: plain, as a local pipe wants.
  int compress = 0;
  std::string inject_program = "redir-inject";
  // Records both directions of the session into this file ("" = none).
  std::string record_file;
  // serve --apps: the registry (nullptr: no apps offered), the program
  // that runs one app (gdi-forward run), where each account's Wine prefix
  // lives (STATE/apps/ACCOUNT), and whether VMs are offered too.
  const apps::AppRegistry* apps = nullptr;
  std::string app_program = "gdi-forward";
  std::string state_dir = "/var/lib/vredir";
  bool offer_vms = true;
  // The most bytes of clipboard text that pass either way (the account's
  // clipboard= policy says which ways).
  size_t clipboard_max = kDefaultAppClipboard;
  // Before apps are launched: may this account run n more at once? (The
  // listener counts each account's apps over all its sessions.) Unset: yes.
  std::function<bool(const std::string& user, size_t n, std::string* why)> reserve_apps;
  // Detach and reattach, brokered by the listener (unset: apps never
  // linger). note_instance says what this session runs and whether it waits
  // detached (linger_s > 0: that long); broker_fd is readable when a client
  // resumes a detached session, and take_client then gives that client's
  // socket (-1: none). attach finds a detached session of the account (with
  // that app, or any) and gives a socket to it, or -1 and why; instances
  // lists the account's app sessions.
  std::function<void(const std::string& apps, long linger_s)> note_instance;
  int broker_fd = -1;
  std::function<int()> take_client;
  std::function<int(const std::string& app, std::string* why)> attach;
  std::function<std::vector<AppInstance>()> instances;
  std::chrono::seconds max_linger = kDefaultMaxLinger;
};

// Where an account's apps keep their Wine prefix: STATE/apps/ACCOUNT ("" for
// a name that is not a plain directory name, such as "..").
std::string app_prefix_dir(const std::string& state_dir, const std::string& account);
// Makes that directory (mode 0700; owned by as's user when given; one that
// belongs to somebody else is refused) and says whether Wine still has to
// create the prefix in it (*fresh: no system.reg yet).
struct RunAs;
Status make_app_prefix(const std::string& state_dir, const std::string& account, const RunAs* as, std::string* prefix,
                       bool* fresh);
// What an app's tool runs with: the prefix, no Wine debug output.
std::vector<std::string> app_environment(const std::string& prefix);

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
